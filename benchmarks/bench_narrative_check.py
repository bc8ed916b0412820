"""check-narrative speed and memory against the size of the text: it must be linear (10 MB of text in under
10 s and under 500 MB) and its output bounded (at most ``--limit`` findings listed, the rest counted).

The text is the published 情况说明 of seed 000 as the PDF gives it (samples/ningxia-sbj-2022-final/published/
情况说明.pdf.txt: every printed line broken, blank lines between) repeated to the size asked, checked against the
sample's data; every size runs in a fresh process (peak RSS from ``ru_maxrss``), best of 3.

    python benchmarks/bench_narrative_check.py                # 0.5, 1, 2.5, 5, 10 MB
    python benchmarks/bench_narrative_check.py --sizes 1 10

Prints a results table and writes it to benchmarks/results.md (section "narrative-check").
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, SAMPLES, table, write_section  # noqa: E402

SAMPLE = SAMPLES / "ningxia-sbj-2022-final"
SOURCE = SAMPLE / "published" / "情况说明.pdf.txt"

_CHILD = r"""
import json, resource, sys, time, io, contextlib
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from xltools.read.datafile import load_data
from xltools.narrative.check import read_narrative
from xltools.narrative import check_text
from xltools.cli import main
rep = load_data(Path(sys.argv[3]))
t0, c0 = time.perf_counter(), time.process_time()
text = read_narrative(sys.argv[2])
findings = check_text(text, rep)
t1, c1 = time.perf_counter(), time.process_time()
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(["check-narrative", sys.argv[2], "--against", sys.argv[3]])
t2 = time.perf_counter()
out = buf.getvalue()
print(json.dumps({"check": t1 - t0, "cpu": c1 - c0, "cli": t2 - t1, "findings": len(findings), "code": code,
                  "out_lines": out.count("\n"), "out_bytes": len(out.encode()),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(path: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHILD, str(ROOT), str(path), str(SAMPLE)],
                         capture_output=True, text=True, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=float, nargs="*", default=[0.5, 1, 2.5, 5, 10], help="MB of text")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = SOURCE.read_text(encoding="utf-8")
    unit = len(base.encode("utf-8"))
    rows, raw = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for mb in args.sizes:
            n = max(1, round(mb * 1_000_000 / unit))
            path = Path(tmp) / f"情况说明-{mb}MB.txt"
            path.write_text(base * n, encoding="utf-8")
            size = path.stat().st_size / 1_000_000
            best = min((run(path) for _ in range(args.repeat)), key=lambda r: r["check"])
            raw.append((size, best))
            rows.append((f"{size:.1f}", n, f"{best['check']:.2f}", f"{best['cpu']:.2f}", f"{best['check'] / size:.2f}",
                         f"{best['rss_mb']:.0f}", best["findings"], best["out_lines"],
                         f"{best['out_bytes'] / 1000:.0f}", f"{best['cli']:.2f}"))
            print(rows[-1], flush=True)
    head = ("文本（MB）", "重复次数", "读取+核对（秒）", "其中 CPU（秒）", "秒/MB", "峰值 RSS（MB）", "发现条数", "命令行输出行数",
            "命令行输出（KB）", "命令行用时（秒）")
    body = table(rows, head)
    print(body)
    note = (f"文本为 seed 000 情况说明的 PDF 原文（{unit / 1000:.1f} KB，每行断开、行间空行）重复而成，对照样例数据核对；"
            "每个大小在新进程中运行（`ru_maxrss`），取 3 次中最快的一次；机器为 2 核，与其他工作共用，"
            f"开始时 1 分钟负载 {os.getloadavg()[0]:.2f}（负载高时用时以 CPU 时间为准）。命令行默认最多列出 200 条，其余只计数。")
    write_section("narrative-check", "情况说明核对（benchmarks/bench_narrative_check.py）", note + "\n\n" + body)


if __name__ == "__main__":
    main()
