"""The 审核 sheet of a workbook that already exists, compiled again over the rows its sheets hold now.

`xltools rows add` (and the add-in's 插入科目行) insert 科目 rows into a detail block. Every block formula
counts them, but the 审核 sheet was compiled when the workbook was made: a new row has no identity rows of
its own (its 合计 = 基本支出 + 项目支出, the 类/款 subtotals of a new 类 …). ``refresh_audit`` compiles the
sheet again — the same ``Audit`` the builder uses, over a layout read from the sheets as they are now
(each detail block as its SUMPRODUCT formulas cover it, every 科目 row where it stands) — and puts it in
place of the old one in the openpyxl workbook, with the 封面 summary cells and the cached values of every
new formula. Nothing a user typed is on these sheets (the 审核 sheet is ours, the 封面 cells are formulas).
"""
from __future__ import annotations

import copy
import io
import re
from decimal import Decimal

from xltools.build.audit import AUDIT_SHEET, Audit
from xltools.build.cover import COVER_SHEET
from xltools.build.formulas import Derivation
from xltools.build.layout import TableLayout, a1, col_letter, layout_table
from xltools.model import Report, RowData, TableData, Value

__all__ = ["sheet_block", "sheet_layouts", "refresh_audit", "AuditError"]


class AuditError(Exception):
    """The 审核 sheet cannot be compiled again (Chinese message)."""


_A1_ROW = re.compile(r"!\$?[A-Z]+\$?(\d+)$")


def sumproduct_span(ws, code_col: int) -> tuple[int, int] | None:
    """1-based first and last sheet row that the sheet's SUMPRODUCT formulas cover in the 0-based column
    ``code_col`` (the panel's 科目编码 column); None when no such formula exists."""
    code = col_letter(code_col)
    pat = re.compile(rf"(?<![!A-Za-z])\${code}\$(\d+):\${code}\$(\d+)")
    lo = hi = None
    for row in ws.iter_rows():
        for cell in row:
            v = cell.value
            if isinstance(v, str) and v.startswith("=") and "SUMPRODUCT" in v:
                for m in pat.finditer(v):
                    a, b = int(m.group(1)), int(m.group(2))
                    lo = a if lo is None else min(lo, a)
                    hi = b if hi is None else max(hi, b)
    return None if lo is None else (lo, hi)


def sheet_block(ws, pl, stop: frozenset = frozenset()) -> tuple[int, int] | None:
    """1-based first and last sheet row of a detail panel's block: the rows the sheet's SUMPRODUCT
    formulas cover in the panel's 科目编码 column, and a 类 row just above them (its subtotal sums the
    rows below it); ``stop``: 1-based rows that are not in the block (the 合计 row, which may show the
    unit's code). None when the sheet has no such formula."""
    span = sumproduct_span(ws, pl.code_col)
    if span is None:
        return None
    lo, hi = span
    # a 类 row at the top of the block is inside it, though its own subtotal range starts below it
    while lo > 1 and lo - 1 not in stop and _code_text(ws.cell(lo - 1, pl.code_col + 1).value).isdigit():
        lo -= 1
    return lo, hi


def _code_text(v) -> str:
    if v is None:
        return ""
    s = str(v).strip()
    if s.endswith(".0"):
        s = s[:-2]
    return s


def _source_row(source: str) -> int | None:
    """0-based sheet row of a reader source such as 'Sheet!A8'."""
    m = _A1_ROW.search(source or "")
    return int(m.group(1)) - 1 if m else None


def _number(cell, cached: dict) -> Decimal | None:
    v = cell.value
    if isinstance(v, str) and v.startswith("="):
        got = cached.get((cell.row, cell.column))
        v = got[1] if got and got[0] in (None, "n") else None
    if v is None or v == "" or isinstance(v, bool):
        return None
    try:
        return Decimal(str(v))
    except Exception:
        return None


def sheet_layouts(wb, report: Report, tset, variant, cached: dict) -> tuple[dict[str, TableLayout], Report]:
    """The layout of every table as its sheet stands in ``wb`` now, and the report to compile over it:
    ``report``'s rows (by key) plus every empty input row of each detail block as a spare row."""
    layouts: dict[str, TableLayout] = {}
    work = copy.copy(report)
    work.tables = {}
    for t in tset.tables_for(variant):
        td = report.tables.get(t.id)
        if td is None:
            continue
        sheet = td.sheet or t.sheet_name()
        if sheet not in wb.sheetnames:
            continue
        ws = wb[sheet]
        lay = layout_table(t, None, variant, spare=0)
        lay.sheet = sheet
        out = TableData(t.id, rows={}, duplicates=td.duplicates, sheet=sheet, note=td.note,
                        note_source=td.note_source)
        known = {k: r for k, r in td.rows.items() if not k.startswith("#")}
        at = {k: _source_row(r.source) for k, r in known.items()}
        for pl in lay.panels:
            if not pl.panel.is_detail:
                for k in list(pl.rows):
                    if at.get(k) is not None and k in known and known[k].panel == pl.panel.id:
                        pl.rows[k] = at[k]
                continue
            pl.rows.clear()
            block = sheet_block(ws, pl, frozenset(r + 1 for k, r in at.items()
                                                  if r is not None and known[k].kind in ("total", "footer")))
            if block is None:
                raise AuditError(f"“{sheet}”中找不到明细块的合计公式（SUMPRODUCT），无法重新生成“{AUDIT_SHEET}”页")
            lo, hi = block
            pl.block, pl.spare = (lo - 1, hi - 1), []
            n = 0
            for r in range(lo, hi + 1):
                code = _code_text(ws.cell(r, pl.code_col + 1).value)
                if code.isdigit() and code in known and code not in pl.rows:
                    pl.rows[code] = r - 1
                    continue
                if code:             # not a 科目 (a bad code): the checker reports it; no identity row
                    continue
                n += 1
                key = f"#{pl.panel.id}{n}"
                pl.rows[key] = r - 1
                pl.spare.append(r - 1)
                vals = {}
                for ckey, c in pl.value_cols.items():
                    amount = _number(ws.cell(r, c + 1), cached.get(sheet, {}))
                    if amount is not None:
                        vals[ckey] = Value(amount, source=f"{sheet}!{a1(r - 1, c)}")
                out.rows[key] = RowData(key, "", pl.panel.id, vals, source="", kind="spare")
            # the 合计 row and the footers stand where the reader found them
            has_total_row = not any(p.footer for p in t.panels)
            for k in ("total",) * has_total_row + tuple(f.key for f in pl.panel.footer):
                if at.get(k) is not None:
                    pl.rows[k] = at[k]
                elif k == "total":
                    position = variant.total_position_of(t.id) if hasattr(variant, "total_position_of") \
                        else variant.total_position
                    pl.rows[k] = lo - 2 if position == "top" else hi
        # rows in sheet order first (the order the builder compiles them in), then spare rows
        ordered = sorted(((r, k) for pl in lay.panels for k, r in pl.rows.items()
                          if k in known), key=lambda x: x[0])
        rows = {k: known[k] for _, k in ordered}
        for k, row in known.items():
            rows.setdefault(k, row)
        spare = out.rows
        out.rows = {**rows, **spare}
        lay.data_last = max([lay.data_last] + [r for pl in lay.panels for r in pl.rows.values()])
        lay.note_row = lay.data_last + 1
        layouts[t.id] = lay
        work.tables[t.id] = out
    return layouts, work


def refresh_audit(wb, report: Report, cached: dict) -> int | None:
    """Compile the 审核 sheet again over the rows ``wb``'s sheets hold now and put it in place of the old
    one, with the 封面 summary cells; ``cached`` (sheet → (row, col) → (t, text), as
    :func:`xltools.rewrite.raw_formula_values` gives it) takes the new formulas' cached values.
    Returns the number of identity rows, or None when the workbook has no 审核 sheet (made before it)."""
    import openpyxl
    import xlsxwriter

    from xltools.build.writer import _Formats
    from xltools.safeio import XLSX_OPTIONS
    from xltools.spec import load_set

    if AUDIT_SHEET not in wb.sheetnames:
        return None
    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    layouts, work = sheet_layouts(wb, report, tset, variant, cached)
    deriv = _AsRead(tset, variant, work, layouts)
    audit = Audit(deriv, report.amount_unit)
    # the sheet as the builder writes it, in a workbook of its own, then copied over
    buf = io.BytesIO()
    xw = xlsxwriter.Workbook(buf, {**XLSX_OPTIONS, "in_memory": True})
    audit.write_sheet(xw, _Formats(xw, report.amount_unit), tset)
    xw.close()
    buf.seek(0)
    src = openpyxl.load_workbook(buf)[AUDIT_SHEET]
    index = wb.sheetnames.index(AUDIT_SHEET)
    old = wb[AUDIT_SHEET]
    state = old.sheet_state
    wb.remove(old)
    dst = wb.create_sheet(AUDIT_SHEET, index)
    dst.sheet_state = state
    _copy_sheet(src, dst)
    # cached values: the 审核 sheet's and the 封面 summary cells'
    values = audit.values()
    sheet_cache = cached.setdefault(AUDIT_SHEET, {})
    sheet_cache.clear()
    for (sheet, ref), v in values.items():
        m = re.match(r"([A-Z]+)(\d+)$", ref)
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        cached.setdefault(sheet, {})[(int(m.group(2)), col)] = _raw(v)
    if COVER_SHEET in wb.sheetnames:
        cover = wb[COVER_SHEET]
        for (sheet, ref), f in audit.formulas().items():
            if sheet == COVER_SHEET and isinstance(cover[ref].value, str) and cover[ref].value.startswith("="):
                cover[ref].value = f
    return len(audit.rows)


class _AsRead(Derivation):
    """Values as the workbook shows them: a derived cell holding its formula is worth its cached value,
    one typed over (no formula) what was typed (an empty cell: 0) — what the 审核 formulas will see."""

    def value(self, cell):
        if cell in self._memo:
            return self._memo[cell]
        td = self.report.tables.get(cell[0])
        v = td.get(cell[1], cell[2]) if td else None
        if cell in self.derived and v is not None and v.formula is False:
            self.overrides.add(cell)
            self._memo[cell] = v.amount if v.amount is not None else Decimal(0)
            return self._memo[cell]
        result = super().value(cell)
        if cell in self.derived and v is not None and v.formula:
            self.overrides.discard(cell)
        return result


def _raw(v) -> tuple[str | None, str]:
    if isinstance(v, str):
        return ("str", v)
    if isinstance(v, Decimal):
        return (None, format(v.normalize(), "f") if v != 0 else "0")
    return (None, str(v))


def _copy_sheet(src, dst) -> None:
    """Cells (values, styles, links), merges, sizes, conditional formats, filters and print set-up."""
    from openpyxl.worksheet.hyperlink import Hyperlink

    styles: dict[tuple, object] = {}      # the source's style → the same style in the target workbook
    for row in src.iter_rows():
        for cell in row:
            d = dst.cell(cell.row, cell.column)
            d.value = cell.value
            if cell.data_type == "s":
                d.data_type = "s"
            if cell.has_style:
                key = tuple(cell._style)
                done = styles.get(key)
                if done is not None:
                    d._style = copy.copy(done)
                else:
                    d.font = copy.copy(cell.font)
                    d.fill = copy.copy(cell.fill)
                    d.border = copy.copy(cell.border)
                    d.alignment = copy.copy(cell.alignment)
                    d.number_format = cell.number_format
                    d.protection = copy.copy(cell.protection)
                    styles[key] = copy.copy(d._style)
            if cell.hyperlink is not None:
                h = cell.hyperlink
                d.hyperlink = Hyperlink(ref=d.coordinate, location=h.location, display=h.display,
                                        tooltip=h.tooltip, target=h.target)
    for rng in src.merged_cells.ranges:
        dst.merge_cells(str(rng))
    for k, dim in src.row_dimensions.items():
        if dim.ht is not None or dim.hidden:
            dst.row_dimensions[k].height = dim.ht
            dst.row_dimensions[k].hidden = dim.hidden
    for k, dim in src.column_dimensions.items():
        d = dst.column_dimensions[k]
        d.width, d.hidden, d.min, d.max = dim.width, dim.hidden, dim.min, dim.max
    for cf in src.conditional_formatting:
        for rule in cf.rules:
            dst.conditional_formatting.add(str(cf.sqref), copy.copy(rule))
    dst.freeze_panes = src.freeze_panes
    dst.auto_filter.ref = src.auto_filter.ref
    dst.page_setup = copy.copy(src.page_setup)
    dst.page_margins = copy.copy(src.page_margins)
    dst.print_options = copy.copy(src.print_options)
    dst.sheet_properties.pageSetUpPr = copy.copy(src.sheet_properties.pageSetUpPr)
    dst.oddFooter.center.text = src.oddFooter.center.text
    if src.print_title_rows:
        dst.print_title_rows = src.print_title_rows
    if src.print_area:
        dst.print_area = [p.split("!")[-1].replace("$", "") for p in str(src.print_area).split(",")] \
            if isinstance(src.print_area, str) else src.print_area
    dst.protection = copy.copy(src.protection)
    dst.sheet_view.zoomScale = src.sheet_view.zoomScale
