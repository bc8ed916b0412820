"""Table-set specifications: tables, panels, rows, columns, identities and variants.

A spec is declared once in ``templates/<set>/tables.yaml`` and loaded into frozen objects.
A bad spec fails at load time with a message that names the file and the offending entry.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from xltools.spec.types import _USER_VARIANTS, SpecError, TableUse, Variant, register_variant

__all__ = [
    "Column", "Row", "Panel", "Table", "Identity", "Presence", "Variant", "TableUse", "TableSet", "SpecError",
    "load_set", "templates_dir", "available_sets", "resolve_set", "set_names", "register_variant",
]


@dataclass(frozen=True)
class Column:
    key: str
    label: tuple[str, ...]          # header path, top level first
    number: int                     # 栏次
    input: bool = True              # False when some identity derives every cell of it
    percent: bool = False           # a percentage (增减%), not money: no 类/款 subtotals, shown as 0.00
    optional: bool = False          # a variant may leave it out (`omit:`), e.g. 其中：教育收费

    def label_text(self, year: int | None = None) -> tuple[str, ...]:
        return tuple(_fill_year(x, year) for x in self.label)


@dataclass(frozen=True)
class Row:
    key: str | None                 # None for blank filler rows
    label: str
    lineno: int | None = None       # 行次
    style: str = "normal"           # normal | total | class | blank
    count: bool = False             # a count (辆, 台) rather than money
    optional: bool = False          # a 类 line a variant may leave out (`omit:`), e.g. 231/232 in 上海's 24-line 公开01
    aliases: tuple[str, ...] = ()   # other labels publications print it under (the importer recognises them)


@dataclass(frozen=True)
class Panel:
    id: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...] = ()      # fixed rows (empty for detail panels)
    detail: str | None = None       # "functional" | "economic" for code-keyed rows
    classes: tuple[str, ...] = ()   # economic panels: which 类 live in this panel
    footer: tuple[Row, ...] = ()
    header: str = ""
    item_header: str = "项目"
    lineno: bool = False            # has a 行次 column

    @property
    def is_detail(self) -> bool:
        return self.detail is not None

    def column(self, key: str) -> Column | None:
        for c in self.columns:
            if c.key == key:
                return c
        return None

    @property
    def width(self) -> int:
        """Columns this panel occupies on the sheet."""
        if self.is_detail:
            return 2 + len(self.columns)          # 科目编码, 科目名称, values
        return 1 + (1 if self.lineno else 0) + len(self.columns)


@dataclass(frozen=True)
class Table:
    id: str
    number: str
    title: str
    panels: tuple[Panel, ...]
    note: str = ""
    optional: bool = False
    total_label: str = ""           # "unit": the 合计 row shows the unit's code and name (预算表 as published)
    amount_unit: str = ""           # this table's own unit (上海: a 万元 三公 table in a 元 budget); "" = the report's
    title_year: bool = False        # the title cell reads “2026年财务收支预算总表” (forms whose headers carry no year)

    required: bool = True           # the standard requires it: not publishing it is an error (else a warning)
    form: str = ""                  # which form of its 公开NN slot this is (shown when listing variants)
    aliases: tuple[str, ...] = ()   # other titles publications print it under (the importer recognises them)
    # the headings of the 情况说明 sections that speak of this table without naming it (“收支预算总体情况”:
    # 江苏's all-funds section, whose 类 figures are this table's)
    sections: tuple[str, ...] = ()

    def unit(self, report_unit: str) -> str:
        """The amount unit this table's values are in."""
        return self.amount_unit or report_unit

    @property
    def is_detail(self) -> bool:
        return any(p.is_detail for p in self.panels)

    @property
    def detail_kind(self) -> str | None:
        for p in self.panels:
            if p.detail:
                return p.detail
        return None

    def columns(self) -> list[str]:
        seen: list[str] = []
        for p in self.panels:
            for c in p.columns:
                if c.key not in seen:
                    seen.append(c.key)
        return seen

    def fixed_rows(self) -> list[tuple[Panel, Row]]:
        return [(p, r) for p in self.panels for r in (*p.rows, *p.footer) if r.key]

    def panel_of_row(self, key: str) -> Panel | None:
        for p in self.panels:
            for r in (*p.rows, *p.footer):
                if r.key == key:
                    return p
        return None

    def sheet_name(self) -> str:
        # Excel sheet names: at most 31 characters, none of []:*?/\
        name = re.sub(r"[\[\]:*?/\\]", "", self.title)
        return name[:31]


@dataclass(frozen=True)
class Identity:
    code: str
    target: str
    terms: tuple[str, ...] = ()     # for kind "sum": signed references ("-" prefix subtracts)
    kind: str = "sum"               # sum | at_most | at_least | ratio (terms = numerator, denominator) | same
    #                                 (same: one quantity printed in two tables — the printed figures must be
    #                                 identical, no rounding allowance; checked where both cells hold a number)
    level: str = "error"
    message: str = ""
    derive: bool = False
    each: tuple[tuple[str, str], ...] = ()   # (variable, expression)
    scale: int = 1                  # ratio: target = numerator / denominator × scale, rounded to 2 decimals

    def tables(self) -> set[str]:
        refs = [self.target, *self.terms]
        return {r.lstrip("-").split("!", 1)[0] for r in refs}


@dataclass(frozen=True)
class Presence:
    """Every 科目 with an amount in ``table`` must also stand in ``within``."""
    code: str
    table: str
    within: str
    level: str = "error"
    message: str = ""


@dataclass(frozen=True)
class TableSet:
    id: str
    title: str
    kind_label: str
    tables: dict[str, Table]
    identities: tuple[Identity, ...]
    variants: dict[str, Variant]
    presence: tuple[Presence, ...] = ()
    source: Path = field(default=Path("."), compare=False)
    narrative: str = ""          # the 情况说明 interface (xltools.narrative.sets.REGISTRY); "" = 决算
    # titles of tables publications print with this set's that it does not express (江苏's 政府采购预算表): the
    # importer ends the table above at them instead of reading their rows as that table's
    unexpressed: tuple[str, ...] = ()

    def variant(self, name: str | None) -> Variant:
        """A variant by id (``ningxia``), by the Chinese name its label starts with (``宁夏``; a unique
        beginning such as ``中央`` for ``中央部门`` will do), a user's variant registered in this process (by
        id), or a user's variant file (a path ending in .yaml/.yml)."""
        if name is None:
            return next(iter(self.variants.values()))
        hit = self.variants.get(name) or self.variants.get(str(name).strip().lower())
        if hit is not None:
            return hit
        hit = _USER_VARIANTS.get((self.id, name))
        if hit is not None:
            return hit
        if str(name).lower().endswith((".yaml", ".yml")):
            from xltools.spec.variants import load_variant_file
            return load_variant_file(self, Path(name))
        wanted = str(name).strip()
        by_name = [v for v in self.variants.values() if wanted and v.short_label == wanted]
        if not by_name:
            by_name = [v for v in self.variants.values() if wanted and v.short_label.startswith(wanted)]
        if len(by_name) == 1:
            return by_name[0]
        listed = "、".join(f"{v.id}（{v.short_label}）" for v in self.variants.values())
        raise SpecError(f"报表“{self.title}”没有版式“{name}”；可用版式：{listed}（也可用自己的版式文件：--variant 我的版式.yaml）")

    def tables_for(self, variant: Variant) -> list[Table]:
        return [self.tables[t] for t in variant.order]

    def identities_for(self, variant: Variant, absent: frozenset[str] | set[str] = frozenset()) -> list[Identity]:
        """The identities whose tables are all present (and none declared not published)."""
        present = set(variant.order) - set(absent)
        return [i for i in self.identities if i.tables() <= present]

    def presence_for(self, variant: Variant, absent: frozenset[str] | set[str] = frozenset()) -> list[Presence]:
        present = set(variant.order) - set(absent)
        return [p for p in self.presence if p.table in present and p.within in present]


# ---------------------------------------------------------------- loading

@functools.lru_cache(maxsize=None)
def templates_dir() -> Path:
    """The folder holding ``<set>/tables.yaml``: $XLTOOLS_TEMPLATES, the repository checkout, or
    ``<prefix>/share/xltools/templates`` of an installed xltools."""
    import os
    import site
    import sys

    candidates = []
    if os.environ.get("XLTOOLS_TEMPLATES"):
        candidates.append(Path(os.environ["XLTOOLS_TEMPLATES"]))
    candidates.append(Path(__file__).resolve().parents[2] / "templates")
    for base in (sys.prefix, sys.base_prefix, getattr(site, "USER_BASE", None) or ""):
        if base:
            candidates.append(Path(base) / "share" / "xltools" / "templates")
    for p in candidates:
        if (p / "final_accounts" / "tables.yaml").is_file():
            return p
    raise SpecError("找不到报表模板文件夹 templates/（请从源码目录安装：pip install .）")


def available_sets() -> list[str]:
    """The ids of the package's report sets: the folders of templates_dir() holding tables.yaml."""
    return list(_available_sets())


@functools.lru_cache(maxsize=None)
def _available_sets() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in templates_dir().iterdir()
                        if _SET_ID.match(p.name) and (p / "tables.yaml").is_file()))


_SET_ID = re.compile(r"^[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*$")


def set_names() -> dict[str, tuple[str, str]]:
    """set id → (kind_label, title) as the sets' tables.yaml declare them (决算, 部门决算公开)."""
    out = {}
    for sid in available_sets():
        try:
            t = load_set(sid)
        except SpecError:
            continue
        out[sid] = (t.kind_label, t.title)
    return out


def resolve_set(name: str) -> str:
    """A set id from its id (final_accounts), its kind label (决算) or its title (部门决算公开)."""
    wanted = str(name or "").strip()
    sets = available_sets()
    if wanted in sets:
        return wanted
    names = set_names()
    for sid, (kind, title) in names.items():
        if wanted and wanted in (kind, title, title.replace("部门", "", 1), f"部门{kind}"):
            return sid
    listed = "、".join(f"{sid}（{names[sid][0]}）" if sid in names else sid for sid in sets)
    raise SpecError(f"找不到报表集“{name}”；可用报表集：{listed}")


@functools.lru_cache(maxsize=None)
def load_set(set_id: str) -> TableSet:
    import yaml  # deferred: the add-in's start-up path does not need it until a spec is used

    sets = _available_sets()
    if not isinstance(set_id, str) or set_id not in sets:
        # chosen only by id from the package's own list: a value found in a received file (a path,
        # "../x") never names a folder; a Chinese name (决算 / 预算 / 绩效) is looked up among them
        if isinstance(set_id, str):
            try:
                return load_set(resolve_set(set_id))
            except SpecError:
                pass
        shown = repr(set_id)[:80] if not isinstance(set_id, str) else set_id[:80]
        names = set_names()
        listed = "、".join(f"{sid}（{names[sid][0]}）" if sid in names else sid for sid in sets)
        raise SpecError(f"未知的报表集“{shown}”；只能使用：{listed}")
    path = templates_dir() / set_id / "tables.yaml"
    with path.open(encoding="utf-8") as fh:
        # libyaml's loader when PyYAML has it: the same rules, ~9x faster (a one-file `xltools check` pays it)
        doc = yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return _parse_set(doc, path)


def _fail(path: Path, where: str, msg: str) -> SpecError:
    return SpecError(f"{path.name}：{where}：{msg}")


def _label_tuple(value) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    return (str(value),)


def _fill_year(text: str, year: int | None) -> str:
    return (text.replace("{year}", str(year) if year else "    ")
            .replace("{prev}", str(year - 1) if year else "    "))


def _aliases(r: dict, path: Path, where: str, key: str = "aliases") -> tuple[str, ...]:
    """A row's ``aliases:`` — the other labels publications print it under (“1. 一般公共预算资金” for
    “1. 一般公共预算”): a list of strings (``key``: another such list of a table, its ``sections:``)."""
    got = r.get(key) or []
    if isinstance(got, str):
        got = [got]
    if not isinstance(got, list) or not all(isinstance(a, str) and a.strip() for a in got):
        owner = r.get("key") or r.get("id")
        raise _fail(path, where, f"{f'{owner} 的 ' if owner else ''}{key} 应为文字列表：{got!r}")
    return tuple(got)


def _parse_set(doc: dict, path: Path) -> TableSet:
    from xltools import catalog

    tables: dict[str, Table] = {}
    for t in doc.get("tables", []):
        tid = t.get("id")
        if not tid:
            raise _fail(path, "tables", "表缺少 id")
        panels = []
        for p in t.get("panels", []):
            where = f"{tid}.{p.get('id')}"
            cols = []
            for n, c in enumerate(p.get("columns", []), start=1):
                if "key" not in c or "label" not in c:
                    raise _fail(path, where, f"第 {n} 栏缺少 key 或 label")
                cols.append(Column(key=str(c["key"]), label=_label_tuple(c["label"]), number=n,
                                   percent=bool(c.get("percent", False)),
                                   optional=bool(c.get("optional", False))))
            rows: list[Row] = []
            for r in p.get("rows", []):
                if "blank" in r:
                    lo, hi = r["blank"]
                    rows.extend(Row(key=None, label="", lineno=i, style="blank") for i in range(lo, hi + 1))
                elif "classes" in r:
                    rows.extend(_class_rows(r, path, where, catalog))
                else:
                    if "key" not in r:
                        raise _fail(path, where, f"行缺少 key：{r}")
                    rows.append(Row(key=str(r["key"]), label=str(r.get("label", "")), lineno=r.get("lineno"),
                                    style=r.get("style", "normal"), count=bool(r.get("count", False)),
                                    aliases=_aliases(r, path, where)))
            footer = tuple(Row(key=str(r["key"]), label=str(r["label"]), style=r.get("style", "total"),
                               aliases=_aliases(r, path, where))
                           for r in p.get("footer", []))
            detail = p.get("detail")
            if detail not in (None, "functional", "economic"):
                raise _fail(path, where, f"detail 只能是 functional 或 economic，而不是 {detail!r}")
            panels.append(Panel(
                id=str(p.get("id", "main")), columns=tuple(cols), rows=tuple(rows), detail=detail,
                classes=tuple(str(x) for x in p.get("classes", [])), footer=footer,
                header=str(p.get("header", "")), item_header=str(p.get("item_header", "项目")),
                lineno=bool(p.get("lineno", False))))
        keys = [r.key for p in panels for r in (*p.rows, *p.footer) if r.key]
        dup = {k for k in keys if keys.count(k) > 1}
        if dup:
            raise _fail(path, tid, f"行 key 重复：{'、'.join(sorted(dup))}")
        tables[tid] = Table(id=tid, number=str(t.get("number", "")), title=str(t["title"]),
                            panels=tuple(panels), note=str(t.get("note", "")),
                            optional=bool(t.get("optional", False)),
                            total_label=str(t.get("total_label", "")),
                            amount_unit=str(t.get("amount_unit", "")),
                            title_year=bool(t.get("title_year", False)),
                            required=bool(t.get("required", not t.get("optional", False))),
                            form=str(t.get("form", "")), aliases=_aliases(t, path, tid),
                            sections=_aliases(t, path, tid, "sections"))
        if tables[tid].amount_unit not in ("", "元", "万元"):
            raise _fail(path, tid, "amount_unit 只能是 元 或 万元")

    identities = []
    for n, i in enumerate(doc.get("identities", []), start=1):
        where = f"identities 第 {n} 条（{i.get('code', '?')}）"
        kind = "sum"
        terms: tuple[str, ...] = ()
        if "sum" in i:
            terms = tuple(str(x) for x in i["sum"])
        elif "at_most" in i or "at_least" in i:
            # one reference, or a list of signed references (compared with their sum)
            kind = "at_most" if "at_most" in i else "at_least"
            side = i[kind]
            terms = tuple(str(x) for x in side) if isinstance(side, list) else (str(side),)
        elif "same" in i:
            if isinstance(i["same"], list):
                raise _fail(path, where, "same 只能是一个单元格引用")
            kind, terms = "same", (str(i["same"]),)
            if terms[0].lstrip().startswith("-") or "*" in terms[0]:
                raise _fail(path, where, "same 只能是一个单元格引用")
        elif "ratio" in i:
            if not isinstance(i["ratio"], list) or len(i["ratio"]) != 2:
                raise _fail(path, where, "ratio 须为 [分子, 分母]")
            kind, terms = "ratio", tuple(str(x) for x in i["ratio"])
        else:
            raise _fail(path, where, "需要 sum、at_most、at_least、ratio 或 same")
        if i.get("level", "error") not in ("error", "warning", "info"):
            raise _fail(path, where, "level 只能是 error/warning/info")
        ident = Identity(code=str(i["code"]), target=str(i["target"]), terms=terms, kind=kind,
                         level=i.get("level", "error"), message=str(i.get("message", "")),
                         derive=bool(i.get("derive", False)), scale=int(i.get("scale", 1)),
                         each=tuple((str(k), str(v) if not isinstance(v, list) else repr([str(x) for x in v]))
                                    for k, v in (i.get("each") or {}).items()))
        for t in ident.tables():
            if t not in tables:
                raise _fail(path, where, f"引用了不存在的表 {t}")
        identities.append(ident)
    codes = [i.code for i in identities]
    dup = {c for c in codes if codes.count(c) > 1}
    if dup:
        raise _fail(path, "identities", f"规则编号重复：{'、'.join(sorted(dup))}")

    from xltools.spec.variants import parse_variant

    variants = {}
    for vid, v in (doc.get("variants") or {}).items():
        variants[str(vid)] = parse_variant(str(vid), v or {}, tables, path, f"variants.{vid}")
    if not variants:
        variants["default"] = Variant(id="default", label="默认", amount_unit="元", order=tuple(tables))
    presence = []
    for n, p in enumerate(doc.get("presence", []) or [], start=1):
        if p.get("table") not in tables or p.get("within") not in tables:
            raise _fail(path, f"presence 第 {n} 条", "table/within 须为已定义的表")
        presence.append(Presence(code=str(p["code"]), table=str(p["table"]), within=str(p["within"]),
                                 level=str(p.get("level", "error")), message=str(p.get("message", ""))))
    return TableSet(id=str(doc.get("set", path.parent.name)), title=str(doc.get("title", "")),
                    kind_label=str(doc.get("kind_label", "")), tables=tables,
                    identities=tuple(identities), variants=variants, presence=tuple(presence), source=path,
                    narrative=str(doc.get("narrative", "") or ""),
                    unexpressed=_aliases(doc, path, "unexpressed", "unexpressed"))


_CN_NUM = "一二三四五六七八九十"


def _cn_ordinal(n: int) -> str:
    if n <= 10:
        return _CN_NUM[n - 1]
    if n < 20:
        return "十" + _CN_NUM[n - 11]
    tens, ones = divmod(n, 10)
    return _CN_NUM[tens - 1] + "十" + (_CN_NUM[ones - 1] if ones else "")


# The 26 功能分类 类 lines that 收入支出决算总表 and 财政拨款收入支出决算总表 print.
CLASS_LINES = ("201", "202", "203", "204", "205", "206", "207", "208", "210", "211", "212", "213", "214",
               "215", "216", "217", "219", "220", "221", "222", "223", "224", "229", "231", "232", "234")


_CLASS_ORDINAL = re.compile(r"^(?:（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、)")


def without_rows(rows: tuple[Row, ...], omitted) -> tuple[Row, ...]:
    """A fixed panel's rows without the optional 类 lines a variant leaves out, the 类 lines renumbered
    (二十四、抗疫特别国债安排的支出 when 231/232 are not printed)."""
    kept = [r for r in rows if not (r.optional and r.key in omitted)]
    if len(kept) == len(rows):
        return rows
    out, n = [], 0
    for r in kept:
        if r.style == "class":
            n += 1
            m = _CLASS_ORDINAL.match(r.label)
            if m:
                num = f"（{_cn_ordinal(n)}）" if m.group(0).startswith("（") else f"{_cn_ordinal(n)}、"
                r = replace(r, label=num + r.label[m.end():])
        out.append(r)
    return tuple(out)


def _class_rows(r: dict, path: Path, where: str, catalog) -> list[Row]:
    codes = r.get("codes") or CLASS_LINES
    start = r.get("lineno")
    if isinstance(start, list):
        linenos = list(start)
    elif start is None:
        linenos = [None] * len(codes)
    else:
        linenos = list(range(int(start), int(start) + len(codes)))
    if len(linenos) != len(codes):
        raise _fail(path, where, "行次个数与类级科目个数不符")
    cat = catalog.functional()
    optional = {str(c) for c in r.get("optional", [])}
    if optional - set(codes):
        raise _fail(path, where, f"optional 中的 {sorted(optional - set(codes))[0]} 不是本栏的类级科目")
    rows = []
    for n, (code, ln) in enumerate(zip(codes, linenos), start=1):
        name = cat.name(code)
        if not name:
            raise _fail(path, where, f"科目目录中没有类级科目 {code}")
        label = f"（{_cn_ordinal(n)}）{name}" if r.get("numbering") == "paren" else f"{_cn_ordinal(n)}、{name}"
        rows.append(Row(key=code, label=label, lineno=ln, style="class", optional=code in optional))
    return rows
