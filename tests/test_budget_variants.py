"""部门预算 variants beyond 宁夏 (issue 11): 上海 区级 (nine tables, 元 with a 万元 “三公” table) and 江苏 省级
2017–2019 (公开01–11表, 万元). Each variant is generated blank and from its sample, recalculated in LibreOffice and
rendered to PNG; both samples — transcribed as published — are checked against FINDINGS.md (tables and 情况说明)
and their numbers against the PDFs' text layer."""
from __future__ import annotations

import csv
import re
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from xltools.build.writer import build_workbook, empty_report
from xltools.cli import _extra_sheets, main
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook
from xltools.rules import check_report
from xltools.spec import load_set
from conftest import assert_recalculation_matches

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ROOT / "samples" / "shanghai-putuo-sfj-2026-budget"
JIANGSU = ROOT / "samples" / "jiangsu-swbgt-2019-budget"
SHANGHAI_UNIT = ROOT / "samples" / "shanghai-putuo-sfj-2026-unit-budget"
CORPUS = ROOT.parent.parent / "shared" / "corpus"   # /work/shared/corpus beside the worktrees
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")
NEW_VARIANTS = ["shanghai", "shanghai_unit", "jiangsu", "jiangsu2017"]


def _build(folder: Path, out: Path) -> Path:
    return build_workbook(load_data(folder), out, extra_sheets=_extra_sheets()).path


def _listed(findings_md: Path, block: str) -> list[tuple[str, ...]]:
    text = findings_md.read_text(encoding="utf-8")
    part = text.split(f"<!-- {block}:start -->")[1].split(f"<!-- {block}:end -->")[0]
    rows = []
    for line in part.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.match(r"^[A-Z]+-", cells[0]):
            rows.append(tuple(cells[:3]))
    return rows


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("budget-variants")
    made = {"shanghai-sample": _build(SHANGHAI, out / "shanghai-sample.xlsx"),
            "jiangsu-sample": _build(JIANGSU, out / "jiangsu-sample.xlsx"),
            "shanghai-unit-sample": _build(SHANGHAI_UNIT, out / "shanghai-unit-sample.xlsx")}
    for vid in load_set("budget").variants:
        rep = empty_report("budget", vid, "某某部门", 2026)
        made[f"new-{vid}"] = build_workbook(rep, out / f"new-{vid}.xlsx", extra_sheets=_extra_sheets()).path
    return made


# ---------------------------------------------------------------- the forms

def test_new_variants_have_their_tables_in_their_order():
    tset = load_set("budget")
    assert tset.variant("shanghai").order == tuple(f"S0{i}" for i in range(1, 10))
    # 单位预算: the same forms but 表1, whose expense side splits 人员经费 / 公用经费 / 项目支出
    assert tset.variant("shanghai_unit").order == ("S01U",) + tuple(f"S0{i}" for i in range(2, 10))
    assert tset.variant("jiangsu").order == tuple(f"J{i:02d}" for i in range(1, 12))
    # 2017: 政府性基金 before the 一般公共预算 tables, 机关运行经费 before “三公”
    # (and its 机关运行经费 in the 2017 口径, which takes in 项目支出: J11A, not bounded by 基本支出)
    assert tset.variant("jiangsu2017").order == ("J01", "J02", "J03", "J04", "J05", "J06", "J10", "J07", "J08",
                                                 "J11A", "J09")
    assert tset.variant("shanghai").amount_unit == "元" and tset.tables["S09"].unit("元") == "万元"
    assert {tset.variant(v).amount_unit for v in ("jiangsu", "jiangsu2017")} == {"万元"}


@pytest.mark.parametrize("vid", sorted(load_set("budget").variants))
def test_blank_workbook_of_every_budget_variant_checks_clean(books, vid):
    findings = check_report(read_workbook(books[f"new-{vid}"]))
    assert [f for f in findings if f.level == "error"] == []


def test_the_three_gong_table_prints_its_own_unit(books):
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(books["shanghai-sample"]))
    head = lambda sheet: " ".join(str(c) for r in wb.get_sheet_by_name(sheet).to_python()[:4] for c in r if c)
    assert "金额单位：万元" in head("“三公”经费和机关运行经费预算表")
    assert "金额单位：元" in head("财务收支预算总表")


def test_new_variants_recalculate_in_libreoffice(books, tmp_path):
    files = [books["shanghai-sample"], books["jiangsu-sample"], books["shanghai-unit-sample"],
             *(books[f"new-{v}"] for v in NEW_VARIANTS)]
    compared = assert_recalculation_matches(files, tmp_path / "lo", places=2)
    assert compared > 600


def test_every_new_form_renders_to_a_page(books, tmp_path):
    sys.path.insert(0, str(ROOT / "scripts"))
    from render_forms import render_forms
    from PIL import Image, ImageOps

    tset = load_set("budget")
    pngs = []
    for name, vid in (("shanghai-sample", "shanghai"), ("jiangsu-sample", "jiangsu"),
                      ("shanghai-unit-sample", "shanghai_unit")):
        made = render_forms(books[name], tmp_path / name, vid)
        assert set(made) == set(tset.variant(vid).order)
        pngs += made.items()
    for tid, png in pngs:
        img = Image.open(png)
        assert img.width > 300 and img.height > 120, (tid, img.size)
        assert ImageOps.invert(img.convert("L")).getbbox() is not None   # not a blank page


# ---------------------------------------------------------------- identities across units and tables

def _copy(src: Path, dst: Path, edits: dict[str, tuple[str, str]]) -> Path:
    import shutil

    shutil.copytree(src, dst)
    for name, (old, new) in edits.items():
        p = dst / name
        text = p.read_text(encoding="utf-8")
        assert old in text, (name, old)
        p.write_text(text.replace(old, new), encoding="utf-8")
    return dst


def test_wan_yuan_three_gong_is_compared_with_yuan_basic_expenditure(tmp_path):
    # 公务接待费 0.83 万元 against 30217 = 8,265 元: agrees within the 万元 rounding; 18,265 元 does not
    folder = _copy(SHANGHAI, tmp_path / "sh", {"S08.csv": ("30217,公务接待费,8265.00,0.00,8265.00",
                                                           "30217,公务接待费,18265.00,0.00,18265.00")})
    found = {(f.rule, f.cell) for f in check_report(read_workbook(_build(folder, tmp_path / "sh.xlsx")))}
    assert ("W-S09-01", "“三公”经费和机关运行经费预算表!D8") in found
    ok = check_report(read_workbook(_build(SHANGHAI, tmp_path / "ok.xlsx")))
    assert not [f for f in ok if f.rule.startswith("W-S09")]


def test_a_wrong_item_in_one_shanghai_table_is_found_where_the_tables_meet(tmp_path):
    folder = _copy(SHANGHAI, tmp_path / "sh", {"S02.csv": ("2040605,普法宣传,1242900.00,1242900.00",
                                                           "2040605,普法宣传,1242900.00,1242090.00")})
    rules = {f.rule for f in check_report(read_workbook(_build(folder, tmp_path / "sh.xlsx")))}
    assert {"R-S02-01", "H-S02-01", "R-S02-02"} <= rules


def test_a_wrong_jiangsu_figure_is_found(tmp_path):
    folder = _copy(JIANGSU, tmp_path / "js", {"J09.csv": ("1471.70,508.20", "1471.70,509.20"),
                                              "J03.csv": ("27664.22,11700.63", "27664.22,11700.36")})
    rules = {f.rule for f in check_report(read_workbook(_build(folder, tmp_path / "js.xlsx")))}
    assert {"R-J09-02", "R-J09-03", "R-J03-01", "X-J03-01"} <= rules


# ---------------------------------------------------------------- the samples, as published

@pytest.mark.parametrize("folder,book", [(SHANGHAI, "shanghai-sample"), (JIANGSU, "jiangsu-sample"),
                                         (SHANGHAI_UNIT, "shanghai-unit-sample")])
def test_sample_findings_are_those_listed_in_FINDINGS_md(books, folder, book):
    findings = check_report(read_workbook(books[book]))
    assert {(f.rule, f.level, f.cell) for f in findings} == set(_listed(folder / "FINDINGS.md", "tables"))


@pytest.mark.parametrize("folder", [SHANGHAI, JIANGSU, SHANGHAI_UNIT])
def test_published_narrative_findings_are_those_listed_in_FINDINGS_md(folder):
    from xltools.narrative import check_text

    findings = check_text((folder / "published" / "情况说明.txt").read_text(encoding="utf-8"), load_data(folder))
    assert sorted((f.rule, f.level, f.actual or "") for f in findings) == sorted(_listed(folder / "FINDINGS.md", "narrative"))


@pytest.mark.parametrize("folder", [SHANGHAI, JIANGSU, SHANGHAI_UNIT])
def test_narrative_renders_for_the_new_variants(folder, books, tmp_path):
    from xltools.narrative import check_text, render

    report = load_data(folder)
    text = render(report).text()
    tset = load_set("budget")
    assert report.variant in tset.variants and text.startswith("一、")
    # what we write agrees with the tables by our own checker
    assert [f for f in check_text(text, report) if f.level == "error"] == []
    for vid in NEW_VARIANTS:                       # a blank workbook of each variant narrates without failing
        assert render(read_workbook(books[f"new-{vid}"])).text()
    out = tmp_path / "n.docx"
    book = {SHANGHAI: "shanghai-sample", JIANGSU: "jiangsu-sample", SHANGHAI_UNIT: "shanghai-unit-sample"}[folder]
    # the 单位预算 sample has check errors (as published): narrative then needs --force
    force = ["--force"] if folder == SHANGHAI_UNIT else []
    assert main(["narrative", str(books[book]), *force, "-o", str(out)]) == (1 if force else 0) and out.stat().st_size > 0


def test_shanghai_narrative_figures_come_from_its_tables():
    from xltools.narrative import render

    text = render(load_data(SHANGHAI)).text()
    assert "财政拨款收入预算9628.22万元" in text                       # 表4 收入总计 96,282,213.44 元
    assert "“三公”经费预算数为10.81万元" in text                        # 表9, 万元 as printed
    assert "机关运行经费预算为217.83万元" in text
    assert "公用经费217.83万元" in text                                # 表8 公用经费 2,178,324.44 元
    js = render(load_data(JIANGSU)).text()
    assert "会议费预算933.50万元，培训费预算30.00万元" in js and "人员经费9467.72万元" in js


# ---------------------------------------------------------------- transcription against the PDFs

_SHANGHAI_PAGES = {"S01": [10], "S02": [11], "S03": [12, 13], "S04": [14], "S05": [15, 16], "S06": [17],
                   "S07": [18], "S08": [19, 20], "S09": [21]}
_SHANGHAI_UNIT_PAGES = {"S01U": [8], "S02": [9, 10], "S03": [11, 12], "S04": [13], "S05": [14, 15], "S06": [16],
                        "S07": [17], "S08": [18, 19], "S09": [20]}
_JIANGSU_PAGES = {f"J{i:02d}": [i] for i in range(1, 12)}
# 12,604,173 / 87267272.44 / 0.00 / 0 — not a code (204, 06) nor a year
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|0)(?![\d.,])")


def _pdf_pages(pdf: Path) -> list[str]:
    pdfplumber = pytest.importorskip("pdfplumber")
    if not pdf.is_file():
        pytest.skip(f"{pdf} 不在")
    with pdfplumber.open(pdf) as doc:
        return [p.extract_text() or "" for p in doc.pages]


@pytest.mark.parametrize("folder,pdf,pages", [
    (SHANGHAI, "shanghai/普陀区司法局-2026-部门预算.pdf", _SHANGHAI_PAGES),
    (JIANGSU, "jiangsu/江苏省委办公厅--江苏省委办公厅2019年度部门预算公开表格.pdf", _JIANGSU_PAGES),
    (SHANGHAI_UNIT, "shanghai/普陀区司法局-2026-单位预算.pdf", _SHANGHAI_UNIT_PAGES)])
def test_every_transcribed_number_and_code_is_printed_on_its_page(folder, pdf, pages):
    """Per table: the numbers of the CSV and those printed on its PDF pages are the same multiset, and the codes
    of its 科目 rows are those printed (上海 prints a code as “204 06 01”)."""
    text = _pdf_pages(CORPUS / pdf)
    for tid, nums in pages.items():
        printed = "\n".join(text[n - 1] for n in nums)
        body = printed.split("单位", 1)[-1]                     # the title and the 编制部门 line carry years only
        pdf_numbers = Counter(Decimal(x.replace(",", "")) for x in _NUMBER.findall(body))
        with (folder / f"{tid}.csv").open(encoding="utf-8") as fh:
            rows = list(csv.reader(fh))[1:]
        csv_numbers = Counter(Decimal(v) for r in rows for v in r[2:] if v.strip())
        assert csv_numbers == pdf_numbers, (tid, csv_numbers - pdf_numbers, pdf_numbers - csv_numbers)
        codes = [r[0] for r in rows if r[0].isdigit()] if load_set("budget").tables[tid].is_detail else []
        for code in codes:
            pieces = " ".join([code[:3], code[3:5], code[5:7]]).strip()
            assert re.search(rf"(^|\n){re.escape(code)} |(^|\n){re.escape(pieces)} ", printed), (tid, code)


def test_a_table_unit_other_than_yuan_or_wan_fails_at_load(tmp_path):
    from xltools.spec import SpecError, _parse_set

    doc = {"set": "x", "tables": [{"id": "T", "title": "t", "amount_unit": "千元",
                                   "panels": [{"id": "m", "columns": [{"key": "a", "label": "a"}],
                                               "rows": [{"key": "r", "label": "r"}]}]}]}
    with pytest.raises(SpecError, match="amount_unit"):
        _parse_set(doc, tmp_path / "tables.yaml")


def test_audit_sheet_agrees_with_the_checker_across_units(books):
    """The 审核 sheet (identities as formulas) takes a 万元 table's tolerance from its own unit and leaves the
    万元-vs-元 comparisons to the checker (不适用), so a sample the checker finds clean shows no 未通过."""
    from python_calamine import CalamineWorkbook

    grid = CalamineWorkbook.from_path(str(books["shanghai-sample"])).get_sheet_by_name("审核").to_python()
    rows = {r[1]: r for r in grid if len(r) > 10 and str(r[1]).startswith(("R-S09", "W-S09"))}
    assert rows["R-S09-02"][9] == pytest.approx(0.02) and rows["R-S09-02"][10] == "通过"   # 4 万元 cells × 0.005
    assert {rows[k][10] for k in rows if k.startswith("W-S09")} == {"不适用"}
    assert not any("未通过" == str(c) for r in grid for c in r)
