"""Safe file writes: every file xltools writes goes through :func:`atomic_write`.

* The new content is written to a temporary file in the target's folder and moved over the target in
  one step (``os.replace``): a crash or a full disk leaves the target as it was.
* A target that is a symbolic link, or that exists and is not a regular file (a FIFO, a device), is
  refused; so is a symbolic-link ``X.bak.xlsx``. A read-only target is not rewritten.
* The first original is kept as ``X.bak.xlsx`` and never overwritten: when a backup already exists it
  is the file as it was before xltools first rewrote it, and it stays (delete it to take a new one).
  No ``.bak.1`` chains: one backup per file, the one a user needs to undo xltools.
* A rewritten file keeps its permission bits; a new file gets what the umask allows (0666 & ~umask).
* ``expect=stamp(path)`` taken when the command started reading: if the file changed on disk since
  (size, mtime_ns, inode), it is not overwritten and the user is told.

Failures raise :class:`WriteError` (an ``OSError``) with a Chinese message naming the target, never the
temporary file.
"""
from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["WriteError", "atomic_write", "backup_path", "stamp", "check_target", "new_file_mode",
           "csv_safe", "XLSX_OPTIONS"]

# XlsxWriter options for every workbook xltools writes: a string is always a string cell
XLSX_OPTIONS = {"strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}


class WriteError(OSError):
    """A write refused or failed; the message is Chinese and names the file."""

    def __str__(self) -> str:          # OSError formats (errno, strerror) pairs; ours is one message
        return str(self.args[0]) if self.args else ""


def backup_path(path: Path) -> Path:
    """Where the original of ``path`` is kept when we rewrite it: 文件.bak.xlsx beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.bak{path.suffix}")


def stamp(path: str | Path) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of an existing file, None if it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


_REASONS = {errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限", errno.ENOSPC: "磁盘空间不足",
            errno.EDQUOT: "磁盘配额已满", errno.ENAMETOOLONG: "文件名太长", errno.EROFS: "所在磁盘只读",
            errno.ENOENT: "文件夹不存在", errno.ENOTDIR: "路径中有一段不是文件夹", errno.EISDIR: "这是一个文件夹",
            errno.EEXIST: "文件已存在", errno.EXDEV: "不能跨磁盘移动"}


def _reason(exc: OSError) -> str:
    cn = _REASONS.get(exc.errno or 0, "系统错误")
    return f"{cn}（{exc.strerror or exc}）"


def new_file_mode() -> int:
    """0666 & ~umask: the mode a new file of this process gets."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def check_target(path: str | Path, *, rewrite: bool = False) -> os.stat_result | None:
    """Refuse a target we must not write; returns the target's stat (None when it does not exist).

    ``rewrite``: the target is a workbook being changed in place (a read-only one is refused then;
    an output file that exists is replaced only if writable too)."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WriteError(f"无法写入 {path}：{_reason(exc)}") from None
    if stat.S_ISLNK(st.st_mode):
        raise WriteError(f"{path} 是符号链接（快捷方式），为安全起见不写入；请直接指定真实文件")
    if stat.S_ISDIR(st.st_mode):
        raise WriteError(f"{path} 是文件夹，不能作为输出文件")
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"{path} 不是普通文件（可能是管道或设备），不写入")
    if not os.access(path, os.W_OK) or not (st.st_mode & 0o222):
        what = "改写" if rewrite else "覆盖"
        raise WriteError(f"{path} 是只读文件，未{what}；请先取消只读属性")
    return st


def _check_backup(bak: Path) -> bool:
    """True if a backup exists already (keep it); refuses a symbolic link or a non-regular file."""
    try:
        st = os.lstat(bak)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise WriteError(f"备份文件 {bak} 是符号链接（快捷方式），为安全起见不写入；请删除或改名后重试")
    if not stat.S_ISREG(st.st_mode):
        raise WriteError(f"备份文件 {bak} 不是普通文件，为安全起见不写入；请删除或改名后重试")
    return True


def _keep_original(path: Path, folder: Path) -> None:
    """Copy ``path`` to its backup unless a backup exists (the first original is never overwritten)."""
    bak = backup_path(path)
    if _check_backup(bak):
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:40]}.", suffix=".bak.tmp", dir=folder)
    os.close(fd)
    try:
        shutil.copy2(path, tmp, follow_symlinks=False)
        try:
            os.link(tmp, bak)             # fails if a backup appeared meanwhile: that one is kept
        except FileExistsError:
            _check_backup(bak)
        except OSError:                   # no hard links on this file system
            if not _check_backup(bak):
                os.replace(tmp, bak)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_write(path: str | Path, *, keep_original: bool = True, expect=None, rewrite: bool = False,
                 suffix: str | None = None):
    """Yield a temporary path in the target's folder; on success it replaces ``path`` in one step.

    ``keep_original``: an existing target is first kept as ``backup_path(path)`` (unless a backup
    exists). ``expect``: the :func:`stamp` of the target when the command read it; a different
    stamp now means someone saved the file meanwhile, and nothing is written. ``rewrite``: the target
    is a workbook changed in place (messages say so). On any error the temporary file is removed
    and the target is untouched."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    st = check_target(path, rewrite=rewrite)
    if rewrite and st is None:
        raise WriteError(f"找不到文件：{path}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:40]}.", suffix=(suffix or path.suffix) + ".tmp",
                                   dir=folder)
        os.close(fd)
    except OSError as exc:
        raise WriteError(f"无法在 {folder} 中写入 {path.name}：{_reason(exc)}") from None
    tmp_path = Path(tmp)
    try:
        try:
            yield tmp_path
        except WriteError:
            raise
        except OSError as exc:            # name the target, not the temporary file
            raise WriteError(f"无法写入 {path}：{_reason(exc)}") from None
        try:
            os.chmod(tmp_path, stat.S_IMODE(st.st_mode) if st is not None else new_file_mode())
            if expect is not None or rewrite:
                now = stamp(path)
                if expect is not None and now != expect:
                    raise WriteError(f"{path} 在处理期间被修改或另存（可能在 Excel 中保存过），"
                                     f"为免覆盖他人的修改，本次结果未写入；请关闭文件后重新运行")
            st2 = check_target(path, rewrite=rewrite)     # nothing swapped in meanwhile
            if keep_original and st2 is not None:
                _keep_original(path, folder)
            os.replace(tmp_path, path)
        except WriteError:
            raise
        except OSError as exc:
            raise WriteError(f"无法写入 {path}：{_reason(exc)}") from None
    finally:
        if os.path.lexists(tmp_path):
            os.unlink(tmp_path)


def csv_safe(text) -> str:
    """A CSV field that no spreadsheet reads as a formula (OWASP): a leading = + - @ tab or CR gets a '."""
    s = "" if text is None else str(text)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s
