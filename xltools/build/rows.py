"""`xltools rows add`: insert 科目 rows into a detail block of a workbook, as Excel's 插入行 would, and
with what a generated row has: the 科目编码 (text), the 科目名称 look-up, the row's formulas, the input
cells' format (unlocked, 淡黄色) and, in variants with 类/款 subtotal rows, the missing 类/款 rows with
their subtotal formulas.

The workbook is edited in place with openpyxl, keeping every other cell, sheet, style and comment:

* a row is inserted inside the block (before the first 科目 that sorts after the new one, or at the first
  spare row) and every reference to the sheet in every formula, defined name, merged range, data
  validation, conditional format and hyperlink is moved as Excel moves it; a multi-row range that
  starts at the new row or ends just above it grows to take it in (the block's SUMPRODUCT ranges and a
  类/款's subtotal range end there);
* the new row's cells are copied from a spare row of the block (formulas translated to the new row);
  a 类/款 row takes the 合计 row's formulas narrowed to its code and its own range;
* cached values are kept (moved with their cells) and computed for the new cells, so readers without a
  calculation engine see what Excel shows; the write is atomic, the original is kept as .bak.xlsx;
* the 审核 sheet is compiled again over the rows now present (``xltools.build.reaudit``), so the new 科目
  have their identity rows, and the 封面 summary counts them.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

__all__ = ["add_rows", "AddResult", "RowsError", "shift_formula", "resolve_table"]


class RowsError(Exception):
    """A request `rows add` cannot carry out (Chinese message)."""


@dataclass
class AddResult:
    path: Path
    sheet: str
    added: list[tuple[str, int]] = field(default_factory=list)     # (code or "", sheet row, 1-based)
    unknown: list[str] = field(default_factory=list)                # codes not in the 科目目录 (inserted all the same)
    notes_added: list = field(default_factory=list)                 # 说明事项 items the new 科目 call for
    audit_rows: int | None = None                                   # rows of the 审核 sheet compiled again


# ---------------------------------------------------------------- references

_CELL = r"(\$?)([A-Z]{1,3})(\$?)(\d+)"
_REF_RE = re.compile(rf"^{_CELL}(?::{_CELL})?$")
_ROWS_RE = re.compile(r"^(\$?)(\d+):(\$?)(\d+)$")


def _split_sheet(operand: str) -> tuple[str | None, str]:
    if "!" not in operand:
        return None, operand
    sheet, ref = operand.rsplit("!", 1)
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, ref


def _shift_rows(r1: int, r2: int, at: int, n: int, grows: bool = True) -> tuple[int, int]:
    """Rows of a reference after ``n`` rows are inserted at ``at`` (1-based). ``grows``: a range that may
    take the new rows in (not a single cell, not a range of one row across several columns)."""
    if r1 == r2 and not grows:
        return (r1 + n, r2 + n) if r1 >= at else (r1, r2)
    if r2 < at - 1:
        return r1, r2
    if r1 >= at + 1:
        return r1 + n, r2 + n
    return r1, r2 + n       # the range holds the new rows (it starts there, runs across or ends just above)


def _shift_ref(ref: str, at: int, n: int) -> str:
    m = _REF_RE.match(ref)
    if m:
        d1, c1, d2, r1 = m.group(1), m.group(2), m.group(3), int(m.group(4))
        if m.group(5) is None:
            return f"{d1}{c1}{d2}{_shift_rows(r1, r1, at, n, grows=False)[0]}"
        e1, c2, e2, r2 = m.group(5), m.group(6), m.group(7), int(m.group(8))
        lo, hi = _shift_rows(r1, r2, at, n, grows=r1 != r2 or c1 == c2)
        return f"{d1}{c1}{d2}{lo}:{e1}{c2}{e2}{hi}"
    m = _ROWS_RE.match(ref)
    if m:
        lo, hi = _shift_rows(int(m.group(2)), int(m.group(4)), at, n)
        return f"{m.group(1)}{lo}:{m.group(3)}{hi}"
    return ref


def shift_formula(formula: str, sheet: str, home: str, at: int, n: int = 1) -> str:
    """``formula`` (living on sheet ``home``) after ``n`` rows are inserted at row ``at`` of ``sheet``."""
    if not isinstance(formula, str) or not formula.startswith("="):
        return formula
    from openpyxl.formula.tokenizer import Token, Tokenizer

    try:
        tok = Tokenizer(formula)
    except Exception:       # not a formula openpyxl can parse: left as it is
        return formula
    changed = False
    out = []
    for t in tok.items:
        v = t.value
        if t.type == Token.OPERAND and t.subtype == Token.RANGE:
            target, ref = _split_sheet(v)
            if (target if target is not None else home) == sheet:
                new = _shift_ref(ref, at, n)
                if new != ref:
                    v = v[: len(v) - len(ref)] + new
                    changed = True
        out.append(v)
    return "=" + "".join(out) if changed else formula


def _shift_sqref(text: str, at: int, n: int) -> str:
    return " ".join(_shift_ref(part, at, n) for part in str(text).split())


# ---------------------------------------------------------------- the workbook

def resolve_table(tset, variant, name: str):
    """A table of the variant by id (F05), number (公开05 / 公开05表 / 表二) or title."""
    wanted = str(name).strip()
    for t in tset.tables_for(variant):
        if wanted in (t.id, t.number, t.title, t.sheet_name()) or \
                (wanted and t.number.startswith(wanted) and t.number[len(wanted):] in ("", "表")):
            return t
    listed = "、".join(f"{t.number}（{t.title}）" for t in tset.tables_for(variant) if t.is_detail)
    raise RowsError(f"没有表“{name}”；可插入科目行的表：{listed}")


def _sort_key(code: str, hierarchy: bool):
    if hierarchy:
        return (code[:3], code[:5], len(code), code)
    return (code,)


def add_rows(path: str | Path, table: str, codes: list[str], *, count: int = 0,
             keep_original: bool = True) -> AddResult:
    """Insert a row for each 科目 in ``codes`` (and ``count`` empty input rows) into ``table``'s block."""
    from xltools import catalog, rewrite
    from xltools.build.layout import layout_table
    from xltools.model import TableData
    from xltools.read.workbook import read_workbook
    from xltools.safeio import stamp
    from xltools.spec import load_set

    path = Path(path)
    report = read_workbook(path)
    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    t = resolve_table(tset, variant, table)
    if not t.is_detail:
        raise RowsError(f"“{t.number} {t.title}”是固定行次的表，不能插入科目行")
    lay = layout_table(t, TableData(t.id), variant, spare=0)
    started = stamp(path)
    wb = rewrite.load(path)
    sheet = report.tables[t.id].sheet if t.id in report.tables and report.tables[t.id].sheet else t.sheet_name()
    if sheet not in wb.sheetnames:
        raise RowsError(f"{path.name} 中没有工作表“{sheet}”")
    ws = wb[sheet]
    cached = rewrite.raw_formula_values(path)     # sheet → (row, col) → (t, text): moved with their cells
    funcs = catalog.functional(report.year)
    econ = catalog.economic(report.year)
    hierarchy = variant.hierarchy and t.detail_kind == "functional"
    res = AddResult(path, sheet)

    want: list[str] = []
    for code in codes:
        code = str(code).strip()
        if not code.isdigit():
            raise RowsError(f"科目编码“{code}”应为数字，如 2130101")
        want.append(code)
    ops: list[tuple[object, str]] = []      # (panel layout, code or "")
    for code in want:
        pl = _panel_for(lay, code, t)
        cat = funcs if pl.panel.detail == "functional" else econ
        lengths = (3, 5, 7) if pl.panel.detail == "functional" else (3, 5)
        if len(code) not in lengths:
            raise RowsError(f"科目编码“{code}”位数不对：{'功能' if pl.panel.detail == 'functional' else '经济'}分类科目编码为 "
                            f"{'、'.join(map(str, lengths))} 位")
        if cat.get(code) is None:
            res.unknown.append(code)
        if hierarchy and len(code) == 7:
            for pre in (code[:3], code[:5]):
                if pre not in want and (pl, pre) not in ops:
                    ops.append((pl, pre))
        ops.append((pl, code))
    detail_panels = [pl for pl in lay.panels if pl.panel.is_detail]
    if not detail_panels:
        raise RowsError(f"“{t.number}”没有明细块")
    for _ in range(count):
        ops.append((detail_panels[0], ""))
    if not ops:
        raise RowsError("请用 --code 给出要插入的科目编码（可多次），或用 --count 给出空行数")

    inserted: list[int] = []                # 1-based rows inserted on the sheet, in order
    for pl, code in ops:
        block = _block(ws, pl, lay)
        rows = _codes(ws, pl, block)
        if code and code in rows.values():
            if code in want:
                raise RowsError(f"{sheet} 中已有科目 {code}（第 {_row_of(rows, code)} 行）")
            continue                    # a 类/款 row that is there already
        at = _position(rows, block, code, hierarchy, ws, pl)
        template = _template_row(ws, pl, block, rows)
        _insert(wb, ws, at, cached)
        inserted.append(at)
        if template >= at:
            template += 1
        block = (block[0], block[1] + 1)
        _fill_row(ws, pl, lay, at, template, code, cached, funcs if pl.panel.detail == "functional" else econ)
        res.added = [(c, r + 1 if r >= at else r) for c, r in res.added] + [(code, at)]
    # 类/款 rows: their subtotal formulas once every row is in place (ranges reach the next row of their level)
    for pl, code in ops:
        if code and hierarchy and len(code) < 7:
            block = _block(ws, pl, lay)
            rows = _codes(ws, pl, block)
            at = _row_of(rows, code)
            if any(c == code for c, _ in res.added):
                _class_formulas(ws, pl, at, code, lay.data_first + 1, block)
                _cache_row(ws, pl, at, code, True, block, cached.setdefault(ws.title, {}))
    res.notes_added = _notes_in_step(wb, report, t, [c for c, _ in res.added if c])
    from xltools.narrative.inputs import NOTES_SHEET
    replaced = {sheet} | ({NOTES_SHEET} if res.notes_added else set())
    # the 审核 sheet compiled again over the rows now present: the new 科目 get their identity rows
    from xltools.build.audit import AUDIT_SHEET
    from xltools.build.cover import COVER_SHEET
    from xltools.build.reaudit import AuditError, refresh_audit
    try:
        res.audit_rows = refresh_audit(wb, _report_after(report, t, lay, sheet, res.added, inserted,
                                                         funcs if t.detail_kind == "functional" else econ),
                                       cached)
    except AuditError as exc:
        raise RowsError(str(exc)) from None
    if res.audit_rows is not None:
        replaced |= {AUDIT_SHEET, COVER_SHEET}
    rewrite.save(wb, path, replaced=replaced, keep_original=keep_original, expect=started, raw=cached,
                 verify=lambda written: _same_values(report, written))
    return res


def _report_after(report, t, lay, sheet: str, added: list[tuple[str, int]], inserted: list[int], cat):
    """``report`` as the workbook stands after the inserts: the sources on ``sheet`` moved down with
    their rows, the new 科目 rows (no amounts yet) where they were put."""
    from xltools.model import RowData, TableData

    def moved(source: str) -> str:
        m = re.match(r"^(.*!\$?[A-Z]+\$?)(\d+)$", source or "")
        if not m or m.group(1).split("!")[0].strip("'") != sheet:
            return source
        r = int(m.group(2))
        for at in inserted:
            if r >= at:
                r += 1
        return f"{m.group(1)}{r}"

    rep = copy.copy(report)
    rep.tables = dict(report.tables)
    for tid, td in report.tables.items():
        if (td.sheet or "") != sheet:
            continue
        new = copy.copy(td)
        new.rows = {k: copy.copy(r) for k, r in td.rows.items() if not k.startswith("#")}
        for r in new.rows.values():
            r.source = moved(r.source)
        rep.tables[tid] = new
    td = rep.tables.get(t.id)
    if td is None:
        td = rep.tables[t.id] = TableData(t.id, sheet=sheet)
    leaf = 7 if t.detail_kind == "functional" else 5
    for code, row in added:
        if code and code not in td.rows:
            td.rows[code] = RowData(code, cat.name(code) or "", _panel_for(lay, code, t).panel.id, source=f"{sheet}!A{row}",
                                    kind="detail" if len(code) == leaf else "class")
    return rep


def _same_values(before, written: Path) -> str | None:
    """Every value read from the original (each table by 科目/行 and 栏, 说明事项 by key) reads the same
    from the written workbook: the proof for the sheet whose rows moved."""
    from xltools.narrative.refresh import read_written

    after = read_written(written)
    for what in ("unit", "year", "amount_unit"):
        if getattr(after, what) != getattr(before, what):
            return f"封面 {what} 原为 {getattr(before, what)!r}，写回后为 {getattr(after, what)!r}"
    for tid, td in before.tables.items():
        got = after.tables.get(tid)
        for key, row in td.rows.items():
            if key.startswith("#"):
                continue                # a spare row is known by its place, which moved
            for col, v in row.values.items():
                w = got.get(key, col) if got is not None else None
                if (w.amount if w is not None else None) != v.amount:
                    return f"{v.source} 原为 {v.amount}，写回后为 {w.amount if w is not None else '（无）'}"
    old = {k: v for k, v in (before.notes or {}).items() if k != "_cells"}
    new = {k: v for k, v in (after.notes or {}).items() if k != "_cells"}
    for k, v in old.items():
        if new.get(k) != v:
            return f"说明事项 {k} 原为 {v!r}，写回后为 {new.get(k)!r}"
    return None


def _notes_in_step(wb, report, t, codes: list[str]) -> list:
    """说明事项 rows the new 科目 call for (年初预算数 of a new 类 …), added in the same write."""
    from xltools.model import RowData, TableData
    from xltools.narrative.inputs import NOTES_SHEET, note_items
    from xltools.narrative.refresh import refresh_sheet

    if not codes or NOTES_SHEET not in wb.sheetnames:
        return []
    rep = copy.copy(report)
    rep.tables = dict(report.tables)
    old = report.tables.get(t.id) or TableData(t.id)
    td = copy.copy(old)
    td.rows = dict(old.rows)
    leaf = 7 if t.detail_kind == "functional" else 5
    for code in codes:
        td.rows.setdefault(code, RowData(code, "", t.panels[0].id, kind="detail" if len(code) == leaf else "class"))
    rep.tables[t.id] = td
    items = note_items(rep.set_id, rep)
    cells = (report.notes or {}).get("_cells", {})
    if all(it.key in cells for it in items):
        return []
    added, _ = refresh_sheet(wb[NOTES_SHEET], items)
    return added


def _panel_for(lay, code: str, t):
    cands = [pl for pl in lay.panels if pl.panel.is_detail]
    if len(cands) > 1:
        # economic panels limited to some 类 (人员经费 301/303, 公用经费 302/310 …)
        for pl in cands:
            if pl.panel.classes and code[:3] in pl.panel.classes:
                return pl
        for pl in cands:
            if not pl.panel.classes:
                return pl
        raise RowsError(f"科目 {code} 不属于“{t.number}”任何一栏（可用：" +
                        "、".join("/".join(pl.panel.classes) for pl in cands if pl.panel.classes) + "）")
    return cands[0]


def _block(ws, pl, lay) -> tuple[int, int]:
    """1-based first and last sheet row of the panel's detail block: the rows the sheet's SUMPRODUCT
    formulas cover in the panel's 科目编码 column (合计, 类/款 subtotals and footers alike)."""
    from xltools.build.reaudit import sumproduct_span
    span = sumproduct_span(ws, pl.code_col)
    if span is None:
        raise RowsError(f"“{ws.title}”中找不到明细块的合计公式（SUMPRODUCT），无法确定插入位置；"
                        f"请用 xltools new / generate 生成的工作簿")
    return span


def _codes(ws, pl, block) -> dict[int, str]:
    out = {}
    for r in range(block[0], block[1] + 1):
        v = ws.cell(r, pl.code_col + 1).value
        if v is not None and str(v).strip():
            s = str(v).strip()
            if s.endswith(".0"):
                s = s[:-2]
            out[r] = s
    return out


def _row_of(rows: dict[int, str], code: str) -> int:
    return next(r for r, c in rows.items() if c == code)


def _is_spare(ws, pl, r: int) -> bool:
    if (ws.cell(r, pl.code_col + 1).value or "") != "":
        return False
    return all(ws.cell(r, c + 1).value in (None, "") or str(ws.cell(r, c + 1).value).startswith("=")
               for c in pl.value_cols.values())


def _position(rows: dict[int, str], block, code: str, hierarchy: bool, ws, pl) -> int:
    if code:
        key = _sort_key(code, hierarchy)
        after = [r for r, c in sorted(rows.items()) if c.isdigit() and _sort_key(c, hierarchy) > key]
        if after:
            return after[0]
        last = max(rows) if rows else block[0] - 1
        return last + 1
    # an empty input row: after the last row that holds anything
    last = block[0] - 1
    for r in range(block[0], block[1] + 1):
        if not _is_spare(ws, pl, r):
            last = r
    return last + 1


def _template_row(ws, pl, block, rows) -> int:
    for r in range(block[0], block[1] + 1):
        if r not in rows and _is_spare(ws, pl, r):
            return r
    return block[1]


def _insert(wb, ws, at: int, cached: dict) -> None:
    """Insert one row at ``at`` (1-based) of ``ws`` and move every reference to it, as Excel does."""
    name = ws.title
    ws.insert_rows(at, 1)
    # formulas everywhere
    for other in wb.worksheets:
        for row in other.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    cell.value = shift_formula(cell.value, name, other.title, at)
        for row in other.iter_rows():
            for cell in row:
                h = cell.hyperlink
                if h is not None and h.location:
                    loc = h.location
                    target, ref = _split_sheet(loc.lstrip("#"))
                    if target == name:
                        h.location = loc[: len(loc) - len(ref)] + _shift_ref(ref, at, 1)
    # defined names
    try:
        names = list(wb.defined_names.values())
    except AttributeError:               # openpyxl < 3.1
        names = list(wb.defined_names.definedName)
    for dn in names:
        if dn.attr_text:
            dn.attr_text = shift_formula("=" + dn.attr_text, name, "", at)[1:]
    for other in wb.worksheets:
        for dn in getattr(other, "defined_names", {}).values() if hasattr(other, "defined_names") else ():
            if dn.attr_text:
                dn.attr_text = shift_formula("=" + dn.attr_text, name, other.title, at)[1:]
    # merged ranges
    for rng in list(ws.merged_cells.ranges):
        if rng.max_row >= at:
            lo, hi = (rng.min_row + 1, rng.max_row + 1) if rng.min_row >= at else (rng.min_row, rng.max_row + 1)
            ws.merged_cells.remove(rng)
            from openpyxl.worksheet.cell_range import CellRange
            ws.merged_cells.add(CellRange(min_col=rng.min_col, max_col=rng.max_col, min_row=lo, max_row=hi))
    # row heights, outline levels, hidden
    dims = ws.row_dimensions
    moved = {}
    for r in sorted((k for k in list(dims.keys()) if k >= at), reverse=True):
        moved[r + 1] = dims[r]
        del dims[r]
    for r, d in moved.items():
        d.index = r
        dims[r] = d
    # data validations and conditional formats
    for dv in ws.data_validations.dataValidation:
        dv.sqref = type(dv.sqref)(_shift_sqref(str(dv.sqref), at, 1))
    cf = ws.conditional_formatting
    try:
        rules = list(cf._cf_rules.items())
    except AttributeError:
        rules = []
    if rules:
        cf._cf_rules.clear()
        for rng, rs in rules:
            new = _shift_sqref(str(rng.sqref), at, 1)
            for rule in rs:
                rule.formula = [shift_formula("=" + f, name, name, at)[1:] for f in (rule.formula or [])]
                ws.conditional_formatting.add(new, rule)
    if ws.print_area:
        ws.print_area = [_shift_ref(p.split("!")[-1].replace("'", ""), at, 1) for p in str(ws.print_area).split(",")]
    # cached values move with their cells
    vals = cached.get(name)
    if vals:
        cached[name] = {((r + 1) if r >= at else r, c): v for (r, c), v in vals.items()}


def _fill_row(ws, pl, lay, at: int, template: int, code: str, cached: dict, cat) -> None:
    """Write the new row ``at`` from the template row (styles, formulas translated) and its code."""
    from openpyxl.formula.translate import Translator

    first_col, last_col = pl.col0 + 1, pl.col0 + pl.width
    vals = cached.setdefault(ws.title, {})
    for c in range(first_col, last_col + 1):
        src, dst = ws.cell(template, c), ws.cell(at, c)
        dst._style = copy.copy(src._style)
        v = src.value
        if isinstance(v, str) and v.startswith("="):
            dst.value = Translator(v, origin=src.coordinate).translate_formula(dst.coordinate)
        else:
            dst.value = None
    # panels side by side: their cells on the new row look like the row above (as Excel's 插入行 does)
    for c in range(1, lay.width + 1):
        if not first_col <= c <= last_col:
            ws.cell(at, c)._style = copy.copy(ws.cell(at - 1, c)._style)
    d = ws.row_dimensions[at]
    d.hidden = False
    d.outlineLevel = 0
    if code:
        cell = ws.cell(at, pl.code_col + 1, code)
        cell.data_type = "s"
        name = cat.name(code) or ""
        vals[(at, pl.name_col + 1)] = ("str", name)
    # the code cell's 科目目录 drop-down (a data validation per row, as generated)
    src = ws.cell(template, pl.code_col + 1).coordinate
    for dv in ws.data_validations.dataValidation:
        if src in dv.sqref:
            dv.sqref = type(dv.sqref)(f"{dv.sqref} {ws.cell(at, pl.code_col + 1).coordinate}")
            break
    # cached values of the new formulas: an empty row sums to 0
    _cache_row(ws, pl, at, code, False, (at, at), vals)


_SP_RE = re.compile(r"--\(LEN\((\$[A-Z]+\$\d+:\$[A-Z]+\$\d+)\)=(\d+)\)")


def _class_formulas(ws, pl, at: int, code: str, total_row: int, block) -> None:
    """A 类/款 row: each value cell takes the 合计 row's formula, narrowed to the code and to the rows
    below up to the next row of its level (SUMPRODUCT), or translated to the row (row sums)."""
    from openpyxl.formula.translate import Translator

    rows = _codes(ws, pl, (at + 1, block[1]))
    end = block[1]
    for r in sorted(rows):
        if len(rows[r]) <= len(code):
            end = r - 1
            break
    lo, hi = at + 1, end
    # the model: a 类/款 row the generator wrote (same formulas, another code and range), else the 合计 row
    proto = next((r for r, k in sorted(rows_all.items()) if len(k) < 7 and r != at and
                  all(_is_formula(ws.cell(r, c + 1).value) for c in pl.value_cols.values())), None) \
        if (rows_all := _codes(ws, pl, block)) else None
    src_row = proto or total_row
    for key, c in pl.value_cols.items():
        tot = ws.cell(src_row, c + 1).value
        if not _is_formula(tot):
            continue
        if "SUMPRODUCT" in tot:
            f = _SP_RE.sub(lambda m: f'(LEN({m.group(1)})={m.group(2)})*(LEFT({m.group(1)},{len(code)})="{code}")', tot)
            f = re.sub(r'LEFT\((\$[A-Z]+\$\d+:\$[A-Z]+\$\d+),\d+\)="\d+"',
                       lambda m: f'LEFT({m.group(1)},{len(code)})="{code}"', f)
            f = re.sub(r"(\$?[A-Z]+\$)(\d+):(\$?[A-Z]+\$)(\d+)", lambda m: f"{m.group(1)}{lo}:{m.group(3)}{hi}", f)
        else:
            f = Translator(tot, origin=ws.cell(src_row, c + 1).coordinate).translate_formula(
                ws.cell(at, c + 1).coordinate)
        cell = ws.cell(at, c + 1)
        cell.value = f
        cell._style = copy.copy(ws.cell(src_row, c + 1)._style)
    for c in (pl.code_col, pl.name_col):         # a subtotal row reads like the generator's (or bold)
        cell = ws.cell(at, c + 1)
        if proto is not None:
            cell._style = copy.copy(ws.cell(proto, c + 1)._style)
        else:
            font = copy.copy(cell.font)
            font.b = True
            cell.font = font


def _is_formula(v) -> bool:
    return isinstance(v, str) and v.startswith("=")


def _num(v) -> Decimal:
    if v is None or v == "" or isinstance(v, bool):
        return Decimal(0)
    if isinstance(v, (int, float)):
        return Decimal(str(v))
    try:
        return Decimal(str(v).replace(",", ""))
    except Exception:
        return Decimal(0)


_RATIO_RE = re.compile(r'^=IF\((\$?[A-Z]+\$?\d+)=0,"",ROUND\((\$?[A-Z]+\$?\d+)/(\$?[A-Z]+\$?\d+)\*(\d+),2\)\)$')


def _cache_row(ws, pl, at: int, code: str, is_class: bool, block, vals: dict) -> None:
    def value_of(r: int, c: int) -> Decimal:
        cell = ws.cell(r, c + 1)
        if cell.data_type == "f":
            got = vals.get((r, c + 1))
            return _num(got[1] if got else None)
        return _num(cell.value)

    done: dict[int, Decimal] = {}
    rows = _codes(ws, pl, block)
    for key, c in pl.value_cols.items():
        cell = ws.cell(at, c + 1)
        f = cell.value
        if not (isinstance(f, str) and f.startswith("=")):
            continue
        if "SUMPRODUCT" in f and is_class:
            m = re.search(r"\$[A-Z]+\$(\d+):\$[A-Z]+\$(\d+)", f)
            lo, hi = int(m.group(1)), int(m.group(2))
            n = int(re.search(r"LEN\([^)]*\)=(\d+)", f).group(1))
            total = sum((value_of(r, c) for r, k in rows.items()
                         if lo <= r <= hi and len(k) == n and k.startswith(code)), Decimal(0))
            done[c] = total
    ratios = {}
    for key, c in pl.value_cols.items():
        cell = ws.cell(at, c + 1)
        f = cell.value
        if not (isinstance(f, str) and f.startswith("=")) or c in done:
            continue
        m = _RATIO_RE.match(f)
        if m:                      # 增减%: IF(base=0,"",ROUND(num/base*100,2)), once its operands are known
            ratios[c] = m
            continue
        # a row sum of this row's cells: SUM(D9,E9) or D9+E9-F9
        total = Decimal(0)
        body = f[1:]
        for sign, ref in re.findall(r"([+\-,(]?)\s*\$?([A-Z]+)\$?" + str(at) + r"\b", body):
            col = 0
            for ch in ref:
                col = col * 26 + ord(ch) - 64
            v = done.get(col - 1, value_of(at, col - 1))
            total += -v if sign == "-" else v
        done[c] = total
    def operand(ref: str) -> Decimal:
        col = 0
        for ch in re.match(r"\$?([A-Z]+)", ref).group(1):
            col = col * 26 + ord(ch) - 64
        return done.get(col - 1, value_of(at, col - 1))

    blank = set()
    for c, m in ratios.items():
        base, num, den, scale = operand(m.group(1)), operand(m.group(2)), operand(m.group(3)), int(m.group(4))
        if base == 0:
            blank.add(c)
        else:
            from decimal import ROUND_HALF_UP
            done[c] = (num / den * scale).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    for c in blank:
        vals[(at, c + 1)] = ("str", "")
    for c, v in done.items():
        vals[(at, c + 1)] = (None, format(v.normalize(), "f") if v != 0 else "0")
