"""部门预算情况说明: the budget set's facts, template context and checker, on the 决算 narrative engine.

The engine (templates, filters, paragraphs, the 说明事项 sheet) and the checker (mentions tied to facts by
their names) are the 决算 ones; what differs is where the figures come from (表一–表九 of
templates/budget/tables.yaml) and what a sentence means by its words:

* a budget narrative's figures *are* 预算数: "2024年预算 87.00万元" is the figure itself, not a
  comparison with a budget (the 决算 checker reads 预算 as 年初预算);
* "比2023年执行数…" compares with the prior year: 表二's 上年执行数 (per 项 and in total) and, for
  “三公”, 表四's 上年预算数 (a budget compares budgets);
* "上年结转结余" is an amount of this budget (a source of funds), not a prior-year figure;
* a 项 named as "…（类）…（款）…（项）" in the 项目支出 paragraphs is its 项目支出 (表二 项目支出 column).

The set's interface (xltools.narrative.sets): ``collect_facts``, ``build_context`` and ``BudgetReading``.
"""
from __future__ import annotations

import functools
import re
from decimal import Decimal

from xltools.model import ZERO, Report
from xltools.narrative.engine import Item, base_context, value_of, with_shares
from xltools.narrative.facts import Fact, class_name, norm, note_amount, note_text, yuan
from xltools.narrative.reading import CHANGE_TAIL, Reading, plain

__all__ = ["collect_facts", "build_context", "BudgetReading", "TITLE", "DEFAULT_UNIT", "INCOME_ITEMS",
           "EXPENSE_ITEMS"]

TITLE = "年部门预算情况说明"
DEFAULT_UNIT = "万元"

# 部门收支预算总表 (表六) lines a 情况说明 lists: (key, label, row)
INCOME_ITEMS = [("fiscal", "财政拨款预算收入", "inc_fiscal"), ("business", "事业预算收入", "inc_business"),
                ("superior", "上级补助预算收入", "inc_superior"), ("affiliated", "附属单位上缴预算收入", "inc_affiliated"),
                ("operating", "经营预算收入", "inc_operating"), ("debt", "债务预算收入", "inc_debt"),
                ("nonlevel", "非同级财政拨款预算收入", "inc_nonlevel"), ("invest", "投资预算收益", "inc_invest"),
                ("other", "其他预算收入", "inc_other")]
EXPENSE_ITEMS = [("admin", "行政支出", "exp_admin"), ("business", "事业支出", "exp_business"),
                 ("operating", "经营支出", "exp_operating"), ("remit", "上缴上级支出", "exp_remit"),
                 ("subsidy", "对附属单位补助支出", "exp_subsidy"), ("invest", "投资支出", "exp_invest"),
                 ("debt", "债务还本支出", "exp_debt"), ("other", "其他支出", "exp_other")]
SANGONG = [("total", "“三公”经费", "total", ("三公经费", "三公经费财政拨款预算数", "三公经费财政拨款预算")),
           ("abroad", "因公出国（境）费", "abroad", ("因公出国(境)费", "因公出国费")),
           ("car", "公务用车购置及运行费", "car", ("公务用车购置及运行费", "公务用车购置及运行维护费")),
           ("car_purchase", "公务用车购置费", "car_purchase", ("公务用车购置", "公务用车购置费")),
           ("car_run", "公务用车运行费", "car_run", ("公务用车运行费", "公务用车运行维护费")),
           ("reception", "公务接待费", "reception", ("公务接待费",))]


@functools.lru_cache(maxsize=None)
def _all_sources() -> dict:
    import yaml

    from xltools.spec import templates_dir

    path = templates_dir() / "budget" / "narrative" / "sources.yaml"
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def sources(variant: str | None) -> dict:
    """Where each figure comes from under a variant (templates/budget/narrative/sources.yaml)."""
    allsrc = _all_sources()
    return allsrc.get(variant or "") or allsrc.get("ningxia") or {}


# (fact key, label, aliases, whole) of the single figures; a key a variant's sources leave out is not a fact
_SCALARS = [
    ("fiscal_total", "财政拨款收支总计", ("财政拨款收入预算", "财政拨款收支预算", "财政拨款收入总计"), True),
    ("fiscal_income", "财政拨款本年收入", ("财政拨款本年收入",), False),
    # “本年收入预算合计…，其中：一般公共预算收入 17981.68 万元，…；政府性基金预算收入 0万元” (江苏 2017/2018)
    ("gpb_income", "一般公共预算财政拨款收入", ("一般公共预算拨款", "一般公共预算财政拨款收入", "一般公共预算收入"), False),
    ("gf_income", "政府性基金预算财政拨款收入", ("政府性基金预算拨款", "政府性基金预算财政拨款收入", "政府性基金收入",
                                              "政府性基金预算收入"), False),
    ("fsa_income", "财政专户管理资金收入", ("财政专户管理资金收入", "财政专户管理资金"), False),
    ("other_income", "其他资金收入", ("其他资金收入",), False),
    # “…财政拨款基本支出预算 12308.48 万元” is this, not 基本支出预算 of all funds (江苏 2017 省检察院)
    ("fiscal_basic", "财政拨款基本支出", ("财政拨款基本支出", "财政拨款基本支出预算"), False),
    ("soe_income", "国有资本经营预算财政拨款收入", ("国有资本经营预算拨款", "国有资本经营预算财政拨款收入"), False),
    ("fiscal_opening", "财政拨款上年结转结余", ("财政拨款上年结转结余",), False),
    ("fiscal_exp", "财政拨款支出预算", ("财政拨款支出预算", "财政拨款支出"), True),
    ("gpb", "一般公共预算财政拨款支出", ("一般公共预算财政拨款支出", "一般公共预算支出", "一般公共预算拨款支出预算"), True),
    ("gpb_basic", "一般公共预算财政拨款基本支出", ("一般公共预算财政拨款基本支出", "一般公共预算财政拨款基本支出预算"),
     False),
    ("gpb_project", "一般公共预算财政拨款项目支出", ("一般公共预算财政拨款项目支出",), False),
    ("prior.gpb", "一般公共预算财政拨款支出上年执行数", (), False),
    ("personnel", "人员经费", ("人员经费", "人员支出"), False),
    ("public", "公用经费", ("公用经费", "日常公用支出"), False),
    ("run_cost", "机关运行经费", ("机关运行经费", "机关运行经费预算"), False),
    ("gf", "政府性基金预算财政拨款支出", ("政府性基金预算财政拨款支出", "政府性基金拨款支出预算", "政府性基金支出"), False),
    ("soe", "国有资本经营预算财政拨款支出", ("国有资本经营预算财政拨款支出", "国有资本经营预算拨款支出预算"), False),
    # 江苏's 会议费 / 培训费 of the “三公” table (all funds), not the 30215 / 30216 款 of 基本支出
    ("meeting", "会议费预算", ("会议费预算支出",), False),
    ("training", "培训费预算", ("培训费预算支出",), False),
    # the 合计 of that table (“三公” + 会议费 + 培训费): a share printed of it is on the wrong base (N-03)
    ("sangong_all", "“三公”经费、会议费、培训费合计", ("三公经费会议费培训费合计",), True),
    ("total_income", "收入总预算", ("收入总预算", "收入总计"), True),
    ("income", "本年收入", ("本年收入", "本年收入合计", "当年收入"), True),
    ("carry", "上年结转结余", ("上年结转结余", "上年结转资金"), False),
    ("total_exp", "支出总预算", ("支出总预算", "支出总计"), True),
    ("expense", "本年支出", ("本年支出", "本年支出合计", "当年支出"), True),
    ("closing", "年末结转结余", ("年末结转结余", "结转下年资金"), False),
    # all funds by use (江苏 支出预算总表, 上海 支出预算总表)
    ("basic", "基本支出预算数", ("基本支出预算",), False),
    ("project", "项目支出预算数", ("项目支出预算",), False),
    ("reserve", "单位预留机动经费", ("单位预留机动经费", "单位预留机动经费预算"), False),
]


def collect_facts(report: Report) -> dict[str, Fact]:
    """Every figure a budget narrative can quote, by key (amounts in 元), from the tables its variant's
    sources name (templates/budget/narrative/sources.yaml)."""
    from xltools.rules.engine import parse_ref
    from xltools.spec import load_set

    facts: dict[str, Fact] = {}
    y = report.year
    src = sources(report.variant)
    tset = load_set(report.set_id)

    def scale(table_id: str) -> Decimal:
        t = tset.tables.get(table_id)
        unit = (t.amount_unit if t is not None else "") or report.unit_of(table_id)
        return Decimal(10000) if unit == "万元" else Decimal(1)

    def value(spec) -> tuple[Decimal, str]:
        refs = spec if isinstance(spec, list) else [spec]
        total = ZERO
        for r in refs:
            ref = parse_ref(str(r))
            total += report.amount(ref.table, ref.row, ref.col) * scale(ref.table)
        return total, "+".join(str(r) for r in refs)

    def add_yuan(key, label, amount, source="", aliases=(), **kw):
        facts[key] = Fact(key, label, amount, source, tuple(norm(a) for a in (label, *aliases)), **kw)

    for key, label, aliases, whole in _SCALARS:
        if key in src:
            v, where = value(src[key])
            add_yuan(key, label, v, where, aliases, whole=whole)
    for group in ("income", "expense"):
        for key, label, _row in (INCOME_ITEMS if group == "income" else EXPENSE_ITEMS):
            if f"{group}.{key}" in src:
                v, where = value(src[f"{group}.{key}"])
                add_yuan(f"{group}.{key}", label, v, where, group=group)
    # 类 lines: of 财政拨款 (the 财政拨款 paragraph), and of all funds where a form prints them (its 收支预算总表,
    # which the 收支预算总表 section quotes: named by the same words, they are that section's figures)
    for spec, prefix, extra in (("classes", "class", {}), ("classes_all", "all.class", {"section_only": True})):
        if not src.get(spec):
            continue
        tid, col = str(src[spec]).split(".", 1)
        td = report.tables.get(tid)
        for key, row in (td.rows.items() if td else ()):
            if len(key) == 3 and key.isdigit():
                name = class_name(key, y) or row.label
                base = name[:-2] if name.endswith("支出") else name
                add_yuan(f"{prefix}.{key}", name, report.amount(tid, key, col) * scale(tid), f"{tid}!{key}.{col}",
                         (name, base + "(类)", base + "(类)支出"), group=prefix, **extra)
    # 一般公共预算 项
    items = src.get("gpb_items") or {}
    td = report.tables.get(items.get("table", "")) if items else None
    if td is not None:
        tid = items["table"]
        k = scale(tid)
        for code, row in td.rows.items():
            if row.kind != "detail" or len(code) != 7:
                continue
            name = class_name(code, y) or row.label
            if items.get("total"):
                # 上海 names a 项 as “…（204类）司法（06款）行政运行（01项）”
                add_yuan(f"gpb.{code}", name, report.amount(tid, code, items["total"]) * k, f"{tid}!{code}.{items['total']}",
                         (code, f"{code}{name}", f"{code}-{name}", f"{name}({code[5:]}项)"))
            if items.get("prev"):
                add_yuan(f"prior.gpb.{code}", f"{name}上年执行数", report.amount(tid, code, items["prev"]) * k,
                         f"{tid}!{code}.{items['prev']}")
            if items.get("project"):
                # the 项目支出 paragraphs name a 项 as …（类）…（款）…（项）: its 项目支出
                add_yuan(f"gpb_project.{code}", f"{name}项目支出", report.amount(tid, code, items["project"]) * k,
                         f"{tid}!{code}.{items['project']}", (f"{name}(项)",))
    # 基本支出 经济分类 款
    econ_src = src.get("econ_items") or {}
    td = report.tables.get(econ_src.get("table", "")) if econ_src else None
    if td is not None:
        from xltools import catalog

        econ = catalog.economic(y)
        for code, row in td.rows.items():
            if code.isdigit() and len(code) == 5:
                name = econ.name(code) or row.label
                add_yuan(f"econ.{code}", name, report.amount(econ_src["table"], code, econ_src["total"]) * scale(econ_src["table"]),
                         f"{econ_src['table']}!{code}.{econ_src['total']}", (name, row.label))
    # “三公”: this year's budget; a budget compares with last year's budget where the form prints it
    for key, label, _col, aliases in SANGONG:
        if f"sangong.{key}" in src:
            v, where = value(src[f"sangong.{key}"])
            add_yuan(f"sangong.{key}", label, v, where, aliases, whole=key == "total")
        if f"prior.sangong.{key}" in src:
            v, where = value(src[f"prior.sangong.{key}"])
            add_yuan(f"prior.sangong.{key}", label + "上年预算数", v, where)
    # 表九 项目支出绩效目标: each project's 年度资金总额
    for n, p in enumerate(report.blocks.get("B09") or [], start=1):
        from xltools.perf import dec

        v = dec(p.funds.get("annual_total"))
        if v is not None and p.name:
            add_yuan(f"project.{n}", p.name, yuan(report, v), f"B09:{p.name}", (p.name, p.name + "项目"))
    # 说明事项 figures
    notes = report.notes or {}
    for nkey, label, aliases in _NOTE_FACTS:
        amt = note_amount(notes, nkey, report.amount_unit)
        if amt is not None:
            facts[nkey] = Fact(nkey, label, amt, f"说明事项:{nkey}", tuple(norm(a) for a in (label, *aliases)),
                               whole=nkey == "proc.total")
    for nkey in list(notes):
        if nkey.startswith("prior.") and nkey not in facts:
            amt = note_amount(notes, nkey, report.amount_unit)
            if amt is not None:
                base = facts.get(nkey[len("prior."):])
                facts[nkey] = Fact(nkey, (base.label if base else nkey) + "上年执行数", amt, f"说明事项:{nkey}")
    return facts


_NOTE_FACTS = [
    ("proc.total", "政府采购预算", ("政府采购预算",)),
    ("proc.goods", "政府采购货物预算", ("政府采购货物预算",)),
    ("proc.works", "政府采购工程预算", ("政府采购工程预算",)),
    ("proc.services", "政府采购服务预算", ("政府采购服务预算",)),
]


# ---------------------------------------------------------------- rendering

def build_context(report: Report, unit: str, rec) -> dict:
    facts = collect_facts(report)
    notes = report.notes or {}
    y = report.year
    ctx, amt, note_amt, note, number = base_context(report, unit, rec, facts, short="本单位", zero_lines="列出")
    # 一 财政拨款
    ctx.update({"财政拨款收支总计": amt("fiscal_total"), "财政拨款本年收入": amt("fiscal_income"),
                "一般公共预算收入": amt("gpb_income"), "政府性基金收入": amt("gf_income"),
                "财政拨款上年结转结余": amt("fiscal_opening"), "财政拨款支出": amt("fiscal_exp")})
    classes = []
    for k in sorted(k for k in facts if k.startswith("class.")):
        if value_of(amt(k)) != ZERO:
            classes.append(Item(k.split(".")[1], facts[k].label, amt(k)))
    ctx["财政拨款按类"] = classes
    # 二 一般公共预算
    ctx.update({"一般公共预算支出": amt("gpb"), "上年一般公共预算支出": amt("prior.gpb"),
                "基本支出": amt("gpb_basic"), "项目支出": amt("gpb_project"),
                "上年基本支出": note_amt("prior.gpb_basic"), "基本支出原因": note("reason.gpb_basic.prior"),
                "人员经费": amt("personnel"), "公用经费": amt("public")})
    econ = []
    src = sources(report.variant)
    econ_src = src.get("econ_items") or {}
    b03 = report.tables.get(econ_src.get("table", ""))
    pcol = econ_src.get("personnel")
    for k in sorted(k for k in facts if k.startswith("econ.")):
        if value_of(amt(k)) != ZERO:
            code = k.split(".")[1]
            row = b03.rows.get(code) if b03 else None
            it = Item(code, facts[k].label, amt(k))
            # 人员经费: the form's 人员 column where it has one, otherwise 工资福利 (301) and 对个人和家庭的补助 (303)
            it.extra["人员"] = bool(row and row.values.get(pcol) and row.values[pcol].value) if pcol \
                else code[:3] in ("301", "303")
            econ.append(it)
    ctx["人员经费明细"] = [i for i in econ if i.人员]
    ctx["公用经费明细"] = [i for i in econ if not i.人员]
    items = []
    b02 = report.tables.get((src.get("gpb_items") or {}).get("table", ""))
    for k in sorted(k for k in facts if k.startswith("gpb_project.")):
        code = k.split(".")[1]
        if value_of(amt(k)) == ZERO:
            continue
        row = b02.rows.get(code) if b02 else None
        cls, kuan = class_name(code[:3], y), class_name(code[:5], y)
        # per-项 prior figures and reasons (说明事项 `each: project_items`): optional, a 项 without them is
        # stated without a comparison
        it = Item(code, facts[k].label[:-4], amt(k), 上年=note_amt(f"prior.gpb_project.{code}", True),
                  上年原因=note(f"reason.gpb_project.{code}.prior", True))
        it.extra.update({"类": cls[:-2] if cls.endswith("支出") else cls, "款": kuan,
                         "用途": note(f"use.gpb_project.{code}", True), "行": row})
        items.append(it)
    ctx["项目支出按项"] = items
    # 三 “三公”
    sg = {}
    for key, label, _, _ in SANGONG:
        sg[key] = Item(key, label, amt(f"sangong.{key}"), 上年=amt(f"prior.sangong.{key}"))
    ctx["三公"] = sg
    # 四 政府性基金
    ctx["政府性基金支出"] = amt("gf")
    ctx.update({"国有资本经营预算收入": amt("soe_income"), "国有资本经营预算支出": amt("soe"),
                "会议费": amt("meeting"), "培训费": amt("training"), "全部基本支出": amt("basic"),
                "全部项目支出": amt("project"), "单位预留机动经费": amt("reserve")})
    # 五 收支总体
    ctx.update({"收入总预算": amt("total_income"), "本年收入": amt("income"), "上年结转结余": amt("carry"),
                "支出总预算": amt("total_exp"), "本年支出": amt("expense"), "年末结转结余": amt("closing")})
    inc = [Item(k, label, amt(f"income.{k}")) for k, label, _ in INCOME_ITEMS]
    with_shares(inc, amt("income"))
    exp = [Item(k, label, amt(f"expense.{k}")) for k, label, _ in EXPENSE_ITEMS]
    with_shares(exp, amt("expense"))
    ctx["收入项目"], ctx["支出项目"] = inc, exp
    # 六 其他重要事项
    ctx["机关运行经费"] = amt("run_cost")
    ctx["政府采购"] = {k: note_amt(f"proc.{k}") for k in ("total", "goods", "works", "services")}
    ctx["国有资产"] = note("assets")
    projects = []
    for n, p in enumerate(report.blocks.get("B09") or [], start=1):
        if f"project.{n}" in facts:
            projects.append(Item(str(n), p.name, amt(f"project.{n}"), extra={"目标": p.fields.get("goal", "")}))
    ctx["绩效项目"] = projects
    ctx["重点项目"] = [projects[i - 1] for i in _ints(note_text(notes, "perf.key_projects")) if 0 < i <= len(projects)] \
        if note_text(notes, "perf.key_projects") else sorted(projects, key=lambda i: -value_of(i.金额))[:3]
    ctx["绩效说明"] = note("perf.text", True)
    ctx["其他事项"] = note("other", True)
    return ctx


def _ints(text: str | None) -> list[int]:
    return [int(x) for x in re.findall(r"\d+", text or "")]


class BudgetReading(Reading):
    """A budget's words: its 预算数 are its own figures; 上年 / <上年>年执行数 compare with the prior year."""

    def role(self, clause: str) -> str:
        c = plain(clause)
        if CHANGE_TAIL.search(c):
            return "change"
        c = re.sub(r"上年(结转结余|结转|结余)", "", c)       # a source of this budget, not last year
        if "上年" in c or "去年" in c or self.prior_year in c:
            return "prior"
        return "actual"                                    # 预算数 is this budget's own figure

    def closing_year(self) -> int | None:
        # a budget is written before its year: its 资产 stand at the end of the year before
        return self.year - 1 if self.year else None

    def compared_with(self, before: str) -> str | None:
        b = re.sub(r"上年(结转结余|结转|结余)", "", plain(before))
        return "prior" if ("上年" in b or "去年" in b or self.prior_year in b) else None

    def unchecked(self, clause: str) -> bool:
        # 本年收入安排支出 / 上年结转资金安排支出: a split of the subject by source the tables do not give;
        # “由 X 增加至 Y”: X is a prior figure of what the clause names, not this budget
        return re.search(r"(安排支出|由)$", plain(clause)) is not None

    def gives_reason(self, before: str) -> bool:
        # a budget narrative gives its reasons as “增加原因是…” / “原因是…”, not only “主要原因”
        return re.search(r"原因(是|为|：|:)", before.split("；")[-1]) is not None

    def sentence_whole(self, sentence: str, facts: dict):
        # “本年收入包括：A X万元，占 p%；…” — the shares are of the total the sentence opens with
        for key, word in (("income", "本年收入"), ("expense", "本年支出")):
            if plain(norm(sentence)).startswith(word) and key in facts:
                return facts[key]
        return None
