"""政府收支分类科目 catalog: functional (功能分类 类/款/项) and economic (部门预算经济分类 类/款) subjects.

The data lives in ``data/functional.csv`` and ``data/economic.csv`` (see ``data/SOURCES.md`` for where
each part came from). This module is imported by the Excel add-in on every button click, so it only uses
the standard library and reads the CSV files lazily, once per process.

Typical use::

    from xltools import catalog
    fc = catalog.functional(2024)
    fc.name("2080505")                     # '机关事业单位基本养老保险缴费支出'
    fc.matches_name(2080505.0, "机关事业单位基本养老")   # True: a PDF cell cut the name
    catalog.normalize_code("２０８ ０５ ０５")           # '2080505'
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterable, Iterator

__all__ = [
    "Subject",
    "Catalog",
    "functional",
    "economic",
    "load_user_csv",
    "normalize_code",
    "normalize_name",
    "with_supplement",
    "MIN_PREFIX",
]

DATA_DIR = Path(__file__).resolve().parent / "data"

KINDS = ("functional", "economic")
LEVELS = ("类", "款", "项")
# code length -> level
_LEVEL_BY_LEN = {3: "类", 5: "款", 7: "项"}
# A printed name that is a prefix of the official name (or an alias) matches when it has at least this many
# characters: PDF table cells cut long names ("机关事业单位基本养老" for 机关事业单位基本养老保险缴费支出).
MIN_PREFIX = 6

_KIND_LABELS = {"functional": "功能分类", "economic": "经济分类"}
_KIND_ALIASES = {
    "functional": "functional",
    "function": "functional",
    "功能": "functional",
    "功能分类": "functional",
    "支出功能分类": "functional",
    "economic": "economic",
    "经济": "economic",
    "经济分类": "economic",
    "支出经济分类": "economic",
    "部门预算支出经济分类": "economic",
}


@dataclass(frozen=True)
class Subject:
    """One 科目: a 类, 款 or 项 of the functional or economic classification."""

    kind: str  # 'functional' | 'economic'
    code: str  # digits only: 3 (类), 5 (款) or 7 (项)
    level: str  # '类' | '款' | '项'
    name: str  # official name in the current edition
    aliases: tuple[str, ...] = ()  # former names (renamed items)
    since: int | None = None  # first edition year in which the code is valid (None = open)
    until: int | None = None  # last edition year in which the code is valid (None = open)
    # (since, until) of each alias, parallel to ``aliases``; (None, None) = a former name valid in any year.
    # A name a code carried only in old editions (30311 住房公积金 until 2017, today 代缴社会保险费) is written
    # ``住房公积金@-2017`` in the CSV, so that a catalog built for a later year does not accept it.
    alias_years: tuple[tuple[int | None, int | None], ...] = ()

    def valid_in(self, year: int | None) -> bool:
        if year is None:
            return True
        if self.since is not None and year < self.since:
            return False
        if self.until is not None and year > self.until:
            return False
        return True

    @property
    def parent_code(self) -> str | None:
        return _parent_code(self.code)


# ---------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------

_WS_RE = re.compile(r"\s+")
_TRAILING_ZERO_FRACTION_RE = re.compile(r"\.0+$")
_CODE_RE = re.compile(r"^[1-9]\d{2}(?:\d{2}){0,2}$")
# Leading outline numbering printed before a name: 一、 （一） (一) 1. 1、 十九、
_ORDINAL_RE = re.compile(r"^(?:[一二三四五六七八九十百]+[、.]|\([一二三四五六七八九十]+\)|\d+[、.](?!\d))")


def normalize_code(value: object) -> str | None:
    """Turn what a user typed or Excel stored into a 科目编码 ("2080505"), or None if it is not one.

    Accepts ints (2080505), floats (2080505.0), and text with spaces, a trailing ".0" or full-width digits
    ("2080505 ", "208 05 05", "２０８０５０５"). A code has 3, 5 or 7 digits and does not start with 0.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if value != value or not value.is_integer():  # NaN or a fraction
            return None
        text = str(int(value))
    else:
        try:
            text = str(value)
        except Exception:  # pragma: no cover - exotic objects
            return None
        return _normalize_code_text(text)
    if not _CODE_RE.match(text):
        return None
    return text


@functools.lru_cache(maxsize=16384)
def _normalize_code_text(text: str) -> str | None:
    text = unicodedata.normalize("NFKC", text)
    text = _WS_RE.sub("", text)
    text = _TRAILING_ZERO_FRACTION_RE.sub("", text)
    return text if _CODE_RE.match(text) else None


def normalize_name(text: object) -> str:
    """Canonical form of a printed 科目 name for comparison.

    NFKC folds full-width letters, digits and brackets （）→() ; all whitespace (PDF extraction inserts
    spaces between characters, cells wrap) is removed; a leading outline number (一、 （一） 1.) is dropped.
    """
    return _normalize_name_text(str(text or ""))


@functools.lru_cache(maxsize=16384)
def _normalize_name_text(text: str) -> str:
    s = unicodedata.normalize("NFKC", text)
    s = _WS_RE.sub("", s)
    s = _ORDINAL_RE.sub("", s)
    return s


def _parent_code(code: str) -> str | None:
    if len(code) == 7:
        return code[:5]
    if len(code) == 5:
        return code[:3]
    return None


def _aliases_of_year(s: Subject, year: int) -> Subject:
    keep = [(a, y) for a, y in zip(s.aliases, s.alias_years)
            if (y[0] is None or year >= y[0]) and (y[1] is None or year <= y[1])]
    return replace(s, aliases=tuple(a for a, _ in keep), alias_years=tuple(y for _, y in keep))


def _kind_of_code(code: str) -> str | None:
    # 支出功能分类 codes start with 2, 部门预算支出经济分类 codes with 3.
    if code[0] == "2":
        return "functional"
    if code[0] == "3":
        return "economic"
    return None


# ---------------------------------------------------------------------------
# the catalog
# ---------------------------------------------------------------------------


class Catalog:
    """A set of subjects of one kind, indexed by code. Build it with :func:`functional` or :func:`economic`.

    When built for a ``year``, only the subjects valid in that year's edition are included.
    """

    def __init__(self, kind: str, subjects: Iterable[Subject], year: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"未知的科目分类：{kind!r}")
        self.kind = kind
        self.year = year
        by_code: dict[str, Subject] = {}
        for s in subjects:
            if s.kind != kind:
                continue
            if year is not None and not s.valid_in(year):
                continue
            if year is not None and s.alias_years:
                s = _aliases_of_year(s, year)
            by_code[s.code] = s  # later entries (user files) override earlier ones
        self._by_code = dict(sorted(by_code.items()))

    def __repr__(self) -> str:
        return f"<Catalog {self.kind} year={self.year} entries={len(self._by_code)}>"

    def __len__(self) -> int:
        return len(self._by_code)

    def __iter__(self) -> Iterator[Subject]:
        return iter(self._by_code.values())

    def __contains__(self, code: object) -> bool:
        return self.get(code) is not None

    def get(self, code: object) -> Subject | None:
        c = normalize_code(code)
        return None if c is None else self._by_code.get(c)

    def name(self, code: object) -> str | None:
        s = self.get(code)
        return None if s is None else s.name

    def matches_name(self, code: object, printed_name: object) -> bool:
        """True if ``printed_name`` is the official name or an alias of ``code``, or a prefix of either of at
        least MIN_PREFIX characters (a PDF/Excel cell that cut the name). Whitespace, full-width/half-width
        and a leading outline number (一、) are ignored."""
        s = self.get(code)
        if s is None:
            return False
        printed = normalize_name(printed_name)
        if not printed:
            return False
        for candidate in (s.name, *s.aliases):
            full = normalize_name(candidate)
            if printed == full:
                return True
            if len(printed) >= MIN_PREFIX and full.startswith(printed):
                return True
        return False

    def parent(self, code: object) -> str | None:
        """Code of the parent (款 for a 项, 类 for a 款), by code structure; None for a 类 or a non-code."""
        c = normalize_code(code)
        return None if c is None else _parent_code(c)

    def class_of(self, code: object) -> str | None:
        """Code of the 类 a code belongs to (its first 3 digits); None for a non-code."""
        c = normalize_code(code)
        return None if c is None else c[:3]

    def children(self, code: object) -> list[Subject]:
        c = normalize_code(code)
        if c is None:
            return []
        return [s for s in self._by_code.values() if _parent_code(s.code) == c]

    def classes(self) -> list[Subject]:
        return [s for s in self._by_code.values() if s.level == "类"]

    def codes(self, level: str | None = None) -> list[str]:
        if level is not None and level not in LEVELS:
            raise ValueError(f"科目级次应为 类、款 或 项，而不是“{level}”")
        return [c for c, s in self._by_code.items() if level is None or s.level == level]

    def valid_in(self, code: object, year: int) -> bool:
        """True if the code is in this catalog and valid in the given edition year."""
        s = self.get(code)
        return s is not None and s.valid_in(year)

    def find_by_name(self, printed_name: object, level: str | None = None) -> list[Subject]:
        """Subjects whose name or alias matches ``printed_name`` (same rules as :meth:`matches_name`)."""
        return [
            s
            for s in self._by_code.values()
            if (level is None or s.level == level) and self.matches_name(s.code, printed_name)
        ]


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------


class _RowError(ValueError):
    pass


def _read_text(path: Path) -> str:
    # a regular file, size-capped; UTF-8 (BOM or not), GBK/GB18030 (what Excel/WPS on a Chinese Windows
    # saves), UTF-16 with a BOM — anything else is refused naming the line
    from xltools.read.guard import read_text

    return read_text(path, what="科目文件")


def _parse_year(value: str, column: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    # tolerant of 2023.0 and full-width digits, as Excel/WPS may save them
    text = _TRAILING_ZERO_FRACTION_RE.sub("", unicodedata.normalize("NFKC", value).strip())
    if not re.fullmatch(r"\d{4}", text):
        raise _RowError(f"{column}“{value}”不是四位年份")
    return int(text)


def _parse_rows(path: Path, *, builtin_kind: str | None) -> list[Subject]:
    """Read one catalog CSV. ``builtin_kind`` is set for the package files (kind known, no inference)."""
    display = path.name
    text = _read_text(path)
    reader = csv.DictReader(text.splitlines())
    fields = [unicodedata.normalize("NFKC", f or "").strip().lower() for f in (reader.fieldnames or [])]
    if not fields:
        raise ValueError(f"科目文件 {display} 是空的，第 1 行应为表头（code,name,…）")
    reader.fieldnames = fields
    missing = [c for c in ("code", "name") if c not in fields]
    if missing:
        raise ValueError(f"科目文件 {display} 第 1 行：表头缺少列 {'、'.join(missing)}（至少需要 code,name）")

    file_kind_hint = None
    lowered = path.name.lower()
    if "economic" in lowered or "经济" in path.name:
        file_kind_hint = "economic"
    elif "functional" in lowered or "功能" in path.name:
        file_kind_hint = "functional"

    subjects: list[Subject] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        if not any(values.values()):
            continue  # blank line
        try:
            subjects.append(_parse_row(values, builtin_kind, file_kind_hint, seen, line))
        except _RowError as e:
            raise ValueError(f"科目文件 {display} 第 {line} 行：{e}") from None
    return subjects


def _parse_row(
    values: dict[str, str], builtin_kind: str | None, file_kind_hint: str | None, seen: dict[str, int], line: int
) -> Subject:
    raw_code = values.get("code", "")
    if not raw_code:
        raise _RowError("科目编码为空")
    code = normalize_code(raw_code)
    if code is None:
        folded = _TRAILING_ZERO_FRACTION_RE.sub("", _WS_RE.sub("", unicodedata.normalize("NFKC", raw_code)))
        if not folded.isdigit():
            raise _RowError(f"科目编码“{raw_code}”不是数字")
        raise _RowError(f"科目编码“{raw_code}”位数不对（应为 3、5 或 7 位，且不以 0 开头）")
    if code in seen:
        raise _RowError(f"科目编码“{code}”重复（第 {seen[code]} 行已有）")
    seen[code] = line

    kind = builtin_kind
    if kind is None:
        raw_kind = unicodedata.normalize("NFKC", values.get("kind", "")).strip().lower()
        if raw_kind:
            kind = _KIND_ALIASES.get(raw_kind)
            if kind is None:
                raise _RowError(f"分类“{values.get('kind')}”应为 functional（功能分类）或 economic（经济分类）")
        else:
            kind = _kind_of_code(code) or file_kind_hint
            if kind is None:
                raise _RowError(f"无法判断科目编码“{code}”属于功能分类还是经济分类，请填写 kind 列")
    if kind == "economic" and len(code) == 7:
        raise _RowError(f"经济分类科目只有类（3 位）和款（5 位），编码“{code}”是 7 位")

    expected_level = _LEVEL_BY_LEN[len(code)]
    level = values.get("level", "") or expected_level
    if level not in LEVELS:
        raise _RowError(f"级次“{level}”应为 类、款 或 项")
    if level != expected_level:
        raise _RowError(f"级次“{level}”与科目编码“{code}”的位数不符（{len(code)} 位应为{expected_level}）")

    name = unicodedata.normalize("NFC", values.get("name", "")).strip()
    if not name:
        raise _RowError(f"科目编码“{code}”的科目名称为空")

    since = _parse_year(values.get("since", ""), "起始年度")
    until = _parse_year(values.get("until", ""), "终止年度")
    if since is not None and until is not None and since > until:
        raise _RowError(f"起始年度 {since} 晚于终止年度 {until}")

    aliases, alias_years = [], []
    for raw in values.get("aliases", "").split("|"):
        alias, years = _parse_alias(raw)
        if alias:
            aliases.append(alias)
            alias_years.append(years)
    has_years = any(y != (None, None) for y in alias_years)
    return Subject(kind=kind, code=code, level=level, name=name, aliases=tuple(aliases), since=since, until=until,
                   alias_years=tuple(alias_years) if has_years else ())


_ALIAS_YEARS_RE = re.compile(r"^(\d{4})?-(\d{4})?$")


def _parse_alias(raw: str) -> tuple[str, tuple[int | None, int | None]]:
    """``名称`` or ``名称@2018-``, ``名称@-2017``, ``名称@2015-2017``: a former name and the editions that used it."""
    text = unicodedata.normalize("NFC", raw).strip()
    if "@" not in text:
        return text, (None, None)
    name, _, span = text.rpartition("@")
    m = _ALIAS_YEARS_RE.match(unicodedata.normalize("NFKC", span).strip())
    if not m or not (m.group(1) or m.group(2)):
        raise _RowError(f"别名“{text}”的年度写法应为 名称@起始年-终止年（如 住房公积金@-2017）")
    lo, hi = (int(g) if g else None for g in m.groups())
    if lo is not None and hi is not None and lo > hi:
        raise _RowError(f"别名“{text}”的起始年度晚于终止年度")
    return name.strip(), (lo, hi)


@functools.lru_cache(maxsize=None)
def _builtin(kind: str) -> tuple[Subject, ...]:
    return tuple(_parse_rows(DATA_DIR / f"{kind}.csv", builtin_kind=kind))


@functools.lru_cache(maxsize=64)
def _user_file(path: str, mtime_ns: int) -> tuple[Subject, ...]:
    # keyed by mtime so an edited file is read again within one long-lived process
    return tuple(_parse_rows(Path(path), builtin_kind=None))


def load_user_csv(path: str | Path) -> list[Subject]:
    """Read a user's own 科目 CSV (columns code,name and optionally kind,level,since,until,aliases).

    ``kind`` is inferred from the code (2… functional, 3… economic) or the file name when the column is
    absent. A bad row raises ValueError with a Chinese message naming the file and the line.
    """
    p = Path(path)
    try:
        mtime = p.stat().st_mtime_ns
    except OSError as e:
        raise ValueError(f"科目文件 {p.name} 无法读取：{e.strerror or e}") from None
    return list(_user_file(str(p.resolve()), mtime))


@functools.lru_cache(maxsize=64)
def _builtin_catalog(kind: str, year: int | None) -> Catalog:
    return Catalog(kind, _builtin(kind), year)


USER_CATALOG_ENV = "XLTOOLS_CATALOG"   # the user's own 科目 CSV files, separated by os.pathsep


def _build(kind: str, year: int | None, extra: Iterable[str | Path]) -> Catalog:
    import os

    extra = tuple(extra) + tuple(p for p in os.environ.get(USER_CATALOG_ENV, "").split(os.pathsep) if p)
    if not extra:   # the built-in catalog of a year is built once per process (a Catalog is never mutated)
        return _builtin_catalog(kind, year)
    subjects: list[Subject] = list(_builtin(kind))
    for path in extra:
        subjects.extend(load_user_csv(path))
    return Catalog(kind, subjects, year)


def with_supplement(cat: Catalog, rows: Iterable[tuple[str, str, str]]) -> Catalog:
    """``cat`` plus the codes of a workbook's 科目补充 sheet ((code, level, name) rows of its kind)."""
    extra = []
    for code, level, name in rows:
        code = normalize_code(code)
        if code is None or not name or _kind_of_code(code) != cat.kind:
            continue
        extra.append(Subject(cat.kind, code, _LEVEL_BY_LEN.get(len(code), level or ""), str(name).strip()))
    if not extra:
        return cat
    return Catalog(cat.kind, [*cat, *extra], None)


def functional(year: int | None = None, extra: Iterable[str | Path] = ()) -> Catalog:
    """支出功能分类科目 (类/款/项), optionally for one edition year and merged with user CSV files
    (a user's row overrides the built-in row with the same code; rows of the other kind are ignored)."""
    return _build("functional", year, extra)


def economic(year: int | None = None, extra: Iterable[str | Path] = ()) -> Catalog:
    """部门预算支出经济分类科目 (类/款), optionally for one edition year and merged with user CSV files."""
    return _build("economic", year, extra)
