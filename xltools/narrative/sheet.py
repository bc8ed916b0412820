"""The 情况说明 sheet: the narrative written into the workbook, ready to print or to copy into Word.

One paragraph per row in one wide column that spans the printable width of an A4 page (portrait),
wrapped; body paragraphs begin with two full-width spaces (Excel has no first-line indent, and this
is how Chinese documents indent when pasted into Word); body in 仿宋, headings in 黑体.

Writing goes through :mod:`xltools.rewrite` like ``check --write``: every value of the other sheets is
kept (and proven so), the write is atomic, the first original is kept as 文件.bak.xlsx, and a user's own
sheet named 情况说明 is never replaced.
"""
from __future__ import annotations

import math
from pathlib import Path

from xltools.narrative.model import SHEET, Narrative

__all__ = ["write_sheet", "COLUMN_WIDTH", "INDENT", "WARNING_PREFIX"]

WARNING_PREFIX = "注意：本工作簿有"     # the red line `narrative` writes above the title of a workbook with errors

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


def _is_narrative_sheet(ws) -> bool:
    """A 情况说明 sheet written before xltools recorded its sheets: one column, titled …情况说明
    (under our red warning line, when the workbook had errors)."""
    title = ws.cell(1, 1).value
    if isinstance(title, str) and title.startswith(WARNING_PREFIX):
        title = ws.cell(2, 1).value
    return ws.max_column == 1 and isinstance(title, str) and title.endswith("情况说明")


def write_sheet(path: str | Path, narrative: Narrative, *, keep_original: bool = True, expect=None,
                warning: str | None = None, note_items: list | None = None) -> Path:
    """Add (or replace our) 情况说明 sheet of the workbook at ``path`` (a user's own sheet of that name
    is kept: ours goes under 情况说明（xltools）). Raises :class:`xltools.safeio.WriteError`.

    ``warning`` (the workbook's check errors) is written in red above the title: not part of the
    text, not printed. ``note_items``: the 说明事项 items the workbook's rows call for; missing ones
    get their row in the same write (what was typed is kept, see xltools.narrative.refresh)."""
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.page import PageMargins

    from xltools import rewrite
    from xltools.safeio import stamp

    path = Path(path)
    if expect is None:
        expect = stamp(path)
    wb = rewrite.load(path)
    name, exists = rewrite.own_sheet(wb, SHEET, _is_narrative_sheet)
    index = None
    if exists:
        index = wb.sheetnames.index(name)
        del wb[name]
    ws = wb.create_sheet(name, index)
    meta = wb[rewrite.META_SHEET] if rewrite.META_SHEET in wb.sheetnames else None
    rewrite.meta_set(meta, f"own:{SHEET}", name)
    ws.column_dimensions["A"].width = COLUMN_WIDTH
    ws.sheet_view.showGridLines = False
    rows = [(narrative.title, "title")] + [(p.text, p.style) for p in narrative.paragraphs]
    if warning:
        rows.insert(0, (warning, "warning"))
    for r, (text, style) in enumerate(rows, start=1):
        if style == "warning":
            font = Font(name=HEAD_FONT, size=BODY_SIZE, bold=True, color="FFC00000")
            align = Alignment(horizontal="left", vertical="top", wrap_text=True)
            size = BODY_SIZE
        elif style == "title":
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
        c = rewrite.put(ws.cell(r, 1), text)
        c.font, c.alignment = font, align
        ws.row_dimensions[r].height = _row_height(text, size)
    first = 2 if warning else 1          # the warning row is for the screen, not for the printed text
    ws.print_area = f"A{first}:A{len(rows)}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.page_margins = PageMargins(left=0.75, right=0.75, top=1.0, bottom=1.0)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    replaced = {name} if exists else set()
    if note_items:
        from xltools.narrative.inputs import NOTES_SHEET
        from xltools.narrative.refresh import refresh_sheet
        if NOTES_SHEET in wb.sheetnames and refresh_sheet(wb[NOTES_SHEET], note_items)[0]:
            replaced.add(NOTES_SHEET)         # rows moved; refresh_sheet proves every item keeps its value
    return rewrite.save(wb, path, replaced=replaced, keep_original=keep_original, expect=expect)
