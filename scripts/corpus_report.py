"""Import every PDF of ../shared/corpus and write docs/CORPUS.md: per document the tables recognised
and the numbers placed. Run: python scripts/corpus_report.py [corpus folder] [output .md]"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    from xltools.importer import ImportError_, import_source

    corpus = Path(argv[0]) if argv else ROOT.parent / "shared" / "corpus"
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "CORPUS.md"
    rows = []
    totals = [0, 0, 0]
    for pdf in sorted(corpus.rglob("*.pdf")):
        t0 = time.perf_counter()
        try:
            res = import_source(pdf)
        except ImportError_ as exc:
            rows.append((pdf, None, str(exc).split("：", 1)[-1], time.perf_counter() - t0))
            continue
        rows.append((pdf, res, "", time.perf_counter() - t0))
        totals[0] += 1
        totals[1] += res.numbers
        totals[2] += res.placed
    lines = ["# The corpus, imported",
             "",
             "`python scripts/corpus_report.py` imports every PDF of `../shared/corpus/` with `xltools import` and",
             "writes this page. *Numbers* are the amounts printed in the tables it recognised; *placed* are those it",
             "put into a row and column of the Report. What is not recognised is listed in each import report",
             "(`xltools import 文件.pdf -o 输出/`). Time is the whole import, page text included.",
             "",
             "| document | set / variant | tables recognised | numbers | placed | not placed | time |",
             "|---|---|---|---:|---:|---:|---:|"]
    for pdf, res, err, dt in rows:
        name = f"{pdf.parent.name}/{pdf.name}"
        if res is None:
            lines.append(f"| {name} | — | 未导入：{err} | | | | {dt:.1f} s |")
            continue
        rep = res.report
        tabs = "、".join(res.tables) or "—"
        lines.append(f"| {name} | {rep.set_id} / {rep.variant} | {tabs} | {res.numbers} | {res.placed} | "
                     f"{len(res.unplaced)} | {dt:.1f} s |")
    lines += ["", f"{totals[0]} of {len(rows)} documents imported; {totals[2]} of {totals[1]} printed numbers "
              "placed in the tables recognised.", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
