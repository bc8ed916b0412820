"""The accuracy harness (benchmarks/accuracy.py) and the grouping of findings by defect (xltools.rules.causes)."""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import CLEAN_UNIT

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import accuracy  # noqa: E402

from xltools.rules import check_report  # noqa: E402


def test_every_sample_has_labelled_defects():
    names = sorted(p.name for p in (ROOT / "samples").iterdir() if p.is_dir())
    assert [p.name for p in accuracy.samples()] == names
    for p in accuracy.samples():
        defects = accuracy.load_expected(p)
        assert defects and len({d.id for d in defects}) == len(defects), p.name
        assert all(d.note and (d.rules or d.rules == ()) for d in defects)


def test_accuracy_on_the_samples_no_false_error_and_recall_kept():
    results = [accuracy.measure(p) for p in accuracy.samples()]
    for r in results:
        false = {f"{f.rule}@{f.cell}" for f in r.false_errors}
        known = set(accuracy.KNOWN_FALSE.get(r.name, {}))
        assert false <= known, f"{r.name}: false errors {sorted(false - known)}"
    found = sum(r.found for r in results)
    labelled = sum(len(r.defects) for r in results)
    assert found >= accuracy.RECALL[0] and found * accuracy.RECALL[1] >= accuracy.RECALL[0] * labelled, \
        f"recall {found}/{labelled} below the recorded {accuracy.RECALL[0]}/{accuracy.RECALL[1]}"
    # one headline per defect: fewer headlines than findings where a defect fans out
    sbj = next(r for r in results if r.name == "ningxia-sbj-2022-final")
    assert sbj.headlines < sbj.findings


def test_a_defect_is_found_only_by_its_rule_on_its_location():
    d = accuracy.Defect("T", "x", ("R-F03-02",), cells=("支出决算表!C7",))
    from xltools.rules.engine import Finding
    assert d.matches(Finding("R-F03-02", "error", "F03", "支出决算表!C7", "m"))
    assert not d.matches(Finding("R-F03-02", "error", "F03", "支出决算表!D7", "m"))
    assert not d.matches(Finding("R-F03-01", "error", "F03", "支出决算表!C7", "m"))
    assert not d.matches(Finding("R-F03-02", "info", "F03", "支出决算表!C7", "m"))
    assert d.matches(Finding("R-F03-02", "error", "F03", "支出决算表!D7", "m", culprits=("支出决算表!C7",)))


@pytest.fixture(scope="module")
def clean_book(tmp_path_factory):
    from xltools.build.writer import build_workbook
    from xltools.read.datafile import load_data

    return build_workbook(load_data(CLEAN_UNIT), tmp_path_factory.mktemp("clean") / "clean.xlsx").path


def _planted(book, edits):
    from xltools.read.workbook import read_workbook

    rep = read_workbook(book)
    assert check_report(rep) == []
    for (t, r, c), v in edits.items():
        rep.tables[t].rows[r].values[c].amount = Decimal(v)
    return check_report(rep)


def test_a_mistyped_amount_is_the_one_culprit(clean_book):
    # 公开05 2080101 基本支出 80 typed as 800: its row total, the 基本支出 total and the comparison with 公开03 fail
    fs = _planted(clean_book, {("F05", "2080101", "basic"): "800.00"})
    heads = [f for f in fs if not f.cause]
    assert len(heads) == 1 and len(fs) >= 3
    assert heads[0].culprits == ("一般公共预算财政拨款支出决算表!D8",) and "若为 80.00" in heads[0].message
    assert all(f.cause == f"{heads[0].rule}@{heads[0].cell}" for f in fs if f is not heads[0])


def test_a_typed_over_total_is_the_culprit_not_its_parts(clean_book):
    fs = _planted(clean_book, {("F05", "total", "basic"): "10.00"})
    heads = [f for f in fs if not f.cause]
    assert len(heads) == 1 and heads[0].culprits == ("一般公共预算财政拨款支出决算表!D7",)


def test_an_amount_in_the_wrong_column_is_one_move(clean_book):
    # 公开05 2080101: 80 基本 + 20 项目; the 20 typed under 基本支出 of the same row (100 + 0): row total holds
    fs = _planted(clean_book, {("F05", "2080101", "basic"): "100.00", ("F05", "2080101", "project"): "0.00"})
    heads = [f for f in fs if not f.cause]
    assert len(heads) == 1, [(f.rule, f.cell) for f in heads]
    assert set(heads[0].culprits) == {"一般公共预算财政拨款支出决算表!D8", "一般公共预算财政拨款支出决算表!E8"}


def test_two_independent_mistakes_are_two_headlines(clean_book):
    fs = _planted(clean_book, {("F05", "2080101", "basic"): "800.00", ("F03", "total", "project"): "1.00"})
    heads = {c for f in fs if not f.cause for c in f.culprits}
    assert heads == {"一般公共预算财政拨款支出决算表!D8", "支出决算表!E7"}


@pytest.mark.parametrize("folder", accuracy.samples(), ids=lambda p: p.name)
def test_findings_md_lists_each_finding_with_its_cause(folder):
    """FINDINGS.md's table (scripts/refresh_findings.py): every finding with the headline it follows from."""
    import re

    text = (folder / "FINDINGS.md").read_text(encoding="utf-8")
    block = text.split("<!-- tables:start -->")[1].split("<!-- tables:end -->")[0]
    listed = [(m.group(1), m.group(2), None if m.group(3) == "—" else m.group(3))
              for m in re.finditer(r"^\| (\S+) \| \w+ \| (\S+) \| (\S+) \|", block, re.M)
              if m.group(1) not in ("rule",) and not m.group(1).startswith("-")]
    tables, _ = accuracy.sample_findings(folder)
    assert sorted(listed, key=str) == sorted(((f.rule, f.cell, f.cause) for f in tables), key=str)


def test_an_empty_table_is_one_defect(clean_book):
    """A table printed without a single amount (山西's unpublished 公开02): every identity that reads it and every
    code a presence rule looks for in it follow from that one defect."""
    from xltools.read.workbook import read_workbook

    rep = read_workbook(clean_book)
    for rd in rep.tables["F02"].rows.values():
        for v in rd.values.values():
            v.amount = None
    fs = check_report(rep)
    errors = [f for f in fs if f.level == "error"]
    heads = [f for f in errors if not f.cause]
    assert len(errors) > 2 and len(heads) == 1, [(f.rule, f.cell, f.cause) for f in fs]
    assert "“收入决算表”没有数据" in heads[0].message and heads[0].table == "F02"
    assert all(f.cause == f"{heads[0].rule}@{heads[0].cell}" for f in errors if f is not heads[0])


def test_a_missing_table_is_one_defect(clean_book):
    """S-01 (a table's sheet is missing: what read_workbook records) is the headline of every identity that
    reads that table."""
    from xltools.read.workbook import read_workbook

    rep = read_workbook(clean_book)
    del rep.tables["F02"]
    rep.problems.append(("missing_sheet", "F02", "收入决算表"))
    fs = check_report(rep)
    heads = [f for f in fs if f.level == "error" and not f.cause]
    assert [(f.rule, f.table) for f in heads] == [("S-01", "F02")]
    assert len([f for f in fs if f.cause == f"S-01@{heads[0].cell}"]) >= 2
