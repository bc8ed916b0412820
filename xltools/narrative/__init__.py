"""情况说明: the narrative of a 部门决算公开, rendered from the tables and checked against them.

The public API is small and cheap to import (jinja2, python-docx and openpyxl are imported only
inside the functions that need them — the Excel add-in imports this module on every click):

    render(report, variant=None) -> Narrative          sections → paragraphs (text + style)
    render_report(report)        -> list[Paragraph]    the same, flat (for the add-in)
    write_sheet(path, narrative)                        the 情况说明 sheet in a workbook (openpyxl)
    write_docx(path, narrative, report, full=False, warning=None)     a Word document (python-docx)
    check_text(text, report)     -> list[Finding]       a narrative someone wrote, against the tables
    notes_findings(report)       -> list[Finding]       说明事项 items a rendered narrative still lacks
"""
from __future__ import annotations

from xltools.narrative.model import SHEET, Narrative, Paragraph

__all__ = ["Paragraph", "Narrative", "SHEET", "render", "render_report", "write_sheet", "write_docx",
           "check_text", "notes_findings", "collect_facts"]


def render(report, variant: str | None = None):
    from xltools.narrative.sets import render as _render
    return _render(report, variant)


def render_report(report, variant: str | None = None) -> list[Paragraph]:
    return render(report, variant).paragraphs


def write_sheet(path, narrative, **kw):
    from xltools.narrative.sheet import write_sheet as _w
    return _w(path, narrative, **kw)


def write_docx(path, narrative, report, full: bool = False, warning: str | None = None):
    from xltools.narrative.word import write_docx as _w
    return _w(path, narrative, report, full=full, warning=warning)


def check_text(text: str, report):
    from xltools.narrative.check import check_text as _c
    return _c(text, report)


def notes_findings(report):
    from xltools.narrative.check import notes_findings as _n
    return _n(report)


def collect_facts(report):
    from xltools.narrative.sets import collect_facts as _f
    return _f(report)
