"""The data model: a Report holds every value by (table, row key, column key) with where it came from."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

__all__ = ["Value", "RowData", "TableData", "Report", "parse_amount", "to_wan", "quantize2", "ZERO"]

ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass
class Value:
    """One cell's value. ``amount`` is None for an empty cell."""
    amount: Decimal | None
    source: str = ""               # "收入支出决算总表!D8" or "F01.csv:12"
    raw: object = None             # what was found, when it was not a clean number
    problem: str | None = None     # "text" (a number typed as text) | "nan" (not a number)
    formula: bool | None = None    # the cell holds a formula (None: unknown, e.g. from a data file)

    @property
    def value(self) -> Decimal:
        return self.amount if self.amount is not None else ZERO


@dataclass
class RowData:
    key: str
    label: str
    panel: str
    values: dict[str, Value] = field(default_factory=dict)
    source: str = ""               # where the row's code or label was found
    kind: str = "fixed"            # fixed | detail | class | total | footer


@dataclass
class TableData:
    table_id: str
    rows: dict[str, RowData] = field(default_factory=dict)
    duplicates: list[RowData] = field(default_factory=list)   # second and later rows with a key already seen
    bad_codes: list[RowData] = field(default_factory=list)    # rows whose code cell is not a code
    sheet: str = ""
    outside: list[RowData] = field(default_factory=list)      # something typed below the table (after its 注)
    blocks: dict[str, tuple[int, int]] = field(default_factory=dict)   # detail panel → 1-based rows its sums cover
    note: str = ""                 # the table's note (“注：…”) as printed, where a transcription or workbook has one
    note_source: str = ""

    def get(self, row: str, col: str) -> Value | None:
        r = self.rows.get(row)
        return r.values.get(col) if r else None

    def amount(self, row: str, col: str) -> Decimal:
        v = self.get(row, col)
        return v.value if v else ZERO


@dataclass
class Report:
    set_id: str
    variant: str
    unit: str
    year: int | None
    amount_unit: str = "元"
    tables: dict[str, TableData] = field(default_factory=dict)
    notes: dict = field(default_factory=dict)       # 说明事项: prior-year figures, reasons, counts
    origin: str = ""                                # file or folder it was read from
    problems: list = field(default_factory=list)    # read-time findings (xltools.rules.Finding)
    as_published: bool = False   # a transcription: an empty printed total stays empty (not a formula)
    unit_code: str = ""          # 单位编码, where a table prints it (预算表 total row)
    blocks: dict = field(default_factory=dict)   # block-structured tables (绩效目标表, 自评表): xltools.perf
    not_published: tuple[str, ...] = ()   # tables of the variant the document did not publish (meta.yaml)
    no_data: tuple[str, ...] = ()         # tables printed empty with “本表无数据” (meta.yaml)
    table_units: dict = field(default_factory=dict)   # amount unit of a table where it differs (variant)
    supplement: list = field(default_factory=list)    # 科目补充: (code, level, name) a user added in the workbook
    uncalculated: tuple[str, ...] = ()   # formula cells saved without a calculated value ("sheet!A1")
    # an imported document (xltools.importer): per table, the rows whose amounts the import could not read — a
    # fixed or 合计 row it did not find while some printed number of the table found no row, a row whose printed
    # line holds such a number, a 合计 row not found at all; "*": sums over the table's rows are unknown too.
    # Identities and narrative figures resting on them are not checked (xltools.rules: U-<table>, info)
    unread: dict = field(default_factory=dict)
    # an imported document in which no table prints a number (江苏 publishes the 情况说明 and the tables as two
    # files): the tables are published elsewhere, so not finding them is a note (M-<table> info), not an error
    tables_elsewhere: bool = False

    def use_variant(self, variant) -> None:
        """Take the per-table amount units a variant sets (a 万元 三公 table in a 元 set)."""
        self.table_units = {u.id: u.amount_unit for u in getattr(variant, "uses", ()) if u.amount_unit}

    def unit_of(self, tid: str) -> str:
        """The amount unit of one table: a variant may print a 万元 三公 table in a 元 set."""
        return self.table_units.get(tid, self.amount_unit)

    def table(self, tid: str) -> TableData:
        return self.tables.setdefault(tid, TableData(tid))

    def amount(self, tid: str, row: str, col: str) -> Decimal:
        t = self.tables.get(tid)
        return t.amount(row, col) if t else ZERO


_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－＋", "0123456789.,-+")
_DASHES = {"-", "—", "–", "－", "——", "/", "无"}
_NUM_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def parse_amount(raw) -> tuple[Decimal | None, str | None]:
    """Turn what a cell or a data file holds into a Decimal.

    Returns (amount, problem): problem is None for a clean number or an empty cell, "text" for a
    number written as text ("1,234.56", "１２３", " 0.00 ", "(1,234.00)") that we could still read,
    and "nan" for something that is not a number at all. A float from a spreadsheet reader is
    converted through its shortest repr, so 1951859.05 stays 1951859.05.
    """
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return None, "nan"
    if isinstance(raw, Decimal):
        return raw, None
    if isinstance(raw, int):
        return Decimal(raw), None
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None, "nan"
        return Decimal(repr(raw)), None
    text = unicodedata.normalize("NFKC", str(raw)).translate(_FULLWIDTH).strip()
    if text == "":
        return None, None
    if text in _DASHES:
        return None, "text"
    neg = text.startswith("(") and text.endswith(")")
    body = text[1:-1] if neg else text
    body = body.replace(",", "").replace(" ", "").replace("元", "")
    if _NUM_RE.match(body):
        try:
            d = Decimal(body)
        except InvalidOperation:
            return None, "nan"
        return (-d if neg else d), "text"
    return None, "nan"


def quantize2(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def to_wan(amount: Decimal, unit: str) -> Decimal:
    """An amount in ``unit`` (元 or 万元) as 万元, rounded half-up to 2 decimals."""
    if unit == "万元":
        return quantize2(amount)
    return quantize2(amount / _WAN)


_WAN = Decimal(10000)
