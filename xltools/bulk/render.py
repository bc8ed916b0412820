"""Fast per-unit rendering: build a workbook once per row-set "shape", then per unit write only what changes.

Thousands of units of one bureau mostly share a shape (same set, variant, year, amount unit and the same
rows in every table: all empty templates do, and so do prefilled units with the same 科目). For a shape,
``Template`` builds one workbook with :func:`xltools.build.writer.build_workbook` from a unit of that
shape, with sentinels for the unit's name and code. Its parts are then cut into constant text and *slots*:

* every value cell of every table (input cells: blank or a number; derived cells: the formula with its
  cached value, or a constant where the data overrides the formula, exactly as the builder decides),
* the shared strings that hold the unit's name or code (``公开部门：…``, the hidden ``_xltools`` sheet),
* the workbook title in ``docProps/core.xml``.

The 说明事项 sheet belongs to the shape: its items depend on the notes and on which 科目 hold amounts, so
units share a template when those are the same too (for most units: no notes, the same data pattern).

Rendering a unit evaluates the builder's own :class:`xltools.build.formulas.Derivation`, compiled once per
shape, on the unit's values (a given value that differs from the formula stays a constant, exactly as
the builder decides), fills the slots, compresses only the parts that changed and writes the zip.
Constant parts (styles, the 科目目录 sheet, the workbook part …) are compressed once per shape.

The result is the workbook ``build_workbook`` writes for the same report, part for part (tests compare
the XML): the builder stays the single definition of what a workbook looks like. Anything the template
cannot account for (the sentinel showing up elsewhere, a value cell not found, an unknown extra-sheet
hook) makes the shape fall back to ``build_workbook`` for every unit of that shape.
"""
from __future__ import annotations

import copy
import dataclasses
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path
from decimal import Decimal
from xml.sax.saxutils import unescape

from xltools.build.writer import _num
from xltools.model import Report, RowData

__all__ = ["Template", "TemplateError", "shape_key", "render_workbook", "write_unit", "template_cache"]

SENTINEL = "\ue000单位\ue001"
CODE_SENTINEL = "\ue004编码\ue005"
_CELL_RE = re.compile(r'<c r="([A-Z]+[0-9]+)"([^>]*?)(/>|>(.*?)</c>)', re.S)
_SI_RE = re.compile(r"<si>(.*?)</si>", re.S)
_T_RE = re.compile(r"^<t( xml:space=\"preserve\")?>(.*)</t>$", re.S)
_CTRL1 = re.compile("(_x[0-9a-fA-F]{4}_)")
_CTRL2 = re.compile(r"([\x00-\x08\x0b-\x1f])")
_WS_EDGE = re.compile(r"^\s|\s$")
_LEVEL = 6        # zlib level of the constant parts, as zipfile (and so XlsxWriter) uses
_UNIT_LEVEL = 1   # per-unit parts: 2 ms less per workbook for ~4 KB more


class TemplateError(RuntimeError):
    """The template cannot reproduce the builder for this shape (use build_workbook instead)."""


# ---------------------------------------------------------------- escaping as XlsxWriter does

def _esc_data(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esc_ctrl(s: str) -> str:
    s = _CTRL1.sub(r"_x005F\1", s)
    s = _CTRL2.sub(lambda m: f"_x{ord(m.group(1)):04X}_", s)
    return s.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def _si(s: str) -> str:
    """A shared-string entry. (XlsxWriter passes strings that look like rich text through unescaped;
    we always escape, so a unit called "<r>…</r>" cannot break the file.)"""
    s = _esc_ctrl(s)
    attr = ' xml:space="preserve"' if _WS_EDGE.search(s) else ""
    return f"<si><t{attr}>{_esc_data(s)}</t></si>"


def _prepare_formula(formula: str) -> str:
    """The formula text as XlsxWriter stores it (leading = removed, future functions prefixed)."""
    try:
        from xlsxwriter.worksheet import Worksheet

        return Worksheet()._prepare_formula(formula)
    except Exception:  # pragma: no cover - XlsxWriter internals moved; the template check catches drift
        return formula[1:] if formula.startswith("=") else formula


def _subst(text: str, subst: dict) -> str:
    for k, v in subst.items():
        text = text.replace(k, v)
    return text


# ---------------------------------------------------------------- shapes

_PER_UNIT = ("tables", "unit", "unit_code", "origin", "problems")
_ROW_PER_UNIT = ("values", "source")


def shape_key(report: Report) -> tuple:
    """Everything but the values and the unit's name and code; those are what a template fills."""
    rf = [f.name for f in dataclasses.fields(RowData) if f.name not in _ROW_PER_UNIT]
    tables = tuple((tid, td.note, tuple(tuple(repr(getattr(r, n)) for n in rf) for r in td.rows.values()))
                   for tid, td in report.tables.items())     # a printed note is part of the shape
    other = tuple((f.name, repr(getattr(report, f.name))) for f in dataclasses.fields(Report)
                  if f.name not in _PER_UNIT)
    named = (bool(report.unit), bool(getattr(report, "unit_code", "")))
    return other + (named, tables)


def _nonzero_pattern(report: Report) -> tuple:
    """Which cells hold a non-zero amount. The 说明事项 sheet lists items for the 科目 a unit spent on, so
    a template with extra sheets is shared only by units whose non-zero cells are the same."""
    return tuple((tid, tuple((k, tuple(c for c, v in r.values.items() if v.amount)) for k, r in td.rows.items()))
                 for tid, td in sorted(report.tables.items()))


def _named_copy(report: Report) -> Report:
    """The report with sentinels for the unit's name and code (what the template is built from)."""
    if getattr(report, "blocks", None):
        raise TemplateError("分块表（绩效表）不用模板")
    rep = copy.copy(report)
    rep.unit = SENTINEL if report.unit else ""
    if getattr(report, "unit_code", ""):
        rep.unit_code = CODE_SENTINEL
    rep.problems = []
    return rep


_MARKS = (SENTINEL, CODE_SENTINEL)


def _marked(text: str) -> bool:
    return any(m in text for m in _MARKS)


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    wb = z.read("xl/workbook.xml").decode("utf-8")
    rels = z.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    target = dict(re.findall(r'<Relationship Id="([^"]+)" Type="[^"]*" Target="([^"]+)"', rels))
    out = {}
    for name, rid in re.findall(r'<sheet name="([^"]*)" sheetId="\d+"(?: state="\w+")? r:id="([^"]+)"', wb):
        t = target.get(rid, "")
        out[unescape(name, {"&quot;": '"'})] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


class _Part:
    """A zip member: constant (compressed once) or rendered per unit from chunks and slots."""

    def __init__(self, info: zipfile.ZipInfo, data: bytes):
        self.name = info.filename
        self.info = info
        self.data = data
        self.chunks: list[str] | None = None      # constant text between slots
        self.slots: list[tuple] = []
        self.packed: tuple[int, int, bytes] | None = None   # crc, size, deflated

    def freeze(self):
        if self.chunks is None:
            self.packed = _deflate(self.data)
            self.data = b""


def _deflate(data: bytes, level: int = _LEVEL) -> tuple[int, int, bytes]:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return zlib.crc32(data), len(data), c.compress(data) + c.flush()


class Template:
    """What one shape's workbook looks like, ready to render a unit in a few milliseconds."""

    def __init__(self, report: Report, extra_sheets=None):
        from xltools.build.formulas import Derivation
        from xltools.build.layout import a1, layout_table
        from xltools.build.writer import SPARE_ROWS, _with_hierarchy_and_spare, tables_of
        from xltools.spec import load_set

        tset = load_set(report.set_id)
        variant = tset.variant(report.variant)
        _known_hooks(extra_sheets)
        blank = _named_copy(report)
        self.result, self.parts, sheet_parts = _build(blank, extra_sheets)
        # ---- the builder's own Derivation, compiled once for the shape; per unit a fresh copy of it
        self.tset, self.variant, self.spare = tset, variant, SPARE_ROWS
        self._work = _with_hierarchy_and_spare
        work = _with_hierarchy_and_spare(blank, tset, variant, SPARE_ROWS)
        tables = tables_of(blank, tset, variant)
        keep = {"keep_order": blank.as_published} if hasattr(blank, "as_published") else {}
        try:
            layouts = {t.id: layout_table(t, work.tables.get(t.id), variant, spare=0, **keep) for t in tables}
        except TypeError:
            layouts = {t.id: layout_table(t, work.tables.get(t.id), variant, spare=0) for t in tables}
        deriv = Derivation(tset, variant, work, layouts)
        # evaluation state: what is empty on a fresh Derivation (memo, overrides …) is reset per unit
        self._state = [n for n, v in vars(deriv).items() if isinstance(v, (set, dict, list)) and not v]
        self._deriv = deriv
        self._leaf_cache: dict = {}
        formulas = {cell: _esc_data(_prepare_formula(deriv.formula(check)))
                    for cell, check in deriv.derived.items()}
        # ---- value slots of every table sheet
        by_part = {p.name: p for p in self.parts}
        for t in tables:
            lay = layouts[t.id]
            cells: dict[str, tuple] = {}
            for pl in lay.panels:
                for key, r in pl.rows.items():
                    for ckey, c in pl.value_cols.items():
                        ref = a1(r, c)
                        if ref in cells:
                            raise TemplateError(f"{lay.sheet}!{ref} 被写入两次")
                        cells[ref] = (t.id, key, ckey)
            part = by_part.get(sheet_parts.get(lay.sheet, ""))
            if part is None:
                raise TemplateError(f"模板中没有表页 {lay.sheet}")
            self._cut_sheet(part, cells, formulas)
        # ---- the 审核 sheet and the 封面 summary: cached values of the identities, per unit
        from xltools.build.audit import Audit

        self._audit = Audit(deriv, blank.amount_unit)
        audit_cells: dict[str, dict[str, str]] = {}
        for (sheet, ref), f in self._audit.formulas().items():
            audit_cells.setdefault(sheet, {})[ref] = _esc_data(_prepare_formula(f))
        for sheet, cells in audit_cells.items():
            part = by_part.get(sheet_parts.get(sheet, ""))
            if part is None:
                raise TemplateError(f"模板中没有表页 {sheet}")
            self._cut_formulas(part, sheet, cells)
        # ---- the unit's name or code inside sheets (cached values of 公开部门 formulas …)
        for p in self.parts:
            if p.name in ("xl/sharedStrings.xml", "docProps/core.xml"):
                continue
            if p.chunks is None:
                text = p.data.decode("utf-8", "replace")
                if _marked(text):
                    p.chunks, p.slots = [text], []
            if p.chunks is not None:
                p.chunks, p.slots = _split_marks(p.chunks, p.slots)
        # ---- shared strings holding the unit's name or code
        sst_part = by_part.get("xl/sharedStrings.xml")
        if sst_part is not None:
            self._cut_sst(sst_part)
        core = by_part.get("docProps/core.xml")
        if core is not None and _marked(core.data.decode("utf-8")):
            self._cut_core(core)
        for p in self.parts:
            if p.chunks is None and _marked(p.data.decode("utf-8", "replace")):
                raise TemplateError(f"{p.name} 中的单位名称或说明事项无法替换")
            p.freeze()

    # -------------------------------------------------------------- cutting
    def _cut_sheet(self, part: _Part, cells: dict[str, tuple], formulas: dict):
        xml = part.data.decode("utf-8")
        chunks, slots, pos, found = [], [], 0, 0
        for m in _CELL_RE.finditer(xml):
            ref = m.group(1)
            cell = cells.get(ref)
            if cell is None:
                continue
            attrs, body = m.group(2), m.group(4) or ""
            if ' t="' in attrs:
                raise TemplateError(f"{ref} 不是数值单元格")
            head = f'<c r="{ref}"{attrs}'
            f = formulas.get(cell)
            if f is not None:
                # the template unit may hold a constant here; where it holds the formula, it must be ours
                fm = re.match(r"<f>(.*?)</f>", body, re.S)
                if fm is not None and fm.group(1) != f:
                    raise TemplateError(f"{ref} 的公式与模板不一致")
                slots.append(("f", cell, f"{head}><f>{f}</f><v>", head))
            else:
                if "<f>" in body:
                    raise TemplateError(f"{ref} 应为输入单元格")
                slots.append(("v", cell, head))
            chunks.append(xml[pos:m.start()])
            pos = m.end()
            found += 1
        if found != len(cells):
            raise TemplateError(f"{part.name}：只找到 {found}/{len(cells)} 个数值单元格")
        chunks.append(xml[pos:])
        part.chunks, part.slots = chunks, slots

    def _cut_formulas(self, part: _Part, sheet: str, cells: dict[str, str]):
        """Slots for formula cells whose formula is fixed for the shape and whose cached value is not."""
        xml = part.data.decode("utf-8")
        chunks, slots, pos, found = [], [], 0, 0
        for m in _CELL_RE.finditer(xml):
            ref = m.group(1)
            f = cells.get(ref)
            if f is None:
                continue
            fm = re.match(r"<f>(.*?)</f>", m.group(4) or "", re.S)
            if fm is None or fm.group(1) != f:
                raise TemplateError(f"{sheet}!{ref} 的公式与模板不一致")
            attrs = re.sub(r' t="[^"]*"', "", m.group(2))
            slots.append(("a", (sheet, ref), f'<c r="{ref}"{attrs}', f"><f>{f}</f><v>"))
            chunks.append(xml[pos:m.start()])
            pos = m.end()
            found += 1
        if found != len(cells):
            raise TemplateError(f"{part.name}：只找到 {found}/{len(cells)} 个审核公式单元格")
        chunks.append(xml[pos:])
        part.chunks, part.slots = chunks, slots

    def _cut_sst(self, part: _Part):
        xml = part.data.decode("utf-8")
        chunks, slots, pos = [], [], 0
        for m in _SI_RE.finditer(xml):
            inner = m.group(1)
            if not _marked(inner):
                continue
            tm = _T_RE.match(inner)
            if tm is None:
                raise TemplateError("共享字符串格式无法识别")
            slots.append(("unit", unescape(tm.group(2))))
            chunks.append(xml[pos:m.start()])
            pos = m.end()
        chunks.append(xml[pos:])
        part.chunks, part.slots = (chunks, slots) if slots else (None, [])

    def _cut_core(self, part: _Part):
        xml = part.data.decode("utf-8")
        m = re.search(r"<dc:title>(.*?)</dc:title>", xml, re.S)
        if m is None or not _marked(m.group(1)) or _marked(xml[:m.start(1)] + xml[m.end(1):]):
            raise TemplateError("docProps/core.xml 无法替换单位名称")
        part.chunks = [xml[:m.start(1)], xml[m.end(1):]]
        part.slots = [("title", unescape(m.group(1)))]

    # -------------------------------------------------------------- rendering
    def derivation(self, report: Report):
        """The builder's Derivation for this unit: the shape's compiled checks, the unit's values."""
        d = copy.copy(self._deriv)
        for n in self._state:
            setattr(d, n, type(getattr(self._deriv, n))())
        d.report = self._work(report, self.tset, self.variant, self.spare)
        leaf = getattr(d, "_leaf_keys", None)
        if leaf is not None:
            cache, orig = self._leaf_cache, leaf

            def cached(t, target, whole=False):
                k = (t, target, whole)
                r = cache.get(k)
                if r is None:
                    r = cache[k] = orig(t, target, whole)
                return r
            d._leaf_keys = cached
        for cell in d.derived:
            d.value(cell)
        return d

    def render(self, report: Report) -> dict[str, bytes]:
        """Part name → bytes of every part that depends on the unit."""
        d = self.derivation(report)
        given, value = d.given, d.value
        overrides, blank = d.overrides, getattr(d, "blank", ())
        amounts = {(tid, key, col): v.amount for tid, td in d.report.tables.items() for key, row in td.rows.items()
                   for col, v in row.values.items() if v.amount is not None}     # = d.given, in one pass
        subst = {SENTINEL: report.unit, CODE_SENTINEL: getattr(report, "unit_code", "") or ""}
        audit = self._audit.values(d)
        out: dict[str, bytes] = {}
        self.last_formulas = len(d.derived) - len(overrides)
        self.last_overrides = overrides
        for p in self.parts:
            if p.chunks is None:
                continue
            buf = []
            chunks = p.chunks
            for i, s in enumerate(p.slots):
                buf.append(chunks[i])
                kind = s[0]
                if kind == "v":
                    g = amounts.get(s[1])
                    if g is None:
                        buf.append(s[2] + "/>")
                    else:
                        buf.append(f"{s[2]}><v>{_num(g):.16G}</v></c>")
                elif kind == "f":
                    # the branches of xltools.build.writer._write_value
                    cell = s[1]
                    if cell in overrides:
                        g = given(cell)
                        if g is None:
                            buf.append(s[3] + "/>")
                        else:
                            buf.append(f"{s[3]}><v>{_num(value(cell)):.16G}</v></c>")
                    elif cell in blank:
                        buf.append(s[2] + "</v></c>")
                    else:
                        buf.append(f"{s[2]}{_num(value(cell))}</v></c>")
                elif kind == "a":
                    # a formula with its cached value, as XlsxWriter writes it (writer: Audit.write_*)
                    v = audit[s[1]]
                    if isinstance(v, str):
                        buf.append(f'{s[2]} t="str"{s[3]}{_esc_data(v)}</v></c>' if v else f"{s[2]}{s[3]}</v></c>")
                    else:
                        buf.append(f"{s[2]}{s[3]}{_num(v) if isinstance(v, Decimal) else v}</v></c>")
                elif kind == "mark":
                    buf.append(_esc_data(subst[s[1]]))
                elif kind == "unit":
                    buf.append(_si(_subst(s[1], subst)))
                elif kind == "title":
                    buf.append(_esc_ctrl(_esc_data(_subst(s[1], subst))))
            buf.append(chunks[-1])
            text = "".join(buf)
            out[p.name] = text.encode("utf-8")
        return out

    def write(self, report: Report, path: str | Path, level: int = _UNIT_LEVEL) -> None:
        """Write the unit's workbook at ``path`` (via a temporary file in the same folder)."""
        rendered = self.render(report)
        members = []
        for p in self.parts:
            if p.packed is not None:
                members.append((p.info, p.packed))
            else:
                members.append((p.info, _deflate(rendered[p.name], level)))
        _write_zip(Path(path), members)


def _split_marks(chunks: list[str], slots: list[tuple]) -> tuple[list[str], list[tuple]]:
    """Constant text holding the unit's name or code (sentinels) → text plus ("mark", sentinel) slots."""
    pat = re.compile("(" + "|".join(map(re.escape, _MARKS)) + ")")
    out_c, out_s = [], []
    for i, chunk in enumerate(chunks):
        pieces = pat.split(chunk)
        out_c.append(pieces[0])
        for j in range(1, len(pieces), 2):
            out_s.append(("mark", pieces[j]))
            out_c.append(pieces[j + 1])
        if i < len(slots):
            out_s.append(slots[i])
    return out_c, out_s


def _build(report: Report, extra_sheets):
    from xltools.build.writer import build_workbook

    tmpdir = tempfile.mkdtemp(prefix="xltools-tpl-")
    try:
        target = Path(tmpdir) / "template.xlsx"
        result = build_workbook(report, target, keep_original=False, extra_sheets=extra_sheets)
        with zipfile.ZipFile(target) as z:
            parts = [_Part(i, z.read(i.filename)) for i in z.infolist()]
            sheets = _sheet_parts(z)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return result, parts, sheets


def _known_hooks(extra_sheets) -> None:
    """Extra-sheet hooks whose output depends only on what the shape key holds (rows, notes)."""
    from xltools.narrative.inputs import write_notes_sheet

    for h in extra_sheets or ():
        if h is not write_notes_sheet:
            raise TemplateError(f"未知的附加页 {getattr(h, '__name__', h)}")


# ---------------------------------------------------------------- zip

def _dos(dt) -> tuple[int, int]:
    y, mo, d, h, mi, s = dt
    return ((y - 1980) << 9) | (mo << 5) | d, (h << 11) | (mi << 5) | (s // 2)


def _write_zip(path: Path, members) -> None:
    """A plain deflated zip from precompressed members (what zipfile would write, without recompressing)."""
    local, central = [], []
    offset = 0
    for info, (crc, size, data) in members:
        name = info.filename.encode("utf-8")
        flags = 0x800 if not info.filename.isascii() else 0
        ddate, dtime = _dos(info.date_time)
        head = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, flags, 8, dtime, ddate, crc, len(data), size,
                           len(name), 0)
        local.append(head + name)
        local.append(data)
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, flags, 8, dtime, ddate,
                                   crc, len(data), size, len(name), 0, 0, 0, 0, info.external_attr, offset) + name)
        offset += len(head) + len(name) + len(data)
    cd = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(cd), offset, 0)
    with open(path, "wb") as fh:
        fh.write(b"".join(local))
        fh.write(cd)
        fh.write(end)


# ---------------------------------------------------------------- one unit, with a per-process cache

class _Cache:
    """The templates of one process, least recently used first out.

    A template costs about two builds, so it is made the second time a shape comes up: a run in which
    every unit has rows of its own costs what build_workbook costs, and a run of similar units pays
    one extra build per shape. ``eager`` makes a template on first sight (tests)."""

    def __init__(self, size: int = 32, eager: bool = False):
        self.size = size
        self.eager = eager
        self.items: dict = {}
        self.seen: dict[int, None] = {}     # hashes of shapes met once
        self.built = 0
        self.fallbacks = 0
        self.last_error = ""     # why the last shape fell back to build_workbook

    def get(self, report: Report, extra_sheets):
        """The shape's Template; None (first sight) or False (cannot be templated): use build_workbook."""
        hooks = tuple(getattr(h, "__qualname__", repr(h)) for h in extra_sheets or ())
        key = (shape_key(report), hooks, _nonzero_pattern(report) if hooks else None)
        t = self.items.pop(key, None)
        if t is None:
            h = hash(key)
            if not self.eager and h not in self.seen:
                if len(self.seen) >= 8192:
                    self.seen.pop(next(iter(self.seen)))
                self.seen[h] = None
                return None
            self.seen.pop(h, None)
            try:
                t = Template(report, extra_sheets)
            except TemplateError as exc:
                t = False
                self.fallbacks += 1
                self.last_error = str(exc)
            self.built += 1
            if len(self.items) >= self.size:
                self.items.pop(next(iter(self.items)))
        self.items[key] = t
        return t


template_cache = _Cache()


def render_workbook(report: Report, path: str | Path, *, extra_sheets=None, keep_original: bool = True,
                    cache: _Cache | None = None) -> tuple[int, int]:
    """Write ``report`` at ``path`` as build_workbook would; returns (formulas, overrides)."""
    from xltools.safeio import atomic_write

    path = Path(path)
    cache = cache or template_cache
    tpl = cache.get(report, extra_sheets)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not tpl:
        from xltools.build.writer import build_workbook
        res = build_workbook(report, path, keep_original=keep_original, extra_sheets=extra_sheets)
        return res.formulas, len(res.overrides)
    with atomic_write(path, keep_original=keep_original) as tmp:
        tpl.write(report, tmp)
    return tpl.last_formulas, len(tpl.last_overrides)


write_unit = render_workbook
