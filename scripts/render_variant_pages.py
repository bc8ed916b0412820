"""Render the page of each table form a variant introduced to PNG (docs/variant-<variant>-<table>.png).

    python scripts/render_variant_pages.py            # writes docs/variant-*.png

The workbooks are exported to PDF by LibreOffice (xltools/lo_recalc.py --pdf); the page whose first line is the
table's title is rasterised with pdfplumber. tests/test_variants.py runs the same `render_pages` into a
temporary folder and checks what each page shows.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (variant, table, workbook made from): the new forms of issue 11
FORMS = [
    ("shanghai", "F02", "sample"),    # 收入决算表 without 其中：教育收费
    ("shanghai", "F05", "sample"),    # 合计 at the bottom
    ("shanghai", "F06S", "sample"),   # 两栏式 基本支出表, no 合计 row
    ("shanghai", "F07S", "sample"),   # 三公: 预算数/决算数 side by side per item
    ("shanghai", "F09X", "sample"),   # 国资 收入支出决算表 (shaped like 公开08)
    ("shanxi", "F06X", "blank"),      # 支出决算明细表 with 其中：基本支出
    ("shanxi", "F10", "blank"),       # 相关信息统计表
]


def render_pages(pdf: Path, titles: dict[str, str], out_dir: Path, prefix: str) -> dict[str, tuple[Path, str]]:
    """For each table id → title, the first PDF page whose first line is the title, as PNG; returns
    table id → (png path, the page's text)."""
    import pdfplumber

    out: dict[str, tuple[Path, str]] = {}
    with pdfplumber.open(pdf) as doc:
        for tid, title in titles.items():
            for page in doc.pages:
                text = page.extract_text() or ""
                first = text.strip().split("\n", 1)[0].replace(" ", "")
                if first == title:
                    png = out_dir / f"{prefix}-{tid}.png"
                    page.to_image(resolution=110).save(png)
                    out[tid] = (png, text)
                    break
    return out


def main() -> int:
    import subprocess
    import tempfile

    sys.path.insert(0, str(ROOT))
    from xltools.build.writer import build_workbook, empty_report
    from xltools.lo_recalc import find_uno_python
    from xltools.read.datafile import load_data
    from xltools.spec import load_set

    tset = load_set("final_accounts")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        books = {}
        for variant, _tid, source in FORMS:
            if (variant, source) in books:
                continue
            if source == "sample":
                rep = load_data(ROOT / "samples" / "shanghai-putuo-finance-2024-final")
            else:
                rep = empty_report("final_accounts", variant, "某某局", 2024)
            books[(variant, source)] = build_workbook(rep, tmp / f"{variant}-{source}.xlsx").path
        py = find_uno_python()
        r = subprocess.run([py, str(ROOT / "xltools" / "lo_recalc.py"), str(tmp / "pdf"),
                            *map(str, books.values()), "--pdf"], capture_output=True, text=True, timeout=600)
        if r.returncode:
            print(r.stderr, file=sys.stderr)
            return 2
        pdfs = dict(zip(books, (Path(x) for x in r.stdout.split("\n") if x.strip())))
        for (variant, source), pdf in pdfs.items():
            titles = {tid: tset.tables[tid].title for v, tid, s in FORMS if (v, s) == (variant, source)}
            done = render_pages(pdf, titles, ROOT / "docs", f"variant-{variant}")
            for tid, (png, _) in done.items():
                print(png.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
