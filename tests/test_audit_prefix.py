"""The 审核 sheet on a prefix-pattern term in its target's own table (`-B03!30111*` in a check on B03!30113): the
row sums the matching 科目 rows of the whole block, as the checker does — cached, and recalculated by LibreOffice."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from python_calamine import CalamineWorkbook

import xltools.build.writer
import xltools.spec
from conftest import SAMPLES, audit_rows, lo_recalc
from xltools.build.audit import AUDIT_SHEET, C_RIGHT, C_RULE, C_STATUS, FIRST_ROW
from xltools.build.writer import build_workbook
from xltools.cli import _extra_sheets
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.spec import Identity

BUDGET = SAMPLES / "zhongwei-sbzx-2024-budget"
CODE = "R-B03-T1"


@pytest.fixture(scope="module")
def patched_set():
    """The budget set with one more identity: B03!30113 = Σ 301* − Σ 30111* (the same table as its target)."""
    real = xltools.spec.load_set
    base = real("budget")
    extra = Identity(code=CODE, target="B03!30113.total", terms=("B03!301*.total", "-B03!30111*.total"),
                     message="测试：住房公积金应等于工资福利支出减公务员医疗补助缴费")
    tset = dataclasses.replace(base, identities=base.identities + (extra,))
    mp = pytest.MonkeyPatch()
    fake = lambda sid: tset if real(sid) is base else real(sid)      # noqa: E731
    mp.setattr(xltools.spec, "load_set", fake)
    mp.setattr(xltools.build.writer, "load_set", fake)        # imported by name there
    yield tset
    mp.undo()


def _right_sides(path) -> dict[str, tuple]:
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(AUDIT_SHEET).to_python(skip_empty_area=False)
    return {row[C_RULE]: (row[C_RIGHT], row[C_STATUS]) for row in grid[FIRST_ROW:]
            if len(row) > C_STATUS and row[C_RULE] == CODE}


@pytest.mark.libreoffice
def test_prefix_term_in_its_own_table_is_summed(patched_set, tmp_path):
    book = build_workbook(load_data(BUDGET), tmp_path / "b.xlsx", extra_sheets=_extra_sheets()).path
    [finding] = [f for f in check_report(read_workbook(book)) if f.rule == CODE]
    # the checker: 301 leaves (358.77) − 30111 (5.88)
    assert Decimal(finding.expected) == Decimal("352.89")
    cached = _right_sides(book)[CODE]
    assert Decimal(repr(cached[0])) == Decimal(finding.expected) and cached[1] == "未通过"
    [lo] = lo_recalc([book], tmp_path / "lo")
    right, status = _right_sides(lo)[CODE]
    assert Decimal(repr(round(right, 2))) == Decimal(finding.expected) and status == "未通过"
    # every status LibreOffice computes is the cached one
    assert [r["status"] for r in audit_rows(book)] == [r["status"] for r in audit_rows(lo)]
