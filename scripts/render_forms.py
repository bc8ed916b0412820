"""Render one page of each table form of a workbook to PNG (LibreOffice → PDF → pypdfium2).

    python scripts/render_forms.py WORKBOOK.xlsx OUT_DIR PREFIX     # → OUT_DIR/PREFIX-<table id>.png

The page of a table is the first PDF page whose text holds its sheet title. Used for the pictures in docs/
(docs/budget-*.png) and by tests/test_budget_variants.py, which renders every new form and looks at the pixels.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def to_pdf(xlsx: Path, out_dir: Path) -> Path:
    from xltools.lo_recalc import find_uno_python

    py = find_uno_python()
    if py is None:
        raise RuntimeError("LibreOffice (soffice + python3-uno) 未安装")
    r = subprocess.run([py, str(ROOT / "xltools" / "lo_recalc.py"), str(out_dir), str(xlsx), "--pdf"],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return Path(r.stdout.split()[0])


def render_forms(xlsx: Path, out_dir: Path, prefix: str, scale: float = 1.25) -> dict[str, Path]:
    """{table id: PNG} for every table of the workbook's variant (a table whose page is not found is left out)."""
    import pdfplumber
    import pypdfium2

    from xltools.read.workbook import read_workbook
    from xltools.spec import load_set

    rep = read_workbook(xlsx)
    tset = load_set(rep.set_id)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = to_pdf(xlsx, Path(tmp))
        with pdfplumber.open(pdf) as doc:
            texts = [(p.extract_text() or "").replace(" ", "") for p in doc.pages]
        made = {}
        pdoc = pypdfium2.PdfDocument(str(pdf))
        for t in tset.tables_for(tset.variant(rep.variant)):
            title = t.title.replace(" ", "")
            page = next((i for i, s in enumerate(texts) if title in s), None)
            if page is None:
                continue
            img = pdoc[page].render(scale=scale).to_pil().convert("RGB")
            from PIL import ImageOps

            box = ImageOps.invert(img.convert("L")).getbbox()      # the printed area, without the page margins
            if box:
                img = img.crop((max(box[0] - 8, 0), max(box[1] - 8, 0), box[2] + 8, box[3] + 8))
            target = out_dir / f"{prefix}-{t.id}.png"
            img.save(target, optimize=True)
            made[t.id] = target
        pdoc.close()
    return made


if __name__ == "__main__":
    for tid, p in render_forms(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]).items():
        print(tid, p)
