"""Variants as composable configuration (issue 11): built-in 决算 forms, a user's own variant file,
tables not published, per-table settings, and the catalog that never blocks."""
from __future__ import annotations

import csv
import importlib.util
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, SAMPLES, assert_recalculation_matches, lo_recalc
from xltools.build.writer import build_workbook, empty_report
from xltools.cli import main
from xltools.model import Report, RowData, TableData, Value
from xltools.read.datafile import DataError, load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.spec import SpecError, load_set

SH = SAMPLES / "shanghai-putuo-finance-2024-final"
FINAL_VARIANTS = list(load_set("final_accounts").variants)


def _errors(findings):
    return [f for f in findings if f.level == "error"]


# ---------------------------------------------------------------- built-in variants

def test_builtin_final_variants_compose_the_forms_they_claim():
    tset = load_set("final_accounts")
    v = tset.variants
    assert v["shanghai"].order == ("F01", "F02", "F03", "F04", "F05", "F06S", "F07S", "F08", "F09X")
    assert v["shanghai"].omitted("F02") == ("edu_fee",) and v["shanghai"].total_position_of("F05") == "bottom"
    assert "F10" in v["shanxi"].order and "F06X" in v["shanxi"].order and v["shanxi"].amount_unit == "万元"
    assert "F10" not in v["ningxia"].order and "F06" in v["ningxia"].order
    assert "F06X" in v["central"].order and v["central"].order[-1] == "F07"
    # cross-table rules run only between tables present: no identity of 上海 names F06/F06X/F09/F10
    for vid, var in v.items():
        for ident in tset.identities_for(var):
            assert ident.tables() <= set(var.order), (vid, ident.code)
    assert not any("F10" in i.tables() for i in tset.identities_for(v["shanghai"]))


def test_new_variant_lists_each_builtin_with_how_it_differs(capsys):
    assert main(["new", "--variant"]) == 0
    out = capsys.readouterr().out
    for vid in FINAL_VARIANTS:
        line = next(x for x in out.splitlines() if f" {vid} " in x)
        assert "表：" in line and len(line) > 40, line
    assert "公开06为两栏式" in out and "附公开10" in out


def test_each_builtin_variant_recalculates_in_libreoffice(generated, tmp_path):
    files = [generated[f"new-{v}"] for v in FINAL_VARIANTS] + [generated[SH.name]]
    assert assert_recalculation_matches(files, tmp_path / "lo") > 1000


def _render_module():
    spec = importlib.util.spec_from_file_location("render_variant_pages", ROOT / "scripts" / "render_variant_pages.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_each_new_table_form_renders_as_printed(generated, tmp_path):
    """LibreOffice prints one page per new form; what the page shows is the form (as docs/variant-*.png)."""
    render = _render_module()
    tset = load_set("final_accounts")
    pdfs = lo_recalc([generated[SH.name], generated["new-shanxi"]], tmp_path / "pdf", pdf=True)
    pages = {}
    for pdf, (variant, source) in zip(pdfs, [("shanghai", "sample"), ("shanxi", "blank")]):
        titles = {tid: tset.tables[tid].title for v, tid, s in render.FORMS if (v, s) == (variant, source)}
        found = render.render_pages(pdf, titles, tmp_path, f"variant-{variant}")
        assert set(found) == set(titles), (variant, set(titles) - set(found))
        pages.update(found)
    for tid, (png, text) in pages.items():
        assert png.stat().st_size > 5_000, tid
    flat = {tid: text.replace(" ", "") for tid, (_, text) in pages.items()}
    assert "教育收费" not in flat["F02"] and "附属单位上缴收入" in flat["F02"]
    lines = [x for x in flat["F05"].splitlines() if x]
    assert lines.index(next(x for x in lines if x.startswith("合计"))) > lines.index(
        next(x for x in lines if x.startswith("2210203")))            # 合计 below the last 项
    assert "人员经费" in flat["F06S"] and "公用经费" in flat["F06S"] and "其中：基本支出" not in flat["F06S"]
    assert "预算数决算数预算数决算数" in flat["F07S"]
    assert "年初结转和结余" in flat["F09X"] and "年末结转和结余" in flat["F09X"]
    assert "其中：基本支出" in flat["F06X"] and "309" in flat["F06X"]
    assert "机关运行经费" in flat["F10"]


@pytest.mark.parametrize("set_id", ["final_accounts", "budget"])
def test_a_blank_workbook_of_every_variant_checks_with_zero_errors(set_id, tmp_path):
    for vid in load_set(set_id).variants:
        out = build_workbook(empty_report(set_id, vid, "某某局", 2024), tmp_path / f"{vid}.xlsx").path
        assert _errors(check_report(read_workbook(out))) == [], vid


# ---------------------------------------------------------------- not published / 本表无数据

def test_a_table_declared_not_published_is_exactly_one_error(tmp_path):
    rep = empty_report("final_accounts", "ningxia", "某某局", 2024)
    rep.not_published = ("F02",)
    out = build_workbook(rep, tmp_path / "no-f02.xlsx").path
    back = read_workbook(out)
    assert back.not_published == ("F02",)
    errors = _errors(check_report(back))
    assert [f.rule for f in errors] == ["M-F02"]
    # it names the identities it skipped instead of failing them one by one
    for code in ("R-F02-01", "X-F01-04", "X-F01-05", "X-F01-06", "X-F03-00"):
        assert code in errors[0].message


def test_a_published_sample_with_its_f02_not_published(tmp_path):
    """The 上海 sample's only errors are X1 (208 printed 326.71 in 公开01/04, 326.72 in 公开03/05); declaring 公开02
    unpublished adds exactly one, and no cascade."""
    data = tmp_path / "sh"
    shutil.copytree(SH, data, ignore=shutil.ignore_patterns("*.xlsx"))
    (data / "F02.csv").unlink()
    meta = yaml.safe_load((data / "meta.yaml").read_text(encoding="utf-8"))
    meta["not_published"] = ["F02"]
    (data / "meta.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    x1 = ["X-F01-09", "X-F04-11"]
    assert [f.rule for f in _errors(check_report(load_data(SH)))] == x1
    assert sorted(f.rule for f in _errors(check_report(load_data(data)))) == sorted(["M-F02", *x1])
    # a table declared unpublished cannot also carry data
    shutil.copy(SH / "F02.csv", data / "F02.csv")
    with pytest.raises(DataError, match="未公开"):
        load_data(data)


def test_no_data_tables_are_one_note_each_and_checked_as_empty():
    found = check_report(load_data(SH))
    notes = [f for f in found if f.rule.startswith("M-")]
    assert sorted((f.rule, f.level) for f in notes) == [("M-F08", "info"), ("M-F09X", "info")]


def test_run_cost_comes_from_the_notes_where_the_form_has_no_table_10():
    from xltools.narrative import collect_facts

    facts = collect_facts(load_data(SH))
    assert facts["run_cost"].source == "说明事项:run_cost"
    assert facts["run_cost"].value == Decimal("1846500")       # 184.65 万元, in 元
    # a 公开10 nobody filled is never read as 0.00
    rep = empty_report("final_accounts", "shanxi", "某某局", 2024)
    rep.notes = {"run_cost": "12.34"}
    assert collect_facts(rep)["run_cost"].source == "说明事项:run_cost"


# ---------------------------------------------------------------- rules follow the form

def _f06x(rows: dict[str, str], public_total: str) -> Report:
    rep = Report("final_accounts", "shanxi", "u", 2022, amount_unit="万元")
    td = TableData("F06X", sheet="明细表")
    panel = {"301": "personnel", "302": "public", "307": "public"}
    for code, amt in rows.items():
        v = {c: Value(Decimal(amt), f"明细表!{code}{c}") for c in ("total", "basic")}
        td.rows[code] = RowData(code, "", panel.get(code[:3], "capital"), v, source=f"明细表!A{code}",
                                kind="class" if len(code) == 3 else "detail")
    td.rows["public_total"] = RowData("public_total", "公用经费合计", "public",
                                      {c: Value(Decimal(public_total), f"明细表!P{c}") for c in ("total", "basic")},
                                      kind="footer")
    rep.tables["F06X"] = td
    return rep


def test_public_funds_add_every_class_the_detail_form_prints():
    """R-F06X-02 used to add 302+307+310+399 only: a 明细表 printing 309/311/312/313 got a false error."""
    rows = {"302": "500.00", "30201": "500.00", "309": "300.00", "30902": "300.00", "311": "100.00",
            "31101": "100.00", "312": "50.00", "31201": "50.00", "313": "37.50", "31301": "37.50",
            "310": "200.00", "31002": "200.00"}
    ok = [f for f in check_report(_f06x(rows, "1187.50")) if f.rule == "R-F06X-02"]
    assert ok == []
    bad = [f for f in check_report(_f06x(rows, "700.00")) if f.rule == "R-F06X-02"]
    assert len(bad) == 2 and "1,187.50" in bad[0].message


# ---------------------------------------------------------------- a user's own variant file

def _user_variant(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "我的版式.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_user_variant_file_composes_declared_forms(tmp_path, capsys):
    p = _user_variant(tmp_path, "base: ningxia\nlabel: 我的版式\nreplace: {F06: F06X}\nadd: [F10]\n"
                                "tables_unit_note: x\n")
    assert main(["new", "--variant", str(p), "-o", str(tmp_path / "a.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "我的版式.yaml" in err and "tables_unit_note" in err
    p = _user_variant(tmp_path, "base: ningxia\nlabel: 我的版式\nreplace: {F06: F06X}\nadd: [{table: F10}]\n"
                                "hierarchy: true\n")
    assert main(["new", "--variant", str(p), "-o", str(tmp_path / "a.xlsx")]) == 0
    back = read_workbook(tmp_path / "a.xlsx")
    assert back.variant == "我的版式" and list(back.tables) == \
        ["F01", "F02", "F03", "F04", "F05", "F06X", "F07", "F08", "F09", "F10"]
    # the workbook carries the composition: it reads back in a process that never saw the file
    from xltools import spec
    spec._USER_VARIANTS.clear()
    assert list(read_workbook(tmp_path / "a.xlsx").tables)[-1] == "F10"
    assert _errors(check_report(read_workbook(tmp_path / "a.xlsx"))) == []


@pytest.mark.parametrize("text, key", [
    ("tables: [F01, F99]\n", "F99"),
    ("tables: [F01, F06, F06X]\n", "公开06表"),
    ("tables: [{table: F03, omit: [basic]}]\n", "omit"),
    ("tables: [{table: F02, path: /etc/passwd}]\n", "path"),
    ("template: x.j2\n", "template"),
    ("base: ningxia\namount_unit: 千元\n", "amount_unit"),
    ("base: nowhere\n", "base"),
    ("replace: {F06: F06X}\n", "replace"),
    ("base: ningxia\nreplace: {F06: F09X}\n", "replace.F06"),
])
def test_a_bad_user_variant_file_is_a_chinese_message_naming_file_and_key(tmp_path, text, key):
    p = _user_variant(tmp_path, text)
    with pytest.raises(SpecError) as exc:
        load_set("final_accounts").variant(str(p))
    assert "我的版式.yaml" in str(exc.value) and key in str(exc.value)


def test_a_variant_file_beside_the_data_and_a_table_in_its_own_unit(tmp_path):
    data = tmp_path / "unit"
    shutil.copytree(SAMPLES / "ningxia-sbj-2022-final", data, ignore=shutil.ignore_patterns("*.xlsx"))
    (data / "variant.yaml").write_text(
        "base: ningxia\nlabel: 宁夏（三公表以万元列示）\ntables: [F01, F02, F03, F04, F05, F06, "
        "{table: F07, amount_unit: 万元}, F08, F09]\n", encoding="utf-8")
    meta = yaml.safe_load((data / "meta.yaml").read_text(encoding="utf-8"))
    del meta["variant"]
    (data / "meta.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True), encoding="utf-8")
    rep = load_data(data)
    assert rep.variant == "variant" and rep.unit_of("F07") == "万元" and rep.unit_of("F03") == "元"
    out = build_workbook(rep, tmp_path / "u.xlsx").path
    from python_calamine import CalamineWorkbook
    wb = CalamineWorkbook.from_path(str(out))
    assert any("金额单位：万元" in str(x) for x in wb.get_sheet_by_name("财政拨款“三公”经费支出决算表").to_python()[2])
    assert any("金额单位：元" in str(x) for x in wb.get_sheet_by_name("支出决算表").to_python()[2])
    assert read_workbook(out).unit_of("F07") == "万元"


# ---------------------------------------------------------------- the catalog never blocks

def _sample_codes() -> dict[str, set[tuple[str, str]]]:
    """Every 功能分类 / 经济分类 code printed in the detail tables of every sample."""
    out = {"functional": set(), "economic": set()}
    for folder in sorted(SAMPLES.iterdir()):
        meta = folder / "meta.yaml"
        if not meta.is_file():
            continue
        tset = load_set(yaml.safe_load(meta.read_text(encoding="utf-8"))["set"])
        for f in folder.glob("*.csv"):
            table = tset.tables.get(f.stem)
            if table is None or not table.is_detail:
                continue
            with f.open(encoding="utf-8-sig") as fh:
                for row in csv.DictReader(fh):
                    if row["key"].isdigit():
                        out[table.detail_kind].add((row["key"], f"{folder.name}/{f.name}"))
    return out


def test_every_code_printed_in_any_sample_is_in_the_catalog():
    from xltools import catalog

    codes = _sample_codes()
    assert len(codes["functional"]) > 40 and len(codes["economic"]) > 100
    for kind, cat in (("functional", catalog.functional()), ("economic", catalog.economic())):
        missing = sorted((c, where) for c, where in codes[kind] if cat.get(c) is None)
        assert missing == [], (kind, missing[:10])


def test_an_unknown_code_is_kept_with_its_printed_name_and_warned_once(tmp_path):
    data = tmp_path / "unit"
    shutil.copytree(SH, data, ignore=shutil.ignore_patterns("*.xlsx"))
    for name, extra in (("F03.csv", "2990101,某地方特有项目,1.00,,1.00,,,\n"),
                        ("F05.csv", "2990101,某地方特有项目,1.00,,1.00\n")):
        text = (data / name).read_text(encoding="utf-8")
        (data / name).write_text(text + extra, encoding="utf-8")
    rep = load_data(data)                      # no longer refused
    assert rep.tables["F03"].rows["2990101"].label == "某地方特有项目"
    out = build_workbook(rep, tmp_path / "u.xlsx").path
    back = read_workbook(out)
    assert back.tables["F05"].rows["2990101"].label == "某地方特有项目"
    c01 = [f for f in check_report(back) if f.rule == "C-01"]
    assert len(c01) == 1 and "2990101" in c01[0].message      # once per code, not once per table
    # merge keeps it too, with its printed name
    other = tmp_path / "v.xlsx"
    shutil.copy(out, other)
    assert main(["merge", str(out), str(other), "-o", str(tmp_path / "汇总.xlsx"), "--jobs", "1"]) in (0, 1)
    merged = read_workbook(tmp_path / "汇总.xlsx")
    row = merged.tables["F03"].rows["2990101"]
    assert row.label == "某地方特有项目" and row.values["total"].amount == Decimal("2.00")
    # a 科目补充 row (in the workbook) makes it known: the name look-up and the checker read it
    import openpyxl
    wb = openpyxl.load_workbook(out)
    ws = wb["科目补充"]
    ws["A2"], ws["B2"], ws["C2"] = "2990101", "项", "某地方特有项目"
    wb.save(out)
    again = read_workbook(out)
    assert again.supplement == [("2990101", "项", "某地方特有项目")]
    assert [f for f in check_report(again) if f.rule == "C-01"] == []


def test_the_name_lookup_reads_the_supplement_sheet_in_libreoffice(tmp_path):
    """A code only the workbook's 科目补充 sheet knows: its 科目名称 formula finds the name there (as cached)."""
    from conftest import formula_values

    rep = empty_report("final_accounts", "shanghai", "某某局", 2024)
    rep.supplement = [("2010698", "项", "某地方特有项目")]
    td = rep.table("F03")
    td.rows["2010698"] = RowData("2010698", "", "main", {"basic": Value(Decimal("1.00"))}, kind="detail")
    out = build_workbook(rep, tmp_path / "s.xlsx").path
    names = [v for (sheet, cell), v in formula_values(out).items() if sheet == "支出决算表" and v == "某地方特有项目"]
    assert len(names) == 1
    assert_recalculation_matches([out], tmp_path / "lo")
    back = read_workbook(out)
    assert [f for f in check_report(back) if f.rule in ("C-01", "C-02")] == []


# ---------------------------------------------------------------- 24 or 26 类 lines in 公开01 / 公开04

_TEMPLATE_2024 = Path("/work/shared/reference/shanghai-2024-final-accounts-template.txt")
_V24 = ("base: shanghai\nlabel: 上海（部门决算模板 2024，24 个类级行）\n"
        "differs: 公开01、公开04 不列债务还本支出、债务付息支出\n"
        "tables: [{table: F01, omit: ['231', '232']}, {table: F02, omit: [edu_fee]}, F03,\n"
        "         {table: F04, omit: ['231', '232']}, {table: F05, total_position: bottom}, F06S, F07S, F08, F09X]\n")


def _printed_class_lines(text: str) -> list[str]:
    """The 类 lines of the 收入支出决算总表 the 上海 2024 template prints, in order."""
    page = text.split("收入支出决算总表", 1)[1].split("本年收入合计", 1)[0]
    return [m.group(1) for m in re.finditer(r"(?m)(?:^|\s)([一二三四五六七八九十]+、\S+支出)$", page)]


def _f01_expense_labels(path: Path) -> tuple[list[str], int, int]:
    from python_calamine import CalamineWorkbook

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("收入支出决算总表").to_python()
    labels = [x for r in rows for x in r if isinstance(x, str) and re.match(r"^[一二三四五六七八九十]+、\S+支出$", x)
              and "收入" not in x]
    income = next(i for i, r in enumerate(rows) if "本年收入合计" in r)
    expense = next(i for i, r in enumerate(rows) if "本年支出合计" in r)
    return labels, income, expense


@pytest.mark.skipif(not _TEMPLATE_2024.is_file(), reason="reference text not available")
def test_24_class_lines_as_the_shanghai_2024_template_prints_them(tmp_path):
    printed = _printed_class_lines(_TEMPLATE_2024.read_text(encoding="utf-8"))
    assert len(printed) == 24 and printed[-1] == "二十四、抗疫特别国债安排的支出"
    v = _user_variant(tmp_path, _V24)
    out = tmp_path / "v24.xlsx"
    assert main(["new", "--variant", str(v), "-o", str(out)]) == 0
    labels, income, expense = _f01_expense_labels(out)
    assert labels == printed                               # the template's 24 lines, numbered as it numbers them
    assert income == expense                               # 本年收入合计 and 本年支出合计 on one line
    # the default keeps 26 (the 普陀 publication prints 债务还本支出 and 债务付息支出)
    labels26, income26, expense26 = _f01_expense_labels(generated_blank(tmp_path, "shanghai"))
    assert len(labels26) == 26 and "二十四、债务还本支出" in labels26 and income26 == expense26
    assert [f for f in check_report(read_workbook(out)) if f.level == "error"] == []


def generated_blank(tmp_path: Path, vid: str) -> Path:
    return build_workbook(empty_report("final_accounts", vid, "某某局", 2024), tmp_path / f"{vid}.xlsx").path


def test_24_class_lines_with_data_generate_check_and_recalculate(tmp_path, capsys):
    data = tmp_path / "unit"
    shutil.copytree(SH, data, ignore=shutil.ignore_patterns("*.xlsx"))
    (data / "variant.yaml").write_text(_V24, encoding="utf-8")
    meta = (data / "meta.yaml").read_text(encoding="utf-8")
    (data / "meta.yaml").write_text(re.sub(r"(?m)^variant:.*$", "variant: variant.yaml", meta), encoding="utf-8")
    for name in ("F01.csv", "F04.csv"):          # the rows a 24-line form does not print, renumbered as printed
        lines = (data / name).read_text(encoding="utf-8").splitlines()
        lines = [x.replace("234,二十六、", "234,二十四、") for x in lines if not x.startswith(("231,", "232,"))]
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "u.xlsx"
    assert main(["generate", str(data), "-o", str(out)]) == 0
    back = read_workbook(out)
    assert "231" not in back.tables["F01"].rows and back.tables["F01"].rows["234"].label.startswith("二十四、")
    # the same errors as the 26-line sample (its published X1 differences), none from the form
    key = lambda f: (f.rule, f.expected, f.actual)  # noqa: E731
    assert sorted(map(key, _errors(check_report(back)))) == sorted(map(key, _errors(check_report(load_data(SH)))))
    # every amount as in the 26-line sample (the two lines left out were empty there)
    src = load_data(SH)
    for tid in ("F01", "F04"):
        for key, row in src.tables[tid].rows.items():
            for col, v in row.values.items():
                if v.amount is not None:
                    assert back.tables[tid].get(key, col).amount == v.amount, (tid, key, col)
    assert assert_recalculation_matches([out], tmp_path / "lo") > 100
    # an amount on a line the form does not print is refused, naming the file and the line (never dropped)
    text = (data / "F01.csv").read_text(encoding="utf-8")
    (data / "F01.csv").write_text(text + "231,债务还本支出,5.00\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["generate", str(data), "-o", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "F01.csv 第" in err and "231" in err and "债务还本支出" in err


def test_only_declared_optional_class_lines_can_be_left_out(tmp_path, capsys):
    v = _user_variant(tmp_path, "base: shanghai\ntables: [{table: F01, omit: ['201']}, F03]\n")
    assert main(["new", "--variant", str(v), "-o", str(tmp_path / "a.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "我的版式.yaml" in err and "201" in err and "231" in err


# ---------------------------------------------------------------- 山西 with data, recalculated in LibreOffice

SBJ = SAMPLES / "ningxia-sbj-2022-final"


def _as_shanxi(tmp_path: Path) -> Path:
    """The 宁夏 2022 seed's published numbers recomposed in the 山西 form: its 基本支出 table (公开06, one amount
    column) becomes the 明细表 F06X with 合计 = 其中：基本支出 (the seed prints no 项目支出 by 经济分类), no 公开10
    data; printed rows only, so the generator adds the 类/款 subtotal rows the 山西 form prints."""
    data = tmp_path / "shanxi"
    shutil.copytree(SBJ, data, ignore=shutil.ignore_patterns("*.xlsx", "F06.csv", "published", "*.md", "EXPECTED.yaml"))
    meta = (data / "meta.yaml").read_text(encoding="utf-8")
    meta = re.sub(r"(?m)^variant:.*$", "variant: shanxi", meta)
    meta = re.sub(r"(?m)^as_published:.*$", "as_published: false", meta)
    (data / "meta.yaml").write_text(meta, encoding="utf-8")
    with (SBJ / "F06.csv").open(encoding="utf-8-sig") as src, (data / "F06X.csv").open("w", encoding="utf-8",
                                                                                        newline="") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        assert next(reader) == ["key", "name", "amount"]
        writer.writerow(["key", "name", "total", "basic"])
        for key, name, amount in reader:
            writer.writerow([key, name, amount, amount])
    return data


def test_shanxi_variant_with_data_generates_and_recalculates_in_libreoffice(tmp_path):
    out = tmp_path / "shanxi.xlsx"
    assert main(["generate", str(_as_shanxi(tmp_path)), "-o", str(out)]) == 0
    back = read_workbook(out)
    assert back.variant == "shanxi" and list(back.tables) == list(load_set("final_accounts").variants["shanxi"].order)
    # the 山西 form prints 类/款 subtotal rows: generated as formulas over the printed 项
    f03 = back.tables["F03"]
    assert f03.rows["208"].kind == "class" and f03.rows["20805"].kind == "class"
    assert f03.get("208", "total").formula
    src = load_data(SBJ).tables["F03"]
    assert f03.get("208", "total").amount == sum(r.values["total"].amount for k, r in src.rows.items()
                                                  if k.startswith("208") and len(k) == 7 and "total" in r.values)
    # the 明细表 carries the seed's 基本支出 amounts in both columns
    assert back.tables["F06X"].get("30101", "basic").amount == Decimal("7728302.00")
    assert "F10" in back.tables
    # every formula's cached value is what LibreOffice computes
    assert assert_recalculation_matches([out], tmp_path / "lo") > 400
