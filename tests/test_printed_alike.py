"""Issue 13, the last defects of the accuracy harness, on real publications:

* X-F01-09 / X-F04-11..14 (kind `same` in tables.yaml): one quantity printed in two tables must be printed as the
  same figure — 上海 普陀区财政局 2024 prints 类 208 as 326.71 in 公开01 and 公开04 but 326.72 in 公开03 and 公开05,
  which every sum identity allows (万元 rounding of the 项 sum).
* the rest of a PDF's words (importer.document_text: headings, 名词解释 …) checked for placeholders (N-08 “XX局”)
  and doubled punctuation (N-15 “。。”), also in the 情况说明.
"""
from __future__ import annotations

import copy
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, audit_rows, final_samples, lo_recalc
from xltools.build.writer import build_workbook
from xltools.cli import _extra_sheets, main
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.rules.engine import all_checks
from xltools.spec import load_set

FINANCE = SAMPLES / "shanghai-putuo-finance-2024-final"
PLANTED = SAMPLES / "shanghai-putuo-2024-final-planted"
SFJ = SAMPLES / "shanghai-putuo-sfj-2026-budget"
CORPUS = ROOT.parent / "shared" / "corpus" / "shanghai"
PLANTED_PDF = CORPUS / "普陀区财政局-2024-部门决算-含人为错误的测试版.pdf"
ORIGINAL_PDF = CORPUS / "普陀区财政局-2024-部门决算.pdf"
SAME = ("X-F01-09", "X-F04-11", "X-F04-12", "X-F04-13", "X-F04-14")


def _same(findings) -> list:
    return [f for f in findings if f.rule in SAME]


# ---------------------------------------------------------------- one figure printed two ways

def test_class_printed_two_ways_is_reported_once_per_pair_of_tables():
    found = _same(check_report(load_data(FINANCE)))
    assert [(f.rule, f.level, f.actual, f.expected, f.difference) for f in found] == [
        ("X-F01-09", "error", "326.71", "326.72", "-0.01"),
        ("X-F04-11", "error", "326.71", "326.72", "-0.01")]
    assert all("326.71" in f.message and "326.72" in f.message and "208" in f.message for f in found)
    assert found[0].cell.startswith("F01.csv:") and found[1].cell.startswith("F04.csv:")


def test_planted_sample_without_its_table_03_compares_04_with_05_only():
    found = _same(check_report(load_data(PLANTED)))
    assert [(f.rule, f.actual, f.expected) for f in found] == [("X-F04-11", "326.71", "326.72")]


def test_the_same_figure_printed_alike_passes_and_nothing_else_changes():
    rep = load_data(FINANCE)
    before = check_report(rep)
    fixed = copy.deepcopy(rep)
    fixed.tables["F01"].rows["208"].values["amount"].amount = Decimal("326.72")
    fixed.tables["F04"].rows["208"].values["gpb"].amount = Decimal("326.72")
    after = check_report(fixed)
    assert _same(after) == []
    # within rounding either way: the sum identities said nothing before and say nothing now
    key = lambda f: (f.rule, f.cell)   # noqa: E731
    assert sorted(map(key, after)) == sorted(key(f) for f in before if f.rule not in SAME)


def test_a_larger_difference_is_reported_too():
    rep = load_data(FINANCE)
    rep.tables["F04"].rows["208"].values["gpb"].amount = Decimal("330.00")
    found = [f for f in _same(check_report(rep)) if f.rule == "X-F04-11"]
    assert [(f.actual, f.difference) for f in found] == [("330.00", "3.28")]


@pytest.mark.parametrize("folder", [p for p in final_samples() if p not in (FINANCE, PLANTED)], ids=lambda p: p.name)
def test_no_other_final_sample_prints_a_class_two_ways(folder):
    """The 宁夏 forms print 项 rows only in 公开03/05: nothing to compare, and nothing reported."""
    rep = load_data(folder)
    tset = load_set(rep.set_id)
    checks = [c for c in all_checks(tset, tset.variant(rep.variant), rep) if c.code in SAME]
    printed = any(len(k) == 3 and k.isdigit() for t in ("F03", "F05") if t in rep.tables for k in rep.tables[t].rows)
    assert bool(checks) == printed
    assert _same(check_report(rep)) == []


def test_a_class_one_table_does_not_print_is_not_compared():
    """公开05 without 类 221: no X-F04-11 for it (the sum identity X-F04-01 reports the missing money)."""
    rep = load_data(FINANCE)
    tset = load_set(rep.set_id)
    f05 = rep.tables["F05"]
    gone = [k for k in f05.rows if k.startswith("221")]
    for k in gone:
        del f05.rows[k]
    checks = [c for c in all_checks(tset, tset.variant(rep.variant), rep) if c.code == "X-F04-11"]
    assert checks and all(c.target.row != "221" for c in checks)
    assert "X-F04-01" in {f.rule for f in check_report(rep)}


@pytest.mark.libreoffice
def test_audit_sheet_shows_the_same_failures_recalculated(tmp_path):
    book = build_workbook(load_data(FINANCE), tmp_path / "finance.xlsx", extra_sheets=_extra_sheets()).path
    rows = [r for r in audit_rows(book) if r["rule"] in SAME]
    assert {r["status"] for r in rows} <= {"通过", "未通过", "不适用"} and rows
    failed = {(r["rule"], r["cell"]) for r in rows if r["status"] == "未通过"}
    from conftest import identity_failures
    expected = {x for x in identity_failures(check_report(read_workbook(book)), book) if x[0] in SAME}
    assert failed == expected and {r for r, _ in failed} == {"X-F01-09", "X-F04-11"}
    recalculated = lo_recalc([book], tmp_path / "lo")[0]
    assert [r["status"] for r in audit_rows(recalculated) if r["rule"] in SAME] == [r["status"] for r in rows]


# ---------------------------------------------------------------- the rest of a document's words

def _document_findings(folder: Path):
    from xltools.narrative.wording import document_findings

    return document_findings((folder / "published" / "其他文字.txt").read_text(encoding="utf-8"), load_data(folder))


def test_placeholder_heading_and_doubled_stop_outside_the_narrative():
    found = _document_findings(PLANTED)
    assert [(f.rule, f.level, f.actual, f.table) for f in found] == [
        ("N-08", "error", "XX", "情况说明以外的文字"), ("N-15", "warning", "。。", "情况说明以外的文字")]
    assert "上海市普陀区XX局" in found[0].cell and found[1].cell.startswith("一、财政拨款收入")


def test_the_original_document_has_neither():
    assert _document_findings(FINANCE) == []


def test_no_figure_outside_the_narrative_is_checked():
    """第一部分 and 名词解释 quote no table figure the checker could tie: only the three text rules run there."""
    from xltools.narrative.wording import document_findings

    text = "第一部分上海市普陀区财政局概况\n一、部门决算单位构成\n本级决算收入支出总计 1 万元，社会保障和就业支出 9 万元。\n"
    assert document_findings(text, load_data(FINANCE)) == []


def test_doubled_punctuation_in_a_published_narrative():
    from xltools.narrative import check_text

    rep = load_data(SFJ)
    text = (SFJ / "published" / "情况说明.txt").read_text(encoding="utf-8")
    found = [f for f in check_text(text, rep) if f.rule == "N-15"]
    assert [(f.level, f.actual, f.expected) for f in found] == [("warning", "。。", "。")]
    assert found[0].cell.endswith("主要用于：信息化建设及运行维护等方面的支出。。")
    assert [f for f in check_text(text.replace("。。", "。"), rep) if f.rule == "N-15"] == []
    # an ellipsis and single marks are no typo
    assert [f for f in check_text(text.replace("。。", "……。"), rep) if f.rule == "N-15"] == []


@pytest.mark.skipif(not PLANTED_PDF.is_file(), reason="../shared/corpus 不在")
def test_committed_text_is_what_the_pdf_reader_gives():
    from xltools.importer import document_text, narrative_text
    from xltools.importer.sources import read_source

    for pdf, folder in ((PLANTED_PDF, PLANTED), (ORIGINAL_PDF, FINANCE)):
        src = read_source(pdf)
        other = document_text(src)
        assert other + "\n" == (folder / "published" / "其他文字.txt").read_text(encoding="utf-8")
        # no line of the 情况说明 and no table cell in it; the 名词解释 and the part headings are
        narrative = narrative_text(src).splitlines()
        # the 目录 repeats the 情况说明's headings; its sentences are not there
        assert narrative and not {t for t in narrative if "万元" in t} & set(other.splitlines())
        assert "第四部分名词解释" in other.replace(" ", "") and "2,940.05" not in other and "2940.05" not in other


@pytest.mark.skipif(not PLANTED_PDF.is_file(), reason="../shared/corpus 不在")
def test_check_and_check_narrative_on_the_planted_pdf(tmp_path, capsys):
    pdf = tmp_path / PLANTED_PDF.name
    shutil.copy(PLANTED_PDF, pdf)
    assert main(["check", str(pdf), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    got = {(f["rule"], f["actual"]) for fl in doc["files"] for f in fl["findings"]}
    assert {("N-08", "XX"), ("N-15", "。。"), ("X-F04-11", "326.71")} <= got
    assert main(["check-narrative", str(pdf)]) == 1
    out = capsys.readouterr().out
    assert "上海市普陀区XX局" in out and "标点重复" in out
