"""Time of rewriting a user's workbook (`check --write`, `narrative`) through xltools.rewrite: load,
save, restore cached values, and the proof that every original value reads the same.

    PYTHONPATH=. python benchmarks/bench_rewrite.py [repeats]
"""
from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SAMPLES = [ROOT / "samples" / n / f"{n}.xlsx" for n in ("ningxia-sbj-2022-final", "ningxia-rst-2023-final")]


def main(repeats: int = 5) -> None:
    from xltools.cli import check_file
    from xltools.narrative import render, write_sheet
    from xltools.read.workbook import read_workbook
    from xltools.rules.report import write_findings

    with tempfile.TemporaryDirectory() as d:
        for src in SAMPLES:
            tw, tn = [], []
            for _ in range(repeats):
                p = Path(d) / src.name
                shutil.copy(src, p)
                p.with_name(p.stem + ".bak.xlsx").unlink(missing_ok=True)
                findings, _ = check_file(p)
                t = time.perf_counter()
                write_findings(p, findings)
                tw.append(time.perf_counter() - t)
                nar = render(read_workbook(p))
                t = time.perf_counter()
                write_sheet(p, nar)
                tn.append(time.perf_counter() - t)
            print(f"{src.name}: 校验结果 write {statistics.median(tw):.3f} s, "
                  f"情况说明 write {statistics.median(tn):.3f} s (median of {repeats})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
