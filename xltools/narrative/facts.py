"""The figures a 情况说明 speaks of, taken from a Report (tables) and its 说明事项 (notes).

One list of ``Fact`` serves both directions:
  * the renderer puts them into the template context (by their Chinese names);
  * the narrative checker ties an amount in a sentence to a fact through the fact's aliases.

Fact keys are stable English ids ("gpb", "gpb.208", "econ.301", "sangong.car_run"); the 说明事项
keys that go with a fact are ``prior.<key>`` (上年决算数), ``budget.<key>`` (年初预算数) and
``reason.<key>.prior`` / ``reason.<key>.budget`` (主要原因).
"""
from __future__ import annotations

import functools

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from xltools.model import ZERO, Report, quantize2

__all__ = ["Fact", "Missing", "norm", "note_amount", "note_text", "INCOME_ITEMS", "EXPENSE_ITEMS",
           "SANGONG_ITEMS", "class_name", "econ_name", "yuan"]


class Missing:
    """A 说明事项 item nobody filled in: renders as a visible marker, never as nothing.

    The marker names what to type and its kind: 【请填写金额：上年度“三公”经费…】. It is printed in full
    once per narrative; a figure computed from it (a 完成率, a 增减, a share) shows ``derived()``:
    【待计算百分比】, naming the item only where the item itself was not printed before."""

    KINDS = {"amount": "金额", "count": "数量", "percent": "百分比", "text": "文字"}

    def __init__(self, key: str, label: str, on_show=None, kind: str = ""):
        self.key, self.label = key, label
        self.kind = self.KINDS.get(kind, kind)
        self._on_show = on_show

    def _show(self, marker: str) -> bool:
        """Record the item as missing, with ``marker`` (how the text shows it the first time); True the first
        time the narrative prints it."""
        if self._on_show is None:
            return True
        return bool(self._on_show(self.key, self.label, marker))

    def __str__(self) -> str:
        # recorded as missing only when the narrative actually shows it (a template may not use it)
        full = f"【请填写{self.kind}：{self.label}】"
        if self._show(full):
            return full
        return f"【请填写{self.kind}：见上文】"

    def derived(self, what: str) -> str:
        """The marker of a figure computed from this item (``what``: 百分比, 增减额, 增减额及增减率 …)."""
        full = f"【待计算{what}：需先填写“{self.label}”】"
        if self._show(full):
            return full
        return f"【待计算{what}】"

    __html__ = None

    def __bool__(self) -> bool:      # a missing item is still shown (as the marker)
        return True

    def __repr__(self) -> str:
        return f"Missing({self.key!r})"


MARKER_RE = r"【(?:请填写|待计算)[^】：:]{0,8}[：:]?[^】]*】"   # a marker still in a text (N-09, highlighted in Word)


@dataclass
class Fact:
    key: str
    label: str                       # Chinese, as a sentence names it
    value: Decimal                   # in 元 (amounts) or as is (counts)
    source: str = ""                 # table cell(s) or 说明事项 key
    aliases: tuple[str, ...] = ()    # phrases in a sentence that name it (normalised, see checker)
    kind: str = "amount"             # amount | count
    whole: bool = False              # a total that shares are taken of
    group: str = ""                  # facts of one group add up to their whole
    children: list[str] = field(default_factory=list)
    # named by a sentence only in the section about its table: a figure whose name another fact shares (the
    # all-funds 公共安全支出 of 收支预算总表 and the 财政拨款 one); elsewhere the name is the other fact's
    section_only: bool = False


# income / expense lines of 公开01/03 as a 情况说明 lists them
INCOME_ITEMS = [("fiscal", "财政拨款收入", ("gpb", "gf", "soe")), ("superior", "上级补助收入", ("superior",)),
                ("business", "事业收入", ("business",)), ("operating", "经营收入", ("operating",)),
                ("affiliated", "附属单位上缴收入", ("affiliated",)), ("other", "其他收入", ("other",))]
EXPENSE_ITEMS = [("basic", "基本支出"), ("project", "项目支出"), ("remit", "上缴上级支出"),
                 ("operating", "经营支出"), ("subsidy", "对附属单位补助支出")]
SANGONG_ITEMS = [("total", "“三公”经费", ("三公经费", "三公经费财政拨款支出", "三公经费支出")),
                 ("abroad", "因公出国（境）费", ("因公出国(境)费", "因公出国费", "因公出国(境)费用")),
                 ("car", "公务用车购置及运行维护费", ("公务用车购置及运行维护费", "公务用车购置及运行费")),
                 ("car_purchase", "公务用车购置费", ("公务用车购置费", "公务用车购置支出", "车辆购置费")),
                 ("car_run", "公务用车运行维护费", ("公务用车运行维护费", "公务车运行维护费", "公务用车运行费",
                                               "公车运行维护费", "公务用车运行维护支出")),
                 ("reception", "公务接待费", ("公务接待费", "国内接待费", "公务接待支出"))]

_UNIT_RE = re.compile(r"^\s*([+-]?[\d,，.]+)\s*(万元|元)?\s*$")


def note_amount(notes: dict, key: str, unit: str = "元") -> Decimal | None:
    """A 说明事项 amount in 元. Numbers are in the report's unit; text may say "19352.45万元"."""
    v = (notes or {}).get(key)
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Decimal)):
        d = Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
        return d * 10000 if unit == "万元" else d
    m = _UNIT_RE.match(str(v))
    if not m:
        return None
    try:
        d = Decimal(m.group(1).replace(",", "").replace("，", ""))
    except InvalidOperation:
        return None
    u = m.group(2) or unit
    return d * 10000 if u == "万元" else d


def note_text(notes: dict, key: str) -> str | None:
    v = (notes or {}).get(key)
    if v is None:
        return None
    if isinstance(v, Decimal):
        return format(v.normalize(), "f") if v == v.to_integral_value() else str(v)
    s = str(v).strip()
    return s or None


def class_name(code: str, year: int | None) -> str:
    from xltools import catalog

    name = catalog.functional(year).name(code) or ""
    return name


def econ_name(code: str, year: int | None) -> str:
    from xltools import catalog

    return catalog.economic(year).name(code) or ""


def yuan(report: Report, d: Decimal, source: str = "") -> Decimal:
    """An amount in 元; ``source`` ("F07!amount.act_total") names the table, whose unit a variant may set apart
    (a 万元 三公 table in a 元 set)."""
    unit = report.unit_of(source.split("!", 1)[0]) if "!" in source else report.amount_unit
    return d * 10000 if unit == "万元" else d


_STRIP = re.compile(r"[\s“”‘’\"'（）()〔〕\[\]【】]")


@functools.lru_cache(maxsize=8192)
def norm(s: str) -> str:
    """The form a label is matched in: no spaces, quotes or brackets; 收、支 / 收入、支出 / 收入支出 → 收支."""
    s = _STRIP.sub("", s)
    for a in ("收入、支出", "收入支出", "收、支"):
        s = s.replace(a, "收支")
    return s



def q(d: Decimal) -> Decimal:
    return quantize2(d)
