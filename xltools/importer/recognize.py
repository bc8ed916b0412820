"""Recognise 公开表 in a stream of lines (any layout) and place their numbers into a Report.

Tables are found by their title (and 表号), never by sheet name or position; columns by their header
text (multi-level headers become paths, merged cells give their text to the cells they cover); rows by
科目编码 (one code column, 类/款/项 in three columns, or "2080501 行政单位离退休" in one cell) or, in fixed
tables, by label after normalising numbering, spaces, full-width characters and "其中：". Every number
that cannot be placed is listed in the import report with where it was printed.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field, replace

from xltools.importer.sources import Line, Source
from xltools.model import Report, RowData, TableData, Value, parse_amount

__all__ = ["Recognized", "Unplaced", "recognize", "norm_label", "norm_header"]

_WS = re.compile(r"\s+")
_QUOTES = str.maketrans("", "", "“”\"'‘’「」")
_NUMBERING = re.compile(r"^(?:[一二三四五六七八九十]+、|[(][一二三四五六七八九十]+[)]|\d+[.、．]|[(]\d+[)])")
_PARENS = re.compile(r"[(][^()]*[)]")
_YEAR_ANY = re.compile(r"\d{4}(?=年)")
_CODE_PART = re.compile(r"^\d{2,7}$")
_CODE_NAME = re.compile(r"^\s*(\d{3}(?:\s?\d{2}){0,2})\s*[-—－ ]?\s*([\u4e00-\u9fffA-Za-z（(“].*)$", re.S)
_UNIT_RE = re.compile(r"(?:金额)?单位[:：]\s*(万元|元)")
_DEPT_RE = re.compile(r"(?:公开部门|单位名称|部门名称|编制部门|编制单位|填报单位|预算单位|部门)[:：]\s*(.+?)\s*(?:(?:金额)?单位[:：].*)?$")
_YEAR_RE = re.compile(r"(20\d{2})\s*年")
_TITLE_PREFIX = re.compile(r"(?:年度?|部门|单位|[、.:：]|公开\d+表|表[一二三四五六七八九十\d]+|附表\d+|^\d+)$")
_TITLE_SUFFIX = re.compile(r"(?:\([^()]*\)|续表?|\d{4}年度?|公开\d+表|公开表[一二三四五六七八九十\d]+|表[一二三四五六七八九十\d]+|附表\d+|[:：])+")
_OWN_TITLES = frozenset({"说明事项", "科目目录", "科目补充", "校验结果", "审核", "封面", "情况说明"})
_EMPTY_TABLE = ("本表无数据", "无数据", "本部门无", "本单位无", "没有使用", "无此项", "未发生", "空表")


def _own_title(label: str) -> bool:
    """A sheet of our own printed with the tables: its title, possibly with a note in brackets
    (“审核（表内、表间勾稽关系）”)."""
    return label in _OWN_TITLES or re.sub(r"[（(].*$", "", label) in _OWN_TITLES


def _nfkc(text) -> str:
    return unicodedata.normalize("NFKC", str(text))


@functools.lru_cache(maxsize=8192)
def norm_label(text: str) -> str:
    """A fixed row's label as compared: no spaces, quotes, numbering or "其中："."""
    t = _WS.sub("", _nfkc(text)).translate(_QUOTES)
    for _ in range(2):
        t = t.removeprefix("其中:").removeprefix("其中")
        t = _NUMBERING.sub("", t)
    return t


@functools.lru_cache(maxsize=8192)
def norm_header(text: str) -> str:
    t = _WS.sub("", _nfkc(text)).translate(_QUOTES)
    t = _YEAR_ANY.sub("", t.replace("{year}", "").replace("{prev}", ""))
    t = t.removeprefix("年度").removeprefix("年")
    t = t.removeprefix("其中:").removeprefix("其中")
    return _NUMBERING.sub("", t)


def _strip_parens(t: str) -> str:
    return _PARENS.sub("", t)


# ---------------------------------------------------------------- the spec tables to look for

@dataclass(frozen=True)
class Candidate:
    set_id: str
    table_id: str
    title: str          # normalised
    number: str         # normalised 表号


@functools.lru_cache(maxsize=1)
def _candidates() -> tuple[Candidate, ...]:
    """Every table title of every set (the tables a set does not express: table id "")."""
    from xltools.spec import available_sets, load_set

    out = []
    for sid in available_sets():
        tset = load_set(sid)
        for t in tset.tables.values():
            for title in (t.title, *t.aliases):      # aliases: titles publications print (江苏 2017–2018)
                out.append(Candidate(sid, t.id, norm_label(title), norm_label(t.number)))
        out += [Candidate(sid, "", norm_label(title), "") for title in tset.unexpressed]
    # longest title first: "财政拨款收入支出决算总表" before "收入支出决算总表"
    return tuple(sorted(out, key=lambda c: -len(c.title)))


def _title_of(line: Line) -> list[Candidate]:
    """The tables ``line`` is the title of (longest title; a table not expressed: table id "")."""
    cells = [c for c in line.cells if c not in (None, "")]
    if not cells or len(cells) > 3:
        return []
    text = norm_label("".join(str(c) for c in cells))
    if not text or len(text) > 60:
        return []
    hits = []
    best = None
    for c in _candidates():
        if not c.title:
            continue
        at = text.rfind(c.title)
        if at < 0:
            continue
        prefix, suffix = text[:at], text[at + len(c.title):]
        # the title is the whole line, but for the unit and year before it ("XX局2024年"), a
        # numbering or 表号, and a 表号 or "(续)" after it: "国有资本经营预算财政拨款收入支出决算表"
        # is not "支出决算表"
        if prefix and not _TITLE_PREFIX.search(prefix):
            continue
        if suffix and not _TITLE_SUFFIX.fullmatch(suffix):
            continue
        if best is None:
            best = len(c.title)
        if len(c.title) == best:
            hits.append(c)
    return hits


# ---------------------------------------------------------------- results

@dataclass
class Unplaced:
    where: str
    text: str
    why: str
    kind: str = "number"     # number | block (a 绩效 block table, not imported yet)


@dataclass
class Recognized:
    report: Report | None
    tables: dict[str, str] = field(default_factory=dict)        # table id -> where its title was
    unplaced: list[Unplaced] = field(default_factory=list)
    notes: list[Unplaced] = field(default_factory=list)         # skipped content that holds no amount
    blocks: dict = field(default_factory=dict)                  # 绩效 block table title -> its projects
    empty_tables: list[str] = field(default_factory=list)       # printed "本表无数据" or with no body
    problems: list = field(default_factory=list)                 # findings of the reading (a code read padded)
    table_units: dict[str, str] = field(default_factory=dict)   # table id -> 元 / 万元 as printed
    unit_code: str = ""
    numbers: int = 0          # numbers printed in recognised tables
    placed: int = 0           # of them placed into the report


@dataclass
class _Block:
    cands: list[Candidate]
    title_at: int
    lines: list[Line]


# ---------------------------------------------------------------- entry point

def recognize(src: Source, *, set_hint: str | None = None) -> Recognized:
    orphans: list[Line] = []
    block_units: list[str] = []
    blocks = _blocks(src, orphans, block_units)
    res = Recognized(report=None)
    _read_block_tables(orphans, res)
    _report_orphans([ln for ln in orphans if not ln.context or not res.blocks.get(ln.context)], res)
    if not blocks and not res.blocks:
        return res
    # the set: the one most recognised titles belong to (a document of 绩效 tables only: their set)
    votes: dict[str, int] = {}
    for b in blocks:
        for sid in {c.set_id for c in b.cands}:
            votes[sid] = votes.get(sid, 0) + 1
    if not votes:
        from xltools.spec import available_sets
        titles = set(res.blocks)
        for sid in available_sets():
            n = sum(bt.title in titles for bt in _blocks_of(sid))
            if n and not any(c.set_id == sid for c in _candidates()):
                votes[sid] = n + 100       # a set made of block tables only (绩效)
            elif n:
                votes[sid] = n
    if set_hint and set_hint in votes:
        set_id = set_hint
    else:
        set_id = max(votes, key=lambda s: (votes[s], s == "final_accounts"))
    from xltools.spec import load_set
    tset = load_set(set_id)
    meta = _document_meta(src)
    if "unit" not in meta and block_units:
        meta["unit"] = block_units[0]
    # every block read as each table of the set its title names: a title several forms share
    # ("财政拨款收支预算总表" of 宁夏, 上海 and 江苏; “财务收支预算总表” of a 部门 or 单位 budget) is settled by
    # the variant chosen below, whose tables include one of them
    readings: list[list[tuple[str, TableData, dict, Recognized]]] = []
    for b in blocks:
        cands = [c for c in b.cands if c.set_id == set_id]
        if not cands:
            where = b.lines[0].where[0] if b.lines else ""
            res.unplaced.append(Unplaced(where, b.lines[0].text() if b.lines else "", "表名属于另一类报表"))
            readings.append([])
            continue
        opts = []
        for cand in cands:
            scratch = Recognized(report=None)
            td, info = _read_block(tset.tables[cand.table_id], b, scratch)
            opts.append((cand.table_id, td, info, scratch))
        readings.append(opts)

    def pick(order: tuple[str, ...]) -> dict[str, tuple[_Block, TableData, dict, Recognized]]:
        chosen: dict[str, tuple[_Block, TableData, dict, Recognized]] = {}
        for b, opts in zip(blocks, readings):
            if not opts:
                continue
            fit = [o for o in opts if o[0] in order] or opts[:1]
            tid, td, info, scratch = max(fit, key=lambda o: o[3].placed)
            if info.get("skip"):
                continue
            prev = chosen.get(tid)
            if prev is not None and (prev[1].rows or prev[2].get("empty")):
                if td.rows:
                    # the same table twice: keep the first — or the second where it is read whole and the
                    # first is not (人大 2017 prints 公开06 twice, the first time in a grid that breaks its rows) —
                    # and report the other's numbers
                    if not scratch.unplaced and prev[3].unplaced and prev[1].rows:
                        chosen[tid] = (b, td, info, scratch)
                        b = prev[0]
                    chosen.setdefault(("dup", len(chosen)), (b, TableData(tid), {"dup": True}, _dup(b, tid)))
                continue
            chosen[tid] = (b, td, info, scratch)
        return chosen

    def _dup(b: _Block, tid: str) -> Recognized:
        scratch = Recognized(report=None)
        for line in b.lines:
            for v, w in zip(line.cells, line.where):
                if _is_number(v):
                    scratch.unplaced.append(Unplaced(w, str(v), f"表“{tset.tables[tid].title}”重复出现"))
        return scratch

    picks = {v.id: pick(v.order) for v in tset.variants.values()}
    variant = _choose_variant(tset, picks, meta, blocks)
    chosen = picks[variant.id]
    for _, _, _, scratch in chosen.values():
        res.unplaced.extend(scratch.unplaced)
        res.notes.extend(scratch.notes)
        res.numbers += scratch.numbers
        res.placed += scratch.placed
        if scratch.unit_code and not res.unit_code:
            res.unit_code = scratch.unit_code
    parsed = {tid: (b, td, info) for tid, (b, td, info, _) in chosen.items() if isinstance(tid, str)}
    present = list(parsed)
    units = [info.get("unit") for _, _, info in parsed.values() if info.get("unit")]
    amount_unit = meta.get("amount_unit") or (max(set(units), key=units.count) if units else variant.amount_unit)
    year = meta.get("year")
    rep = Report(set_id=tset.id, variant=variant.id, unit=meta.get("unit", ""), year=year,
                 amount_unit=amount_unit, origin=str(src.path), as_published=True,
                 unit_code=meta.get("unit_code", ""))
    for tid in variant.order:
        if tid in parsed:
            b, td, info = parsed[tid]
            rep.tables[tid] = td
            res.tables[tid] = b.lines[0].where[0] if b.lines else ""
            if info.get("unit"):
                res.table_units[tid] = info["unit"]
            if info.get("empty"):
                res.empty_tables.append(tid)
    for tid in present:
        if tid not in variant.order:
            b, td, info = parsed[tid]
            res.unplaced.append(Unplaced(b.lines[0].where[0], tset.tables[tid].title,
                                         f"版式“{variant.id}”不含此表"))
    for title, (bt, projects, where) in res.blocks.items():
        if bt.id in {b.id for b in _blocks_of(tset.id)}:
            rep.blocks[bt.id] = projects
            rep.blocks.setdefault("_sheets", {})[bt.id] = where
            res.tables[bt.id] = where
    if res.unit_code and not rep.unit_code:
        rep.unit_code = res.unit_code
    rep.no_data = tuple(res.empty_tables)     # printed with “本表无数据” (or with no body): checked as empty
    for tid, (_, _, _, scratch) in chosen.items():
        if isinstance(tid, str):
            rep.problems.extend(scratch.problems)
    for tid, (_, td, info, scratch) in chosen.items():
        if isinstance(tid, str) and tid in rep.tables and not info.get("empty"):
            unread = _unread_rows(tset.tables[tid], td, scratch.unplaced)
            if unread:
                rep.unread[tid] = unread
    # a table the variant requires that the document does not print: one M- finding, no cascade
    rep.not_published = tuple(t for t in variant.order if t not in rep.tables and not tset.tables[t].optional)
    if src.kind == "pdf" and res.numbers == 0 and not rep.blocks:
        # a PDF whose tables hold no number at all — its 情况说明 (a table's title in the 目录 read as a table),
        # the tables being another file: none of them is published here
        rep.tables_elsewhere = True
        rep.not_published = tuple(t for t in variant.order if not tset.tables[t].optional)
        rep.no_data = ()
        rep.tables.clear()
        res.empty_tables.clear()
        res.tables = {k: v for k, v in res.tables.items() if k in rep.blocks}   # (the report lists what was read)
    rep.use_variant(variant)
    res.report = rep
    return res


# ---------------------------------------------------------------- blocks

def _blocks(src: Source, orphans: list | None = None, units: list | None = None) -> list[_Block]:
    """The table blocks of the stream; table rows outside any block go to ``orphans``; a unit name
    printed before a 绩效 table's title goes to ``units``."""
    units = units if units is not None else []
    blocks: list[_Block] = []
    orphans = orphans if orphans is not None else []
    cur: _Block | None = None
    last_unit = -1
    own = False           # inside a sheet of our own (not a 公开表)
    block_at = ""         # inside a 绩效 block table (its title)
    width = 0             # cells of the block's last table row
    check_width = False   # a new page: its first table row must continue the block's table
    narrow_layout, narrow_unit = None, -1   # how a narrower continuation on page narrow_unit is laid out
    lines = src.lines
    for i, line in enumerate(lines):
        cands = _title_of(line)
        if not cands and line.is_text and i + 1 < len(lines) and lines[i + 1].is_text \
                and lines[i + 1].unit == line.unit and not _title_of(lines[i + 1]):
            # a title broken over two lines (“公开 09 表：一般公共预算“三公”经费、会议费、培训费” / “支出预算表”)
            cands = _title_of(Line(cells=[line.text() + lines[i + 1].text()], where=line.where, unit=line.unit,
                                   unit_name=line.unit_name, is_text=True))
        block_title = _block_title(line) if not cands else None
        if block_title:
            # a 绩效 table (one block per project): read by the 绩效 reader from its rows; what
            # stands before its title is the unit ("宁夏…局项目支出绩效目标表")
            prefix = norm_label(line.text())
            prefix = prefix[:prefix.rfind(norm_label(block_title))] if norm_label(block_title) in prefix else ""
            if prefix and not _YEAR_RE.search(prefix):
                units.append(prefix)
            cur = None
            own = False
            block_at = block_title
            continue
        if not cands and line.text() and _own_title(norm_label(line.text())):
            cur = None            # a sheet of our own (说明事项, 科目目录 …) printed with the tables
            own = True
            continue
        if cands and not any(c.table_id for c in cands):
            cur = None            # a table not expressed (江苏's 政府采购预算表): its rows are no table's
            own, block_at = False, ""
            continue
        if cands:
            own = False
            block_at = ""
        if cands and cur is not None and cands == cur.cands and line.unit != last_unit:
            last_unit = line.unit       # the title repeated on the next page (print titles)
            check_width = False
            continue
        if cands:
            cur = _Block(cands=cands, title_at=i, lines=[line])
            blocks.append(cur)
            last_unit = line.unit
            width, check_width = 0, False
            continue
        if cur is None:
            if not line.is_text and not own:
                if block_at:
                    line.context = block_at
                orphans.append(line)
            continue
        if line.unit != last_unit:
            last_unit = line.unit
            if src.kind == "workbook":
                # a sheet without a title continues the table above only when it starts with a
                # table row (several filled cells), not with a title or text of its own
                if sum(c not in (None, "") for c in line.cells) < 3 or len(line.cells) != width:
                    cur = None
                    orphans.append(line)
                    continue
            else:
                check_width = True
        if not line.is_text:
            if src.kind == "pdf" and width == 0 and line.unit > cur.lines[0].unit + 1:
                cur = None            # a title (table of contents) whose table never came
                orphans.append(line)
                continue
            if check_width and width and len(line.cells) != width:
                fitted = _total_line(line, width) if src.kind == "pdf" else None
                narrow = _narrow_layout(line, cur.lines) if src.kind == "pdf" and fitted is None else None
                if fitted is None and narrow is None:
                    cur = None            # another table (科目目录, 说明事项 …) on the next page
                    orphans.append(line)
                    continue
                if narrow is not None:    # the rows after it on this page are laid out as it is
                    line, narrow_layout = narrow
                    narrow_unit = line.unit
                else:
                    line = fitted         # the table's 合计 line alone on the next page, its label cells merged
            elif narrow_layout is not None and line.unit == narrow_unit and len(line.cells) == narrow_layout["width"]:
                line = _narrow_again(line, narrow_layout)
            check_width = False
            width = len(line.cells)
        cur.lines.append(line)
    return blocks


def _total_line(line: Line, width: int) -> Line | None:
    """A 合计/总计 line printed alone on the page after its table (上海 区级 预算: “合计 | 189,767,551 | …” with
    the 科目编码 and 名称 cells merged into one), as a line of the table's width: the label first, the amounts
    right-aligned under the table's last columns. None for anything else."""
    cells = list(line.cells)
    if not cells or len(cells) >= width or norm_label(str(cells[0] or "")) not in ("合计", "总计"):
        return None
    rest = cells[1:]
    if not any(_is_number(c) for c in rest) or not all(c in (None, "") or _is_number(c) or _dash(c) for c in rest):
        return None
    pad = width - len(cells)
    where = [line.where[0]] * (1 + pad) + [line.where[i] for i in range(1, len(cells))]
    return Line(cells=[cells[0]] + [""] * pad + rest, where=where, unit=line.unit, unit_name=line.unit_name,
                table=line.table)


def _narrow_layout(line: Line, above: list[Line]) -> tuple[Line, dict] | None:
    """A row of the table continued on the next page in a grid of its own (江苏省检察院 2018 公开08: “30299 |
    其他商品和服务支出 | 994.54” in three columns under a nine-column table), laid out as the table's last rows
    are: its filled cells, in order, in the columns where the last rows above start theirs, merged as theirs are.
    Only when it starts with a 科目编码 and the last two rows above had as many cells (its grid's own cells, empty
    or not: “221 | 住房保障支出 | ” is three), in the same columns. With the line so laid out, the layout itself
    (for :func:`_narrow_again`): the narrow grid's columns of the line's cells → the runs of the table's columns
    they went to, and the template row. None for anything else."""
    from xltools.catalog import normalize_code

    filled = [k for k in range(len(line.cells)) if k not in line.covered] if line.covered else _filled(line)
    cells = [line.cells[k] for k in filled]
    if not cells or line.cells[0] in (None, "") or not normalize_code(line.cells[0]):
        return None
    rows = [ln for ln in above if not ln.is_text and ln.unit == above[-1].unit]
    if not rows:
        return None
    tmpl = rows[-1]
    runs_of = tuple(_merged_runs(tmpl))
    # the table's last rows (at least two) start their cells in the same columns
    if len(runs_of) != len(cells) or len(rows) < 2 or tuple(_merged_runs(rows[-2])) != runs_of:
        return None
    layout = {"runs": dict(zip(filled, runs_of)), "tmpl": tmpl, "width": len(line.cells)}
    return _narrow_again(line, layout), layout


def _narrow_again(line: Line, layout: dict) -> Line:
    """Another line of the narrow grid, laid out as its first line was (:func:`_narrow_layout`): a cell goes to
    the run of the nearest narrow column at or left of its own (the amount of a 类 line on a ruled sub-row of its
    own, “| | | 1,052.83 |”, under the amounts), a covered cell's text with it."""
    runs, tmpl = layout["runs"], layout["tmpl"]
    known = sorted(runs)
    out = [""] * len(tmpl.cells)
    spans: dict = {}
    moved: dict = {}

    def run_of(k):
        at = [p for p in known if p <= k]
        return runs[at[-1]] if at else None

    for k, v in enumerate(line.cells):
        r = run_of(k)
        if r is None:
            continue
        c, end = r
        if v in (None, ""):
            if k in line.spans:           # covered by a merged cell (of the line above): so is its run
                for j in range(c, end):
                    spans.setdefault(j, line.spans[k])
            continue
        if out[c] not in (None, ""):
            return line                   # two cells for one column: not this layout
        out[c], moved[c] = v, k
        for j in range(c + 1, end):
            if j in tmpl.spans:
                spans[j] = v
    where = [line.where[min(moved.get(i, i), len(line.where) - 1)] for i in range(len(out))]
    return Line(cells=out, where=where, unit=line.unit, unit_name=line.unit_name, spans=spans, table=line.table)


def _document_meta(src: Source) -> dict:
    meta: dict = {}
    years: dict[int, int] = {}
    for line in src.lines[:4000]:
        text = "".join(str(c) for c in line.cells if c not in (None, ""))
        t = _nfkc(text).strip()
        if not t or len(t) > 80:
            continue
        m = _DEPT_RE.search(_WS.sub("", t))
        if m and "unit" not in meta:
            name = m.group(1).strip("：: ")
            if name and not _is_number(name):
                meta["unit"] = name
        for y in _YEAR_RE.findall(t):
            years[int(y)] = years.get(int(y), 0) + (3 if ("决算" in t or "预算" in t) else 1)
    if src.kind == "pdf" and src.text_pages:
        first = "".join(src.text_pages[0][:6])
        first = _WS.sub("", _nfkc(first))
        m = re.match(r"^(.+?)(?:20\d{2})?年度?(?:部门|单位)?(?:决算|预算)", first)
        if "unit" not in meta and m and 2 <= len(m.group(1)) <= 40:
            meta["unit"] = re.sub(r"20\d{2}$", "", m.group(1))
        for y in _YEAR_RE.findall(first) + re.findall(r"(20\d{2})", first):
            years[int(y)] = years.get(int(y), 0) + 5
    if years:
        meta["year"] = max(years, key=lambda y: (years[y], y))
    return meta


def _choose_variant(tset, picks: dict, meta: dict, blocks: list | None = None):
    """The declared variant that fits the printed tables best: the tables it has, how many numbers its forms
    place, the order they were printed in, the amount unit, and whether 类/款 rows are printed in functional
    tables; last, how many of the titles printed (``blocks``, a 目录's included) are its tables' — a 情况说明
    whose tables are another file lists them in its 目录. ``picks`` holds, per variant, each block read as the
    variant's table of that title."""
    def score(v):
        titled = sum(1 for b in blocks or () if any(c.table_id in v.order for c in b.cands))
        parsed = {tid: x for tid, x in picks[v.id].items() if isinstance(tid, str)}
        present = list(parsed)
        units = [info.get("unit") for _, _, info, _ in parsed.values() if info.get("unit")]
        unit = max(set(units), key=units.count) if units else None
        hier = any(r.kind == "class" for tid, (_, td, _, _) in parsed.items()
                   if tset.tables[tid].detail_kind == "functional" for r in td.rows.values())
        order = list(v.order)
        covered = sum(t in order for t in present)
        missing = len({t for t in order if not tset.tables[t].optional} - set(present))   # 公开10 may be absent
        placed = sum(x[3].placed for tid, x in parsed.items() if tid in order)
        pos = [order.index(t) for t in present if t in order]
        in_order = sum(1 for i in range(len(pos)) for j in range(i + 1, len(pos)) if pos[i] < pos[j])
        # nothing read (a 目录 alone): the titles decide before the tables a variant would miss
        return (covered, 0 if covered else titled, -missing, placed, in_order, unit == v.amount_unit,
                v.hierarchy == hier, titled)
    return max(tset.variants.values(), key=score)


# ---------------------------------------------------------------- one table

def _is_number(v) -> bool:
    if v is None or v == "":
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return True
    return isinstance(v, str) and _text_is_number(v)


@functools.lru_cache(maxsize=65536)
def _text_is_number(v: str) -> bool:
    return parse_amount(v)[0] is not None


def _first_text(line: Line) -> str:
    for c in line.cells:
        if c not in (None, ""):
            return norm_label(str(c))
    return ""


@dataclass
class _Col:
    index: int
    header: tuple[str, ...]
    role: str = "value"          # code | codename | label | lineno | value


@dataclass
class _Segment:
    codes: list[int] = field(default_factory=list)
    label: int | None = None
    lineno: int | None = None
    values: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)   # every label column (a group and its item: 江苏 公开02)


def _read_block(table, b: _Block, res: Recognized) -> tuple[TableData, dict]:
    from xltools.catalog import normalize_code

    info: dict = {}
    lines = b.lines[1:]
    td = TableData(table.id, sheet=b.lines[0].unit_name)
    # meta lines (公开部门 / 金额单位 / 表号) and where the header starts
    body_start = 0
    for i, line in enumerate(lines):
        t = _WS.sub("", _nfkc(line.text()))
        m = _UNIT_RE.search(t)
        if m:
            info["unit"] = m.group(1)
        if line.is_text or (not line.is_text and len([c for c in line.cells if c not in (None, "")]) <= 2
                            and (m or t.startswith("公开") or "部门：" in t or re.fullmatch(r".*表\d*", t or "x"))
                            and not any(_is_number(c) for c in line.cells)):
            if any(k in t for k in _EMPTY_TABLE):
                info["empty"] = True
            body_start = i + 1
            continue
        break
    # table rows up to the end of the block; text lines inside (page headers, notes) are skipped
    rows = [ln for ln in lines[body_start:] if not ln.is_text]
    # “本表无数据” printed as text on the title's page or the table's first page — not the words of a 情况说明
    # further on, which a block whose table was left out of the file runs into (“…无此项…”)
    near = {b.lines[0].unit, *(r.unit for r in rows[:1])}
    for ln in lines[body_start:]:
        if ln.is_text and ln.unit in near and any(k in ln.text() for k in _EMPTY_TABLE):
            info["empty"] = True
    if not rows:
        if not info.get("empty"):
            info["skip"] = True       # a title with nothing under it (a table of contents line)
        return td, info
    width = max(len(r.cells) for r in rows)
    # data lines: a number in some cell, or a 科目编码; the 栏次 line is a header
    first_data = None
    for i, r in enumerate(rows):
        head = _first_text(r)
        if head in ("栏次", "行次") or head.startswith("栏次"):
            continue
        if any(_is_number(c) for c in r.cells) or _code_cells(r, normalize_code):
            first_data = i
            break
    if first_data is None:
        if any(any(k in r.text() for k in _EMPTY_TABLE) for r in rows):
            info["empty"] = True
            return td, info
        info["empty"] = True
        return td, info
    header_lines = [r for r in rows[:first_data] if _first_text(r) not in ("栏次", "行次")]
    # a repeated header on a later page: lines equal to a header line are not data
    header_keys = {tuple(_WS.sub("", str(c)) for c in r.cells) for r in header_lines}
    tail = rows[first_data:]
    for i, r in enumerate(tail):
        if _first_text(r).startswith(("注:", "说明:", "备注:")):
            tail = tail[:i]       # the table's note ends its body
            break
    data = [r for r in tail if tuple(_WS.sub("", str(c)) for c in r.cells) not in header_keys
            and _first_text(r) not in ("栏次", "行次")]
    data = _sub_rows(_under_headers(_wrapped(data), header_lines, width))
    cols = _columns(header_lines, data, width, normalize_code)
    segments = _segments(cols)
    _place(table, segments, cols, data, td, res, normalize_code)
    return td, info


def _merged_runs(ln: Line):
    """(first column, end) of each non-empty cell of a line and the grid columns it covers (pdfplumber may
    leave one covered column out of its cover: a gap of one is bridged when the next column is covered by the
    same cell, and a covered column whose cover it could not name, right of the cell, is the cell's)."""
    cells = ln.cells
    c = 0
    while c < len(cells):
        if cells[c] in (None, ""):
            c += 1
            continue
        end = c + 1
        while end < len(cells) and cells[end] in (None, "") and (
                ln.spans.get(end) == cells[c] or (end in ln.covered and end not in ln.spans)
                or (end + 1 < len(cells) and cells[end + 1] in (None, "") and ln.spans.get(end + 1) == cells[c])):
            end += 1
        yield c, end
        c = end


def _under_headers(data: list[Line], header_lines: list[Line], width: int) -> list[Line]:
    """Data cells merged over several grid columns of which exactly one has a header, the cell starting in a
    column without one, are read under that header: a header ruled over two or three grid columns with its text
    in the middle one, the data cells below them merged from the first (江苏省检察院 2018/2019: “科目编码” in
    the 2nd of three columns, the codes in the 1st). The lines are copied, not changed."""
    if not header_lines or not any(ln.spans for ln in data):
        return data
    paths = _header_paths(header_lines, width)
    headed = [bool(p) for p in paths]
    out = []
    for ln in data:
        moved = None
        for c, end in _merged_runs(ln):
            if end - c > 1 and c < width and not headed[c]:
                under = [k for k in range(c + 1, min(end, width)) if headed[k]]
                if len({paths[k] for k in under}) == 1:      # one header (“金额” merged over four columns)
                    under = under[:1]
                if len(under) == 1:
                    moved = list(ln.cells) if moved is None else moved
                    moved[under[0]], moved[c] = ln.cells[c], ""
        out.append(ln if moved is None else replace(ln, cells=moved))
    return out


def _filled(ln: Line) -> list[int]:
    """The columns of a line's non-empty cells."""
    return [k for k, v in enumerate(ln.cells) if v not in (None, "")]


def _wrapped(data: list[Line]) -> list[Line]:
    """Labels wrapped over ruled sub-rows (江苏省检察院 2018 公开01: “1.一般公共预” / “| 21,940.96 | 二、外交支出 …” /
    “算”, the amounts and the other panels on the middle sub-row): a line of labels alone whose cells the next line
    leaves covered (pdfplumber's None) goes into that line; a line of short labels alone, every other cell of it
    covered, below labels in the same columns ends them. The lines are copied, not changed."""
    def labels_only(ln):
        filled = _filled(ln)
        return filled if filled and not any(_is_number(ln.cells[k]) for k in filled) else None

    out: list[Line] = []
    for ln in data:
        prev = out[-1] if out else None
        if prev is None or prev.unit != ln.unit or not ln.covered:
            out.append(ln)
            continue
        top, mine = labels_only(prev), labels_only(ln)
        if top and any(_is_number(v) for v in ln.cells) and \
                all(k < len(ln.cells) and ln.cells[k] in (None, "") and k in ln.covered for k in top):
            cells = list(ln.cells)
            for k in top:
                cells[k] = prev.cells[k]
            out[-1] = replace(ln, cells=cells)
            continue
        if mine and set(range(len(ln.cells))) - set(mine) <= ln.covered and \
                all(len(str(ln.cells[k])) <= 8 and k < len(prev.cells) and isinstance(prev.cells[k], str)
                    and prev.cells[k] and not _is_number(prev.cells[k]) for k in mine):
            cells = list(prev.cells)
            for k in mine:
                cells[k] = f"{prev.cells[k]}{ln.cells[k]}"
            out[-1] = replace(prev, cells=cells)
            continue
        out.append(ln)
    return out


def _sub_rows(data: list[Line]) -> list[Line]:
    """A line of amounts alone is the line its cells are merged with, over ruled sub-rows (江苏省检察院 2018
    公开05–08): the line above when its other cells are covered by that line's (a 类 line's code and name merged
    over three sub-rows, its amount in the middle one: “301 | 工资福利支出 |” then “| | 10,204.52”), or the line
    below when its amounts cover that line's empty cells (“| | 21,940.96” over “| 合计 |”). Its amounts go into that
    line's empty cells; the lines are copied, not changed."""
    def amounts_only(ln):
        filled = _filled(ln)
        return filled if filled and all(_is_number(ln.cells[k]) for k in filled) else None

    def merged(into: Line, src: Line, ks) -> Line:
        cells, where = list(into.cells), list(into.where)
        for k in ks:
            cells[k] = src.cells[k]
            if k < len(where) and k < len(src.where):
                where[k] = src.where[k]
        return replace(into, cells=cells, where=where)

    out: list[Line] = []
    for ln in data:
        prev = out[-1] if out else None
        if prev is None or prev.unit != ln.unit:
            out.append(ln)
            continue
        mine, theirs = amounts_only(ln), amounts_only(prev)
        if mine and all(k < len(prev.cells) and prev.cells[k] in (None, "") for k in mine):
            own = {str(ln.cells[k]) for k in mine}
            above = {str(v) for v in prev.cells if v not in (None, "")}
            if any(str(v) in above and str(v) not in own for v in ln.spans.values()):
                out[-1] = merged(prev, ln, mine)
                continue
        if theirs and not mine and all(k < len(ln.cells) and ln.cells[k] in (None, "")
                                       and ln.spans.get(k) == prev.cells[k] for k in theirs):
            out[-1] = merged(ln, prev, theirs)
            continue
        out.append(ln)
    return out


def _code_cells(line: Line, normalize_code) -> bool:
    for c in line.cells[:4]:
        if c in (None, ""):
            continue
        if normalize_code(c) and len(str(normalize_code(c))) in (3, 5, 7) and str(normalize_code(c))[0] in "235":
            return True
        if isinstance(c, str) and _CODE_NAME.match(c) and _CODE_NAME.match(c).group(1).replace(" ", "")[0] in "235":
            return True
    return False


def _header_paths(header_lines: list[Line], width: int) -> list[tuple[str, ...]]:
    grid = []
    for ln in header_lines:
        row = []
        for c in range(width):
            v = ln.cells[c] if c < len(ln.cells) else ""
            if v in (None, "") and c in ln.spans:
                v = ln.spans[c]
            row.append(norm_header(str(v)) if v not in (None, "") else "")
        grid.append(row)
    # a parent header printed once over its children (merged without a merge record): fill it to the
    # right while the header lines below have their own entries there
    for r in range(len(grid) - 1):
        for c in range(1, width):
            if grid[r][c] == "" and grid[r][c - 1] != "" and any(grid[k][c] for k in range(r + 1, len(grid))) \
                    and _raw(header_lines[r], c) not in (None,) and c not in header_lines[r].spans:
                if any(grid[k][c - 1] for k in range(r + 1, len(grid))):
                    grid[r][c] = grid[r][c - 1]
    paths = []
    for c in range(width):
        parts: list[str] = []
        for r in range(len(grid)):
            p = grid[r][c]
            if p and (not parts or parts[-1] != p):
                parts.append(p)
        paths.append(tuple(parts))
    return paths


def _raw(line: Line, c: int):
    return line.cells[c] if c < len(line.cells) else ""


_CODE_HEADERS = ("编码", "代码", "科目代码")


def _columns(header_lines, data, width, normalize_code) -> list[_Col]:
    paths = _header_paths(header_lines, width)
    cols = []
    for c in range(width):
        path = paths[c]
        body = [r.cells[c] for r in data if c < len(r.cells) and r.cells[c] not in (None, "")
                and not _dash(r.cells[c])]
        n = len(body)
        numeric = sum(_is_number(v) for v in body)
        codeish = sum(bool(_CODE_PART.match(_WS.sub("", _nfkc(v)).removesuffix(".0"))) for v in body
                      if isinstance(v, (str, int, float)) and not isinstance(v, bool))
        codename = sum(bool(isinstance(v, str) and _CODE_NAME.match(v)) for v in body)
        joined = "".join(path)
        role = "value"
        leaf = path[-1] if path else ""
        if leaf in ("行次",) or joined.endswith("行次"):
            role = "lineno"
        elif (any(h in joined for h in _CODE_HEADERS) or leaf in ("类", "款", "项")) and (n == 0 or codeish >= n / 2):
            role = "code"
        elif n and codename >= n / 2:
            role = "codename"
        elif n and numeric < n / 2:
            role = "label"
        elif not n and any(k in joined for k in ("项目", "科目名称", "名称")):
            role = "label"
        elif not n and not path:
            role = "blank"        # an empty column (inserted, or a margin): belongs to nothing
        cols.append(_Col(c, path, role))
    return cols


def _segments(cols: list[_Col]) -> list[_Segment]:
    segs: list[_Segment] = []
    cur: _Segment | None = None
    for col in cols:
        if col.role in ("code", "codename", "label"):
            if cur is None or cur.values:
                cur = _Segment()
                segs.append(cur)
            if col.role == "code":
                cur.codes.append(col.index)
            elif col.role == "codename":
                cur.codes.append(col.index)
                cur.label = cur.label if cur.label is not None else col.index
            else:
                cur.labels.append(col.index)
                if cur.label is None:
                    cur.label = col.index
        elif col.role == "blank":
            continue
        elif col.role == "lineno":
            if cur is not None:
                cur.lineno = col.index
        else:
            if cur is None:
                cur = _Segment()
                segs.append(cur)
            cur.values.append(col.index)
    return [s for s in segs if s.values and (s.label is not None or s.codes or any(cols[c].header for c in s.values))]


# ---------------------------------------------------------------- placing rows and columns

@functools.lru_cache(maxsize=4096)
def _spec_paths(col) -> tuple[str, ...]:
    return tuple(p for p in (norm_header(x) for x in col.label) if p)


_SYNONYMS = {"金额": {"决算数", "统计数", "数额", "金额"}, "决算数": {"金额", "决算数"},
             "统计数": {"金额", "统计数", "数量"}}


def _joined(path: tuple[str, ...]) -> set[str]:
    """A header path's parts and every run of consecutive parts joined: a header wrapped over ruled sub-rows
    (“单位预留机动经 / 费”, “因公出国 / (境)费”, 江苏省检察院 2018) reads as its whole label."""
    return {"".join(path[i:j]) for i in range(len(path)) for j in range(i + 1, len(path) + 1)}


def _col_score(spec: tuple[str, ...], path: tuple[str, ...]):
    if not spec:
        return None
    have = _joined(path) if len(path) > 1 else set(path)
    leaf = spec[-1]
    leaf_ok = leaf in have or bool(_SYNONYMS.get(leaf, set()) & have)
    parents = spec[:-1]
    if not leaf_ok and leaf in ("小计", "合计") and parents and path and path[-1] == parents[-1]:
        leaf_ok = True           # "事业收入" printed without its 小计 / 其中 columns
    if not leaf_ok:
        alt = {_strip_parens(h) for h in have}
        leaf_ok = _strip_parens(leaf) in alt
    weak = False
    if not leaf_ok and path and path[-1] in ("合计", "小计") and leaf.endswith(path[-1]) and not parents:
        leaf_ok = weak = True    # "合计" printed for 本年支出合计
    if not leaf_ok:
        return None
    present = sum(p in have for p in parents)
    if present < len(parents):
        return None
    exact_leaf = bool(path) and path[-1] == leaf
    return (present, not weak, exact_leaf, -len(path))


def _match_columns(value_cols: list[int], cols: list[_Col], spec_cols) -> dict[int, str]:
    pairs = []
    for c in value_cols:
        for sc in spec_cols:
            s = _col_score(_spec_paths(sc), cols[c].header)
            if s is not None:
                pairs.append((s, c, sc.key))
    pairs.sort(key=lambda x: x[0], reverse=True)
    out: dict[int, str] = {}
    used: set[str] = set()
    for s, c, key in pairs:
        if c in out or key in used:
            continue
        out[c] = key
        used.add(key)
    # one value column and one spec column left: they are each other's, whatever the header says
    free_c = [c for c in value_cols if c not in out]
    free_k = [sc.key for sc in spec_cols if sc.key not in used]
    if len(value_cols) == 1 and len(spec_cols) == 1 and free_c and free_k:
        out[free_c[0]] = free_k[0]
    return out


def _row_code(line: Line, seg: _Segment, normalize_code, padded: list | None = None) -> tuple[str | None, str]:
    """(科目编码 or None, printed name) of a line within a segment. A 款/项 part printed as one digit after the
    类 in its own column (“301 | 2”: a code cell formatted as a number lost its leading 0) is read as “02” and
    its cell is put into ``padded``."""
    name = ""
    if seg.label is not None and seg.label < len(line.cells):
        name = str(line.cells[seg.label] or "").strip()
    parts = []
    for c in seg.codes:
        v = line.cells[c] if c < len(line.cells) else ""
        if v in (None, ""):
            continue
        if isinstance(v, str):
            m = _CODE_NAME.match(v)
            if m and not _CODE_PART.match(_WS.sub("", v)):
                parts.append(m.group(1).replace(" ", ""))
                if c == seg.label or not name or name == v:
                    name = m.group(2).strip()
                continue
        t = _WS.sub("", _nfkc(v)) if isinstance(v, str) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        t = t.removesuffix(".0")
        if _CODE_PART.match(t):
            parts.append(t)
        elif len(t) == 1 and t.isdigit() and parts and len(seg.codes) > 1 and padded is not None:
            parts.append("0" + t)
            padded.append((c, t))
    if not parts and not name:
        # 合计 / 人员经费合计 printed across the code and name cells
        for c in (*seg.codes, *([seg.label] if seg.label is not None else [])):
            v = line.cells[c] if c < len(line.cells) else ""
            if v in (None, "") and c in line.spans:
                v = line.spans[c]
            if isinstance(v, str) and v.strip() and not _is_number(v):
                name = v.strip()
                break
    if not parts and name and normalize_code(name):
        return normalize_code(name), ""
    if not parts and name:
        m = _CODE_NAME.match(name)
        if m:
            return normalize_code(m.group(1)), m.group(2).strip()
    if not parts:
        return None, name
    code = normalize_code("".join(parts))
    return code, name


def _place(table, segments, cols, data, td: TableData, res: Recognized, normalize_code) -> None:
    fixed_panels = [p for p in table.panels if not p.is_detail]
    detail_panels = [p for p in table.panels if p.is_detail]
    leaf_len = 7 if table.detail_kind == "functional" else 5
    # each segment -> the panel(s) its rows belong to
    seg_panels: list[list] = []
    label_index = []
    for p in fixed_panels:
        idx: dict[str, list] = {}
        alt: dict[str, list] = {}
        for row in (*p.rows, *p.footer):
            if row.key:
                for label in (row.label, *row.aliases):     # aliases: other labels publications print
                    idx.setdefault(norm_label(label), []).append(row)
                    alt.setdefault(_strip_parens(norm_label(label)), []).append(row)
        label_index.append((p, idx, alt))
    footers = {}
    for p in detail_panels:
        for row in p.footer:
            for label in (row.label, *row.aliases):
                footers[norm_label(label)] = (p, row)
    used_fixed = set()
    for si, seg in enumerate(segments):
        if fixed_panels:
            # the fixed panel whose labels this segment's lines match most (ties: the next unused one)
            best = None
            for pi, (p, idx, alt) in enumerate(label_index):
                hits = 0
                for line in data:
                    if seg.label is None or seg.label >= len(line.cells):
                        continue
                    lab = norm_label(str(line.cells[seg.label] or ""))
                    if lab and (lab in idx or _strip_parens(lab) in alt):
                        hits += 1
                key = (hits, pi not in used_fixed, -pi)
                if best is None or key > best[0]:
                    best = (key, pi)
            if best and best[0][0] > 0:
                used_fixed.add(best[1])
                seg_panels.append([label_index[best[1]]])
                continue
        keyed = [(p, idx, alt) for p, idx, alt in label_index if len([r for r in p.rows if r.key]) == 1]
        if seg.label is None and len(fixed_panels) == 1 and keyed:
            seg_panels.append([keyed[0]])     # 三公 table: one line of amounts, no label printed
            continue
        seg_panels.append([])
    placed_on: dict[int, tuple] = {}    # id(line) -> (the fixed row a segment read from it, its panel's columns)
    for seg, panels in zip(segments, seg_panels):
        if panels:
            p, idx, alt = panels[0]
            colmap = _match_columns(seg.values, cols, p.columns)
        else:
            spec_cols = []
            seen = set()
            for p in detail_panels:
                for sc in p.columns:
                    if sc.key not in seen:
                        seen.add(sc.key)
                        spec_cols.append(sc)
            colmap = _match_columns(seg.values, cols, spec_cols)
        for line in data:
            nums = [(c, line.cells[c]) for c in seg.values if c < len(line.cells) and _is_number(line.cells[c])]
            res.numbers += len(nums)
            rd = None
            if panels:
                lab_raw = line.cells[seg.label] if seg.label is not None and seg.label < len(line.cells) else ""
                lab = norm_label(str(lab_raw or ""))
                row = None
                if seg.lineno is not None:
                    ln = line.cells[seg.lineno] if seg.lineno < len(line.cells) else None
                    amount, _ = parse_amount(ln)
                    if amount is not None and amount == amount.to_integral_value():
                        row = next((r for r in (*p.rows, *p.footer) if r.key and r.lineno == int(amount)), None)
                        if row is not None and lab and not any(
                                norm_label(x) == lab or _strip_parens(norm_label(x)) == _strip_parens(lab)
                                for x in (row.label, *row.aliases)):
                            row = None      # the 行次 disagrees with the label: the label decides
                if row is None and seg.label is None:
                    row = next(r for r in p.rows if r.key)
                if row is None and len(seg.labels) > 1:
                    # a label printed in two cells, a group and its item (“一般公共预算资金 | 小计”,
                    # “ | 公共财政拨款(补助)资金”): the cells read together
                    joined = norm_label("".join(str(line.cells[c] or "") for c in seg.labels if c < len(line.cells)))
                    if joined != lab and (joined in idx or _strip_parens(joined) in alt):
                        lab = joined
                if row is None and lab:
                    # a label printed twice in a panel (一、一般公共预算财政拨款 as income and as
                    # 年初结转): the first of its rows not yet taken, in the panel's order
                    same = idx.get(lab) or alt.get(_strip_parens(lab)) or []
                    row = next((r for r in same if r.key not in td.rows), same[0] if same else None)
                if row is not None:
                    kind = "footer" if row in p.footer else ("total" if row.style == "total" else "fixed")
                    rd = RowData(key=row.key, label=str(lab_raw).strip() or row.label, panel=p.id,
                                 source=_loc(line, seg.label) if seg.label is not None else _loc(line, 0), kind=kind)
            elif detail_panels:
                padded: list = []
                code, name = _row_code(line, seg, normalize_code, padded)
                if padded and code is not None:
                    from xltools.rules.engine import Finding
                    for c, printed in padded:
                        where_c = _loc(line, c)
                        res.problems.append(Finding(
                            "C-01", "warning", table.id, where_c,
                            f"{where_c} 的科目编码一段印为“{printed}”（缺前导 0），已按 {code} 读取；请改为“0{printed}”",
                            actual=printed))
                where = _loc(line, seg.codes[0]) if seg.codes else (_loc(line, seg.label) if seg.label is not None else _loc(line, 0))
                nlab = norm_label(name)
                if table.total_label == "unit" and "total" not in td.rows and code is None and \
                        _unit_code(line, seg):
                    # 表二 prints the unit's code and name on its 合计 line
                    res.unit_code = _unit_code(line, seg)
                    rd = RowData(key="total", label=name or "合计", panel=detail_panels[0].id, source=where,
                                 kind="total")
                elif code is None and (nlab in ("合计", "总计") or nlab.endswith("合计") and nlab in footers) :
                    if nlab in footers:
                        p, row = footers[nlab]
                        rd = RowData(key=row.key, label=name, panel=p.id, source=where, kind="footer")
                    else:
                        rd = RowData(key="total", label=name or "合计", panel=detail_panels[0].id, source=where,
                                     kind="total")
                elif code is None and nlab in footers:
                    p, row = footers[nlab]
                    rd = RowData(key=row.key, label=name, panel=p.id, source=where, kind="footer")
                elif code is not None:
                    panel = next((p for p in detail_panels if not p.classes or code[:3] in p.classes), None)
                    if panel is not None:
                        rd = RowData(key=code, label=name, panel=panel.id, source=where,
                                     kind="detail" if len(code) == leaf_len else "class")
            if rd is None:
                if nums and all(parse_amount(v)[0] == 0 for _, v in nums) and not _row_text(line, seg):
                    res.numbers -= len(nums)
                    continue        # a blank input row whose totals show 0: nothing printed in it
                empty_label = panels and seg.label is not None and \
                    (seg.label >= len(line.cells) or line.cells[seg.label] in (None, ""))
                left = placed_on.get(id(line)) if empty_label else None
                if nums and left is not None and len(nums) == 1 and not left[0].values and len(left[1]) == 1 and \
                        all(c < len(line.cells) and line.cells[c] in (None, "") and
                            norm_label(str(line.spans.get(c) or "")) == norm_label(left[0].label) for c in left[2]):
                    # the label of the row to the left printed across its own amount cell and this panel's empty
                    # label cell (江苏 公开01: “当年支出小计” merged over 功能 金额, its amount under 支出用途 金额)
                    c, raw = nums[0]
                    amount, _ = parse_amount(raw)
                    left[0].values[left[1][0]] = Value(amount, source=_loc(line, c))
                    res.placed += 1
                    continue
                if nums:
                    text = " ".join(str(c) for c in line.cells if c not in (None, ""))
                    res.unplaced.append(Unplaced(_loc(line, nums[0][0]), text[:80], "无法确定所在行（科目编码或项目名称不符）"))
                continue
            if panels:
                placed_on[id(line)] = (rd, [c.key for c in p.columns], seg.values)
            for c in seg.values:
                if c >= len(line.cells):
                    continue
                raw = line.cells[c]
                if raw in (None, ""):
                    continue
                key = colmap.get(c)
                if key is None:
                    if _is_number(raw):
                        res.unplaced.append(Unplaced(_loc(line, c), str(raw),
                                                     f"无法确定所在栏（表头“{'/'.join(cols[c].header) or '空'}”）"))
                    continue
                amount, problem = parse_amount(raw)
                if problem == "text" and amount is None:
                    problem = None          # "-", "—": printed as empty
                elif problem == "text" and not isinstance(raw, str):
                    problem = None
                elif problem == "text" and line.table >= 0:
                    problem = None          # a PDF prints every number as text
                if amount is None and problem is None:
                    continue
                rd.values[key] = Value(amount, source=_loc(line, c), raw=raw if problem else None, problem=problem)
                if amount is not None:
                    res.placed += 1
            prev = td.rows.get(rd.key)
            if prev is None:
                td.rows[rd.key] = rd
            elif rd.values and not (set(rd.values) & set(prev.values)) and prev.source.split("!")[0] == rd.source.split("!")[0] \
                    and prev.source != rd.source and not prev.values:
                prev.values.update(rd.values)
            elif rd.values and prev.values and not (set(rd.values) & set(prev.values)) and \
                    _same_line(prev, rd):
                prev.values.update(rd.values)     # one printed line read by two segments
            elif rd.values:
                td.duplicates.append(rd)


def _row_text(line: Line, seg: _Segment) -> str:
    cols = [*seg.codes, *([seg.label] if seg.label is not None else [])]
    return "".join(str(line.cells[c]) for c in cols if c < len(line.cells) and line.cells[c] not in (None, ""))


def _unit_code(line: Line, seg: _Segment) -> str:
    for c in (*seg.codes, *([seg.label] if seg.label is not None else [])):
        v = line.cells[c] if c < len(line.cells) else ""
        t = _WS.sub("", _nfkc(v)) if v not in (None, "") else ""
        m = re.match(r"^(\d{6,12})(?:\.0)?", t)
        if m and len(m.group(1)) not in (7,):
            return m.group(1)
    return ""


_MONEY = re.compile(r"^-?[\d,]*\d\.\d{1,2}$|^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def _report_orphans(orphans: list[Line], res: Recognized) -> None:
    """Table rows under no recognised title: each run of them (a table we do not know) is listed
    once, with how many amounts it holds; only amounts (not 序号 or counts) make the import
    incomplete."""
    runs: list[list[Line]] = []
    for line in orphans:
        if runs and runs[-1][-1].unit in (line.unit, line.unit - 1) and runs[-1][-1].table == line.table \
                and len(runs[-1][-1].cells) == len(line.cells):
            runs[-1].append(line)
        else:
            runs.append([line])
    for run in runs:
        amounts = [(ln, c) for ln in run for c in ln.cells
                   if isinstance(c, str) and _MONEY.match(_WS.sub("", _nfkc(c)))
                   or isinstance(c, float) and not c.is_integer()]
        first = next((ln for ln in run if ln.text()), run[0])
        text = " ".join(str(c) for c in first.cells if c not in (None, ""))[:60]
        context = getattr(run[0], "context", "")
        if context:
            ln, c = amounts[0] if amounts else (first, next((x for x in first.cells if x not in (None, "")), ""))
            res.unplaced.append(Unplaced(ln.where[ln.cells.index(c)] if c in ln.cells else ln.where[0], text,
                                         f"属于“{context}”（绩效表按项目分块，暂不能导入；{len(run)} 行，{len(amounts)} 个金额）",
                                         kind="block"))
        elif amounts:
            ln, c = amounts[0]
            res.unplaced.append(Unplaced(ln.where[ln.cells.index(c)], text,
                                         f"不在任何可识别的公开表内（{len(run)} 行，{len(amounts)} 个金额）"))
        else:
            res.notes.append(Unplaced(first.where[0], text, f"非公开表内容，未导入（{len(run)} 行）"))


_NO_ROW = "无法确定所在行"
_NO_COL = "无法确定所在栏"


def _line_key(where: str) -> str:
    """The printed line a cell stands on: "第1页第26行（表1）" for "第1页第26行第6栏（表1）", "Sheet!26" for "Sheet!F26"."""
    m = re.match(r"(第\d+页第\d+行)第\d+栏(（表\d+）)?", where)
    if m:
        return m.group(1) + (m.group(2) or "")
    m = re.match(r"(.*)!\$?[A-Z]{1,3}\$?(\d+)$", where)
    return f"{m.group(1)}!{m.group(2)}" if m else where


def _unread_rows(table, td: TableData, unplaced: list[Unplaced]) -> frozenset:
    """The rows of a recognised table whose amounts are unknown (``Report.unread``): where some printed number
    of the table found no row, every fixed row not found (the number may be its), every row read from a line
    holding such a number with a cell left empty (a label merged over the next panel's label: 江苏's
    “当年支出小计” with its amount under 支出用途), and "*" (a sum over the table's rows may lack that number);
    and, whatever was placed, a 合计 row not found (a total printed on a page of its own)."""
    lines = {_line_key(u.where) for u in unplaced if u.why.startswith(_NO_ROW)}
    no_col = {_line_key(u.where) for u in unplaced if u.why.startswith(_NO_COL)}
    out: set[str] = set()
    fixed = table.fixed_rows()
    if no_col:
        # a number of a row's line under a header no column matched: the row's empty cells may be it
        out.update(_with_empty_cell(table, td, no_col))
    if lines:
        out.add("*")
        out.update(r.key for _, r in fixed if r.key not in td.rows)
        out.update(_with_empty_cell(table, td, lines))
        # a 合计 printed without its amount while an amount of the table found no row: likely its own, printed a
        # line off (江苏 2018: “合计” on one ruled line, 21,940.96 on the line above)
        out.update(k for k, rd in td.rows.items() if rd.kind == "total" and
                   any(v.amount is None for v in rd.values.values()) | (not rd.values))
    out.update(r.key for _, r in fixed if r.style == "total" and r.key not in td.rows)
    if table.is_detail and "total" not in td.rows:
        out.add("total")
    return frozenset(out)


def _with_empty_cell(table, td: TableData, lines: set[str]) -> set[str]:
    """The rows read from one of ``lines`` that leave a cell of their panel empty."""
    panels = {p.id: p for p in table.panels}
    out = set()
    for key, rd in td.rows.items():
        at = {_line_key(rd.source)} | {_line_key(v.source) for v in rd.values.values() if v.source}
        panel = panels.get(rd.panel)
        cols = [c.key for c in panel.columns] if panel is not None else []
        if at & lines and any(rd.values.get(c) is None or rd.values[c].amount is None for c in cols):
            out.add(key)
    return out


def _same_line(a: RowData, b: RowData) -> bool:
    va = next(iter(a.values.values())).source
    vb = next(iter(b.values.values())).source
    ra = re.sub(r"^.*!\D+", "", va) if "!" in va else re.sub(r"第\d+栏.*$", "", va)
    rb = re.sub(r"^.*!\D+", "", vb) if "!" in vb else re.sub(r"第\d+栏.*$", "", vb)
    return va.split("!")[0] == vb.split("!")[0] and ra == rb


@functools.lru_cache(maxsize=1)
def _block_titles() -> dict[str, str]:
    from xltools.perf import blocks_for
    from xltools.spec import available_sets

    out = {}
    for sid in available_sets():
        for b in blocks_for(sid):
            out[norm_label(b.title)] = b.title
    return out


def _block_title(line: Line) -> str:
    cells = [c for c in line.cells if c not in (None, "")]
    if not cells or len(cells) > 3:
        return ""
    text = norm_label("".join(str(c) for c in cells))
    for key, title in _block_titles().items():
        if key and text.endswith(key) and len(text) <= len(key) + 20:
            return title
    return ""


def _dash(v) -> bool:
    """"-", "—", "——": an amount printed as nothing."""
    return isinstance(v, str) and parse_amount(v) == (None, "text")


def _blocks_of(set_id: str):
    from xltools.perf import blocks_for

    return blocks_for(set_id)


def _read_block_tables(orphans: list[Line], res: Recognized) -> None:
    """绩效 block tables (one block per project, labels in the first column, as we lay them out) read
    with the 绩效 reader from the printed rows; the columns nobody printed anything in (margins,
    inserted blank columns) are dropped first."""
    from xltools.perf import blocks_for
    from xltools.perf.sheets import read_block_grid
    from xltools.spec import available_sets

    by_title = {}
    for sid in available_sets():
        for bt in blocks_for(sid):
            by_title.setdefault(bt.title, bt)
    runs: dict[str, list[Line]] = {}
    for ln in orphans:
        if ln.context:
            runs.setdefault(ln.context, []).append(ln)
    for title, lines in runs.items():
        bt = by_title.get(title)
        if bt is None:
            continue
        width = max(len(ln.cells) for ln in lines)
        used = [c for c in range(width) if any(c < len(ln.cells) and ln.cells[c] not in (None, "") for ln in lines)]
        grid = [[_block_cell(ln.cells[c]) if c < len(ln.cells) else None for c in used] for ln in lines]
        projects = read_block_grid(bt, grid, lines[0].unit_name,
                                   where=lambda r, c, lines=lines, used=used: lines[r].where[used[c]]
                                   if c < len(used) else lines[r].where[0])
        if projects:
            res.blocks[title] = (bt, projects, lines[0].unit_name)


def _block_cell(v):
    """A printed amount of a 绩效 table as the 绩效 reader takes it ("3,525.00" → 3525.0)."""
    if isinstance(v, str):
        t = _WS.sub("", _nfkc(v)).replace(",", "")
        if re.fullmatch(r"-?\d+(\.\d+)?", t):
            return t              # as printed ("9.40" keeps its two decimals for the score checks)
        return v.replace("\n", "") or None
    return v


def _loc(line: Line, c) -> str:
    """Where cell ``c`` of a line was printed; a short line (a PDF row with fewer cells than its header)
    names its first cell."""
    if c is None or not isinstance(c, int) or c < 0 or c >= len(line.cells):
        c = 0
    return line.where[c]
