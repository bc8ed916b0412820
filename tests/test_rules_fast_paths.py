"""The fast paths of the rules give what the long ways give (issue 15), on the samples and edits of them.

* ``engine.evaluate_compiled`` (a per-shape program over the shape's cells, amounts only; failing checks evaluated
  again for their message) = ``engine.evaluate`` on the same checks, finding for finding;
* ``causes.assign_causes`` with the residuals ``evaluate_compiled`` hands it = ``assign_causes`` computing them itself
  — also where a sum is rounded (values of more than 28 digits: the residuals are then not handed over).
"""
from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from conftest import CLEAN_UNIT, final_samples
import xltools.rules as rules
from xltools.read.datafile import load_data
from xltools.rules.engine import compiled_checks, evaluate, evaluate_compiled
from xltools.spec import load_set


def _edited(rep) -> dict:
    """name → a copy of ``rep`` with amounts changed: 1 added to the first amount of each table, a value moved to
    another column, a detail row dropped, and an amount of 30 significant digits (sums then round)."""
    out = {"as is": rep}
    for tid, td in rep.tables.items():
        for rd in td.rows.values():
            cols = [c for c, v in rd.values.items() if v.amount is not None and v.amount != 0]
            if not cols:
                continue
            r2 = copy.deepcopy(rep)
            v = r2.tables[tid].rows[rd.key].values[cols[0]]
            v.amount = v.amount + Decimal("1.00")
            out[f"plus1 {tid}!{rd.key}.{cols[0]}"] = r2
            others = [c for c in rd.values if c != cols[0]]
            if others:
                r3 = copy.deepcopy(rep)
                vals = r3.tables[tid].rows[rd.key].values
                vals[others[-1]].amount, vals[cols[0]].amount = vals[cols[0]].amount, None
                out[f"moved {tid}!{rd.key}.{cols[0]}"] = r3
            r4 = copy.deepcopy(rep)
            v = r4.tables[tid].rows[rd.key].values[cols[0]]
            v.amount = Decimal("123456789012345.123456789012345")
            out[f"long {tid}!{rd.key}.{cols[0]}"] = r4
            break
        details = [k for k, r in td.rows.items() if r.kind == "detail"]
        if details:
            r5 = copy.deepcopy(rep)
            del r5.tables[tid].rows[details[0]]
            out[f"drop {tid}!{details[0]}"] = r5
    return out


def _cases() -> list:
    return [pytest.param(folder, id=folder.name) for folder in [*final_samples(), CLEAN_UNIT]]


@pytest.mark.parametrize("folder", _cases())
def test_evaluate_compiled_gives_what_evaluate_gives(folder):
    for name, rep in _edited(load_data(folder)).items():
        tset = load_set(rep.set_id)
        checks, compiled = compiled_checks(tset, tset.variant(rep.variant), rep)
        linear = [None] * len(compiled)
        fast = evaluate_compiled(rep, tset, compiled, linear)
        assert [f.as_dict() for f in fast] == [f.as_dict() for f in evaluate(rep, tset, list(checks))], name
        if name.startswith("long"):
            assert all(x is None for x in linear), name          # a rounded sum: nothing handed to the causes
        else:
            assert any(x is not None for x in linear), name


@pytest.mark.parametrize("folder", _cases())
def test_causes_with_handed_residuals_give_what_causes_alone_give(folder, monkeypatch):
    reps = _edited(load_data(folder))
    fast = {name: [(f.as_dict(), f.cells) for f in rules.check_report(copy.deepcopy(rep))] for name, rep in reps.items()}

    def without_residuals(report, tset, compiled, linear=None):
        return evaluate_compiled(report, tset, compiled, None)     # the causes compute every residual themselves

    monkeypatch.setattr(rules, "evaluate_compiled", without_residuals)
    for name, rep in reps.items():
        alone = [(f.as_dict(), f.cells) for f in rules.check_report(copy.deepcopy(rep))]
        assert fast[name] == alone, name
    assert sum(1 for v in fast.values() for f, _ in v if f["cause"]) > 0      # the searches did group findings
