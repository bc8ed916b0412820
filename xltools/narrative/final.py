"""The 部门决算 (final accounts) set of the 情况说明: its facts (公开01–09 and 说明事项) and its template context.

The engine (xltools.narrative.engine) renders it and the checker (xltools.narrative.check) reads a text
against its facts with the default reading of words (xltools.narrative.reading.Reading); the set is
chosen by ``narrative:`` in templates/<set>/tables.yaml (xltools.narrative.sets).
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal

from xltools.model import ZERO, Report
from xltools.narrative.engine import Item, Recorder, base_context, printed, value_of, with_shares, yuan_of
from xltools.narrative.facts import (EXPENSE_ITEMS, INCOME_ITEMS, SANGONG_ITEMS, Fact, Missing, class_name,
                                     norm, note_amount, yuan)
from xltools.narrative.numbers import pct

__all__ = ["collect_facts", "build_context", "TITLE", "DEFAULT_UNIT"]

TITLE = "年度部门决算情况说明"
DEFAULT_UNIT = "万元"


@functools.lru_cache(maxsize=8192)
def _normed(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(norm(a) for a in names)


def collect_facts(report: Report, aliases: bool = True) -> dict[str, Fact]:
    """Every figure a narrative can quote, by key. Amounts in 元. ``aliases=False``: without the phrases that name
    them (what the checker of a text needs, not the template context)."""
    facts: dict[str, Fact] = {}
    y = report.year

    def add(key, label, value, source="", names=(), **kw):
        facts[key] = Fact(key, label, yuan(report, value, source) if kw.get("kind", "amount") == "amount" else value,
                          source, _normed((label, *names)) if aliases else (), **kw)

    A = report.amount
    # 一 收入支出总计 (公开01)
    add("total", "收支总计", A("F01", "grand_total", "amount"), "F01!grand_total",
        ("收入支出总计", "收、支总计", "收支总计", "收入总计", "支出总计"), whole=True)   # 公开01's 总计 rows
    # 二 收入
    add("income", "收入合计", A("F01", "income_total", "amount"), "F01!income_total",
        ("本年收入合计", "收入合计"), whole=True)           # 收入总计 is the 总计 row, not 本年收入合计
    for key, label, rows in INCOME_ITEMS:
        add(f"income.{key}", label, sum((A("F01", r, "amount") for r in rows), ZERO), "F01!" + "+".join(rows),
            group="income")
    # 三 支出 (公开03 合计行; 公开01 本年支出合计)
    add("expense", "支出合计", A("F01", "expense_total", "amount"), "F01!expense_total",
        ("本年支出合计", "支出合计"), whole=True)           # 支出总计 is the 总计 row, not 本年支出合计
    for key, label in EXPENSE_ITEMS:
        add(f"expense.{key}", label, A("F03", "total", key), f"F03!total.{key}", group="expense")
    # 四 财政拨款 (公开04)
    add("fiscal_total", "财政拨款收支总计", A("F04", "grand_total", "amount"), "F04!grand_total",
        ("财政拨款收入支出总计", "财政拨款收、支总计", "财政拨款收支总计", "财政拨款收入总计", "财政拨款支出总计"),
        whole=True)
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

    func = catalog.functional(y)       # the year's catalog once (class_name looks it up on every call)

    def class_name(code: str, year) -> str:
        return func.name(code) or ""

    # every 类 can be named (a class with a 年初预算 and no spending is still spoken of)
    for subj in func.classes():
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
    t9 = "F09X" if "F09" not in report.tables and "F09X" in report.tables else "F09"   # 支出表 / 收入支出表
    f09 = report.tables.get(t9)
    if f09:
        for code, row in sorted(f09.rows.items()):
            if row.kind == "detail" and row.values.get("total") is not None:
                name = class_name(code, y) or row.label
                add(f"soe.{code}", name, row.values["total"].value, f"{t9}!{code}.total",
                    (code, f"{code}{name}", f"{code}-{name}"))
    # 六 基本支出 (公开06)
    # 公开06: 基本支出决算表 (amount), or the central 支出决算明细表 F06X (其中：基本支出 column)
    t6, c6 = ("F06X", "basic") if "F06" not in report.tables and "F06X" in report.tables else (
        ("F06S", "amount") if "F06" not in report.tables and "F06S" in report.tables else ("F06", "amount"))
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
        econ = catalog.economic(y)
        for cls, amt in sorted(classes.items()):
            name = econ.name(cls) or ""
            add(f"econ.{cls}", name, amt, f"{t6}!{cls}.{c6}", (name,), group="econ")
    # 七 三公 (公开07, or the 上海 form F07S with 预算数/决算数 side by side)
    t7 = "F07S" if "F07" not in report.tables and "F07S" in report.tables else "F07"
    for key, label, names in SANGONG_ITEMS:
        add(f"sangong.{key}", label, A(t7, "amount", f"act_{key}"), f"{t7}!amount.act_{key}", names,
            whole=key == "total", group="" if key in ("total", "car_purchase", "car_run") else "sangong")
        add(f"sangong_budget.{key}", label + "预算", A(t7, "amount", f"bud_{key}"), f"{t7}!amount.bud_{key}",
            tuple(a + "预算" for a in names))
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
    # 十 机关运行经费: 公开10 where the form has one and someone filled it; otherwise 说明事项 `run_cost`;
    # otherwise 公开06 公用经费 (行政单位和参公单位). Never a table nobody filled (a 0.00 formula).
    f10 = report.tables.get("F10")
    f10_filled = f10 is not None and "F10" not in report.not_published and any(
        v.amount not in (None, ZERO) for k in ("run_total", "run_admin", "run_civil") if k in f10.rows
        for v in f10.rows[k].values.values())
    run_note = note_amount(report.notes or {}, "run_cost", report.amount_unit)
    if f10_filled:
        add("run_cost", "机关运行经费", A("F10", "run_total", "amount"), "F10!run_total", ("机关运行经费支出",))
    elif run_note is not None:
        facts["run_cost"] = Fact("run_cost", "机关运行经费", run_note, "说明事项:run_cost",
                                 tuple(norm(a) for a in ("机关运行经费", "机关运行经费支出")) if aliases else (),
                                 kind="amount")
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
            facts[nkey] = Fact(nkey, label, amt, f"说明事项:{nkey}", tuple(norm(a) for a in (label, *al)) if aliases
                               else (), whole=nkey in ("proc.total", "proc.sme"))
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


_GPB_CLASS, _GPB_ITEM = re.compile(r"gpb\.\d{3}"), re.compile(r"gpb\.\d{7}")
_BUDGET_CLASS = re.compile(r"budget\.gpb\.\d{3}")


def build_context(report: Report, unit: str, rec: Recorder) -> dict:
    facts = collect_facts(report, aliases=False)     # the context reads figures and labels, not the phrases
    notes = report.notes or {}
    year = report.year
    ctx, amt, note_amt, note, number = base_context(report, unit, rec, facts, short="本部门", zero_lines="不列")
    # 一
    ctx["收支总计"] = amt("total")
    ctx["上年收支总计"] = note_amt("prior.total")
    # 二 / 三: lists with shares of the group (largest remainder: they add to 100.00 %)
    inc = [Item(k, label, amt(f"income.{k}")) for k, label, _ in INCOME_ITEMS]
    with_shares(inc, amt("income"))
    ctx["收入合计"], ctx["收入项目"] = amt("income"), inc
    exp = [Item(k, label, amt(f"expense.{k}")) for k, label in EXPENSE_ITEMS]
    with_shares(exp, amt("expense"))
    ctx["支出合计"], ctx["支出项目"] = amt("expense"), exp
    # 四
    ctx.update({"财政拨款收支总计": amt("fiscal_total"), "上年财政拨款收支总计": note_amt("prior.fiscal_total"),
                "财政拨款收入": amt("fiscal_income"), "上年财政拨款收入": note_amt("prior.fiscal_income", True),
                "财政拨款支出": amt("fiscal_exp"), "上年财政拨款支出": note_amt("prior.fiscal_exp", True)})
    # 五
    ctx.update({"一般公共预算支出": amt("gpb"), "上年一般公共预算支出": note_amt("prior.gpb"),
                "一般公共预算年初预算": note_amt("budget.gpb"),
                "一般公共预算基本支出": amt("gpb_basic"), "一般公共预算项目支出": amt("gpb_project")})
    classes = sorted({k.split(".")[1] for k in facts if _GPB_CLASS.fullmatch(k) and facts[k].value} |
                     {k.split(".")[2] for k in notes if _BUDGET_CLASS.fullmatch(k)})
    by_class = []
    for cls in classes:
        name = class_name(cls, year)
        it = Item(cls, name, amt(f"gpb.{cls}") if f"gpb.{cls}" in facts else printed(ZERO, unit),
                  年初预算=note_amt(f"budget.gpb.{cls}"), 预算原因=note(f"reason.gpb.{cls}.budget"))
        it.extra["简称"] = name[:-2] if name.endswith("支出") else name
        by_class.append(it)
    with_shares([i for i in by_class if value_of(i.金额) != ZERO], ctx["一般公共预算支出"])
    ctx["一般公共预算按类"] = by_class
    items = []
    for k in sorted(k for k in facts if _GPB_ITEM.fullmatch(k)):
        code = k.split(".")[1]
        items.append(Item(code, facts[k].label, amt(k), 年初预算=note_amt(f"budget.gpb.{code}", True),
                          预算原因=note(f"reason.gpb.{code}.budget", True)))
    ctx["一般公共预算按项"] = items
    # 六
    ctx.update({"人员经费": amt("personnel"), "公用经费": amt("public")})
    econ = []
    for k in sorted(k for k in facts if k.startswith("econ.")):
        cls = k.split(".")[1]
        if value_of(amt(k)) == ZERO and note_amount(notes, f"budget.{k}", report.amount_unit) is None \
                and note_amount(notes, f"prior.{k}", report.amount_unit) is None:
            continue
        econ.append(Item(cls, facts[k].label, amt(k), 年初预算=note_amt(f"budget.{k}"),
                         上年=note_amt(f"prior.{k}"), 预算原因=note(f"reason.{k}.budget"),
                         上年原因=note(f"reason.{k}.prior", True)))
    ctx["经济分类"] = econ
    # 七
    sg = {}
    for key, label, _ in SANGONG_ITEMS:
        sg[key] = Item(key, label, amt(f"sangong.{key}"), 年初预算=amt(f"sangong_budget.{key}"),
                       上年=note_amt(f"prior.sangong.{key}"),
                       预算原因=note(f"reason.sangong.{key}.budget", True),
                       上年原因=note(f"reason.sangong.{key}.prior", True))
        sg[key].extra["决算"] = sg[key].金额
    parts = [sg["abroad"], sg["car"], sg["reception"]]
    with_shares(parts, sg["total"].金额)
    ctx["三公"] = sg
    ctx["三公预算原因"] = note("reason.sangong.budget")
    ctx["三公上年原因"] = note("reason.sangong.prior")
    # 八 九
    ctx["基金"] = Item("gf", "政府性基金预算财政拨款", amt("gf"), 上年=note_amt("prior.gf"),
                     上年原因=note("reason.gf", True),
                     extra={"收入": amt("gf_income"), "支出": amt("gf"), "年末": amt("gf_closing"), "明细": []})
    f09 = report.tables.get("F09") or report.tables.get("F09X")
    soe_items = []
    if f09:
        for code, row in sorted(f09.rows.items()):
            if row.kind == "detail" and row.values.get("total") and row.values["total"].value:
                soe_items.append(Item(code, class_name(code, year) or row.label,
                                      printed(yuan_of(report, row.values["total"].value), unit)))
    ctx["国资"] = Item("soe", "国有资本经营预算财政拨款", amt("soe"), 上年=note_amt("prior.soe"),
                     上年原因=note("reason.soe", True),
                     extra={"收入": amt("soe_income"), "支出": amt("soe"), "年末": amt("soe_closing"),
                            "明细": soe_items})
    # 十
    ctx["机关运行经费"] = amt("run_cost")
    ctx["上年机关运行经费"] = note_amt("prior.run_cost")
    proc = {k: note_amt(f"proc.{k}", k in ("sme", "small")) for k in
            ("total", "goods", "works", "services", "sme", "small")}  # sme, small: optional
    if report.tables.get("F10") and report.tables["F10"].get("proc_total", "amount") is not None:
        for k, row in (("total", "proc_total"), ("goods", "proc_goods"), ("works", "proc_works"),
                       ("services", "proc_services")):
            proc[k] = printed(yuan_of(report, report.amount("F10", row, "amount")), unit)
    ctx["政府采购"] = proc
    ctx["绩效项目支出占比"] = None
    perf = note_amt("perf.gpb_amount", True)
    if perf is not None and not isinstance(perf, Missing):
        ctx["绩效项目支出占比"] = pct(perf, ctx["一般公共预算项目支出"])
    return ctx
