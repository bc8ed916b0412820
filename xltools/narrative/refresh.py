"""`xltools notes refresh`: keep the 说明事项 sheet in step with the rows of the tables.

Items that repeat per 科目 (每个类的年初预算数, 每个经济分类类的上年决算数 …) exist only for the 科目 a
workbook had when it was generated; a user who fills in a blank workbook (`xltools new`) or adds rows
later has no cell for them. ``refresh_notes`` reads the workbook, works out every item the set declares
for the rows now present, and rewrites the 说明事项 sheet in the declared order: rows already there keep
their content exactly (number or text, as typed), missing items get an empty input cell, and rows the
declaration no longer asks for (a 科目 removed since) stay where they were, so nothing typed is lost.
The write is atomic and the original is kept as 文件.bak.xlsx.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from xltools.narrative.inputs import _KEY_RE, NOTES_SHEET, NoteItem, note_items

__all__ = ["refresh_notes", "refresh_sheet", "missing_note_items", "read_written", "RefreshResult"]


@dataclass
class RefreshResult:
    path: Path
    added: list[NoteItem] = field(default_factory=list)
    kept: int = 0                 # rows with content, all kept
    written: bool = False


def missing_note_items(report) -> list[NoteItem]:
    """Items the set declares for ``report``'s rows that have no row in its 说明事项 sheet."""
    cells = (report.notes or {}).get("_cells", {})
    return [it for it in note_items(report.set_id, report) if it.key not in cells]


@dataclass
class _Row:
    kind: str                      # section | item | other
    key: str = ""
    cells: list = field(default_factory=list)   # openpyxl cells of the old row (values and styles copied)
    section: str = ""


def refresh_notes(path: str | Path, *, keep_original: bool = True, report=None) -> RefreshResult:
    """Add the missing 说明事项 rows of the workbook at ``path``; returns what was added. Raises
    :class:`xltools.safeio.WriteError` (the file left as it was) when the write cannot be proven
    to keep every value."""
    from xltools import rewrite
    from xltools.read.workbook import read_workbook
    from xltools.safeio import stamp

    path = Path(path)
    started = stamp(path)
    report = report if report is not None else read_workbook(path)
    res = RefreshResult(path)
    items = note_items(report.set_id, report)
    missing = missing_note_items(report)
    if not items or not missing:
        return res
    wb = rewrite.load(path)
    if NOTES_SHEET not in wb.sheetnames:
        raise ValueError(f"{path.name} 没有“{NOTES_SHEET}”页；请用 xltools new 或 generate 生成的工作簿")
    res.added, res.kept = refresh_sheet(wb[NOTES_SHEET], items)
    before = {k: v for k, v in (report.notes or {}).items() if k != "_cells"}

    def same_notes(written: Path) -> str | None:
        after = read_written(written).notes or {}
        for k, v in before.items():
            if after.get(k) != v:
                return f"说明事项 {k} 原为 {v!r}，写回后为 {after.get(k)!r}"
        return None

    rewrite.save(wb, path, replaced={NOTES_SHEET}, keep_original=keep_original, expect=started,
                 verify=same_notes)
    res.written = True
    return res


def read_written(written: Path):
    """The Report of a workbook being written (its temporary file has no .xlsx suffix)."""
    import shutil
    import tempfile

    from xltools.read.workbook import read_workbook

    with tempfile.TemporaryDirectory(prefix="xltools-proof-") as d:
        copy_ = Path(d) / "written.xlsx"
        shutil.copyfile(written, copy_)
        return read_workbook(copy_)


def refresh_sheet(ws, items: list[NoteItem]) -> tuple[list[NoteItem], int]:
    """Rewrite the 说明事项 sheet ``ws`` (openpyxl) in the order of ``items``: rows there keep their
    content, missing items get a row. Returns (items added, rows with content kept)."""
    added: list[NoteItem] = []
    kept = 0
    width = 3
    merged_rows = {rng.min_row for rng in ws.merged_cells.ranges}
    old: list[_Row] = []
    section = ""
    for r in range(2, ws.max_row + 1):
        cells = [ws.cell(r, c) for c in range(1, width + 1)]
        first = cells[0].value
        if r in merged_rows and first is not None and not _KEY_RE.match(str(first).strip()):
            section = str(first).strip()
            old.append(_Row("section", cells=cells, section=section))
        elif first is not None and _KEY_RE.match(str(first).strip()):
            old.append(_Row("item", key=str(first).strip(), cells=cells, section=section))
        elif any(c.value not in (None, "") for c in cells):
            old.append(_Row("other", cells=cells, section=section))      # something a user typed: kept
        else:
            old.append(_Row("other", cells=cells, section=section))      # blank line
    snapshot = {id(row): [(c.value, copy.copy(c._style), c.number_format, c.hyperlink, c.comment, c.data_type)
                          for c in row.cells] for row in old}
    by_key = {row.key: row for row in old if row.kind == "item"}
    sections_old = {row.section: row for row in old if row.kind == "section"}
    label_proto = next((row for row in old if row.kind == "item"), None)
    section_proto = next(iter(sections_old.values()), None)
    value_proto = {}
    for it in items:
        row = by_key.get(it.key)
        if row is not None:
            value_proto.setdefault(it.kind, row)

    # the new order: the declaration's sections and items; rows the declaration does not know stay
    # after the items of the section they stood in
    plan: list[tuple[str, object]] = []            # ("row", _Row) | ("new", NoteItem) | ("section", title)
    declared_sections = []
    for it in items:
        if it.section not in declared_sections:
            declared_sections.append(it.section)
    used = set()
    for title in declared_sections:
        plan.append(("section", title))
        for it in (i for i in items if i.section == title):
            row = by_key.get(it.key)
            if row is not None:
                plan.append(("row", row))
                used.add(id(row))
            else:
                plan.append(("new", it))
        for row in old:
            if row.kind != "section" and id(row) not in used and row.section == title and _has_content(row):
                plan.append(("row", row))
                used.add(id(row))
    leftovers = [row for row in old if row.kind != "section" and id(row) not in used and _has_content(row)]
    if leftovers:
        plan.append(("section", "其他（表中已没有对应科目的事项，内容保留）"))
        plan.extend(("row", row) for row in leftovers)

    # clear the old rows, then write the plan
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= 2:
            ws.unmerge_cells(str(rng))
    last = ws.max_row
    for r in range(2, last + 1):
        for c in range(1, width + 1):
            cell = ws.cell(r, c)
            cell.value = None
            cell.hyperlink = None
            cell.comment = None
    r = 2
    for what, obj in plan:
        if what == "section":
            src = sections_old.get(obj) or section_proto
            _put(ws, r, snapshot[id(src)] if src is not None else None, [obj, None, None])
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
        elif what == "row":
            _put(ws, r, snapshot[id(obj)])
            if obj.kind == "item":
                kept += snapshot[id(obj)][2][0] not in (None, "")
        else:
            it: NoteItem = obj
            proto = value_proto.get(it.kind) or label_proto
            styles = snapshot[id(proto)] if proto is not None else None
            value = it.default
            if value is not None and it.kind in ("amount", "count"):
                try:
                    value = float(value) if "." in value else int(value)
                except ValueError:
                    pass
            _put(ws, r, styles, [it.key, it.label, value])
            cell = ws.cell(r, 3)
            cell.number_format = ("#,##0.00" if it.kind == "amount" else "0.00%" if it.kind == "percent"
                                  else "General")
            added.append(it)
        r += 1
    # the proof: every value the sheet held is still there, under the same key (or, for text a user
    # typed outside the items, as often as before)
    was = sorted((repr(row.key), repr(snapshot[id(row)][2][0])) for row in old if row.kind == "item")
    was_other = sorted(repr(v[0]) for row in old if row.kind == "other" for v in snapshot[id(row)] if v[0] not in (None, ""))
    now, now_other = [], []
    for rr in range(2, ws.max_row + 1):
        key = ws.cell(rr, 1).value
        if key is not None and _KEY_RE.match(str(key).strip()) and str(key).strip() in by_key:
            now.append((repr(str(key).strip()), repr(ws.cell(rr, 3).value)))
        elif not (rr in {m.min_row for m in ws.merged_cells.ranges}):
            now_other.extend(repr(ws.cell(rr, c).value) for c in range(1, width + 1)
                             if ws.cell(rr, c).value not in (None, "") and not (
                                 ws.cell(rr, 1).value and _KEY_RE.match(str(ws.cell(rr, 1).value).strip())))
    if sorted(now) != was or sorted(now_other) != was_other:
        raise ValueError("说明事项页重排后与原内容不一致，未改写")
    return added, kept


def _has_content(row: _Row) -> bool:
    return row.kind == "item" or any(c.value not in (None, "") for c in row.cells)


def _put(ws, r: int, styles, values=None) -> None:
    """Write one row: the values (or the snapshot's own, with their type: a formula stays a formula,
    text stays text) with the snapshot's styles."""
    for c in range(3):
        cell = ws.cell(r, c + 1)
        value, link, comment, dtype = None, None, None, None
        if styles is not None:
            value, style, fmt, link, comment, dtype = styles[c]
            cell._style = copy.copy(style)
            cell.number_format = fmt
        if values is not None:
            cell.value = values[c]
            if isinstance(cell.value, str):
                cell.data_type = "s"      # our labels and defaults are text, never formulas
        else:
            cell.value = value
            if dtype is not None:
                cell.data_type = dtype
            if link is not None:
                cell.hyperlink = copy.copy(link)
            if comment is not None:
                cell.comment = copy.copy(comment)
