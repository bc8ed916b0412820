"""One headline per defect: findings explained by the same root are grouped under it.

A failed identity is a linear form over cells (target − Σ±terms, with a rounding tolerance). A
*correction* is a change of the report that makes some failed identities hold:

* **a missing row** — a code present in one table and absent from another (a presence rule): adding
  the row to the other table, with the amounts of the first, changes every Σ by code over it;
* **a single cell** — the value that makes one failed identity hold (the typed-over total, the wrong
  amount); tried for every operand and target of every failed identity;
* **an amount in the wrong column** — a cell's whole value moved to another column of its row;
* **a mis-keyed subtotal row** — a 类/款 row whose 项 belong to another class (C-03): the row re-keyed
  and the report checked again.

Greedy search for the smallest set: the correction that makes the most failed identities hold
without breaking one that held is accepted, then the next, until none helps (missing rows first,
then single cells, then moves). Every accepted correction is a defect; its findings get one headline
(the finding that sits on the culprit cell) and the others name it in ``cause`` (``rule@cell``).
A failure no correction explains is its own headline.
"""
from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from xltools.model import ZERO, Report
from xltools.rules.engine import Check, Finding, fmt, half_width, leaf_len, leaves

__all__ = ["assign_causes", "cause_of"]

_MAX_STEPS = 40
_MAX_CANDIDATES = 20000
_MANY = 12            # a Σ over more parts than this tries only the parts another failed identity names
_LEVEL = {"error": 0, "warning": 1, "info": 2}


def cause_of(f: Finding) -> str:
    """How a consequence names its headline."""
    return f"{f.rule}@{f.cell}"


_INF = Decimal("Infinity")


@dataclasses.dataclass(slots=True)
class _Lin:
    check: Check
    coef: dict            # (table, row, col) → coefficient in residual = target − Σ terms (shared by a shape: read only)
    patterns: list        # (table, prefix, col, coefficient) of Σ-by-code terms
    tol: Decimal
    r: Decimal            # current residual
    kind: str             # the check's: sum | at_most | at_least
    lo: Decimal = -_INF   # the check holds while lo <= r <= hi (sum: ±tol; at_most: r <= tol; at_least: r >= −tol)
    hi: Decimal = _INF

    def fails(self, r: Decimal | None = None) -> bool:
        r = self.r if r is None else r
        return r > self.hi or r < self.lo


def _new_lin(check: Check, coef: dict, patterns: list, tol: Decimal, r: Decimal, kind: str) -> _Lin:
    if kind == "sum":
        return _Lin(check, coef, patterns, tol, r, kind, -tol, tol)
    if kind == "at_most":
        return _Lin(check, coef, patterns, tol, r, kind, -_INF, tol)
    return _Lin(check, coef, patterns, tol, r, kind, -tol, _INF)


@dataclasses.dataclass
class _Step:
    kind: str                 # table | row | cell | cells | move | rekey
    culprits: tuple           # cell addresses
    note: str                 # Chinese: what the correction is
    fixed: set                # indices of _Lin fixed
    findings: list = dataclasses.field(default_factory=list)
    delta: Decimal | None = None
    row: tuple | None = None  # (table, row) of a single-cell correction


# ---------------------------------------------------------------- linear forms, compiled once per shape

_SUMS = ("sum", "at_most", "at_least")


@dataclasses.dataclass(slots=True)        # (read only; not frozen: a frozen dataclass is slow to make)
class _Form:
    """A sum / at_most / at_least check of a row-set shape as a linear form over cells: everything that depends
    only on the rows present. The values of a workbook give its residual and tolerance (:func:`_linear`)."""
    check: Check
    entries: tuple        # (table, row, col, sign, row exists, a leaf of a Σ-by-code term, counts as a part)
    coef: dict            # the coefficients when every leaf cell holds a value (as a workbook's reader gives)
    patterns: list        # (table, prefix, col, coefficient) of Σ-by-code terms
    t_exists: bool        # the target is one cell of a row present


@dataclasses.dataclass(frozen=True)
class _Shape:
    """What :func:`assign_causes` needs of a shape's checks before it looks at a value."""
    forms: tuple          # per check: its _Form, or None (not a Σ-kind check, or a comparison missing a side)
    errors: dict          # code → indices of its Σ-kind error checks
    at_place: dict        # (table, col) → indices of the Σ-kind checks that read a cell there
    in_table: dict        # table → indices of the Σ-kind checks that read it
    places: tuple         # per check: the (table, col) it reads
    index: dict           # (table, row, col) → indices of the forms that hold the cell


_SHAPES: dict = {}        # id(a shape's checks) → (checks, _Shape): the shape's checks are one tuple object
# shapes kept per process, the least recently used dropped first: about 0.6 MB each (a worker of `check 文件夹/` holds
# at most ~80 MB of them, however many workbooks and row sets it sees)
_MAX_SHAPES = 128


def _shape_of(report: Report, tset, checks) -> _Shape:
    hit = _SHAPES.pop(id(checks), None)
    if hit is not None and hit[0] is checks:
        _SHAPES[id(checks)] = hit          # most recently used last
        return hit[1]
    shape = _compile(report, tset, checks)
    if isinstance(checks, tuple):      # a list could change under its id
        while len(_SHAPES) >= _MAX_SHAPES:
            del _SHAPES[next(iter(_SHAPES))]
        _SHAPES[id(checks)] = (checks, shape)
    return shape


_PLACES: dict = {}        # id(check) → (check, the (table, column) it reads): checks are shared by shapes


def _places(c: Check) -> frozenset:
    hit = _PLACES.get(id(c))
    if hit is None or hit[0] is not c:
        if len(_PLACES) >= 65536:
            _PLACES.clear()
        hit = _PLACES[id(c)] = (c, frozenset((r.table, r.col) for r in (c.target, *c.terms)))
    return hit[1]


def _compile(report: Report, tset, checks) -> _Shape:
    cache: dict = {}
    leaf_entries: dict = {}   # (a Σ-by-code reference, sign) → its entries and cells (the same Σ recurs in checks)
    forms, errors, at_place, in_table, places, index = [], {}, {}, {}, [], {}
    for n, c in enumerate(checks):
        refs = (c.target, *c.terms)
        places.append(_places(c))
        if c.kind not in _SUMS:
            forms.append(None)
            continue
        if c.level == "error":
            errors.setdefault(c.code, []).append(n)
        for place in places[-1]:
            at_place.setdefault(place, []).append(n)
        for t in dict.fromkeys(r.table for r in refs):
            in_table.setdefault(t, []).append(n)
        entries, coef, pats = [], {}, []
        exists_all, t_exists = True, False
        for i, ref in enumerate(refs):
            sign = 1 if i == 0 else -ref.sign
            td = report.tables.get(ref.table)
            if ref.pattern:
                if ref.pattern == "leaf":
                    pats.append((ref.table, ref.row, ref.col, sign))
                hit = leaf_entries.get((ref, sign))
                if hit is None:
                    keys = tuple((ref.table, k, ref.col) for k in leaves(report, tset, ref, cache))
                    hit = leaf_entries[(ref, sign)] = (tuple((*key, sign, True, True, True) for key in keys), keys)
                entries.extend(hit[0])
                for key in hit[1]:
                    coef[key] = coef.get(key, 0) + sign
                exists = td is not None
            else:
                exists = td is not None and ref.row in td.rows
                key = (ref.table, ref.row, ref.col)
                entries.append((*key, sign, exists, False, i > 0))
                coef[key] = coef.get(key, 0) + sign
                if i == 0:
                    t_exists = exists
            if i and not exists:
                exists_all = False
        if c.kind != "sum" and not (t_exists and exists_all):
            forms.append(None)      # a comparison is checked only where both sides exist
            continue
        forms.append(_Form(c, tuple(entries), coef, pats, t_exists))
        for key in coef:
            index.setdefault(key, []).append(n)
    return _Shape(tuple(forms), errors, at_place, in_table, tuple(places), index)


def _linear(report: Report, shape: _Shape, indices, pos: dict, linear: list | None = None) -> list[_Lin]:
    """The linear forms of the checks ``indices`` of a shape with the report's values: residual and tolerance.
    ``pos`` gets the place in the list of each check's form (by its index in the shape's checks); ``linear``:
    what ``engine.evaluate_compiled`` found of each check (residual, tolerance, completeness) or None."""
    tables = report.tables
    unit = report.amount_unit
    wan = unit == "万元"
    out = []
    forms = shape.forms
    for n in indices:
        form = forms[n]
        if form is None:
            continue
        pre = linear[n] if linear is not None else None
        if pre is not None:
            r, tol, complete, any_vals = pre
        else:
            r = tol = ZERO
            any_vals, complete = False, True
            for tid, row, col, sign, exists, leaf, part in form.entries:
                v = tables[tid].rows[row].values.get(col) if exists else None
                if v is None:
                    if leaf:
                        complete = False
                    continue
                if v.amount is not None:
                    r += sign * v.amount
                    if wan:
                        tol += half_width(v, unit)
                if part:
                    any_vals = True
        if not form.t_exists and not any_vals:
            continue          # (a comparison missing a side has no form)
        coef = form.coef if complete else _partial_coef(tables, form)
        pos[n] = len(out)
        out.append(_new_lin(form.check, coef, form.patterns, tol, r, form.check.kind))
    return out


def _partial_coef(tables, form: _Form) -> dict:
    """The coefficients of a form whose leaf cells do not all hold a value (a transcription's empty cells)."""
    coef: dict = {}
    for tid, row, col, sign, _, leaf, _ in form.entries:
        if leaf and tables[tid].rows[row].values.get(col) is None:
            continue
        coef[(tid, row, col)] = coef.get((tid, row, col), 0) + sign
    return coef


def _relevant(report: Report, tset, variant, shape: _Shape, checks, findings: list[Finding]) -> list[int]:
    """The failed error checks and every check that shares a table column with them (only those can be
    fixed or broken by a correction of their cells); the rest of a workbook's checks are never linearized."""
    reported = {(f.rule, f.cell) for f in findings}
    # the search starts from failed errors: a soft check (warning) that fails alone stays its own headline
    # (a check of a rule with no finding is not looked up cell by cell)
    focus = set()
    for code in {f.rule for f in findings}:
        for n in shape.errors.get(code, ()):
            if (code, _cell_of(report, checks[n])) in reported:
                focus |= shape.places[n]
    whole = {p.within for p in tset.presence_for(variant)} if any(f.rule.endswith("-00") for f in findings) else set()
    if not focus and not whole:
        return []
    out: set = set()
    for place in focus:
        out.update(shape.at_place.get(place, ()))
    for t in whole:
        out.update(shape.in_table.get(t, ()))
    return sorted(out)


def _val(report: Report, key) -> Decimal:
    td = report.tables.get(key[0])
    return td.amount(key[1], key[2]) if td else ZERO


def _source(report: Report, key) -> str:
    td = report.tables.get(key[0])
    v = td.get(key[1], key[2]) if td else None
    if v is not None and v.source:
        return v.source
    row = td.rows.get(key[1]) if td else None
    return f"{row.source}（{key[2]} 栏）" if row is not None else f"{key[0]}!{key[1]}.{key[2]}"


def _cell_of(report: Report, c: Check) -> str:
    """The cell evaluate() names for a failed check (its target's)."""
    td = report.tables.get(c.target.table)
    v = td.get(c.target.row, c.target.col) if td else None
    if v is not None:
        return v.source
    row = td.rows.get(c.target.row) if td else None
    if row is not None:
        return f"{row.source}（{c.target.col} 栏为空）"
    return f"{c.target.table}!{c.target.row}.{c.target.col}（缺少此行）"


def _judge(lins, change: dict) -> tuple[set, set, dict]:
    fixed, broken, new = set(), set(), {}
    for i, d in change.items():
        if d == ZERO:
            continue
        r = lins[i].r + d
        new[i] = r
        before, after = lins[i].fails(), lins[i].fails(r)
        if before and not after:
            fixed.add(i)
        elif after and not before:
            broken.add(i)
    return fixed, broken, new


def assign_causes(report: Report, tset, variant, checks: list[Check], findings: list[Finding],
                  recheck=None, linear: list | None = None) -> list[Finding]:
    """``findings`` with ``cause`` set on every consequence and ``culprits`` on headlines.

    ``recheck(report)``: the identity and code findings of a changed report (used to test re-keyed rows);
    ``linear``: the residuals ``engine.evaluate_compiled`` found for ``checks`` (else computed here)."""
    if not any(f.level in ("error", "warning") for f in findings):
        return findings
    shape = _shape_of(report, tset, checks)
    pos: dict[int, int] = {}
    lins = _linear(report, shape, _relevant(report, tset, variant, shape, checks, findings), pos, linear)
    index: dict = {}          # cell → the linear forms that hold it (places in lins), made as the search asks

    def holding(key) -> list[int]:
        hit = index.get(key)
        if hit is None:
            hit = index[key] = [pos[n] for n in shape.index.get(key, ()) if n in pos and key in lins[pos[n]].coef]
        return hit
    by_place: dict = {}
    rules = {f.rule for f in findings}
    for i, ln in enumerate(lins):
        if ln.check.code in rules and ln.fails():
            by_place.setdefault((ln.check.code, _cell_of(report, ln.check)), []).append(i)
    # the failed checks that evaluate() reported (same rule and cell)
    lin_of: dict[int, int] = {}
    for n, f in enumerate(findings):
        ids = by_place.get((f.rule, f.cell))
        if ids:
            lin_of[n] = ids.pop(0)
    finding_of = {i: n for n, i in lin_of.items()}
    steps: list[_Step] = []

    # 0. a missing or empty table: every failed identity that reads it follows from that, and every code
    #    a presence rule looks for in it
    missing = _missing_tables(report, findings)
    for tid, head in missing.items():
        fixed = {i for i, ln in enumerate(lins) if ln.fails() and i in finding_of
                 and any(r.table == tid for r in (ln.check.target, *ln.check.terms))}
        if not fixed and head is None:
            continue
        for i in fixed:
            lins[i].r = ZERO            # explained: not a target of the searches below
        td = report.tables.get(tid)
        sheet = (td.sheet if td is not None and td.sheet else None) or (findings[head].cell if head is not None else tid)
        st = _Step("table", (), f"“{sheet}”没有数据（缺表或未填列），以下各项均由此引起", fixed, row=(tid,))
        if head is not None:
            st.findings.append(head)
        codes = {p.code for p in tset.presence_for(variant) if p.within == tid}
        st.findings += [n for n, f in enumerate(findings) if f.rule in codes]
        if st.fixed or st.findings:
            steps.append(st)

    # 1. missing rows (presence rules): the row added where it is missing
    pattern_lins = None
    for p in tset.presence_for(variant):
        src, dst = report.tables.get(p.table), report.tables.get(p.within)
        if src is None or dst is None or p.within in missing:
            continue
        n_leaf = leaf_len(tset.tables[p.within].detail_kind)
        for rd in src.rows.values():
            if rd.kind != "detail" or rd.key in dst.rows or not any(v.value != ZERO for v in rd.values.values()):
                continue
            pres = next((n for n, f in enumerate(findings) if f.rule == p.code and f.cell == rd.source), None)
            if pres is None:
                continue
            change: dict = {}
            if pattern_lins is None:      # the forms with a Σ by code, in order
                pattern_lins = [(i, ln.patterns) for i, ln in enumerate(lins) if ln.patterns]
            if len(rd.key) != n_leaf:
                pattern_lins_here = ()
            else:
                pattern_lins_here = pattern_lins
            for i, patterns in pattern_lins_here:
                for (t, prefix, col, a) in patterns:
                    if t == p.within and rd.key.startswith(prefix):
                        v = rd.values.get(col)
                        if v is not None and v.value != ZERO:
                            change[i] = change.get(i, ZERO) + a * v.value
            fixed, broken, new = _judge(lins, change)
            if broken:
                fixed = set()
            else:
                for i, r in new.items():
                    lins[i].r = r
            amount = next((v.value for c, v in rd.values.items() if v.value != ZERO), ZERO)
            total = rd.values.get("total")
            amount = total.value if total is not None and total.value != ZERO else amount
            sheet = dst.sheet or p.within
            st = _Step("row", (rd.source,), f"“{sheet}”缺少科目 {rd.key} {rd.label}（{fmt(amount)}）", fixed)
            st.findings.append(pres)
            steps.append(st)

    # 2. mis-keyed subtotal rows (C-03: 项 listed under a class row they do not belong to)
    if recheck is not None:
        steps += _rekey_steps(report, findings, recheck)

    # 3. single cells and moves, greedily; a candidate is scored again only when a correction changed one of
    #    the identities it touches
    explained = {n for st in steps if st.kind == "rekey" for n in st.findings}

    def active(i: int) -> bool:
        return i in finding_of and finding_of[i] not in explained and lins[i].fails()

    failing0 = [i for i in range(len(lins)) if active(i)]
    fail_count: dict = {}
    for i in failing0:
        for k in lins[i].coef:
            fail_count[k] = fail_count.get(k, 0) + 1
    fail_cols: dict = {}                  # (table, row) → the columns of it that failed identities read
    for k in fail_count:
        fail_cols.setdefault(k[:2], set()).add(k[2])
    target_key = [(ln.check.target.table, ln.check.target.row, ln.check.target.col) for ln in lins]
    targets = {target_key[i] for i in failing0}
    shift: dict = {}                      # cell → the change of the corrections accepted so far
    numbers: dict = {}                    # signature (kind, changes) → the candidate's number, in the order made
    entries: dict = {}                    # number → (score, kind, delta, fixed, new) of a valid candidate
    from_check: dict[int, list] = {}      # failed check → numbers of the candidates made from it
    changing: dict = {}                   # cell → numbers of the candidates that change it
    pending: dict = {}                    # number → (kind, delta)

    def value(key) -> Decimal:
        return _val(report, key) + shift.get(key, ZERO)

    broke: dict = {}                      # (cell, change) → the checks that hold and would fail (until a step)

    def breaks(key, dk) -> list:
        """The checks holding ``key`` that hold now and fail when the cell changes by ``dk``."""
        hit = broke.get((key, dk))
        if hit is None:
            hit = []
            for j in holding(key):
                ln = lins[j]
                r = ln.r
                if r > ln.hi or r < ln.lo:
                    continue
                r = r + (ZERO + ln.coef[key] * dk)
                if r > ln.hi or r < ln.lo:
                    hit.append(j)
            broke[(key, dk)] = hit
        return hit

    def generate(i: int) -> None:
        ln = lins[i]
        t = ln.check.target
        t_key = (t.table, t.row, t.col)
        empty = _empty(report, t_key)
        many = len(ln.coef) > _MANY
        made = from_check.setdefault(i, [])
        r_i = ln.r
        for key, a in ln.coef.items():
            if a == 0 or (empty and key != t_key):
                continue      # an empty total is its own culprit, not the amounts it should add up
            if many and key != t_key and fail_count.get(key, 0) < 2:
                continue      # one of many parts that no other failed identity names: no better than the total
            d = -r_i / a        # the value that makes this identity hold
            # each candidate: its signature numbers it (in the order made); a new one is scored
            sig = ("cell", ((key, d),))
            num = numbers.get(sig)
            if num is None:
                num = numbers[sig] = len(numbers)
            made.append(num)
            if num not in pending:
                delta = {key: d}
                pending[num] = ("cell", delta)
                changing.setdefault(key, []).append(num)
                if not breaks(key, d):      # (rescore's first test)
                    rescore(num, "cell", delta)
            if key == t_key:
                # the same difference in several totals of one row (a total row printed empty)
                same = {target_key[j]: -lins[j].r for j in failing0
                        if lins[j].r == r_i and target_key[j][:2] == t_key[:2] and active(j)}
                if len(same) > 1:
                    sig = ("cells", tuple(sorted(same.items())))
                    num = numbers.get(sig)
                    if num is None:
                        num = numbers[sig] = len(numbers)
                    made.append(num)
                    if num not in pending:
                        pending[num] = ("cells", same)
                        for k in same:
                            changing.setdefault(k, []).append(num)
                        rescore(num, "cells", same)
            if empty:
                continue
            cols = fail_cols.get(key[:2])
            if not cols or len(cols) <= (key[2] in cols):
                continue
            td = report.tables.get(key[0])
            row = td.rows.get(key[1]) if td else None
            if row is None:
                continue
            v = None
            for col in row.values:
                if col == key[2] or col not in cols:
                    continue
                other = (key[0], key[1], col)
                if v is None:
                    v = value(key)
                # the whole amount belongs in the other column; then the part of it that breaks this identity
                for dk in ((-v,) if d == -v else (-v, d)) if v != ZERO else ((d,) if d != -v else ()):
                    sig = ("move", ((key, dk), (other, -dk)) if key < other else ((other, -dk), (key, dk)))
                    num = numbers.get(sig)
                    if num is None:
                        num = numbers[sig] = len(numbers)
                    made.append(num)
                    if num not in pending:
                        delta = {key: dk, other: -dk}
                        pending[num] = ("move", delta)
                        changing.setdefault(key, []).append(num)
                        changing.setdefault(other, []).append(num)
                        # most moves break an identity that held (rescore's first test, made here: a new candidate
                        # has no entry to drop)
                        if any(other not in lins[j].coef for j in breaks(key, dk)) or \
                                any(key not in lins[j].coef for j in breaks(other, -dk)):
                            continue
                        rescore(num, "move", delta)

    def rescore(num: int, kind: str, delta: dict) -> None:
        entries.pop(num, None)
        if len(delta) == 1:       # each check changed once: judged as it comes (most candidates break one)
            (key, d1), = delta.items()
            if breaks(key, d1):
                return            # breaks an identity that held
            change = [(j, ZERO + lins[j].coef[key] * d1) for j in holding(key)]
        else:
            if len(delta) == 2:   # two cells (a move): a check that reads only one of them is judged first
                (k1, d1), (k2, d2) = delta.items()
                for key, dk, other in ((k1, d1, k2), (k2, d2, k1)):
                    for j in breaks(key, dk):
                        if other not in lins[j].coef:
                            return    # breaks an identity that held
            sums: dict = {}
            for key, d1 in delta.items():
                for j in holding(key):
                    sums[j] = sums.get(j, ZERO) + lins[j].coef[key] * d1
            change = sums.items()
        fixed = new = None
        for j, d in change:
            if d == ZERO:
                continue
            ln = lins[j]
            r = ln.r + d
            before = ln.r > ln.hi or ln.r < ln.lo
            after = r > ln.hi or r < ln.lo
            if after and not before:
                return          # breaks an identity that held
            if new is None:
                fixed, new = set(), {}
            if before and not after:
                fixed.add(j)
            new[j] = r
        if not fixed or any(value(k) >= ZERO > value(k) + d for k, d in delta.items()):
            return              # fixes none, or makes an amount negative
        score = (len(fixed), kind != "move", -len(delta), any(k in targets for k in delta))
        entries[num] = (score, kind, delta, fixed, new)

    for i in failing0:
        if len(pending) > _MAX_CANDIDATES:
            break
        generate(i)
    for _ in range(_MAX_STEPS):
        if not entries:
            break
        _, kind, delta, fixed, new = max(entries.values(), key=lambda e: e[0])
        keys = list(delta)
        if kind == "cells":
            cells = tuple(_source(report, k) for k in delta)
            d = next(iter(delta.values()))
            note = f"{'、'.join(cells)} 均差 {fmt(d)}，补正后以下各项均成立"
            st = _Step("cells", cells, note, fixed, delta=d, row=keys[0][:2])
        elif kind == "cell":
            (key, d), = delta.items()
            old = value(key)
            note = f"{_source(report, key)} 为 {fmt(old)}，若为 {fmt(old + d)}，则以下各项均成立"
            st = _Step("cell", (_source(report, key),), note, fixed, delta=d, row=key[:2])
        else:
            src, dst = keys if delta[keys[0]] < 0 else keys[::-1]
            old = value(src)
            part = "" if -delta[src] == old else f" {fmt(old)} 中"
            note = (f"{_source(report, src)}{part} 的 {fmt(-delta[src])} 似应填在 {_source(report, dst)}"
                    f"（同一行的另一栏），则以下各项均成立")
            st = _Step("move", (_source(report, src), _source(report, dst)), note, fixed)
        steps.append(st)
        for j, r in new.items():
            lins[j].r = r
        broke.clear()
        for key, d in delta.items():
            shift[key] = shift.get(key, ZERO) + d
        changed = set(new)
        for j in changed:                 # candidates made from a changed residual are stale
            for num in from_check.pop(j, ()):
                entries.pop(num, None)
                pending.pop(num, None)
        # the others that change a changed residual are scored again, in the order they were made
        for num in sorted({num for j in changed for k in lins[j].coef for num in changing.get(k, ()) if num in pending}):
            rescore(num, *pending[num])
        for j in sorted(changed):
            if active(j):
                generate(j)

    # 4. one defect per row and difference: the same amount missing from several totals of one row
    merged: list[_Step] = []
    for st in steps:
        twin = next((m for m in merged if st.kind == m.kind == "cell" and m.row == st.row and m.delta == st.delta), None)
        if twin is not None:
            twin.culprits += st.culprits
            twin.fixed |= st.fixed
            twin.note = f"{'、'.join(twin.culprits)} 均差 {fmt(-st.delta)}，补正后以下各项均成立"
        else:
            merged.append(st)
    steps = merged

    # findings of each step
    for st in steps:
        st.findings += [finding_of[i] for i in st.fixed if i in finding_of]
    taken: dict[int, _Step] = {}
    for st in steps:
        for n in st.findings:
            taken.setdefault(n, st)
    # F-01 (a derived cell holding a constant) on a cell whose identity is part of a defect
    for n, f in enumerate(findings):
        if f.rule != "F-01" or n in taken:
            continue
        for st in steps:
            if f.cell in st.culprits or any(findings[m].cell == f.cell for m in st.findings):
                taken[n] = st
                st.findings.append(n)
                break

    out = list(findings)
    for st in steps:
        ns = [n for n in dict.fromkeys(st.findings) if taken.get(n) is st]
        if not ns:
            continue
        head = min(ns, key=lambda n: (st.kind == "table" and findings[n].table != st.row[0],   # on the table itself
                                      _headline_rank(findings[n], st.culprits)))
        h = findings[head]
        out[head] = dataclasses.replace(h, culprits=tuple(st.culprits),
                                        message=f"{h.message}。可能原因：{st.note}" if len(ns) > 1 else h.message)
        for n in ns:
            if n != head:
                out[n] = dataclasses.replace(findings[n], cause=cause_of(h))
    return out


def _pair(a, da, b, db) -> tuple:
    """``tuple(sorted({a: da, b: db}.items()))`` of two different cells."""
    return ((a, da), (b, db)) if a < b else ((b, db), (a, da))


def _empty(report: Report, key) -> bool:
    td = report.tables.get(key[0])
    v = td.get(key[1], key[2]) if td else None
    return v is None or v.amount is None


def _missing_tables(report: Report, findings: list[Finding]) -> dict[str, int | None]:
    """Tables a report lacks (S-01: table → the finding) or holds without a single amount (→ None)."""
    out: dict[str, int | None] = {f.table: n for n, f in enumerate(findings) if f.rule == "S-01"}
    for tid, td in report.tables.items():
        if tid not in out and td.rows and all(v.amount is None for rd in td.rows.values() for v in rd.values.values()):
            out[tid] = None
    return out


_ROW = re.compile(r"^(.+)!([A-Z]+)([0-9]+)")


def _headline_rank(f: Finding, culprits) -> tuple:
    cell_row = _ROW.match(f.cell or "")
    where = 3
    for c in culprits:
        m = _ROW.match(c)
        if f.cell == c:
            where = 0
            break
        if m and cell_row and m.group(1) == cell_row.group(1) and m.group(3) == cell_row.group(3):
            where = min(where, 1)
        elif c in f.cells:
            where = min(where, 2)
    specific = (f.rule.startswith("X-"), len(f.cells)) if where < 2 else (len(f.cells), f.rule.startswith("X-"))
    return (_LEVEL[f.level], where, f.rule.startswith("F-"), specific, f.rule, f.cell)


def _rekey_steps(report: Report, findings: list[Finding], recheck) -> list[_Step]:
    """A 类 row whose 项 belong to another class (C-03 on them): re-key it to that class, check the report
    again, and group what goes away — provided nothing new comes up."""
    out = []
    before = None
    seen = set()
    for f in findings:
        td = report.tables.get(f.table) if f.rule == "C-03" else None
        item = next((rd for rd in td.rows.values() if rd.source == f.cell), None) if td is not None else None
        if item is None:
            continue
        above = [rd for rd in td.rows.values() if rd.kind == "class" and len(rd.key) == 3
                 and _row_no(rd.source) < _row_no(item.source)]
        if not above:
            continue
        row = max(above, key=lambda rd: _row_no(rd.source))      # the class row the item is listed under
        right = item.key[:3]
        if (f.table, row.key) in seen or right in td.rows:
            continue
        seen.add((f.table, row.key))
        if before is None:
            before = {(g.rule, g.cell) for g in recheck(report)}
        after = {(g.rule, g.cell) for g in recheck(_rekeyed(report, f.table, row.key, right))}
        if after - before:
            continue          # re-keying raises something new: not the explanation
        gone = before - after
        ns = [n for n, g in enumerate(findings) if (g.rule, g.cell) in gone or (g.rule == "C-02" and g.cell == row.source)]
        if ns:
            st = _Step("rekey", (row.source,),
                       f"{row.source} 的科目编码 {row.key} 似应为 {right}（其下各科目属于 {right} 类）", set())
            st.findings = ns
            out.append(st)
    return out


def _row_no(source: str) -> int:
    m = re.search(r"(\d+)(?:（[^）]*）)?(?::[^:]*)?$", source or "")
    return int(m.group(1)) if m else 0


def _rekeyed(report: Report, tid: str, old: str, new: str) -> Report:
    """A shallow copy of ``report`` with one row of one table under another key."""
    td = report.tables[tid]
    rows = {}
    for k, rd in td.rows.items():
        if k == old:
            rows[new] = dataclasses.replace(rd, key=new)
        else:
            rows[k] = rd
    tables = dict(report.tables)
    tables[tid] = dataclasses.replace(td, rows=rows)
    return dataclasses.replace(report, tables=tables, problems=[])
