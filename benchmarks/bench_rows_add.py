"""Time of `xltools rows add` (one 科目 into 公开05) on workbooks generated from the two 决算 samples and the
clean test unit, and the part of it spent compiling the 审核 sheet again (xltools.build.reaudit).

    PYTHONPATH=. python benchmarks/bench_rows_add.py [repeats]
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = [ROOT / "samples" / "ningxia-sbj-2022-final", ROOT / "samples" / "ningxia-rst-2023-final",
        ROOT / "tests" / "data" / "clean-unit"]


def main(repeats: int = 3) -> None:
    import xltools.build.reaudit as reaudit
    from xltools.build.rows import add_rows
    from xltools.build.writer import build_workbook
    from xltools.cli import _extra_sheets
    from xltools.read.datafile import load_data

    real = reaudit.refresh_audit
    spent: list[float] = []

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            spent.append(time.perf_counter() - t)

    reaudit.refresh_audit = timed
    with tempfile.TemporaryDirectory() as d:
        for data in DATA:
            src = Path(d) / f"{data.name}.xlsx"
            res = build_workbook(load_data(data), src, extra_sheets=_extra_sheets())
            total, audit = [], []
            for i in range(repeats):
                p = Path(d) / f"{data.name}-{i}.xlsx"
                shutil.copy(src, p)
                spent.clear()
                t = time.perf_counter()
                add_rows(p, "公开05", ["2130101"])
                total.append(time.perf_counter() - t)
                audit.append(sum(spent))
            best = min(range(repeats), key=lambda i: total[i])
            print(f"{data.name}（审核 {res.audit_rows} 行）: rows add {total[best]:.2f} s, "
                  f"of which 审核 compiled again {audit[best]:.2f} s (fastest of {repeats})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
