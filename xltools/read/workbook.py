"""Read a filled workbook into a Report.

Values come from python-calamine (fast, no formula engine needed because we write cached values);
which cells hold formulas comes from a scan of the sheet XML. Rows are found by their 科目编码 (detail
tables) or their 行次/label (fixed tables), so inserted, deleted and re-ordered rows read correctly.
"""
from __future__ import annotations

import functools
import io
import operator
import re
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree as ET

from xltools.build.layout import a1, col_letter, layout_table
from xltools.model import Report, RowData, TableData, Value, parse_amount

__all__ = ["ReadError", "read_workbook", "read_grids", "meta_from", "formula_cells", "META_SHEET"]

META_SHEET = "_xltools"
COVER_SHEET = "封面"     # xltools.build.cover.COVER_SHEET (not imported: the reader stays light)
SUPPLEMENT_SHEET = "科目补充"   # as xltools.build.writer writes it
NOTES_SHEET = "说明事项"     # xltools.narrative.inputs.NOTES_SHEET
_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
       "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
_CELL_RE = re.compile(rb'<c r="([A-Z]+[0-9]+)"[^>]*?(?:/>|>(.*?)</c>)', re.S)
_F_RE = re.compile(rb"<f[ >/]")
_WS_RE = re.compile(r"\s+")


class ReadError(ValueError):
    """A workbook cannot be read; the message names the file (and sheet/cell where it can)."""


_SUMPRODUCT_F = re.compile(rb"<f(?:\s[^>]*)?>([^<]*SUMPRODUCT[^<]*)</f>")
_SAME_SHEET_RANGE = re.compile(rb"(?<![!A-Za-z])\$([A-Z]{1,3})\$(\d+):\$\1\$(\d+)")


def formula_cells(path: str | Path, ranges: dict | None = None, sheets=None,
                  uncached: dict | None = None, xml: dict | None = None) -> dict[str, set[str]]:
    """Sheet name → the cells (A1) that hold a formula (of the sheets named in ``sheets``, or of every sheet).

    ``ranges`` (a dict, filled in): sheet → column letter → (first, last) 1-based rows that the sheet's
    SUMPRODUCT formulas cover in that column (the detail blocks: a row outside them is not summed).
    ``uncached`` (a dict, filled in): sheet → the formula cells that carry no calculated value (a file saved by
    a program that does not calculate formulas, e.g. openpyxl), as :func:`_uncached_refs` gives them.
    ``xml``: sheet title → its XML, already inflated (by the guard's scan); other sheets are read from ``path``."""
    out: dict[str, set[str]] = {}
    for name, data in _sheet_xml(path, sheets, xml or {}):
        refs, none, texts = _formula_scan(data)
        out[name] = refs
        if uncached is not None and none is not None:
            uncached[name] = none
        sums = [t for t in texts if b"SUMPRODUCT" in t]
        if ranges is not None and sums:
            cols: dict[str, tuple[int, int]] = {}
            # every formula's ranges at once (a range never spans the space between two formulas), each
            # distinct range once: a block's formulas share their ranges
            for col, a, b in set(_SAME_SHEET_RANGE.findall(b" ".join(sums))):
                col, a, b = col.decode(), int(a), int(b)
                lo, hi = cols.get(col, (a, b))
                cols[col] = (min(lo, a), max(hi, b))
            ranges[name] = cols
    return out


def _sheet_xml(path, sheets, xml: dict):
    """(title, XML) of the worksheets named in ``sheets`` (every one when None): from ``xml`` where it holds them,
    else inflated from the file."""
    if sheets is not None and all(s in xml for s in sheets):
        for s in sheets:
            yield s, xml[s]
        return
    with zipfile.ZipFile(path) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", _NS)}
        for s in wb.findall("m:sheets/m:sheet", _NS):
            name = s.get("name")
            if sheets is not None and name not in sheets:
                continue
            if name in xml:
                yield name, xml[name]
                continue
            rid = s.get(f"{{{_NS['r']}}}id")
            t = target.get(rid, "")
            part = t.lstrip("/") if t.startswith("/") else "xl/" + t
            try:
                data = z.read(part)
            except KeyError:
                continue
            yield name, data


# a cell whose first child is a formula element <f>, <f …> or <f/> (the schema puts <f> before <v>)
_FCELL_RE = re.compile(rb'<(?:\w+:)?c\s(?:[^>]*?\s)?r="([A-Z]+[0-9]+)"[^>]*>\s*<(?:\w+:)?f[\s>/]')
_CELL_OPEN = re.compile(rb'<(?:\w+:)?c\s[^>]*>')
_R_ATTR = re.compile(rb'\sr="([A-Z]+[0-9]+)"')
# a prefixed formula or cell element (<x:f>, <x:c …>): then the general scans (one regex pass finds it faster than
# two bytes searches)
_PREFIXED_FC = re.compile(rb":(?:f|c )")
# a formula cell as Excel, WPS, openpyxl, XlsxWriter and LibreOffice write it: r= first, the formula element first,
# no namespace prefix — (reference, the other attributes, the formula's text, its calculated value)
_FCELL_QUICK = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)>\s*<f(?:\s[^>]*?)?(?:/>|>([^<]*)</f>)\s*(?:<v>([^<]*)</v>)?')


def _formula_scan(data: bytes) -> tuple[set[str], tuple[set[str], set[str]] | None, list[bytes]]:
    """(the cells of one sheet's XML that hold a formula, the formula cells without a calculated value as
    :func:`_uncached_refs` gives them — None when there are none —, the formulas' texts).

    One regular-expression pass when it finds every formula element (the usual writers' form, above); otherwise
    the general scans :func:`_formula_refs` and :func:`_uncached_refs`."""
    found = _FCELL_QUICK.findall(data)
    if len(found) == len(_F_RE.findall(data)) and not _PREFIXED_FC.search(data):
        if not found:
            return set(), None, []
        cells, _, texts, values = zip(*found)
        refs = set(map(bytes.decode, cells))
        sure, maybe = set(), set()
        if b"" in values or any(map(bytes.isspace, values)):     # a formula without a value (rare): which ones
            for ref, attrs, text, value in found:
                if not value.strip() and not _T_STR.search(attrs):
                    # no calculated value (a formula whose empty text result is written with t="str" has one)
                    (maybe if (b'&quot;&quot;' in text or b'""' in text) else sure).add(ref.decode())
        return refs, ((sure, maybe) if sure or maybe else None), list(texts)
    return (_formula_refs(data), (_uncached_refs(data) if _MAYBE_UNCACHED.search(data) else None),
            _SUMPRODUCT_F.findall(data))


def _formula_refs(data: bytes) -> set[str]:
    """The cells of one sheet's XML that hold a formula. One regular-expression pass when every formula element
    is its cell's first child (as the schema orders them); otherwise, for each <f>, the nearest <c r="…" before it
    (cells do not nest; elsewhere in a sheet, text is escaped and <formula1> is not <f>)."""
    refs = _FCELL_RE.findall(data)
    if len(refs) == len(_F_RE.findall(data)):
        return {r.decode() for r in refs}
    # the slow path: each <f>'s cell is the last cell start tag before it, whatever its attributes' order
    starts = [(m.start(), m.group(0)) for m in _CELL_OPEN.finditer(data)]
    cells = set()
    import bisect
    keys = [st for st, _ in starts]
    for m in _F_RE.finditer(data):
        i = bisect.bisect_left(keys, m.start()) - 1
        if i >= 0:
            r = _R_ATTR.search(starts[i][1])
            if r:
                cells.add(r.group(1).decode())
    return cells


# a formula element followed by no value or an empty one: what a program that does not calculate writes
_MAYBE_UNCACHED = re.compile(rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\s[^>]*/>)\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?"
                             rb"\s*</(?:\w+:)?c>")
_CELL_FULL = re.compile(rb"<(?:\w+:)?c\s([^>]*?)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
_HAS_F = re.compile(rb"<(?:\w+:)?f[\s>/]")
_HAS_V = re.compile(rb"<(?:\w+:)?v>\s*[^<\s]")
_T_STR = re.compile(rb'\st="(?:str|inlineStr)"')


def _uncached_refs(data: bytes) -> tuple[set[str], set[str]]:
    """The cells of one sheet's XML that hold a formula but no calculated value: (those whose formula cannot give
    an empty text — SUM, SUMPRODUCT …: surely not calculated —, those whose formula may give "" as its result).
    A formula's empty text result written with t="str" is a value."""
    sure, maybe = set(), set()
    for m in _CELL_FULL.finditer(data):
        attrs, body = m.group(1), m.group(2)
        if _HAS_F.search(body) and not _HAS_V.search(body) and not _T_STR.search(b" " + attrs):
            r = _R_ATTR.search(b" " + attrs)
            if r:
                blank = b'&quot;&quot;' in body or b'""' in body
                (maybe if blank else sure).add(r.group(1).decode())
    return sure, maybe


def _norm(text) -> str:
    if text is None or text == "":
        return ""
    return _norm_str(str(text))


@functools.lru_cache(maxsize=4096)
def _norm_str(text: str) -> str:
    return _WS_RE.sub("", text).replace("（", "(").replace("）", ")")


class Book:
    """A workbook being read: its bytes are read once and checked by the guard (read/guard.py) part by part, each
    sheet before python-calamine parses it — the sheets a check reads, not the 审核 or 科目目录 sheets it never
    looks at — and calamine parses the same bytes."""

    def __init__(self, path: Path) -> None:
        from python_calamine import CalamineWorkbook

        from xltools.read import guard

        if not path.exists() and not path.is_symlink():
            raise ReadError(f"找不到文件：{path}")
        if path.suffix.lower() not in (".xlsx", ".xlsm", ".xlam"):
            raise ReadError(f"{path.name}：只能读取 .xlsx/.xlsm 工作簿")
        self.path = path
        # bounded before parsing: zip sizes and ratios, no XML entities, the cells of each sheet read (guard.py)
        self.guard = guard.WorkbookGuard(path, error=ReadError, merges=False)   # (calamine's cells ignore merges)
        self.guard.check((META_SHEET, COVER_SHEET))
        try:
            self.wb = CalamineWorkbook.from_filelike(io.BytesIO(self.guard.data))
        except Exception as exc:  # calamine raises several error types for damaged files
            raise ReadError(f"{path.name}：无法打开工作簿，文件可能已损坏（{_lib_text(exc)}）") from None
        self.sheet_names = self.wb.sheet_names

    def need(self, sheets, *, keep: bool = False) -> None:
        """The guard's checks of ``sheets`` (titles) at once; ``keep``: their XML stays in ``self.guard.xml``."""
        self.guard.check(sheets, keep=keep)

    def grid(self, name: str) -> list[list]:
        self.guard.check((name,))
        if name not in self.guard.passed.titles:
            # the guard could not tell which part is this sheet (a name written in a way it does not decode):
            # every sheet is checked before calamine reads this one
            self.guard.check(None)
        return _grid(self.wb, name, self.path.name)


def _lib_text(exc) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _grid(wb, name: str, file: str = "工作簿") -> list[list]:
    try:
        sh = wb.get_sheet_by_name(name)
        rows = sh.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine: a bad shared-string index, a corrupt part, bad XML …
        raise ReadError(f"{file}：工作表“{name}”无法读取，"
                        f"内容已损坏（{_lib_text(exc)}）") from None
    r0, c0 = sh.start if sh.start else (0, 0)
    if r0 or c0:
        rows = [[""] * 0 for _ in range(r0)] + [[""] * c0 + list(r) for r in rows]
    return rows


def _meta_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def meta_from(sheet_names, meta_grid: list[list] | None, name: str = "",
              cover_grid: list[list] | None = None) -> dict[str, str]:
    """The key/value rows of the hidden ``_xltools`` sheet (``meta_grid``), or, for a workbook not
    made by xltools (``meta_grid`` None), the set and variant recognised by its sheet titles.

    The unit, unit code, year and amount unit a user set on the 封面 sheet (``cover_grid``) take
    precedence; workbooks made before the cover existed keep those of ``_xltools``.
    Raises ReadError (in Chinese, naming ``name``) when the workbook is neither.
    """
    if meta_grid is not None:
        from xltools.build.cover import read_cover

        meta = {str(r[0]): _meta_text(r[1]) for r in meta_grid if len(r) >= 2 and r[0]}
        meta.update(read_cover(cover_grid))
        return meta
    # not made by xltools: recognise a set by its sheet titles
    from xltools.spec import available_sets, load_set

    names = set(sheet_names)
    for sid in available_sets():
        tset = load_set(sid)
        for var in tset.variants.values():
            sheets = [tset.tables[t].sheet_name() for t in var.order]
            if sum(s in names for s in sheets) >= max(3, len(sheets) - 2):
                meta = {"set": sid, "variant": var.id, "unit": "", "year": "", "amount_unit": var.amount_unit,
                        "guessed": "1"}
                meta.update({f"table:{t}": tset.tables[t].sheet_name() for t in var.order})
                return meta
    raise ReadError(f"{name}：不是 xltools 的公开表工作簿（没有隐藏页 {META_SHEET}，也没有可识别的表页）")


def read_workbook(path: str | Path, *, with_formulas: bool = True, opened: Book | None = None) -> Report:
    """``opened``: the :class:`Book` of ``path`` when the caller opened it already."""
    path = Path(path)
    book = opened if opened is not None else Book(path)
    names = book.sheet_names
    meta = meta_from(names, book.grid(META_SHEET) if META_SHEET in names else None, path.name,
                     book.grid(COVER_SHEET) if COVER_SHEET in names else None)
    ranges: dict = {}
    uncached: dict = {}     # sheet → (formula cells surely not calculated, those that may hold "")
    # only the sheets the tables are read from (not the 科目目录, 说明事项, 审核 or result sheets)
    tables = _table_sheets(meta)
    if tables is not None:
        tables &= set(names)
    # every sheet read_grids reads, checked at once (the XML of the tables' sheets kept for the formula scan)
    book.need(None if tables is None else tables | ({SUPPLEMENT_SHEET, NOTES_SHEET} & set(names)), keep=with_formulas)
    try:
        fcells = formula_cells(io.BytesIO(book.guard.data), ranges, tables, uncached, xml=book.guard.xml) \
            if with_formulas else None
    except (zipfile.BadZipFile, KeyError, ET.ParseError, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise ReadError(f"{path.name}：工作簿结构损坏（{_lib_text(exc)}）") from None
    from xltools.read.guard import check_meta_rows, check_report_amounts
    check_meta_rows(meta, names, path.name, error=ReadError)
    report = read_grids(book.grid, names, meta, fcells, origin=str(path), name=path.name, ranges=ranges)
    check_report_amounts(report, path.name, error=ReadError)
    if any(sure for sure, _ in uncached.values()):
        # not calculated: the formulas that may give "" have no result either
        _note_uncached(report, {sheet: sure | maybe for sheet, (sure, maybe) in uncached.items()})
    return report


def _note_uncached(report: Report, uncached: dict[str, set[str]]) -> None:
    """Formula cells of the tables that carry no calculated value: one error finding (F-02) instead of every
    identity failing on them; the checker skips the identities that involve these cells (xltools.rules)."""
    from xltools.rules.engine import Finding

    cells, tables = [], []
    for td in report.tables.values():
        for row in td.rows.values():
            for v in row.values.values():
                if v.formula and v.amount is None and v.source:
                    sheet, _, ref = v.source.rpartition("!")
                    if ref in uncached.get(sheet, ()):
                        cells.append(v.source)
                        tables.append(td.table_id)
    if not cells:
        return
    report.uncalculated = tuple(cells)
    first = "、".join(cells[:3]) + ("等" if len(cells) > 3 else "")
    report.problems.append(Finding(
        "F-02", "error", tables[0], cells[0],
        f"工作簿中 {len(cells)} 个公式没有计算结果（{first}）：文件由不计算公式的程序保存（如 openpyxl 或某些转换工具），"
        f"请在 Excel/WPS 中打开、保存后再校验；涉及这些单元格的校验已跳过", cells=tuple(cells)))


def _table_sheets(meta: dict[str, str]) -> set[str] | None:
    """The sheet names :func:`read_grids` reads tables from (None: not known, scan every sheet)."""
    from xltools.spec import SpecError, load_set

    try:
        tset = load_set(meta.get("set", "final_accounts"))
        variant = tset.variant(meta.get("variant") or None)
    except SpecError:
        return None
    return {meta.get(f"table:{t.id}", t.sheet_name()) for t in tset.tables_for(variant)}


def read_grids(grid_of, sheet_names, meta: dict[str, str], fcells: dict[str, set[str]] | None, *,
               origin: str = "", name: str = "", ranges: dict | None = None) -> Report:
    """A Report from sheets given as grids — what both the file reader (calamine) and the Excel
    add-in (xlwings) call.

    ``grid_of(sheet)`` returns the sheet's values as a list of rows anchored at A1 (empty cells None
    or ""); ``sheet_names`` are the workbook's sheets; ``meta`` comes from :func:`meta_from`;
    ``fcells`` maps a sheet to the A1 addresses of its formula cells (a sheet missing from it, or
    ``fcells`` None: not known, so the "formula replaced by a constant" rule is not applied there).
    """
    from xltools.catalog import normalize_code
    from xltools.spec import SpecError, load_set

    try:
        tset = load_set(meta.get("set", "final_accounts"))
        if meta.get("variant_spec") and meta.get("variant") not in tset.variants:
            # a user's own variant: the workbook carries its composition
            from xltools.spec.variants import variant_from_spec
            variant = variant_from_spec(tset, meta["variant_spec"])
        else:
            variant = tset.variant(meta.get("variant") or None)
    except SpecError as exc:
        raise ReadError(f"{name}：{exc}") from None
    year = meta.get("year", "")
    report = Report(set_id=tset.id, variant=variant.id, unit=meta.get("unit", ""),
                    year=int(year) if year.isdigit() else None, amount_unit=meta.get("amount_unit", "元"),
                    origin=origin, unit_code=meta.get("unit_code", ""))
    report.use_variant(variant)
    report.not_published = tuple(t for t in meta.get("not_published", "").split(",") if t in variant.order)
    report.no_data = tuple(t for t in meta.get("no_data", "").split(",") if t in variant.order)
    names = set(sheet_names)
    for t in tset.tables_for(variant):
        sheet = meta.get(f"table:{t.id}", t.sheet_name())
        if sheet not in names:
            if not t.optional and t.id not in report.not_published:
                # 公开10 is optional: a form without it is complete; a table declared not published is its
                # own finding (M-), not a missing sheet
                report.problems.append(("missing_sheet", t.id, sheet))
            continue
        td = report.tables[t.id] = _read_table(t, variant, grid_of(sheet), sheet,
                                               fcells.get(sheet) if fcells is not None else None, normalize_code)
        if ranges and sheet in ranges and t.is_detail:
            lay = _static(t, variant)[0]
            for pl in lay.panels:
                if pl.panel.is_detail and col_letter(pl.code_col) in ranges[sheet]:
                    td.blocks[pl.panel.id] = ranges[sheet][col_letter(pl.code_col)]
    # 科目补充: codes the user added inside the workbook (code, level, name)
    if SUPPLEMENT_SHEET in names:
        for row in grid_of(SUPPLEMENT_SHEET)[1:]:
            code = normalize_code(_cell([row], 0, 0))
            name = _cell([row], 0, 2)
            if code and name not in (None, ""):
                report.supplement.append((code, str(_cell([row], 0, 1) or ""), str(name).strip()))
    # 说明事项 (narrative inputs) when the workbook has them
    from xltools.narrative.inputs import NOTES_SHEET, read_notes_grid
    if NOTES_SHEET in names:
        report.notes = read_notes_grid(grid_of(NOTES_SHEET), NOTES_SHEET)
    return report


def _cell(grid, r, c):
    if r < len(grid) and c < len(grid[r]):
        return grid[r][c]
    return None


_STATIC: dict = {}


def _static(t, variant):
    """What reading a table needs from its spec, worked out once per (table, variant) in a process."""
    key = (id(t), id(variant))
    hit = _STATIC.get(key)
    if hit is not None and hit[0] is t and hit[1] is variant:
        return hit[2]
    lay = layout_table(t, None, variant, spare=0)
    first_col = lay.panels[0].label_col if lay.panels[0].label_col is not None else lay.panels[0].code_col
    labels = {}
    for pl in lay.panels:
        if not pl.panel.is_detail:
            for row in (*pl.panel.rows, *pl.panel.footer):
                if row.key:
                    labels.setdefault(pl.panel.id, []).append(row)
    footers = {_norm(f.label): f for pl in lay.panels for f in pl.panel.footer}
    at_offset = {pl.panel.id: {sr - lay.data_first: row for row in (*pl.panel.rows, *pl.panel.footer)
                               if row.key and (sr := pl.rows.get(row.key)) is not None}
                 for pl in lay.panels if not pl.panel.is_detail}
    # the columns that name rows (the plan of a sheet depends on these alone)
    key_cols = sorted({first_col, *(c for pl in lay.panels
                                    for c in (pl.code_col, pl.name_col, pl.label_col, pl.lineno_col) if c is not None)})
    value = (lay, first_col, labels, footers, at_offset, tuple(key_cols))
    _STATIC[key] = (t, variant, value)
    return value


def _read_table(t, variant, grid, sheet, fcells, normalize_code) -> TableData:
    """A table's rows and values from its sheet's grid.

    Which grid row is which table row (and where each value cell is) depends only on the cells that name rows —
    the 科目编码/名称, 项目 and 行次 columns — not on the amounts. That reading plan is worked out once per sheet
    shape (those columns' contents) and reused for every workbook of the shape; each workbook then costs only the
    parsing of its value cells."""
    static = _static(t, variant)
    lay, first_col, key_cols = static[0], static[1], static[5]
    start = _start(grid, lay, first_col)
    # the rows above the table (title, 公开部门, headers) and a 合计 row showing the unit's code and name do not
    # decide the plan: they are left out of the shape (unless that first row is the 注 line: its text is kept)
    first = start + 1 if t.total_label == "unit" and variant.total_position == "top" else start
    shape = _key_cells(grid[first:], key_cols)
    head = _cell(grid, start, first_col) if first > start else None
    note_first = head if _norm(head).startswith("注：") else None
    pkey = (id(t), id(variant), sheet, start, len(grid), note_first, shape)
    hit = _PLANS.pop(pkey, None)
    if hit is not None and hit[0] is t and hit[1] is variant:
        plan = hit[2]
    else:
        plan = _plan(t, variant, grid, sheet, normalize_code, static, start)
        while len(_PLANS) >= 512:           # the least recently used plan goes first
            del _PLANS[next(iter(_PLANS))]
        hit = (t, variant, plan)
    _PLANS[pkey] = hit
    td = TableData(t.id, sheet=sheet)
    rows, duplicates = td.rows, td.duplicates
    plan, below, td.note, td.note_source = plan
    for r, key, label, pid, src, kind, bad_code, skip_if_blank, cells in plan:
        row = grid[r]
        width = len(row)
        if skip_if_blank and all((row[c] if c < width else None) in (None, "", 0) for _, c, _, _ in cells):
            continue
        rd = RowData(key=key, label=label, panel=pid, source=src, kind=kind)
        if bad_code:
            td.bad_codes.append(rd)
        values = rd.values
        for ckey, c, ref, vsrc in cells:
            raw = row[c] if c < width else None
            if raw is None or raw == "":
                amount, problem = None, None
            elif type(raw) is float and raw - raw == 0.0:     # a finite number: what most cells hold
                amount, problem = Decimal(repr(raw)), None
            else:
                amount, problem = parse_amount(raw)
            values[ckey] = Value(amount, source=vsrc, raw=raw if problem else None, problem=problem,
                                 formula=(ref in fcells) if fcells is not None else None)
        if key in rows:
            if kind == "spare":
                continue
            duplicates.append(rd)
        else:
            rows[key] = rd
    if below is not None:
        _read_below(static[0], grid, below, sheet, td)
    return td


_PLANS: dict = {}    # (table, variant, sheet, contents of the row-naming columns) → reading plan


def _key_cells(rows: list[list], cols: tuple[int, ...]) -> tuple:
    """The contents of columns ``cols`` of each row (None beyond a row's end): the shape of a sheet's rows. A grid
    whose rows all reach the last of ``cols`` (calamine's and Excel's are rectangular) by one C-level pass."""
    last = cols[-1]
    if not rows or min(map(len, rows)) > last:
        get = operator.itemgetter(*cols)
        return tuple(map(get, rows)) if len(cols) > 1 else tuple((get(row),) for row in rows)
    return tuple(tuple(row[c] if c < len(row) else None for c in cols) for row in rows)


def _start(grid, lay, first_col) -> int:
    """The first row after the 栏次 row (users may have inserted rows above; no fixed position is relied on)."""
    for r in range(min(len(grid), 40)):
        if _norm(_cell(grid, r, first_col)) == "栏次":
            return r + 1
    return lay.data_first


def _plan(t, variant, grid, sheet, normalize_code, static, start) -> tuple:
    """The reading plan of one sheet shape: for each table row found, (grid row, key, label, panel, source, kind,
    whether its code cell is not a code, whether it is skipped when its value cells are blank, value cells as
    (column key, grid column, A1, source)); the row after the 注 line, if any; the 注 line's text and cell (or "")."""
    lay, first_col, labels, footers, at_offset, _ = static
    plan = []
    below = None
    note = note_source = ""
    for r in range(start, len(grid)):
        head = _norm(_cell(grid, r, first_col))
        unit_total = t.total_label == "unit" and r == start and variant.total_position == "top"
        if head.startswith("注："):
            # the 注 line's text is in the row-naming column, so it is part of the shape: kept in the plan
            note, note_source = str(_cell(grid, r, first_col)).strip(), f"{sheet}!{a1(r, first_col)}"
            below = r + 1         # rows typed below the 注 line are looked at per workbook (_read_below)
            break
        for pl in lay.panels:
            p = pl.panel
            bad_code = skip_if_blank = False
            if p.is_detail:
                raw_code = _cell(grid, r, pl.code_col)
                name = str(_cell(grid, r, pl.name_col) or "").strip()
                code_text = _norm(raw_code)
                if unit_total or code_text in ("合计", "总计") or (not code_text and _norm(name) in ("合计", "总计")):
                    key, kind, label = "total", "total", "合计"
                elif code_text in footers:
                    key, kind, label = footers[code_text].key, "footer", footers[code_text].label
                else:
                    code = normalize_code(raw_code) if code_text else None
                    if code is None:
                        # a row without a code is read only where it holds an amount (decided per workbook)
                        skip_if_blank = not code_text
                        key, kind, label = f"#{a1(r, pl.code_col)}", "spare", name
                        bad_code = bool(code_text)
                    else:
                        leaf = 7 if p.detail == "functional" else 5
                        key, label = code, name
                        kind = "detail" if len(code) == leaf else "class"
                src = f"{sheet}!{a1(r, pl.code_col)}"
            else:
                label = _norm(_cell(grid, r, pl.label_col))
                ln = _cell(grid, r, pl.lineno_col) if pl.lineno_col is not None else None
                # a label printed twice in one panel (部门收支预算总表: 本级安排, 其中：财政拨款支出 …) is told
                # apart by its place: the row laid out at this offset wins when its label matches
                expected = at_offset.get(p.id, {}).get(r - start)
                if expected is not None and _norm(expected.label) == label and ln in (None, ""):
                    row = expected
                else:
                    row = _match_fixed(labels.get(p.id, []), label, ln)
                if row is None:
                    continue
                kind = "footer" if row in p.footer else ("total" if row.style == "total" else "fixed")
                key = row.key
                src = f"{sheet}!{a1(r, pl.label_col)}"
            cells = tuple((ckey, c, a1(r, c), f"{sheet}!{a1(r, c)}") for ckey, c in pl.value_cols.items())
            plan.append((r, key, label, p.id, src, kind, bad_code, skip_if_blank, cells))
    return tuple(plan), below, note, note_source


def _read_below(lay, grid, first: int, sheet: str, td: TableData) -> None:
    """Rows typed below a table's 注 line (outside every block and sum): kept to be reported, not read."""
    for r in range(first, len(grid)):
        for pl in lay.panels:
            if not pl.panel.is_detail:
                continue
            cols = [pl.code_col, pl.name_col, *pl.value_cols.values()]
            filled = [c for c in cols if _cell(grid, r, c) not in (None, "")]
            if filled:
                code = _norm(_cell(grid, r, pl.code_col))
                td.outside.append(RowData(key=code or f"#{a1(r, filled[0])}", label="", panel=pl.panel.id,
                                          source=f"{sheet}!{a1(r, filled[0])}", kind="outside"))


def _match_fixed(rows, label: str, lineno):
    if not label and lineno in (None, ""):
        return None
    if lineno not in (None, ""):
        try:
            n = int(float(lineno))
        except (TypeError, ValueError):
            n = None
        if n is not None:
            for row in rows:
                if row.lineno == n:
                    return row
    for row in rows:
        if _norm(row.label) == label:
            return row
    return None
