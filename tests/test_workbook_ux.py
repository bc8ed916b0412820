"""The accountant's workbook (issue 14): 说明事项 complete and kept in step, spare rows and `rows add`,
`narrative` on a workbook with errors, a Chinese CLI that survives a GBK console."""
from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import CLEAN_UNIT, ROOT, SAMPLES, assert_recalculation_matches, lo_recalc
from xltools.cli import main

BUDGET = SAMPLES / "zhongwei-sbzx-2024-budget"
SBJ = SAMPLES / "ningxia-sbj-2022-final"
RST = SAMPLES / "ningxia-rst-2023-final"
F05 = "一般公共预算财政拨款支出决算表"


def _narrative_samples() -> list[Path]:
    import yaml

    out = []
    for p in sorted(SAMPLES.iterdir()):
        meta = p / "meta.yaml"
        if meta.is_file() and yaml.safe_load(meta.read_text(encoding="utf-8")).get("set") in ("final_accounts", "budget"):
            out.append(p)
    return out


def _variants(set_id: str) -> list[str]:
    from xltools.spec import load_set
    return list(load_set(set_id).variants)


# ---------------------------------------------------------------- 说明事项

def _typed_into_new_workbook(folder: Path, variant: str, out: Path) -> Path:
    """What a user has after `xltools new` and typing the sample's tables: the tables filled in, the
    说明事项 sheet as `new` made it (no per-科目 rows) with the sample's other items typed."""
    from xltools.build.writer import build_workbook, empty_report
    from xltools.narrative.inputs import write_notes_sheet
    from xltools.read.datafile import load_data

    rep = load_data(folder)
    rep.variant = variant
    blank = empty_report(rep.set_id, variant, rep.unit, rep.year, rep.amount_unit)
    blank.notes = dict(rep.notes or {})
    rep.notes = {}
    return build_workbook(rep, out, extra_sheets=[
        lambda wb, fm, report, tset, var: write_notes_sheet(wb, fm, blank, tset, var)]).path


@pytest.mark.parametrize("folder", _narrative_samples(), ids=lambda p: p.name)
def test_every_item_a_narrative_asks_for_has_a_notes_row_after_refresh(folder, tmp_path):
    """Render every variant's narrative with 说明事项 empty: every item it asks for (a Missing) has a row
    in 说明事项 once `notes refresh` has run, and refresh keeps every value typed before."""
    from xltools.narrative import render
    from xltools.narrative.refresh import missing_note_items
    from xltools.read.workbook import read_workbook

    lacking_before = 0
    for variant in _variants(load_set_id(folder)):
        book = _typed_into_new_workbook(folder, variant, tmp_path / f"{variant}.xlsx")
        before = read_workbook(book)
        typed = {k: v for k, v in before.notes.items() if k != "_cells"}
        lacking_before += len(missing_note_items(before))
        assert main(["notes", "refresh", str(book)]) == 0
        after = read_workbook(book)
        assert {k: v for k, v in after.notes.items() if k != "_cells"} == typed      # nothing typed is lost
        cells = after.notes["_cells"]
        emptied = copy.copy(after)
        emptied.notes = {"_cells": cells}
        narrative = render(emptied, variant)
        assert narrative.missing
        assert [key for key, _ in narrative.missing if key not in cells] == [], variant
        assert missing_note_items(after) == []
        # a second refresh has nothing to add and leaves the file alone
        stamp = book.stat().st_mtime_ns
        assert main(["notes", "refresh", str(book)]) == 0
        assert book.stat().st_mtime_ns == stamp
    if load_set_id(folder) == "final_accounts":
        assert lacking_before > 0        # what the issue saw: 年初预算数 per 类, 上年决算数 per 经济分类类 had no row


def load_set_id(folder: Path) -> str:
    import yaml
    return yaml.safe_load((folder / "meta.yaml").read_text(encoding="utf-8"))["set"]


@pytest.mark.parametrize("folder", _narrative_samples(), ids=lambda p: p.name)
def test_placeholders_print_once_and_say_their_kind(folder):
    from xltools.narrative import render
    from xltools.read.datafile import load_data

    rep = load_data(folder)
    for variant in _variants(rep.set_id):
        r = copy.copy(rep)
        r.notes = {}
        text = render(r, variant).text()
        markers = re.findall(r"【请填写(金额|数量|文字|百分比)：([^】]*)】", text)
        assert markers, variant
        labels = [label for _, label in markers if label != "见上文"]
        assert len(labels) == len(set(labels)), [x for x in labels if labels.count(x) > 1]
        # a 完成率 / share / change computed from a missing amount is not labelled as the amount
        assert not re.search(r"(完成[^，。；]{0,8}的|占[^，。；]{0,20}的)【请填写金额", text), variant
        assert "【请填写：" not in text


def test_a_completion_rate_slot_is_a_percentage():
    from xltools.narrative import render
    from xltools.read.datafile import load_data

    rep = load_data(SBJ)
    rep.notes = {}
    text = render(rep).text()
    assert "支出决算为15530.38万元，完成年初预算的【待计算百分比】" in text
    assert "社会保障和就业支出年初预算为【请填写金额：社会保障和就业支出（208）年初预算数】" in text


def test_short_name_and_zero_lines_take_effect():
    from xltools.narrative import render
    from xltools.read.datafile import load_data

    rep = load_data(SBJ)
    assert rep.notes["unit.short"] == "我局"
    text = render(rep).text()
    assert "2022年度我局机关运行经费支出" in text and "2022年度我局政府采购支出总额" in text
    rep.notes["unit.short"] = "本中心"
    assert "2022年度本中心机关运行经费支出" in render(rep).text()
    # 为零项目: the sample lists them (as published); 不列 leaves the zero lines out
    listed = render(rep).sections()["二"]
    rep.notes["narrative.zero_lines"] = "不列"
    left_out = render(rep).sections()["二"]
    body_listed = "".join(p.text for p in listed)
    body_left = "".join(p.text for p in left_out)
    zero_items = re.findall(r"；([^；。，]+?)0\.00万元，占0\.00%", body_listed)
    assert zero_items, body_listed
    for name in zero_items:
        assert name not in body_left


# ---------------------------------------------------------------- spare rows, rows add, outside a block

@pytest.mark.parametrize("set_id", ["final_accounts", "budget"])
def test_every_detail_block_has_15_spare_rows_12_of_them_grouped(set_id, tmp_path):
    from xltools.build.layout import col_letter, layout_table
    from xltools.read.workbook import formula_cells
    from xltools.spec import load_set

    for variant in _variants(set_id):
        book = tmp_path / f"{variant}.xlsx"
        assert main(["new", "--set", set_id, "--variant", variant, "--unit", "某局", "--year", "2024",
                     "-o", str(book)]) == 0
        ranges: dict = {}
        formula_cells(book, ranges)
        wb = openpyxl.load_workbook(book)
        tset = load_set(set_id)
        for t in tset.tables_for(tset.variant(variant)):
            if not t.is_detail:
                continue
            ws = wb[t.sheet_name()]
            blocks = ranges.get(t.sheet_name(), {})
            lay = layout_table(t, None, tset.variant(variant), spare=0)
            code_cols = [col_letter(pl.code_col) for pl in lay.panels if pl.panel.is_detail]
            assert code_cols and set(code_cols) <= set(blocks), (variant, t.id)
            for col, (r0, r1) in ((c, blocks[c]) for c in code_cols):
                empty = [r for r in range(r0, r1 + 1) if ws[f"{col}{r}"].value in (None, "")]
                assert len(empty) >= 15, (variant, t.id, col, r0, r1)
                hidden = [r for r in empty if ws.row_dimensions[r].hidden]
                assert all(ws.row_dimensions[r].outlineLevel == 1 for r in hidden)
                if len(code_cols) == 1:
                    assert len(hidden) == len(empty) - 3        # 3 shown, 12 folded into a group
                else:       # panels side by side: a row is folded only where every panel is spare
                    assert all(ws[f"{c}{r}"].value in (None, "") for c in code_cols for r in hidden)
                # every spare row is an input row: unlocked value cells, the 科目名称 look-up in place
                for r in empty:
                    name = ws.cell(r, ws[f"{col}{r}"].column + 1).value
                    assert isinstance(name, str) and name.startswith("=IF(") and "VLOOKUP" in name


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """The clean unit (宁夏: 项 only; 上海: 类/款 subtotal rows), 科目 added with `rows add`."""
    out = tmp_path_factory.mktemp("rows")
    books = {}
    for variant in ("ningxia", "shanghai"):
        data = out / f"data-{variant}"
        shutil.copytree(CLEAN_UNIT, data)
        meta = data / "meta.yaml"
        name = variant
        if variant == "shanghai":
            # the clean unit's tables in the 上海 manner (类/款 rows, 万元) but its own forms (F06, F07, F09):
            # a user's variant file on the built-in base
            (data / "shanghai-forms.yaml").write_text(
                "base: shanghai\ntables: [F01, F02, F03, F04, F05, F06, F07, F08, F09]\n", encoding="utf-8")
            name = "shanghai-forms.yaml"
        meta.write_text(meta.read_text(encoding="utf-8").replace("variant: ningxia", f"variant: {name}"),
                        encoding="utf-8")
        book = out / f"{variant}.xlsx"
        assert main(["generate", str(data), "-o", str(book)]) == 0
        shutil.copy(book, out / f"{variant}-before.xlsx")
        # 2080102: a 项 beside one there; 2010601: a new 类 and 款; 2080501: a new 款 of a 类 there
        assert main(["rows", "add", str(book), "--table", "公开05", "--code", "2080102", "--code", "2010601",
                     "--code", "2080501", "--count", "2"]) == 0
        books[variant] = book
    return out, books


def test_rows_add_keeps_every_value_and_adds_rows_with_names_and_formulas(added):
    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    out, books = added
    for variant, book in books.items():
        before, after = read_workbook(out / f"{variant}-before.xlsx"), read_workbook(book)
        for tid, td in before.tables.items():
            for key, row in td.rows.items():
                for col, v in row.values.items():
                    assert after.tables[tid].rows[key].values[col].amount == v.amount, (variant, tid, key, col)
        f05 = after.tables["F05"]
        for code in ("2080102", "2010601", "2080501"):
            assert code in f05.rows and f05.rows[code].label, (variant, code)      # the name looked up (cached)
        if variant == "shanghai":
            assert {"201", "20106", "20805"} <= set(f05.rows)
        else:
            assert "201" not in f05.rows
        assert [f for f in check_report(after) if f.level == "error"] == []
        assert (book.with_name(f"{variant}.bak.xlsx")).exists()
        # the 审核 sheet compiled again: every identity the checker expands on the rows now present has its
        # row there, on its cell (the new 科目 rows' included) — or a 不适用 row where the checker skips it
        # too (a comparison with a 科目 the other table does not have, tables in different units)
        import collections

        from conftest import audit_rows
        from xltools.rules.engine import all_checks
        from xltools.spec import load_set

        tset = load_set(after.set_id)
        rows = audit_rows(book)
        listed = {(r["rule"], r["cell"]) for r in rows}
        targets = set()
        for c in all_checks(tset, tset.variant(after.variant), after):
            v = after.tables[c.target.table].get(c.target.row, c.target.col)
            if v is not None and v.source:
                targets.add((c.code, v.source))
        skipped = collections.Counter(r["rule"] for r in rows if r["status"] == "不适用")
        missing = collections.Counter(rule for rule, _ in targets - listed)
        assert all(skipped[k] >= n for k, n in missing.items()), (missing, skipped)
        new_row = re.search(r"(\d+)$", f05.rows["2080102"].source).group(1)
        assert ("R-F05-01", f"{F05}!C{new_row}") in listed
        # 说明事项 kept in step: the new 类 201 has its 年初预算数 row, the items typed before are all there
        cells = after.notes["_cells"]
        assert "budget.gpb.201" in cells and "reason.gpb.201.budget" in cells and "budget.gpb.208" in cells
        assert {k: v for k, v in after.notes.items() if k != "_cells"} == \
            {k: v for k, v in before.notes.items() if k != "_cells"}
        wb = openpyxl.load_workbook(book)
        ws = wb[F05]
        assert ws.protection.sheet
        row = int(re.search(r"(\d+)$", f05.rows["2080102"].source).group(1))
        assert ws.cell(row, 4).protection.locked is False and not ws.row_dimensions[row].hidden
        assert ws.cell(row, 3).value == f"=SUM(D{row},E{row})"


def test_rows_add_recalculates_in_libreoffice_and_counts_a_new_row(added, tmp_path):
    from xltools.read.workbook import read_workbook

    out, books = added
    # and a blank 部门预算 workbook (类/款/项) with 科目 added under new 类
    budget = tmp_path / "budget.xlsx"
    assert main(["new", "--set", "预算", "--variant", "宁夏", "--unit", "某中心", "--year", "2025", "-o", str(budget)]) == 0
    assert main(["rows", "add", str(budget), "--table", "表二", "--code", "2080501", "--code", "2101101"]) == 0
    # and a blank 决算 workbook: spare rows added to 公开06 (three panels side by side, 类 rows of 经济分类)
    blank = tmp_path / "blank.xlsx"
    assert main(["new", "--set", "决算", "--variant", "宁夏", "-o", str(blank)]) == 0
    assert main(["rows", "add", str(blank), "--table", "公开06", "--count", "2"]) == 0
    assert main(["rows", "add", str(blank), "--table", "公开06", "--code", "30299"]) == 2     # listed already
    files = list(books.values())
    assert assert_recalculation_matches([*files, budget, blank], tmp_path / "recalc") > 1000
    # type amounts into the new rows in LibreOffice, recalculate: the totals take them in
    ops = {}
    rows = {}
    for variant, book in books.items():
        f05 = read_workbook(book).tables["F05"]
        rows[variant] = {c: int(re.search(r"(\d+)$", f05.rows[c].source).group(1)) for c in ("2080102", "2010601")}
        ops[str(book)] = [{"op": "set", "sheet": F05, "cell": f"D{rows[variant]['2080102']}", "value": 7},
                          {"op": "set", "sheet": F05, "cell": f"E{rows[variant]['2010601']}", "value": 30}]
    outs = lo_recalc(files, tmp_path / "typed", ops=ops)
    for variant, recalced in zip(books, outs):
        before = read_workbook(out / f"{variant}-before.xlsx").tables["F05"]
        after = read_workbook(recalced).tables["F05"]
        assert after.amount("total", "basic") == before.amount("total", "basic") + 7
        assert after.amount("total", "project") == before.amount("total", "project") + 30
        assert after.amount("total", "total") == before.amount("total", "total") + 37
        assert after.amount("2080102", "total") == 7 and after.amount("2010601", "total") == 30
        if variant == "shanghai":
            assert after.amount("208", "basic") == before.amount("208", "basic") + 7
            assert after.amount("20801", "basic") == before.amount("20801", "basic") + 7
            assert after.amount("201", "project") == 30 and after.amount("20106", "total") == 30
            assert after.amount("20805", "total") == 0


@pytest.mark.parametrize("name", ["clean-unit", "ningxia-rst-2023-final", "zhongwei-sbzx-2024-budget"])
def test_audit_compiled_again_over_an_unchanged_workbook_is_the_builders(name, tmp_path):
    """The 审核 sheet compiled again over the layout read from the sheets (what `rows add` does) is the
    one the builder wrote: the same identity rows, formula for formula, and the same cached values."""
    from xltools import rewrite
    from xltools.build.audit import AUDIT_SHEET
    from xltools.build.reaudit import refresh_audit
    from xltools.build.writer import build_workbook
    from xltools.cli import _extra_sheets
    from xltools.read.datafile import load_data
    from xltools.read.workbook import read_workbook

    book = build_workbook(load_data(CLEAN_UNIT if name == "clean-unit" else SAMPLES / name), tmp_path / "b.xlsx",
                          extra_sheets=_extra_sheets()).path

    def rows(ws, cached):
        out = {}
        for row in ws.iter_rows(min_row=5):
            vals = [c.value for c in row]
            if not isinstance(vals[0], (int, float)):
                continue
            r = row[0].row
            # the sheet's own cells (=F12-H12) named without their row: the order of rows may differ
            own = tuple(re.sub(rf"(?<![$A-Z'!])([A-Z]){r}\b", r"\1#", str(v)) for v in vals[5:13])
            # an empty formula result: XlsxWriter writes <v></v>, openpyxl t="str"; both read ""
            cv = tuple((None, "") if x == ("str", "") else x for x in (cached.get((r, c)) for c in range(6, 14)))
            out[(vals[1], vals[4], vals[3])] = (own, cv)
        return out

    def looks(ws):
        """What the sheet looks like and prints like."""
        return (ws.freeze_panes, ws.auto_filter.ref, ws.print_title_rows, str(ws.print_area),
                ws.page_setup.orientation, ws.page_setup.paperSize, ws.sheet_properties.pageSetUpPr.fitToPage,
                ws.page_setup.fitToHeight, ws.oddFooter.center.text, ws.protection.sheet, ws.protection.autoFilter,
                sorted(str(r) for r in ws.merged_cells.ranges),
                [(str(c.sqref), [r.formula for r in c.rules]) for c in ws.conditional_formatting],
                {k: (d.min, d.max, d.hidden, d.width) for k, d in ws.column_dimensions.items()},
                {k: d.ht for k, d in ws.row_dimensions.items() if d.ht})

    wb = rewrite.load(book)
    cached = rewrite.raw_formula_values(book)
    index = wb.sheetnames.index(AUDIT_SHEET)
    before, shown = rows(wb[AUDIT_SHEET], cached[AUDIT_SHEET]), looks(wb[AUDIT_SHEET])
    n = refresh_audit(wb, read_workbook(book), cached)
    after = rows(wb[AUDIT_SHEET], cached[AUDIT_SHEET])
    assert n == len(before) == len(after) > 400
    assert after == before
    assert looks(wb[AUDIT_SHEET]) == shown and wb.sheetnames.index(AUDIT_SHEET) == index


@pytest.mark.libreoffice
def test_a_row_added_gets_its_audit_rows_which_follow_the_checker(tmp_path):
    """`rows add` compiles the 审核 sheet again: the new 科目 row has its own identity rows; a wrong amount
    typed into it (in LibreOffice) shows 未通过 exactly where `xltools check` reports, and once fixed the
    workbook shows 审核通过 again."""
    from python_calamine import CalamineWorkbook

    from conftest import audit_failures, audit_rows, identity_failures
    from xltools.build.cover import COVER_SHEET
    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    data = tmp_path / "data"
    shutil.copytree(CLEAN_UNIT, data)
    book = tmp_path / "book.xlsx"
    assert main(["generate", str(data), "-o", str(book)]) == 0
    before = len(audit_rows(book))
    assert main(["rows", "add", str(book), "--table", "公开05", "--code", "2080102"]) == 0
    src = read_workbook(book).tables["F05"].rows["2080102"].source
    row = int(re.search(r"(\d+)$", src).group(1))
    rows = audit_rows(book)
    assert len(rows) > before
    mine = {r["rule"] for r in rows if r["cell"] == f"{F05}!C{row}"}
    assert "R-F05-01" in mine, mine                # 合计 = 基本支出 + 项目支出 of the new row
    assert all(r["status"] == "通过" for r in rows if r["status"] != "不适用")

    def cover(path):
        grid = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(COVER_SHEET).to_python()
        return {r[0]: r[1] for r in grid if len(r) > 1 and r[0]}["审核结果"]

    assert cover(book) == "审核通过"
    # a wrong amount: the new row's 合计 typed as 100 (its 基本支出 and 项目支出 are empty)
    [wrong] = lo_recalc([book], tmp_path / "wrong", ops={str(book): [
        {"op": "set", "sheet": F05, "cell": f"C{row}", "value": 100}]})
    findings = check_report(read_workbook(wrong))
    expected = identity_failures(findings, wrong)
    assert ("R-F05-01", f"{F05}!C{row}") in expected
    assert audit_failures(wrong) == expected
    errors = {(f.rule, re.match(r"(.+?![A-Z]+\d+)", f.cell).group(1)) for f in findings if f.level == "error"}
    assert cover(wrong) == f"{len(errors & expected)} 项未通过"
    # fixed: the formula back in LibreOffice
    [fixed] = lo_recalc([wrong], tmp_path / "fixed", ops={str(wrong): [
        {"op": "set", "sheet": F05, "cell": f"C{row}", "value": f"=SUM(D{row};E{row})"}]})   # the API takes ";"
    assert audit_failures(fixed) == set() == identity_failures(check_report(read_workbook(fixed)), fixed)
    assert cover(fixed) == "审核通过"


@pytest.mark.libreoffice
def test_rows_add_after_a_row_inserted_in_libreoffice_audits_both(tmp_path):
    """A 科目 row inserted by hand in LibreOffice (summed by the block formulas, no 审核 row of its own), then
    `rows add` of another: the 审核 sheet compiled again over the sheets as they stand has the rows of both,
    and recalculated in LibreOffice it fails exactly where `xltools check` reports."""
    from conftest import audit_failures, audit_rows, identity_failures
    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    data = tmp_path / "data"
    shutil.copytree(CLEAN_UNIT, data)
    book = tmp_path / "book.xlsx"
    assert main(["generate", str(data), "-o", str(book)]) == 0
    # LibreOffice: a row inserted at the top of 公开05's block, 2080199 typed with a 基本支出 of 5 (the other
    # tables not changed: their totals now disagree with 公开05's)
    [by_hand] = lo_recalc([book], tmp_path / "hand", ops={str(book): [
        {"op": "insert_rows", "sheet": F05, "row": 7},
        {"op": "set", "sheet": F05, "cell": "A8", "value": "2080199"},
        {"op": "set", "sheet": F05, "cell": "D8", "value": 5}]})
    assert not [r for r in audit_rows(by_hand) if r["cell"] == f"{F05}!C8"]
    assert main(["rows", "add", str(by_hand), "--table", "公开05", "--code", "2080102"]) == 0
    rep = read_workbook(by_hand)
    mine = {code: int(re.search(r"(\d+)$", rep.tables["F05"].rows[code].source).group(1))
            for code in ("2080199", "2080102")}
    listed = {(r["rule"], r["cell"]) for r in audit_rows(by_hand)}
    for code, row in mine.items():
        assert ("R-F05-01", f"{F05}!C{row}") in listed, code
    [out] = lo_recalc([by_hand], tmp_path / "out")
    expected = identity_failures(check_report(read_workbook(out)), out)
    assert expected and audit_failures(out) == expected
    assert audit_failures(by_hand) == expected       # the cached statuses rows add wrote are LibreOffice's


def test_rows_add_refuses_with_a_chinese_message(added, capsys):
    out, books = added
    book = books["ningxia"]
    assert main(["rows", "add", str(book), "--table", "公开05", "--code", "2080102"]) == 2
    assert "已有科目 2080102" in capsys.readouterr().err
    assert main(["rows", "add", str(book), "--table", "公开99", "--code", "2080103"]) == 2
    assert "没有表“公开99”" in capsys.readouterr().err
    assert main(["rows", "add", str(book), "--table", "公开01", "--code", "2080103"]) == 2
    assert "固定行次" in capsys.readouterr().err
    assert main(["rows", "add", str(book), "--table", "公开05", "--code", "20801031"]) == 2
    assert "位数不对" in capsys.readouterr().err


def test_a_value_typed_below_a_block_is_reported_with_its_row_and_block(generated, tmp_path):
    from xltools.read.workbook import read_workbook
    from xltools.rules import check_report

    book = tmp_path / "below.xlsx"
    shutil.copy(generated["clean-unit"], book)
    wb = openpyxl.load_workbook(book, read_only=True)
    last = wb[F05].max_row
    wb.close()
    ops = {str(book): [{"op": "set", "sheet": F05, "cell": f"A{last + 2}", "value": "2080102"},
                       {"op": "set", "sheet": F05, "cell": f"D{last + 2}", "value": 12}]}
    recalced = lo_recalc([book], tmp_path / "out", ops=ops)[0]
    found = [f for f in check_report(read_workbook(recalced)) if f.rule == "C-07"]
    assert len(found) == 1
    f = found[0]
    assert f.cell == f"{F05}!A{last + 2}"
    assert f"第 {last + 2} 行" in f.message and "明细块（第 8–" in f.message and "公开05表" in f.message
    # the clean workbook has none
    assert not [f for f in check_report(read_workbook(generated["clean-unit"])) if f.rule == "C-07"]


# ---------------------------------------------------------------- narrative on a workbook with errors

def test_narrative_on_a_workbook_with_errors_warns_and_writes_docx_only_with_force(tmp_path, capsys):
    book = tmp_path / "b.xlsx"
    shutil.copy(BUDGET / f"{BUDGET.name}.xlsx", book)
    docx = tmp_path / "b-情况说明.docx"
    assert main(["narrative", str(book)]) == 1
    err = capsys.readouterr().err
    assert "13 个校验错误" in err and "--force" in err
    assert not docx.exists()
    ws = openpyxl.load_workbook(book)["情况说明"]
    assert ws["A1"].value.startswith("注意：本工作簿有 13 个校验错误")
    assert ws["A1"].font.color.rgb.endswith("C00000") and ws["A1"].font.b
    assert "中卫市社会保险事业管理中心" in ws["A2"].value
    assert ws.print_area and not str(ws.print_area).endswith("$A$1")     # the warning is not printed
    # forced: the .docx is written, its first paragraph is the same warning in bold red; exit 1 (errors found)
    assert main(["narrative", str(book), "--force"]) == 1
    assert docx.exists()
    import docx as python_docx
    first = python_docx.Document(str(docx)).paragraphs[0]
    assert first.text == ws["A1"].value
    assert all(r.bold and str(r.font.color.rgb).endswith("C00000") for r in first.runs)
    assert "中卫市社会保险事业管理中心" in python_docx.Document(str(docx)).paragraphs[1].text
    assert "首段有红色警告" in capsys.readouterr().out
    # check-narrative of the .docx reads the text, not the warning
    text = read_narrative_docx(docx)
    assert not text.startswith("注意") and text.split("\n")[0] == ws["A2"].value
    # check-narrative reads the sheet's text, not the warning line above it
    from xltools.narrative.check import read_narrative
    assert not read_narrative(book, sheet="情况说明").startswith("注意")


def read_narrative_docx(path):
    from xltools.narrative.check import read_narrative
    return read_narrative(path)


def test_narrative_on_a_clean_workbook_writes_the_docx_without_force(generated, tmp_path):
    book = tmp_path / "clean.xlsx"
    shutil.copy(generated["clean-unit"], book)
    assert main(["narrative", str(book)]) == 0
    assert (tmp_path / "clean-情况说明.docx").exists()
    assert openpyxl.load_workbook(book)["情况说明"]["A1"].value.startswith("测试局")


# ---------------------------------------------------------------- the CLI in Chinese

def _exit_code(argv) -> int:
    """main's exit code, whether argparse's SystemExit is caught by main or not."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


def test_help_usage_and_argparse_errors_are_chinese(capsys):
    assert _exit_code(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：xltools") and "选项：" in out and "显示本帮助并退出" in out
    for english in ("usage:", "options:", "positional arguments", "show this help"):
        assert english not in out
    for argv, expected in ((["nosuch"], "无效的选项 'nosuch'"), (["check"], "缺少必需的参数：工作簿或文件夹"),
                           (["check", "x.xlsx", "--level", "all"], "参数 --level：无效的选项"),
                           (["new", "--year", "24"], "年度 24 不在 2000–2100 之间"),
                           (["new", "--year", "二〇二四"], "不是数字"),
                           (["check", "x.xlsx", "--nosuch"], "无法识别的参数：--nosuch")):
        assert _exit_code(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("用法：") and expected in err and "error:" not in err, (argv, err)


def test_sets_and_variants_by_chinese_name(tmp_path, capsys):
    from xltools.read.workbook import read_workbook
    from xltools.spec import load_set

    made = 0
    for set_id in ("final_accounts", "budget", "performance"):
        tset = load_set(set_id)
        for v in tset.variants.values():
            book = tmp_path / f"{set_id}-{v.id}.xlsx"
            assert main(["new", "--set", tset.kind_label, "--variant", v.short_label, "--unit", "某局",
                         "--year", "2024", "-o", str(book)]) == 0
            if set_id != "performance":
                rep = read_workbook(book)
                assert (rep.set_id, rep.variant, rep.year) == (set_id, v.id, 2024)
            made += 1
    assert made >= 7
    book = tmp_path / "central.xlsx"
    assert main(["new", "--set", "决算", "--variant", "中央", "-o", str(book)]) == 0
    assert read_workbook(book).variant == "central"
    capsys.readouterr()
    assert main(["new", "--set", "决算"]) == 0
    assert "宁夏" in capsys.readouterr().out


def test_unknown_names_list_the_valid_ones_without_internal_paths(capsys):
    assert main(["new", "--set", "nosuch", "-o", "x.xlsx"]) == 2
    err = capsys.readouterr().err
    assert "决算（final_accounts）" in err or "final_accounts（决算）" in err
    assert "tables.yaml" not in err and str(ROOT) not in err and "templates" not in err
    assert main(["new", "--set", "决算", "--variant", "火星", "-o", "x.xlsx"]) == 2
    err = capsys.readouterr().err
    assert "ningxia（宁夏）" in err and "shanghai（上海）" in err


def test_check_narrative_says_the_file_is_missing(tmp_path, capsys):
    assert main(["check-narrative", str(tmp_path / "nosuch.docx")]) == 2
    err = capsys.readouterr().err
    assert "找不到文件" in err and "nosuch.docx" in err and "--against" not in err


def test_gbk_console_check_with_minus_signs_exits_1_without_traceback(tmp_path):
    # a clean unit with 年末结转和结余 off by 5: R-F04-08's explanation subtracts (“ − 本年支出”, U+2212)
    data = tmp_path / "unit"
    shutil.copytree(CLEAN_UNIT, data)
    f04 = data / "F04.csv"
    f04.write_text(f04.read_text(encoding="utf-8").replace("closing,年末财政拨款结转和结余,,,0.00,,",
                                                           "closing,年末财政拨款结转和结余,,,5.00,,"), encoding="utf-8")
    book = tmp_path / "unit.xlsx"
    assert main(["generate", str(data), "-o", str(book)]) == 0
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(book)], capture_output=True, env=env,
                       cwd=tmp_path, timeout=300)
    out, err = r.stdout.decode("gbk"), r.stderr.decode("gbk")
    assert r.returncode == 1, err
    assert "Traceback" not in err and "UnicodeEncodeError" not in err
    assert "R-F04-08" in out and "本年收入 - 本年支出" in out        # "−" shown as "-" on a GBK console
    # the same redirected into a file (`xltools check x.xlsx > 结果.txt` on Chinese Windows)
    with open(tmp_path / "结果.txt", "wb") as fh:
        r = subprocess.run([sys.executable, "-m", "xltools.cli", "check", str(book), "--json"], stdout=fh,
                           stderr=subprocess.PIPE, env=env, cwd=tmp_path, timeout=300)
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    assert "R-F04-08" in (tmp_path / "结果.txt").read_bytes().decode("gbk")


def test_a_crash_is_exit_2_not_1(monkeypatch, capsys, generated):
    import xltools.cli as cli

    def boom(args):
        raise RuntimeError("模拟的程序缺陷")

    monkeypatch.setattr(cli, "cmd_check", boom)
    assert main(["check", str(generated["clean-unit"])]) == 2
    err = capsys.readouterr().err
    assert "内部错误" in err and "模拟的程序缺陷" in err and "Traceback" not in err


def test_narrative_adds_the_missing_notes_rows_keeping_what_was_typed(tmp_path, capsys):
    from xltools.narrative.refresh import missing_note_items
    from xltools.read.workbook import read_workbook

    book = _typed_into_new_workbook(RST, "ningxia", tmp_path / "rst.xlsx")
    before = read_workbook(book)
    lacking = missing_note_items(before)
    assert len(lacking) > 5
    main(["narrative", str(book), "--no-docx", "--force"])
    assert f"补上 {len(lacking)} 行" in capsys.readouterr().out
    after = read_workbook(book)
    assert missing_note_items(after) == []
    assert {k: v for k, v in after.notes.items() if k != "_cells"} == \
        {k: v for k, v in before.notes.items() if k != "_cells"}
    assert openpyxl.load_workbook(book)["情况说明"]["A2"].value.startswith("宁夏回族自治区人力资源和社会保障厅")


def test_zero_lines_default_follows_the_variant(tmp_path):
    from xltools.narrative import render
    from xltools.read.datafile import load_data
    from xltools.read.workbook import read_workbook

    rep = load_data(SBJ)
    del rep.notes["narrative.zero_lines"]      # not typed: the variant's default (宁夏 lists them, 上海 does not)
    assert "0.00万元" in "".join(p.text for p in render(rep, "ningxia").sections()["二"])
    assert "0.00万元" not in "".join(p.text for p in render(rep, "shanghai").sections()["二"])
    for variant, default in (("ningxia", "列出"), ("shanghai", "不列")):
        book = tmp_path / f"{variant}.xlsx"
        assert main(["new", "--set", "决算", "--variant", variant, "-o", str(book)]) == 0
        assert read_workbook(book).notes["narrative.zero_lines"] == default
