"""Generation: workbook structure, cached values, LibreOffice as the oracle, look and protection."""
from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from conftest import CLEAN_UNIT, assert_recalculation_matches, final_samples, formula_values
from xltools.cli import main
from xltools.spec import load_set


def test_new_makes_all_nine_tables_named_as_titled(tmp_path):
    out = tmp_path / "某某局2024决算公开.xlsx"
    assert main(["new", "--set", "final_accounts", "--variant", "ningxia", "--unit", "某某局", "--year", "2024",
                 "--amount-unit", "元", "-o", str(out)]) == 0
    wb = CalamineWorkbook.from_path(str(out))
    tset = load_set("final_accounts")
    titles = [tset.tables[t].title for t in tset.variants["ningxia"].order]
    assert wb.sheet_names[:10] == ["封面", *titles]     # the cover first, then the tables
    grid = wb.get_sheet_by_name("收入支出决算总表").to_python()
    assert grid[0][0] == "收入支出决算总表"
    assert "公开部门：某某局" in grid[2][0]
    assert any("金额单位：元" in str(x) for x in grid[2])


def test_variants_differ_as_configured(generated):
    tset = load_set("final_accounts")
    for vid, var in tset.variants.items():
        names = CalamineWorkbook.from_path(str(generated[f"new-{vid}"])).sheet_names
        assert names[:len(var.order) + 1] == ["封面", *(tset.tables[t].sheet_name() for t in var.order)]
    # 中央: 基金/国资/三公 order and the 明细表 as 公开06; 上海: 万元 and 公开10
    central = CalamineWorkbook.from_path(str(generated["new-central"])).sheet_names
    assert central[6] == "一般公共预算财政拨款支出决算明细表" and central[9].startswith("财政拨款“三公”")
    # 上海 2024: 万元, no 公开10, 公开09 a 收入支出 table; 山西: the 明细表 and 公开10
    sh = CalamineWorkbook.from_path(str(generated["new-shanghai"]))
    assert "部门决算公开相关信息统计表" not in sh.sheet_names
    assert "国有资本经营预算财政拨款收入支出决算表" in sh.sheet_names
    assert any("金额单位：万元" in str(x) for x in sh.get_sheet_by_name("收入决算表").to_python()[2])
    sx = CalamineWorkbook.from_path(str(generated["new-shanxi"])).sheet_names
    assert "部门决算公开相关信息统计表" in sx and "一般公共预算财政拨款支出决算明细表" in sx


def test_every_formula_cell_carries_a_cached_value(generated):
    for name, path in generated.items():
        values = formula_values(path)
        assert values, name
        missing = [k for k, v in values.items() if v is None]
        assert missing == [], (name, missing[:5])


@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(generated, tmp_path):
    compared = assert_recalculation_matches(list(generated.values()), tmp_path / "lo")
    assert compared > 2000


def _csv_rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _d(s: str | None) -> Decimal:
    return Decimal(s.replace(",", "")) if s and s.strip() else Decimal(0)


def test_totals_equal_sums_of_parts_computed_independently(generated):
    """The clean unit's totals, read from the generated file, against sums of its CSV done here."""
    from xltools.read.workbook import read_workbook

    rep = read_workbook(generated["clean-unit"])
    f03 = _csv_rows(CLEAN_UNIT / "F03.csv")
    parts = ("basic", "project", "remit", "operating", "subsidy")
    for col in parts:
        assert rep.amount("F03", "total", col) == sum(_d(r[col]) for r in f03)
    for r in f03:
        assert rep.amount("F03", r["key"], "total") == sum(_d(r[c]) for c in parts)
    f02 = _csv_rows(CLEAN_UNIT / "F02.csv")
    income = ("fiscal", "superior", "business", "operating", "affiliated", "other")
    assert rep.amount("F02", "total", "total") == sum(_d(r[c]) for r in f02 for c in income)
    # 公开01 类 lines from 公开03 by code prefix; 公开04 一般公共预算 column from 公开05
    for cls in ("208", "221"):
        assert rep.amount("F01", cls, "amount") == sum(_d(r[c]) for r in f03 if r["key"].startswith(cls) for c in parts)
    f05 = _csv_rows(CLEAN_UNIT / "F05.csv")
    assert rep.amount("F04", "208", "gpb") == sum(_d(r["basic"]) + _d(r["project"]) for r in f05 if r["key"].startswith("208"))
    f06 = _csv_rows(CLEAN_UNIT / "F06.csv")
    assert rep.amount("F06", "301", "amount") == sum(_d(r["amount"]) for r in f06 if r["key"].startswith("301") and len(r["key"]) == 5)
    assert rep.amount("F06", "total", "amount") == sum(_d(r["amount"]) for r in f06 if len(r["key"]) == 5)
    assert rep.amount("F01", "grand_total", "amount") == rep.amount("F01", "grand_total_exp", "amount") == Decimal("130.00")


def test_look_protection_validation_and_print_setup(generated):
    wb = openpyxl.load_workbook(generated["clean-unit"])
    ws = wb["支出决算表"]
    assert ws.protection.sheet is True and not ws.protection.password
    assert ws.protection.insertRows is False      # openpyxl: False means "allowed"
    total = ws["C7"]                              # 合计 row, 本年支出合计
    assert str(total.value).startswith("=") and total.protection.locked
    code, basic = ws["A8"], ws["D8"]
    assert code.value == "2080101" and not code.protection.locked and not basic.protection.locked
    assert basic.fill.fgColor.rgb != total.fill.fgColor.rgb
    assert total.number_format == "#,##0.00"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.print_title_rows == "$1:$6"
    assert any("A8" in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    name = ws["B8"].value
    assert "VLOOKUP" in name and "科目目录" in name
    assert wb["_xltools"].sheet_state == "veryHidden"
    assert wb["科目目录"].sheet_state == "hidden"


def test_published_total_that_disagrees_stays_a_constant(generated):
    """Seed 000 prints 公开06 合计 as 2639239.99: the sample keeps it, as a constant, not a formula."""
    path = generated["ningxia-sbj-2022-final"]
    ws = openpyxl.load_workbook(path)["一般公共预算财政拨款基本支出决算表"]
    cells = {c.coordinate: c.value for row in ws.iter_rows() for c in row}
    assert 2639239.99 in cells.values()
    assert not any(isinstance(v, str) and v.startswith("=") and k == [k for k, x in cells.items() if x == 2639239.99][0]
                   for k, v in cells.items())


def test_generate_cli_on_every_sample(tmp_path, capsys):
    for folder in final_samples():
        assert main(["generate", str(folder), "-o", str(tmp_path)]) == 0
        assert (tmp_path / f"{folder.name}.xlsx").is_file()
    assert "已生成" in capsys.readouterr().out


def test_committed_sample_workbooks_are_current(tmp_path):
    """The .xlsx committed beside each sample is what `xltools generate` makes from its data now."""
    from xltools.read.workbook import read_workbook

    for folder in final_samples():
        committed = folder / f"{folder.name}.xlsx"
        assert committed.is_file(), f"{committed} 未提交"
        main(["generate", str(folder), "-o", str(tmp_path)])
        fresh = tmp_path / f"{folder.name}.xlsx"
        a, b = read_workbook(committed), read_workbook(fresh)
        for tid in b.tables:
            va = {(k, c): v.amount for k, r in a.tables[tid].rows.items() for c, v in r.values.items()}
            vb = {(k, c): v.amount for k, r in b.tables[tid].rows.items() for c, v in r.values.items()}
            assert va == vb, tid


def test_a_transcription_gets_only_the_tables_and_totals_its_document_prints(tmp_path):
    """`as_published`: a table the document does not print gets no sheet (an empty sheet would read back
    as a table printed empty) and `check` names it; a 合计 row it does not print stays empty."""
    import shutil

    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    folder = tmp_path / "unit"
    shutil.copytree(CLEAN_UNIT, folder)
    (folder / "F03.csv").unlink()
    meta = folder / "meta.yaml"
    meta.write_text(meta.read_text(encoding="utf-8") + "as_published: true\n", encoding="utf-8")
    f06 = folder / "F06.csv"            # 人员经费合计 and 公用经费合计 printed, no 合计 (the 上海 form)
    text = f06.read_text(encoding="utf-8")
    assert ",合计" not in text
    f06.write_text(text + "personnel_total,人员经费合计,80.00\npublic_total,公用经费合计,20.00\n", encoding="utf-8")
    assert main(["generate", str(folder), "-o", str(tmp_path)]) == 0
    out = tmp_path / "unit.xlsx"
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert "支出决算表" not in names and "收入决算表" in names and "一般公共预算财政拨款支出决算表" in names
    rep = read_workbook(out)
    assert "F03" not in rep.tables
    assert ("S-01", "支出决算表") in {(f.rule, f.cell) for f in check_report(rep)}
    f06 = rep.tables["F06"]
    assert f06.get("personnel_total", "amount").amount == Decimal("80.00")
    assert f06.get("total", "amount") is None or f06.get("total", "amount").amount is None


def test_data_file_rows_keep_their_line_order_in_code_rules():
    """Rows of a data file sort by line number (2 before 10), so a 项 below its 类 is not C-03."""
    from xltools.read.datafile import load_data
    from xltools.rules import _sheet_row, check_report

    assert sorted(["F05.csv:10", "F05.csv:2", "F05.csv:20"], key=_sheet_row) == \
        ["F05.csv:2", "F05.csv:10", "F05.csv:20"]
    rep = load_data(Path(__file__).resolve().parents[1] / "samples" / "shanghai-putuo-2024-final-planted")
    assert len(rep.tables["F05"].rows) > 10
    assert not [f for f in check_report(rep) if f.rule in ("C-03", "C-04")]
