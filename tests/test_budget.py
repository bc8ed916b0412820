"""部门预算公开 (set `budget`): the seed-001 sample against FINDINGS.md, identities violated and satisfied,
percentages over rounded 万元 operands, `new --set budget`, LibreOffice as the oracle for cached values."""
from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from xltools.build.writer import build_workbook
from xltools.cli import _extra_sheets, main
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.spec import load_set
from conftest import assert_recalculation_matches

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "zhongwei-sbzx-2024-budget"


def _pairs(findings) -> set[tuple[str, str]]:
    return {(f.rule, f.cell) for f in findings}


def _listed(findings_md: Path) -> set[tuple[str, str]]:
    text = findings_md.read_text(encoding="utf-8")
    block = text.split("<!-- tables:start -->")[1].split("<!-- tables:end -->")[0]
    return {(m.group(1), m.group(2)) for m in re.finditer(r"^\| (\S+) \| \w+ \| (\S+) \|", block, re.M)
            if m.group(1) != "rule" and not m.group(1).startswith("-")}


def _build(folder: Path, out: Path) -> Path:
    return build_workbook(load_data(folder), out, extra_sheets=_extra_sheets()).path


@pytest.fixture(scope="module")
def sample_book(tmp_path_factory) -> Path:
    return _build(SAMPLE, tmp_path_factory.mktemp("budget") / "zhongwei-sbzx-2024-budget.xlsx")


@pytest.fixture()
def clean_folder(tmp_path) -> Path:
    """The seed-001 sample with its two printed errors corrected: 201 → 210 in 表二, 三公 小计 2.9 → 2.75."""
    dst = tmp_path / "clean-budget"
    shutil.copytree(SAMPLE, dst)
    b02 = (dst / "B02.csv").read_text(encoding="utf-8").replace("201,卫生健康支出", "210,卫生健康支出")
    (dst / "B02.csv").write_text(b02, encoding="utf-8")
    b03 = (dst / "B03.csv").read_text(encoding="utf-8").replace("其他对个人和家庭的补助支出", "其他对个人和家庭的补助")
    (dst / "B03.csv").write_text(b03, encoding="utf-8")
    (dst / "B04.csv").write_text(
        "key,name,pb_total,pb_abroad,pb_car,pb_car_purchase,pb_car_run,pb_reception,pa_total,pa_abroad,pa_car,"
        "pa_car_purchase,pa_car_run,pa_reception,cb_total,cb_abroad,cb_car,cb_car_purchase,cb_car_run,cb_reception\n"
        "amount,,2.9,0,2.75,0,2.75,0.15,2.00,0,1.86,0,1.86,0.14,2.9,0,2.75,0,2.75,0.15\n", encoding="utf-8")
    return dst


def test_sample_findings_are_those_listed_in_FINDINGS_md(sample_book):
    findings = [f for f in check_report(read_workbook(sample_book)) if not f.rule.startswith("P-")]
    listed = {p for p in _listed(SAMPLE / "FINDINGS.md") if not p[0].startswith("P-")}
    assert _pairs(findings) == listed


def test_sample_errors_carry_their_differences(sample_book):
    by_rule: dict[str, list] = {}
    for f in check_report(read_workbook(sample_book)):
        by_rule.setdefault(f.rule, []).append(f)
    # 三公: 小计 2.9 printed where 0 + 2.75
    assert {Decimal(f.difference) for f in by_rule["R-B04-01"]} == {Decimal("0.15")}
    # 表二's 201 row carries 210's money
    assert {Decimal(f.actual) for f in by_rule["H-B02-01"]} == {Decimal("15.38"), Decimal("18.19"), Decimal("2.81")}
    assert any("2101102" in f.message and "210" in f.message for f in by_rule["C-04"])


def test_corrected_sample_has_no_table_findings(clean_folder, tmp_path):
    book = _build(clean_folder, tmp_path / "clean.xlsx")
    findings = [f for f in check_report(read_workbook(book)) if not f.rule.startswith("P-")]
    assert findings == []


def test_a_wrong_percentage_and_a_wrong_change_are_found(clean_folder, tmp_path):
    b02 = (clean_folder / "B02.csv").read_text(encoding="utf-8")
    b02 = b02.replace("8966.36,9603.00,0,9603.00,636.64,7.10\n2089999", "8966.36,9603.00,0,9603.00,636.64,7.20\n2089999")
    b02 = b02.replace("2210203,购房补贴,8.83,13.40,13.40,0,4.57,51.76", "2210203,购房补贴,8.83,13.40,13.40,0,4.75,51.76")
    (clean_folder / "B02.csv").write_text(b02, encoding="utf-8")
    findings = check_report(read_workbook(_build(clean_folder, tmp_path / "x.xlsx")))
    rules = {(f.rule, f.cell.split("!")[1]) for f in findings if f.rule.startswith("R-B02")}
    assert rules == {
        ("R-B02-04", "H18"),     # 20899 7.20 %: 636.64 / 8966.36 = 7.10 %
        ("R-B02-03", "G26"),     # 2210203 增减额 4.75 ≠ 13.40 − 8.83
        ("R-B02-04", "H26"),     # … and 51.76 % no longer fits 4.75 / 8.83
        ("R-B02-02", "G7"),      # the unit row's 增减额 no longer equals Σ项
    }


def test_percentages_use_the_interval_of_rounded_operands():
    """20805: 24861.69 / 77.94 = 318.985…; printed 31898.50 %: inside the interval the 万元 rounding allows."""
    from xltools.model import Report, RowData, TableData, Value
    from xltools.rules.engine import Check, Ref, evaluate

    def rep(pct: str) -> Report:
        r = Report("budget", "ningxia", "u", 2024, amount_unit="万元")
        td = TableData("B02")
        row = RowData("20805", "", "main", kind="class")
        for k, v in (("prev", "77.94"), ("change", "24861.69"), ("change_pct", pct)):
            row.values[k] = Value(Decimal(v), source=f"B02!{k}")
        td.rows["20805"] = row
        r.tables["B02"] = td
        return r

    chk = Check("R", "error", "m", "ratio", Ref("B02", "20805", "change_pct"),
                (Ref("B02", "20805", "change"), Ref("B02", "20805", "prev")), scale=100)
    tset = load_set("budget")
    assert evaluate(rep("31898.50"), tset, [chk]) == []
    assert evaluate(rep("31900.00"), tset, [chk]) == []        # within ±2.05 the rounding of 77.94 allows
    assert len(evaluate(rep("31950.00"), tset, [chk])) == 1


def test_new_budget_workbook(tmp_path):
    out = tmp_path / "预算.xlsx"
    assert main(["new", "--set", "budget", "--variant", "ningxia", "--unit", "某某中心", "--year", "2024",
                 "-o", str(out)]) == 0
    wb = CalamineWorkbook.from_path(str(out))
    tset = load_set("budget")
    assert wb.sheet_names[:9] == ["封面", *(tset.tables[t].sheet_name() for t in tset.variants["ningxia"].order)]
    grid = wb.get_sheet_by_name("一般公共预算财政拨款支出预算表").to_python()
    assert any("2023年执行数（决算数）" in str(x) for row in grid[:8] for x in row)
    assert any("增减%" in str(x) for row in grid[:8] for x in row)
    assert check_report(read_workbook(out)) == []




@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(sample_book, clean_folder, tmp_path):
    new = tmp_path / "new.xlsx"
    assert main(["new", "--set", "budget", "--variant", "ningxia", "--year", "2024", "-o", str(new)]) == 0
    files = [sample_book, _build(clean_folder, tmp_path / "clean.xlsx"), new]
    compared = assert_recalculation_matches(files, tmp_path / "lo", places=2)
    assert compared > 900


# ---------------------------------------------------------------- 部门预算情况说明

def _narrative_rows() -> list[tuple[str, str, str]]:
    text = (SAMPLE / "FINDINGS.md").read_text(encoding="utf-8")
    block = text.split("<!-- narrative:start -->")[1].split("<!-- narrative:end -->")[0]
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("N-"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


def _published_narrative() -> str:
    return (SAMPLE / "published" / "情况说明.txt").read_text(encoding="utf-8")


def test_published_budget_narrative_findings_are_those_in_FINDINGS_md():
    from xltools.narrative import check_text

    findings = check_text(_published_narrative(), load_data(SAMPLE))
    assert sorted((f.rule, f.level, f.actual or "") for f in findings) == sorted(_narrative_rows())


@pytest.mark.parametrize("printed,wrong,rule", [
    ("社会保障和就业支出 37294.73", "社会保障和就业支出 37294.37", "N-01"),     # a 类 of 表一
    ("人员经费 384.38", "人员经费 384.83", "N-01"),                           # 表三
    ("基本工资 82.83", "基本工资 28.83", "N-01"),                             # a 款 of 表三
    ("4869.00万", "4896.00万", "N-01"),                                      # 2080506 项目支出 (表二)
    ("增长 31.82%", "增长 30.82%", "N-04"),                                  # on the prior 项目支出
    ("公务接待费 0.15 万", "公务接待费 0.51 万", "N-01"),                      # 表四
    ("行政支出 0万元，占 0%", "行政支出 0万元，占 5%", "N-04"),                 # a share of 表六 本年支出
])
def test_a_figure_changed_in_the_published_narrative_is_found(printed, wrong, rule):
    from xltools.narrative import check_text

    text = _published_narrative()
    assert printed in text
    found = [f for f in check_text(text.replace(printed, wrong, 1), load_data(SAMPLE))
             if (f.rule, f.level) != ("N-04", "warning")]
    assert found and found[0].rule == rule, [(f.rule, f.actual) for f in found]


def test_rendered_budget_narrative_has_the_published_sections_and_passes_the_checker():
    from xltools.narrative import check_text, render

    report = load_data(SAMPLE)
    narrative = render(report)
    assert narrative.title == "中卫市社会保险事业管理中心2024年部门预算情况说明"
    heads = [p.text for p in narrative.paragraphs if p.style == "heading1"]
    assert [h[:2] for h in heads] == ["一、", "二、", "三、", "四、", "五、", "六、"]
    text = narrative.text()
    for sentence in ("财政拨款支出预算37355.53万元，包括：社会保障和就业支出37294.73万元、卫生健康支出18.19万元、住房保障支出42.61万元",
                     "基本支出396.53万元，比2023年执行数增加52.34万元，增长15.21%",
                     "社会保险经办机构（项）2024年预算87.00万元，比2023年执行数增加21.00万元，增长31.82%",
                     "“三公”经费财政拨款预算数为2.90万元",
                     "无政府性基金预算财政拨款收支",
                     "财政拨款预算收入37355.53万元，占100.00%",
                     "政府采购预算4.01万元",
                     "项目资金总额20000.00万元"):
        assert sentence in text, sentence
    assert narrative.missing == []
    assert check_text(text, report) == []


def test_budget_narrative_from_the_workbook_and_the_cli(sample_book, tmp_path, capsys):
    book = tmp_path / "b.xlsx"
    shutil.copy(sample_book, book)
    assert main(["narrative", str(book), "--no-docx", "--force"]) == 1   # 13 check errors, as published
    assert main(["check-narrative", str(SAMPLE / "published" / "情况说明.txt"), "--against", str(book)]) == 0
    out = capsys.readouterr().out
    assert "0 个错误，2 个警告" in out


# ---------------------------------------------------------------- spec features the budget set added

def test_spec_ratio_percent_and_unit_total_load_and_fail_at_load(tmp_path):
    from xltools.spec import SpecError, _parse_set, load_set

    tset = load_set("budget")
    b02 = tset.tables["B02"]
    assert b02.total_label == "unit"
    assert [c.key for c in b02.panels[0].columns if c.percent] == ["change_pct"]
    assert b02.panels[0].columns[0].label_text(2024) == ("2023年执行数（决算数）",)
    ratio = next(i for i in tset.identities if i.code == "R-B02-04")
    assert ratio.kind == "ratio" and ratio.scale == 100 and len(ratio.terms) == 2
    assert tset.tables["B01"].panels[1].rows[1].label == "（一）一般公共服务支出"
    doc = {"set": "x", "tables": [{"id": "T", "title": "t", "panels": [{"id": "m", "columns": [{"key": "a", "label": "a"}],
                                                                        "rows": [{"key": "r", "label": "r"}]}]}],
           "identities": [{"code": "R-1", "target": "T!r.a", "ratio": ["T!r.a"]}]}
    with pytest.raises(SpecError, match="ratio"):
        _parse_set(doc, tmp_path / "tables.yaml")


def test_percent_columns_get_no_class_subtotal_check():
    from xltools.rules.engine import hierarchy_checks

    report = load_data(SAMPLE)
    cols = {c.target.col for c in hierarchy_checks(load_set("budget"), report) if c.target.table == "B02"}
    assert "change_pct" not in cols and {"prev", "total", "change"} <= cols


def test_wan_yuan_parts_rounded_separately_raise_no_false_error(clean_folder, tmp_path):
    """22102 = 2210201 + 2210203 in 万元: 42.60 against 29.21 + 13.40 = 42.61 is rounding (each ±0.005),
    42.58 is not."""
    def with_22102(total: str) -> list:
        b02 = (SAMPLE / "B02.csv").read_text(encoding="utf-8").replace("201,卫生健康支出", "210,卫生健康支出")
        b02 = b02.replace("22102,住房改革支出,32.71,42.61,", f"22102,住房改革支出,32.71,{total},")
        (clean_folder / "B02.csv").write_text(b02, encoding="utf-8")
        book = _build(clean_folder, tmp_path / f"r{total}.xlsx")
        return [(f.rule, f.cell) for f in check_report(read_workbook(book)) if f.rule.startswith("H-")]

    assert with_22102("42.60") == []
    assert with_22102("42.58") == [("H-B02-01", "一般公共预算财政拨款支出预算表!D24")]


def test_per_item_notes_travel_through_the_workbook(sample_book):
    """说明事项 rows for each 项 with 项目支出 (each: project_items): the 项 comparisons survive the workbook."""
    from xltools.narrative import render

    report = read_workbook(sample_book)
    assert report.notes.get("prior.gpb_project.2080109") not in (None, "")
    assert "社会保险经办机构（项）2024年预算87.00万元，比2023年执行数增加21.00万元，增长31.82%" in render(report).text()


def test_unit_total_row_or_note_line_first_are_read_apart():
    """B02's first data row is the 合计 row showing the unit's name (left out of the reading plan's sheet shape).
    A copy whose first data row is instead the 注 line, the rows below it the same, is another shape: read after
    the first, it keeps no 合计 row of the other and names its own note."""
    from xltools.read.workbook import META_SHEET, _grid, meta_from, read_grids

    book = SAMPLE / f"{SAMPLE.name}.xlsx"
    wb = CalamineWorkbook.from_path(str(book))
    names = wb.sheet_names
    grids = {s: _grid(wb, s) for s in names}
    meta = meta_from(names, grids[META_SHEET])
    sheet = meta.get("table:B02", load_set("budget").tables["B02"].sheet_name())
    first = next(r for r, row in enumerate(grids[sheet]) if row and str(row[0]).strip() == "栏次") + 1
    ref = read_grids(grids.__getitem__, names, meta, None, name=book.name)
    assert "total" in ref.tables["B02"].rows

    noted = dict(grids)
    noted[sheet] = [list(row) for row in grids[sheet]]
    noted[sheet][first] = ["注：本表无数据。"] + [""] * (len(noted[sheet][first]) - 1)
    for g in (noted, grids, noted):          # each read after the other shape's
        rep = read_grids(g.__getitem__, names, meta, None, name=book.name)
        td = rep.tables["B02"]
        if g is noted:
            assert (td.rows, td.note) == ({}, "注：本表无数据。")
            assert td.note_source.endswith(f"A{first + 1}")
        else:
            assert list(td.rows) == list(ref.tables["B02"].rows)
            assert td.note == ref.tables["B02"].note
