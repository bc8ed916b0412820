"""Shares of a zero total are not printed (no “占0.00%” of nothing), and the console lists each missing
说明事项 item as the text shows it (【请填写…】 or 【待计算…：需先填写“…”】)."""
from __future__ import annotations

import re

import pytest

from conftest import SAMPLES
from xltools.cli import main
from xltools.narrative import render
from xltools.narrative.check import read_narrative
from xltools.narrative.engine import NO_SHARE
from xltools.read.datafile import load_data
from xltools.read.workbook import read_workbook


@pytest.fixture(scope="module")
def blank(tmp_path_factory):
    book = tmp_path_factory.mktemp("zero") / "blank.xlsx"
    assert main(["new", "-o", str(book), "--unit", "测试单位", "--year", "2024"]) == 0
    return book


def test_no_share_of_a_zero_total(blank):
    text = render(read_workbook(blank)).text()
    assert "占0.00%" not in text and NO_SHARE not in text and "0.00%" not in text
    # the amounts are still there, without the share clause
    assert "2024年度收入合计0.00万元，其中：财政拨款收入0.00万元；上级补助收入0.00万元；" in text
    assert "2024年度支出合计0.00万元，其中：基本支出0.00万元；项目支出0.00万元；" in text
    assert "一般公共预算财政拨款支出0.00万元。与2023年度相比" in text       # no “，占本年支出合计的…”


def test_shares_of_a_real_total_are_unchanged():
    """ningxia-sbj-2022: the shares of its income add to 100.00 %; a zero line of a non-zero total is 0.00 %."""
    text = render(load_data(SAMPLES / "ningxia-sbj-2022-final")).text()
    assert "占本年支出合计的100.00%" in text
    assert "上级补助收入0.00万元，占0.00%" in text
    income = re.search(r"收入合计[^。]*。", text).group(0)
    shares = [float(x) for x in re.findall(r"占(\d+\.\d\d)%", income)]
    assert shares and abs(sum(shares) - 100) < 1e-9


def test_console_lists_missing_items_as_the_text_shows_them(blank, tmp_path, capsys):
    import shutil
    book = tmp_path / "b.xlsx"
    shutil.copy(blank, book)
    capsys.readouterr()
    assert main(["narrative", str(book), "--no-docx"]) == 0
    out = capsys.readouterr().out
    listed = [line[4:] for line in out.splitlines() if line.startswith("  - ")]
    text = read_narrative(book, sheet="情况说明")
    assert listed and all(item in text for item in listed), [i for i in listed if i not in text]
    # the computed figures waiting for an item are listed as the text shows them, not as 【请填写…】
    waiting = [i for i in listed if i.startswith("【待计算")]
    assert waiting and all("需先填写“" in i for i in waiting)
    assert "【待计算增减额及增减率：需先填写“上年度收入支出总计（上年决算数）”】" in listed
