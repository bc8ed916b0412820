"""N-11: a narrative list of parts that does not add up to the total it explains.

A sentence gives a total ("基本支出2518.81万元") and then its parts — in the same paragraph ("其中：…",
"包括：…", "分别为…") or in the numbered items that follow it ("1.工资福利支出…  2.商品和服务支出…"). The
parts are figures of one group of facts (the lines of one table that add up to one total: 公开06's 类,
公开03's 基本/项目/…, 公开05's 类 …); the total is the one the list explains when its printed value is the
table's Σ of that group. When the parts named are only some of the group's non-zero lines, the list
does not add up to its total; the lines it leaves out are named.

Level, by the words between the total and its parts:
  * "主要" (主要包括 / 主要用于) or "等" after the last part: the writer lists the main items — no finding;
  * words that claim the list is complete ("分别为", "包括：…三部分", "由…组成/构成"): error;
  * anything else ("其中：", "具体情况如下："): warning.

The module knows nothing of a set: the facts (with their ``group``), how a clause names a fact and what
role a figure plays (the set's reading) come from the checker, which calls :func:`parts_findings`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from xltools.model import ZERO
from xltools.narrative.facts import Fact
from xltools.narrative.text import paragraphs, sectioned, sentences
from xltools.rules.engine import Finding

__all__ = ["parts_findings", "RULE"]

RULE = "N-11"
TABLE = "情况说明"
_DIGITS = str.maketrans("０１２３４５６７８９．，％", "0123456789.,%")
_MAIN = re.compile(r"主要(?!原因)|重点|部分(?:支出|项目)")   # “主要包括”: the main items only
_ETC = re.compile(r"^\s*(?:元|万元)?\s*(?:[，,、]?\s*)等")  # “…0.53万元等”
_COMPLETE = re.compile(r"分别(?:为|是)|由.{0,12}(?:组成|构成)|[一二三四五六七八九十两\d]+(?:个)?(?:部分|方面|项)(?:[:：，,。]|$)")


@dataclass
class _Figure:
    fact: Fact | None
    yuan: Decimal            # as written, in 元
    decimals: int
    unit: str
    sentence: str            # digits folded to ASCII (same length as the text)
    text: str                # as written
    pos: int                 # start in the sentence
    end: int


def _to_yuan(value: Decimal, unit: str) -> Decimal:
    return value * 10000 if unit == "万元" else value


def _half(decimals: int, unit: str) -> Decimal:
    return _to_yuan(Decimal("0.5") * Decimal(1).scaleb(-decimals), unit)


def _fmt(yuan: Decimal, unit: str) -> str:
    v = yuan / 10000 if unit == "万元" else yuan
    return f"{v.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}{unit}" if unit == "元" else \
        f"{v.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}{unit}"


def _code(fact: Fact) -> str:
    tail = fact.key.rsplit(".", 1)[-1]
    return f"{tail} " if tail.isdigit() else ""


def parts_findings(text: str, facts: dict[str, Fact], *, mentions: Callable, tie: Callable, role: Callable,
                   amount_unit: str = "元", table_named: Callable = lambda heading: None) -> list[Finding]:
    """N-11 findings for ``text``. ``mentions(sentence)`` gives the figures of a sentence (the checker's
    Mention records), ``tie(clause, table)`` the fact a clause names in a section about ``table`` (an object with
    ``.fact``), ``role(clause)`` what the figure is (actual | budget | prior | change | other),
    ``table_named(heading)`` the table a heading names."""
    groups: dict[str, list[Fact]] = {}
    for f in facts.values():
        if f.group and f.kind == "amount":
            groups.setdefault(f.group, []).append(f)
    if not groups:
        return []
    out: list[Finding] = []
    block: list[list[_Figure]] = []
    block_sents: list[list[str]] = []

    def flush():
        if block:
            out.extend(_check_block(block, block_sents, groups, amount_unit))
        block.clear()
        block_sents.clear()

    for para, table in sectioned(paragraphs(text), table_named):
        if para.heading or not para.item:
            flush()
        if para.heading:
            continue
        figs: list[_Figure] = []
        sents = []
        for sentence in sentences(para.text):
            s = sentence.translate(_DIGITS)
            sents.append(s)
            in_reason = False
            for m in mentions(sentence):
                if m.kind != "amount":
                    continue
                # the writer's explanation (主要原因…, brackets) is not the list
                in_reason = in_reason or m.after_reason or "原因" in s[:m.start]
                if m.in_brackets or in_reason:
                    continue
                if role(m.clause) != "actual":
                    continue
                t = tie(m.clause, table)
                # a name two facts share (财政拨款收入 of 公开01 and of 公开04): the one in a group
                fact = t.fact if t.fact is not None and t.fact.group else next(
                    (f for f in getattr(t, "candidates", ()) if f.group), t.fact)
                figs.append(_Figure(fact, _to_yuan(m.value, m.unit), m.decimals, m.unit, s, sentence, m.start,
                                    m.end))
        block.append(figs)
        block_sents.append(sents)
    flush()
    return out


def _check_block(block: list[list[_Figure]], block_sents, groups: dict[str, list[Fact]],
                 amount_unit: str) -> list[Finding]:
    figures = [f for figs in block for f in figs]
    out = []
    done: set[str] = set()
    for gi, first in enumerate(figures):
        g = first.fact.group if first.fact is not None else ""
        if not g or g in done:
            continue
        members = groups[g]
        parts = [f for f in figures[gi:] if f.fact is not None and f.fact.group == g]
        named = {f.fact.key for f in parts}
        if len(named) < 2:
            continue
        # the total the list explains: the last figure before its first part whose printed value is Σ group
        table_sum = sum((m.value for m in members), ZERO)
        per_row = _half(2, "万元") if amount_unit == "万元" else ZERO
        total = None
        for cand in reversed(figures[:gi]):
            if cand.fact is not None and cand.fact.group == g:
                continue
            tol = _half(cand.decimals, cand.unit) + per_row * len(members)
            if abs(cand.yuan - table_sum) <= tol:
                total = cand
                break
        if total is None:
            continue
        done.add(g)
        missing = [m for m in members if m.key not in named and m.value != ZERO]
        named_sum = sum((m.value for m in members if m.key in named), ZERO)
        tol = _half(total.decimals, total.unit) + per_row * len(members)
        if not missing or abs(table_sum - named_sum) <= tol:
            continue
        level = _level(total, parts, block_sents)
        if level is None:
            continue
        unit = total.unit or amount_unit
        written = " + ".join(f"{p.fact.label} {_fmt(p.yuan, p.unit or unit)}" for p in _unique(parts))
        parts_sum = sum((p.yuan for p in _unique(parts)), ZERO)
        left = "、".join(f"{_code(m)}{m.label} {_fmt(m.value, unit)}" for m in missing)
        msg = (f"所列各项之和与总数不符：{written} = {_fmt(parts_sum, unit)}，不等于所说明的总数 "
               f"{_fmt(total.yuan, total.unit)}；未列出表中的 {left}")
        if level == "warning":
            msg += "（若只列主要项目，宜写“主要包括”或“等”）"
        left_out = (table_sum - named_sum) / (10000 if unit == "万元" else 1)
        out.append(Finding(RULE, level, TABLE, total.text, msg, expected=_fmt(table_sum, unit),
                           actual=_fmt(parts_sum, unit),
                           difference=str(left_out.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))))
    return out


def _unique(parts: list[_Figure]) -> list[_Figure]:
    seen, out = set(), []
    for p in parts:
        if p.fact.key not in seen:
            seen.add(p.fact.key)
            out.append(p)
    return out


def _level(total: _Figure, parts: list[_Figure], block_sents) -> str | None:
    """None (the main items only), "error" (the words claim the list is complete) or "warning"."""
    first, last = parts[0], parts[-1]
    joined = "".join(s for sents in block_sents for s in sents)
    a, b, c = joined.find(total.sentence), joined.find(first.sentence), joined.find(last.sentence)
    if min(a, b, c) < 0:
        return "warning"
    # the words that introduce the list (from the total to its first part) and those after its last part
    between = joined[a + total.end:b + first.pos]
    after = joined[c + last.end:c + last.end + 8]
    if _MAIN.search(between) or _ETC.match(after):
        return None
    if _COMPLETE.search(between):
        return "error"
    return "warning"
