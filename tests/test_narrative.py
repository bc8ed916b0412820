"""情况说明: numbers, rendering the samples' narratives, checking the published ones, sheet, .docx, CLI."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import ROOT, SAMPLES
from xltools.cli import main
from xltools.narrative import render
from xltools.narrative.check import (_Aliases, _matches, _pct_ok, _yuan, check_text, mentions, notes_findings,
                                     split_sentences)
from xltools.narrative.sets import collect_facts
from xltools.narrative.numbers import change, shares
from xltools.narrative.engine import paragraphs_from_text
from xltools.read.datafile import load_data

SBJ, RST = SAMPLES / "ningxia-sbj-2022-final", SAMPLES / "ningxia-rst-2023-final"
NUMERALS = "一二三四五六七八九十"


def _published(folder: Path) -> str:
    return (folder / "published" / "情况说明.txt").read_text(encoding="utf-8")


# ---------------------------------------------------------------- numbers

@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=12))
def test_shares_of_a_group_add_to_exactly_100_and_stay_within_a_hundredth(cents):
    parts = [Decimal(c) / 100 for c in cents]
    got = shares(parts)
    total = sum(parts)
    if total == 0:
        assert set(got) == {Decimal(0)}
        return
    assert sum(got) == Decimal("100.00")
    for p, s in zip(parts, got):
        assert abs(s - p * 100 / total) < Decimal("0.01")


def test_three_thirds_are_not_99_99():
    assert shares([Decimal(1)] * 3) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_change_words_and_rate_on_the_base():
    c = change(Decimal("16242.83"), Decimal("19352.45"))
    assert (c.word, c.rate_word, c.abs.yuan, c.rate) == ("减少", "下降", Decimal("3109.62"), Decimal("16.07"))
    assert change(5, 5).word == "持平"
    assert change(Decimal("0.26"), 0).rate is None          # no rate on a zero base


# ---------------------------------------------------------------- rendering the samples

def _figures(paragraphs, aliases) -> list[tuple[str, object, str]]:
    """(section, mention, sentence) of every amount and percentage a formulaic sentence states.
    Figures in brackets, and after 主要原因 unless their clause names a table figure, are the writer's
    explanation; the 绩效 results (2./3. of 十(四)) are free text carried from 说明事项."""
    out = []
    for p in paragraphs:
        if p.text.startswith(("2.项目绩效自评结果", "3.概述")):
            break
        for s in split_sentences(p.text):
            for m in mentions(s):
                if m.kind not in ("amount", "pct") or m.in_brackets:
                    continue
                if m.after_reason and aliases.find(m.clause) is None:
                    continue
                out.append((p.section, m, s))
    return out


def _compare(folder: Path):
    rep = load_data(folder)
    ours = render(rep)
    by_section: dict[str, list] = {}
    for p in ours.paragraphs:
        by_section.setdefault(p.section, []).extend(m for s in split_sentences(p.text) for m in mentions(s))
    pub = paragraphs_from_text(_published(folder))
    reproduced, not_reproduced = [], []
    for sec, m, sentence in _figures(pub, _Aliases(collect_facts(rep))):
        cands = [o for o in by_section.get(sec, []) if o.kind == m.kind]
        if m.kind == "amount":
            hit = any(_matches(m, _yuan(o)) for o in cands)
        else:      # percentages: within 0.01 (largest-remainder shares move a hundredth)
            hit = any(_pct_ok(m, o.value) for o in cands)
        (reproduced if hit else not_reproduced).append((sec, m.text, sentence))
    return rep, ours, reproduced, not_reproduced


# Published figures our sentences do not repeat, sentence by sentence, and why.
#   error:       the published figure is wrong; check-narrative flags the sentence and our text has the
#                figure the finding expects
#   zero-base:   a percentage on a base of 0 (完成预算的0%, 增长100%): our sentence states no percentage
#   unsupported: needs figures neither the tables nor 说明事项 hold
#   table:       the sentence quotes a 三公 budget that the published 公开07 does not print (the table is
#                wrong there, TRANSCRIPTION #5); the rate follows the text's budget
NOT_REPRODUCED = {
    "ningxia-sbj-2022-final": {
        ("一", "19.14%"): "error",                # on this year's 16242.83; on the prior year 16.07 %
        ("三", "13349.02 元"): "error",            # 万元
        ("五（二）", "231.55 万元"): "error",        # 2,315,559.05 元 → 231.56
        ("五（三）", "100%"): "error",              # 15867.83 / 2678.13 = 592.50 %
        ("五（三）", "4.38 万元"): "error",         # 43,860.95 元 → 4.39
        ("六", "2251.56元"): "error",              # 万元
        ("六", "443.11元"): "error",               # 万元
        ("七（一）", "61.39%"): "error",            # the decrease ratio; completion is 38.61 %
        ("七（二）", "0%"): "zero-base",            # 因公出国 完成预算的0%, 下降0% (both on 0)
        ("七（二）", "100%"): "error",              # 增长100% over a budget of 0 (warning)
        ("八", "0%"): "error",                     # 增长（降低）0%: template leftover
        ("九", "0%"): "error",
        ("十（二）", "166.62 元"): "error",         # 万元
        ("十（四）", "94.57%"): "error",            # 668.94 / 13349.02 = 5.01 %
        ("十（四）", "0%"): "zero-base",            # 占政府性基金项目支出总额的 0% (no such spending)
    },
    "ningxia-rst-2023-final": {
        ("五（一）", "99.76%"): "error",            # 98.76 %
        ("七（一）", "361,150.00元"): "table",
        ("七（一）", "102.64%"): "table",
        ("七（二）", "292900.00 元"): "table",
        ("七（二）", "110.63%"): "table",
        ("七（二）", "68250.00元"): "table",
        ("七（二）", "68.32%"): "table",
        ("十（二）", "20.88%"): "unsupported",      # SME shares of goods/works/services: amounts not published
        ("十（二）", "13.05%"): "unsupported",
        ("十（二）", "66.07%"): "unsupported",
        ("十（四）", "0%"): "zero-base",
    },
}
REPRODUCED_AT_LEAST = {"ningxia-sbj-2022-final": 120, "ningxia-rst-2023-final": 140}


@pytest.mark.parametrize("folder", [SBJ, RST], ids=lambda p: p.name)
def test_rendered_sentences_reproduce_every_table_supported_published_figure(folder):
    rep, ours, reproduced, missing = _compare(folder)
    expected = NOT_REPRODUCED[folder.name]
    assert {(sec, text) for sec, text, _ in missing} == set(expected)
    assert len(reproduced) >= REPRODUCED_AT_LEAST[folder.name]
    findings = check_text(_published(folder), rep)
    ours_text = {p.section: "" for p in ours.paragraphs}
    for p in ours.paragraphs:
        ours_text[p.section] += p.text
    for sec, text, sentence in missing:
        why = expected[(sec, text)]
        flagged = [f for f in findings if f.cell == sentence]
        if why in ("error", "table"):
            assert flagged, (sec, text, "the published sentence is not flagged")
        for f in flagged:
            if why == "error" and f.actual == text and f.expected:
                # our sentence is the right one: it states the figure the finding expects
                assert f.expected.replace(",", "") in ours_text[sec].replace(",", ""), (sec, text, f.expected)


@pytest.mark.parametrize("folder", [SBJ, RST], ids=lambda p: p.name)
def test_rendered_narrative_has_the_ten_sections_in_order(folder):
    n = render(load_data(folder))
    heads = [p.text for p in n.paragraphs if p.style == "heading1"]
    assert [h.split("、")[0] for h in heads] == list(NUMERALS)
    assert all(p.section for p in n.paragraphs)


@pytest.mark.parametrize("folder", [SBJ, RST], ids=lambda p: p.name)
def test_our_narrative_passes_our_checker_except_what_the_reasons_typed_in_carry(folder):
    rep = load_data(folder)
    n = render(rep)
    typed = " ".join(str(v) for v in rep.notes.values())
    for f in check_text(n.text(), rep):
        if f.rule == "N-09":           # a 【请填写】 marker: an item the published text does not give
            continue
        assert f.actual and f.actual.replace(" ", "") in typed.replace(" ", ""), (f.rule, f.message)


def test_sample_shares_add_to_100():
    n = render(load_data(RST))
    for sec in ("二", "三", "五（二）"):
        text = "".join(p.text for p in n.paragraphs if p.section == sec and p.style == "body")
        pcts = [Decimal(x) for x in re.findall(r"占(\d+\.\d\d)%", text)]
        assert sum(pcts) == Decimal("100.00"), (sec, pcts)


def test_unit_and_percentages_follow_the_printed_figures():
    n = render(load_data(SBJ))
    text = n.text()
    # 万元 half-up: 2,315,559.05 元 → 231.56 万元 (the published text truncates to 231.55)
    assert "住房保障支出231.56万元" in text
    # the rate on the printed figures: 0.27 / 4.18 = 6.46 % (on 元: 6.43 %)
    assert "减少0.27万元，下降6.46%" in text
    assert "完成年初预算的592.50%" in text


def test_variants_differ_in_wording_not_in_figures():
    rep = load_data(RST)
    nx, sh = render(rep), render(rep, "shanghai")
    heads_sh = [p.text for p in sh.paragraphs if p.style == "heading1"]
    assert heads_sh[-2:] == ["十、预算绩效管理情况", "十一、其他重要事项的情况说明"]
    assert "社会保障和就业支出（类）380,428,984.11元" in sh.text()
    assert "社会保障和就业支出380,428,984.11元" in nx.text()


# ---------------------------------------------------------------- missing 说明事项

def test_an_empty_reason_shows_a_marker_and_is_a_check_warning():
    from xltools.rules import check_report

    rep = load_data(RST)
    assert notes_findings(rep) == []
    del rep.notes["reason.run_cost.prior"]
    n = render(rep)
    assert "【请填写文字：机关运行经费增减变化的主要原因】" in n.text()
    warn = [f for f in check_report(rep) if f.rule == "N-10"]
    assert [(f.level, f.message) for f in warn] == [("warning", "情况说明需要的说明事项未填写：机关运行经费增减变化的主要原因")]


def test_a_missing_prior_figure_shows_a_marker_and_asks_no_reason_yet():
    rep = load_data(RST)
    del rep.notes["prior.run_cost"]
    text = render(rep).text()
    assert "比2022年度【待计算增减额及增减率：需先填写“上年度机关运行经费支出”】" in text
    assert "2023年持续压减一般性支出" not in text
    assert notes_findings(rep) == []


# ---------------------------------------------------------------- checking published narratives

def _findings_md_rows(folder: Path) -> list[tuple[str, str, str]]:
    text = (folder / "FINDINGS.md").read_text(encoding="utf-8")
    block = text.split("<!-- narrative:start -->")[1].split("<!-- narrative:end -->")[0]
    rows = []
    for line in block.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) == 5 and cells[0].startswith("N-"):
            rows.append((cells[0], cells[1], cells[2]))
    return rows


@pytest.mark.parametrize("folder", [SBJ, RST], ids=lambda p: p.name)
def test_published_narrative_findings_are_those_in_FINDINGS_md(folder):
    findings = check_text(_published(folder), load_data(folder))
    assert sorted((f.rule, f.level, f.actual or "") for f in findings) == sorted(_findings_md_rows(folder))


def test_published_errors_carry_the_right_figures():
    by_actual = {(f.actual, f.rule): f for f in check_text(_published(SBJ), load_data(SBJ))}
    by_actual = {**{k[0]: f for k, f in by_actual.items()}, **{k: f for k, f in by_actual.items()}}
    assert by_actual["19.14%"].rule == "N-03" and by_actual["19.14%"].expected == "16.07%"
    assert by_actual["2251.56元"].rule == "N-02" and by_actual["2251.56元"].expected == "2251.56万元"
    completion = [f for f in by_actual.values() if f.rule == "N-05"]
    assert {(f.actual, f.expected) for f in completion} == {("100%", "592.50%"), ("61.39%", "38.61%")}
    assert by_actual["4.38 万元"].rule == "N-01" and "截尾" in by_actual["4.38 万元"].message


def test_checker_quotes_the_sentence_and_catches_both_numbers_in_one_sentence():
    rep = load_data(RST)
    text = "2023年度一般公共预算财政拨款支出年初预算为248,992,329.75元，支出决算为403,923,024.99元，完成年初预算的100.00%。"
    fs = check_text(text, rep)
    assert [(f.rule, f.cell, f.expected) for f in fs] == [("N-05", text, "162.22%")]
    # the year: compared with a year that is not the prior one
    fs = check_text("与2021年度相比，一般公共预算财政拨款支出增加50,719,683.61元，增长14.36%。", rep)
    assert [f.rule for f in fs] == ["N-07"]
    fs = check_text("上海市XX局2024年度收入支出总计XXX万元。", rep)
    assert {f.rule for f in fs} == {"N-08", "N-07"}


def test_clean_text_gives_no_findings():
    rep = load_data(RST)
    text = ("2023年度收入合计416,508,919.65元，其中：财政拨款收入412,820,500.56元，占99.11%；事业收入2,111,176.80元，"
            "占0.51%；其他收入1,577,242.29元，占0.38%。")
    assert check_text(text, rep) == []
    assert check_text("2023年度收入合计41650.89万元。", rep) == []


# ---------------------------------------------------------------- sheet, .docx, CLI

@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    out = tmp_path_factory.mktemp("narrative")
    assert main(["generate", str(SBJ), "-o", str(out / "sbj.xlsx")]) == 0
    assert main(["narrative", str(out / "sbj.xlsx"), "--full", "--force"]) == 1   # 8 check errors: exit 1 (findings)
    return out


def test_narrative_writes_the_sheet_keeps_cached_values_and_the_original(narrated):
    from python_calamine import CalamineWorkbook

    from xltools.read.workbook import read_workbook

    book = narrated / "sbj.xlsx"
    assert (narrated / "sbj.bak.xlsx").exists()
    wb = CalamineWorkbook.from_path(str(book))
    rows = [r[0] for r in wb.get_sheet_by_name("情况说明").to_python() if r and r[0]]
    # 8 check errors: a red warning above the title (written with --force too), then the text
    assert rows[0].startswith("注意：本工作簿有 8 个校验错误")
    assert rows[1] == "自治区社会保险事业管理局2022年度部门决算情况说明"
    assert any(r.startswith("\u3000\u3000二、收入决算情况说明") for r in rows)
    assert any("收入合计15765.78万元" in r for r in rows)
    # formulas kept their cached values (a reader without a calculation engine sees the totals)
    rep = read_workbook(book)
    assert rep.amount("F01", "income_total", "amount") == Decimal("157657777.51")
    # print setup: one column across an A4 portrait page, fit to width
    import openpyxl
    ws = openpyxl.load_workbook(book)["情况说明"]
    assert ws.page_setup.orientation == "portrait" and ws.page_setup.fitToWidth == 1
    assert ws["A3"].font.name in ("仿宋", "黑体") and ws["A3"].alignment.wrap_text


def test_docx_has_styles_with_east_asian_fonts_and_the_tables(narrated):
    import docx
    from docx.oxml.ns import qn

    path = narrated / "sbj-情况说明.docx"
    doc = docx.Document(str(path))
    east = {n: doc.styles[n].element.rPr.rFonts.get(qn("w:eastAsia")) for n in ("Normal", "Heading 1", "Heading 2")}
    assert east == {"Normal": "仿宋", "Heading 1": "黑体", "Heading 2": "楷体"}
    texts = [p.text for p in doc.paragraphs]
    assert "第四部分 名词解释" in texts and any(t.startswith("一、收入支出决算总体情况说明") for t in texts)
    assert len(doc.tables) >= 9
    assert any("157,647,304.72" in c.text for t in doc.tables for row in t.rows for c in row.cells)


def test_check_narrative_cli_exit_codes_and_json(narrated, capsys):
    book = narrated / "sbj.xlsx"
    assert main(["check-narrative", str(SBJ / "published" / "情况说明.txt"), "--against", str(book), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    f = doc["files"][0]["findings"][0]
    assert set(f) == {"rule", "level", "table", "cell", "message", "expected", "actual", "difference", "cause",
                      "culprits"}
    assert f["table"] == "情况说明"
    # our own sheet: warnings for the 【请填写】 markers only, no error
    assert main(["check-narrative", str(book), "--sheet"]) == 0
    capsys.readouterr()
    assert main(["check-narrative", str(narrated / "sbj-情况说明.docx"), "--against", str(book)]) == 0
    capsys.readouterr()
    assert main(["check-narrative", str(narrated / "nope.docx"), "--against", str(book)]) == 2
    (narrated / "bad.docx").write_bytes(b"not a zip")
    assert main(["check-narrative", str(narrated / "bad.docx"), "--against", str(book)]) == 2


def test_import_is_light():
    code = ("import sys, xltools.narrative; "
            "print(sorted(m for m in ('jinja2', 'docx', 'openpyxl', 'yaml') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.libreoffice
def test_docx_renders_in_libreoffice(narrated, tmp_path):
    import shutil

    if not shutil.which("soffice") or not shutil.which("pdftotext"):
        pytest.skip("LibreOffice / poppler 未安装")
    src = tmp_path / "n.docx"
    shutil.copy(narrated / "sbj-情况说明.docx", src)
    r = subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                       capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "n.pdf"
    assert pdf.exists(), r.stderr
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "第三部分" in text and "15765.78" in text and "名词解释" in text


@pytest.mark.parametrize("variant", ["ningxia", "shanghai", "central", "guangxi", "shanxi"])
def test_an_empty_workbook_renders_with_markers_and_no_dangling_lists(variant):
    from xltools.build.writer import empty_report

    rep = empty_report("final_accounts", variant, "某某局", 2024)
    n = render(rep)
    assert n.missing and "【请填写金额：" in n.text() and "【请填写数量：" in n.text()
    assert not [p.text for p in n.paragraphs if p.style == "body" and p.text.endswith(("：", "，"))]
    assert [f.rule for f in check_text(n.text(), rep) if f.rule != "N-09"] == []


def test_central_variant_takes_personnel_and_public_from_the_detail_table():
    from xltools.model import RowData, Value

    from xltools.build.writer import empty_report

    rep = empty_report("final_accounts", "central", "某某局", 2024)
    f06x = rep.table("F06X")
    f06x.rows["personnel_total"] = RowData("personnel_total", "人员经费合计", "personnel", kind="footer",
                                           values={"basic": Value(Decimal("12.34"))})   # 万元
    assert "人员经费12.34万元" in render(rep).text()


# ---------------------------------------------------------------- regional wording: only the sections that differ

def _inheriting_variants():
    from xltools.narrative.engine import _inherits

    return [(sid, v, parent) for sid in ("budget", "final_accounts") for v, parent in _inherits(sid).items()]


def test_a_regional_folder_holds_only_the_sections_it_changes():
    """No file of a region's folder is a copy of the file it would read anyway (its inherited folders', or the
    set's standard file): a wording fixed in one place is fixed for every region that shares it."""
    from xltools.narrative.engine import template_dirs
    from xltools.spec import load_set, templates_dir

    assert {(sid, v) for sid, v, _ in _inheriting_variants()} >= {("budget", "jiangsu2017"), ("budget", "shanghai_unit")}
    assert template_dirs("budget", "jiangsu2017")[-2:] == [templates_dir() / "budget" / "narrative" / "jiangsu",
                                                          templates_dir() / "budget" / "narrative"]
    assert [d.name for d in template_dirs("budget", "shanghai_unit")] == ["shanghai", "narrative"]
    copies = []
    for sid in ("budget", "final_accounts"):
        for vid in load_set(sid).variants:
            dirs = template_dirs(sid, vid)
            for i, d in enumerate(dirs[:-1]):
                for f in d.glob("*.j2"):
                    below = next((e / f.name for e in dirs[i + 1:] if (e / f.name).is_file()), None)
                    if below is not None and below.read_bytes() == f.read_bytes():
                        copies.append((vid, str(f.relative_to(templates_dir())), str(below.relative_to(templates_dir()))))
    assert copies == []


@pytest.mark.parametrize("folder,variant", [("jiangsu-swbgt-2019-budget", "jiangsu2017"),
                                            ("shanghai-putuo-sfj-2026-unit-budget", "shanghai_unit"),
                                            ("shanghai-putuo-sfj-2026-budget", "shanghai_unit")])
def test_inherited_wording_renders_as_a_full_copy_of_the_folder_would(folder, variant, tmp_path, monkeypatch):
    """The loader chain (region folder, inherited folders, standard) renders exactly what one flat folder holding
    every section the region reads renders."""
    import shutil

    from xltools.narrative import engine

    rep = load_data(SAMPLES / folder)
    chained = render(rep, variant)
    dirs = engine.template_dirs(rep.set_id, variant)
    flat = tmp_path / variant
    flat.mkdir()
    for d in reversed(dirs[:-1]):                 # inherited first, the region's own last: it wins
        for f in d.glob("*.j2"):
            shutil.copy(f, flat / f.name)
    monkeypatch.setattr(engine, "template_dirs", lambda set_id, v: [flat, dirs[-1]])
    copied = render(rep, variant)
    assert [(p.style, p.section, p.text) for p in chained.paragraphs] == \
        [(p.style, p.section, p.text) for p in copied.paragraphs]
    assert len(chained.paragraphs) > 10 and rep.unit in chained.title


def test_inherit_file_is_validated(tmp_path, monkeypatch):
    from xltools import spec
    from xltools.narrative import engine
    from xltools.spec import SpecError

    root = tmp_path / "templates"
    shutil_src = spec.templates_dir()
    (root / "budget" / "narrative").mkdir(parents=True)
    for f in ("tables.yaml", "blocks.yaml", "notes.yaml"):
        if (shutil_src / "budget" / f).is_file():
            (root / "budget" / f).write_bytes((shutil_src / "budget" / f).read_bytes())
    monkeypatch.setattr(spec, "templates_dir", lambda: root)
    (root / "budget" / "narrative" / "inherit.yaml").write_text("jiangsu2017: ../../etc\n", encoding="utf-8")
    with pytest.raises(SpecError, match="inherit.yaml"):
        engine._inherits("budget")
    (root / "budget" / "narrative" / "inherit.yaml").write_text("a: b\nb: a\n", encoding="utf-8")
    base = root / "budget" / "narrative"
    (base / "a").mkdir()
    (base / "b").mkdir()
    assert engine.template_dirs("budget", "a") == [base / "a", base / "b", base]   # a cycle ends: each folder once


def test_every_template_file_is_installed():
    """An installed xltools reads templates/ from <prefix>/share/xltools (pyproject data-files): every file of
    templates/ and macros/ — a regional narrative folder, sources.yaml, inherit.yaml — is in one of its globs,
    installed under the same relative folder."""
    import glob
    import tomllib

    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = {}
    for dest, patterns in doc["tool"]["setuptools"]["data-files"].items():
        for pattern in patterns:
            for f in glob.glob(str(ROOT / pattern)):
                rel = Path(f).relative_to(ROOT)
                installed[rel.as_posix()] = dest
    files = [p.relative_to(ROOT).as_posix() for d in ("templates", "macros") for p in (ROOT / d).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert files and sorted(f for f in files if f not in installed) == []
    for rel, dest in installed.items():
        assert dest == "share/xltools/" + rel.rsplit("/", 1)[0], (rel, dest)
