"""Rules on a 情况说明's structure and words, on real published text (each violated and satisfied):
N-11 a list of parts that does not add up to its total, N-12 科目 names against the catalog, N-13 one heading
for two sections, N-14 template text left in; and the change of a 项 a budget narrative states, against 表二."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import SAMPLES
from xltools.narrative import check_text
from xltools.read.datafile import load_data

SBJ, RST = SAMPLES / "ningxia-sbj-2022-final", SAMPLES / "ningxia-rst-2023-final"
ZW = SAMPLES / "zhongwei-sbzx-2024-budget"


def _text(folder, name="情况说明.txt") -> str:
    return (folder / "published" / name).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def reports():
    return {f.name: load_data(f) for f in (SBJ, RST, ZW)}


def _rule(findings, rule):
    return [f for f in findings if f.rule == rule]


# ---------------------------------------------------------------- N-11 parts and their total

@pytest.mark.parametrize("name", ["情况说明.txt", "情况说明.pdf.txt"])
def test_n11_seed_000_leaves_out_303_from_the_basic_expenditure_it_explains(reports, name):
    """六 of seed 000: 基本支出 2518.81 = 301 2208.71 + 302 266.72 + 310 0.53 + 303 42.85; 303 is not listed.
    The same finding from the transcription and from the raw PDF text."""
    fs = _rule(check_text(_text(SBJ, name), reports[SBJ.name]), "N-11")
    assert len(fs) == 1
    f = fs[0]
    assert f.level == "warning"           # “支出具体情况如下” does not claim the list is complete
    assert "基本支出2518.81万元" in f.cell
    assert "2475.96万元" in f.message and "303 对个人和家庭的补助 42.85万元" in f.message
    assert (f.actual, f.expected, f.difference) == ("2475.96万元", "2518.81万元", "42.85")


def test_n11_seed_002_lists_all_four_classes_and_passes(reports):
    """六 of seed 002 lists 301, 302, 303 and 310: they add up to 基本支出 106,247,197.27 元."""
    text = _text(RST)
    assert "3.对个人和家庭的补助7,136,208.38元" in text
    assert _rule(check_text(text, reports[RST.name]), "N-11") == []
    # take 303 out of the same text: now it is reported, in 元
    cut = text.replace("3.对个人和家庭的补助7,136,208.38元，较2023年度年初预算数增加3459308.38元，增长94.08%，"
                       "主要原因是2023年度追加抚恤金；较2022年度决算数增加2287744.51元，增长47.18%。\n", "")
    assert cut != text
    fs = _rule(check_text(cut, reports[RST.name]), "N-11")
    assert [f.level for f in fs] == ["warning"] and "303 对个人和家庭的补助 7,136,208.38元" in fs[0].message


def test_n11_level_follows_the_words_that_introduce_the_list(reports):
    text = _text(SBJ)
    head = "其中：人员经费2251.56元，公用经费267.25万元。支出具体情况如下："
    assert head in text
    # the main items only: no finding
    main = text.replace(head, "其中：人员经费2251.56元，公用经费267.25万元。支出主要包括：")
    assert _rule(check_text(main, reports[SBJ.name]), "N-11") == []
    # words that claim completeness: an error
    full = text.replace(head, "其中：人员经费2251.56元，公用经费267.25万元。支出包括以下三个方面：")
    assert [f.level for f in _rule(check_text(full, reports[SBJ.name]), "N-11")] == ["error"]
    # the list completed with 303: nothing to report
    done = text.replace("3.资本性支出0.53万元", "3.对个人和家庭的补助42.85万元。4.资本性支出0.53万元")
    assert _rule(check_text(done, reports[SBJ.name]), "N-11") == []


def test_n11_one_line_list_of_the_income_lines(reports):
    """二 of seed 000 names all six income lines (zeros included): no finding; without 其他收入 1.05 it is one."""
    text = "2022年度收入合计15765.78万元，其中：财政拨款收入15764.73万元，占99.99%；其他收入1.05万元，占0.01%。"
    assert _rule(check_text(text, reports[SBJ.name]), "N-11") == []
    fs = _rule(check_text("2022年度收入合计15765.78万元，其中：财政拨款收入15764.73万元，占99.99%；"
                          "事业收入0元，占0%。", reports[SBJ.name]), "N-11")
    assert len(fs) == 1 and "其他收入 1.05万元" in fs[0].message


# ---------------------------------------------------------------- N-12 科目 names against the catalog

# seed 000, 第四部分 名词解释 十、十一 (l.1490–1511), line breaks as the PDF text has them
GLOSSARY_000 = """第四部分 名词解释
十、住房保障支出（类）住房改革支出（款）住房公积

金（项）：是按照《住房公积金管理条例》的规定，由单位
 及其在职职工缴存的长期住房储金。
十一、住房保障支出（类）住房改革支出（款）购房补

贴（项）：根据《国务院关于进一步深化城镇住房制度改革

加快住房建设的通知》（国发[1998]23 号）的规定，从 1998

年下半年停止实物分房后，房价收入比超过 4 倍以上地区对

无房和住房未达标职工发放的住房货币化改革补贴资金。
"""
# seed 001 (2024 budget), 名词解释 14–16 (l.1814–1830)
GLOSSARY_001 = """14.社会保障和就业支出（类）人力资源和社会保障管理事
务（款）社会保险经办机构（项）：反映社会保险经办机构开支的经费。
15.社会保障和就业支出（类）行政事业单位离退休（款）
对机关事业单位基本养老保险基金的补助（项）：反映各级财政对机关事业单位基本养老保险基金的补助。
16.社会保障和就业支出（类）其他社会保障和就业支出
（款）其他社会保障和就业支出（项）：反映除上述项目以外其他用于社会保障和就业方面的支出。
"""


def test_n12_glossaries_of_seeds_000_and_001_name_catalog_subjects(reports):
    assert _rule(check_text(GLOSSARY_000, reports[SBJ.name]), "N-12") == []
    assert _rule(check_text(GLOSSARY_001, reports[ZW.name]), "N-12") == []
    # the 项目支出 paragraphs of seed 001 (code + 类/款/项 names) are right too
    assert _rule(check_text(_text(ZW), reports[ZW.name]), "N-12") == []
    assert _rule(check_text(_text(ZW, "情况说明.pdf.txt"), reports[ZW.name]), "N-12") == []


def test_n12_a_name_the_catalog_does_not_know_is_a_warning(reports):
    text = GLOSSARY_000.replace("住房公积\n\n金（项）", "住房公积\n\n金缴存（项）")
    fs = _rule(check_text(text, reports[SBJ.name]), "N-12")
    assert [f.level for f in fs] == ["warning"] and "“住房公积金缴存（项）”不在2022 年" in fs[0].message


def test_n12_a_subject_under_the_wrong_parent_or_code_is_an_error(reports):
    # 行政运行 is a 项 the catalog knows, but not under 住房改革支出 (22102)
    text = GLOSSARY_000.replace("购房补\n\n贴（项）", "行政运\n\n行（项）")
    fs = _rule(check_text(text, reports[SBJ.name]), "N-12")
    assert [f.level for f in fs] == ["error"] and "不属于“住房改革支出”" in fs[0].message
    # seed 001's 2080109 paragraph with the code of 信息化建设 (2080108)
    zw = _text(ZW).replace("2080109社会保障和就业（类）", "2080108社会保障和就业（类）")
    fs = _rule(check_text(zw, reports[ZW.name]), "N-12")
    assert [f.level for f in fs] == ["error"] and "编码应为 2080109，2080108 为“信息化建设”" in fs[0].message
    # a code printed with another code's name (五(三) of seed 000: “2080109-社会保险经办机构 2210.47 万元”)
    text = _text(SBJ)
    assert _rule(check_text(text, reports[SBJ.name]), "N-12") == []
    fs = _rule(check_text(text.replace("2080109-社会保险经办机构", "2080109-行政运行"), reports[SBJ.name]), "N-12")
    assert [f.level for f in fs] == ["error"] and "2080109 的名称应为“社会保险经办机构”" in fs[0].message


# ---------------------------------------------------------------- N-13 one heading for two sections

def test_n13_one_heading_for_two_sections(reports):
    text = _text(SBJ)
    assert _rule(check_text(text, reports[SBJ.name]), "N-13") == []
    # 九 printed with 八's title (the template copied on)
    twice = text.replace("九、国有资本经营预算财政拨款支出情况说明", "九、政府性基金预算财政拨款收入支出决算情况说明")
    fs = _rule(check_text(twice, reports[SBJ.name]), "N-13")
    assert [(f.level, f.cell) for f in fs] == [("error", "九、政府性基金预算财政拨款收入支出决算情况说明")]
    assert "八、政府性基金预算财政拨款收入支出决算情况说明" in fs[0].message
    # a sub-heading repeated within one section: a warning; under another section it is fine
    sub = text.replace("（二）政府采购情况说明", "（一）机关运行经费支出情况说明")
    assert [f.level for f in _rule(check_text(sub, reports[SBJ.name]), "N-13")] == ["warning"]


# ---------------------------------------------------------------- N-14 template text

def test_n14_template_zeros_placeholders_and_instructions(reports):
    rep = reports[SBJ.name]
    real = "根据预算绩效管理要求，自治区社保局组织对 2022 年度项目支出开展绩效自评。"
    assert _rule(check_text(real, rep), "N-14") == []
    fs = _rule(check_text("根据预算绩效管理要求，本部门组织对0等0个0级项目开展绩效自评。", rep), "N-14")
    assert [f.level for f in fs] == ["error"] and "0等0个" in fs[0].actual
    # the 上海 2024 template's instruction (reference/shanghai-2024-final-accounts-template.txt l.286)
    fs = _rule(check_text("主要原因：结余资金减少。（如持平作持平表述）", rep), "N-14")
    assert [f.actual for f in fs] == ["（如持平作持平表述）"]
    fs = _rule(check_text("本年度某某单位无政府性基金预算财政拨款支出。（此处填写原因）", rep), "N-14")
    assert sorted(f.actual for f in fs) == sorted(["（此处填写原因）", "某某单位"])
    # the published 情况说明 of seed 000 keeps the template's 备注 in a heading: a warning
    fs = _rule(check_text(_text(SBJ), rep), "N-14")
    assert [f.level for f in fs] == ["warning"] and fs[0].actual.startswith("（备注：此数据与部门决算中")
    assert _rule(check_text(_text(RST), reports[RST.name]), "N-14") == []


# ---------------------------------------------------------------- a 项's change in the budget narrative vs 表二

def test_budget_narrative_change_of_a_item_is_checked_against_table_two(reports):
    """Seed 001: “2080109…（项）2024年预算 87.00万元，比 2023年执行数增加 21万元，增长 31.82%” — 表二 has
    66.00 上年执行数 and 87.00 本年预算数. Printed right it passes; a wrong change or base is reported."""
    rep = reports[ZW.name]
    text = _text(ZW)
    assert [f for f in check_text(text, rep) if f.level == "error"] == []
    wrong = text.replace("执行数增加 21万元，增长 31.82%", "执行数增加 22万元，增长 31.82%")
    fs = [f for f in check_text(wrong, rep) if f.level == "error"]
    assert ("N-06", "22万元", "21.00万元") in {(f.rule, f.actual, f.expected) for f in fs}
    wrong = text.replace("执行数增加 636.64万元，增加 7.1%", "执行数增加 637.64万元，增加 7.1%")
    assert wrong != text
    fs = [f for f in check_text(wrong, rep) if f.level == "error"]
    assert [(f.rule, f.expected) for f in fs] == [("N-06", "636.64万元")]


# ---------------------------------------------------------------- 经济 vs 功能 in the budget tables (W-B03/S08/J08)

def _edited(tmp_path, name, table, old, new):
    import shutil
    import tempfile

    dst = Path(tempfile.mkdtemp(dir=tmp_path)) / name
    shutil.copytree(SAMPLES / name, dst, ignore=shutil.ignore_patterns("*.xlsx", "published"))
    p = dst / f"{table}.csv"
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new), encoding="utf-8")
    return load_data(dst)


def _soft(report, prefix):
    from xltools.rules import check_report

    return [f for f in check_report(report) if f.rule.startswith(prefix)]


@pytest.mark.parametrize("name,prefix", [("zhongwei-sbzx-2024-budget", "W-B03-"),
                                         ("shanghai-putuo-sfj-2026-budget", "W-S08-"),
                                         ("shanghai-putuo-sfj-2026-unit-budget", "W-S08-"),
                                         ("jiangsu-swbgt-2019-budget", "W-J08-")])
def test_economic_and_functional_agree_in_the_published_budgets(name, prefix):
    """住房公积金 30113 = 2210201, 养老 30108 = 2080505, 职业年金 30109 = 2080506 (基本支出), 医疗 30110 ≤ 2101101–03
    (江苏's 公开07 prints 基本 and 项目 together: at most) — all four published budgets agree."""
    assert _soft(load_data(SAMPLES / name), prefix) == []


def test_economic_and_functional_disagree(tmp_path):
    # 宁夏 (seed 001): 表三's 住房公积金 typed as 39.21 for 表二's 29.21 基本支出
    rep = _edited(tmp_path, "zhongwei-sbzx-2024-budget", "B03", "30113,住房公积金,29.21,29.21", "30113,住房公积金,39.21,39.21")
    fs = _soft(rep, "W-B03-")
    assert [(f.rule, f.level) for f in fs] == [("W-B03-01", "warning")]
    assert "30113" in fs[0].message and "2210201" in fs[0].message and fs[0].difference == "10.00"
    # 医疗: 30110 12.32 is at most 2101102's 18.19 (which pays 30111 5.88 too); above it is reported
    rep = _edited(tmp_path, "zhongwei-sbzx-2024-budget", "B03", "30110,职工基本医疗保险缴费,12.32,12.32",
                  "30110,职工基本医疗保险缴费,18.32,18.32")
    assert [f.rule for f in _soft(rep, "W-B03-")] == ["W-B03-04"]
    # 江苏 2019: 公开08's 30113 above 公开07's 2210201
    rep = _edited(tmp_path, "jiangsu-swbgt-2019-budget", "J08", "30113,住房公积金,965.87", "30113,住房公积金,995.87")
    assert [f.rule for f in _soft(rep, "W-J08-")] == ["W-J08-01"]


# ---------------------------------------------------------------- N-12 / N-13 on published PDFs (江苏 2017–2019)

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
if not CORPUS.is_dir():
    CORPUS = Path("/work/shared/corpus")


def _pdf_wording(name):
    from xltools.importer import read_any
    from xltools.narrative.wording import wording_findings

    path = CORPUS / "jiangsu" / name
    if not path.is_file():
        pytest.skip(f"corpus PDF not here: {path}")
    rep, text, _ = read_any(path)
    assert text
    return wording_findings(text, rep)


def test_pdf_table_of_contents_and_bracketed_names_are_no_findings():
    """省委办公厅 2017: the 目录's tail repeats “第三部分…情况说明” before the part itself (no N-13), and
    “党委办公厅（室）及相关机构事务（款）” keeps its （室） (no N-12)."""
    assert _pdf_wording("江苏省委办公厅--江苏省委办公厅2017年部门预算.pdf") == []


def test_pdf_page_break_inside_a_name_and_a_kuan_called_a_lei():
    """人大常委会 2019 calls the 款 行政事业单位离退休 / 住房改革支出 “（类）” (5 warnings); “离退─ 11 ─休” (a page
    number inside the name) is read as 离退休."""
    fs = _pdf_wording("江苏省人大办公厅--江苏省人大常委会2019年度部门预算公开.pdf")
    assert [(f.rule, f.level) for f in fs] == [("N-12", "warning")] * 5
    assert all("不是类级科目名称" in f.message and "─" not in f.message for f in fs)
    assert sum("“住房改革支出”" in f.message for f in fs) == 2


# 江苏省政协办公厅 2017 年度部门预算 (../shared/corpus), 六、财政拨款基本支出预算表情况说明, pp. 10–12 as the PDF text
# layer has them: the 基本支出 by 经济分类 类/款 (2017 names: 医疗费, 住房公积金 and 提租补贴 under 303)
ECONOMIC_2017 = """江苏省政协办公厅 2017 年度财政拨款基本支出预算
5,836.27 万元，其中：
（一）人员经费 4,704.35 万元
1、工资福利支出（类）2,097.51 万元
（1）基本工资（款）支出 737.94 万元。用于发放机关公务
员的职务工资、级别工资；机关工人的岗位工资、技术等级工资；
事业人员的岗位工资、薪级工资等。
（2）津贴补贴（款）支出 1,263.76 万元。用于发放机关人
员津贴补贴及岗位津贴等。
2、对个人和家庭的补助支出（类）2,606.84 万元
（1）离休费（款）支出 163 万元。用于发放离休人员离休费、
护理费等。
（3）医疗费（款）支出 20.40 万元。用于儿童医疗统筹费支
出。
（5）住房公积金（款）支出 341.75 万元。用于按规定比例
为职工缴纳的住房公积金。
（6）提租补贴（款）支出 751.77 万元。用于发放职工租金
补贴。
（二）公用经费 1,131.92 万元
商品和服务支出（类）1,131.92 万元
（1）办公费（款）支出 110 万元。用于单位购买按财务会计
制度规定不符合固定资产确认标准的办公用品、书报杂志等支出。
"""


def test_n12_economic_class_names_are_checked_against_the_economic_catalog():
    from xltools.narrative.text import paragraphs
    from xltools.narrative.wording import subject_findings

    def n12(text, year=2017):
        return [(f.level, f.message) for f in subject_findings(paragraphs(text), year)]

    # the published text names 经济分类 类/款 (it gave 35 warnings against the functional catalog), and no
    # amount before a name is read as its code (“4,704.35 万元1、工资福利支出（类）” is not code 704)
    assert n12(ECONOMIC_2017) == []
    # a 款 that is not an economic one, and one under the wrong 类, are still found
    fs = n12(ECONOMIC_2017.replace("（2）津贴补贴（款）", "（2）津贴补助（款）"))
    assert [lv for lv, _ in fs] == ["warning"] and "津贴补助（款）" in fs[0][1]
    fs = n12("商品和服务支出（类）基本工资（款）支出 737.94 万元。")
    assert [lv for lv, _ in fs] == ["error"] and "不属于“商品和服务支出”" in fs[0][1]
    # 住房公积金 as a 款 of 对个人和家庭的补助 is a 2017 name; in 2024 it is 30113 under 工资福利支出
    assert n12("对个人和家庭的补助支出（类）住房公积金（款）支出 341.75 万元。") == []
    fs = n12("对个人和家庭的补助支出（类）住房公积金（款）支出 341.75 万元。", 2024)
    assert [lv for lv, _ in fs] == ["error"], fs


def test_budget_income_parts_named_as_江苏_prints_them(tmp_path):
    """“本年收入预算合计 …，其中：一般公共预算收入 …；政府性基金预算收入 0万元” (江苏省检察院 2017, 省人大办公厅
    2018): each part is its own figure (公开04's 一般公共预算 / 政府性基金预算), not a second 本年收入."""
    import shutil

    from xltools.read.datafile import load_data

    data = tmp_path / "unit"
    shutil.copytree(SAMPLES / "jiangsu-swbgt-2019-budget", data)
    j01 = (data / "J01.csv").read_text(encoding="utf-8")
    for a, b in (("other,三、其他资金,,", "other,三、其他资金,15.00,"), ("income_sub,当年收入小计,27664.22", "income_sub,当年收入小计,27679.22"),
                 ("income_total,收入合计,27664.22", "income_total,收入合计,27679.22")):
        assert a in j01
        j01 = j01.replace(a, b)
    (data / "J01.csv").write_text(j01, encoding="utf-8")
    rep = load_data(data)
    text = ("本单位本年收入预算合计 27679.22 万元，其中：一般公共预算收入 27664.22 万元，占 99.95%；"
            "政府性基金预算收入 0万元，占0 %；其他资金 15 万元，占 0.05 %。")
    assert _rule(check_text(text, rep), "N-01") == []
    fs = _rule(check_text(text.replace("一般公共预算收入 27664.22", "一般公共预算收入 27664.25"), rep), "N-01")
    assert [f.actual for f in fs] == ["27664.25 万元"], [(f.actual, f.message) for f in fs]


def test_a_name_inside_the_words_of_an_explanation_does_not_tie_its_amount():
    """江苏省人大办公厅 2018: “主要原因是新增省人大立法研究所办公用房以及省级老同志阅文室专项经费280万元” was
    compared with the 项 人大立法 (its name is inside “人大立法研究所”, 21 characters before the amount). Here the
    same sentence on 江苏's sample with its 项 未归口管理的行政单位离退休 (275.54): no finding; the figure named
    right before the amount in an explanation is still checked."""
    rep = load_data(SAMPLES / "jiangsu-swbgt-2019-budget")
    far = ("离退休支出比上年增加 300 万元。主要原因是新增未归口管理的行政单位离退休干部活动中心办公用房以及"
           "省级老同志阅文室专项经费280万元，内网等改造专项经费200万元。")
    assert _rule(check_text(far, rep), "N-01") == []
    near = "主要原因是未归口管理的行政单位离退休支出 280 万元。"
    fs = _rule(check_text(near, rep), "N-01")
    assert [f.actual for f in fs] == ["280 万元"] and "275.54" in fs[0].message, [(f.actual, f.message) for f in fs]


# ---------------------------------------------------------------- a name two tables give: the section's table

def _procuratorate_2017():
    from xltools.importer import read_any

    path = CORPUS / "jiangsu" / "江苏省人民检察院--2017年省检察院部门预算.pdf"
    if not path.is_file():
        pytest.skip(f"corpus PDF not here: {path}")
    rep, text, _ = read_any(path)
    return rep, text


def _n01(text, rep):
    from xltools.narrative.check import check_text

    return [f for f in check_text(text, rep) if f.rule == "N-01"]


def test_a_class_named_in_the_section_of_the_all_funds_table_is_that_tables():
    """省检察院 2017: 公开01 (收支预算总表, all funds) gives 公共安全 13,656.34 万元, 公开05 (财政拨款) 13,641.34.
    “一、收支预算总表情况说明 … 公共安全（类）支出 13656.34 万元” quotes 公开01 and is right; the same words in the
    财政拨款 section, or in no table's section, mean 公开05's, so the all-funds figure there is still an error."""
    rep, text = _procuratorate_2017()
    assert "1．公共安全（类）支出 13656.34 万元" in text
    assert not any("13656.34" in f.cell for f in _n01(text, rep))
    line = "1．公共安全（类）支出 {} 万元。\n"
    all_funds = "一、收支预算总表情况说明\n（二）支出预算总计 17996.68 万元。包括：\n"
    fiscal = "五、财政拨款支出预算表情况说明\n省检察院 2017 年财政拨款预算支出 17981.68 万元。\n"
    assert _n01(all_funds + line.format("13656.34"), rep) == []
    assert _n01(fiscal + line.format("13641.34"), rep) == []
    wrong = _n01(fiscal + line.format("13656.34"), rep)
    assert [(f.level, "J05!204" in f.message) for f in wrong] == [("error", True)]
    wrong = _n01(all_funds + line.format("13641.34"), rep)
    assert [(f.level, "J01!204" in f.message) for f in wrong] == [("error", True)]
    # a section heading naming no table closes the all-funds section; with none, the 财政拨款 figure is meant
    closed = all_funds + "二、收入预算情况说明\n" + line.format("13656.34")
    assert [("J05!204" in f.message) for f in _n01(closed, rep)] == [True]
    assert [("J05!204" in f.message) for f in _n01(line.format("13656.34"), rep)] == [True]


def test_section_headings_name_their_tables_by_title_or_by_the_words_tables_yaml_gives():
    """江苏 2017 heads its sections with the tables' titles, 2018–2019 with “收支预算总体情况” (tables.yaml
    ``sections:``); “财政拨款收支预算总体情况” is 公开04's, not 公开01's; a heading naming no table names none."""
    from xltools.narrative.check import _Aliases, _titles

    rep, _ = _procuratorate_2017()
    a = _Aliases({}, rep.year, _titles(rep))
    assert a.table_named("一、收支预算总表情况说明") == "J01"
    assert a.table_named("一、收支预算总体情况说明") == "J01"
    assert a.table_named("四、财政拨款收支预算总表情况说明") == "J04"
    assert a.table_named("四、财政拨款收支预算总体情况说明") == "J04"
    assert a.table_named("五、财政拨款支出预算表情况说明") == "J05"
    assert a.table_named("二、收入预算情况说明") is None


def test_by_how_much_a_figure_differs_is_a_change_not_the_figure():
    """人大 2017: “会议费预算支出 1305.25 万元，本年数小于上年预算数 403.75 万元，原因是从会议费预算中调减 403.75
    万元用于培训费开支” — 403.75 is by how much (小于上年预算数 X, 调减 X), not 会议费 (no N-01); 大于/调增 X go up."""
    from xltools.narrative.reading import CHANGE_TAIL, UP_TAIL

    for clause in ("本年数小于上年预算数", "从会议费预算中调减", "比上年预算数大于", "压减", "比上年增加"):
        assert CHANGE_TAIL.search(clause), clause
    assert UP_TAIL.search("本年数大于上年预算数") and UP_TAIL.search("调增")
    assert not UP_TAIL.search("本年数小于上年预算数") and not UP_TAIL.search("调减")
    for clause in ("会议费预算支出", "占三公经费的", "上年预算数"):
        assert not CHANGE_TAIL.search(clause), clause
    rep, _ = _procuratorate_2017()
    text = ("十一、一般公共预算“三公”经费、会议费、培训费支出预算表情况说明\n"
            "省检察院 2017 年度一般公共预算拨款安排的会议费预算支出 168 万元，本年数小于上年预算数 20 万元，原因是从会议费"
            "预算中调减 20 万元用于培训费开支。\n")
    assert _n01(text, rep) == []
    assert [f.rule for f in _n01(text.replace("支出 168 万元", "支出 186 万元"), rep)] == ["N-01"]


def test_a_share_printed_of_the_tables_total_with_meetings_and_training_is_on_the_wrong_base():
    """人大 2017 prints 因公出国（境）费 222.5 万元 “占“三公”经费的 8.75%”: 8.75 % is of 公开09's 合计 2,542.60
    (“三公” + 会议费 + 培训费), not of the “三公” 833.60 (26.69 %): N-03, naming the base the text used — one
    headline for the sentence's three shares."""
    from xltools.importer import read_any
    from xltools.narrative.check import check_text

    path = CORPUS / "jiangsu" / "江苏省人大办公厅--江苏省人大办公厅2017年度预算公开.pdf"
    if not path.is_file():
        pytest.skip(f"corpus PDF not here: {path}")
    rep, text, _ = read_any(path)
    n03 = [f for f in check_text(text, rep) if f.rule == "N-03"]
    assert [f.expected for f in n03] == ["26.69%", "22.02%", "51.28%"]
    assert all("“三公”经费、会议费、培训费合计（2542.60万元）" in f.message for f in n03)
    # one defect (one wrong base): the first share is its headline, the other two name it as their cause
    assert [f.cause for f in n03] == [None, f"N-03@{n03[0].cell}", f"N-03@{n03[0].cell}"]


def test_the_wrong_shares_of_one_sentence_are_one_defect():
    """检察院 2017 prints the three 三公 shares 18.85 / 54.43 / 26.72 % of 584.35 (18.82 / 54.39 / 26.79 %): one
    headline (N-04), the other two beneath it; a change rate wrong in another sentence stays a headline of its own."""
    from xltools.narrative.check import check_text

    rep, text = _procuratorate_2017()
    n04 = [f for f in check_text(text, rep) if f.rule == "N-04"]
    shares = [f for f in n04 if "“三公”经费的比重应为" in f.message]
    assert [f.expected for f in shares] == ["18.82%", "54.39%", "26.79%"]
    assert [f.cause for f in shares] == [None, f"N-04@{shares[0].cell}", f"N-04@{shares[0].cell}"]
    assert [f.cause for f in n04 if f not in shares] == [None, None]     # 2.31 % and 129.97 %
