"""Checking: published samples against FINDINGS.md, every rule violated and satisfied, rounding, CLI."""
from __future__ import annotations

import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, final_samples
from xltools.cli import main
from xltools.model import Report, RowData, TableData, Value, parse_amount, to_wan
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.rules.engine import Check, Ref, evaluate
from xltools.spec import load_set


def _pairs(findings) -> set[tuple[str, str]]:
    return {(f.rule, f.cell) for f in findings}


# ---------------------------------------------------------------- published samples

@pytest.mark.parametrize("folder", final_samples(), ids=lambda p: p.name)
def test_sample_findings_are_those_listed_in_FINDINGS_md(folder, generated):
    text = (folder / "FINDINGS.md").read_text(encoding="utf-8")
    block = text.split("<!-- tables:start -->")[1].split("<!-- tables:end -->")[0]
    listed = {(m.group(1), m.group(2)) for m in re.finditer(r"^\| (\S+) \| \w+ \| (\S+) \|", block, re.M)
              if m.group(1) != "rule" and not m.group(1).startswith("-")}
    findings = check_report(read_workbook(generated[folder.name]))
    assert _pairs(findings) == listed


def test_published_errors_are_found_with_their_differences(generated):
    by_rule = {}
    for f in check_report(read_workbook(generated["ningxia-sbj-2022-final"])):
        by_rule.setdefault(f.rule, []).append(f)
    # 2080502 事业单位离退休 is in 公开05 but missing from 公开03
    assert any("2080502" in f.message for f in by_rule["X-F05-00"])
    assert {Decimal(f.difference) for f in by_rule["X-F01-07"]} == {Decimal("43860.95")}
    # 2089999 printed in the 基本支出 column of 公开03
    assert Decimal("128589187.47") in {Decimal(f.difference) for f in by_rule["R-F03-02"]}
    # 公开06 合计 printed as 2,639,239.99
    assert {f.actual for f in by_rule["X-F06-01"]} == {"2639239.99"}


def test_clean_unit_has_no_findings(generated):
    assert check_report(read_workbook(generated["clean-unit"])) == []


# ---------------------------------------------------------------- every rule, violated (edits in LibreOffice)

F02, F03, F05, F07 = "收入决算表", "支出决算表", "一般公共预算财政拨款支出决算表", "财政拨款“三公”经费支出决算表"
F01 = "收入支出决算总表"

_INSERT = [{"op": "insert_rows", "sheet": F02, "row": 8}, {"op": "set", "sheet": F02, "cell": "A9", "value": "2080199"},
           {"op": "set", "sheet": F02, "cell": "J9", "value": 5},
           {"op": "insert_rows", "sheet": F03, "row": 8}, {"op": "set", "sheet": F03, "cell": "A9", "value": "2080199"},
           {"op": "set", "sheet": F03, "cell": "D9", "value": 5}]

CASES = {
    # a user inserts a row inside the detail blocks of 公开02 and 公开03 and copies the row's 合计 formula
    # down, as the table's note asks: every total, in every table, stays right
    "insert_row": (_INSERT + [{"op": "set", "sheet": F02, "cell": "C9", "value": "=SUM(D9;E9;F9;H9;I9;J9)"},
                              {"op": "set", "sheet": F03, "cell": "C9", "value": "=SUM(D9;E9;F9;G9;H9)"}], set()),
    # … and without copying it: the new row's empty 合计 is flagged, and so is everything that sums the
    # 合计 column (it misses the 5.00), while the sums of the input columns stayed right
    "insert_row_no_formula": (_INSERT, {("F-01", f"{F02}!C9"), ("R-F02-01", f"{F02}!C9"),
                                        ("F-01", f"{F03}!C9"), ("R-F03-01", f"{F03}!C9"),
                                        ("R-F02-02", f"{F02}!C7"), ("R-F03-02", f"{F03}!C7"),
                                        ("X-F01-08", f"{F03}!C7"), ("R-F01-05", f"{F01}!F36")}),
    # rows re-ordered (moved to the end of the block): sums are by code, nothing changes
    "reorder": ([{"op": "set", "sheet": F03, "cell": "A10", "value": "2210201"}, {"op": "set", "sheet": F03, "cell": "D10", "value": 20},
                 {"op": "set", "sheet": F03, "cell": "A9", "value": ""}, {"op": "set", "sheet": F03, "cell": "D9", "value": ""}], set()),
    # a user deletes a (spare) row inside the block: the ranges shrink, every total stays right
    "delete_row": ([{"op": "delete_rows", "sheet": F03, "row": 10}, {"op": "delete_rows", "sheet": F02, "row": 9}], set()),
    # a total typed over with a constant
    "typed_over": ([{"op": "set", "sheet": F03, "cell": "D7", "value": 999}],
                   {("F-01", f"{F03}!D7"), ("R-F03-02", f"{F03}!D7"), ("R-F03-02", f"{F03}!C7"), ("X-F01-08", f"{F03}!C7")}),
    "text_number": ([{"op": "set", "sheet": F03, "cell": "F8", "value": " 0.00 "}], {("V-01", f"{F03}!F8")}),
    "not_a_number": ([{"op": "set", "sheet": F03, "cell": "G8", "value": "abc"}], {("V-02", f"{F03}!G8")}),
    "negative": ([{"op": "set", "sheet": F07, "cell": "C8", "value": -100}],
                 {("V-03", f"{F07}!C8"), ("V-03", f"{F07}!B8"), ("W-F07-05", f"{F07}!I8")}),
    "wrong_name": ([{"op": "set", "sheet": F03, "cell": "B8", "value": "行政运营"}], {("C-02", f"{F03}!A8")}),
    "unknown_code": ([{"op": "set", "sheet": F03, "cell": "A9", "value": "2219998"}],
                     {("C-01", f"{F03}!A9"), ("X-F05-00", f"{F05}!A9"), ("X-F03-00", f"{F03}!A9")}),
    # an amount typed in a spare row without a code: counted nowhere, and flagged
    "amount_without_code": ([{"op": "set", "sheet": F03, "cell": "D10", "value": 7}], {("C-06", f"{F03}!A10")}),
    # a total typed over with a constant
}


@pytest.fixture(scope="module")
def edited(lo_edited_cases):
    return lo_edited_cases


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", list(CASES))
def test_rule_violations_give_exact_findings(case, edited):
    findings = check_report(read_workbook(edited[case]))
    assert _pairs(findings) == CASES[case][1], [f.message for f in findings]


# ---------------------------------------------------------------- rounding (interval arithmetic)

def _report(unit: str, parts: list[str], total: str) -> Report:
    rep = Report("final_accounts", "ningxia", "u", 2024, amount_unit=unit)
    td = TableData("F05")
    for i, p in enumerate(parts):
        td.rows[f"2080{i:03d}"] = RowData(f"2080{i:03d}", "", "main", {"basic": Value(Decimal(p), f"c{i}")}, kind="detail")
    td.rows["total"] = RowData("total", "合计", "main", {"basic": Value(Decimal(total), "T")}, kind="total")
    rep.tables["F05"] = td
    return rep


_SUM = [Check("R", "error", "合计", "sum", Ref("F05", "total", "basic"), (Ref("F05", "", "basic", 1, "leaf"),))]


def test_wan_table_rounded_separately_raises_no_false_error():
    tset = load_set("final_accounts")
    # 3 × 3,333.33 元 = 9,999.99 元 → parts 0.33 万元 each, total 1.00 万元
    assert evaluate(_report("万元", ["0.33", "0.33", "0.33"], "1.00"), tset, _SUM) == []
    # but a real difference in 万元 is still found
    assert len(evaluate(_report("万元", ["0.33", "0.33", "0.33"], "1.02"), tset, _SUM)) == 1


def test_wrong_cent_in_yuan_table_is_an_error():
    tset = load_set("final_accounts")
    assert evaluate(_report("元", ["3333.33", "3333.33", "3333.34"], "10000.00"), tset, _SUM) == []
    found = evaluate(_report("元", ["3333.33", "3333.33", "3333.33"], "10000.00"), tset, _SUM)
    assert [f.difference for f in found] == ["0.01"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**11), min_size=1, max_size=30))
def test_any_cent_amounts_rounded_to_wan_never_raise_false_errors(cents):
    tset = load_set("final_accounts")
    yuan = [Decimal(c) / 100 for c in cents]
    parts = [str(to_wan(y, "元")) for y in yuan]
    total = str(to_wan(sum(yuan), "元"))
    assert evaluate(_report("万元", parts, total), tset, _SUM) == []
    # and in 元 the exact amounts agree, while one cent off is always found
    exact = [str(y) for y in yuan]
    assert evaluate(_report("元", exact, str(sum(yuan))), tset, _SUM) == []
    assert len(evaluate(_report("元", exact, str(sum(yuan) + Decimal("0.01"))), tset, _SUM)) == 1


def test_parse_amount_reads_what_users_type():
    assert parse_amount("1,234.56") == (Decimal("1234.56"), "text")
    assert parse_amount("１２３") == (Decimal("123"), "text")
    assert parse_amount(" 0.00 ") == (Decimal("0.00"), "text")
    assert parse_amount("—") == (None, "text")
    assert parse_amount("abc") == (None, "nan")
    assert parse_amount(1951859.05) == (Decimal("1951859.05"), None)
    assert parse_amount(None) == (None, None)


# ---------------------------------------------------------------- CLI

def test_check_cli_exit_codes_and_json(generated, tmp_path, capsys):
    assert main(["check", str(generated["clean-unit"])]) == 0
    assert main(["check", str(generated["ningxia-sbj-2022-final"]), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out.split("\n", 0)[0] if False else capsys.readouterr().out or "{}") if False else None
    capsys.readouterr()
    main(["check", str(generated["ningxia-sbj-2022-final"]), "--json"])
    doc = json.loads(capsys.readouterr().out)
    f = doc["files"][0]["findings"][0]
    assert set(f) == {"rule", "level", "table", "cell", "message", "expected", "actual", "difference", "cause",
                      "culprits"}
    # one headline per defect: seed 000's missing row 2080502 (43,860.95) and what it breaks
    fs = doc["files"][0]["findings"]
    head = "X-F05-00@一般公共预算财政拨款支出决算表!A16"
    assert next(f for f in fs if f"{f['rule']}@{f['cell']}" == head)["cause"] is None
    assert sorted((f["rule"], f["cell"]) for f in fs if f["cause"] == head) == [
        ("F-01", "收入支出决算总表!F14"), ("R-F03-02", "支出决算表!C7"), ("X-F01-07", "收入支出决算总表!F14")]
    heads = {f"{f['rule']}@{f['cell']}" for f in fs if f["cause"] is None}
    assert all(f["cause"] is None or f["cause"] in heads for f in fs)   # every consequence names a headline
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes(b"not a zip")
    assert main(["check", str(bad)]) == 2
    assert "坏文件.xlsx" in capsys.readouterr().out


def test_check_write_adds_results_and_changes_no_value(generated, tmp_path):
    from python_calamine import CalamineWorkbook

    f = tmp_path / "s.xlsx"
    shutil.copy(generated["ningxia-sbj-2022-final"], f)
    before = CalamineWorkbook.from_path(str(f))
    grids = {n: before.get_sheet_by_name(n).to_python() for n in before.sheet_names}
    assert main(["check", "--write", str(f)]) == 1
    assert (tmp_path / "s.bak.xlsx").is_file()
    after = CalamineWorkbook.from_path(str(f))
    assert after.sheet_names[0] == "校验结果"
    for n, g in grids.items():
        if n != "_xltools":          # our hidden sheet records the marks (to undo them next time)
            assert after.get_sheet_by_name(n).to_python() == g, n
    rows = after.get_sheet_by_name("校验结果").to_python()
    assert len(rows) - 1 == len(check_report(read_workbook(generated["ningxia-sbj-2022-final"])))
    # a second run replaces the sheet and gives the same findings
    assert main(["check", "--write", str(f)]) == 1
    assert len(CalamineWorkbook.from_path(str(f)).get_sheet_by_name("校验结果").to_python()) == len(rows)
    import openpyxl
    ws = openpyxl.load_workbook(f)["支出决算表"]
    assert ws["D7"].comment is not None and ws["D7"].comment.author == "xltools"
    # the culprits in the level's colour, the other cells of the defect lighter (2089999 printed under 基本支出:
    # D16/E16 are the culprits; the totals D7/E7 and the other rows only follow from them)
    from xltools.rules.report import LIGHT_FILL, MARK_FILL
    fill = lambda c: c.fill.fgColor.rgb[-6:]            # noqa: E731
    assert fill(ws["D16"]) == fill(ws["E16"]) == MARK_FILL["error"]
    assert fill(ws["D7"]) == fill(ws["E7"]) == fill(ws["D8"]) == LIGHT_FILL["error"]
    f06 = openpyxl.load_workbook(f)["一般公共预算财政拨款基本支出决算表"]
    assert fill(f06["I56"]) == MARK_FILL["error"] and fill(f06["C56"]) == LIGHT_FILL["error"]


def test_check_folder_writes_summary(generated, tmp_path):
    from python_calamine import CalamineWorkbook

    for name in ("clean-unit", "ningxia-rst-2023-final"):
        shutil.copy(generated[name], tmp_path / f"{name}.xlsx")
    assert main(["check", str(tmp_path)]) == 1
    summary = CalamineWorkbook.from_path(str(tmp_path / "校验汇总.xlsx"))
    rows = summary.get_sheet_by_name("汇总").to_python()
    status = {Path(r[0]).name: (r[1], r[4]) for r in rows[1:]}
    assert status["clean-unit.xlsx"] == (0, "通过")
    assert status["ningxia-rst-2023-final.xlsx"][0] == 2


def test_code_under_wrong_class_and_missing_subtotal_rows():
    """Hierarchy variants (类/款/项 rows): C-03 a 项 listed under another 类; C-04 its 类/款 row missing."""
    rep = Report("final_accounts", "shanghai", "u", 2024, amount_unit="万元")
    td = TableData("F03", sheet="支出决算表")
    v = {"basic": Value(Decimal("1.00"), "支出决算表!D9"), "total": Value(Decimal("1.00"), "支出决算表!C9")}
    td.rows["208"] = RowData("208", "社会保障和就业支出", "main", {"total": Value(Decimal("0"), "支出决算表!C8")},
                             source="支出决算表!A8", kind="class")
    td.rows["2210201"] = RowData("2210201", "住房公积金", "main", v, source="支出决算表!A9", kind="detail")
    rep.tables["F03"] = td
    found = {(f.rule, f.cell) for f in check_report(rep) if f.rule in ("C-03", "C-04")}
    assert found == {("C-03", "支出决算表!A9"), ("C-04", "支出决算表!A9")}
    messages = [f.message for f in check_report(rep) if f.rule == "C-04"]
    assert any("221" in m for m in messages) and any("22102" in m for m in messages)


def test_users_own_catalog_csv_makes_a_new_code_known(generated, tmp_path, monkeypatch, capsys):
    """`xltools --catalog 我的科目.csv check …`: a code the built-in catalog lacks is no longer C-01."""
    import openpyxl

    from xltools.catalog import USER_CATALOG_ENV
    from xltools.rules.report import cached_values, restore_cached

    f = tmp_path / "u.xlsx"
    shutil.copy(generated["clean-unit"], f)
    cached = cached_values(f)
    wb = openpyxl.load_workbook(f)
    wb["支出决算表"]["A10"] = "2089901"        # a spare row; no amount, so no sums change
    wb["支出决算表"]["B10"] = "自定义科目"
    wb.save(f)
    restore_cached(f, cached)
    monkeypatch.delenv(USER_CATALOG_ENV, raising=False)
    main(["check", str(f), "--json"])
    assert "C-01" in capsys.readouterr().out
    mine = tmp_path / "我的科目.csv"
    mine.write_text("code,level,name,since,until,aliases\n2089901,项,自定义科目,,,\n", encoding="utf-8")
    assert main(["--catalog", str(mine), "check", str(f)]) == 0
    monkeypatch.delenv(USER_CATALOG_ENV, raising=False)
    bad = tmp_path / "坏科目.csv"
    bad.write_text("code,level,name,since,until,aliases\n20899x,项,坏,,,\n", encoding="utf-8")
    assert main(["--catalog", str(bad), "check", str(f)]) == 2
    assert "坏科目.csv" in capsys.readouterr().err


@pytest.mark.libreoffice
@pytest.mark.parametrize("case", list(CASES))
def test_audit_sheet_follows_the_edits(case, edited):
    """The same edits in LibreOffice (a total typed over, rows inserted, deleted, re-ordered, wrong values):
    the 审核 sheet's formulas, recalculated there, fail on exactly the identities the checker reports."""
    from conftest import audit_failures, identity_failures

    path = edited[case]
    expected = identity_failures(check_report(read_workbook(path)), path)
    if case == "insert_row_no_formula":
        # the rows inserted after the workbook was made have no 审核 row of their own (their 合计 = Σ
        # check is the checker's); the sums over their blocks, which miss the 5.00, fail on the sheet too
        inserted = {("R-F02-01", f"{F02}!C9"), ("R-F03-01", f"{F03}!C9")}
        assert inserted <= expected
        expected -= inserted
    assert audit_failures(path) == expected


def test_ordinals_of_fixed_row_labels(generated):
    """L-01: seed 000's 公开04 numbers two lines “二十一、” and two “二十三、”, then “二十六、” (kept as printed in the
    sample); one numbering, one headline. The template labels of every variant count up without a gap."""
    from xltools.rules.labels import chinese_ordinal, label_findings, ordinal_text

    assert [chinese_ordinal(t) for t in ("一", "十", "十一", "二十", "二十一", "九十九", "十十", "廿")] == \
        [1, 10, 11, 20, 21, 99, None, None]
    assert all(chinese_ordinal(ordinal_text(n)) == n for n in range(1, 100))
    fs = [f for f in check_report(read_workbook(generated["ningxia-sbj-2022-final"])) if f.rule == "L-01"]
    # (“二十六、抗疫特别国债安排的支出” on D32 is the template's own number for 234: no break of its own)
    assert [(f.cell, f.expected, f.cause) for f in fs] == [
        ("财政拨款收入支出决算总表!D28", "二十二", None),
        ("财政拨款收入支出决算总表!D31", "二十四", "L-01@财政拨款收入支出决算总表!D28")]
    assert "“二十一、灾害防治及应急管理支出”序号与上一行“二十一、国有资本经营预算支出”重复" in fs[0].message
    for name in ("clean-unit", *(k for k in generated if k.startswith("new-"))):
        assert label_findings(read_workbook(generated[name])) == [], name


def test_ordinals_that_keep_the_template_numbers_of_left_out_lines(tmp_path):
    """L-01: 江苏's 公开01 prints its 类 lines with their places in the 类 list and leaves the zero ones out
    (“六、科学技术支出” then “八、社会保障和就业支出”, as 江苏省政协办公厅 2017 and 江苏省委办公厅 2018 print it):
    no break. A line numbered neither after the one before nor as the template numbers it still is one."""
    from xltools.read.datafile import load_data
    from xltools.rules.labels import label_findings

    src = ROOT / "samples" / "jiangsu-swbgt-2019-budget"
    data = tmp_path / "unit"
    shutil.copytree(src, data)
    rows = (data / "J01.csv").read_text(encoding="utf-8").splitlines()
    printed = {"201": "一、一般公共服务支出", "206": "六、科学技术支出", "208": "八、社会保障和就业支出",
               "211": "十、节能环保支出", "221": "十八、住房保障支出"}
    keep = [r for r in rows if not re.match(r"2\d\d,", r) or r.split(",")[0] in printed]
    out = [f"{k},{printed[k]},{rest}" if (k := r.split(",")[0]) in printed else r
           for r in keep for rest in [r.split(",", 2)[2] if r.count(",") >= 2 else ""]]
    (data / "J01.csv").write_text("\n".join(out) + "\n", encoding="utf-8")
    rep = load_data(data)
    assert [rep.tables["J01"].rows[k].label for k in printed] == list(printed.values())
    assert [f for f in label_findings(rep) if f.table == "J01"] == []
    (data / "J01.csv").write_text("\n".join(out).replace("十八、住房保障支出", "十九、住房保障支出") + "\n",
                                  encoding="utf-8")
    fs = [f for f in label_findings(load_data(data)) if f.table == "J01"]
    assert [(f.expected, f.actual) for f in fs] == [("十一", "十九")]


def test_year_in_a_tables_note(generated):
    """L-02: seed 000's 公开07 note (transcribed as printed) speaks of “2021 年度预算数” in the 2022 report; seed 002's
    names 2023 in the 2023 report; the template notes name no year."""
    from xltools.read.datafile import load_data

    sbj = check_report(read_workbook(generated["ningxia-sbj-2022-final"]))
    assert [(f.rule, f.cell, f.actual) for f in sbj if f.rule == "L-02"] == [
        ("L-02", "财政拨款“三公”经费支出决算表!A9", "2021")]
    assert load_data(ROOT / "samples" / "ningxia-sbj-2022-final").tables["F07"].note.startswith("注：2021 年度预算数")
    rst = read_workbook(generated["ningxia-rst-2023-final"])
    assert "2023 年度预算数" in rst.tables["F07"].note
    assert not [f for f in check_report(rst) if f.rule == "L-02"]
    clean = read_workbook(generated["clean-unit"])
    assert clean.tables["F07"].note.startswith("注：本表反映") if "F07" in clean.tables else True
    assert not [f for f in check_report(clean) if f.rule == "L-02"]


# ---------------------------------------------------------------- caches per row-set shape

def _clear_shape_caches() -> None:
    import xltools.rules as rules
    from xltools.rules import causes, engine

    engine._CHECKS.clear()
    rules._DERIVED.clear()
    causes._SHAPES.clear()


def test_shape_caches_hold_no_value_of_a_workbook(generated):
    """What is compiled once per row-set shape (the checks, their linear forms over cells, the derived cells) keeps
    nothing of one workbook's values: three workbooks of one shape checked in turn, A B C A B, give each the
    findings it gets with every cache cleared."""
    import copy

    from xltools.rules import causes, engine

    a = read_workbook(generated["ningxia-sbj-2022-final"])
    # B: another amount in a detail row of 支出决算表 (new failures for the cause search), 公开06's typed-over
    # total put right
    b = copy.deepcopy(a)
    row = next(rd for rd in b.tables["F03"].rows.values()
               if rd.kind == "detail" and any(v.amount for v in rd.values.values()))
    col = next(c for c, v in row.values.items() if v.amount)
    row.values[col].amount += Decimal("1000.00")
    fixed = next(f for f in check_report(a) if f.rule == "X-F06-01")
    b_total = next(v for rd in b.tables["F06"].rows.values() for v in rd.values.values() if v.source == fixed.cell)
    b_total.amount = Decimal(fixed.expected)
    # C: a leaf cell that holds no value at all (as a transcription leaves it), amounts elsewhere changed
    c = copy.deepcopy(a)
    leaf = next(rd for rd in c.tables["F05"].rows.values()
                if rd.kind == "detail" and sum(1 for v in rd.values.values() if v.amount) >= 2)
    del leaf.values[next(k for k, v in leaf.values.items() if v.amount)]
    for rd in c.tables["F03"].rows.values():
        for v in rd.values.values():
            if v.amount:
                v.amount = v.amount * 2
    fresh = {}
    for name, rep in (("A", a), ("B", b), ("C", c)):
        _clear_shape_caches()
        fresh[name] = check_report(rep)
    assert fresh["A"] != fresh["B"] != fresh["C"] != fresh["A"]
    assert any(f.cause for f in fresh["B"]) and any(f.culprits for f in fresh["C"])   # the cause search ran
    _clear_shape_caches()
    for name, rep in (("A", a), ("B", b), ("C", c), ("A", a), ("B", b)):
        assert check_report(rep) == fresh[name], name
    assert len(engine._CHECKS) == 1 and len(causes._SHAPES) == 1     # one shape: compiled once, used five times
