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

__all__ = ["Fact", "Missing", "collect_facts", "norm", "note_amount", "note_text", "INCOME_ITEMS", "EXPENSE_ITEMS",
           "SANGONG_ITEMS", "class_name"]


class Missing:
    """A 说明事项 item nobody filled in: renders as a visible marker, never as nothing."""

    def __init__(self, key: str, label: str, on_show=None):
        self.key, self.label = key, label
        self._on_show = on_show

    def __str__(self) -> str:
        # recorded as missing only when the narrative actually shows it (a template may not use it)
        if self._on_show is not None:
            self._on_show(self.key, self.label)
        return f"【请填写：{self.label}】"

    __html__ = None

    def __bool__(self) -> bool:      # a missing item is still shown (as the marker)
        return True

    def __repr__(self) -> str:
        return f"Missing({self.key!r})"


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


def _econ_name(code: str, year: int | None) -> str:
    from xltools import catalog

    return catalog.economic(year).name(code) or ""


def _yuan(report: Report, d: Decimal) -> Decimal:
    return d * 10000 if report.amount_unit == "万元" else d


_STRIP = re.compile(r"[\s“”‘’\"'（）()〔〕\[\]【】]")


@functools.lru_cache(maxsize=8192)
def norm(s: str) -> str:
    """The form a label is matched in: no spaces, quotes or brackets; 收、支 / 收入、支出 / 收入支出 → 收支."""
    s = _STRIP.sub("", s)
    for a in ("收入、支出", "收入支出", "收、支"):
        s = s.replace(a, "收支")
    return s


_norm_alias = norm


def collect_facts(report: Report) -> dict[str, Fact]:
    """Every figure a narrative can quote, by key. Amounts in 元."""
    if report.set_id == "budget":            # 部门预算: 表一–表九 (xltools.narrative.budget)
        from xltools.narrative.budget import collect_facts as budget_facts
        return budget_facts(report)
    facts: dict[str, Fact] = {}
    y = report.year

    def add(key, label, value, source="", aliases=(), **kw):
        facts[key] = Fact(key, label, _yuan(report, value) if kw.get("kind", "amount") == "amount" else value,
                          source, tuple(_norm_alias(a) for a in (label, *aliases)), **kw)

    A = report.amount
    # 一 收入支出总计 (公开01)
    add("total", "收支总计", A("F01", "grand_total", "amount"), "F01!grand_total",
        ("收入支出总计", "收、支总计", "收支总计"), whole=True)
    # 二 收入
    add("income", "收入合计", A("F01", "income_total", "amount"), "F01!income_total",
        ("本年收入合计", "收入合计", "收入总计"), whole=True)
    for key, label, rows in INCOME_ITEMS:
        add(f"income.{key}", label, sum((A("F01", r, "amount") for r in rows), ZERO), "F01!" + "+".join(rows),
            group="income")
    # 三 支出 (公开03 合计行; 公开01 本年支出合计)
    add("expense", "支出合计", A("F01", "expense_total", "amount"), "F01!expense_total",
        ("本年支出合计", "支出合计", "支出总计"), whole=True)
    for key, label in EXPENSE_ITEMS:
        add(f"expense.{key}", label, A("F03", "total", key), f"F03!total.{key}", group="expense")
    # 四 财政拨款 (公开04)
    add("fiscal_total", "财政拨款收支总计", A("F04", "grand_total", "amount"), "F04!grand_total",
        ("财政拨款收入支出总计", "财政拨款收、支总计", "财政拨款收支总计"), whole=True)
    add("fiscal_income", "财政拨款收入", A("F04", "income_total", "amount"), "F04!income_total",
        ("财政拨款收入",))
    add("fiscal_exp", "财政拨款支出", A("F04", "expense_total", "total"), "F04!expense_total.total",
        ("财政拨款支出",))
    # 五 一般公共预算财政拨款支出 (公开05)
    add("gpb", "一般公共预算财政拨款支出", A("F05", "total", "total"), "F05!total.total",
        ("一般公共预算财政拨款支出",), whole=True)
    add("gpb_basic", "一般公共预算财政拨款基本支出", A("F05", "total", "basic"), "F05!total.basic",
        ("一般公共预算财政拨款基本支出",))
    add("gpb_project", "一般公共预算财政拨款项目支出", A("F05", "total", "project"), "F05!total.project",
        ("一般公共预算财政拨款项目支出", "一般公共预算项目支出总额", "一般公共预算项目支出"))
    f05 = report.tables.get("F05")
    by_class: dict[str, Decimal] = {}
    items = []
    if f05:
        for key, row in f05.rows.items():
            if row.kind == "detail" and len(key) == 7:
                amt = row.values.get("total").value if row.values.get("total") else ZERO
                by_class[key[:3]] = by_class.get(key[:3], ZERO) + amt
                items.append((key, row.label, amt))
    from xltools import catalog

    # every 类 can be named (a class with a 年初预算 and no spending is still spoken of)
    for subj in catalog.functional(y).classes():
        by_class.setdefault(subj.code, ZERO)
    for cls in sorted(by_class):
        name = class_name(cls, y)
        base = name[:-2] if name.endswith("支出") else name
        add(f"gpb.{cls}", name, by_class[cls], f"F05!{cls}*.total", (name, base + "(类)支出", base + "(类)"),
            group="gpb")
    for code, label, amt in sorted(items):
        name = class_name(code, y) or label
        add(f"gpb.{code}", name, amt, f"F05!{code}.total", (code, f"{code}-{name}", f"{code}{name}"),
            group="gpb_item")
    f09 = report.tables.get("F09")
    if f09:
        for code, row in sorted(f09.rows.items()):
            if row.kind == "detail" and row.values.get("total") is not None:
                name = class_name(code, y) or row.label
                add(f"soe.{code}", name, row.values["total"].value, f"F09!{code}.total",
                    (code, f"{code}{name}", f"{code}-{name}"))
    # 六 基本支出 (公开06)
    # 公开06: 基本支出决算表 (amount), or the central 支出决算明细表 F06X (其中：基本支出 column)
    t6, c6 = ("F06X", "basic") if "F06" not in report.tables and "F06X" in report.tables else ("F06", "amount")
    add("personnel", "人员经费", A(t6, "personnel_total", c6), f"{t6}!personnel_total", ("人员经费合计",))
    add("public", "公用经费", A(t6, "public_total", c6), f"{t6}!public_total", ("公用经费合计",))
    f06 = report.tables.get(t6)
    if f06:
        # a 类 row's own amount when it has one, else the sum of its 款 rows
        stated: dict[str, Decimal] = {}
        summed: dict[str, Decimal] = {}
        for key, row in f06.rows.items():
            if not key.isdigit():
                continue
            v = row.values.get(c6)
            if len(key) == 3 and v is not None and v.amount is not None:
                stated[key] = v.amount
            elif len(key) == 5:
                summed[key[:3]] = summed.get(key[:3], ZERO) + (v.value if v is not None else ZERO)
            elif len(key) == 3:
                summed.setdefault(key, ZERO)
        classes = {**summed, **stated}
        for cls, amt in sorted(classes.items()):
            name = _econ_name(cls, y)
            add(f"econ.{cls}", name, amt, f"{t6}!{cls}.{c6}", (name,), group="econ")
    # 七 三公 (公开07)
    for key, label, aliases in SANGONG_ITEMS:
        add(f"sangong.{key}", label, A("F07", "amount", f"act_{key}"), f"F07!amount.act_{key}", aliases,
            whole=key == "total", group="" if key in ("total", "car_purchase", "car_run") else "sangong")
        add(f"sangong_budget.{key}", label + "预算", A("F07", "amount", f"bud_{key}"), f"F07!amount.bud_{key}",
            tuple(a + "预算" for a in aliases))
    # 八 政府性基金, 九 国有资本经营 (公开04 columns, as 公开08/09 add up to them)
    add("gf_income", "政府性基金预算财政拨款收入", A("F04", "gf", "amount"), "F04!gf",
        ("政府性基金预算财政拨款本年收入", "政府性基金预算财政拨款收入"))
    add("gf", "政府性基金预算财政拨款支出", A("F04", "expense_total", "gf"), "F04!expense_total.gf",
        ("政府性基金预算财政拨款支出", "政府性基金预算财政拨款本年支出"))
    add("gf_closing", "政府性基金预算财政拨款年末结转和结余", A("F04", "closing", "gf"), "F04!closing.gf")
    add("soe_income", "国有资本经营预算财政拨款收入", A("F04", "soe", "amount"), "F04!soe",
        ("国有资本经营预算财政拨款本年收入", "国有资本经营预算财政拨款收入"))
    add("soe", "国有资本经营预算财政拨款支出", A("F04", "expense_total", "soe"), "F04!expense_total.soe",
        ("国有资本经营预算财政拨款支出",))
    add("soe_closing", "国有资本经营预算财政拨款年末结转和结余", A("F04", "closing", "soe"), "F04!closing.soe")
    # 十 机关运行经费: 公开10 when the set has it, else 公开06 公用经费 (行政单位和参公单位)
    if report.tables.get("F10") and report.tables["F10"].get("run_total", "amount") is not None:
        add("run_cost", "机关运行经费", A("F10", "run_total", "amount"), "F10!run_total", ("机关运行经费支出",))
    else:
        add("run_cost", "机关运行经费", A(t6, "public_total", c6), f"{t6}!public_total",
            ("机关运行经费支出",))
    # notes amounts that sentences compare with
    notes = report.notes or {}
    for nkey in list(notes):
        if nkey.startswith(("prior.", "budget.")):
            amt = note_amount(notes, nkey, report.amount_unit)
            if amt is not None:
                role, base = nkey.split(".", 1)
                parent = facts.get(base) or facts.get(base.replace("sangong_budget", "sangong"))
                label = (parent.label if parent else base) + ("上年决算数" if role == "prior" else "年初预算数")
                facts[nkey] = Fact(nkey, label, amt, f"说明事项:{nkey}", (), kind="amount")
    for nkey, label, al in _NOTE_FACTS:
        amt = note_amount(notes, nkey, report.amount_unit)
        if amt is not None:
            facts[nkey] = Fact(nkey, label, amt, f"说明事项:{nkey}", tuple(_norm_alias(a) for a in (label, *al)),
                               whole=nkey in ("proc.total", "proc.sme"))
    return facts


# 说明事项 amounts that are figures in their own right (not comparisons)
_NOTE_FACTS = [
    ("proc.total", "政府采购支出总额", ("政府采购支出总额", "政府采购金额")),
    ("proc.goods", "政府采购货物支出", ("货物支出", "货物采购金额")),
    ("proc.works", "政府采购工程支出", ("工程支出", "工程采购金额")),
    ("proc.services", "政府采购服务支出", ("政府采购服务", "服务采购金额")),
    ("proc.sme", "授予中小企业合同金额", ("授予中小企业合同金额",)),
    ("proc.small", "授予小微企业合同金额", ("授予小微企业合同金额",)),
    ("perf.gpb_amount", "绩效自评涉及资金", ()),
]


def q(d: Decimal) -> Decimal:
    return quantize2(d)
