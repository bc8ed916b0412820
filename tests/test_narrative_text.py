"""The narrative checker reads text as people get it: the published 情况说明 of every sample with a narrative, as
transcribed (one paragraph per line), as the raw text of the published PDF (the seed's lines, cut from the seed
file as it stands: every printed line broken, blank lines between, page-break spaces) and as a Word document
(python-docx: soft line breaks where the PDF broke its lines, page breaks, a header and a page-number footer) —
all three give the same findings. And the rules that tie a figure to a fact, each on a sentence of the seeds."""
from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from xltools.narrative import check_text
from xltools.narrative.check import _Aliases, read_narrative
from xltools.narrative.sets import collect_facts
from xltools.narrative.text import paragraphs, sentences
from xltools.read.datafile import load_data

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SEEDS = Path(os.environ.get("XLTOOLS_SHARED", "/work/shared")) / "seeds"
# sample → (seed file, first line, last line) of its 情况说明 (1-based, inclusive), as TRANSCRIPTION.md gives them
NARRATIVES = {
    "ningxia-sbj-2022-final": ("000_504f661a639a9eef.txt", 531, 849),
    "zhongwei-sbzx-2024-budget": ("001_8995e93aad3bf6da.txt", 1470, 1734),
    "ningxia-rst-2023-final": ("002_dce21831a34ef313.txt", 775, 1195),
}
SBJ, RST, BUDGET = (SAMPLES / n for n in ("ningxia-sbj-2022-final", "ningxia-rst-2023-final",
                                           "zhongwei-sbzx-2024-budget"))


def _pub(folder: Path) -> str:
    return (folder / "published" / "情况说明.txt").read_text(encoding="utf-8")


def _pdf(folder: Path) -> str:
    return (folder / "published" / "情况说明.pdf.txt").read_text(encoding="utf-8")


def _key(f):
    return (f.rule, f.level, f.actual, f.expected, f.cell)


def write_docx_like_the_pdf(folder: Path, path: Path) -> Path:
    """The transcription's paragraphs as Word paragraphs, broken where the PDF broke its lines: a soft line
    break, or a page break where the seed's line starts a page (a leading space); header and page footer."""
    import docx
    from docx.enum.text import WD_BREAK
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    lines = [ln for ln in _pdf(folder).split("\n") if ln.strip()]
    doc = docx.Document()
    sec = doc.sections[0]
    sec.header.paragraphs[0].text = "宁夏回族自治区部门决算公开"
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), "PAGE")
    sec.footer.paragraphs[0]._p.append(fld)
    i = 0
    for para in (p for p in _pub(folder).splitlines() if p.strip()):
        target, got = re.sub(r"\s", "", para), ""
        wp = doc.add_paragraph()
        run = wp.add_run()
        first = True
        while got != target:
            assert i < len(lines) and target.startswith(got + re.sub(r"\s", "", lines[i])), (para[:30], lines[i][:30])
            if not first:
                run.add_break(WD_BREAK.PAGE if lines[i].startswith(" ") else WD_BREAK.LINE)
            run.add_text(lines[i].strip())
            got += re.sub(r"\s", "", lines[i])
            i += 1
            first = False
    assert i == len(lines)
    doc.save(str(path))
    return path


@pytest.mark.parametrize("name", sorted(NARRATIVES))
def test_the_raw_text_is_the_seed_as_it_stands(name):
    seed, first, last = NARRATIVES[name]
    if not (SEEDS / seed).is_file():
        pytest.skip("seed files not available")
    seed_lines = (SEEDS / seed).read_text(encoding="utf-8").split("\n")
    assert _pdf(SAMPLES / name) == "\n".join(seed_lines[first - 1:last]) + "\n"


@pytest.mark.parametrize("name", sorted(NARRATIVES))
def test_transcription_pdf_text_and_docx_give_the_same_findings(name, tmp_path):
    folder = SAMPLES / name
    rep = load_data(folder)
    docx_path = write_docx_like_the_pdf(folder, tmp_path / "情况说明.docx")
    docx_text = read_narrative(docx_path)
    assert "\n" in docx_text and "宁夏回族自治区部门决算公开" not in docx_text      # breaks kept, header not read
    pub = [_key(f) for f in check_text(_pub(folder), rep)]
    pdf = [_key(f) for f in check_text(_pdf(folder), rep)]
    word = [_key(f) for f in check_text(docx_text, rep)]
    assert pub and pdf == pub and word == pub
    # the paragraphs the checker rebuilds are the transcription's, whatever the line breaks
    assert [p.text for p in paragraphs(_pdf(folder))] == [p.text for p in paragraphs(docx_text)]


def test_pdf_lines_no_longer_lose_findings_or_make_false_errors():
    """Issue 13: split at every line break, seed 000's PDF text lost 9 of its findings and gained false
    errors — "2021 年我局" on the line before a 2022 figure, "2089999-其" / "他社会保障和就业支出" on two lines."""
    rep = load_data(SBJ)
    pdf = check_text(_pdf(SBJ), rep)
    assert not [f for f in pdf if f.actual in ("19202.88 万元", "18827.40 万元", "12858.92 万元")]
    by = {(f.rule, f.actual) for f in pdf}
    for found in [("N-05", "100%"), ("N-01", "231.55 万元"), ("N-02", "443.11元"), ("N-05", "61.39%"),
                  ("N-08", "主要原因是主要是"), ("N-02", "2251.56元"), ("N-01", "4.38 万元")]:
        assert found in by, found


def test_page_furniture_is_dropped_and_sentences_run_across_pages():
    raw = ("2022 年度收、支总计 16242.83 万元。与 2021 年度相比，收、\n\n- 7 -\n\n宁夏社保局 2022 年度部门决算\n\n"
           " 支总计各减少 3109.62 万元，减少 19.14%。\n\n第 8 页\n\n宁夏社保局 2022 年度部门决算\n\n"
           "二、收入决算情况说明\n\n8\n\n宁夏社保局 2022 年度部门决算\n\n2022年度收入合计15765.78万元。")
    paras = paragraphs(raw)
    assert [p.text for p in paras] == [
        "2022 年度收、支总计 16242.83 万元。与 2021 年度相比，收、支总计各减少 3109.62 万元，减少 19.14%。",
        "二、收入决算情况说明", "2022年度收入合计15765.78万元。"]
    assert paras[1].heading and not paras[0].heading


def test_a_sentence_without_full_stops_is_cut_and_stays_linear():
    s = "，".join(["收入合计15765.78万元"] * 2000)
    parts = sentences(s)
    assert len(parts) > 1 and max(map(len, parts)) <= 2000 and "".join(parts) == s


# ---------------------------------------------------------------- tying a figure to a fact


@pytest.fixture(scope="module")
def sbj():
    rep = load_data(SBJ)
    return rep, _Aliases(collect_facts(rep), rep.year)


def test_the_longest_name_wins_across_a_line_break(sbj):
    """Seed 000 (五(三)): "2089999-其" / "他社会保障和就业支出12858.92万元" — 项 2089999, not 类 208."""
    rep, al = sbj
    text = "主要原因是年中追加支出，实际支出大于预算支出有：2089999-其\n他社会保障和就业支出12858.92万元。"
    assert al.find("2089999-其他社会保障和就业支出").key == "gpb.2089999"
    assert not [f for f in check_text(text, rep) if f.level == "error"]
    # and its 类 is still its 类 (seed 000 五(二)): "社会保障和就业（类）支出 15,530.38 万元"
    assert al.find("社会保障和就业类支出").key == "gpb.208"


def test_other_x_is_not_x(sbj):
    """Seed 000 公开06 lists "30199 其他工资福利支出 0.00" beside 工资福利支出 (301): a sentence quoting
    其他工资福利支出 must not be checked against the whole 类 301 (the 山西 false error of issue 13)."""
    rep, al = sbj
    tie = al.tie("其他工资福利支出")
    assert tie.fact is None and tie.shadowed.key == "econ.301"
    text = "2022年度一般公共预算财政拨款基本支出2518.81万元，其中：其他工资福利支出89.51万元。"
    fs = check_text(text, rep)
    assert [f.rule for f in fs if "89.51" in (f.actual or "")] == ["N-00"]
    assert all(f.level == "info" for f in fs if "89.51" in (f.actual or ""))
    assert "无法核对" in fs[0].message
    # 工资福利支出 itself is still tied (seed 000 六 1.)
    bad = "1.工资福利支出2208.72万元。"
    assert [f.rule for f in check_text(bad, rep)] == ["N-01"]


def test_an_economic_name_is_not_a_functional_code():
    """Seed 002 公开06: "30111 公务员医疗补助缴费 1,542,351.20" (经济分类); 功能分类 2101103 is 公务员医疗补助.
    A figure for the 缴费 is not the 项's amount."""
    rep = load_data(RST)
    al = _Aliases(collect_facts(rep), rep.year)
    tie = al.tie("公务员医疗补助缴费")
    assert tie.fact is None and tie.blocked == "公务员医疗补助缴费"
    fs = check_text("2023年度基本支出中，公务员医疗补助缴费1,542,351.20元。", rep)
    assert not [f for f in fs if f.level == "error"]


def test_full_year_or_adjusted_budget_is_not_the_initial_budget(sbj):
    """Seed 000 公开07's note: "2021 年度预算数为“三公”经费全年预算数，反映按规定程序调整后的预算" — a
    全年预算 / 调整预算 is not the 年初预算 the 决算 compares with: info, never N-01."""
    rep, _ = sbj
    for word in ("全年预算", "调整预算", "调整后预算"):
        text = f"2022年三公经费支出4.17万元，与{word}12.00万元相比，减少7.83万元。"
        fs = check_text(text, rep)
        assert not [f for f in fs if f.level == "error"], (word, fs)
        assert [f.rule for f in fs if f.actual == "12.00万元"] == ["N-00"]
    # the 年初预算 itself is still checked (seed 000 七: "与年初预算10.80万元相比" is right for 三公 … 运行费)
    fs = check_text("2022年三公经费支出4.17万元，与年初预算12.00万元相比，减少7.83万元。", rep)
    assert "N-01" in {f.rule for f in fs}


def test_totals_are_not_the_years_own_totals():
    """Seed 002 一: "2023 年度收、支总计 464320325.00 元" — 公开01's 总计 rows. A 支出总计 is that 总计, not the
    本年支出合计 (408,982,201.79); a 财政拨款收入总计 is 公开04's 总计, not the 收入合计 (the 山西 false errors)."""
    rep = load_data(RST)
    for text in ("2023年度支出总计464,320,325.00元。", "2023年度收入总计464,320,325.00元。",
                 "2023年度财政拨款收入总计450,840,820.87元。", "2023 年度收、支总计 464320325.00 元。"):
        assert not check_text(text, rep), text
    # and the 合计 are still the 合计 (seed 002 三: "2023 年度支出合计 408,982,201.79 元")
    assert not check_text("2023 年度支出合计 408,982,201.79 元。", rep)
    assert [f.rule for f in check_text("2023年度支出合计464,320,325.00元。", rep)] == ["N-01"]


def test_a_numbered_item_carries_its_lists_subject():
    """Seed 002 七(一): "2023年度“三公”经费财政拨款支出决算数比2022年度减少180523.63元，下降32.75%" — written as
    the item of a list whose opening sentence names the 三公 (issue 13: the 山西 "2.公务接待费较去年减少…"), the item
    "1.比2022年度减少…" is a change of the list's subject: checked (right and wrong), not skipped."""
    rep = load_data(RST)
    intro = "2023年度“三公”经费财政拨款支出决算为370,674.75元，较上年变化如下：\n"
    assert not check_text(intro + "1.比2022年度减少180523.63元，下降32.75%。", rep)
    fs = check_text(intro + "1.比2022年度减少180532.63元，下降32.75%。", rep)
    assert [(f.rule, f.expected) for f in fs] == [("N-06", "180,523.63元")]
    # an item that names its own subject is that subject's (seed 002 七(二) 3., the change as the 山西 item words it)
    assert not check_text(intro + "3.公务接待费比2022年度增加29756.00元，增长176.34%。", rep)
    assert [f.rule for f in check_text(intro + "3.公务接待费比2022年度增加29765.00元。", rep)] == ["N-06"]
    # … and as the 山西 item words it: "较去年"
    assert not check_text(intro + "2.公务接待费较去年增加29756.00元。", rep)
    assert [(f.rule, f.expected) for f in check_text(intro + "2.公务接待费较去年减少29756.00元。", rep)] == \
        [("N-06", "增加")]


def test_a_percentage_is_checked_against_the_interval_of_its_printed_operands():
    rep = load_data(SBJ)
    # seed 000 五(一): 15867.83 ÷ 15868.05 = 99.9986 % — every value the printed figures allow rounds to 100.00 %
    fs = check_text("2022年度一般公共预算财政拨款支出 15867.83 万元，占本年支出合计的 99.99%。", rep)
    assert [(f.rule, f.expected) for f in fs] == [("N-04", "100.00%")]
    assert not check_text("2022年度一般公共预算财政拨款支出 15867.83 万元，占本年支出合计的 100.00%。", rep)
    # seed 000 六 3.: 0.51 ÷ 1.04 = 49.04 %, but 1.04 stands for 1.035–1.045: 48.79–49.28 % all fit
    ok = "3.资本性支出0.53万元，较2021年度决算数1.04万元减少0.51万元，降低49.03%。"
    assert not [f for f in check_text(ok, rep) if f.rule == "N-04"]
    bad = "3.资本性支出0.53万元，较2021年度决算数1.04万元减少0.51万元，降低50.03%。"
    assert [f.rule for f in check_text(bad, rep) if f.rule == "N-04"] == ["N-04"]


def test_a_name_two_tables_give_is_tied_to_the_one_the_figure_agrees_with_or_left_as_info():
    """Seed 001 三: "…公务用车运行费 2.75万元，公务接待费 0.15万元。" — 公务接待费 is both 表四's 三公 line and
    表三's 30217 (the 上海 预算 of issue 13 was checked against 30217). Where the two differ, the figure is tied to
    the one it agrees with; agreeing with neither, it cannot be tied to exactly one: info, never an error."""
    rep = load_data(BUDGET)
    sentence = ("市社会保险事业管理中心 2024 年“三公”经费财政拨款预算数为 2.9万元，其中：因公出国（境）费 0万元，"
                "公务用车购置 0 万元，公务用车运行费 2.75万元，公务接待费 0.15万元。")
    assert not check_text(sentence, rep)
    # equal in both tables: the 三公 line, the one a comparison with last year's 三公 budget can go on with
    assert _Aliases(collect_facts(rep), rep.year).find("公务接待费").key == "sangong.reception"
    rep.tables["B03"].rows["30217"].values["total"].amount = Decimal("0.30")   # 表三 now differs from 表四
    assert not check_text(sentence, rep)
    fs = check_text(sentence.replace("公务接待费 0.15万元", "公务接待费 0.20万元"), rep)
    assert [(f.rule, f.level) for f in fs] == [("N-00", "info")] and "无法核对" in fs[0].message


def test_check_narrative_lists_at_most_limit_findings_and_counts_the_rest(tmp_path, capsys):
    from xltools.cli import main

    text = tmp_path / "长文.txt"
    text.write_text(_pdf(SBJ) * 20, encoding="utf-8")
    total = len(check_text(_pdf(SBJ) * 20, load_data(SBJ)))
    assert total > 300
    assert main(["check-narrative", str(text), "--against", str(SBJ), "--limit", "5"]) == 1
    out = capsys.readouterr().out
    assert out.count("原句：") == 5 and f"另有 {total - 5} 条未列出" in out
    assert main(["check-narrative", str(text), "--against", str(SBJ), "--limit", "5", "--json"]) == 1
    import json

    doc = json.loads(capsys.readouterr().out)["files"][0]
    assert len(doc["findings"]) == 5 and doc["total"] == total and doc["omitted"] == total - 5
    assert all(f["level"] == "error" for f in doc["findings"])          # errors first
