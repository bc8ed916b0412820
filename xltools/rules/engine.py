"""Identities → concrete checks → findings.

An identity in a spec is a template (``F03!{row}.total = F03!{row}.basic + …`` for each row); expanded
against a Report's row sets it becomes concrete Checks over cells. The builder compiles the
``derive`` checks to formulas; the checker evaluates every check on the values a user typed.

Rounding (as Arelle does for XBRL Calculations 1.1): a value reported in a coarser unit than the
ledger stands for an interval. An amount in 元 is exact (the ledger is kept in 分); an amount in
万元 shown to d decimals stands for [v − ½·10⁻ᵈ, v + ½·10⁻ᵈ]. A sum fails only when the target's
interval and the interval of the sum of its parts cannot meet.
"""
from __future__ import annotations

import ast
import functools
import itertools
import operator
from dataclasses import dataclass
from decimal import Decimal

from xltools.model import ZERO, Report, Value
from xltools.spec import Identity, TableSet, Variant

__all__ = ["Ref", "Check", "Finding", "expand", "hierarchy_checks", "evaluate", "half_width", "leaf_len",
           "all_checks", "compiled_checks", "evaluate_compiled"]


@dataclass(frozen=True)
class Ref:
    table: str
    row: str                  # a row key, or the prefix of a pattern
    col: str
    sign: int = 1
    pattern: str | None = None   # None: one cell; "leaf": leaf rows whose code starts with `row`; "classes";
    #                              "pclasses": the 类 rows of the panels listed (comma-separated) in `row`

    def __str__(self) -> str:
        s = "-" if self.sign < 0 else ""
        if self.pattern == "leaf":
            return f"{s}{self.table}!{self.row}*.{self.col}"
        if self.pattern == "pclasses":
            return f"{s}{self.table}!classes@{self.row}.{self.col}"
        return f"{s}{self.table}!{self.row}.{self.col}"


@dataclass(frozen=True)
class Check:
    code: str
    level: str
    message: str
    kind: str                 # sum | at_most | at_least | ratio | same
    target: Ref
    terms: tuple[Ref, ...]
    derive: bool = False
    scale: int = 1            # ratio: target = terms[0] / terms[1] × scale


@dataclass(frozen=True)
class Finding:
    """One failure. ``cell`` is where to look: "收入支出决算总表!D8" (or a data file line)."""
    rule: str
    level: str
    table: str
    cell: str
    message: str
    expected: str | None = None
    actual: str | None = None
    difference: str | None = None
    cells: tuple[str, ...] = ()   # every cell involved
    cause: str | None = None      # a consequence: "rule@cell" of its headline (xltools.rules.causes)
    culprits: tuple[str, ...] = ()   # a headline: the cell(s) most likely wrong

    def as_dict(self) -> dict:
        return {"rule": self.rule, "level": self.level, "table": self.table, "cell": self.cell,
                "message": self.message, "expected": self.expected, "actual": self.actual,
                "difference": self.difference, "cause": self.cause, "culprits": list(self.culprits)}


def leaf_len(kind: str | None) -> int:
    return 5 if kind == "economic" else 7


@functools.lru_cache(maxsize=65536)
def parse_ref(text: str) -> Ref:
    """A reference as written in an identity ("-F03!total.basic", "F05!208*.total", "F01!classes.amount")."""
    sign = 1
    text = text.strip()
    if text.startswith("-"):
        sign, text = -1, text[1:]
    table, rest = text.split("!", 1)
    row, col = rest.rsplit(".", 1)
    if row == "classes":
        return Ref(table, "", col, sign, "classes")
    if row.startswith("classes@"):      # the 类 rows of the named panels (as the form declares them)
        return Ref(table, row[len("classes@"):], col, sign, "pclasses")
    if row.endswith("*"):
        return Ref(table, row[:-1], col, sign, "leaf")
    return Ref(table, row, col, sign)


def _values_of(expr: str, tset: TableSet, report: Report) -> list[str]:
    out: list[str] = []
    for part in _split_plus(expr):
        part = part.strip()
        if part.startswith("["):
            out.extend(_listed(part))
        elif part.startswith("rows(") and part.endswith(")"):
            tid = part[5:-1]
            td = report.tables.get(tid)
            out.extend(td.rows.keys() if td else [])
        elif part.startswith("cols(") and part.endswith(")"):
            out.extend(tset.tables[part[5:-1]].columns())
        elif part.startswith("classes(") and part.endswith(")"):
            tid, pid = part[8:-1].split(".")
            panel = next(p for p in tset.tables[tid].panels if p.id == pid)
            omitted = _omitted_rows(tset, report, tid)
            out.extend(r.key for r in panel.rows if r.style == "class" and not (r.optional and r.key in omitted))
        else:
            raise ValueError(f"无法理解的展开式：{part}")
    return list(dict.fromkeys(out))   # `rows(T) + [total]` names the 合计 row once


@functools.lru_cache(maxsize=1024)
def _listed(part: str) -> tuple[str, ...]:
    """The values of a list written in an identity's ``each:`` ("[basic, project]" or a Python list)."""
    try:
        items = ast.literal_eval(part)
    except (ValueError, SyntaxError):
        items = [x.strip() for x in part.strip("[]").split(",") if x.strip()]
    return tuple(str(x) for x in items)


def _omitted_rows(tset: TableSet, report: Report, table_id: str) -> tuple[str, ...]:
    """The optional 类 lines the report's variant does not print in a table (24 instead of 26 in 公开01)."""
    from xltools.spec import SpecError

    try:
        return tset.variant(report.variant).omitted(table_id)
    except SpecError:
        return ()


def _split_plus(expr: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in expr:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "+" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


_EXPANDED: dict = {}    # (id(tset), id(identity), the values it runs over) → (tset, identity, checks)


def expand(identity: Identity, tset: TableSet, report: Report) -> list[Check]:
    names = [k for k, _ in identity.each]
    domains = [_values_of(v, tset, report) for _, v in identity.each]
    if identity.kind == "same":     # compared only where both tables print the row: depends on more than the domains
        return _expand(identity, tset, report, names, domains)
    # the rest depends only on the values each name runs over: shapes that differ elsewhere share the expansion
    key = (id(tset), id(identity), tuple(map(tuple, domains)))
    hit = _EXPANDED.get(key)
    if hit is None or hit[0] is not tset or hit[1] is not identity:
        if len(_EXPANDED) >= 4096:
            _EXPANDED.clear()
        hit = _EXPANDED[key] = (tset, identity, tuple(_expand(identity, tset, report, names, domains)))
    return list(hit[2])


def _expand(identity: Identity, tset: TableSet, report: Report, names: list, domains: list) -> list[Check]:
    checks = []
    for combo in itertools.product(*domains) if names else [()]:
        subst = dict(zip(names, combo))

        def fill(s: str) -> str:
            for k, v in subst.items():
                s = s.replace("{" + k + "}", v)
            return s

        target = parse_ref(fill(identity.target))
        terms = tuple(parse_ref(fill(t)) for t in identity.terms)
        if target.col not in tset.tables[target.table].columns():
            continue  # e.g. each over cols(T) meets a column that this check does not apply to
        if any(t.col not in tset.tables[t.table].columns() for t in terms):
            continue
        if any(t.pattern is None and t.row == target.row and t.table == target.table and t.col == target.col
               for t in terms):
            continue
        if identity.kind == "same" and not all(_row_present(report, r) for r in (target, *terms)):
            continue  # one figure printed twice: compared only where both tables print the row
        # a per-column total check never applies to the "合计" column of a row-total identity twice
        checks.append(Check(identity.code, identity.level, identity.message, identity.kind, target, terms,
                            identity.derive, identity.scale))
    return checks


def _row_present(report: Report, ref: Ref) -> bool:
    td = report.tables.get(ref.table)
    return td is not None and ref.row in td.rows


def hierarchy_checks(tset: TableSet, report: Report) -> list[Check]:
    """类 = Σ项 and 款 = Σ项 for the subtotal rows present in detail tables (by code, not by position)."""
    out = []
    for tid, td in report.tables.items():
        table = tset.tables.get(tid)
        if table is None or not table.is_detail or tid in report.not_published:
            continue
        for key, row in td.rows.items():
            if row.kind != "class":
                continue
            for col in table.columns():
                panel = next((p for p in table.panels if p.id == row.panel), None)
                if panel is not None and panel.column(col) is None:
                    continue
                column = panel.column(col) if panel is not None else None
                if column is not None and column.percent:
                    continue   # a percentage of a 类 is not the sum of its 项' percentages
                out.append(Check(f"H-{tid}-01", "error", f"{_LEVEL_NAME[len(key)]}级科目 {key} 应等于其下各{_LEAF_NAME[table.detail_kind]}级科目之和",
                                 "sum", Ref(tid, key, col), (Ref(tid, key, col, 1, "leaf"),), True))
    return out


_LEVEL_NAME = {3: "类", 5: "款", 7: "项"}
_LEAF_NAME = {"functional": "项", "economic": "款"}


_CHECKS: dict = {}
_KIND_PANEL = operator.attrgetter("kind", "panel")
_MAX_SHAPES = 128    # shapes kept per process (memory stays bounded however many workbooks are checked)


def all_checks(tset: TableSet, variant: Variant, report: Report) -> list[Check]:
    """Every concrete check of a report. They depend only on the rows present (keys, kinds, panels), so
    they are expanded once per row set and set variant: the checker and the builder ask for them per
    workbook, and the units of a bulk run mostly share a row set."""
    return list(_shape(tset, variant, report)[1])


def _shape(tset: TableSet, variant: Variant, report: Report) -> list:
    """[tset, checks, compiled checks or None] of a report's row-set shape, made once per shape."""
    absent = frozenset(report.not_published)
    # (the units too: whether a check mixes units, which its compiled form decides, depends on them)
    key = (id(tset), variant.id, variant.spec, absent, report.amount_unit, tuple(report.table_units.items()),
           tuple((tid, tuple(td.rows), tuple(map(_KIND_PANEL, td.rows.values()))) for tid, td in report.tables.items()))
    hit = _CHECKS.pop(key, None)
    if hit is not None and hit[0] is tset:
        _CHECKS[key] = hit          # most recently used last: the least recently used shape is dropped first
        return hit
    checks = hierarchy_checks(tset, report)
    for ident in tset.identities_for(variant, absent):
        checks.extend(expand(ident, tset, report))
    while len(_CHECKS) >= _MAX_SHAPES:
        del _CHECKS[next(iter(_CHECKS))]
    hit = _CHECKS[key] = [tset, tuple(checks), None]
    return hit


def compiled_checks(tset: TableSet, variant: Variant, report: Report) -> tuple[tuple[Check, ...], tuple]:
    """(checks, compiled form) of a report's shape: every check with its references resolved to the cells of the
    shape — the leaf rows a pattern stands for, whether a row or table exists — so that evaluating a workbook of
    the shape only looks values up (:func:`evaluate_compiled`)."""
    hit = _shape(tset, variant, report)
    if hit[2] is None:
        interned: dict = {}     # one object per distinct reference: a leaf sum used by several checks is summed once
        cache: dict = {}        # the leaf rows of each pattern, found once
        memo: dict = {}         # id(a reference), table → its compiled form, the table's unit (checks share both)
        hit[2] = tuple(_compile(c, tset, report, interned, cache, memo) for c in hit[1])
    return hit[1], hit[2]


def _compile_ref(ref: Ref, tset: TableSet, report: Report, cache: dict | None = None) -> tuple:
    """(table, row keys, column, sign, exists, pattern?) of a reference on a shape."""
    td = report.tables.get(ref.table)
    if ref.pattern:
        return (ref.table, tuple(leaves(report, tset, ref, cache)), ref.col, ref.sign, td is not None, True)
    return (ref.table, (ref.row,), ref.col, ref.sign, td is not None and ref.row in td.rows, False)


_MIXED = ("mixed units",)     # a compiled check left to evaluate(): its tables are in different units


def _compile(c: Check, tset: TableSet, report: Report, interned: dict, cache: dict | None = None,
             memo: dict | None = None) -> tuple:
    """(check, kind, target, its cell, terms, every term's row exists) — see :func:`evaluate_compiled`.
    ``memo``: the compiled references and table units of the shape so far (the references of a shape's checks stay
    alive while it is compiled, so they are kept by id)."""
    if c.kind == "ratio":
        return (c, c.kind, None, None, (), False)
    if memo is None:
        memo = {}
    unit = report.amount_unit
    for r in (c.target, *c.terms):
        u = memo.get(r.table)
        if u is None:
            u = memo[r.table] = ref_unit(report, tset, r.table)
        if u != unit:
            # a table in its own unit (a 万元 三公 table in a 元 set): converted by evaluate()
            return (c, c.kind, _MIXED, None, (), False)

    def ref(r: Ref) -> tuple:
        hit = memo.get(id(r))
        if hit is not None and hit[0] is r:
            return hit[1]
        spec = _compile_ref(r, tset, report, cache)
        spec = interned.setdefault(spec, spec)
        memo[id(r)] = (r, spec)
        return spec

    target, terms = ref(c.target), [ref(t) for t in c.terms]
    cell = None
    if not target[5] and target[4]:
        cell = (target[0], target[1][0], target[2], target[3])
    # a term is one cell (table, row, column, sign, None) or a Σ by code (…, its interned reference); a cell of a
    # row the shape lacks adds nothing and is left out
    parts = tuple((t[0], t[1][0], t[2], t[3], None) if not t[5] else (t[0], None, t[2], t[3], t)
                  for t in terms if t[5] or t[4])
    return (c, c.kind, target, cell, parts, all(t[4] for t in terms))


# ---------------------------------------------------------------- evaluation

def half_width(v: Value | None, unit: str) -> Decimal:
    """Half the width of the interval a reported value stands for."""
    if unit != "万元" or v is None or v.amount is None:
        return ZERO
    exp = v.amount.as_tuple().exponent
    decimals = max(2, -exp if isinstance(exp, int) else 2)
    return Decimal(1).scaleb(-decimals) / 2


def leaves(report: Report, tset: TableSet, ref: Ref, cache: dict | None = None) -> list[str]:
    if cache is not None:
        key = (ref.table, ref.pattern, ref.row)
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = leaves(report, tset, ref)
        return hit
    td = report.tables.get(ref.table)
    if td is None:
        return []
    table = tset.tables[ref.table]
    if ref.pattern == "classes":
        panel_rows = [r.key for p in table.panels for r in p.rows if r.style == "class"]
        return [k for k in panel_rows if k in td.rows]
    if ref.pattern == "pclasses":
        return panel_class_keys(table, ref.row, td.rows)
    n = leaf_len(table.detail_kind)
    return [k for k, r in td.rows.items() if len(k) == n and k.isdigit() and k.startswith(ref.row)
            and r.kind in ("detail",)]


_TO_YUAN = {"元": Decimal(1), "万元": Decimal(10000)}


def panel_class_keys(table, panels: str, present) -> list[str]:
    """The 类 codes the named panels of a form declare, those present in ``present``."""
    wanted = panels.split(",")
    return [c for p in table.panels if p.id in wanted for c in p.classes if c in present]


def ref_unit(report: Report, tset: TableSet, table_id: str) -> str:
    """The amount unit of a table's values: the table's own (a form printed in 万元), the variant's for it
    (``report.unit_of``: a 万元 三公 table in a 元 set), or the report's."""
    t = tset.tables.get(table_id)
    own = t.amount_unit if t is not None else ""
    return own or report.unit_of(table_id)


def term_value(report: Report, tset: TableSet, ref: Ref, cache: dict | None = None, into: str | None = None
               ) -> tuple[Decimal, Decimal, list[Value], bool]:
    """(value, half-width, values involved, whether any cell of it exists), in the unit ``into`` (default: the
    table's own unit) — a 万元 “三公” table is compared with a 元 基本支出 table in one unit."""
    unit = ref_unit(report, tset, ref.table)
    factor = _TO_YUAN[unit] / _TO_YUAN[into] if into and into != unit else None
    value, hw, vals, exists = _term_value(report, tset, ref, unit, cache)
    if factor is not None:
        value, hw = value * factor, hw * factor
    return value, hw, vals, exists


def _term_value(report: Report, tset: TableSet, ref: Ref, unit: str, cache: dict | None
                ) -> tuple[Decimal, Decimal, list[Value], bool]:
    td = report.tables.get(ref.table)
    if ref.pattern:
        total, hw, vals = ZERO, ZERO, []
        for k in leaves(report, tset, ref, cache):
            v = td.rows[k].values.get(ref.col)
            if v is not None:
                vals.append(v)
                total += v.value
                hw += half_width(v, unit)
        return ref.sign * total, hw, vals, bool(vals) or (td is not None)
    v = td.get(ref.row, ref.col) if td else None
    exists = td is not None and ref.row in td.rows
    if v is None:
        return ZERO, ZERO, [], exists
    return ref.sign * v.value, half_width(v, unit), [v], exists


def fmt(d: Decimal) -> str:
    return f"{d:,.2f}"


def evaluate(report: Report, tset: TableSet, checks: list[Check], sheet_of=None) -> list[Finding]:
    """Evaluate checks on a report's values; every failure is collected (none stops the run)."""
    findings = []
    cache: dict = {}       # leaf rows per (table, prefix): the report does not change while we evaluate
    for c in checks:
        if c.kind == "ratio":
            f = _evaluate_ratio(report, tset, c)
            if f is not None:
                findings.append(f)
            continue
        tv, thw, tvals, texists = term_value(report, tset, c.target, cache)
        into = ref_unit(report, tset, c.target.table)
        total, hw, vals, any_exists = ZERO, ZERO, [], False
        for t in c.terms:
            v, h, vs, ex = term_value(report, tset, t, cache, into)
            total += v
            hw += h
            vals.extend(vs)
            any_exists = any_exists or ex
        if c.kind == "same":
            if _both_printed(tvals, vals) and tv != total:
                findings.append(_same_finding(report, tset, c, tvals[0], vals[0]))
            continue
        if c.kind != "sum":
            # comparisons only where both sides exist (code presence is its own rule)
            if not texists or not all(term_value(report, tset, t, cache)[3] for t in c.terms):
                continue
        elif not texists and not vals:
            continue
        tol = thw + hw
        diff = tv - total
        if not _fails(c.kind, diff, tol):
            continue
        findings.append(_sum_finding(report, tset, c, tv, total, diff, tvals, vals))
    return findings


def _fails(kind: str, diff: Decimal, tol: Decimal) -> bool:
    """Whether a sum / at_most / at_least identity with ``diff`` = target − Σterms fails beyond ``tol``."""
    return (kind == "sum" and abs(diff) > tol) or (kind == "at_most" and diff > tol) or \
        (kind == "at_least" and -diff > tol)


def _compiled_value(tables, spec, unit: str) -> tuple[Decimal, Decimal, list[Value]]:
    """(value, half-width, values involved) of a compiled reference on a report of its shape — exactly what
    :func:`term_value` gives (signs and zeros included: an empty cell adds nothing, not even a zero)."""
    tid, keys, col, sign, exists, pattern = spec
    if not pattern:
        if not exists:
            return ZERO, ZERO, []
        v = tables[tid].rows[keys[0]].values.get(col)
        if v is None:
            return ZERO, ZERO, []
        return sign * v.value, (half_width(v, unit) if unit == "万元" else ZERO), [v]
    total, hw, vals = ZERO, ZERO, []
    if exists:
        rows = tables[tid].rows
        wan = unit == "万元"
        for k in keys:
            v = rows[k].values.get(col)
            if v is not None:
                vals.append(v)
                if v.amount is not None:
                    total += v.amount
                    if wan:
                        hw += half_width(v, unit)
    return sign * total, hw, vals


_PROGRAMS: dict = {}     # id(compiled checks) → (compiled checks, program): see _program
_MAX_PROGRAMS = 128


def _program(compiled: tuple) -> tuple:
    """Compiled checks as a program over the distinct cells of their shape: (the (table, row) of every row read,
    the (row number, column) of every cell read, every Σ by code as (cell numbers, sign), and per check None — a
    ratio, a comparison of one figure printed twice, or tables in different units: evaluated the long way — or
    (kind, target cell or −1, target Σ or −1, target sign, target exists, parts, every term's row exists, target is a
    Σ) where a part is (cell number, sign) or (−1 − Σ number, 0), in the order of the terms)."""
    hit = _PROGRAMS.pop(id(compiled), None)
    if hit is not None and hit[0] is compiled:
        _PROGRAMS[id(compiled)] = hit
        return hit[1]
    slots: dict = {}
    cells: dict = {}
    sums: dict = {}
    sum_list: list = []

    def cell(tid: str, row: str, col: str) -> int:
        ci = cells.get((tid, row, col))
        if ci is None:
            ci = cells[(tid, row, col)] = len(cells)
            slots.setdefault((tid, row), len(slots))
        return ci

    def leafsum(spec: tuple) -> int:
        si = sums.get(id(spec))
        if si is None:
            tid, keys, col, sign, exists, _ = spec
            si = sums[id(spec)] = len(sum_list)
            sum_list.append((tuple(cell(tid, k, col) for k in keys) if exists else (), sign))
        return si

    checks = []
    for c, kind, target, tcell, parts, all_exist in compiled:
        if target is None or target is _MIXED or kind == "same":
            checks.append(None)
            continue
        tci = cell(*tcell[:3]) if tcell is not None else -1
        tsum = leafsum(target) if tcell is None and target[5] else -1
        ps = tuple((cell(tid, row, col), sign) if spec is None else (-1 - leafsum(spec), 0)
                   for tid, row, col, sign, spec in parts)
        checks.append((kind, tci, tsum, target[3], target[4], ps, all_exist, target[5]))
    row_list = list(slots)
    cell_list = [(slots[(tid, row)], col) for (tid, row, col) in cells]
    prog = (tuple(row_list), tuple(cell_list), tuple(sum_list), tuple(checks))
    while len(_PROGRAMS) >= _MAX_PROGRAMS:
        del _PROGRAMS[next(iter(_PROGRAMS))]
    _PROGRAMS[id(compiled)] = (compiled, prog)
    return prog


def evaluate_compiled(report: Report, tset: TableSet, compiled: tuple, linear: list | None = None) -> list[Finding]:
    """:func:`evaluate` on checks compiled for the report's shape (:func:`compiled_checks`): the same findings.

    Each check is first evaluated on amounts alone (:func:`_program`: the cells of the shape looked up once per
    workbook); the few that fail, and the checks the program leaves out, are evaluated again the long way
    (:func:`_evaluate_entries`), which makes their findings.

    ``linear`` (a list as long as ``compiled``) gets, for each sum / at_most / at_least check whose target counts
    with sign +1 and whose tables share the report's unit, (target − Σ terms, tolerance, every cell of its Σ-by-code
    references holds a value, a part of it holds a value) — what ``rules.causes`` would compute again — or None.
    Nothing is put there when a sum was rounded (more than 28 digits): the causes then compute it themselves."""
    import decimal

    row_list, cell_list, sum_list, program = _program(compiled)
    findings: list[Finding] = []
    tables, unit = report.tables, report.amount_unit
    wan = unit == "万元"
    rvals = [tables[tid].rows[row].values for tid, row in row_list]
    cv = [rvals[slot].get(col) for slot, col in cell_list]
    sums: list = [None] * len(sum_list)     # each Σ by code: (value, half-width, values held, all leaves held)
    slow: dict = {}                          # the long way's own Σ cache
    if linear is not None:
        dctx = decimal.getcontext()
        inexact_before = dctx.flags[decimal.Inexact]
        dctx.flags[decimal.Inexact] = False

    def leafsum(si: int) -> tuple:
        cis, sign = sum_list[si]
        total = hw = ZERO
        held = 0
        for ci in cis:
            v = cv[ci]
            if v is not None:
                held += 1
                if v.amount is not None:
                    total += v.amount
                    if wan:
                        hw += half_width(v, unit)
        hit = sums[si] = (sign * total, hw, held, held == len(cis))
        return hit

    for n, p in enumerate(program):
        if p is None:
            findings.extend(_evaluate_entries(report, tset, (compiled[n],), slow))
            continue
        kind, tci, tsum, tsign, texists, parts, all_exist, tpattern = p
        tn = 0
        tcomplete = True
        if tci >= 0:
            v = cv[tci]
            if v is None:
                tv = thw = ZERO
            else:
                tv, thw, tn = tsign * v.value, (half_width(v, unit) if wan else ZERO), 1
        elif tsum >= 0:
            hit = sums[tsum] or leafsum(tsum)
            tv, thw, tn, tcomplete = hit
        else:
            tv = thw = ZERO
        total = hw = ZERO
        held = 0
        complete = True
        for ci, sign in parts:
            if ci >= 0:
                v = cv[ci]
                if v is not None:
                    held += 1
                    if v.amount is not None:
                        total += sign * v.amount
                        if wan:
                            hw += half_width(v, unit)
                continue
            si = -1 - ci
            hit = sums[si] or leafsum(si)
            total += hit[0]
            hw += hit[1]
            held += hit[2]
            if not hit[3]:
                complete = False
        diff = tv - total
        if linear is not None and tsign == 1:
            if tpattern:                    # a Σ-by-code target: its leaf cells count as parts too
                linear[n] = (diff, thw + hw, complete and tcomplete, bool(held or tn))
            else:
                linear[n] = (diff, thw + hw, complete, bool(held))
        if kind != "sum":
            # comparisons only where both sides exist (code presence is its own rule)
            if not texists or not all_exist:
                continue
        elif not texists and not held:
            continue
        if not (diff or wan) or not _fails(kind, diff, thw + hw):
            continue            # (in 元 every tolerance is 0: no difference, no failure)
        findings.extend(_evaluate_entries(report, tset, (compiled[n],), slow))
    if linear is not None:
        if dctx.flags[decimal.Inexact]:     # a sum rounded: its order of terms could matter, left to the causes
            linear[:] = [None] * len(linear)
        dctx.flags[decimal.Inexact] = inexact_before or dctx.flags[decimal.Inexact]
    return findings


def _evaluate_entries(report: Report, tset: TableSet, entries, sums: dict) -> list[Finding]:
    """The findings of compiled checks, the long way (the values involved collected for the message)."""
    findings = []
    tables, unit = report.tables, report.amount_unit
    wan = unit == "万元"
    for c, kind, target, cell, parts, all_exist in entries:
        if target is None:
            f = _evaluate_ratio(report, tset, c)
            if f is not None:
                findings.append(f)
            continue
        if target is _MIXED:
            findings.extend(evaluate(report, tset, [c]))
            continue
        if cell is None:                    # a Σ by code, or a row the shape lacks
            tv, thw, tvals = _compiled_value(tables, target, unit)
        else:                               # one cell (inlined _compiled_value: most targets)
            v = tables[cell[0]].rows[cell[1]].values.get(cell[2])
            if v is None:
                tv, thw, tvals = ZERO, ZERO, []
            else:
                tv, thw, tvals = cell[3] * v.value, (half_width(v, unit) if wan else ZERO), [v]
        total, hw, vals = ZERO, ZERO, []
        for tid, row, col, sign, spec in parts:
            if spec is None:                # one cell (an empty one adds nothing, not even a zero)
                v = tables[tid].rows[row].values.get(col)
                if v is not None:
                    vals.append(v)
                    if v.amount is not None:
                        total += sign * v.amount
                        if wan:
                            hw += half_width(v, unit)
                continue
            hit = sums.get(id(spec))
            if hit is None:
                hit = sums[id(spec)] = _compiled_value(tables, spec, unit)
            total += hit[0]
            hw += hit[1]
            vals.extend(hit[2])
        if kind == "same":
            if _both_printed(tvals, vals) and tv != total:
                findings.append(_same_finding(report, tset, c, tvals[0], vals[0]))
            continue
        if kind != "sum":
            # comparisons only where both sides exist (code presence is its own rule)
            if not target[4] or not all_exist:
                continue
        elif not target[4] and not vals:
            continue
        diff = tv - total
        if not (diff or wan) or not _fails(kind, diff, thw + hw):
            continue            # (in 元 every tolerance is 0: no difference, no failure)
        findings.append(_sum_finding(report, tset, c, tv, total, diff, tvals, vals))
    return findings


def _sum_finding(report: Report, tset: TableSet, c: Check, tv: Decimal, total: Decimal, diff: Decimal,
                 tvals: list[Value], vals: list[Value]) -> Finding:
    cell = tvals[0].source if tvals else _missing_cell(report, c.target)
    rel = {"sum": "应为", "at_most": "不应大于", "at_least": "不应小于"}[c.kind]
    return Finding(
        rule=c.code, level=c.level, table=c.target.table, cell=cell,
        message=f"{c.message}：{cell} 为 {fmt(tv)}，{rel} {fmt(total)}（{describe_terms(c.terms, report, tset)}），相差 {fmt(diff)}",
        expected=str(total), actual=str(tv), difference=str(diff),
        cells=tuple(dict.fromkeys([cell, *(v.source for v in vals if v.source)])))


def _both_printed(a: list[Value], b: list[Value]) -> bool:
    return bool(a and b) and a[0].amount is not None and b[0].amount is not None and not a[0].problem \
        and not b[0].problem


def _same_finding(report: Report, tset: TableSet, c: Check, a: Value, b: Value) -> Finding:
    """One quantity printed two ways: the printed figures, not their rounding intervals, are compared."""
    where_a, where_b = (f"{tset.tables[r.table].title}“{_row_label(tset, r.table, r.row, report)}”"
                        f"“{_column_label(tset, r.table, r.col)}”" for r in (c.target, c.terms[0]))
    diff = a.value - b.value
    return Finding(
        rule=c.code, level=c.level, table=c.target.table, cell=a.source,
        message=(f"{c.message}：{a.source}（{where_a}）印为 {fmt(a.value)}，"
                 f"{b.source}（{where_b}）印为 {fmt(b.value)}，"
                 f"同一数字在两张表中应印得相同（相差 {fmt(diff)}）"),
        expected=str(b.value), actual=str(a.value), difference=str(diff),
        cells=tuple(dict.fromkeys(x for x in (a.source, b.source) if x)))


def ratio_value(num: Decimal, den: Decimal, scale: int) -> Decimal | None:
    """numerator / denominator × scale, half-up to 2 decimals (as the formula's ROUND does); None for /0."""
    from xltools.model import quantize2

    if den == ZERO:
        return None
    return quantize2(num / den * scale)


def _evaluate_ratio(report: Report, tset: TableSet, c: Check) -> Finding | None:
    """A printed percentage against the interval its rounded numerator and denominator allow."""
    tv, _, tvals, texists = term_value(report, tset, c.target)
    (n, nh, nvals, _), (d, dh, dvals, _) = (term_value(report, tset, t, None, ref_unit(report, tset, c.target.table))
                                            for t in c.terms)
    if not texists:
        return None
    given = tvals[0] if tvals and tvals[0].amount is not None else None
    if d - dh <= ZERO <= d + dh:
        # no meaningful percentage: an empty cell (or 0) is right, a number is only wrong when the base is exactly 0
        if given is None or d != ZERO or given.amount == ZERO:
            return None
        cell = given.source
        return Finding(c.code, c.level, c.target.table, cell,
                       f"{c.message}：{cell} 为 {fmt(given.amount)}，但基数为 0，应为空",
                       expected="", actual=str(given.amount), difference=None,
                       cells=tuple(dict.fromkeys([cell, *(v.source for v in nvals + dvals if v.source)])))
    corners = [(n + a) / (d + b) * c.scale for a in (-nh, nh) for b in (-dh, dh)]
    lo, hi = min(corners), max(corners)
    exact = ratio_value(n, d, c.scale)
    if given is None:
        cell = _missing_cell(report, c.target)
        tv_text = "空"
        tlo = thi = None
    else:
        cell = given.source
        exp = given.amount.as_tuple().exponent
        th = Decimal(1).scaleb(exp if isinstance(exp, int) and exp < 0 else 0) / 2
        tlo, thi = given.amount - th, given.amount + th
        tv_text = fmt(given.amount)
        if thi >= lo and tlo <= hi:
            return None
    diff = (given.amount - exact) if given is not None else None
    return Finding(c.code, c.level, c.target.table, cell,
                   f"{c.message}：{cell} 为 {tv_text}，应为 {fmt(exact)}（{describe(c.terms[0], report, tset)} ÷ "
                   f"{describe(c.terms[1], report, tset)} × {c.scale}）"
                   + (f"，相差 {fmt(diff)}" if diff is not None else ""),
                   expected=str(exact), actual=str(given.amount) if given is not None else None,
                   difference=str(diff) if diff is not None else None,
                   cells=tuple(dict.fromkeys([cell, *(v.source for v in tvals + nvals + dvals if v.source)])))


def _column_label(tset: TableSet, table: str, col: str) -> str:
    for p in tset.tables[table].panels:
        c = p.column(col)
        if c is not None:
            return "".join(x for x in c.label[-1:]).replace("{year}", "")
    return col


def _row_label(tset: TableSet, table: str, row: str, report: Report) -> str:
    t = tset.tables[table]
    for p in t.panels:
        for r in (*p.rows, *p.footer):
            if r.key == row:
                return r.label
    if row == "total":
        return "合计"
    td = report.tables.get(table)
    rd = td.rows.get(row) if td else None
    return f"{row} {rd.label}".strip() if rd is not None and rd.label else row


def describe(ref: Ref, report: Report, tset: TableSet) -> str:
    """A term as a user reads it: the cell where there is one, else the table, row and column in Chinese."""
    title = tset.tables[ref.table].title
    col = _column_label(tset, ref.table, ref.col)
    if ref.pattern == "leaf":
        level = "项" if tset.tables[ref.table].detail_kind != "economic" else "款"
        what = f" {ref.row} 下各{level}级科目" if ref.row else f"各{level}级科目"
        return f"{title}{what}“{col}”之和"
    if ref.pattern == "classes":
        return f"{title}各类支出“{col}”之和"
    if ref.pattern == "pclasses":
        t = tset.tables[ref.table]
        codes = [c for p in t.panels if p.id in ref.row.split(",") for c in p.classes]
        td = report.tables.get(ref.table)
        shown = [c for c in codes if td is not None and c in td.rows] or codes
        return f"{title}“{col}”{'、'.join(shown)} 各类之和"
    td = report.tables.get(ref.table)
    v = td.get(ref.row, ref.col) if td else None
    if v is not None and v.source:
        return v.source
    return f"{title}“{_row_label(tset, ref.table, ref.row, report)}”“{col}”（无此行）" if not (td and ref.row in td.rows) \
        else f"{title}“{_row_label(tset, ref.table, ref.row, report)}”“{col}”"


def describe_terms(terms, report: Report, tset: TableSet) -> str:
    out = ""
    for i, t in enumerate(terms):
        text = describe(t, report, tset)
        if i == 0:
            out = ("− " if t.sign < 0 else "") + text
        else:
            out += (" − " if t.sign < 0 else " + ") + text
    return out


def _missing_cell(report: Report, ref: Ref) -> str:
    td = report.tables.get(ref.table)
    row = td.rows.get(ref.row) if td else None
    if row is not None:
        return f"{row.source}（{ref.col} 栏为空）"
    return f"{ref.table}!{ref.row}.{ref.col}（缺少此行）"
