"""Reading and checking speed (issue 15): `xltools check 文件夹/ --json` end to end over 1,000 workbooks with varied
rows and amounts, against python-calamine merely reading every sheet of the same files in the same run; peak memory
at 100 and 1,000 workbooks; the wall time of one `xltools check` on one workbook; `import xltools.addin`. Optionally
a checker built on recalculation (LibreOffice, the `formulas` package) on a handful of files.

    python benchmarks/bench_check.py                    # 1,000 varied workbooks, 1 and 2 processes
    python benchmarks/bench_check.py --files 400 --lo 5 --formulas 1

CPU time (user + sys of every process, pool workers included) is reported beside the wall time: the machine may be
shared, and CPU time is the figure other work disturbs least. Prints a results table and writes it to
benchmarks/results.md (section "check").
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (ROOT, lo_recalc, table, uno_python, varied_units_list,  # noqa: E402
                     write_section)


def _check(path: str) -> int:
    from xltools.cli import check_file

    findings, err = check_file(Path(path))
    if err:
        raise RuntimeError(err)
    return len(findings)


def recalc_then_check(files: list[Path], out: Path) -> float:
    """A checker that trusts no cached value: LibreOffice recalculates, then the same rules run."""
    t = time.perf_counter()
    outs, _ = lo_recalc(files, out)
    for f in outs:
        _check(str(f))
    return time.perf_counter() - t


def formulas_then_check(files: list[Path]) -> float:
    """The `formulas` package computes every formula of the workbook (the values a checker would use)."""
    import formulas

    t = time.perf_counter()
    for f in files:
        model = formulas.ExcelModel().loads(str(f)).finish()
        model.calculate()
    return time.perf_counter() - t



def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _env(src: Path | None) -> dict[str, str]:
    """The environment of a measured process: the xltools of ``src`` (default: this checkout) first on the path,
    with its bytecode cached (in a folder of its own: an installed package has its .pyc files; a session's
    PYTHONDONTWRITEBYTECODE would make every run compile every module from source)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src or ROOT)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "xltools-bench-pycache")
    return env


def cli_check(target: Path, jobs: int, src: Path | None = None) -> tuple[float, float]:
    """`xltools check 文件夹/ --json` as a user runs it: a new process (start-up, imports, the pool, 校验汇总.xlsx,
    the JSON on stdout). (wall seconds, CPU seconds of that process and its workers)."""
    cpu0, t = _children_cpu(), time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(target), "--json", "--jobs", str(jobs)],
                       cwd=src or ROOT, env=_env(src), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    secs = time.perf_counter() - t
    if r.returncode not in (0, 1):     # 1: the workbooks have errors (the samples' published ones)
        raise RuntimeError(f"xltools check 退出码 {r.returncode}：{r.stderr.decode()[-2000:]}")
    return secs, _children_cpu() - cpu0


_RSS_CHILD = r"""
import json, os, resource, sys
from xltools.cli import main
import contextlib
# the JSON goes where a user's would (a file, a pipe): not into this process's memory
with open(os.devnull, "w", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
    main(["check", sys.argv[1], "--json", "--jobs", sys.argv[2]])
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"main_kb": me.ru_maxrss, "worker_kb": kids.ru_maxrss}))
"""


def peak_rss(target: Path, jobs: int, src: Path | None = None) -> tuple[float, float]:
    """Peak RSS (MB) of the main process and of the largest pool worker of one `xltools check` run."""
    r = subprocess.run([sys.executable, "-c", _RSS_CHILD, str(target), str(jobs)], cwd=src or ROOT, env=_env(src),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return d["main_kb"] / 1024, d["worker_kb"] / 1024


_INPROC_CHILD = r"""
import json, sys, time
from pathlib import Path
from python_calamine import CalamineWorkbook
from xltools.cli import check_file
files = [Path(x) for x in sys.argv[1:]]

def calamine():
    t = time.process_time()
    for f in files:
        wb = CalamineWorkbook.from_path(str(f))
        for name in wb.sheet_names:
            wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
    return time.process_time() - t

def check():
    t = time.process_time()
    for f in files:
        _, err = check_file(f)
        if err:
            raise RuntimeError(err)
    return time.process_time() - t

def read():
    from xltools.importer import read_any
    t = time.process_time()
    for f in files:
        read_any(f)
    return time.process_time() - t

cold = check()          # the first pass: every shape's checks and reading plans are made
print(json.dumps({"cold": cold, "calamine": calamine(), "warm": check(), "read": read()}))
"""


def in_process(files: list[Path], src: Path | None = None) -> dict[str, float]:
    """CPU seconds, in one fresh process: `check_file` (read + every rule) over ``files`` the first time (shapes
    compiled on the way) and again (warm), and python-calamine opening each file and reading every sheet into Python
    lists (no xltools) — the same files in the same process."""
    r = subprocess.run([sys.executable, "-c", _INPROC_CHILD, *map(str, files)], cwd=src or ROOT, env=_env(src),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


_FLOOR_CHILD = r"""
import json, os, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

def read_only(path):
    # what any safe reading of this workbook costs at least: the guard over the sheets `check` reads, and
    # python-calamine's values of those sheets; no formula scan, no model, no rule, no output
    from xltools.read.workbook import (COVER_SHEET, META_SHEET, NOTES_SHEET, SUPPLEMENT_SHEET, Book, _table_sheets,
                                       meta_from)
    book = Book(Path(path))
    names = book.sheet_names
    meta = meta_from(names, book.grid(META_SHEET), "", book.grid(COVER_SHEET) if COVER_SHEET in names else None)
    sheets = (_table_sheets(meta) | {SUPPLEMENT_SHEET, NOTES_SHEET}) & set(names)
    book.need(sheets)
    return sum(len(book.grid(s)) for s in sheets)

if __name__ == "__main__":
    files = sys.argv[2:]
    c0, t = os.times(), time.perf_counter()
    with ProcessPoolExecutor(int(sys.argv[1])) as ex:
        rows = sum(ex.map(read_only, files, chunksize=8))
    secs, c1 = time.perf_counter() - t, os.times()
    cpu = sum(c1[i] - c0[i] for i in range(4))
    print(json.dumps({"wall": secs, "cpu": cpu, "rows": rows}))
"""


def floor_read(files: list[Path], jobs: int, src: Path | None = None) -> tuple[float, float]:
    """The ceiling of any checker built on our safe reading: a pool of ``jobs`` processes that only guards and reads
    the sheets `check` reads (interpreter start-up included). (wall seconds, CPU seconds of all processes)."""
    r = subprocess.run([sys.executable, "-c", _FLOOR_CHILD, str(jobs), *map(str, files)], cwd=src or ROOT,
                       env=_env(src), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    d = json.loads(r.stdout.strip().splitlines()[-1])
    return d["wall"], d["cpu"]


def single_file_ms(path: Path, repeat: int, src: Path | None = None) -> tuple[float, float]:
    """Median wall time (ms) of `xltools check 工作簿.xlsx --json` (one workbook: start-up dominates), and its median
    CPU time (ms)."""
    walls, cpus = [], []
    for _ in range(max(5, repeat)):
        cpu0, t = _children_cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(path), "--json"], cwd=src or ROOT,
                       env=_env(src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((_children_cpu() - cpu0) * 1000)
    return statistics.median(walls), statistics.median(cpus)


def addin_import_ms(repeat: int) -> tuple[float, float]:
    """(`-X importtime` of the xltools modules `import xltools.addin` loads, wall time of that process), ms."""
    from addin_import import importtime_ms, wall_ms

    wall_ms("import xltools.addin")
    return (statistics.median(importtime_ms()[0] for _ in range(max(3, repeat))),
            statistics.median(wall_ms("import xltools.addin") for _ in range(max(3, repeat))))


def measure(files: list[Path], folder: Path, small: Path, triple: Path, repeat: int, trees: list) -> dict:
    """Every figure of each source tree; the runs of the trees (and of 1 and 2 processes) alternate so that the load
    of this shared machine hits them alike."""
    res = {name: {"cli": {1: [], 2: []}, "ip": [], "floor": []} for name, _ in trees}
    for _ in range(repeat):
        for name, src in trees:
            for jobs in (2, 1):
                res[name]["cli"][jobs].append(cli_check(folder, jobs, src))
            res[name]["floor"].append(floor_read(files, 2, src))
    for _ in range(max(1, repeat - 1)):
        for name, src in trees:
            res[name]["ip"].append(in_process(files, src))
    out = {}
    for name, src in trees:
        r, ip = res[name], res[name]["ip"]
        out[name] = {
            "cli": {j: (min(w for w, _ in rs), min(c for _, c in rs)) for j, rs in r["cli"].items()},
            "warm": min(x["warm"] for x in ip), "cold": min(x["cold"] for x in ip), "read": min(x["read"] for x in ip),
            "calamine": min(x["calamine"] for x in ip),
            "floor": (min(w for w, _ in r["floor"]), min(c for _, c in r["floor"])),
            "rss": (peak_rss(small, 2, src), peak_rss(folder, 2, src), peak_rss(triple, 2, src)),
            "one": single_file_ms(files[0], repeat, src),
        }
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--shapes", type=int, default=30, help="row sets per base data folder")
    ap.add_argument("--baseline", help="also measure the xltools of this source tree (e.g. `git archive` of an "
                                       "earlier commit unpacked), interleaved with this one")
    ap.add_argument("--lo", type=int, default=0, help="files recalculated in LibreOffice (0: skip)")
    ap.add_argument("--formulas", type=int, default=0, help="files computed with the formulas package (0: skip)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing; the fastest is reported")
    ap.add_argument("--work", help="reuse this folder (made by an earlier run) instead of generating anew")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/results.md")
    args = ap.parse_args(argv)

    load0 = os.getloadavg()[0]
    if args.work and (Path(args.work) / "out").is_dir():
        work = Path(args.work)
    else:
        from xltools.bulk import generate_units

        work = Path(args.work or tempfile.mkdtemp(prefix="xltools-bench-check-"))
        work.mkdir(parents=True, exist_ok=True)
        rc = generate_units(varied_units_list(work, args.files, args.shapes), work / "out", jobs=2, progress=False,
                            quiet=True, keep_original=False)
        assert rc == 0
    print(f"工作目录：{work}", file=sys.stderr)
    files = [f for f in sorted((work / "out").glob("*.xlsx")) if not f.name.startswith("校验汇总")][: args.files]
    n = len(files)
    folder = work / f"check{n}"
    small = work / "check100"
    triple = work / f"check{3 * n}"     # the same files three times: memory must not grow with their number
    for d, fs in ((folder, files), (small, files[:100]), (triple, files * 3)):
        if not d.is_dir():
            d.mkdir()
            for i, f in enumerate(fs):
                os.link(f, d / (f.name if d is not triple else f"{i // n}_{f.name}"))
    from xltools.read.workbook import read_workbook
    shapes = len({tuple((tid, tuple(td.rows)) for tid, td in read_workbook(f).tables.items()) for f in files})

    trees = [("本次", None)] + ([("基线", Path(args.baseline))] if args.baseline else [])
    res = measure(files, folder, small, triple, args.repeat, trees)
    addin = addin_import_ms(args.repeat)
    load1 = os.getloadavg()[0]

    ms = lambda secs: f"{secs / n * 1000:.1f}"   # noqa: E731
    rows, mem, notes = [], [], []
    for name, _ in trees:
        r = res[name]
        cal = r["calamine"]
        for jobs in (2, 1):
            w, c = r["cli"][jobs]
            rows.append((f"{name}：命令行 xltools check 文件夹/ --json（{jobs} 进程）", n, f"{w:.2f}", f"{n / w:.0f}",
                         ms(c), f"{c / cal:.1f}×"))
        rows.append((f"{name}：check_file 读取 + 全部规则（单进程，首遍，含每个形状的编译）", n, "—", "—", ms(r["cold"]),
                     f"{r['cold'] / cal:.1f}×"))
        rows.append((f"{name}：check_file 读取 + 全部规则（单进程，再遍）", n, "—", "—", ms(r["warm"]),
                     f"{r['warm'] / cal:.1f}×"))
        rows.append((f"{name}：其中读取（read_any：安全预检、calamine、公式扫描、取数；再遍）", n, "—", "—", ms(r["read"]),
                     f"{r['read'] / cal:.1f}×"))
        rows.append((f"{name}：对照 python-calamine 读取每个表页（同一进程）", n, "—", "—", ms(cal), "1.0×"))
        fw, fc = r["floor"]
        rows.append((f"{name}：上限参照：只做安全预检与 calamine 读取校验所需的表页（2 进程，含启动；无公式扫描、"
                     "无规则、无输出）", n, f"{fw:.2f}", f"{n / fw:.0f}", ms(fc), f"{fc / cal:.1f}×"))
        (m100, w100), (m1k, w1k), (m3k, w3k) = r["rss"]
        mem += [(name, 100, f"{m100:.0f}", f"{w100:.0f}"), (name, n, f"{m1k:.0f}", f"{w1k:.0f}"),
                (name, f"{3 * n}（同一批文件 ×3）", f"{m3k:.0f}", f"{w3k:.0f}")]
        notes.append(f"{name}：单个工作簿 `xltools check 工作簿.xlsx --json`（新进程，含启动，中位数）墙钟 {r['one'][0]:.0f} ms，"
                     f"CPU {r['one'][1]:.0f} ms。")
    notes.append(f"`import xltools.addin`：-X importtime 计 xltools 模块累计 {addin[0]:.1f} ms（上限 300 ms），"
                 f"该进程墙钟 {addin[1]:.0f} ms（含解释器启动）。")
    notes.append(f"负载：开始时 1 分钟负载 {load0:.2f}，结束时 {load1:.2f}（2 核，机器与其他工作共用；"
                 "墙钟时间受其影响很大，CPU 时间受影响较小，但在重负载下同样偏高）。")
    extra = []
    if args.lo and uno_python():
        many = recalc_then_check(files[: args.lo], work / "lo")
        extra.append(("重算后校验：LibreOffice 批量重算（含启动）", args.lo, f"{many:.2f}", f"{args.lo / many:.2f}", "—", "—"))
    if args.formulas:
        try:
            fsecs = formulas_then_check(files[: args.formulas])
            extra.append(("重算后校验：formulas 包计算全部公式", args.formulas, f"{fsecs:.2f}",
                          f"{args.formulas / fsecs:.3f}", "—", "—"))
        except ImportError:
            notes.append("未安装 formulas 包（pip install formulas）：未测。")
    head = ("方法", "工作簿数", "用时（秒）", "个/秒", "CPU 毫秒/个（user+sys）", "CPU 相对 calamine 读取")
    body = "\n\n".join([
        f"校验 {n} 个由 `generate --units` 生成的决算工作簿：每个单位一个数据文件夹（两个样例与测试单位 clean-unit 为底，"
        f"行的组合 {shapes} 种，金额各不相同；样例的原文错误保留，每个工作簿都有结果条目）。"
        f"各项取 {args.repeat} 次中最快的一次；命令行各项含进程启动、导入、进程池、`校验汇总.xlsx` 与 JSON 输出，"
        "CPU 时间含全部工作进程；calamine 对照在同一进程中读取同一批文件的每个表页。"
        + ("“基线”为 --baseline 给出的旧版源码，与“本次”交替测量。" if args.baseline else ""),
        table(rows + extra, head), "峰值内存（`ru_maxrss`，每次在新进程中运行，2 进程；JSON 写到 /dev/null；工作进程的缓存按行组合的形状计、有上限）：",
        table(mem, ("版本", "工作簿数", "主进程峰值 RSS（MB）", "工作进程峰值 RSS（MB）")),
        "\n".join(f"* {x}" for x in notes)])
    print(body)
    if not args.no_write:
        write_section("check", "读取与校验（benchmarks/bench_check.py）", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
