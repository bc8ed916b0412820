"""Untrusted input (issue 10, reading): what the largest legitimate workbook costs, and what each refused
bomb costs, through the real command line.

    python benchmarks/bench_untrusted.py [--no-write]

The legitimate input is a department with 500 项 rows in each functional detail table (收入决算表,
支出决算表, 一般公共预算财政拨款支出决算表; amounts consistent, so the check is clean), generated with
`xltools generate` and then checked. The bombs come from tests/fuzzcorpus.py. Every command runs as
`python -m xltools.cli …` in a new process; time is wall time, memory is that process's peak RSS
(``os.wait4``), so interpreter start and imports are included (the `--version` row shows that floor).
Prints a table and writes it to benchmarks/results.md (section "untrusted").
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, table, write_section  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
import fuzzcorpus  # noqa: E402

CLEAN = ROOT / "tests" / "data" / "clean-unit"


def department(folder: Path, n: int = 500) -> Path:
    """A data folder of a department with ``n`` 项 rows (the first ``n`` 项 of the 2024 functional
    catalog), every identity holding: 财政拨款 income = basic expenditure = 一般公共预算 basic spending."""
    from xltools import catalog

    cat = catalog.functional(2024)
    codes = list(cat.codes("项"))
    names = {c: cat.name(c) for c in codes}
    # the package catalog has fewer 项 than that: the department adds its own (`--catalog`), 项 under
    # every 款 of the catalog — what a unit with a local 科目 list does
    extra = []
    for kuan in cat.codes("款"):
        for k in range(1, 100):
            code = f"{kuan}{k:02d}"
            if code not in names:
                extra.append(code)
                names[code] = f"自定义项目{code}"
            if len(codes) + len(extra) >= n:
                break
        if len(codes) + len(extra) >= n:
            break
    codes = sorted(codes + extra)[:n]
    folder.parent.mkdir(parents=True, exist_ok=True)
    (folder.parent / "部门科目.csv").write_text("code,level,name,since,until,aliases\n" + "".join(
        f"{c},项,{names[c]},,,\n" for c in extra), encoding="utf-8")
    shutil.copytree(CLEAN, folder)
    amounts = [Decimal(1000 + 37 * i) + Decimal(i % 100) / 100 for i in range(n)]
    total = sum(amounts)
    rows = [(c, names[c], a) for c, a in zip(codes, amounts)]
    (folder / "F02.csv").write_text("key,name,fiscal,superior,business,edu_fee,operating,affiliated,other\n" + "".join(
        f"{c},{nm},{a:.2f},,,,,,\n" for c, nm, a in rows), encoding="utf-8")
    (folder / "F03.csv").write_text("key,name,basic,project,remit,operating,subsidy\n" + "".join(
        f"{c},{nm},{a:.2f},,,,\n" for c, nm, a in rows), encoding="utf-8")
    (folder / "F05.csv").write_text("key,name,basic,project\n" + "".join(
        f"{c},{nm},{a:.2f},\n" for c, nm, a in rows), encoding="utf-8")
    (folder / "F04.csv").write_text(
        "key,name,amount,total,gpb,gf,soe\n"
        f"gpb,一般公共预算财政拨款,{total:.2f},,,,\nopening_gpb,一般公共预算财政拨款,0.00,,,,\n"
        "closing,年末财政拨款结转和结余,,,0.00,,\n", encoding="utf-8")
    wages = (total * Decimal("0.6")).quantize(Decimal("0.01"))
    fund = (total * Decimal("0.1")).quantize(Decimal("0.01"))
    (folder / "F06.csv").write_text(
        "key,name,amount\n301,工资福利支出,\n"
        f"30101,基本工资,{wages:.2f}\n30113,住房公积金,{fund:.2f}\n"
        "303,对个人和家庭的补助,\n30302,退休费,0.00\n302,商品和服务支出,\n"
        f"30201,办公费,{total - wages - fund:.2f}\n310,资本性支出,\n31002,办公设备购置,0.00\n", encoding="utf-8")
    meta = (folder / "meta.yaml").read_text(encoding="utf-8").replace("unit: 测试局", f"unit: 基准测试部门（{n} 项）")
    (folder / "meta.yaml").write_text(meta, encoding="utf-8")
    return folder


def run_cli(argv: list[str], cwd: Path, timeout: float = 120) -> tuple[int | str, float, float, str]:
    """(exit code or signal name, seconds, peak RSS in MB, first line of stderr/stdout)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TMPDIR=str(cwd))
    # GNU time (a small process) forks the command: the peak RSS it reports is the command's own. Without
    # it, wait4's ru_maxrss also counts what this (larger) process had mapped when it forked.
    rss_file = Path(tempfile.mkstemp(dir=cwd, prefix="rss-")[1])
    wrap = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] if Path("/usr/bin/time").is_file() else []
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen([*wrap, sys.executable, "-m", "xltools.cli", *argv], cwd=cwd, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                p.kill()
                pid, status, ru = os.wait4(p.pid, 0)
                break
            time.sleep(0.002)
        p.returncode = 0   # reaped by wait4
        secs = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text = (err.read() + out.read()).decode("utf-8", "replace")
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else f"信号 {os.WTERMSIG(status)}"
    peak = ru.ru_maxrss / 1024
    if wrap:
        lines = rss_file.read_text().split()
        peak = int(lines[-1]) / 1024 if lines and lines[-1].isdigit() else peak
        if code != 0 and "terminated by signal" in rss_file.read_text():
            code = "信号 " + rss_file.read_text().split("signal")[1].split()[0]
    rss_file.unlink()
    text = "\n".join(ln for ln in text.splitlines() if not ln.startswith("Command exited with"))
    first = next((ln.strip() for ln in text.splitlines() if "上限" in ln or "错误" in ln or "拒绝" in ln), "")
    if not first:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    # the message without the folder part of the paths it names
    first = first.replace(str(cwd) + os.sep, "").replace(str(cwd.parent) + os.sep, "")
    first = first.split(" —— ", 1)[-1].removeprefix("错误：")
    return code, secs, peak, first


def best(argv, cwd, repeat=3):
    runs = [run_cli(argv, cwd) for _ in range(repeat)]
    return min(runs, key=lambda r: r[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-write", action="store_true", help="do not update benchmarks/results.md")
    ap.add_argument("--rows", type=int, default=500, help="项 rows of the legitimate department")
    args = ap.parse_args(argv)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    work = Path(tempfile.mkdtemp(prefix="xltools-bench-untrusted-"))
    try:
        rows = []
        rows.append(("python -m xltools.cli --version（进程启动下限）", "—", *best(["--version"], work)))
        dept = department(work / "dept", args.rows)
        size_data = sum(f.stat().st_size for f in dept.iterdir())
        cat = ["--catalog", str(work / "部门科目.csv")]
        rows.append((f"generate：{args.rows} 项的部门数据文件夹", f"{size_data / 1024:.0f} KB",
                     *best([*cat, "generate", str(dept), "-o", str(work / "dept.xlsx")], work)))
        book = work / "dept.xlsx"
        rows.append((f"check：{args.rows} 项的部门工作簿", f"{book.stat().st_size / 1024:.0f} KB",
                     *best([*cat, "check", str(book)], work)))
        from xltools.read import guard
        t0 = time.perf_counter()
        for _ in range(20):
            guard._CHECKED.clear()     # measure the check itself, not its per-file memo
            guard.check_workbook(book)
        pre_ms = (time.perf_counter() - t0) / 20 * 1000

        cases = {c.name: c for c in fuzzcorpus.build(work / "corpus")}
        for name, label in (
            ("zip-bomb-3GB", "zip 炸弹：一个表页解压后 3 GB"),
            ("zip-bomb-ratio", "zip 炸弹：压缩比 1000:1（100 MB）"),
            ("zip-bomb-lying", "zip 炸弹：文件头谎报大小（实际 1 GB）"),
            ("rows-1e6", "10⁶ 行的表页"),
            ("rows-1e6-no-r", "10⁶ 行的表页（无 r= 属性）"),
            ("far-cell-XFD1048576", "XFD1048576 处一个单元格"),
            ("pdf-flate-bomb", "PDF 压缩炸弹：一个流解压后 1.5 GB"),
            ("entity-bomb", "XML 实体炸弹（billion laughs）"),
            ("xxe-sheet", "XXE（外部实体）"),
            ("yaml-alias-bomb-meta", "YAML 别名炸弹（meta.yaml）"),
            ("notes-alias-bomb", "YAML 别名炸弹（notes.yaml）"),
            ("data-devzero-csv", "F01.csv → /dev/zero"),
            ("data-fifo-csv", "F01.csv 是 FIFO"),
            ("folder-mixed", "文件夹：14 个正常 + XFD1048576 + 截断文件"),
        ):
            c = cases[name]
            if c.needs and not fuzzcorpus.materialize(c):
                continue
            main_file = next((Path(a) for a in c.argv[1:] if a.endswith((".xlsx", ".pdf"))), None)
            size = (f"{main_file.stat().st_size / 2**20:.1f} MB" if main_file and main_file.is_file()
                    and main_file.stat().st_size > 2**20 else
                    f"{main_file.stat().st_size / 1024:.0f} KB" if main_file and main_file.is_file() else "—")
            rows.append((label, size, *best(c.argv, Path(c.root), repeat=1 if "folder" in name else 3)))
        head = ("输入", "大小", "退出码", "用时（秒）", "峰值内存（MB）", "输出（首行）")
        body = [(r[0], r[1], r[2], f"{r[3]:.2f}", f"{r[4]:.0f}", (r[5][:90] + "…") if len(r[5]) > 90 else r[5])
                for r in rows]
        text = table(body, head)
        text += (f"\n\n预检（`xltools.read.guard.check_workbook`，解压并扫描全部 XML 部件）对 {args.rows} 项的部门工作簿："
                 f"每个 {pre_ms:.1f} 毫秒（进程内，20 次平均）。\n")
        print(text)
        if not args.no_write:
            write_section("untrusted", "不可信输入：合法的大工作簿与被拒绝的炸弹（benchmarks/bench_untrusted.py）",
                          "每行在新进程中运行 `python -m xltools.cli …`（含解释器启动与导入）；取 3 次中最快的一次"
                          "（文件夹 1 次）；峰值内存为该进程的 `ru_maxrss`。\n\n" + text)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
