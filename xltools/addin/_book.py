"""The add-in's work on an xlwings Book: read it into the CLI's Report, write results back.

Imported only inside the entry points of :mod:`xltools.addin` (never at package import), so a
click pays for this module, xlwings and the engine only when it needs them.

Reading: one grid per sheet from ``sheet.used_range`` (values, anchored at A1 through the range's
top-left corner), the hidden ``_xltools`` sheet for set/variant/unit/year, and which cells hold
formulas from ``used_range.formula`` — the same :func:`xltools.read.workbook.read_grids` the file
reader uses. An engine that cannot read formulas (xlwings' remote engine) leaves them unknown, and
the "formula replaced by a constant" rule (F-01) is then not applied; the result sheet says so.

Writing never sets a value on a sheet a user typed into: only the result sheets (校验结果, 情况说明,
设置), the hidden ``_xltools`` sheet, and the fill colour and note of flagged cells. The original
fill of every flagged cell is remembered in ``_xltools`` (``mark:<sheet>!<cell>`` → RRGGBB, as
``xltools check --write`` does), so the next run restores it before marking again.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from xltools.addin.common import TITLE, AddinError
from xltools.model import Report
from xltools.read.workbook import META_SHEET, ReadError, meta_from, read_grids

__all__ = ["AddinError", "BookData", "read_book", "write_check", "write_narrative", "settings",
           "write_settings", "out_dir", "safe_name", "free_path", "TITLE", "RESULT_SHEET", "SETTINGS_SHEET", "NOTE_PREFIX"]

RESULT_SHEET = "校验结果"          # the same sheet `xltools check --write` makes
SETTINGS_SHEET = "设置"
NOTE_PREFIX = "【xltools 校验】"
MARK_KEY = "mark:"
OWNED_KEY = "sheet:"              # sheet:<name> → digest of the text the add-in last wrote there
MARK_FILL = {"error": "#FFC7CE", "warning": "#FFEB9C", "info": "#DDEBF7"}
LIGHT_FILL = {"error": "#FCE8EA", "warning": "#FFF6D6", "info": "#F0F6FC"}   # a defect's consequences
LEVEL_CN = {"error": "错误", "warning": "警告", "info": "提示"}
_ORDER = {"error": 0, "warning": 1, "info": 2}
# the builder's fills: what a flagged cell most likely had when the engine cannot read fills
INPUT_FILL = "#FFF2CC"
FORMULA_FILL = "#EDEDED"
_ADDR = re.compile(r"^(.+)!([A-Z]+[0-9]+)$")
_A1 = re.compile(r"^([A-Z]+)([0-9]+)$")
_HEX = re.compile(r"^#?(?:[0-9A-Fa-f]{2})?([0-9A-Fa-f]{6})$")


@dataclass
class BookData:
    report: Report
    meta: dict[str, str]
    meta_rows: list[list]                     # the rows of _xltools as found (empty: no such sheet)
    sheet_names: list[str]
    formulas_known: bool = True
    grids: dict[str, list[list]] = field(default_factory=dict)


# ---------------------------------------------------------------- reading

def split_addr(cell: str) -> tuple[str, str] | None:
    m = _ADDR.match(cell or "")
    return (m.group(1).strip("'"), m.group(2)) if m else None


def _a1(r: int, c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return f"{s}{r + 1}"


def _used(sheet):
    rng = sheet.used_range
    return rng, rng.row - 1, rng.column - 1


def sheet_grid(sheet) -> list[list]:
    """The sheet's values as rows anchored at A1 (None for an empty cell)."""
    rng, r0, c0 = _used(sheet)
    vals = rng.options(ndim=2, err_to_str=True).value
    pad = [None] * c0
    return [[] for _ in range(r0)] + [pad + list(row) for row in vals]


def sheet_formulas(sheet) -> set[str] | None:
    """The A1 addresses of the sheet's formula cells; None when the engine cannot tell."""
    try:
        rng, r0, c0 = _used(sheet)
        f = rng.formula
    except Exception:            # NotImplementedError on the remote engine; COM errors
        return None
    if f is None:
        return None
    if isinstance(f, str):
        f = ((f,),)
    out = set()
    for i, row in enumerate(f):
        if isinstance(row, str):   # a one-row range given flat
            row = (row,)
        for j, x in enumerate(row):
            if isinstance(x, str) and x.startswith("="):
                out.add(_a1(r0 + i, c0 + j))
    return out


class _Formulas:
    """``fcells`` for read_grids: reads a sheet's formulas when the reader asks for them."""

    def __init__(self, book):
        self.book = book
        self.cache: dict[str, set[str] | None] = {}
        self.known = True

    def get(self, sheet: str):
        if sheet not in self.cache:
            f = sheet_formulas(self.book.sheets[sheet])
            self.known = self.known and f is not None
            self.cache[sheet] = f
        return self.cache[sheet]


def read_book(book) -> BookData:
    """The caller book as the CLI's Report (raises AddinError for a workbook xltools cannot read)."""
    names = [s.name for s in book.sheets]
    meta_rows = sheet_grid(book.sheets[META_SHEET]) if META_SHEET in names else []
    if META_SHEET not in names:
        return _recognised_book(book, names)
    try:
        meta = meta_from(names, meta_rows if META_SHEET in names else None, book.name,
                         sheet_grid(book.sheets["封面"]) if "封面" in names else None)
    except ReadError as exc:
        raise AddinError(f"{exc}。\n\n请在 xltools 生成的公开表工作簿中使用此按钮，"
                         "或点击“新建模板”新建一套公开表。") from None
    grids: dict[str, list[list]] = {}

    def grid_of(sheet: str) -> list[list]:
        if sheet not in grids:
            grids[sheet] = sheet_grid(book.sheets[sheet])
        return grids[sheet]

    formulas = _Formulas(book)
    try:
        report = read_grids(grid_of, names, meta, formulas, origin=_fullname(book), name=book.name)
    except ReadError as exc:
        raise AddinError(str(exc)) from None
    return BookData(report, meta, meta_rows, names, formulas_known=formulas.known, grids=grids)


def _recognised_book(book, names) -> BookData:
    """A workbook not made by xltools (another layout, values only): its tables recognised by title,
    header and 科目编码 over the sheets' values, as `xltools import` does with a file."""
    from xltools.importer.recognize import recognize
    from xltools.importer.sources import source_from_grids

    grids = {n: sheet_grid(book.sheets[n]) for n in names}
    res = recognize(source_from_grids(book.name, list(grids.items())))
    if res.report is None or not res.report.tables:
        raise AddinError(f"{book.name}：不是 xltools 的公开表工作簿，也没有找到可识别的公开表"
                         "（按表名“收入支出决算总表”“部门收支预算总表”等识别）。\n\n"
                         "请在公开表工作簿中使用此按钮，或点击“新建模板”新建一套公开表。")
    rep = res.report
    rep.origin = _fullname(book)
    meta = {"set": rep.set_id, "variant": rep.variant, "unit": rep.unit, "year": str(rep.year or ""),
            "amount_unit": rep.amount_unit, "guessed": "1"}
    meta.update({f"table:{tid}": td.sheet for tid, td in rep.tables.items()})
    return BookData(rep, meta, [], names, formulas_known=False, grids=grids)


def _fullname(book) -> str:
    try:
        return str(book.fullname)
    except Exception:
        return str(book.name)


# ---------------------------------------------------------------- small helpers

def _try(fn, *args, **kw):
    """Formatting niceties: an engine that lacks one (remote engine, Mac) just goes without."""
    try:
        fn(*args, **kw)
        return True
    except Exception:
        return False


def _hex(value) -> str | None:
    """'#RRGGBB' from what xlwings or openpyxl gives: (r, g, b), '#rrggbb', 'AARRGGBB', 'RRGGBB'."""
    if value is None or value == "":
        return None
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return "#%02X%02X%02X" % tuple(int(x) for x in value)
    m = _HEX.match(str(value).strip())
    return f"#{m.group(1).upper()}" if m else None


def _meta_sheet(book, data: BookData, create: bool):
    names = [s.name for s in book.sheets]
    if META_SHEET in names:
        return book.sheets[META_SHEET]
    if not create:
        return None
    ws = book.sheets.add(name=META_SHEET, after=book.sheets[len(book.sheets) - 1])
    _try(setattr, ws, "visible", False)
    return ws


def _text_value(v):
    """A value for Range.value that Excel keeps as text: a string Excel would parse as a formula
    (= + - @) gets the apostrophe prefix, which Excel stores as the cell's prefix, not in its text."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def _write_rows(ws, rows: list[list], old_len: int, width: int = 3) -> None:
    """Put ``rows`` at A1 of ``ws`` (one call), and clear what an older, longer block left below."""
    block = [list(r[:width]) + [None] * (width - len(r[:width])) for r in rows]
    if block:
        target = ws.range((1, 1), (len(block), width))
        # text stays text: Excel would turn "2022" into a number and "012001" into 12001
        _try(setattr, target, "number_format", "@")
        target.value = [[None if v is None else str(v) for v in r] for r in block]
    if old_len > len(block):
        ws.range((len(block) + 1, 1), (old_len, width)).clear_contents()


def _replace_sheet(book, name: str, before_first: bool = True):
    """Delete the sheet ``name`` if present and add a fresh one (first, or last)."""
    names = [s.name for s in book.sheets]
    try:
        if name in names:
            book.sheets[name].delete()
        if before_first:
            return book.sheets.add(name=name, before=book.sheets[0])
        return book.sheets.add(name=name, after=book.sheets[len(book.sheets) - 1])
    except Exception as exc:
        raise AddinError(f"无法添加“{name}”页（{exc}）。\n\n如果工作簿结构受保护，请先在“审阅 → 保护工作簿”中撤销保护。") from None


# ---------------------------------------------------------------- 校验

class _FillGuess:
    """The builder's fill of a cell (input yellow / formula grey): used only when the engine cannot
    read a cell's fill, so that a later run restores something sensible."""

    def __init__(self, report: Report):
        self.report = report
        self.index: dict[str, str] | None = None

    def __call__(self, cell: str) -> str | None:
        if self.index is None:
            from xltools.rules import derived_cells

            try:
                derived = derived_cells(self.report)
            except Exception:
                derived = {}
            self.index = {}
            for tid, td in self.report.tables.items():
                for row in td.rows.values():
                    # a 科目编码 cell (input) or a fixed row's label (no fill)
                    self.index.setdefault(row.source, INPUT_FILL if row.kind in ("detail", "class", "spare")
                                          else None)
                    for col, v in row.values.items():
                        fill = FORMULA_FILL if (tid, row.key, col) in derived or v.formula else INPUT_FILL
                        self.index[v.source] = fill
        return self.index.get(cell, INPUT_FILL)   # elsewhere (说明事项 …): the builder's input cells


def write_check(book, data: BookData, findings: list) -> dict:
    """The 校验结果 sheet, marked cells, remembered fills. Returns counts for the caller's message."""
    sheet_names = [s.name for s in book.sheets]
    meta_ws = _meta_sheet(book, data, create=True)
    rows = data.meta_rows
    if not rows and data.meta.get("guessed"):
        rows = [[k, v] for k, v in data.meta.items()]
    touched = {a[0] for a in (split_addr(str(r[0])[len(MARK_KEY):]) for r in rows
                              if r and isinstance(r[0], str) and r[0].startswith(MARK_KEY)) if a}
    touched |= {a[0] for f in findings for a in map(split_addr, f.cells or (f.cell,)) if a}
    with _Unprotected([book.sheets[n] for n in sorted(touched) if n in sheet_names]):
        return _write_check(book, data, findings, sheet_names, meta_ws, rows)


def _write_check(book, data: BookData, findings: list, sheet_names, meta_ws, rows) -> dict:
    report = data.report
    # 1. undo the marks of an earlier run (ours or `xltools check --write`'s)
    keep, restored = [], {}
    for r in rows:
        r = list(r) + [None] * (3 - len(r))
        k = r[0]
        if isinstance(k, str) and k.startswith(MARK_KEY):
            addr = split_addr(k[len(MARK_KEY):])
            if addr and addr[0] in sheet_names:
                rng = book.sheets[addr[0]].range(addr[1])
                colour = _hex(r[1])
                rng.color = colour
                restored[k[len(MARK_KEY):]] = colour
                if r[2] == "note":
                    _delete_note(rng)
                elif r[2] in (None, ""):
                    _delete_note(rng, only_cli=True)
        elif k not in (None, ""):
            keep.append(r[:3])
    # 2. the result sheet
    ws = _replace_sheet(book, RESULT_SHEET)
    from xltools.rules.report import RESULT_HEAD, mark_plan, result_order, result_row

    ordered = result_order(findings)
    table = [RESULT_HEAD] + [result_row(f) for f in ordered]
    if not findings:
        table.append([None, None, None, None, "未发现问题。", None, None, None])
    remarks = []
    if not data.formulas_known:
        remarks.append("说明：本次未能读取公式，因此没有检查“合计单元格的公式被改成常数”（F-01）。")
    if data.meta.get("guessed"):
        remarks.append("说明：此工作簿不是 xltools 生成的，已按表名识别为 "
                       f"{report.set_id}/{report.variant} 版式。")
    if remarks:
        table.append([None] * 8)
        table += [[None, None, None, None, t, None, None, None] for t in remarks]
    ws.range((1, 1)).value = [[_text_value(v) for v in r] for r in table]    # user text never a formula
    n = len(ordered)
    _try(lambda: setattr(ws.range((1, 1), (1, 8)).font, "bold", True))
    _try(setattr, ws.range((1, 1), (1, 8)), "color", "#DDEBF7")
    if n:
        _try(setattr, ws.range((2, 6), (n + 1, 8)), "number_format", "#,##0.00")
        _try(setattr, ws.range((2, 5), (n + 1, 5)), "wrap_text", True)
    for col, width in zip(range(1, 9), (6, 11, 8, 30, 90, 16, 16, 14)):
        _try(setattr, ws.range((1, col)), "column_width", width)
    _try(lambda: ws.freeze_panes.freeze_at("A2"))
    # links and the level colour of each row; which cells to mark
    marks: dict[str, list] = {}
    links = 0
    strong: dict[str, bool] = {}
    for i, f in enumerate(ordered, start=2):
        ws.range((i, 1)).color = (LIGHT_FILL if f.cause else MARK_FILL)[f.level]
        addr = split_addr(f.cell)
        if addr and addr[0] in sheet_names:
            ws.range((i, 4)).add_hyperlink(f"#'{addr[0]}'!{addr[1]}", f.cell, "转到该单元格")
            links += 1
    for cell, (fs, culprit) in mark_plan(findings).items():   # culprits in the level's colour, the rest lighter
        a = split_addr(cell)
        if a and a[0] in sheet_names:
            k = f"{a[0]}!{a[1]}"
            marks.setdefault(k, []).extend(fs)
            strong[k] = strong.get(k, False) or culprit
    # 3. mark the cells: fill by the worst level, a note with the reasons
    new_marks, notes = [], 0
    guess = _FillGuess(report)
    for cell, fs in marks.items():
        sheet, ref = split_addr(cell)
        rng = book.sheets[sheet].range(ref)
        if cell in restored:
            original = restored[cell]
        else:
            original = _read_fill(rng, guess, cell)
        worst = min(fs, key=lambda f: _ORDER[f.level]).level
        rng.color = (MARK_FILL if strong[cell] else LIGHT_FILL)[worst]
        text = NOTE_PREFIX + "\n" + "\n".join(f"[{LEVEL_CN[f.level]} {f.rule}] {f.message}" for f in fs[:5])
        flag = "note" if _add_note(rng, text[:2000]) else ""
        notes += flag == "note"
        new_marks.append([MARK_KEY + cell, (original or "").lstrip("#"), flag])
    # 4. remember the original fills
    _write_rows(meta_ws, keep + new_marks, len(data.meta_rows) if data.meta_rows else 0)
    _try(ws.activate)
    return {"error": sum(f.level == "error" for f in findings), "warning": sum(f.level == "warning" for f in findings),
            "info": sum(f.level == "info" for f in findings), "marked": len(marks), "links": links, "notes": notes}


class _Unprotected:
    """Excel on Windows: lift the password-less protection of the sheets we mark (the templates
    protect their table sheets, and a protected sheet refuses notes), and put the same protection
    back afterwards. Elsewhere, or when a sheet has a password, nothing changes: the fill (allowed by
    the templates' protection) and the 校验结果 row still show every finding."""

    _ALLOW = ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows", "AllowInsertingColumns",
              "AllowInsertingRows", "AllowInsertingHyperlinks", "AllowDeletingColumns", "AllowDeletingRows",
              "AllowSorting", "AllowFiltering", "AllowUsingPivotTables")

    def __init__(self, sheets):
        self.sheets = sheets
        self.lifted: list[tuple[object, dict]] = []

    def __enter__(self):
        if not sys.platform.startswith("win"):
            return self
        for sheet in self.sheets:
            try:
                api = sheet.api
                if not api.ProtectContents:
                    continue
                p = api.Protection
                flags = {name: bool(getattr(p, name)) for name in self._ALLOW}
                flags.update(DrawingObjects=bool(api.ProtectDrawingObjects), Contents=True,
                             Scenarios=bool(api.ProtectScenarios))
                api.Unprotect()
                self.lifted.append((api, flags))
            except Exception:       # a password, or not Excel's COM object
                continue
        return self

    def __exit__(self, *exc):
        for api, flags in self.lifted:
            try:
                api.Protect(**flags)
            except Exception:
                pass
        return False


def _read_fill(rng, guess, cell) -> str | None:
    try:
        return _hex(rng.color)
    except Exception:           # the remote engine cannot read fills
        return guess(cell)


def _add_note(rng, text: str) -> bool:
    """A note on the flagged cell — unless the user already has one there (that stays untouched)."""
    try:
        if rng.note is not None:
            return False
    except Exception:
        pass
    try:
        rng.add_note(text)
        return True
    except Exception:           # protected sheet, or an engine without notes
        return False


_CLI_NOTE = re.compile(r"^\[(错误|警告|提示) [A-Z]-")


def _delete_note(rng, only_cli: bool = False) -> None:
    """Delete the note we put on a flagged cell. ``only_cli``: a mark made by `xltools check --write`,
    whose comment is recognised by its text (where the engine can read it; otherwise it stays)."""
    try:
        note = rng.note
        if note is None:
            return
        if only_cli and not _CLI_NOTE.match(str(note.text or "")):
            return
        note.delete()
    except Exception:
        pass


# ---------------------------------------------------------------- 情况说明

def _narrative_rows(nar) -> list[tuple[str, str]]:
    """(text, style) per row, laid out as ``xltools narrative`` lays out its sheet."""
    try:
        from xltools.narrative.sheet import INDENT
    except ImportError:
        INDENT = "\u3000\u3000"
    rows = [(nar.title, "title")] if getattr(nar, "title", "") else []
    for p in nar.paragraphs:
        rows.append((p.text if p.style == "title" else INDENT + p.text, p.style))
    return rows


def _text_digest(texts) -> str:
    import hashlib

    joined = "\n".join(str(t) for t in texts if t not in (None, ""))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:16]


def write_narrative(book, data: BookData, nar, sheet_name: str) -> dict:
    """The paragraphs on the 情况说明 sheet; never loses text a user wrote or edited there.

    An existing sheet of that name is replaced only when it still holds exactly what the add-in
    wrote last time (a digest of its text is kept in ``_xltools``); otherwise — written by hand,
    edited after generating, or written by another tool — it is kept, renamed 情况说明（原）
    (（原2）…), and the new text goes to a fresh 情况说明 sheet.
    """
    rows = _narrative_rows(nar)
    texts = [t for t, _ in rows]
    names = [s.name for s in book.sheets]
    meta_rows = [list(r) + [None] * (3 - len(r)) for r in data.meta_rows if r and r[0] not in (None, "")]
    if not meta_rows and data.meta.get("guessed"):
        meta_rows = [[k, v, None] for k, v in data.meta.items()]
    key = OWNED_KEY + sheet_name
    stored = next((str(r[1]) for r in meta_rows if r[0] == key), None)
    kept_as = None
    if sheet_name in names:
        old = book.sheets[sheet_name]
        old_texts = [r[0] if r else None for r in sheet_grid(old)]
        if stored is not None and _text_digest(old_texts) == stored:
            old.delete()
        else:
            kept_as = f"{sheet_name}（原）"
            i = 2
            while kept_as in names:
                kept_as = f"{sheet_name}（原{i}）"
                i += 1
            old.name = kept_as
    ws = book.sheets.add(name=sheet_name, after=book.sheets[len(book.sheets) - 1])
    if rows:
        ws.range((1, 1)).value = [[_text_value(t)] for t in texts]
        _format_narrative(ws, rows)
    meta_rows = [r for r in meta_rows if r[0] != key] + [[key, _text_digest(texts), None]]
    _write_rows(_meta_sheet(book, data, create=True), meta_rows, len(data.meta_rows))
    _try(ws.activate)
    return {"sheet": sheet_name, "kept_as": kept_as, "paragraphs": len(nar.paragraphs),
            "missing": list(getattr(nar, "missing", []) or [])}


def _format_narrative(ws, rows) -> None:
    """Fonts, wrapping, widths and heights as the CLI's 情况说明 sheet has them (where the engine can)."""
    try:
        from xltools.narrative import sheet as ns
        width, body, head, sizes = ns.COLUMN_WIDTH, ns.BODY_FONT, ns.HEAD_FONT, (ns.BODY_SIZE, ns.TITLE_SIZE)
        height = ns._row_height
    except (ImportError, AttributeError):
        width, body, head, sizes, height = 92, "仿宋", "黑体", (12, 16), None
    n = len(rows)
    col = ws.range((1, 1), (n, 1))
    _try(setattr, ws.range((1, 1)), "column_width", width)
    _try(setattr, col, "wrap_text", True)
    _try(lambda: setattr(col.font, "name", body))
    _try(lambda: setattr(col.font, "size", sizes[0]))
    for i, (text, style) in enumerate(rows, start=1):
        cell = ws.range((i, 1))
        size = sizes[1] if style == "title" else sizes[0]
        if style != "body":
            _try(lambda: setattr(cell.font, "name", head if style in ("title", "heading1") else "楷体"))
            _try(lambda: setattr(cell.font, "bold", style in ("title", "heading1")))
        if style == "title":
            _try(lambda: setattr(cell.font, "size", size))
            _try(setattr, cell, "horizontal_alignment", "center")
        if height is not None:
            _try(setattr, cell, "row_height", height(text, size))


# ---------------------------------------------------------------- 设置 / paths

SETTING_KEYS = [("报表集", "set", "final_accounts", "final_accounts（决算）、budget（预算）"),
                ("版式", "variant", "ningxia", ""),
                ("单位名称", "unit", "", "新建模板时写入表头的公开部门"),
                ("年度", "year", "", "如 2024"),
                ("金额单位", "amount_unit", "", "元 或 万元；空则随版式"),
                ("输出文件夹", "out_dir", "", "空则与当前工作簿相同（未保存的工作簿：“文档”文件夹）")]


def settings(book) -> dict[str, str]:
    """The 设置 sheet (or xltools设置, see write_settings) of the caller book: label in column A,
    value in B; defaults filled in."""
    out = {key: default for _, key, default, _ in SETTING_KEYS}
    names = [s.name for s in book.sheets]
    name = next((n for n in ("xltools" + SETTINGS_SHEET, SETTINGS_SHEET) if n in names), None)
    if name is not None:
        by_label = {label: key for label, key, _, _ in SETTING_KEYS}
        for row in sheet_grid(book.sheets[name]):
            if len(row) >= 2 and isinstance(row[0], str) and row[0].strip() in by_label:
                v = row[1]
                if isinstance(v, float) and v.is_integer():
                    v = int(v)
                if v not in (None, ""):
                    out[by_label[row[0].strip()]] = str(v).strip()
    return out


def _is_settings(grid) -> bool:
    labels = {label for label, _, _, _ in SETTING_KEYS} | {"设置"}
    return any(row and isinstance(row[0], str) and row[0].strip() in labels for row in grid)


def write_settings(book, about_rows: list[tuple[str, str]]) -> None:
    """设置 sheet: the settings block (values a user already entered are kept) and the about block."""
    from xltools.spec import available_sets, load_set

    current = settings(book)
    rows: list[list] = [["设置", "值", "说明"]]
    variants = []
    for sid in available_sets():
        try:
            tset = load_set(sid)
        except Exception:
            continue
        variants.append(f"{sid}：" + "、".join(f"{v.id}（{v.label}）" for v in tset.variants.values()))
    for label, key, _, hint in SETTING_KEYS:
        if key == "variant":
            hint = "可选：" + "；".join(variants)
        rows.append([label, current.get(key, ""), hint])
    rows += [[None, None, None], ["关于", None, None]]
    rows += [[k, v, None] for k, v in about_rows]
    names = [s.name for s in book.sheets]
    name = SETTINGS_SHEET
    if name in names and not _is_settings(sheet_grid(book.sheets[name])):
        name = "xltools" + SETTINGS_SHEET        # a sheet of the user's that happens to be called 设置
    if name in names:
        ws = book.sheets[name]
        _write_rows(ws, rows, len(sheet_grid(ws)))
    else:
        ws = book.sheets.add(name=name, after=book.sheets[len(book.sheets) - 1])
        _write_rows(ws, rows, 0)
    _try(lambda: setattr(ws.range((1, 1), (1, 3)).font, "bold", True))
    for col, width in ((1, 16), (2, 60), (3, 60)):
        _try(setattr, ws.range((1, col)), "column_width", width)
    _try(ws.activate)


def out_dir(book, chosen: str = "") -> Path:
    """Where files the add-in makes go: the 设置 choice, else the caller book's folder, else 文档."""
    if chosen:
        p = Path(chosen).expanduser()
        if p.is_dir():
            return p
    full = _fullname(book)
    if full and not re.match(r"^[a-z]+://", full, re.I):
        p = Path(full)
        if p.is_absolute() and p.parent.is_dir():
            return p.parent
    docs = Path.home() / "Documents"
    return docs if docs.is_dir() else Path.home()


def safe_name(text: str) -> str:
    """A file name Windows accepts: no \\ / : * ? " < > |, no trailing dot or space."""
    return re.sub(r'[\\/:*?"<>|\r\n\t]+', "_", str(text)).strip(" .")


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    p = folder / f"{stem}{suffix}"
    i = 2
    while p.exists():
        p = folder / f"{stem}（{i}）{suffix}"
        i += 1
    return p


def engine_name(book) -> str:
    try:
        return book.app.engine.name
    except Exception:
        return ""


def config_path() -> Path:
    """Where `xltools addin install` writes the interpreter (kept in step with addin/install.py,
    which the click path must not import)."""
    import os

    if sys.platform.startswith("win"):
        return Path(os.environ.get("USERPROFILE") or Path.home()) / ".xltools" / "xltools.conf"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Containers" / "com.microsoft.Excel" / "Data" / "xltools.conf"
    return Path.home() / ".xltools" / "xltools.conf"
