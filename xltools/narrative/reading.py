"""How a set's 情况说明 is read: what the words around a figure make of it (the checker's reading rules).

``Reading`` is the 部门决算 reading: 预算 before a figure makes it the 年初预算 of what the clause names,
上年 / <上年>年 the prior-year figure, 增加/减少 a change. A set whose words mean something else (a budget's
预算数 are its own figures) subclasses it; ``xltools.narrative.sets`` gives each set its reading.
"""
from __future__ import annotations

import re

__all__ = ["Reading", "CHANGE_TAIL", "UP_TAIL", "FUNDS", "plain"]

# a figure after these words is a change: 增加 X; 调减 X (“从会议费预算中调减 403.75 万元”); “本年数小于上年预算数
# 403.75 万元” (by how much, not the 上年 figure)
_THAN = r"(?:上年|去年|年初|上年度)?(?:预算数|预算|执行数|决算数|数)?"
CHANGE_TAIL = re.compile(r"(净)?(增加|减少|增长|下降|降低|节约|超支|上升|增幅|降幅|调增|调减|压减|核减|削减|缩减"
                         rf"|(?:小于|大于|少于|多于|低于|高于){_THAN})(了)?$")
UP_TAIL = re.compile(rf"(增加|增长|上升|超支|调增|(?:大于|多于|高于){_THAN})(了)?$")   # of those, the ones up
FUNDS = re.compile(r"一般公共预算|政府性基金预算|国有资本经营预算")
# 全年预算 / 调整预算 / 调整后预算 / 预算调整 are not the 年初预算 a 决算 compares with
OTHER_BUDGETS = re.compile(r"全年预算|调整后?预算|预算调整|追加预算|预算执行")


def plain(clause: str) -> str:
    """A clause without the names of the three budgets (their 预算 is not a 年初预算)."""
    return FUNDS.sub("", clause)


class Reading:
    """The 决算 reading of a clause (normalised text since the last punctuation mark before a figure)."""

    def __init__(self, year: int | None):
        self.year = year
        self.prior_year = f"{year - 1}年" if year else "\0"

    def role(self, clause: str) -> str:
        """actual | budget | prior | change | other (a figure of a kind the tables do not hold)."""
        c = plain(clause)
        if CHANGE_TAIL.search(c):
            return "change"
        if OTHER_BUDGETS.search(c):
            return "other"
        if "预算" in c and "决算" not in c:
            return "budget"
        if "上年" in c or "去年" in c or self.prior_year in c:
            return "prior"
        return "actual"

    def compared_with(self, before: str) -> str | None:
        """What the sentence so far compares with: the later of 上年/<上年>年 and 预算."""
        b = plain(before)
        ip = max(b.rfind("上年"), b.rfind("去年"), b.rfind(self.prior_year))
        ib = b.rfind("预算")
        if ip < 0 and ib < 0:
            return None
        return "prior" if ip > ib else "budget"

    def closing_year(self) -> int | None:
        """The year whose end “截至…年12月31日” must name: a 决算's own year."""
        return self.year

    def unchecked(self, clause: str) -> bool:
        """A figure the set's tables do not give (checked by nobody)."""
        return False

    def gives_reason(self, before: str) -> bool:
        """Words (besides 主要原因) that start the writer's explanation in the text ``before`` a figure."""
        return False

    def sentence_whole(self, sentence: str, facts: dict):
        """The whole a sentence's shares are of when it names none (None: the paragraph's)."""
        return None
