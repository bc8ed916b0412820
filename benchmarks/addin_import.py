"""How long a ribbon click spends importing the add-in's entry points.

Every click on the 公开表 tab starts a new Python process (xlwings' RunPython) that runs
``import xltools.addin as a; a.check()``; the import must stay well under 300 ms, so the entry
module imports nothing heavy. This measures, in fresh subprocesses (median of 5 runs):

  * ``python -X importtime -c "import xltools.addin"``: the cumulative import time of the xltools
    modules the statement loads (the figure the 300 ms budget is about);
  * the wall-clock time of that process, and of ``python -c pass`` for comparison.

With ``--click`` it also times a whole 校验 click on the sample workbook, in a fresh process, on a
book from xlwings' remote engine (import xlwings + xltools.addin, read, check, write back; Excel's
own COM latency is not included).

    python benchmarks/addin_import.py [--runs 5] [--click]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 300.0


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def importtime_ms(stmt: str = "import xltools.addin") -> tuple[float, list[tuple[float, str]]]:
    """Cumulative import time (ms) of the top-level xltools imports, and the five slowest modules."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=True)
    total, mods = 0.0, []
    for line in res.stderr.splitlines():
        # "import time:  self [us] | cumulative | imported package"; nested imports are indented
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        head, cum, name = line.split("|", 2)
        self_us = float(head.split(":", 1)[1])
        top_level = not name[1:].startswith(" ")
        name = name.strip()
        if top_level and name.startswith("xltools"):
            total += float(cum) / 1000
        mods.append((self_us / 1000, name))
    return total, sorted(mods, reverse=True)[:5]


def _top_level_ms(stmt: str, prefix: str) -> float:
    res = subprocess.run([sys.executable, "-X", "importtime", "-c", stmt], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=True)
    total = 0.0
    for line in res.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cum, name = line.split("|", 2)
            if not name[1:].startswith(" ") and name.strip().startswith(prefix):
                total += float(cum) / 1000
    return total


def wall_ms(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True, capture_output=True)
    return (time.perf_counter() - t) * 1000


_CLICK = r"""
import os, time
t0 = time.perf_counter()
os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"
import xlwings as xw
from python_calamine import CalamineWorkbook
from xltools.read.workbook import _grid
path = {path!r}
wb = CalamineWorkbook.from_path(path)
sheets = []
for n in wb.sheet_names:
    rows = _grid(wb, n)
    w = max((len(r) for r in rows), default=0)
    sheets.append({{"name": n, "values": [list(r) + [""] * (w - len(r)) for r in rows] or [[]], "pictures": [],
                   "shapes": [], "charts": [], "tables": [], "notes": [], "visibility": "Visible"}})
book = xw.Book(json={{"client": "Office.js", "version": xw.__version__, "names": [], "sheets": sheets,
                     "book": {{"name": "sample.xlsx", "active_sheet_index": 0, "selection": "A1"}}}})
book.set_mock_caller()
t1 = time.perf_counter()
import xltools.addin as a
fs = a.check()
t2 = time.perf_counter()
print((t2 - t1) * 1000, len(book.json()["actions"]), len(fs))
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--click", action="store_true", help="also time a whole 校验 click on the sample workbook")
    args = ap.parse_args(argv)
    wall_ms("import xltools.addin")          # warm the bytecode cache once
    cums, slow = [], []
    for _ in range(args.runs):
        total, top = importtime_ms()
        cums.append(total)
        slow = top
    walls = [wall_ms("import xltools.addin") for _ in range(args.runs)]
    bases = [wall_ms("pass") for _ in range(args.runs)]
    med = statistics.median(cums)
    print(f"import xltools.addin (-X importtime, xltools modules, median of {args.runs}): {med:.1f} ms"
          f"  [budget {BUDGET_MS:.0f} ms: {'OK' if med < BUDGET_MS else 'OVER'}]")
    print(f"process wall time: python -c 'import xltools.addin' {statistics.median(walls):.1f} ms; "
          f"python -c pass {statistics.median(bases):.1f} ms")
    print("slowest modules in that process (self time, mostly interpreter start-up): "
          + ", ".join(f"{n} {ms:.2f} ms" for ms, n in slow))
    xlw = statistics.median(_top_level_ms("import xlwings", "xlwings") for _ in range(args.runs))
    print(f"for reference, import xlwings: {xlw:.0f} ms (every click pays it: RunPython's command line "
          f"imports xlwings.utils, and Book.caller() needs xlwings)")
    if args.click:
        sample = ROOT / "samples" / "ningxia-sbj-2022-final" / "ningxia-sbj-2022-final.xlsx"
        times = []
        for _ in range(args.runs):
            res = subprocess.run([sys.executable, "-c", _CLICK.format(path=str(sample))], cwd=ROOT, env=_env(),
                                 capture_output=True, text=True, check=True)
            ms, n_actions, n_findings = res.stdout.split()
            times.append(float(ms))
        print(f"校验 click on the sample (import xltools.addin + read + check + write back, remote engine, "
              f"median of {args.runs}): {statistics.median(times):.0f} ms; {n_findings} findings, {n_actions} actions")
    return 0 if med < BUDGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
