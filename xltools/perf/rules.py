"""Rules for the 绩效 block tables → xltools.rules.engine.Finding records.

目标表 (targets), per project:
  P-<ID>-01  error    a fund total = Σ its sources (年度资金总额 = 财政拨款 + 其他资金 [+ 结余结转]; 本级/转移 资金总额)
  W-<ID>-02  warning  项目总额 < 年度资金总额
  W-<ID>-03  warning  Σ 成本指标 (unit cost × the quantities the project states, or a stated amount) ≠ 年度资金总额;
                      only where every 成本指标 line can be valued (see ``cost_lines``)
  X-<ID>-01  error    Σ 年度资金总额 of the projects = the table cell named in blocks.yaml (表二 项目支出 合计),
                      and per 功能分类 项 for projects that name one (``subject``)
自评表 (selfeval), per project:
  P-<ID>-01  error    年度资金总额 = 当年财政拨款 + 上年结转资金 + 其他资金, per column where the parts are printed
  P-<ID>-02  error    执行率 = 全年执行数 ÷ 全年预算数
  P-<ID>-03  error    预算执行 得分 = min(执行率, 1) × 分值
  P-<ID>-04  error    得分 > 分值
  P-<ID>-05  error    总分 得分 ≠ Σ 得分
  W-<ID>-06  warning  全年执行数 > 全年预算数
  W-<ID>-07  warning  a 时效指标 names a year other than the report's
  P-<ID>-08  error    等级 ≠ the grade of 总分 (≥90 优, ≥80 良, ≥60 中, else 差)
  W-<ID>-09  warning  a 一级指标 that states its points (“产出指标（50 分）”): Σ 分值 of its lines ≠ those points
  W-<ID>-10  warning  Σ 成本指标 (年度指标值 / 实际完成值, where every 成本 line is an amount in 万元) above the
                      全年预算数 / 全年执行数 beyond the rounding of the printed figures
"""
from __future__ import annotations

import re
from decimal import Decimal

from xltools.rules.engine import Finding, fmt

ZERO = Decimal(0)
TENK = Decimal(10000)
_UNIT_ALIAS = {"课时": "小时", "个月": "月"}


def block_findings(report) -> list[Finding]:
    from xltools.perf.blocks import blocks_of
    from xltools.perf.sheets import read_blocks

    bts = blocks_of(report)
    if not bts:
        return []
    out: list[Finding] = []
    if not any(bt.id in report.blocks for bt in bts) and str(report.origin).lower().endswith((".xlsx", ".xlsm")):
        before = len(report.problems)
        read_blocks(report.origin, report)
        for prob in report.problems[before:]:      # check_report has read the problems already
            if isinstance(prob, tuple) and prob[0] == "missing_sheet":
                out.append(Finding("S-01", "error", prob[1], prob[2], f"缺少表页“{prob[2]}”"))
    for bt in bts:
        projects = report.blocks.get(bt.id)
        if projects is None:
            continue
        sheet = report.blocks.get("_sheets", {}).get(bt.id, bt.id)
        if bt.kind == "targets":
            out += _targets(bt, projects, sheet, report)
        else:
            out += _selfeval(bt, projects, sheet, report)
    return out


_POINTS = re.compile(r"[（(]\s*(\d+(?:\.\d+)?)\s*分\s*[)）]")
_WAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*万元\s*$")


def _points_and_costs(bt, p, sheet, lines, budget, spent) -> list[Finding]:
    """W-09: the points a 一级指标 states against Σ 分值 of its lines; W-10: Σ 成本指标 against the funds."""
    out = []
    at = lambda col, n: f"{sheet}!{col}{lines[n]}" if n < len(lines) else f"{p.source}（指标 {n + 1}）"  # noqa: E731
    groups: dict[str, list] = {}
    for n, ind in enumerate(p.indicators):
        m = _POINTS.search(str(ind[0] or ""))
        if m:
            g = groups.setdefault(ind[0], [Decimal(m.group(1)), ZERO, n])
            g[1] += _d(ind[5]) or ZERO
    for label, (stated, total, n) in groups.items():
        if total != ZERO and total != stated:
            out.append(Finding(f"W-{bt.id}-09", "warning", bt.id, at("F", n),
                               f"项目“{p.name}”：“{label}”下各指标分值之和为 {fmt(total)}，与标明的 {fmt(stated)} 分不符",
                               expected=str(stated), actual=str(total), difference=str(total - stated)))
    costs = [(n, ind) for n, ind in enumerate(p.indicators) if "成本" in str(ind[1] or "")]
    for col, k, amount, what in (("D", 3, budget, "全年预算数"), ("E", 4, spent, "全年执行数")):
        found = [_WAN.match(str(ind[k] or "")) for _, ind in costs]
        if not costs or amount is None or not all(found):
            continue
        vals = [Decimal(m.group(1)) for m in found]
        total = sum(vals, ZERO)
        if total - sum((_hw(v, 0) for v in vals), ZERO) > amount + _hw(amount):
            name = "年度指标值" if k == 3 else "实际完成值"
            out.append(Finding(f"W-{bt.id}-10", "warning", bt.id, at(col, costs[0][0]),
                               f"项目“{p.name}”：成本指标{name}合计 {fmt(total)} 万元，大于{what} {fmt(amount)} 万元",
                               expected=str(amount), actual=str(total), difference=str(total - amount)))
    return out


def _d(v):
    from xltools.perf.blocks import dec
    return dec(v)


def _hw(d: Decimal | None, min_decimals: int = 2) -> Decimal:
    """Half the last digit a value stands for, at least ½·10⁻² (万元 to the cent)."""
    if d is None:
        return ZERO
    exp = d.as_tuple().exponent
    decimals = max(min_decimals, -exp if isinstance(exp, int) else min_decimals)
    return Decimal(1).scaleb(-decimals) / 2


def _where(p, key, sheet):
    c = p.cells.get(key)
    if isinstance(c, str):
        return c
    if isinstance(c, int):
        return f"{sheet}!{'A'}{c}"
    return f"{p.source}（{key}）"


# ---------------------------------------------------------------- 目标表

def _targets(bt, projects, sheet, report) -> list[Finding]:
    from xltools.perf.sheets import TARGET_FUNDS

    out = []
    rows = TARGET_FUNDS[bt.form]
    for p in projects:
        f = {k: _d(p.funds.get(k)) for k, _, _ in rows}
        for k, lab, parts in rows:
            if parts is None or f[k] is None or all(f[x] is None for x in parts):
                continue
            total = sum((f[x] or ZERO for x in parts), ZERO)
            tol = _hw(f[k], 0) + sum((_hw(f[x], 0) for x in parts if f[x] is not None), ZERO)
            if abs(f[k] - total) > tol:
                cell = _where(p, k, sheet)
                names = "、".join(lab2 for k2, lab2, _ in rows if k2 in parts)
                out.append(Finding(f"P-{bt.id}-01", "error", bt.id, cell,
                                   f"项目“{p.name}”：{lab} {fmt(f[k])} 万元应等于 {names} 之和 {fmt(total)} 万元，相差 {fmt(f[k] - total)}",
                                   expected=str(total), actual=str(f[k]), difference=str(f[k] - total)))
        if f.get("project_total") is not None and f.get("annual_total") is not None and \
                f["project_total"] + _hw(f["project_total"], 0) < f["annual_total"] - _hw(f["annual_total"], 0):
            out.append(Finding(f"W-{bt.id}-02", "warning", bt.id, _where(p, "project_total", sheet),
                               f"项目“{p.name}”：项目总额 {fmt(f['project_total'])} 万元小于年度资金总额 {fmt(f['annual_total'])} 万元",
                               expected=str(f["annual_total"]), actual=str(f["project_total"])))
        valued = cost_total(p)
        annual = f.get("annual_total")
        if valued is not None and annual is not None:
            total, detail = valued
            if abs(total - annual) > max(annual * Decimal("0.005"), Decimal("0.01")):
                out.append(Finding(f"W-{bt.id}-03", "warning", bt.id, _where(p, "annual_total", sheet),
                                   f"项目“{p.name}”：成本指标按单价 × 数量合计 {fmt(total)} 万元，与年度资金总额 {fmt(annual)} 万元不符"
                                   f"（{'；'.join(detail)}）",
                                   expected=str(annual), actual=str(total), difference=str(total - annual)))
    if bt.project_total:
        out += _against_tables(bt, projects, sheet, report)
    return out


def _against_tables(bt, projects, sheet, report) -> list[Finding]:
    from xltools.rules.engine import parse_ref

    out = []
    ref = parse_ref(bt.project_total)
    td = report.tables.get(ref.table)
    if td is None:
        return out
    v = td.get(ref.row, ref.col)
    target = v.amount if v is not None and v.amount is not None else ZERO
    amounts = [(p, _d(p.funds.get("annual_total"))) for p in projects]
    total = sum((a or ZERO for _, a in amounts), ZERO)
    tol = _hw(target) + sum((_hw(a, 0) for _, a in amounts if a is not None), ZERO)
    cell = v.source if v is not None else f"{ref.table}!{ref.row}.{ref.col}"
    if abs(total - target) > tol:
        out.append(Finding(f"X-{bt.id}-01", "error", bt.id, cell,
                           f"各项目年度资金总额之和 {fmt(total)} 万元（{len(projects)} 个项目）应等于 {cell} 的项目支出 {fmt(target)} 万元，"
                           f"相差 {fmt(total - target)}", expected=str(total), actual=str(target),
                           difference=str(target - total)))
    if bt.subject_col:
        by_subject: dict[str, list] = {}
        for p, a in amounts:
            s = (p.fields.get("subject") or "").strip()
            if s:
                by_subject.setdefault(s, []).append(a or ZERO)
        for s, vals in by_subject.items():
            r = parse_ref(bt.subject_col.replace("{code}", s))
            vv = td.get(r.row, r.col)
            tgt = vv.amount if vv is not None and vv.amount is not None else ZERO
            tot = sum(vals, ZERO)
            if abs(tot - tgt) > _hw(tgt) + len(vals) * Decimal("0.5"):
                c = vv.source if vv is not None else f"{r.table}!{r.row}.{r.col}（缺少此行）"
                out.append(Finding(f"X-{bt.id}-01", "error", bt.id, c,
                                   f"科目 {s} 下各项目年度资金总额之和 {fmt(tot)} 万元应等于该科目项目支出 {fmt(tgt)} 万元",
                                   expected=str(tot), actual=str(tgt), difference=str(tgt - tot)))
    return out


_COST = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(万元|元)\s*((?:/\s*[^/\s；;，,、]+)*)")
_QTY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(万)?\s*([^\d\s/%≥≤<>=*×]+?)\s*(?:/.*)?$")


def _unit(u: str) -> str:
    u = u.strip()
    return _UNIT_ALIAS.get(u, u)


def parse_quantity(value: str) -> dict[str, Decimal] | None:
    """'26台' → {台: 26}; '80.36万人' → {人: 803600}; '2天*250人' → {天: 2, 人: 250}; '95%' → None."""
    parts = re.split(r"[*×]", value or "")
    out = {}
    for part in parts:
        m = _QTY.match(part)
        if not m or "元" in m.group(3):
            return None
        n = Decimal(m.group(1)) * (TENK if m.group(2) else 1)
        out[_unit(m.group(3))] = n
    return out or None


def parse_cost(value: str) -> tuple[Decimal, list[str]] | None:
    """'1.2 万元/月/人' → (1.2, [月, 人]); '500 元/人/天' → (0.05, [人, 天]); '6078万元；600元/人/次' → (6078, [])."""
    m = _COST.match(value or "")
    if not m:
        return None
    n = Decimal(m.group(1)) / (1 if m.group(2) == "万元" else TENK)
    dens = [_unit(x) for x in m.group(3).split("/") if x.strip()]
    return n, dens


def _overlap(a: str, b: str) -> int:
    return len(set(a) & set(b))


def cost_total(p) -> tuple[Decimal, list[str]] | None:
    """Σ 成本指标 of a project in 万元, or None when some line cannot be valued.

    A line is a stated amount (“100万元”) or a unit cost whose every denominator is matched by a quantity the
    project states (数量/时效 指标 with that unit; a compound “2天*250人” first; several candidates: the one whose
    name shares most characters with the cost line's, if it is the only best). Without a stated quantity,
    月 counts 12 a year, 年 and 次 count 1 (the annual money is for one year).
    """
    qty = []
    costs = []
    for ind in p.indicators:
        level2, name, value = ind[1], ind[2], ind[3]
        if "成本" in level2 or (not level2 and costs and not name):
            costs.append((name, value))
        else:
            q = parse_quantity(value)
            if q:
                qty.append((name, q))
    if not costs:
        return None
    total, detail = ZERO, []
    for name, value in costs:
        c = parse_cost(value)
        if c is None:
            return None
        amount, dens = c
        if not dens:
            total += amount
            detail.append(f"{name} {fmt(amount)}")
            continue
        factor, used, left = Decimal(1), [], list(dens)
        if len(left) > 1:
            comp = [(n, q) for n, q in qty if len(q) > 1 and all(u in q for u in left)]
            if len(comp) == 1:
                for u in left:
                    factor *= comp[0][1][u]
                used.append(comp[0][0])
                left = []
        for u in left:
            cands = [(n, q[u]) for n, q in qty if len(q) == 1 and u in q]
            if len(cands) > 1:
                scored = sorted(((_overlap(name, n), n, v) for n, v in cands), reverse=True)
                if scored[0][0] == scored[1][0]:
                    return None
                cands = [(scored[0][1], scored[0][2])]
            if cands:
                factor *= cands[0][1]
                used.append(cands[0][0])
            elif u == "月":
                factor *= 12
            elif u in ("年", "次"):
                pass
            else:
                return None
        total += amount * factor
        detail.append(f"{name} {fmt(amount * factor)}")
    return total, detail


# ---------------------------------------------------------------- 自评表

_YEAR = re.compile(r"(20\d\d)\s*年")


def _selfeval(bt, projects, sheet, report) -> list[Finding]:
    out = []
    year = report.year
    for p in projects:
        row = p.cells.get("total")
        rows = {k: [_d(x) for x in (list(p.funds.get(k) or []) + [None] * 6)[:6]] for k in ("total", "fiscal", "carryover", "other")}
        t = rows["total"]
        addr = (lambda col, key="total": f"{sheet}!{col}{p.cells.get(key)}" if isinstance(p.cells.get(key), int)
                else f"{p.source}（{key}）")
        for i, col in enumerate("BCD"):
            parts = [rows[k][i] for k in ("fiscal", "carryover", "other")]
            if t[i] is None or all(x is None for x in parts):
                continue
            s = sum((x or ZERO for x in parts), ZERO)
            if abs(t[i] - s) > _hw(t[i]) + sum((_hw(x) for x in parts if x is not None), ZERO):
                out.append(Finding(f"P-{bt.id}-01", "error", bt.id, addr(col),
                                   f"项目“{p.name}”：年度资金总额 {fmt(t[i])} 应等于当年财政拨款、上年结转资金与其他资金之和 {fmt(s)}",
                                   expected=str(s), actual=str(t[i]), difference=str(t[i] - s)))
        for k, col_row in (("fiscal", "当年财政拨款"), ("carryover", "上年结转资金"), ("other", "其他资金")):
            rb, rs, rr = rows[k][1], rows[k][2], rows[k][4]
            if rb and rs is not None and rs - _hw(rs) > rb + _hw(rb):
                out.append(Finding(f"W-{bt.id}-06", "warning", bt.id, addr("D", k),
                                   f"项目“{p.name}”：{col_row}全年执行数 {fmt(rs)} 大于全年预算数 {fmt(rb)}",
                                   expected=str(rb), actual=str(rs)))
            if rb and rs is not None and rr is not None:
                lo_, hi_ = (rs - _hw(rs)) / (rb + _hw(rb)), (rs + _hw(rs)) / (rb - _hw(rb))
                h = _hw(rr, 4)
                if rr + h < lo_ or rr - h > hi_:
                    out.append(Finding(f"P-{bt.id}-02", "error", bt.id, addr("F", k),
                                       f"项目“{p.name}”：{col_row}执行率 {rr * 100:.2f}% 应为全年执行数 ÷ 全年预算数 = {rs / rb * 100:.2f}%",
                                       expected=str(rs / rb), actual=str(rr)))
        budget, spent, weight, rate, score = t[1], t[2], t[3], t[4], t[5]
        if budget and spent is not None:
            lo = (spent - _hw(spent)) / (budget + _hw(budget))
            hi = (spent + _hw(spent)) / (budget - _hw(budget))
            if rate is not None:
                h = _hw(rate, 4)
                if rate + h < lo or rate - h > hi:
                    out.append(Finding(f"P-{bt.id}-02", "error", bt.id, addr("F"),
                                       f"项目“{p.name}”：执行率 {rate * 100:.2f}% 应为全年执行数 ÷ 全年预算数 = {spent / budget * 100:.2f}%",
                                       expected=str(spent / budget), actual=str(rate)))
            if spent - _hw(spent) > budget + _hw(budget):
                out.append(Finding(f"W-{bt.id}-06", "warning", bt.id, addr("D"),
                                   f"项目“{p.name}”：全年执行数 {fmt(spent)} 大于全年预算数 {fmt(budget)}",
                                   expected=str(budget), actual=str(spent)))
            if weight is not None and score is not None:
                slo, shi = min(lo, Decimal(1)) * weight, min(hi, Decimal(1)) * weight
                h = _hw(score, 0)       # at the precision the 得分 is printed to (8.2 for 8.22 is right)
                if score + h < slo or score - h > shi:
                    exp = min(spent / budget, Decimal(1)) * weight
                    out.append(Finding(f"P-{bt.id}-03", "error", bt.id, addr("G"),
                                       f"项目“{p.name}”：预算执行得分 {fmt(score)} 应为 执行率 × 分值 = {fmt(exp)}",
                                       expected=str(exp), actual=str(score), difference=str(score - exp)))
        if weight is not None and score is not None and score > weight + _hw(score):
            out.append(Finding(f"P-{bt.id}-04", "error", bt.id, addr("G"),
                               f"项目“{p.name}”：预算执行得分 {fmt(score)} 大于分值 {fmt(weight)}",
                               expected=str(weight), actual=str(score)))
        lines = p.cells.get("ind") or []
        scores = []
        for n, ind in enumerate(p.indicators):
            w, s = _d(ind[5]), _d(ind[6])
            line = lines[n] if n < len(lines) else None
            where = f"{sheet}!G{line}" if line else f"{p.source}（指标 {n + 1}）"
            if s is not None:
                scores.append(s)
            if w is not None and s is not None and s > w + _hw(s):
                out.append(Finding(f"P-{bt.id}-04", "error", bt.id, where,
                                   f"项目“{p.name}”：指标“{ind[2]}”得分 {fmt(s)} 大于分值 {fmt(w)}",
                                   expected=str(w), actual=str(s)))
            if "时效" in (ind[1] or "") and year:
                years = {int(y) for col in (3, 4) for y in _YEAR.findall(str(ind[col] or ""))}
                other = sorted(y for y in years if y != year)
                if other:
                    out.append(Finding(f"W-{bt.id}-07", "warning", bt.id, f"{sheet}!D{line}" if line else where,
                                       f"项目“{p.name}”：时效指标“{ind[2]}”写的是 {'、'.join(map(str, other))} 年，而自评年度是 {year} 年",
                                       actual=",".join(map(str, other)), expected=str(year)))
        tot = [_d(x) for x in (list(p.funds.get("score_total") or []) + [None, None])[:2]]
        if tot[1] is not None:
            s = sum(scores, ZERO) + (score or ZERO)
            tol = _hw(tot[1]) + sum((_hw(x) for x in scores), ZERO) + (_hw(score) if score is not None else ZERO)
            if abs(tot[1] - s) > tol:
                out.append(Finding(f"P-{bt.id}-05", "error", bt.id, addr("G", "score_total"),
                                   f"项目“{p.name}”：总分 {fmt(tot[1])} 应等于各项得分之和 {fmt(s)}（含预算执行得分），相差 {fmt(tot[1] - s)}",
                                   expected=str(s), actual=str(tot[1]), difference=str(tot[1] - s)))
        out += _points_and_costs(bt, p, sheet, lines, budget, spent)
        grade = (p.fields.get("grade") or "").strip()
        if grade and tot[1] is not None:
            from xltools.perf.sheets import grade_of
            if grade_of(tot[1]) != grade:
                out.append(Finding(f"P-{bt.id}-08", "error", bt.id, addr("B", "grade"),
                                   f"项目“{p.name}”：等级“{grade}”与总分 {fmt(tot[1])} 对应的等级“{grade_of(tot[1])}”不符",
                                   expected=grade_of(tot[1]), actual=grade))
        del row
    return out
