"""说明事项: what the tables cannot know (prior-year figures, budgets, reasons, counts).

The generator adds an input sheet 说明事项 to every workbook: one row per item, columns
键 (key, hidden from print) | 项目 (label) | 内容 (value). A data folder carries the same items in
notes.yaml. The narrative templates read them by key. Items are declared per set in
``templates/<set>/notes.yaml``.
"""
from __future__ import annotations

import re
import stat
from dataclasses import dataclass
from decimal import Decimal

from xltools.model import parse_amount

__all__ = ["NOTES_SHEET", "NoteItem", "note_items", "read_notes_grid", "write_notes_sheet"]

NOTES_SHEET = "说明事项"
_KEY_RE = re.compile(r"^[a-z_]+(\.[A-Za-z0-9_]+)*$")


@dataclass(frozen=True)
class NoteItem:
    key: str
    label: str
    kind: str = "text"        # amount | count | percent | text
    section: str = ""
    optional: bool = False    # the narrative leaves its sentence out when it is empty (no marker)
    default: str | None = None


def note_items(set_id: str, report=None) -> list[NoteItem]:
    """The 说明事项 items of a set. An item with ``each:`` (gpb_classes, gpb_items, econ_classes) is
    repeated for every 科目 of that kind the report has, with {code} and {name} filled in."""
    stamp, doc = _doc(set_id)
    if doc is None:
        return []
    kinds = {it.get("each") for section in doc.get("sections", []) for it in section.get("items", []) if it.get("each")}
    subj = {each: tuple(_subjects(each, report)) for each in sorted(kinds)}
    variant = getattr(report, "variant", None) or ""
    key = (stamp, variant, tuple(subj.items()))
    hit = _ITEMS.get(key)
    if hit is not None:
        return list(hit)
    items = []
    for section in doc.get("sections", []):
        for it in section.get("items", []):
            each = it.get("each")
            subjects = subj[each] if each else [("", "")]
            default = (it.get("variant_defaults") or {}).get(variant, it.get("default"))
            for code, name in subjects:
                items.append(NoteItem(key=str(it["key"]).format(code=code), label=str(it["label"]).format(
                    code=code, name=name), kind=str(it.get("kind", "text")), section=str(section.get("title", "")),
                    optional=bool(it.get("optional", False)),
                    default=None if default is None else str(default)))
    if len(_ITEMS) > 256:
        _ITEMS.clear()
    _ITEMS[key] = tuple(items)
    return items


def _doc(set_id: str):
    """(file version, parsed notes.yaml) of a set; (None, None) when the set has none."""
    import yaml

    from xltools.spec import templates_dir

    path = templates_dir() / set_id / "notes.yaml"
    try:
        st = path.stat()
    except OSError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return None, None
    stamp = (str(path), st.st_mtime_ns)
    doc = _DOCS.get(stamp)
    if doc is None:
        doc = _DOCS[stamp] = yaml.load(path.read_text(encoding="utf-8"),
                                       Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    return stamp, doc


_DOCS: dict = {}     # notes.yaml parsed once per file version
_ITEMS: dict = {}    # expanded items per (file version, the 科目 they repeat over)


def _subjects(each: str, report) -> list[tuple[str, str]]:
    """(code, name) of the 科目 an ``each:`` item repeats over."""
    if report is None:
        return []
    cat, codes = _subject_codes(each, report)
    key = (each, id(cat), codes)
    hit = _NAMES.get(key)
    if hit is None or hit[0] is not cat:     # names looked up once per catalog and set of codes
        if len(_NAMES) > 1024:
            _NAMES.clear()
        hit = _NAMES[key] = (cat, [(c, cat.name(c) or c) for c in codes])
    return list(hit[1])


_NAMES: dict = {}


def _subject_codes(each: str, report) -> tuple[object, tuple[str, ...]]:
    """The catalog that names the 科目 of an ``each:`` item, and their codes in order."""
    from xltools import catalog

    year = report.year
    notes = report.notes or {}
    if each in ("gpb_classes", "gpb_items"):
        n = 3 if each == "gpb_classes" else 7
        f05 = report.tables.get("F05")
        codes = set()
        if f05:
            codes = {k[:n] for k, r in f05.rows.items() if r.kind == "detail" and len(k) == 7}
        # classes with a 年初预算 but no spending (typed into 说明事项 by hand) stay listed
        codes |= {k.split(".")[2] for k in notes if k.startswith("budget.gpb.") and len(k.split(".")[2]) == n}
        return catalog.functional(year), tuple(sorted(codes))
    if each == "econ_classes":
        f06 = report.tables.get("F06") or report.tables.get("F06S") or report.tables.get("F06X")
        codes = set()
        if f06:
            codes = {k[:3] for k, r in f06.rows.items() if k[:3].isdigit()
                     and any(v.amount for v in r.values.values())}     # (an empty cell's amount is None: no value)
        return catalog.economic(year), tuple(sorted(codes))
    if each == "project_items":      # 部门预算 表二: the 项 with 项目支出
        b02 = report.tables.get("B02")
        codes = sorted(k for k, r in (b02.rows.items() if b02 else ()) if r.kind == "detail" and len(k) == 7
                       and r.values.get("project") is not None and r.values["project"].value)
        return catalog.functional(year), tuple(codes)
    raise ValueError(f"notes.yaml: 未知的 each: {each}")


def read_notes_grid(grid: list[list], sheet: str = NOTES_SHEET) -> dict:
    """Rows [key, label, value] → {key: Decimal | str}. Empty values are left out.

    The result also holds ``"_cells"``: key → the cell of its value ("说明事项!C5"), for every row
    (filled or not), so findings about 说明事项 can point at the cell to type in."""
    from xltools.build.layout import a1

    out: dict = {}
    cells: dict = {}
    out["_cells"] = cells
    for r, row in enumerate(grid):
        if r == 0:
            continue
        if len(row) < 3 or not row[0]:
            continue
        key = str(row[0]).strip()
        if not _KEY_RE.match(key):          # a section title row, or something a user typed
            continue
        cells[key] = f"{sheet}!{a1(r, 2)}"
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
    items = note_items(tset.id, report)
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
        if val is None and it.default is not None:
            val = it.default
        style = fm.get(border=1, locked=False, bg_color="#FFF2CC", text_wrap=True,
                       num_format="#,##0.00" if it.kind == "amount" else ("0.00%" if it.kind == "percent" else "General"))
        if isinstance(val, str) and it.kind in ("amount", "count"):
            num, problem = parse_amount(val)
            if num is not None and problem in (None, "text") and "元" not in val:
                val = num                  # a default such as "0": a number, not text
        if val is None:
            ws.write_blank(r, 2, None, style)
        elif isinstance(val, (int, float, Decimal)) and not isinstance(val, bool):
            ws.write_number(r, 2, float(val), style)
        else:
            ws.write_string(r, 2, str(val), style)
        r += 1
    ws.freeze_panes(1, 0)
    # print: A4 landscape, one page wide (label and content side by side), the header row on every page
    ws.set_landscape()
    ws.set_paper(9)
    ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    ws.repeat_rows(0, 0)
    ws.fit_to_pages(1, 0)
    ws.set_footer("&C说明事项 第 &P 页，共 &N 页")
    ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True,
                    "insert_rows": False, "select_locked_cells": True, "select_unlocked_cells": True})


def extra_sheets() -> list:
    """The builder's ``extra_sheets`` hooks every generated workbook gets (the 说明事项 sheet)."""
    return [write_notes_sheet]
