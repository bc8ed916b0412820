"""Rewriting a user's workbook (``check --write``, ``narrative``) without changing or losing a value.

openpyxl rewrites the whole file; left alone it would change what a user typed:

* a number in a date-formatted cell becomes a datetime (and #VALUE! beyond 9999-12-31), and back a
  rounded serial;                          → here date formats are not applied on load: numbers stay numbers
* numbers are written with 16 significant digits;     → here floats are written with ``repr`` (exact)
  and integers in full; a number cell whose text is no finite number (``NaN``, ``1e999``) keeps its text
* values under merged cells are dropped;  → here a merged range that hides values keeps its cells
* the cached values of formulas are dropped;   → they are read from the original sheet XML (any attribute
  order, namespace prefix, cells without ``r=``) and put back as they were;
* a string beginning with ``=`` that we assign becomes a formula;   → :func:`put` makes it a string cell.

After writing, every worksheet of the original (except the sheets xltools replaces and its hidden
``_xltools`` sheet) is read back with calamine and compared cell by cell with the original; any
difference refuses the rewrite (:class:`~xltools.safeio.WriteError`) and the file stays as it was.

The patches of openpyxl internals are applied only inside :func:`load` and :func:`save`, under a lock.
"""
from __future__ import annotations

import contextlib
import math
import re
import threading
import zipfile
from decimal import Decimal
from pathlib import Path

from xltools.safeio import WriteError, atomic_write, stamp

__all__ = ["load", "save", "put", "keep", "own_sheet", "meta_set", "anchor", "raw_formula_values", "restore_raw",
           "compare_values", "META_SHEET"]

META_SHEET = "_xltools"
_LOCK = threading.RLock()


class _RawNumber(str):
    """The text of a number cell that is no finite number; written back as it was."""


@contextlib.contextmanager
def _faithful_openpyxl():
    import openpyxl.cell._writer as cw
    import openpyxl.reader.excel as rx
    import openpyxl.worksheet._reader as wr

    base_reader = wr.WorksheetReader
    orig_cast = wr._cast_number
    orig_safe = cw.safe_string

    class FaithfulReader(base_reader):
        def __init__(self, ws, fh, shared_strings, data_only, rich_text=False):
            super().__init__(ws, fh, shared_strings, data_only, rich_text)
            self.parser.date_formats = set()       # numbers stay numbers, exactly
            self.parser.timedelta_formats = set()

        def bind_merged_cells(self):
            from openpyxl.worksheet.cell_range import MultiCellRange
            from openpyxl.worksheet.merge import MergedCellRange

            if not self.parser.merged_cells:
                return
            ranges = []
            cells = self.ws._cells
            for cr in self.parser.merged_cells.mergeCell:
                mcr = MergedCellRange(self.ws, cr.ref)
                if not _hides_values(cells, mcr):
                    self.ws._clean_merge_range(mcr)
                ranges.append(mcr)
            self.ws.merged_cells = MultiCellRange(ranges)

    def cast(value):
        try:
            v = orig_cast(value)
        except (ValueError, OverflowError):
            return _RawNumber(value)
        if isinstance(v, float) and not math.isfinite(v):
            return _RawNumber(value)
        return v

    def exact(value):
        if isinstance(value, _RawNumber):
            return str.__str__(value)
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, float):
            return repr(value) if math.isfinite(value) else ""
        if isinstance(value, (int, Decimal)):
            return str(value)
        return orig_safe(value)

    with _LOCK:
        rx.WorksheetReader = FaithfulReader
        wr._cast_number = cast
        cw.safe_string = exact
        try:
            yield
        finally:
            rx.WorksheetReader = base_reader
            wr._cast_number = orig_cast
            cw.safe_string = orig_safe


def _hides_values(cells: dict, mcr) -> bool:
    top = (mcr.min_row, mcr.min_col)
    size = (mcr.max_row - mcr.min_row + 1) * (mcr.max_col - mcr.min_col + 1)
    if size <= len(cells):
        keys = ((r, c) for r, c in mcr.cells)
    else:
        keys = (k for k in cells if mcr.min_row <= k[0] <= mcr.max_row and mcr.min_col <= k[1] <= mcr.max_col)
    return any(k != top and k in cells and cells[k]._value not in (None, "") for k in keys)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else ""


def load(path: Path):
    """The workbook at ``path`` through openpyxl, with every value as stored."""
    import openpyxl

    from xltools.read import guard

    # openpyxl parses every part: every part is checked first (a check reads only the sheets it needs)
    guard.check_workbook(path, error=WriteError)
    keep_vba = path.suffix.lower() in (".xlsm", ".xlam")
    try:
        with _faithful_openpyxl():
            return openpyxl.load_workbook(path, keep_vba=keep_vba)
    except WriteError:
        raise
    except Exception as exc:  # openpyxl raises many types for files Excel opens
        raise WriteError(f"{path.name}：无法按原样读入以写回结果，未改写（{type(exc).__name__}: {_first_line(exc)}）") from None


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean_text(text: str) -> str:
    """``text`` with control characters (which XML cannot hold) shown as their Unicode pictures."""
    return _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group(0))), text)


def put(cell, value):
    """Set a cell with text xltools writes (a message, a title); text is always a string cell, never
    a formula. Control characters a message quotes from a user's cell (XML cannot hold them) are
    shown as their Unicode pictures (U+2400…)."""
    if isinstance(value, str):
        value = clean_text(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def keep(cell, value):
    """Put back a value xltools read from the workbook (the _xltools rows), unchanged: a string cell
    for text. A value the file format cannot hold makes the save fail, and the rewrite is refused."""
    import datetime as dt

    cell._value = value
    if isinstance(value, str):
        cell.data_type = "s"
    elif isinstance(value, bool):
        cell.data_type = "b"
    elif isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        cell.data_type = "d"
    else:
        cell.data_type = "n"
    return cell


def anchor(ws, ref: str) -> str:
    """The cell to mark for ``ref``: the top-left cell of a merged range that holds it."""
    from openpyxl.utils.cell import coordinate_to_tuple

    r, c = coordinate_to_tuple(ref)
    for mcr in ws.merged_cells.ranges:
        if mcr.min_row <= r <= mcr.max_row and mcr.min_col <= c <= mcr.max_col:
            return mcr.start_cell.coordinate
    return ref


# ---------------------------------------------------------------- our own sheets

def _meta_rows(meta):
    for row in meta.iter_rows(min_row=1, max_col=2):
        yield row[0], row[1]


def meta_get(meta, key: str):
    if meta is None:
        return None
    for k, v in _meta_rows(meta):
        if k.value == key:
            return v.value
    return None


def meta_set(meta, key: str, value: str) -> None:
    """Set (or add) a key/value row of the hidden _xltools sheet, as strings."""
    if meta is None:
        return
    for k, v in _meta_rows(meta):
        if k.value == key:
            put(v, value)
            return
    r = meta.max_row + 1 if meta.max_row > 1 or meta["A1"].value is not None else 1
    put(meta.cell(r, 1), key)
    put(meta.cell(r, 2), value)


def own_sheet(wb, name: str, is_ours_legacy) -> tuple[str, bool]:
    """The sheet xltools writes its ``name`` page into: (sheet name, exists already).

    A sheet is ours when the hidden ``_xltools`` sheet records it (``own:<name>`` → the sheet's name;
    the add-in's ``sheet:<name>`` rows hold a digest of its own text instead) or, in a workbook
    from before the record (or without ``_xltools``), when ``is_ours_legacy(ws)`` recognises our
    layout. A user's own sheet of that name is never replaced: ours goes under ``name（xltools）``;
    when that name is a user's too, the rewrite is refused."""
    meta = wb[META_SHEET] if META_SHEET in wb.sheetnames else None
    recorded = meta_get(meta, f"own:{name}")
    if isinstance(recorded, str) and recorded in wb.sheetnames:
        return recorded, True
    for cand in (name, f"{name}（xltools）"):
        if cand not in wb.sheetnames:
            return cand, False
        if recorded is None and is_ours_legacy(wb[cand]):
            return cand, True
    raise WriteError(f"工作簿中已有用户自己的“{name}”页和“{name}（xltools）”页，为免覆盖，未写入；"
                     f"请将其中一页改名后重试")


# ---------------------------------------------------------------- cached values of formulas

def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    from xml.etree import ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    wb = ET.fromstring(_no_dtd(z.read("xl/workbook.xml"), "xl/workbook.xml"))
    rels = ET.fromstring(_no_dtd(z.read("xl/_rels/workbook.xml.rels"), "xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", ns)}
    out = {}
    for s in wb.findall("m:sheets/m:sheet", ns):
        t = target.get(s.get(rid), "") or ""
        out[s.get("name")] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


def _no_dtd(data: bytes, part: str) -> bytes:
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:65536]:
        raise WriteError(f"工作簿的 {part} 含有文档类型声明（DTD），为安全起见不改写")
    return data


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


_REF = re.compile(r"^([A-Z]{1,3})([0-9]+)$")


def _scan_part(fh) -> dict[tuple[int, int], tuple[str | None, str | None]]:
    """(row, col) → (t, cached text) of every formula cell of one sheet part, read with expat
    (namespace-aware: any prefix; any attribute order; rows and cells without ``r=`` counted)."""
    import xml.parsers.expat

    out: dict = {}
    st = {"row": 0, "col": 0, "cell": None, "t": None, "f": False, "v": None, "in_v": False}

    def local(name: str) -> str:
        return name.rsplit(" ", 1)[-1]

    def start(name, attrs):
        n = local(name)
        if n == "row":
            r = attrs.get("r")
            st["row"] = int(r) if r and r.isdigit() else st["row"] + 1
            st["col"] = 0
        elif n == "c":
            ref = attrs.get("r")
            m = _REF.match(ref or "")
            if m:
                st["col"] = _col_number(m.group(1))
                row = int(m.group(2))
            else:
                st["col"] += 1
                row = st["row"]
            st["cell"] = (row, st["col"])
            st["t"], st["f"], st["v"] = attrs.get("t"), False, None
        elif n == "f" and st["cell"] is not None:
            st["f"] = True
        elif n == "v" and st["cell"] is not None:
            st["in_v"], st["v"] = True, ""

    def end(name):
        n = local(name)
        if n == "v":
            st["in_v"] = False
        elif n == "c":
            if st["f"]:
                out[st["cell"]] = (st["t"], st["v"])
            st["cell"] = None

    def text(data):
        if st["in_v"]:
            st["v"] += data

    def no_dtd(*_a):
        raise WriteError("工作表 XML 含有文档类型声明（DTD），为安全起见不改写")

    p = xml.parsers.expat.ParserCreate(namespace_separator=" ")
    p.StartElementHandler, p.EndElementHandler, p.CharacterDataHandler = start, end, text
    p.StartDoctypeDeclHandler = no_dtd
    p.EntityDeclHandler = no_dtd
    while True:
        chunk = fh.read(1 << 20)
        if not chunk:
            break
        p.Parse(chunk, False)
    p.Parse(b"", True)
    return out


def raw_formula_values(path: Path) -> dict[str, dict[tuple[int, int], tuple[str | None, str | None]]]:
    """Sheet → (row, col) → (t, text of <v>) of every formula cell, as stored in the file."""
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for sheet, part in _sheet_parts(z).items():
                try:
                    fh = z.open(part)
                except KeyError:
                    continue
                with fh:
                    out[sheet] = _scan_part(fh)
    except WriteError:
        raise
    except Exception as exc:
        raise WriteError(f"{path.name}：无法读取公式的缓存值，未改写（{type(exc).__name__}: {_first_line(exc)}）") from None
    return out


_CELL_F = re.compile(rb'<c r="([A-Z]+)([0-9]+)"([^>]*?)>(<f[ >].*?</f>|<f[^>]*/>)(<v>.*?</v>|<v\s*/>)?</c>', re.S)
_T_ATTR = re.compile(rb'\s+t="[^"]*"')
_KEEP_T = {"str", "b", "e", "n"}


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def restore_raw(path: Path, raw: dict) -> None:
    """Put the cached values of ``raw`` (from :func:`raw_formula_values` of the original) into the
    formula cells of the workbook openpyxl wrote at ``path`` (in place, through a file beside it)."""
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".cv.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
            parts = _sheet_parts(zin)
            by_part = {parts[s]: v for s, v in raw.items() if s in parts and v}
            for item in zin.infolist():
                data = zin.read(item.filename)
                vals = by_part.get(item.filename)
                if vals:
                    def repl(m, vals=vals):
                        col, row, attrs, f = m.group(1), m.group(2), m.group(3), m.group(4)
                        got = vals.get((int(row), _col_number(col.decode())))
                        attrs = _T_ATTR.sub(b"", attrs)
                        head = b'<c r="%s%s"%s' % (col, row, attrs)
                        if got is None or got[1] is None:
                            return head + b">" + f + b"</c>"
                        t, v = got
                        t = t if t in _KEEP_T else None
                        tattr = b' t="%s"' % t.encode() if t and t != "n" else b""
                        return head + tattr + b">" + f + b"<v>" + _xml_escape(v).encode("utf-8") + b"</v></c>"
                    data = _CELL_F.sub(repl, data)
                zout.writestr(item, data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ---------------------------------------------------------------- the proof: every value as before

def _values(path: Path, skip: set[str]) -> dict[str, dict[tuple[int, int], object]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    out = {}
    for meta in wb.sheets_metadata:
        if meta.name in skip or not str(meta.typ).endswith("WorkSheet"):
            continue
        sh = wb.get_sheet_by_name(meta.name)
        r0, c0 = sh.start if sh.start else (0, 0)
        cells = {}
        for i, row in enumerate(sh.to_python(skip_empty_area=True)):
            for j, v in enumerate(row):
                if v is not None and v != "":
                    cells[(r0 + i, c0 + j)] = v
        out[meta.name] = cells
    return out


def _same(a, b) -> bool:
    if a == b and type(a) is type(b):
        return True
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return a == b or (a != a and b != b)
    return False


def compare_values(original: Path, written: Path, skip: set[str]) -> str | None:
    """None if every worksheet of ``original`` (except ``skip``) reads the same in ``written``;
    else a Chinese description of the first difference."""
    from openpyxl.utils.cell import get_column_letter

    try:
        before = _values(original, skip)
        after = _values(written, skip)
    except Exception as exc:
        return f"无法读回比较（{type(exc).__name__}: {_first_line(exc)}）"
    for sheet, cells in before.items():
        got = after.get(sheet)
        if got is None:
            return f"“{sheet}”页写回后不见了"
        for key in cells.keys() | got.keys():
            a, b = cells.get(key), got.get(key)
            if not _same(a, b):
                ref = f"{get_column_letter(key[1] + 1)}{key[0] + 1}"
                return f"“{sheet}”页 {ref} 原为 {a!r}，写回后为 {b!r}"
    return None


def save(wb, path: Path, *, replaced: set[str], keep_original: bool = True, expect=None, raw=None,
         verify=None) -> Path:
    """Write ``wb`` (loaded by :func:`load` from ``path``) back to ``path``: atomic, the first original
    kept as .bak, cached values restored, every original value proven unchanged — else nothing is
    written and WriteError says why.

    ``raw``: the cached values to put back when cells moved (rows inserted: ``xltools rows add``),
    else those of the original. ``verify(written_path)``: a further proof for the ``replaced`` sheets
    (a Chinese description of a difference, or None)."""
    raw = raw_formula_values(path) if raw is None else raw
    with atomic_write(path, keep_original=keep_original, expect=expect, rewrite=True) as tmp:
        try:
            with _faithful_openpyxl():
                wb.save(tmp)
        except OSError:
            raise
        except Exception as exc:
            raise WriteError(f"{path.name}：无法写回工作簿，未改写（{type(exc).__name__}: {_first_line(exc)}）") from None
        restore_raw(tmp, raw)
        diff = compare_values(path, tmp, replaced | {META_SHEET})
        if diff is None and verify is not None:
            diff = verify(tmp)
        if diff:
            raise WriteError(f"{path.name}：改写后不能保证原有数值不变（{diff}），为免丢失数字，未改写；原文件未动")
    return path


def start_stamp(path: Path):
    """What :func:`save` compares before the rename (see :func:`xltools.safeio.stamp`)."""
    return stamp(path)
