"""Report → .xlsx with live formulas (with cached values), the official look, locked totals,
obvious input cells, code validation and print setup."""
from __future__ import annotations

import re
import copy
import functools
import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xltools.build.audit import AUDIT_SHEET, Audit
from xltools.build.cover import COVER_SHEET, cover_ref, write_cover, year_formula
from xltools.build.formulas import Derivation, excel_number as _num
from xltools.build.layout import SPARE_ROWS, TableLayout, a1, grouped_spare_rows, layout_table
from xltools.model import Report, RowData, TableData
from xltools.spec import TableSet, Variant, load_set
from xltools.safeio import XLSX_OPTIONS
from xltools.util import atomic_path

__all__ = ["build_workbook", "BuildResult", "META_SHEET", "CATALOG_SHEET", "SUPPLEMENT_SHEET", "empty_report"]

META_SHEET = "_xltools"
CATALOG_SHEET = "科目目录"
SUPPLEMENT_SHEET = "科目补充"     # codes a user adds inside the workbook (科目编码, 级次, 科目名称)
FONT = "宋体"
TITLE_FONT = "黑体"
INPUT_FILL = "#FFF2CC"      # light yellow: type here
FORMULA_FILL = "#EDEDED"    # light grey: computed, locked
HEADER_FILL = "#DDEBF7"
GENERATOR = "xltools"


@dataclass
class BuildResult:
    path: Path
    formulas: int = 0
    overrides: list[str] = field(default_factory=list)   # derived cells written as constants (data said so)
    sheets: list[str] = field(default_factory=list)
    audit_rows: int = 0          # rows (concrete identities) on the 审核 sheet


class _Formats:
    def __init__(self, wb, unit: str):
        self.wb = wb
        self._cache: dict = {}
        self.money = "#,##0.00"

    def get(self, **kw):
        key = tuple(sorted(kw.items()))
        f = self._cache.get(key)
        if f is None:
            props = {"font_name": FONT, "font_size": 10, "valign": "vcenter"}
            props.update(kw)
            f = self.wb.add_format(props)
            self._cache[key] = f
        return f

    # named styles
    def title(self):
        return self.get(font_name=TITLE_FONT, font_size=16, bold=True, align="center")

    def plain(self, align="left"):
        return self.get(align=align)

    def header(self):
        return self.get(bold=True, align="center", text_wrap=True, border=1, bg_color=HEADER_FILL)

    def label(self, style="normal"):
        return self.get(border=1, text_wrap=True, bold=style == "total",
                        align="center" if style == "total" else "left", indent=0)

    def lineno(self):
        return self.get(border=1, align="center")

    def value(self, derived: bool, count: bool = False, bold: bool = False, percent: bool = False):
        return self.get(border=1, num_format="#,##0" if count else ("0.00" if percent else self.money), locked=derived,
                        bg_color=FORMULA_FILL if derived else INPUT_FILL, bold=bold)

    def code(self):
        return self.get(border=1, num_format="@", locked=False, bg_color=INPUT_FILL, align="left")

    def name(self):
        return self.get(border=1, locked=False, text_wrap=True, align="left")

    def blank(self):
        return self.get(border=1)


def empty_report(set_id: str, variant: str | None, unit: str, year: int | None, amount_unit: str | None = None) -> Report:
    """A report with no numbers: what `xltools new` lays out. 经济分类 panels list every 款 of their 类."""
    from xltools import catalog

    tset = load_set(set_id)
    var = tset.variant(variant)
    rep = Report(set_id=tset.id, variant=var.id, unit=unit, year=year,
                 amount_unit=amount_unit or var.amount_unit)
    rep.table_units = {u.id: u.amount_unit for u in var.uses if u.amount_unit}
    econ = catalog.economic(year)
    for t in tset.tables_for(var):
        td = rep.table(t.id)
        for p in t.panels:
            if p.detail == "economic":
                for cls in p.classes:
                    subj = econ.get(cls)
                    if subj is None:
                        continue
                    td.rows[cls] = RowData(cls, subj.name, p.id, kind="class")
                    for child in econ.children(cls):
                        td.rows[child.code] = RowData(child.code, child.name, p.id, kind="detail")
    return rep


def tables_of(report: Report, tset: TableSet, variant: Variant) -> list:
    """The tables a workbook gets: every table of the variant, except that a transcription
    (`as_published`) gets only the tables the document prints — a table missing from the document
    gets no sheet (an empty sheet would read back as a table printed empty)."""
    tables = tset.tables_for(variant)
    if report.as_published and report.tables:
        tables = [t for t in tables if t.id in report.tables]
    return tables


def _with_hierarchy_and_spare(report: Report, tset: TableSet, variant: Variant, spare: int) -> Report:
    """A working copy: 类/款 subtotal rows added where the variant wants them, spare rows added."""
    from xltools import catalog

    rep = copy.copy(report)
    rep.tables = {}
    func = catalog.functional(report.year)
    for t in tables_of(report, tset, variant):
        src = report.tables.get(t.id) or TableData(t.id)
        td = TableData(t.id, rows=dict(src.rows), duplicates=src.duplicates, sheet=src.sheet, note=src.note,
                       note_source=src.note_source)
        if t.is_detail and t.detail_kind == "functional" and variant.hierarchy and not report.as_published:
            # a transcription keeps the subtotal rows it printed (a missing 类 row is a finding, not a fix)
            for key in list(td.rows):
                if len(key) == 7 and key.isdigit():
                    for pre in (key[:3], key[:5]):
                        if pre not in td.rows:
                            td.rows[pre] = RowData(pre, func.name(pre) or "", td.rows[key].panel, kind="class")
        if t.is_detail and not any(p.footer for p in t.panels) and "total" not in td.rows:
            td.rows["total"] = RowData("total", "合计", t.panels[0].id, kind="total")
        if t.is_detail:
            for p in t.panels:
                if p.is_detail:
                    for i in range(1, spare + 1):
                        k = f"#{p.id}{i}"
                        td.rows[k] = RowData(k, "", p.id, kind="spare")
        rep.tables[t.id] = td
    return rep


def build_workbook(report: Report, out: str | Path, *, spare: int = SPARE_ROWS, keep_original: bool = True,
                   extra_sheets=None) -> BuildResult:
    """Write ``report`` as a workbook at ``out`` (atomically; an existing file is kept as *.bak.xlsx)."""
    import xlsxwriter

    from xltools import catalog

    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    work = _with_hierarchy_and_spare(report, tset, variant, spare)
    tables = tables_of(report, tset, variant)
    layouts = {t.id: layout_table(t, work.tables.get(t.id), variant, spare=0, keep_order=report.as_published)
               for t in tables}
    deriv = Derivation(tset, variant, work, layouts)
    out = Path(out)
    result = BuildResult(path=out)
    func_cat = catalog.with_supplement(catalog.functional(report.year), report.supplement)
    econ_cat = catalog.with_supplement(catalog.economic(report.year), report.supplement)
    with atomic_path(out, keep_original=keep_original) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {**XLSX_OPTIONS, "in_memory": True})   # text is never a formula
        wb.worksheet_class = _worksheet_class()
        wb.set_properties({"title": f"{report.unit}{report.year or ''}年度部门{tset.kind_label}公开表",
                           "author": GENERATOR, "comments": f"{tset.id}/{variant.id}",
                           "created": _dt.datetime(2000, 1, 1)})
        fm = _Formats(wb, report.amount_unit)
        cat_ranges = _catalog_sheet_ranges(func_cat, econ_cat)
        audit = Audit(deriv, report.amount_unit)
        write_cover(wb, fm, report, tset, variant, audit)
        result.sheets.append(COVER_SHEET)
        for t in tables:
            lay = layouts[t.id]
            ws = wb.add_worksheet(lay.sheet)
            result.sheets.append(lay.sheet)
            _write_table(ws, fm, t, lay, work.tables.get(t.id), deriv, report, variant, cat_ranges,
                         func_cat if t.detail_kind == "functional" else econ_cat, result)
        from xltools.perf import blocks_of, write_sheets as write_block_sheets
        if blocks_of(report):   # 绩效目标表/自评表 (block-structured) of the budget and performance sets
            result.formulas += write_block_sheets(wb, fm, report, tset, variant) or 0
        audit.write_sheet(wb, fm, tset)
        result.sheets.append(AUDIT_SHEET)
        result.audit_rows = len(audit.rows)
        for fn in extra_sheets or ():
            fn(wb, fm, report, tset, variant)
        _write_supplement_sheet(wb, fm, report)
        _write_catalog_sheet(wb, fm, func_cat, econ_cat)
        _write_meta_sheet(wb, report, tset, variant, layouts)
        wb.close()
    result.overrides = sorted(f"{layouts[t].sheet}!{a1(*layouts[t].cell(r, c))}" for t, r, c in deriv.overrides)
    return result


_PREPARED: dict = {}


@functools.lru_cache(maxsize=None)
def _worksheet_class():
    """XlsxWriter's Worksheet with formula preparation memoized. XlsxWriter runs ~30 regular expressions
    over every formula (and every validation formula) it is given; a workbook repeats a few hundred
    formulas, and the 科目编码 validation on every code row. The stored text is the same."""
    from xlsxwriter.worksheet import Worksheet

    class _Worksheet(Worksheet):
        def _prepare_formula(self, formula, expand_future_functions=False):
            key = (formula, expand_future_functions, self.use_future_functions)
            text = _PREPARED.get(key)
            if text is None:
                if len(_PREPARED) > 50000:
                    _PREPARED.clear()
                text = _PREPARED[key] = super()._prepare_formula(formula, expand_future_functions)
            return text

    return _Worksheet


def _catalog_sheet_ranges(func_cat, econ_cat) -> dict[str, str]:
    nf = len(func_cat.codes())
    ne = len(econ_cat.codes())
    return {"functional": f"='{CATALOG_SHEET}'!$A$2:$A${nf + 1}",
            "economic": f"='{CATALOG_SHEET}'!$A${nf + 2}:$A${nf + ne + 1}"}


def _write_supplement_sheet(wb, fm, report: Report):
    """科目补充: codes the catalog lacks, typed by the user; the 科目名称 look-up and the checker read it."""
    ws = wb.add_worksheet(SUPPLEMENT_SHEET)
    ws.write_row(0, 0, ["科目编码", "级次", "科目名称"], fm.header())
    ws.merge_range(0, 4, 0, 10, "目录中没有的科目（如当年新增、地方科目）在此补充：填写编码、级次（类/款/项）和名称后，"
                   "各表的科目名称自动带出，校验也按此认可。", fm.plain("left"))
    unlocked = fm.get(locked=False, num_format="@")
    for i, (code, level, name) in enumerate(report.supplement):
        ws.write_string(i + 1, 0, str(code), unlocked)
        ws.write_string(i + 1, 1, str(level), unlocked)
        ws.write_string(i + 1, 2, str(name), unlocked)
    # the columns are open for typing (a column format, so no empty cells are stored)
    ws.set_column(0, 0, 12, unlocked)
    ws.set_column(1, 1, 6, unlocked)
    ws.set_column(2, 2, 36, unlocked)
    ws.set_landscape()
    ws.set_paper(9)
    ws.repeat_rows(0)
    ws.fit_to_pages(1, 0)
    ws.set_footer(f"&C{SUPPLEMENT_SHEET} 第 &P 页，共 &N 页")
    ws.protect("", {"format_columns": True, "select_locked_cells": True, "select_unlocked_cells": True})


def _write_catalog_sheet(wb, fm, func_cat, econ_cat):
    ws = wb.add_worksheet(CATALOG_SHEET)
    ws.write_row(0, 0, ["科目编码", "科目名称", "级次", "分类"], fm.header())
    r = 1
    for kind, cat in (("支出功能分类", func_cat), ("支出经济分类", econ_cat)):
        for code in cat.codes():
            s = cat.get(code)
            ws.write_string(r, 0, code)
            ws.write_string(r, 1, s.name)
            ws.write_string(r, 2, s.level)
            ws.write_string(r, 3, kind)
            r += 1
    ws.set_column(0, 0, 12)
    ws.set_column(1, 1, 36)
    ws.hide()


def _write_meta_sheet(wb, report: Report, tset: TableSet, variant: Variant, layouts: dict[str, TableLayout]):
    from xltools import __version__

    ws = wb.add_worksheet(META_SHEET)
    rows = [("generator", GENERATOR), ("version", __version__), ("set", tset.id), ("variant", variant.id),
            ("unit", report.unit), ("year", str(report.year or "")), ("amount_unit", report.amount_unit)]
    if getattr(report, "unit_code", ""):
        rows.append(("unit_code", report.unit_code))
    if variant.spec:
        rows.append(("variant_spec", variant.spec))      # a user's variant travels with the workbook
    if report.not_published:
        rows.append(("not_published", ",".join(report.not_published)))
    if report.no_data:
        rows.append(("no_data", ",".join(report.no_data)))
    rows += [(f"table:{tid}", lay.sheet) for tid, lay in layouts.items()]
    for i, (k, v) in enumerate(rows):
        ws.write_string(i, 0, k)
        ws.write_string(i, 1, v)
    ws.very_hidden()




def _write_table(ws, fm: _Formats, t, lay: TableLayout, data: TableData | None, deriv: Derivation,
                 report: Report, variant: Variant, cat_ranges, cat, result: BuildResult):
    year = report.year
    last_col = lay.width - 1
    # ---- title block
    title = f"{year}年{t.title}" if t.title_year and year else t.title
    ws.merge_range(0, 0, 0, last_col, title, fm.title())
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last_col, t.number, fm.plain("right")) if last_col > 0 else ws.write(1, 0, t.number)
    half = max(0, last_col // 2)
    # the unit and the amount unit come from the cover by formula (cached: what the cover holds now); a table
    # a table in its own unit (上海's 万元 “三公” table in a 元 budget: the form's, or the variant's) states it
    own_unit = t.amount_unit or (report.table_units.get(t.id) if t.id in report.table_units else "")
    left = f"公开部门：{report.unit or ''}"
    right = f"金额单位：{own_unit or report.amount_unit}"
    left_f = f'="公开部门："&{cover_ref("unit")}'
    right_f = f'="{right}"' if own_unit else f'="金额单位："&{cover_ref("amount_unit")}'
    if half > 0:
        _merge_formula(ws, 2, 0, 2, half, left_f, left, fm.plain("left"))
        if last_col > half + 1:
            _merge_formula(ws, 2, half + 1, 2, last_col, right_f, right, fm.plain("right"))
        else:
            ws.write_formula(2, last_col, right_f, fm.plain("right"), right)
    else:
        ws.write_formula(2, 0, f'{left_f}&"  "&{right_f[1:]}', fm.plain(), left + "  " + right)
    # ---- headers
    _write_headers(ws, fm, lay, year)
    # ---- 栏次 row
    n = 1
    for pl in lay.panels:
        if pl.panel.is_detail:
            ws.merge_range(lay.colno_row, pl.code_col, lay.colno_row, pl.name_col, "栏次", fm.header())
        else:
            ws.write(lay.colno_row, pl.label_col, "栏次", fm.header())
            if pl.lineno_col is not None:
                ws.write(lay.colno_row, pl.lineno_col, "", fm.header())
        for col in pl.panel.columns:
            ws.write_number(lay.colno_row, pl.value_cols[col.key], n, fm.header())
            n += 1
    # ---- data rows
    rows_info = data.rows if data else {}
    for pl in lay.panels:
        p = pl.panel
        if p.is_detail:
            for key, r in pl.rows.items():
                row = rows_info.get(key)
                footer = next((f for f in p.footer if f.key == key), None)
                if key == "total" and footer is None and t.total_label == "unit":
                    # 预算表 as published: the 合计 row is the unit's own row (单位编码, 单位名称)
                    ws.write_string(r, pl.code_col, getattr(report, "unit_code", "") or "", fm.label("total"))
                    ws.write_string(r, pl.name_col, report.unit or "合计", fm.label("total"))
                    style = "total"
                elif key == "total" and footer is None:
                    ws.merge_range(r, pl.code_col, r, pl.name_col, "合计", fm.label("total"))
                    style = "total"
                elif footer is not None:
                    ws.merge_range(r, pl.code_col, r, pl.name_col, footer.label, fm.label("total"))
                    style = "total"
                else:
                    style = "class" if row is not None and row.kind == "class" else "normal"
                    _write_code_and_name(ws, fm, pl, r, key, row, cat, cat_ranges[p.detail], t)
                for col in p.columns:
                    _write_value(ws, fm, t.id, key, col.key, r, pl.value_cols[col.key], deriv, result,
                                 bold=style == "total", percent=col.percent)
            # footer cells of other panels on the footer row stay bordered
        else:
            for row in (*p.rows, *p.footer):
                if not row.key:
                    continue
                r = pl.rows[row.key]
                label = row.label.replace("{year}", str(year or ""))
                printed = data.rows.get(row.key) if data is not None and report.as_published else None
                num, own = _NUMBERED.match(printed.label or "") if printed is not None else None, _NUMBERED.match(label)
                if num and own and row.lineno is not None:
                    label = num.group(0) + label[own.end():]   # a transcription keeps its printed ordinals (L-01)
                ws.write_string(r, pl.label_col, label, fm.label(row.style))
                if pl.lineno_col is not None:
                    if row.lineno is not None:
                        ws.write_number(r, pl.lineno_col, row.lineno, fm.lineno())
                    else:
                        ws.write_blank(r, pl.lineno_col, None, fm.lineno())
                for col in p.columns:
                    _write_value(ws, fm, t.id, row.key, col.key, r, pl.value_cols[col.key], deriv, result,
                                 count=row.count, bold=row.style == "total", percent=col.percent)
            for r, row in pl.blank_rows:
                ws.write_blank(r, pl.label_col, None, fm.blank())
                if pl.lineno_col is not None:
                    ws.write_number(r, pl.lineno_col, row.lineno, fm.lineno()) if row.lineno else \
                        ws.write_blank(r, pl.lineno_col, None, fm.lineno())
                for col in p.columns:
                    ws.write_blank(r, pl.value_cols[col.key], None, fm.blank())
    # empty cells inside the grid (panels of unequal length) keep borders
    for pl in lay.panels:
        used = set(pl.rows.values()) | {r for r, _ in pl.blank_rows}
        for r in range(lay.data_first, lay.data_last + 1):
            if r not in used:
                for c in range(pl.col0, pl.col0 + pl.width):
                    ws.write_blank(r, c, None, fm.blank())
    # ---- spare rows past the first few: an outline group, collapsed (the + in the margin opens it)
    grouped = grouped_spare_rows(lay)
    for r in grouped:
        ws.set_row(r, None, None, {"level": 1, "hidden": True})
    after = {r + 1 for r in grouped} - set(grouped)
    note = data.note if data is not None and data.note else t.note     # a transcription's note as printed
    if t.id in report.not_published:
        note = f"说明：{report.unit or '本部门'}本年度未公开此表。" + ("\n" + note if note else "")
    elif t.id in report.no_data:
        note = (note + "\n" if note else "") + "说明：本表无数据。"
    for r in sorted(after):
        if r != lay.note_row or not note:
            ws.set_row(r, None, None, {"collapsed": True})
    # ---- note
    if note:
        ws.merge_range(lay.note_row, 0, lay.note_row, last_col, note, fm.get(text_wrap=True, font_size=9))
        ws.set_row(lay.note_row, 30, None, {"collapsed": True} if lay.note_row in after else {})
    # ---- look and print
    widths: dict[int, float] = {}
    for pl in lay.panels:
        if pl.panel.is_detail:
            widths[pl.code_col] = 11
            widths[pl.name_col] = 26 if len(lay.panels) > 1 else 30
        else:
            widths[pl.label_col] = 34 if len(pl.panel.columns) < 6 else 12
            if pl.lineno_col is not None:
                widths[pl.lineno_col] = 5
        for col in pl.panel.columns:
            widths[pl.value_cols[col.key]] = 15
    for c, w in sorted(widths.items()):
        ws.set_column(c, c, w)
    ws.freeze_panes(lay.data_first, 0)
    ws.set_landscape()
    ws.set_paper(9)
    ws.center_horizontally()
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.repeat_rows(0, lay.colno_row)
    ws.fit_to_pages(1, print_pages_tall(lay, widths, fixed=not t.is_detail))
    ws.set_footer(f"&C{t.number.replace('&', '&&')}  第 &P 页，共 &N 页")
    ws.protect("", {"insert_rows": True, "delete_rows": True, "format_cells": True, "format_columns": True,
                    "format_rows": True, "select_locked_cells": True, "select_unlocked_cells": True})


# A4 landscape with the table margins (0.4" left/right, 0.6" top/bottom), in points
_PAGE_W, _PAGE_H = 842 - 2 * 28.8, 595 - 2 * 43.2
_ROW_H = 13.5     # default row height of 宋体 10 pt


def _row_heights(lay: TableLayout) -> list[float]:
    h = [_ROW_H] * (lay.note_row + 1)
    h[0] = 30
    h[lay.header_first + lay.header_depth - 1] = 28
    if lay.table.note:
        h[lay.note_row] = 30
    return h


def print_pages_tall(lay: TableLayout, widths: dict[int, float], fixed: bool) -> int:
    """How many pages tall a table is fitted to (it is always 1 page wide).

    At the scale that fits the width, the rows are laid out on pages that repeat the title and header
    rows. A last page holding less than 40 % of a page (a few orphan rows) is folded into the pages
    before it by shrinking (fit to n − 1 pages); a fixed form that takes at most two pages goes on one.
    0 means "as many as needed" (no shrinking for the height)."""
    width_pt = sum(int(w * 7 + 5) * 0.75 for w in widths.values())
    scale = min(1.0, _PAGE_W / width_pt) if width_pt else 1.0
    heights = _row_heights(lay)
    room = _PAGE_H / scale
    repeat = sum(heights[:lay.colno_row + 1])
    pages, used = 1, 0.0
    for h in heights:
        if used + h > room:
            pages += 1
            used = repeat
        used += h
    last_share = (used - repeat) / (room - repeat) if pages > 1 else 1.0
    if fixed and pages <= 2:
        return 1
    if pages > 1 and last_share < 0.4:
        return pages - 1
    return 0


def _write_headers(ws, fm, lay: TableLayout, year):
    top = lay.header_first
    depth = lay.header_depth
    for pl in lay.panels:
        p = pl.panel
        r0 = top
        if p.header:
            if pl.width > 1:
                ws.merge_range(r0, pl.col0, r0, pl.col0 + pl.width - 1, p.header, fm.header())
            else:
                ws.write(r0, pl.col0, p.header, fm.header())
            r0 += 1
        d = top + depth - r0          # rows left for this panel's column headers
        if p.is_detail:
            if d >= 2:
                ws.merge_range(r0, pl.code_col, r0, pl.name_col, "项目", fm.header())
                _vmerge(ws, fm, r0 + 1, top + depth - 1, pl.code_col,
                        "功能分类科目编码" if p.detail == "functional" else "科目编码")
                _vmerge(ws, fm, r0 + 1, top + depth - 1, pl.name_col, "科目名称")
            else:
                ws.write(r0, pl.code_col, "科目编码", fm.header())
                ws.write(r0, pl.name_col, "科目名称", fm.header())
        else:
            _vmerge(ws, fm, r0, top + depth - 1, pl.label_col, p.item_header)
            if pl.lineno_col is not None:
                _vmerge(ws, fm, r0, top + depth - 1, pl.lineno_col, "行次")
        cols = p.columns
        labels = [c.label_text(year) for c in cols]
        raws = [c.label for c in cols]
        for level in range(d):
            i = 0
            while i < len(cols):
                lab = labels[i]
                if level >= len(lab):
                    i += 1
                    continue
                if level == len(lab) - 1:
                    _vmerge(ws, fm, r0 + level, r0 + d - 1, pl.value_cols[cols[i].key], lab[level],
                            year_formula(raws[i][level]))
                    i += 1
                    continue
                j = i
                while j + 1 < len(cols) and len(labels[j + 1]) > level + 1 and labels[j + 1][:level + 1] == lab[:level + 1]:
                    j += 1
                c0, c1 = pl.value_cols[cols[i].key], pl.value_cols[cols[j].key]
                yf = year_formula(raws[i][level])
                if c1 > c0:
                    if yf:
                        _merge_formula(ws, r0 + level, c0, r0 + level, c1, yf, lab[level], fm.header())
                    else:
                        ws.merge_range(r0 + level, c0, r0 + level, c1, lab[level], fm.header())
                elif yf:
                    ws.write_formula(r0 + level, c0, yf, fm.header(), lab[level])
                else:
                    ws.write(r0 + level, c0, lab[level], fm.header())
                i = j + 1
    ws.set_row(top + depth - 1, 28)


def _vmerge(ws, fm, r0, r1, c, text, formula=None):
    if formula:
        if r1 > r0:
            _merge_formula(ws, r0, c, r1, c, formula, text, fm.header())
        else:
            ws.write_formula(r0, c, formula, fm.header(), text)
    elif r1 > r0:
        ws.merge_range(r0, c, r1, c, text, fm.header())
    else:
        ws.write(r0, c, text, fm.header())


def _merge_formula(ws, r0, c0, r1, c1, formula, value, fmt):
    """A merged range holding a formula (XlsxWriter: merge, then write the formula into the first cell)."""
    ws.merge_range(r0, c0, r1, c1, "", fmt)
    ws.write_formula(r0, c0, formula, fmt, value)


_NUMBERED = re.compile(r"^[一二三四五六七八九十]{1,3}、")


def _write_code_and_name(ws, fm, pl, r, key, row: RowData | None, cat, valid_range, t):
    code = key if key[:1] != "#" else ""
    ws.write_string(r, pl.code_col, code, fm.code())
    official = cat.name(code) if code else ""
    printed = row.label if row is not None else ""
    code_ref = a1(r, pl.code_col)
    if printed and printed != official:
        # as printed / typed (also a code the catalog does not have: its printed name is kept)
        ws.write_string(r, pl.name_col, printed, fm.name())
    else:
        formula = (f'=IF({code_ref}="","",IFERROR(VLOOKUP({code_ref}&"",\'{CATALOG_SHEET}\'!$A:$B,2,FALSE),'
                   f'IFERROR(VLOOKUP({code_ref}&"",\'{SUPPLEMENT_SHEET}\'!$A:$C,3,FALSE),"【目录中无此科目】")))')
        ws.write_formula(r, pl.name_col, formula, fm.name(), official or ("【目录中无此科目】" if code else ""))
    ws.data_validation(r, pl.code_col, r, pl.code_col, {
        "validate": "list", "source": valid_range, "error_type": "warning",
        "error_title": "科目编码", "error_message": "科目目录中没有这个编码；如确属新增科目，可点“是”保留。",
        "input_title": "科目编码", "input_message": "填写或选择科目编码，科目名称自动带出"})


def _write_value(ws, fm, tid, row, col, r, c, deriv: Derivation, result: BuildResult, count=False, bold=False,
                 percent=False):
    cell = (tid, row, col)
    check = deriv.derived.get(cell)
    if check is not None:
        value = deriv.value(cell)
        if cell in deriv.overrides:
            if deriv.given(cell) is None:
                ws.write_blank(r, c, None, fm.value(True, count, bold, percent))
            else:
                ws.write_number(r, c, _num(value), fm.value(True, count, bold, percent))
        else:
            cached = "" if cell in deriv.blank else _num(value)
            ws.write_formula(r, c, deriv.formula(check), fm.value(True, count, bold, percent), cached)
            result.formulas += 1
        return
    given = deriv.given(cell)
    if given is None:
        ws.write_blank(r, c, None, fm.value(False, count, bold, percent))
    else:
        ws.write_number(r, c, _num(given), fm.value(False, count, bold, percent))
