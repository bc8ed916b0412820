"""The 情况说明 sheet: the narrative written into the workbook, ready to print or to copy into Word.

One paragraph per row in one wide column that spans the printable width of an A4 page (portrait),
wrapped; body paragraphs begin with two full-width spaces (Excel has no first-line indent, and this
is how Chinese documents indent when pasted into Word); body in 仿宋, headings in 黑体.

Writing follows ``xltools.rules.report.write_findings``: openpyxl rewrites the file with the same cells,
the cached values of formulas are restored afterwards, and the write is atomic with the original kept
as 文件.bak.xlsx.
"""
from __future__ import annotations

import math
from pathlib import Path

from xltools.narrative.model import SHEET, Narrative

__all__ = ["write_sheet", "COLUMN_WIDTH", "INDENT"]

COLUMN_WIDTH = 72           # characters of the default font (宋体 11 in our workbooks): ≈16 cm, the printable width of A4 portrait
INDENT = "\u3000\u3000"     # two full-width spaces: the first-line indent of a Chinese paragraph
BODY_FONT, HEAD_FONT = "仿宋", "黑体"
BODY_SIZE, HEAD_SIZE, TITLE_SIZE = 12, 12, 16
_LINE_PT = {BODY_SIZE: 17.0, TITLE_SIZE: 24.0}


def _display_width(text: str) -> int:
    """Width in default-font characters: a CJK character (and a full-width mark) is two."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row_height(text: str, size: int) -> float:
    # a 12-pt CJK character is about 2.2 default-font characters wide
    per_line = COLUMN_WIDTH * 2 / (2.2 * size / 12 * 2)
    lines = max(1, math.ceil(_display_width(text) / 2 / per_line))
    return lines * _LINE_PT.get(size, size * 1.7)


def write_sheet(path: str | Path, narrative: Narrative, *, keep_original: bool = True) -> Path:
    """Add (or replace) the 情况说明 sheet of the workbook at ``path``."""
    import openpyxl
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.page import PageMargins

    from xltools.rules.report import cached_values, restore_cached
    from xltools.util import atomic_path

    path = Path(path)
    keep_vba = path.suffix.lower() in (".xlsm", ".xlam")
    wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
    index = None
    if SHEET in wb.sheetnames:
        index = wb.sheetnames.index(SHEET)
        del wb[SHEET]
    ws = wb.create_sheet(SHEET, index)
    ws.column_dimensions["A"].width = COLUMN_WIDTH
    ws.sheet_view.showGridLines = False
    rows = [(narrative.title, "title")] + [(p.text, p.style) for p in narrative.paragraphs]
    for r, (text, style) in enumerate(rows, start=1):
        if style == "title":
            font = Font(name=HEAD_FONT, size=TITLE_SIZE, bold=True)
            align = Alignment(horizontal="center", vertical="center", wrap_text=True)
            size = TITLE_SIZE
        elif style in ("heading1", "heading2"):
            font = Font(name=HEAD_FONT if style == "heading1" else "楷体", size=HEAD_SIZE, bold=style == "heading1")
            align = Alignment(horizontal="left", vertical="top", wrap_text=True)
            text = INDENT + text
            size = HEAD_SIZE
        else:
            font = Font(name=BODY_FONT, size=BODY_SIZE)
            align = Alignment(horizontal="justify", vertical="top", wrap_text=True)
            text = INDENT + text
            size = BODY_SIZE
        c = ws.cell(r, 1, text)
        c.font, c.alignment = font, align
        c.data_type = "s"
        ws.row_dimensions[r].height = _row_height(text, size)
    ws.print_area = f"A1:A{len(rows)}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins = PageMargins(left=0.75, right=0.75, top=1.0, bottom=1.0)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    cached = cached_values(path)
    with atomic_path(path, keep_original=keep_original) as tmp:
        wb.save(tmp)
        restore_cached(tmp, cached)
    return path
