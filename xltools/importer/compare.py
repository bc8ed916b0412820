"""Prior-year and budget figures for a 情况说明, taken from other disclosures instead of typed.

``xltools narrative 文件.xlsx --prior 上年公开.(xlsx|pdf) --budget 本年预算公开.(xlsx|pdf)``:
  * every fact the narrative compares with last year (``prior.<fact>`` in 说明事项) comes from the same
    fact of last year's 决算 disclosure;
  * the 年初预算数 (``budget.gpb``, ``budget.gpb.<科目>``, ``budget.econ.<类>``) come from this year's
    budget disclosure: its 一般公共预算 expense table by 功能分类 and its 基本支出 table by 经济分类.
What the user typed into 说明事项 is never replaced. Amounts are stored as "…元" text, so they are
read right whatever the workbook's amount unit.
"""
from __future__ import annotations

from decimal import Decimal

from xltools.model import Report

__all__ = ["fill_prior", "fill_budget"]


def _empty(notes: dict, key: str) -> bool:
    v = notes.get(key)
    return v is None or (isinstance(v, str) and not v.strip())


def _yuan_text(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}元"


def fill_prior(report: Report, prior: Report) -> dict[str, str]:
    """Fill ``prior.<fact>`` from last year's disclosure; returns what was filled (key → text)."""
    from xltools.narrative import collect_facts

    if prior.set_id != report.set_id:
        raise ValueError(f"上年公开文件是{_set_title(prior)}，与本年的{_set_title(report)}不是同一类报表")
    if report.year and prior.year and prior.year != report.year - 1:
        raise ValueError(f"上年公开文件的年度是 {prior.year}，应为 {report.year - 1}")
    facts = collect_facts(prior)
    notes = report.notes if report.notes is not None else {}
    filled = {}
    for key, fact in facts.items():
        if getattr(fact, "kind", "amount") != "amount" or key.startswith(("prior.", "budget.")):
            continue
        if not isinstance(fact.value, Decimal):
            continue
        nkey = f"prior.{key}"
        if _empty(notes, nkey):
            notes[nkey] = filled[nkey] = _yuan_text(fact.value)
    report.notes = notes
    return filled


def fill_budget(report: Report, budget: Report) -> dict[str, str]:
    """Fill the 年初预算数 of the 决算 narrative from this year's budget disclosure."""
    from xltools.spec import load_set

    if budget.set_id != "budget":
        raise ValueError(f"预算公开文件被识别为{_set_title(budget)}，不是部门预算公开")
    if report.year and budget.year and budget.year != report.year:
        raise ValueError(f"预算公开文件的年度是 {budget.year}，应为 {report.year}")
    tset = load_set(budget.set_id)
    notes = report.notes if report.notes is not None else {}
    filled = {}
    scale = Decimal(10000) if budget.amount_unit == "万元" else Decimal(1)

    def put(key: str, amount: Decimal | None):
        if amount is not None and _empty(notes, key):
            notes[key] = filled[key] = _yuan_text(amount * scale)

    for tid, td in budget.tables.items():
        table = tset.tables[tid]
        title = table.title
        if table.detail_kind == "functional" and "一般公共预算" in title and "基本支出" not in title:
            total = td.rows.get("total")
            if total and total.values.get("total") and total.values["total"].amount is not None:
                put("budget.gpb", total.values["total"].amount)
            for key, rd in td.rows.items():
                v = rd.values.get("total")
                if rd.kind in ("detail", "class") and v is not None:
                    put(f"budget.gpb.{key}", v.amount)
        elif table.detail_kind == "economic" and "基本支出" in title:
            for key, rd in td.rows.items():
                v = rd.values.get("total")
                if rd.kind == "class" and v is not None:
                    put(f"budget.econ.{key}", v.amount)
    report.notes = notes
    return filled


def _set_title(rep: Report) -> str:
    from xltools.spec import load_set

    return load_set(rep.set_id).title
