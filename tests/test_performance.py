"""绩效 block tables (xltools/perf): the 目标表/自评表 samples against FINDINGS.md, every rule violated and satisfied,
the budget 表九 against 表二, `new --set performance`, LibreOffice as the oracle for cached values."""
from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from python_calamine import CalamineWorkbook

from xltools.build.writer import build_workbook
from xltools.cli import _extra_sheets, main
from xltools.perf.rules import cost_total, parse_cost, parse_quantity
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from conftest import assert_recalculation_matches

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
PERF_SAMPLES = ["ningxia-sbj-2025-targets", "ningxia-sbj-2022-selfeval", "ningxia-rst-2023-selfeval"]


def _listed(folder: Path) -> set[tuple[str, str]]:
    text = (folder / "FINDINGS.md").read_text(encoding="utf-8")
    block = text.split("<!-- tables:start -->")[1].split("<!-- tables:end -->")[0]
    return {(m.group(1), m.group(2)) for m in re.finditer(r"^\| (\S+) \| \w+ \| (\S+) \|", block, re.M)
            if m.group(1) != "rule" and not m.group(1).startswith("-")}


def _build(folder: Path, out: Path) -> Path:
    return build_workbook(load_data(folder), out, extra_sheets=_extra_sheets()).path


def _check(path: Path):
    return check_report(read_workbook(path))


@pytest.mark.parametrize("name", PERF_SAMPLES)
def test_sample_findings_are_those_listed_in_FINDINGS_md(name, tmp_path):
    folder = SAMPLES / name
    findings = _check(_build(folder, tmp_path / f"{name}.xlsx"))
    assert {(f.rule, f.cell) for f in findings} == _listed(folder)


def test_budget_table_9_agrees_with_table_2_and_its_findings_are_listed(tmp_path):
    folder = SAMPLES / "zhongwei-sbzx-2024-budget"
    findings = _check(_build(folder, tmp_path / "b.xlsx"))
    assert [f for f in findings if f.table == "B09"] == []
    assert {(f.rule, f.cell) for f in findings} == _listed(folder)


def _copy(name: str, tmp_path: Path) -> Path:
    dst = tmp_path / name
    shutil.copytree(SAMPLES / name, dst, ignore=shutil.ignore_patterns("*.xlsx"))
    return dst


def _edit_yaml(folder: Path, table: str, fn) -> None:
    path = folder / f"{table}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    fn(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_table_9_projects_must_add_up_to_table_2_and_per_subject(tmp_path):
    folder = _copy("zhongwei-sbzx-2024-budget", tmp_path)

    def edit(doc):
        doc["projects"][0]["funds"]["annual_total"] = "3625"          # Σ now 37059 ≠ 36959
        doc["projects"][0]["funds"]["fiscal"] = "3625"
        doc["projects"][5]["subject"] = "2080507"                      # 20000 = 表二 2080507 项目支出: agrees
        doc["projects"][4]["subject"] = "2080109"                      # 2400 ≠ 表二 2080109 项目支出 87
    _edit_yaml(folder, "B09", edit)
    found = [f for f in _check(_build(folder, tmp_path / "x.xlsx")) if f.table == "B09"]
    # Σ 37059 against 表二 F7 36959; 2080109's 87 against the 2400 of the project naming it; and the edited project's
    # 成本指标 (3525 万元) no longer covers its 年度资金总额 3625
    assert sorted((f.rule, f.cell.split("!")[1]) for f in found) == [
        ("W-B09-03", "D7"), ("X-B09-01", "F10"), ("X-B09-01", "F7")]
    assert {Decimal(f.difference) for f in found if f.rule.startswith("X")} == {Decimal("-100"), Decimal("-2313")}


def test_target_funds_must_add_up(tmp_path):
    folder = _copy("ningxia-sbj-2025-targets", tmp_path)

    def edit(doc):
        doc["projects"][1]["funds"]["carryover"] = "90"                 # 本级资金 100 ≠ 0 + 0 + 90
        doc["projects"][2]["funds"]["project_total"] = "70"            # 项目总额 70 < 年度资金总额 80
    _edit_yaml(folder, "T01", edit)
    found = {(f.rule, f.level) for f in _check(_build(folder, tmp_path / "t.xlsx"))}
    assert ("P-T01-01", "error") in found and ("W-T01-02", "warning") in found


def test_selfeval_rules_each_violated(tmp_path):
    folder = _copy("ningxia-rst-2023-selfeval", tmp_path)

    def edit(doc):
        p6, p7 = doc["projects"][1], doc["projects"][2]
        p6["funds"]["total"] = ["322", "358.02", "389.77", "10", "108.87%", "8.1"]   # 执行 > 预算, 得分 ≠ min(1)×10
        p6["funds"]["score_total"] = ["100", "95.4"]                                 # Σ得分 92.4
        p6["grade"] = "良"                                                           # 95.4 → 优
        p7["funds"]["total"] = ["348", "473.69", "381.96", "10", "70.64%", "8.1"]    # 执行率 80.64 %
        lines = p7["indicators"].splitlines()
        lines[0] = "产出指标（50 分）|数量指标|安全测评平台|2 个|2 个|5|6|"                # 得分 6 > 分值 5
        lines[5] = "产出指标（50 分）|时效指标|合同履约及验收的及时性|2024 年 6 月|95%|5|4.8|"
        p7["indicators"] = "\n".join(lines) + "\n"
    _edit_yaml(folder, "E01", edit)
    found = {f.rule for f in _check(_build(folder, tmp_path / "e.xlsx"))}
    assert {"P-E01-02", "P-E01-03", "P-E01-04", "P-E01-05", "W-E01-06", "W-E01-07", "P-E01-08"} <= found


def test_unit_costs_and_quantities_are_read_as_printed():
    assert parse_quantity("80.36万人") == {"人": Decimal("803600")}
    assert parse_quantity("2天*250人") == {"天": 2, "人": 250}
    assert parse_quantity("32课时") == {"小时": 32}
    assert parse_quantity("≥95%") is None and parse_quantity("千分之五") is None
    assert parse_cost("500 元/人/天") == (Decimal("0.05"), ["人", "天"])
    assert parse_cost("1.2 万元/月/人") == (Decimal("1.2"), ["月", "人"])
    assert parse_cost("6078万元；600元/人/次") == (Decimal("6078"), [])
    doc = load_data(SAMPLES / "ningxia-sbj-2025-targets").blocks["T01"]
    assert cost_total(doc[0])[0] == Decimal("450")          # nine lines, months, a compound 人 × 天
    assert cost_total(doc[3])[0] == Decimal("90.004")


def test_new_performance_workbook(tmp_path):
    out = tmp_path / "绩效.xlsx"
    assert main(["new", "--set", "performance", "--variant", "ningxia", "--unit", "某某局", "--year", "2025",
                 "-o", str(out)]) == 0
    names = CalamineWorkbook.from_path(str(out)).sheet_names
    assert names[:3] == ["封面", "项目支出绩效目标表", "项目支出绩效自评表"]
    assert _check(out) == []




@pytest.mark.libreoffice
def test_libreoffice_recalculation_equals_cached_values(tmp_path):
    files = [_build(SAMPLES / n, tmp_path / f"{n}.xlsx") for n in PERF_SAMPLES]
    new = tmp_path / "new.xlsx"
    assert main(["new", "--set", "performance", "--variant", "ningxia", "-o", str(new)]) == 0
    files.append(new)
    compared = assert_recalculation_matches(files, tmp_path / "lo", places=4)
    assert compared >= 40


@pytest.mark.parametrize("name", ["zhongwei-sbzx-2024-budget", *PERF_SAMPLES])
def test_committed_sample_workbooks_are_current(name, tmp_path):
    """The .xlsx committed beside each sample is what `xltools generate` makes from its data now."""
    from xltools.perf import read_blocks

    folder = SAMPLES / name
    committed = folder / f"{name}.xlsx"
    assert committed.is_file(), f"{committed} 未提交"
    a, b = read_workbook(committed), read_workbook(_build(folder, tmp_path / f"{name}.xlsx"))
    for tid in b.tables:
        va = {(k, c): v.amount for k, r in a.tables[tid].rows.items() for c, v in r.values.items()}
        vb = {(k, c): v.amount for k, r in b.tables[tid].rows.items() for c, v in r.values.items()}
        assert va == vb, tid
    read_blocks(a.origin, a)
    read_blocks(b.origin, b)
    assert {k: [(p.name, p.funds, p.indicators) for p in v] for k, v in a.blocks.items() if k != "_sheets"} == \
        {k: [(p.name, p.funds, p.indicators) for p in v] for k, v in b.blocks.items() if k != "_sheets"}


def test_a_missing_block_sheet_is_reported(tmp_path):
    import openpyxl

    wb = openpyxl.load_workbook(SAMPLES / "zhongwei-sbzx-2024-budget" / "zhongwei-sbzx-2024-budget.xlsx")
    del wb["部门项目支出预算绩效目标表"]
    wb.save(tmp_path / "no-b09.xlsx")
    found = [f for f in _check(tmp_path / "no-b09.xlsx") if f.rule == "S-01"]
    assert [(f.table, f.cell) for f in found] == [("B09", "部门项目支出预算绩效目标表")]


def test_points_of_a_first_level_indicator_and_costs_against_the_funds(tmp_path):
    """W-E01-09 (Σ 分值 under “产出指标（50 分）” ≠ 50) and W-E01-10 (Σ 成本指标 above the funds): satisfied by seed
    000's self-evaluation as printed, violated once a 分值 and a 成本 amount are changed."""
    folder = _copy("ningxia-sbj-2022-selfeval", tmp_path)
    assert not {f.rule for f in _check(_build(folder, tmp_path / "a.xlsx"))} & {"W-E01-09", "W-E01-10"}

    def edit(doc):
        p = doc["projects"][0]
        text = p["indicators"].replace("|社保宣传|66 万元|38 万元|4|3|", "|社保宣传|96 万元|38 万元|6|3|")
        assert text != p["indicators"]
        p["indicators"] = text
    _edit_yaml(folder, "E01", edit)
    found = {(f.rule, f.message) for f in _check(_build(folder, tmp_path / "b.xlsx"))}
    assert any(r == "W-E01-09" and "“产出指标（50分）”下各指标分值之和为 52.00" in m for r, m in found)
    assert any(r == "W-E01-10" and "年度指标值合计 288.00 万元，大于全年预算数 258.00 万元" in m for r, m in found)
    assert not any(r == "W-E01-10" and "实际完成值" in m for r, m in found)    # 219 of 218.07: within rounding
