"""A workbook saved by a program that does not calculate formulas (openpyxl drops every cached value): one F-02
finding instead of a cascade of false identity errors; what does not involve those cells is still checked."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xltools.read.workbook import read_workbook
from xltools.rules import check_report

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "ningxia-rst-2023-final" / "ningxia-rst-2023-final.xlsx"


@pytest.fixture(scope="module")
def resaved(tmp_path_factory):
    out = tmp_path_factory.mktemp("uncalc") / "resaved.xlsx"
    openpyxl.load_workbook(SAMPLE).save(out)
    return out


def test_one_headline_instead_of_the_cascade(resaved):
    before = check_report(read_workbook(SAMPLE))
    report = read_workbook(resaved)
    after = check_report(report)
    f02 = [f for f in after if f.rule == "F-02"]
    assert len(f02) == 1 and f02[0].level == "error"
    n = len(report.uncalculated)
    assert n > 200                                 # every SUM/SUMPRODUCT of the tables
    assert f"{n} 个公式没有计算结果" in f02[0].message and "Excel/WPS" in f02[0].message
    assert report.uncalculated[0] in f02[0].message        # names the first cells
    # nothing new besides it: every other finding was already there on the calculated original (a defect of the
    # published figures stays reported, e.g. the W-F06 warnings on typed cells)
    known = {(f.rule, f.cell) for f in before}
    rest = [f for f in after if f.rule != "F-02"]
    assert rest and all((f.rule, f.cell) in known for f in rest), [(f.rule, f.cell) for f in rest
                                                                      if (f.rule, f.cell) not in known]
    assert any(f.rule.startswith("W-F06") for f in rest)
    assert len(after) < 15                          # was 127 before the reader detected it
    # no finding names an uncalculated cell but F-02
    unc = set(report.uncalculated)
    assert not any({f.cell, *f.cells} & unc for f in rest)


def test_calculated_workbook_has_no_f02():
    report = read_workbook(SAMPLE)
    assert report.uncalculated == ()
    assert not [f for f in check_report(report) if f.rule == "F-02"]


def test_a_wrong_typed_cell_is_still_reported(resaved, tmp_path):
    """A detail amount changed in the resaved file: the identities between typed cells still catch it."""
    before = check_report(read_workbook(resaved))
    wb = openpyxl.load_workbook(resaved)
    ws = wb["一般公共预算财政拨款基本支出决算表"]
    ws["C19"] = float(ws["C19"].value) + 1000     # 住房公积金 (30113), a typed cell
    out = tmp_path / "changed.xlsx"
    wb.save(out)
    after = check_report(read_workbook(out))
    assert [f.rule for f in after].count("F-02") == 1
    diff = {f.rule: Decimal(f.difference) for f in (*before, *after) if f.rule == "W-F06-03" and f in after}
    old = next(Decimal(f.difference) for f in before if f.rule == "W-F06-03")
    assert diff["W-F06-03"] == old + 1000


def test_budget_percentages_that_give_blank_are_not_uncalculated(tmp_path):
    """A generated budget workbook's 增减% formulas give "" on a zero base (written with an empty value): that is
    a result, not a missing one; the same workbook resaved by openpyxl gets F-02 and nothing new besides it."""
    from xltools.build.writer import build_workbook
    from xltools.cli import _extra_sheets
    from xltools.read.datafile import load_data

    book = build_workbook(load_data(ROOT / "samples" / "zhongwei-sbzx-2024-budget"), tmp_path / "b.xlsx",
                          extra_sheets=_extra_sheets()).path
    rep = read_workbook(book)
    assert rep.uncalculated == ()
    before = check_report(rep)
    assert not [f for f in before if f.rule == "F-02"]
    out = tmp_path / "resaved.xlsx"
    openpyxl.load_workbook(book).save(out)
    rep2 = read_workbook(out)
    after = check_report(rep2)
    assert [f.rule for f in after].count("F-02") == 1
    assert any("一般公共预算财政拨款支出预算表!H" in c for c in rep2.uncalculated)   # the 增减% cells too
    known = {(f.rule, f.cell) for f in before}
    assert all((f.rule, f.cell) in known for f in after if f.rule != "F-02")
