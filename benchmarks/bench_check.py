"""Reading and checking speed: `xltools check` over ≥200 generated workbooks (python-calamine reads the cached
values, the rules engine checks them), against a checker built on recalculation — LibreOffice batch
recalculation, and the `formulas` package — measured on a handful of files.

    python benchmarks/bench_check.py                    # 200 workbooks, 2 processes, LO on 5, formulas on 1
    python benchmarks/bench_check.py --files 400 --lo 8 --formulas 0

Prints a results table and writes it to benchmarks/results.md (section "check").
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import lo_recalc, table, units_list, uno_python, write_section  # noqa: E402


def _check(path: str) -> int:
    from xltools.cli import check_file

    findings, err = check_file(Path(path))
    if err:
        raise RuntimeError(err)
    return len(findings)


def _read(path: str) -> int:
    from xltools.read.workbook import read_workbook

    return len(read_workbook(path).tables)


def _warm() -> None:
    import xltools.cli  # noqa: F401 - imports and spec/catalog caches, once per worker
    from xltools.spec import load_set
    load_set("final_accounts")


def throughput(fn, files: list[Path], jobs: int, repeat: int = 1) -> float:
    """Seconds of the fastest of ``repeat`` runs of ``fn`` over ``files`` with ``jobs`` processes (pool start-up
    included; this machine is shared, and other work only ever slows a run down)."""
    return min(_throughput(fn, files, jobs) for _ in range(repeat))


def _throughput(fn, files: list[Path], jobs: int) -> float:
    t = time.perf_counter()
    if jobs <= 1:
        for f in files:
            fn(str(f))
    else:
        with ProcessPoolExecutor(jobs, initializer=_warm) as pool:
            list(pool.map(fn, map(str, files), chunksize=max(1, len(files) // (jobs * 8))))
    return time.perf_counter() - t


def _cli_check(folder: Path) -> float:
    """`xltools check 文件夹/` as a user runs it (a new process; exit code 1: the samples have errors)."""
    import subprocess

    from _common import ROOT

    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(folder)], cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    secs = time.perf_counter() - t
    if r.returncode not in (0, 1):
        raise RuntimeError(f"xltools check 退出码 {r.returncode}")
    return secs


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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--lo", type=int, default=5, help="files recalculated in LibreOffice (0: skip)")
    ap.add_argument("--formulas", type=int, default=1, help="files computed with the formulas package (0: skip)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timing; the fastest is reported")
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/results.md")
    args = ap.parse_args(argv)

    from xltools.bulk import generate_units

    work = Path(tempfile.mkdtemp(prefix="xltools-bench-check-"))
    print(f"工作目录：{work}", file=sys.stderr)
    rc = generate_units(units_list(work / "units.csv", args.files), work / "out", jobs=args.jobs, progress=False,
                        quiet=True, keep_original=False)
    files = sorted((work / "out").glob("*.xlsx"))
    assert rc == 0 and len(files) == args.files
    _warm()
    _check(str(files[0]))
    rows = []
    secs = throughput(_check, files, args.jobs, args.repeat)
    ours = len(files) / secs
    secs1 = throughput(_check, files[: max(20, len(files) // 4)], 1, args.repeat)
    ours1 = max(20, len(files) // 4) / secs1
    read_secs = throughput(_read, files, args.jobs, args.repeat)
    cli_secs = min(_cli_check(work / "out") for _ in range(args.repeat))
    rows.append((f"xltools check（calamine 读缓存值 + 规则，{args.jobs} 进程）", len(files), f"{secs:.2f}", f"{ours:.0f}", "—"))
    rows.append(("xltools check（1 进程）", max(20, len(files) // 4), f"{secs1:.2f}", f"{ours1:.0f}", "—"))
    rows.append((f"命令行 xltools check 文件夹/（{args.jobs} 进程，含启动与 校验汇总.xlsx）", len(files), f"{cli_secs:.2f}",
                 f"{len(files) / cli_secs:.0f}", "—"))
    rows.append((f"仅读取（read_workbook，{args.jobs} 进程）", len(files), f"{read_secs:.2f}", f"{len(files) / read_secs:.0f}", "—"))
    notes = []
    if args.lo and uno_python():
        one = recalc_then_check(files[:1], work / "lo1")
        many = recalc_then_check(files[: args.lo], work / "lo")
        per = many / args.lo
        marginal = (many - one) / (args.lo - 1) if args.lo > 1 else per
        rows.append(("重算后校验：LibreOffice 批量重算（含启动）", args.lo, f"{many:.2f}", f"{args.lo / many:.2f}",
                     f"{ours / (args.lo / many):.0f}×"))
        rows.append(("重算后校验：LibreOffice（不计启动，每增 1 个）", "—", f"{marginal:.2f}", f"{1 / marginal:.2f}",
                     f"{ours * marginal:.0f}×"))
    else:
        notes.append("LibreOffice 未安装或 --lo 0：未测 LibreOffice 重算。")
    if args.formulas:
        try:
            fsecs = formulas_then_check(files[: args.formulas])
            rows.append(("重算后校验：formulas 包计算全部公式", args.formulas, f"{fsecs:.2f}", f"{args.formulas / fsecs:.3f}",
                         f"{ours * fsecs / args.formulas:.0f}×"))
        except ImportError:
            notes.append("未安装 formulas 包（pip install formulas）：未测。")
    head = ("方法", "工作簿数", "用时（秒）", "个/秒", "xltools check 快多少")
    body = "\n\n".join([
        f"校验 {len(files)} 个由 `generate --units` 生成的决算工作簿（两个样例的数据，含原文错误，每个都有结果条目）。"
        "xltools 读公式的缓存值（生成时写入，并经 LibreOffice 重算验证），不需要计算引擎；对照组先重算再校验。"
        f"xltools 各项取 {args.repeat} 次中最快的一次（机器与其他工作共用），含进程池启动。",
        table(rows, head), "\n".join(f"* {n}" for n in notes)])
    print(body)
    if not args.no_write:
        write_section("check", "读取与校验（benchmarks/bench_check.py）", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
