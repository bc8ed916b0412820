"""A 情况说明 as people get it → its paragraphs and sentences.

Text copied from a PDF breaks every printed line (and repeats page headers, footers and page numbers);
a .docx has soft line breaks inside paragraphs; a transcription joins the lines of a paragraph. All of
them are rebuilt the same way, so the checker sees the same sentences whatever the source:

* line breaks, page breaks, soft breaks and blank lines are all just "a line ended here"; the lines
  are joined without a separator (Chinese needs none) after page furniture is dropped: page numbers
  ("- 7 -", "第 3 页", "3/10", a number alone on a line) and running headers/footers (a short line
  without punctuation that comes back three times or more);
* a heading (一、… / （一）… / 第三部分 … with no sentence punctuation) ends where its line ends
  (once its brackets are closed);
* a numbered item (1. / （1） / （一） / 一、) starts a paragraph where it follows the end of a
  sentence or a colon, wherever the line breaks fell; such a paragraph is marked ``item`` (the
  checker lets it carry the subject of the paragraph that opened the list).

Everything is linear in the length of the text.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

__all__ = ["Para", "paragraphs", "sectioned", "sentences", "MAX_SENTENCE"]

_BREAKS = re.compile(r"\r\n|[\r\f\v\x0b\x1c\x1d\x1e\x85\u2028\u2029]")
_PAGE_NO = re.compile(r"^(?:[-—－–]\s*\d{1,4}\s*[-—－–]|第\s*\d{1,4}\s*页(?:\s*[,，/／]?\s*共\s*\d{1,4}\s*页)?|"
                      r"\d{1,4}\s*[/／]\s*\d{1,4}|[（(]?\d{1,3}[)）]?|[-—－–]?\s*\d{1,3}\s*[-—－–]?)$")
_CN = "一二三四五六七八九十"
_SECTION = re.compile(rf"^(?:第[{_CN}]+部分|[{_CN}]+、|[（(][{_CN}]+[)）])")
# a numbered item where it may start: after a sentence end or a colon (or at the very start)
_ITEM_AT = re.compile(rf"(?<=[。！？；：:;])\s*(?=(?:[{_CN}]+、|[（(][{_CN}]+[)）]|[（(]\d{{1,2}}[)）]|\d{{1,2}}[.．、](?!\d)))")
_ITEM = re.compile(rf"^(?:[{_CN}]+、|[（(][{_CN}]+[)）]|[（(]\d{{1,2}}[)）]|\d{{1,2}}[.．、](?!\d))")
_TOP = re.compile(rf"^(?:第[{_CN}]+部分|[{_CN}]+、)")      # a part or a section, not a sub-section （一）
_NUMBERED = re.compile(r"^(?:[（(]\d{1,2}[)）]|\d{1,2}[.．、](?!\d))")
_SENTENCE_PUNCT = re.compile(r"[。！？；，：,;:!?]")
_ENDS = "。！？；：:;!?"
_HEAD_MAX = 200               # a heading (with its bracketed note) is never longer
_HEAD_END = re.compile(r"(说明|情况|事项|概况|职责|解释|[)）])$")
MAX_SENTENCE = 2000           # a longer "sentence" is cut at its last ；/， (a text without 。 stays linear)


@dataclass(frozen=True)
class Para:
    text: str
    heading: bool = False     # a heading line (no sentence punctuation)
    item: bool = False        # a numbered item of a list (1. / （1）), carries the list's subject


def _outside_brackets(s: str) -> str:
    """The text outside （…） (a heading's bracketed note may hold punctuation)."""
    return _BRACKETED.sub("", s)


_BRACKETED = re.compile(r"[（(][^（）()]*[)）]")


def _is_heading(s: str) -> bool:
    bare = _outside_brackets(s)
    return _SECTION.match(s) is not None and not _SENTENCE_PUNCT.search(bare) and len(bare) <= 80


def _balanced(s: str) -> bool:
    return s.count("（") + s.count("(") <= s.count("）") + s.count(")")


def _lines(text: str) -> list[str]:
    lines = [ln.strip() for ln in _BREAKS.sub("\n", text).split("\n")]
    lines = [ln for ln in lines if ln and not _PAGE_NO.match(ln)]
    # running headers and footers: a short line without punctuation that comes back again and again
    counts = Counter(ln for ln in lines if 4 <= len(ln) <= 40 and not _SENTENCE_PUNCT.search(ln)
                     and not _ITEM.match(ln))
    furniture = {ln for ln, n in counts.items() if n >= 3}
    return [ln for ln in lines if ln not in furniture]


def paragraphs(text: str) -> list[Para]:
    """The paragraphs of a narrative, rebuilt from its lines (see the module docstring)."""
    blocks: list[tuple[str, bool]] = []       # (text, heading)
    cur: list[str] = []
    lines = _lines(text)
    # a heading wrapped by the page width goes on: its line is as long as a full line of the text
    lengths = sorted(len(ln) for ln in lines)
    full = lengths[len(lengths) * 9 // 10] * 2 / 3 if lengths else 0
    size = 0                                  # len("".join(cur)): only a short block can be a heading
    for ln in lines:
        if cur:
            if size <= _HEAD_MAX and _SECTION.match(cur[0]):
                joined = "".join(cur)
                if _is_heading(joined) and _balanced(joined) and (len(cur[-1]) < full or _HEAD_END.search(joined)):
                    blocks.append((joined, True))
                    cur, size = [], 0
            if cur and _SECTION.match(ln) and cur[-1][-1] in _ENDS:
                blocks.append(("".join(cur), False))    # a section starts after a finished sentence
                cur, size = [], 0
        cur.append(ln)
        size += len(ln)
    if cur:
        joined = "".join(cur)
        blocks.append((joined, _is_heading(joined)))
    out: list[Para] = []
    for block, heading in blocks:
        if heading:
            out.append(Para(block, heading=True))
            continue
        for part in _ITEM_AT.split(block):
            part = part.strip()
            if part:
                out.append(Para(part, item=_NUMBERED.match(part) is not None))
    return out


_SENT = re.compile(r"(?<=[。！？])")


def sentences(paragraph: str) -> list[str]:
    """The sentences of a paragraph (ending in 。！？); one longer than MAX_SENTENCE is cut at ；/， before it."""
    out = []
    for p in _SENT.split(paragraph):
        p = p.strip()
        while len(p) > MAX_SENTENCE:
            cut = max(p.rfind(c, 0, MAX_SENTENCE) for c in "；;，,")
            cut = cut + 1 if cut > MAX_SENTENCE // 2 else MAX_SENTENCE
            out.append(p[:cut])
            p = p[cut:].strip()
        if p:
            out.append(p)
    return out


def sectioned(paras, table_named):
    """Each paragraph with the table its section speaks of (None: none named): a heading that names a table
    (``table_named(heading)`` → its id, “一、收支预算总表情况说明”) opens that table's section, which its
    sub-sections （一）… keep; the next part or section heading (“第三部分…”, “二、…”) naming none closes it."""
    table = None
    for para in paras:
        if para.heading:
            named = table_named(para.text)
            if named is not None or _TOP.match(para.text):
                table = named
        yield para, table
