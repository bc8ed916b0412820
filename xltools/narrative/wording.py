"""Rules on a 情况说明's words and outline (no figure of the tables needed):

  N-12 a 科目 named in the text — “住房保障支出（类）住房改革支出（款）住房公积金（项）” in a 名词解释 or a
       项目支出 paragraph, or “2080109-社会保险经办机构” — that the year's catalog does not know, or a
       code printed with another 科目's name. Warning (the catalog may lag a year's revision); error where it
       is clearly wrong: a 项 the catalog knows put under a 款 it does not belong to, or a code printed with
       the name of another code.
  N-13 one heading used for two sections (“七、政府采购支出情况说明” twice): error for the same heading at the
       top level (第…部分 / 一、), warning for a sub-heading repeated within one section.
  N-14 template text left in: zeros of an unfilled template (“对0等0个0级项目”), placeholders (“某某单位”;
       “XX单位” is N-08's), and the template's instructions (“（此处填写…）”, “（如持平作持平表述）”, “（备注：…）”).
  N-15 doubled punctuation (“。。”, “，，”, “、、”, “；；”): a typo, warning.

The rest of a published PDF's words — cover, 目录, 第一部分, part headings, table titles and notes, 名词解释 (what
xltools.importer.document_text gives) — is checked by :func:`document_findings` for what can be wrong in any
text: placeholders (N-08's “XX”, N-14) and N-15; never for figures (they are the tables' and the 情况说明's).

The text is read as :mod:`xltools.narrative.text` rebuilds it (PDF lines, page breaks, soft breaks).
"""
from __future__ import annotations

import functools
import re
import unicodedata

from xltools.model import Report
from xltools.narrative.text import paragraphs, sentences
from xltools.rules.engine import Finding

__all__ = ["wording_findings", "subject_findings", "heading_findings", "template_findings", "punctuation_findings",
           "document_findings", "PLACEHOLDER", "DOCUMENT"]

TABLE = "情况说明"
DOCUMENT = "情况说明以外的文字"      # the table name of findings on the rest of a document's words
# a placeholder for a name left in (“XX局”, “XXX单位”): N-08 in the 情况说明 (xltools.narrative.check), and
# in the rest of a document
PLACEHOLDER = re.compile(r"X{2,}|ＸＸ+|××+")


def wording_findings(text: str, report: Report) -> list[Finding]:
    text = unicodedata.normalize("NFC", text)
    paras = paragraphs(text)
    return subject_findings(paras, report.year) + heading_findings(paras) + \
        template_findings(paras, report.unit or "") + punctuation_findings(paras)


def document_findings(text: str, report: Report) -> list[Finding]:
    """Findings on the rest of a document's words (xltools.importer.document_text): placeholders (N-08 “XX局”,
    N-14) and doubled punctuation (N-15), with the table name :data:`DOCUMENT`. No figure is read."""
    text = unicodedata.normalize("NFC", text or "")
    if not text.strip():
        return []
    paras = paragraphs(text)
    out: list[Finding] = []
    unit = report.unit or ""
    for para in paras:
        for sentence in (sentences(para.text) if not para.heading else [para.text]):
            for m in PLACEHOLDER.finditer(sentence):
                if unit and m.group(0) in unit:
                    continue
                out.append(Finding("N-08", "error", DOCUMENT, sentence,
                                   f"模板占位符“XXX”未替换：“{m.group(0)}”", actual=m.group(0)))
    out += [_retable(f) for f in template_findings(paras, unit) + punctuation_findings(paras)]
    return out


def _retable(f: Finding) -> Finding:
    from dataclasses import replace

    return replace(f, table=DOCUMENT)


# ---------------------------------------------------------------- N-15 doubled punctuation

_DOUBLED = re.compile(r"([。，、；])\1+")
_SENT_END = "。！？!?"


def punctuation_findings(paras) -> list[Finding]:
    """N-15: a punctuation mark typed twice (“拨款。。”). The finding quotes the sentence up to the marks."""
    out: list[Finding] = []
    for para in paras:
        t = para.text
        for m in _DOUBLED.finditer(t):
            start = max(t.rfind(c, 0, m.start()) for c in _SENT_END) + 1
            sentence = t[start:m.end()].strip()
            out.append(Finding("N-15", "warning", TABLE, sentence,
                               f"标点重复：“{m.group(0)}”（应为“{m.group(1)}”）", actual=m.group(0),
                               expected=m.group(1)))
    return out


# ---------------------------------------------------------------- N-12 科目 names against the catalog

_MARK = re.compile(r"\((类|款|项)\)")
_LEVEL_OF = {"类": 3, "款": 5, "项": 7}
_CUT = re.compile(r"[，。；、：:,;！？!?“”\"'\s]")
_HEAD_CUT = re.compile(r"[，。；：:,;！？!?“”\"']|\((?:类|款|项)\)")   # a name may hold 、 and (室)
_INLINE_PAGE = re.compile(r"(?<!\d)[-─—－]\s*\d{1,4}\s*[-─—－](?!\d)")  # “离退─ 11 ─休”: a page break inside a word
_PAIR = re.compile(r"(?<![\d.])(\d{7}|\d{5})\s*[-—－]?\s*([\u4e00-\u9fff]{2,30}?)(?=\s*(?:[\d，。；、：:,;]|$))")


class _Names:
    """Exact (normalised) names of one catalog (functional, or economic: 类/款 only): name → subjects, per
    level."""

    def __init__(self, year: int | None, kind: str = "functional"):
        from xltools import catalog

        self.cat = catalog.functional(year) if kind == "functional" else catalog.economic(year)
        self.by_name: dict[tuple[str, int], list] = {}
        for s in self.cat:
            for n in (s.name, *s.aliases):
                for form in _forms(n, len(s.code)):
                    lst = self.by_name.setdefault((form, len(s.code)), [])
                    if s not in lst:
                        lst.append(s)

    def find(self, name: str, level: int) -> list:
        n = _norm(name)
        found = self.by_name.get((n, level), [])
        if not found and n.endswith("支出") and len(n) > 4:     # “对个人和家庭的补助支出（类）”
            found = self.by_name.get((n[:-2], level), [])
        return found

    def known_elsewhere(self, name: str) -> list:
        return [s for lv in (3, 5, 7) for s in self.find(name, lv)]


@functools.lru_cache(maxsize=16)
def _names(year: int | None, kind: str) -> _Names:
    """One catalog's name index per year (read only once built: ~1 ms each)."""
    return _Names(year, kind)


def _norm(s: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", s))


def _forms(name: str, level: int) -> set[str]:
    n = _norm(name)
    out = {n}
    if n.endswith("支出") and len(n) > 4:
        out.add(n[:-2])            # “社会保障和就业（类）”, “…基本养老保险缴费（项）”
    return out


def _chains(s: str):
    """(start, end, [(level, name)]) for every run of names marked （类）（款）（项） in ``s`` (NFKC form)."""
    marks = list(_MARK.finditer(s))
    i = 0
    while i < len(marks):
        run = [marks[i]]
        while i + 1 < len(marks) and _MARK.match(s, run[-1].end()) is None and \
                not _CUT.search(s[run[-1].end():marks[i + 1].start()]) and \
                _LEVEL_OF[marks[i + 1].group(1)] > _LEVEL_OF[run[-1].group(1)]:
            i += 1
            run.append(marks[i])
        i += 1
        names = []
        code = ""
        prev_end = None
        for m in run:
            if prev_end is None:
                head = s[max(0, m.start() - 30):m.start()]
                cut = max((x.end() for x in _HEAD_CUT.finditer(head)), default=0)
                head = head[cut:]
                head = re.sub(r"^(?:[一二三四五六七八九十]+、|\d{1,2}[.．、](?!\d)|\([一二三四五六七八九十\d]+\))", "", head)
                # “2080109社会保障和就业（类）…” (not the end of an amount: “4,704.35万元1、工资福利支出（类）”)
                lead = re.match(r"(\d{3}(?:\d{2}){0,2})(?![\d.])\s*[-—－]?\s*", head)
                code = lead.group(1) if lead else ""
                names.append((m.group(1), head[lead.end():] if lead else head))
            else:
                names.append((m.group(1), s[prev_end:m.start()]))
            prev_end = m.end()
        yield run[0].start(), run[-1].end(), code, names


def subject_findings(paras, year: int | None) -> list[Finding]:
    try:
        names = _names(year, "functional")
    except Exception:          # no catalog: nothing to compare with
        return []
    try:
        econ = _names(year, "economic")     # “工资福利支出（类）基本工资（款）”: the 基本支出 by economic class
    except Exception:
        econ = None
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(level, sentence, msg, actual):
        if (sentence, msg) in seen:
            return
        seen.add((sentence, msg))
        out.append(Finding("N-12", level, TABLE, sentence, msg, actual=actual))

    yr = f"{year} 年" if year else ""
    for para in paras:
        for sentence in sentences(para.text):
            s = re.sub(r"\s", "", _INLINE_PAGE.sub("", unicodedata.normalize("NFKC", sentence)))
            chained = []
            for start, end, code, chain in _chains(s):
                chained.append((start, end))
                _check_chain(_catalog_of(names, econ, chain), chain, code or _code_before(s[max(0, start - 8):start]),
                             sentence, add, yr)
            for m in _PAIR.finditer(s):
                if any(a - 8 <= m.start() <= b for a, b in chained) or _MARK.match(s, m.end()):
                    continue
                code, name = m.group(1), m.group(2)
                subj = names.cat.get(code)
                if subj is None or names.cat.matches_name(code, name):
                    continue
                other = [x for x in names.known_elsewhere(name) if x.code != code]
                if other:
                    add("error", sentence, f"科目编码 {code} 的名称应为“{subj.name}”，文中写作“{name}”"
                        f"（“{name}”是 {other[0].code} 的名称）", f"{code}{name}")
    return out


def _code_before(before: str) -> str:
    m = re.search(r"(?<!\d)(\d{7}|\d{5}|\d{3})\s*[-—－]?\s*$", before)
    return m.group(1) if m else ""


def _catalog_of(names: _Names, econ: _Names | None, chain) -> _Names:
    """The catalog a “A（类）B（款）” run names: the economic one when its first name is a 类/款 of that
    catalog and not of the functional one at its level (a text describing 基本支出 by 经济分类), else the
    functional one."""
    lv, name = chain[0]
    level = _LEVEL_OF[lv]
    if econ is None or level == 7 or any(x == "项" for x, _ in chain) or not name:
        return names
    if names.find(_known_suffix(names, name, level), level):
        return names
    return econ if econ.find(_known_suffix(econ, name, level), level) else names


def _known_suffix(names: _Names, head: str, level: int) -> str:
    """The words before the first （类/款/项） mark are cut at punctuation only: the name is the longest end of
    them the catalog knows (at this level, else at any), or all of them (“一般公共服务1.人大事务行政运行” →
    行政运行)."""
    for i in range(len(head) - 1):
        if names.find(head[i:], level):
            return head[i:]
    for i in range(len(head) - 1):
        if names.known_elsewhere(head[i:]):
            return head[i:]
    return head


def _check_chain(names: _Names, chain, code: str, sentence: str, add, yr: str) -> None:
    """One “A（类）B（款）C（项）” run (``code`` printed before it, if any): every name known at its level,
    each under the one before it, and the code the last one's."""
    parents: list | None = None
    printed = "".join(f"{n}（{lv}）" for lv, n in chain)
    for k, (lv, name) in enumerate(chain):
        level = _LEVEL_OF[lv]
        if not name or re.fullmatch(r"[XxＸｘ×*＊]+", name):     # “XX（类）”: a placeholder (N-08)
            return
        if k == 0:
            name = _known_suffix(names, name, level)
        found = names.find(name, level)
        if not found:
            if names.known_elsewhere(name):
                add("warning", sentence, f"“{name}”不是{lv}级科目名称（{printed}）", printed)
            elif len(name) >= 2:
                add("warning", sentence, f"“{name}（{lv}）”不在{yr}功能分类科目目录中，请核对科目名称（{printed}）", printed)
            return
        if parents is not None:
            under = [s for s in found if any(s.code.startswith(p.code) for p in parents)]
            if not under:
                p = parents[0]
                add("error", sentence, f"“{name}（{lv}）”不属于“{p.name}”：{'、'.join(s.code for s in found)} 在"
                    f" {found[0].code[:len(p.code)]} 之下（{printed}）", printed)
                return
            found = under
        parents = found
    if code and parents:
        c = code
        if len(c) == len(parents[0].code) and all(p.code != c for p in parents):
            subj = names.cat.get(c)
            right = f"{c} 为“{subj.name}”" if subj else f"{c} 不在{yr}科目目录中"
            add("error" if subj else "warning", sentence,
                f"科目编码与名称不符：{printed} 的编码应为 {parents[0].code}，{right}", c + printed)


# ---------------------------------------------------------------- N-13 one heading for two sections

_TOP = re.compile(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、)")
_SUB = re.compile(r"^[（(][一二三四五六七八九十]+[)）]")


def _title(heading: str) -> str:
    t = re.sub(r"^(?:第[一二三四五六七八九十]+部分|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[)）])", "", heading)
    t = re.sub(r"\([^()]*\)", "", unicodedata.normalize("NFKC", t))     # its bracketed note
    return re.sub(r"[\s“”\"'。.]", "", t)


def _level(heading: str) -> int:
    if heading.startswith("第") and _TOP.match(heading):
        return 0
    return 1 if _TOP.match(heading) else (2 if _SUB.match(heading) else 3)


def heading_findings(paras) -> list[Finding]:
    """N-13. A heading opens a section only where what follows it is its body or a heading below it: a run of
    headings of one level (a table of contents, a heading repeated at a page break) opens none."""
    out: list[Finding] = []
    top_seen: dict[str, str] = {}
    sub_seen: dict[str, str] = {}
    for n, para in enumerate(paras):
        if not para.heading:
            continue
        h = para.text.strip()
        title = _title(h)
        level = _level(h)
        nxt = paras[n + 1] if n + 1 < len(paras) else None
        if nxt is None or (nxt.heading and _level(nxt.text.strip()) <= level):
            continue
        if len(title) < 4 or level == 3:
            continue
        if level <= 1:
            sub_seen = {}
            seen, lvl, msg = top_seen, "error", "标题“{h}”与前文“{prev}”相同：同一标题用于两个部分，请核对是否重复或标题写错"
        else:
            seen, lvl, msg = sub_seen, "warning", "小标题“{h}”与同一部分中的“{prev}”相同，请核对是否重复或标题写错"
        if title in seen:
            out.append(Finding("N-13", lvl, TABLE, h, msg.format(h=h, prev=seen[title]), actual=h))
        else:
            seen[title] = h
    return out


# ---------------------------------------------------------------- N-14 template text left in

_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")
_TEMPLATE = [(re.compile(p), level, msg) for p, level, msg in [
    # an unfilled count sentence: “对0等0个0级项目”, “共0个项目…0个一级项目”
    (r"(?<![\d.])0\s*等\s*0\s*个|(?<![\d.])0\s*个\s*0\s*级项目", "error", "模板中的“0”未替换（如“对0等0个0级项目”）"),
    # placeholders for a name (“XX单位” is N-08's XXX already)
    (r"某某(?:单位|部门|局|委|办|中心|项目|科目|学校|医院|处|室)", "error", "模板占位名称未替换"),
    # the template's instructions to the preparer
    (r"[（(]\s*(?:(?:此处|请在此|在此|请)?(?:填写|填列|填报)|(?:此处|请)列示)[^）)]{0,40}[）)]", "error", "模板的填写说明未删去"),
    (r"[（(]\s*如[^）)]{0,20}(?:表述|说明|填写|删除|删去)[）)]", "error", "模板的填写说明未删去"),
    (r"[（(]\s*备注\s*[:：][^）)]{0,80}[）)]", "warning", "模板的备注说明未删去"),
]]


def template_findings(paras, unit: str = "") -> list[Finding]:
    """N-14 findings; ``unit`` is the report's unit name (a unit really called “某某局” is not a placeholder)."""
    out: list[Finding] = []
    for para in paras:
        for sentence in (sentences(para.text) if not para.heading else [para.text]):
            s = sentence.translate(_DIGITS)       # full-width digits and letters, one for one
            for pat, level, msg in _TEMPLATE:
                for m in pat.finditer(s):
                    found = sentence[m.start():m.end()]
                    if unit and found in unit:
                        continue
                    out.append(Finding("N-14", level, TABLE, sentence, f"{msg}：“{found}”", actual=found))
    return out
