"""说明事项: what the tables cannot know (prior-year figures, budgets, reasons, counts).

The generator adds an input sheet 说明事项 to every workbook: one row per item, columns
键 (key, hidden from print) | 项目 (label) | 内容 (value). A data folder carries the same items in
notes.yaml. The narrative templates read them by key. Items are declared per set in
``templates/<set>/notes.yaml``.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from xltools.model import parse_amount

__all__ = ["NOTES_SHEET", "NoteItem", "note_items", "read_notes_grid", "write_notes_sheet"]

NOTES_SHEET = "说明事项"


@dataclass(frozen=True)
class NoteItem:
    key: str
    label: str
    kind: str = "text"        # amount | count | percent | text
    section: str = ""


def note_items(set_id: str) -> list[NoteItem]:
    import yaml

    from xltools.spec import templates_dir

    path = templates_dir() / set_id / "notes.yaml"
    if not path.is_file():
        return []
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = []
    for section in doc.get("sections", []):
        for it in section.get("items", []):
            items.append(NoteItem(key=str(it["key"]), label=str(it["label"]), kind=str(it.get("kind", "text")),
                                  section=str(section.get("title", ""))))
    return items


def read_notes_grid(grid: list[list], sheet: str = NOTES_SHEET) -> dict:
    """Rows [key, label, value] → {key: Decimal | str}. Empty values are left out."""
    out: dict = {}
    for row in grid[1:]:
        if len(row) < 3 or not row[0]:
            continue
        key = str(row[0]).strip()
        val = row[2]
        if val is None or (isinstance(val, str) and not val.strip()):
            continue
        if isinstance(val, (int, float)) and not isinstance(val, bool):
            amount, _ = parse_amount(val)
            out[key] = amount
        else:
            out[key] = str(val).strip()
    return out


def write_notes_sheet(wb, fm, report, tset, variant) -> None:
    """XlsxWriter hook: add the 说明事项 input sheet, prefilled from report.notes."""
    items = note_items(tset.id)
    if not items:
        return
    ws = wb.add_worksheet(NOTES_SHEET)
    head = fm.header()
    ws.write_row(0, 0, ["键", "项目", "内容（请填写）"], head)
    ws.set_column(0, 0, 26, None, {"hidden": True})
    ws.set_column(1, 1, 46)
    ws.set_column(2, 2, 60)
    section = None
    r = 1
    for it in items:
        if it.section != section:
            section = it.section
            ws.merge_range(r, 0, r, 2, section, fm.get(bold=True, bg_color="#DDEBF7", border=1))
            r += 1
        ws.write_string(r, 0, it.key)
        ws.write_string(r, 1, it.label, fm.label())
        val = report.notes.get(it.key) if report.notes else None
        style = fm.get(border=1, locked=False, bg_color="#FFF2CC", text_wrap=True,
                       num_format="#,##0.00" if it.kind == "amount" else ("0.00%" if it.kind == "percent" else "General"))
        if val is None:
            ws.write_blank(r, 2, None, style)
        elif isinstance(val, (int, float, Decimal)) and not isinstance(val, bool):
            ws.write_number(r, 2, float(val), style)
        else:
            ws.write_string(r, 2, str(val), style)
        r += 1
    ws.freeze_panes(1, 0)
    ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True,
                    "insert_rows": False, "select_locked_cells": True, "select_unlocked_cells": True})
