"""Rules on the labels of fixed rows.

L-01  warning  the ordinals of a panel's fixed rows (“一、…”, “二、…”) repeat or skip a number — e.g. 公开04 of
               seed 000 prints “二十一、国有资本经营预算支出” and “二十一、灾害防治及应急管理支出”. A panel may start
               again at “一、”; a row printed with the number its template label gives it is no break (江苏's 类
               lines keep their places in the 类 list when a zero line is left out: “六、科学技术支出” then
               “八、社会保障和就业支出”). The later breaks of one panel's list name the first as their ``cause``
               (one numbering, one defect).
L-02  warning  a table's note (“注：…”, as printed) names a year that is neither the report's nor one its
               template note names — e.g. 公开07 of seed 000: “2021 年度预算数…” in the 2022 report.
"""
from __future__ import annotations

import functools
import re

from xltools.model import Report
from xltools.rules.engine import Finding

__all__ = ["label_findings", "note_findings", "chinese_ordinal", "ordinal_text"]

_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ORDINAL = re.compile(r"^([一二三四五六七八九十]{1,3})、")


def chinese_ordinal(text: str) -> int | None:
    """“二十一” → 21 (1–99); None when it is not such a numeral."""
    if not text or any(c not in _DIGITS and c != "十" for c in text):
        return None
    if "十" not in text:
        return _DIGITS[text] if len(text) == 1 else None
    tens, _, ones = text.partition("十")
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        return None
    return (_DIGITS[tens] if tens else 1) * 10 + (_DIGITS[ones] if ones else 0)


def ordinal_text(n: int) -> str:
    names = "一二三四五六七八九"
    if n < 10:
        return names[n - 1]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else names[tens - 1]) + "十" + (names[ones - 1] if ones else "")


@functools.lru_cache(maxsize=8192)      # the same addresses recur in every workbook of a layout
def _row_no(source: str) -> int:
    m = re.search(r"(\d+)(?::[^:]*)?$", source or "")
    return int(m.group(1)) if m else 0


@functools.lru_cache(maxsize=64)
def _template_ordinals(set_id: str) -> dict:
    """(table, panel, row key) → the ordinal the template's own label gives the row (“八、社会保障和就业支出”:
    8, the class's place in the declared 类 list) — for the fixed rows whose template label is numbered."""
    from xltools.spec import SpecError, load_set

    try:
        tset = load_set(set_id)
    except SpecError:
        return {}
    out = {}
    for tid, t in tset.tables.items():
        for pl in t.panels:
            for row in (*pl.rows, *pl.footer):
                n = _label_ordinal(row.label or "")[0] if row.key else None
                if n is not None:
                    out[(tid, pl.id, row.key)] = n
    return out


@functools.lru_cache(maxsize=8192)      # the same labels recur in every workbook of a set
def _label_ordinal(label: str) -> tuple[int | None, str | None]:
    """(the ordinal a label starts with, as a number and as printed), or (None, None)."""
    m = _ORDINAL.match(label)
    n = chinese_ordinal(m.group(1)) if m else None
    return (n, m.group(1)) if n is not None else (None, None)


def label_findings(report: Report) -> list[Finding]:
    out = []
    template = _template_ordinals(report.set_id)
    for tid, td in report.tables.items():
        panels: dict[str, list] = {}
        for rd in td.rows.values():
            if rd.kind in ("fixed", "total", "footer") and rd.label:
                panels.setdefault(rd.panel, []).append(rd)
        for rows in panels.values():
            prev = None
            first = None
            for rd in sorted(rows, key=lambda r: _row_no(r.source)):
                n, numeral = _label_ordinal(rd.label)
                if n is None:
                    continue
                # the template's own number for the row (a 类 line's place in the declared list: a publication that
                # leaves out a zero line keeps the numbers of the lines after it) is no break
                if prev is not None and n != 1 and n != prev[0] + 1 and template.get((tid, rd.panel, rd.key)) != n:
                    want = ordinal_text(prev[0] + 1)
                    how = "重复" if n == prev[0] else "不连续"
                    out.append(Finding("L-01", "warning", tid, rd.source,
                                       f"{rd.source} 的行名“{rd.label}”序号与上一行“{prev[1].label}”{how}，应为“{want}、”",
                                       expected=want, actual=numeral,
                                       cause=f"L-01@{first}" if first else None))
                    first = first or rd.source
                prev = (n, rd)
    return out


_YEAR = re.compile(r"(20\d\d)\s*年")


def note_findings(report: Report, tset) -> list[Finding]:
    """L-02: years in a table's printed note against the report's year."""
    out = []
    if not report.year:
        return out
    for tid, td in report.tables.items():
        if not td.note:
            continue
        table = tset.tables.get(tid)
        template = (table.note or "") if table is not None else ""
        template = template.replace("{year}", str(report.year)).replace("{prev}", str(report.year - 1))
        allowed = {report.year, *(int(y) for y in _YEAR.findall(template))}
        wrong = sorted({int(y) for y in _YEAR.findall(td.note)} - allowed)
        if wrong:
            where = td.note_source or f"{td.sheet or tid}（表注）"
            out.append(Finding("L-02", "warning", tid, where,
                               f"{where} 的表注写的是 {'、'.join(map(str, wrong))} 年，而本表是 {report.year} 年度的："
                               f"“{td.note[:60]}”",
                               expected=str(report.year), actual=",".join(map(str, wrong))))
    return out
