"""Import speed: the largest corpus PDF (seconds per 10 pages) and a values-only, re-laid-out
workbook (ms per workbook), as `xltools import` does them (recognition included, no output written).

    python benchmarks/bench_import.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import ROOT, SAMPLES  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    import pdfplumber

    from tests.test_import import values_only_relaid
    from xltools.importer import import_source

    corpus = ROOT.parent / "shared" / "corpus"
    pdfs = sorted(corpus.rglob("*.pdf"), key=lambda p: p.stat().st_size, reverse=True)
    print("| input | pages | numbers placed | time per run (median) | per 10 pages |")
    print("|---|---:|---:|---:|---:|")
    for pdf in pdfs[:3]:
        with pdfplumber.open(str(pdf)) as doc:
            pages = len(doc.pages)
        times, cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                res = import_source(pdf)
                placed = f"{res.placed}/{res.numbers}"
            except Exception as exc:  # a document no table of which we know
                placed = f"未导入（{type(exc).__name__}）"
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        t, c = statistics.median(times), statistics.median(cpu)
        print(f"| {pdf.parent.name}/{pdf.name} ({pdf.stat().st_size / 1e6:.1f} MB) | {pages} | {placed} | "
              f"{t:.2f} s (CPU {c:.2f} s) | {t / pages * 10:.2f} s (CPU {c / pages * 10:.2f} s) |")
    with tempfile.TemporaryDirectory() as tmp:
        for sample in ("ningxia-sbj-2022-final", "zhongwei-sbzx-2024-budget"):
            src = values_only_relaid(SAMPLES / sample / f"{sample}.xlsx", Path(tmp) / f"{sample}.xlsx")
            import_source(src)                     # warm: spec and catalog caches
            times, cpu = [], []
            for _ in range(max(10, args.runs * 10)):
                t0, c0 = time.perf_counter(), time.process_time()
                res = import_source(src)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            print(f"| values-only re-laid-out workbook {sample} | — | {res.placed}/{res.numbers} | "
                  f"{statistics.median(times) * 1000:.1f} ms (CPU {statistics.median(cpu) * 1000:.1f} ms) | — |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
