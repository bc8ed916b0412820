"""Run ``xltools.cli.main(argv)`` in a child process and measure it: exit code, stdout, stderr, wall time,
peak resident memory (``os.wait4`` rusage of that child alone), and a wall-clock limit.

The child is forked from the test process (xltools already imported, so a case costs what the command
costs, not an interpreter start), gets its own cwd and TMPDIR (crash logs land there), stdin from
/dev/null, and an address-space limit as a safety net for the machine; an abort (SIGABRT), a kill or a
hang is seen by the parent as such.
"""
from __future__ import annotations

import os
import resource
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    code: int | None          # exit status, or None when killed by a signal
    signal: int | None
    stdout: str
    stderr: str
    seconds: float
    max_rss: int              # bytes
    timed_out: bool


def _vm_size() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_main(argv: list[str], *, cwd: str | Path, tmp: str | Path, timeout: float = 30.0,
             extra_as: int = 3 * 2**30) -> Result:
    """Fork, run xltools.cli.main(argv) in the child, wait (at most ``timeout`` seconds)."""
    from xltools.cli import main   # imported in the parent: the child inherits it

    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    limit = _vm_size() + extra_as
    sys.stdout.flush()
    sys.stderr.flush()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:   # child
        code = 99
        try:
            os.setsid()
            os.chdir(cwd)
            os.environ["TMPDIR"] = str(tmp)
            tempfile.tempdir = None
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.stdin = open(0, encoding="utf-8", closefd=False)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
            if limit:
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            code = main(list(argv))
        except BaseException:   # the test wants to see it: a traceback on stderr and exit 99
            import traceback
            traceback.print_exc()
            code = 99
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BaseException:
                pass
            os._exit(code if isinstance(code, int) and 0 <= code < 256 else 98)
    timed_out = False
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid:
            break
        if time.monotonic() - t0 > timeout:
            timed_out = True
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
            wpid, status, ru = os.wait4(pid, 0)
            break
        time.sleep(0.005)
    seconds = time.monotonic() - t0
    out.seek(0)
    err.seek(0)
    return Result(code=os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                  signal=os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
                  stdout=out.read().decode("utf-8", "replace"), stderr=err.read().decode("utf-8", "replace"),
                  seconds=seconds, max_rss=ru.ru_maxrss * 1024, timed_out=timed_out)


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple]:
    """relative path → (kind, size, mtime) of everything under ``root`` except the ``skip`` folders."""
    out = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir.parts and rel_dir.parts[0] in skip:
            dirnames[:] = []
            continue
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if rel.split(os.sep)[0] in skip:
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[rel] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


def warm(commands: list[list[str]]) -> None:
    """Run ``commands`` once in this process, output discarded, so that every forked child starts with
    the modules imported and the table sets and catalogs loaded (a case then costs its own work)."""
    import contextlib
    import io

    from xltools.cli import main

    for argv in commands:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            main(list(argv))
