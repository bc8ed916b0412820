"""The 审核 sheet (identities as live formulas), the 封面 cover sheet and printing — recalculated and printed
by LibreOffice, compared with the checker."""
from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from conftest import (CLEAN_UNIT, ROOT, SAMPLES, audit_failures, audit_rows, identity_failures, lo_recalc)
from xltools.build.audit import AUDIT_SHEET
from xltools.build.cover import COVER_SHEET
from xltools.build.writer import build_workbook
from xltools.cli import _extra_sheets, main
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.rules.engine import all_checks
from xltools.spec import load_set

SAMPLE_NAMES = ["ningxia-rst-2023-final", "ningxia-sbj-2022-final", "zhongwei-sbzx-2024-budget"]


def _cover(path: Path) -> dict[str, object]:
    grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(COVER_SHEET).to_python()
    return {r[0]: r[1] for r in grid if len(r) > 1 and r[0]}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("audit")
    made = {}
    for name in SAMPLE_NAMES:
        made[name] = build_workbook(load_data(SAMPLES / name), out / f"{name}.xlsx", extra_sheets=_extra_sheets()).path
    made["clean-unit"] = build_workbook(load_data(CLEAN_UNIT), out / "clean-unit.xlsx", extra_sheets=_extra_sheets()).path
    return made


@pytest.fixture(scope="module")
def recalculated(built, tmp_path_factory) -> dict[str, Path]:
    outs = lo_recalc(list(built.values()), tmp_path_factory.mktemp("audit-lo"))
    return {p.stem: p for p in outs}


# ---------------------------------------------------------------- one row per concrete identity

@pytest.mark.parametrize("name", [*SAMPLE_NAMES, "clean-unit"])
def test_one_row_per_concrete_identity(name, built):
    """The sheet lists every check the checker expands on the workbook read back (by rule code), plus
    the row checks of the empty spare rows at the end of each detail block (they hold formulas too)."""
    from xltools.build.writer import SPARE_ROWS, _with_hierarchy_and_spare

    report = read_workbook(built[name])
    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    checks = all_checks(tset, variant, report)
    rows = audit_rows(built[name])
    listed, checked = collections.Counter(r["rule"] for r in rows), collections.Counter(c.code for c in checks)
    assert all(listed[k] >= n for k, n in checked.items()), checked - listed
    with_spare = all_checks(tset, variant, _with_hierarchy_and_spare(report, tset, variant, SPARE_ROWS))
    spare = [c for c in with_spare if c.target.row.startswith("#")]
    assert sum(listed.values()) - sum(checked.values()) == len(spare)
    assert len(rows) > (200 if name == "clean-unit" else 300)
    # percentages and comparisons are there too (budget: 增减%; final accounts: ≤ / ≥ warnings)
    kinds = {c.kind for c in checks}
    assert "at_least" in kinds and ("ratio" in kinds) == (report.set_id == "budget")


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_libreoffice_statuses_are_the_checkers_identity_findings(name, built, recalculated):
    """Recalculated in LibreOffice, 未通过 falls on exactly the identities `xltools check` reports (rule + cell),
    and our cached statuses are what LibreOffice computes."""
    findings = check_report(read_workbook(built[name]))
    expected = identity_failures(findings, built[name])
    assert expected, "the samples keep their published errors"
    assert audit_failures(recalculated[name]) == expected
    assert [r["status"] for r in audit_rows(built[name])] == [r["status"] for r in audit_rows(recalculated[name])]
    errors = {(f.rule, f.cell) for f in findings if f.level == "error"} & expected
    assert _cover(recalculated[name])["审核结果"] == f"{len(errors)} 项未通过" == _cover(built[name])["审核结果"]


@pytest.mark.libreoffice
def test_clean_workbook_shows_passed(built, recalculated):
    assert check_report(read_workbook(built["clean-unit"])) == []
    rows = audit_rows(recalculated["clean-unit"])
    # 不适用: a comparison with a row the unit does not have (三公 vs 基本支出 30212 …), as the checker skips it
    assert collections.Counter(r["status"] for r in rows) == {"通过": len(rows) - 4, "不适用": 4}
    assert {r["rule"] for r in rows if r["status"] == "不适用"} == {"W-F07-01", "W-F07-02", "W-F07-03", "W-F07-04"}
    cover = _cover(recalculated["clean-unit"])
    assert cover["审核结果"] == "审核通过" and cover["公式被改写"] == "无"


@pytest.mark.libreoffice
def test_fixing_a_published_wrong_amount_turns_its_rows_to_passed(built, tmp_path):
    """ningxia-rst-2023: the published totals that disagree with their parts (kept as constants) are
    corrected in LibreOffice to what the checker expects; their rows pass, the checker agrees."""
    src = built["ningxia-rst-2023-final"]
    findings = check_report(read_workbook(src))
    typed = {f.cell for f in findings if f.rule == "F-01"}
    fixes = [f for f in findings if f.cell in typed and f.rule in {r["rule"] for r in audit_rows(src)}]
    assert fixes
    f = fixes[0]
    sheet, cell = f.cell.split("!")
    work = tmp_path / src.name
    shutil.copy(src, work)
    [out] = lo_recalc([work], tmp_path / "out", ops={work: [{"op": "set", "sheet": sheet, "cell": cell,
                                                               "value": float(f.expected)}]})
    after = audit_failures(out)
    assert (f.rule, f.cell) in audit_failures(src) and (f.rule, f.cell) not in after
    assert after == identity_failures(check_report(read_workbook(out)), out)


# ---------------------------------------------------------------- the cover sheet

@pytest.mark.libreoffice
def test_cover_drives_titles_headers_and_the_reader(built, tmp_path):
    """A unit and year typed on the cover reach every 公开部门 line and the {year}/{prev} headers, and
    the reader takes them from there."""
    src = built["zhongwei-sbzx-2024-budget"]
    work = tmp_path / src.name
    shutil.copy(src, work)
    [out] = lo_recalc([work], tmp_path / "out", ops={work: [
        {"op": "set", "sheet": COVER_SHEET, "cell": "B3", "value": "新单位"},
        {"op": "set", "sheet": COVER_SHEET, "cell": "B5", "value": 2031}]})
    wb = CalamineWorkbook.from_path(str(out))
    tset = load_set("budget")
    for t in tset.tables_for(tset.variant("ningxia")):
        grid = wb.get_sheet_by_name(t.sheet_name()).to_python()
        assert any(str(x).startswith("公开部门：新单位") for x in grid[2]), t.title
    headers = " ".join(str(x) for row in wb.get_sheet_by_name("一般公共预算财政拨款支出预算表").to_python()[3:6] for x in row)
    assert "2030年执行数（决算数）" in headers and "2031年预算数" in headers and "2024年" not in headers
    rep = read_workbook(out)
    assert (rep.unit, rep.year) == ("新单位", 2031)
    assert read_workbook(src).unit == load_data(SAMPLES / "zhongwei-sbzx-2024-budget").unit


def test_cover_is_first_with_validated_inputs(built):
    import openpyxl

    wb = openpyxl.load_workbook(built["clean-unit"])
    assert wb.sheetnames[0] == COVER_SHEET and wb[COVER_SHEET].sheet_state == "visible"
    assert wb.active.title == COVER_SHEET
    ws = wb[COVER_SHEET]
    dv = {str(d.sqref): d for d in ws.data_validations.dataValidation}
    assert dv["B5"].type == "whole" and (dv["B5"].formula1, dv["B5"].formula2) == ("2000", "2100")
    assert ws["B3"].value == "测试局" and ws["B5"].value == 2024 and ws["B6"].value == "元"
    assert not ws["B3"].protection.locked and ws["B7"].protection.locked
    table = wb["收入支出决算总表"]
    assert str(table["A3"].value).startswith('="公开部门："&\'封面\'!$B$3')


def test_narrative_refuses_while_unit_or_year_is_empty(tmp_path, capsys):
    out = tmp_path / "空.xlsx"
    assert main(["new", "--set", "final_accounts", "--variant", "ningxia", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["narrative", str(out), "--no-docx"]) == 2
    err = capsys.readouterr().err
    assert "封面" in err and "单位名称" in err and "年度" in err and "封面!B3" in err and "Traceback" not in err
    assert CalamineWorkbook.from_path(str(out)).sheet_names.count("情况说明") == 0


# ---------------------------------------------------------------- printing

def _pages(pdf: Path) -> list[tuple[str, str, bool, int]]:
    """(sheet named in the footer, first line, landscape, lines) per page of a LibreOffice PDF."""
    import pdfplumber

    out = []
    with pdfplumber.open(pdf) as doc:
        for page in doc.pages:
            lines = (page.extract_text() or "").strip().split("\n")
            m = re.match(r"(.+?)\s+第 \d+ 页", lines[-1])
            out.append((m.group(1) if m else lines[-1].strip(), lines[0], page.width > page.height, len(lines)))
    return out


@pytest.mark.libreoffice
def test_printed_pages(built, tmp_path):
    """A sample of the ningxia variant, checked (校验结果 written), printed to PDF by LibreOffice: every
    table on one A4 landscape page (公开01 too), 审核 / 说明事项 / 校验结果 landscape with their header row
    on every page. Pictures of these pages are in docs/ (docs/audit-sheet.png …)."""
    src = built["ningxia-sbj-2022-final"]
    work = tmp_path / src.name
    shutil.copy(src, work)
    assert main(["check", str(work), "--write"]) == 1
    [pdf] = lo_recalc([work], tmp_path / "pdf", pdf=True)
    pages = _pages(pdf)
    per = collections.Counter(p[0] for p in pages)
    tset = load_set("final_accounts")
    for t in tset.tables_for(tset.variant("ningxia")):
        assert per[t.number] == 1, (t.number, per)
    assert per[COVER_SHEET] == 1
    for sheet, head in ((AUDIT_SHEET, "序号 规则 级别 说明"), ("说明事项", "项目 内容"), ("校验结果", "级别 规则 表 单元格")):
        mine = [p for p in pages if p[0] == sheet]
        assert mine and all(p[2] for p in mine), (sheet, per)
        assert all(p[1].startswith(head) for p in mine[1:]), sheet
    assert all(p[2] for p in pages if p[0] != COVER_SHEET)


@pytest.mark.libreoffice
def test_table_one_prints_on_one_page_in_every_variant(tmp_path):
    files = []
    for vid in load_set("final_accounts").variants:
        f = tmp_path / f"{vid}.xlsx"
        assert main(["new", "--set", "final_accounts", "--variant", vid, "--unit", "某某局", "--year", "2024",
                     "-o", str(f)]) == 0
        files.append(f)
    for pdf in lo_recalc(files, tmp_path / "pdf", pdf=True):
        pages = _pages(pdf)
        per = collections.Counter(p[0] for p in pages)
        assert per["公开01表"] == 1, (pdf.name, per)
        # no table ends with a page of a few orphan rows: a last page holds at least a quarter of the
        # lines of the table's first page (whose title and header it repeats)
        for table in (k for k, n in per.items() if k.startswith("公开") and n > 1):
            lines = [p[3] for p in pages if p[0] == table]
            assert lines[-1] >= lines[0] / 4, (pdf.name, table, lines)
