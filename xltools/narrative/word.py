"""The 情况说明 as a Word document (python-docx), with Word paragraph styles.

Chinese fonts need the eastAsia font attribute (w:rFonts w:eastAsia) on each style; without it Word
shows the Latin font's fallback. Styles: 标题 (Title, 小标宋-like 宋体 bold), Heading 1 (黑体),
Heading 2 (楷体), Normal (仿宋, first-line indent two characters, 1.5 lines).

``full=True`` writes the whole disclosure: 第一部分 单位概况 (说明事项 profile.*), 第二部分 the tables
of the variant as Word tables (landscape pages), 第三部分 情况说明, 第四部分 名词解释.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from xltools.model import Report
from xltools.narrative.model import Narrative

__all__ = ["write_docx", "GLOSSARY"]

BODY_FONT, HEAD_FONT, SUB_FONT, TITLE_FONT = "仿宋", "黑体", "楷体", "宋体"
GLOSSARY = "名词解释.md"


def _set_font(style_or_run, east_asia: str, size=None, bold=None, latin: str = "Times New Roman"):
    from docx.oxml.ns import qn
    from docx.shared import Pt

    font = style_or_run.font
    font.name = latin
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    el = style_or_run.element
    rpr = el.get_or_add_rPr()
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(rfonts)
    rfonts.set(qn("w:eastAsia"), east_asia)
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)


def _styles(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    normal = doc.styles["Normal"]
    _set_font(normal, BODY_FONT, 14)
    pf = normal.paragraph_format
    pf.first_line_indent = Pt(28)          # two characters of 14 pt
    pf.line_spacing = 1.5
    pf.space_after = Pt(0)
    pf.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for name, font, size in (("Heading 1", HEAD_FONT, 14), ("Heading 2", SUB_FONT, 14)):
        st = doc.styles[name]
        _set_font(st, font, size, bold=name == "Heading 1")
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.italic = False
        st.paragraph_format.first_line_indent = Pt(28)
        st.paragraph_format.space_before = Pt(6)
        st.paragraph_format.space_after = Pt(0)
        st.paragraph_format.line_spacing = 1.5
        st.paragraph_format.keep_with_next = True
    title = doc.styles["Title"]
    _set_font(title, TITLE_FONT, 20, bold=True)
    title.font.color.rgb = RGBColor(0, 0, 0)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.first_line_indent = Pt(0)
    title.paragraph_format.space_after = Pt(12)
    # the default template draws a rule under Title: a 公开 document has none
    from docx.oxml.ns import qn

    ppr = title.element.get_or_add_pPr()
    for b in ppr.findall(qn("w:pBdr")):
        ppr.remove(b)


def _paragraphs(doc, narrative: Narrative) -> None:
    style = {"heading1": "Heading 1", "heading2": "Heading 2", "body": "Normal", "title": "Title"}
    import re

    from docx.enum.text import WD_COLOR_INDEX

    for p in narrative.paragraphs:
        para = doc.add_paragraph(style=style.get(p.style, "Normal"))
        # a 【请填写：…】 marker is highlighted so that it is not overlooked
        from xltools.narrative.facts import MARKER_RE
        for part in re.split(f"({MARKER_RE})", p.text):
            if part:
                run = para.add_run(part)
                if re.fullmatch(MARKER_RE, part):
                    run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def write_docx(path: str | Path, narrative: Narrative, report: Report, full: bool = False,
               warning: str | None = None) -> Path:
    """The narrative as a Word document; ``warning`` (the workbook has check errors: ``narrative --force``) is
    its first paragraph, in bold red, as the 情况说明 sheet shows it."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm, RGBColor

    from xltools.util import atomic_path

    path = Path(path)
    doc = docx.Document()
    _styles(doc)
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.6)
    sec.top_margin, sec.bottom_margin = Cm(3.0), Cm(2.5)
    year = report.year or ""
    if warning:
        run = doc.add_paragraph(style="Normal").add_run(warning)
        run.bold = True
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    if full:
        from xltools.spec import load_set

        kind = load_set(report.set_id).kind_label or "决算"    # 决算 | 预算
        doc.add_paragraph(f"{report.unit}", style="Title")
        doc.add_paragraph(f"{year}年度部门{kind}", style="Title")
        notes = report.notes or {}
        doc.add_paragraph(f"第一部分 {report.unit}概况", style="Heading 1")
        doc.add_paragraph("一、主要职能", style="Heading 2")
        _text(doc, notes.get("profile.functions"), "主要职能")
        doc.add_paragraph(f"二、部门{kind}单位构成", style="Heading 2")
        _text(doc, notes.get("profile.units"), f"部门{kind}单位构成")
        # 第二部分: the tables, on landscape pages
        new = doc.add_section()
        new.orientation = WD_ORIENT.LANDSCAPE
        new.page_width, new.page_height = Cm(29.7), Cm(21)
        new.left_margin = new.right_margin = Cm(2.0)
        new.top_margin = new.bottom_margin = Cm(2.0)
        doc.add_paragraph(f"第二部分 {report.unit}{year}年度部门{kind}表", style="Heading 1")
        _tables(doc, report)
        back = doc.add_section()
        back.orientation = WD_ORIENT.PORTRAIT
        back.page_width, back.page_height = Cm(21), Cm(29.7)
        back.left_margin = back.right_margin = Cm(2.6)
        back.top_margin, back.bottom_margin = Cm(3.0), Cm(2.5)
        doc.add_paragraph(f"第三部分 {report.unit}{year}年度部门{kind}情况说明", style="Heading 1")
    else:
        doc.add_paragraph(narrative.title, style="Title")
    _paragraphs(doc, narrative)
    if full:
        doc.add_paragraph("第四部分 名词解释", style="Heading 1")
        for line in _glossary(report):
            doc.add_paragraph(line, style="Normal")
    _footer_page_numbers(doc)
    with atomic_path(path, keep_original=False) as tmp:
        doc.save(str(tmp))
    return path


def _text(doc, value, label: str) -> None:
    text = str(value).strip() if value else f"【请填写：{label}】"
    for line in text.splitlines():
        if line.strip():
            doc.add_paragraph(line.strip(), style="Normal")


def _glossary(report: Report) -> list[str]:
    from xltools.narrative.engine import template_dirs

    for d in template_dirs(report.set_id, report.variant):
        p = d / GLOSSARY
        if p.is_file():
            return [ln.strip() for ln in p.read_text(encoding="utf-8").splitlines()
                    if ln.strip() and not ln.startswith("#")]
    return []


def _footer_page_numbers(doc) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    for sec in doc.sections:
        p = sec.footer.paragraphs[0] if sec.footer.paragraphs else sec.footer.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.paragraph_format.first_line_indent = 0
        if p.runs:
            continue
        run = p.add_run()
        for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
            if kind:
                el = OxmlElement("w:fldChar")
                el.set(qn("w:fldCharType"), kind)
            else:
                el = OxmlElement("w:instrText")
                el.set(qn("xml:space"), "preserve")
                el.text = text
            run._r.append(el)


# ---------------------------------------------------------------- the tables as Word tables

def _fmt(v: Decimal | None, count: bool = False) -> str:
    if v is None:
        return ""
    return f"{v:,.0f}" if count else f"{v:,.2f}"


def _tables(doc, report: Report) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    from xltools.spec import load_set

    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    for n, t in enumerate(tset.tables_for(variant)):
        if n:
            doc.add_page_break()
        h = doc.add_paragraph(t.title, style="Heading 2")
        h.alignment = WD_ALIGN_PARAGRAPH.CENTER
        info = doc.add_paragraph(f"{t.number}    公开部门：{report.unit}    金额单位：{report.amount_unit}")
        info.paragraph_format.first_line_indent = Pt(0)
        info.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        data = report.tables.get(t.id)
        for panel in t.panels:
            header, rows = _panel_grid(t, panel, data, report.year)
            if not rows:
                continue
            if panel.header:
                cap = doc.add_paragraph(panel.header)
                cap.paragraph_format.first_line_indent = Pt(0)
            table = doc.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for i, h in enumerate(header):
                _cell(table.rows[0].cells[i], h, bold=True, center=True)
            for row in rows:
                cells = table.add_row().cells
                for i, v in enumerate(row):
                    _cell(cells[i], v, right=i >= len(header) - len(panel.columns))
        if t.note:
            note = doc.add_paragraph(t.note)
            note.paragraph_format.first_line_indent = Pt(0)
            for r in note.runs:
                r.font.size = Pt(9)


def _panel_grid(t, panel, data, year) -> tuple[list[str], list[list[str]]]:
    cols = list(panel.columns)
    labels = ["／".join(x for x in c.label_text(year) if x) for c in cols]
    rows: list[list[str]] = []
    if panel.is_detail:
        header = ["科目编码", "科目名称"] + labels
        if data is None:
            return header, rows
        mine = [r for r in data.rows.values() if r.panel == panel.id and r.kind != "spare"]
        total = [r for r in mine if r.key == "total"]
        body = sorted((r for r in mine if r.key != "total" and r.kind != "footer"), key=lambda r: r.key)
        feet = [r for r in mine if r.kind == "footer"]
        for r in total + body + feet:
            code = "" if r.key == "total" or r.kind == "footer" else r.key
            name = r.label or ("合计" if r.key == "total" else "")
            rows.append([code, name] + [_fmt(r.values[c.key].amount) if c.key in r.values else "" for c in cols])
        return header, rows
    header = [panel.item_header or "项目"] + labels
    for row in (*panel.rows, *panel.footer):
        if not row.key:
            continue
        rd = data.rows.get(row.key) if data else None
        vals = []
        for c in cols:
            v = rd.values.get(c.key) if rd else None
            vals.append(_fmt(v.amount if v else None, row.count))
        rows.append([row.label] + vals)
    return header, rows


def _cell(cell, text: str, bold: bool = False, center: bool = False, right: bool = False) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    p = cell.paragraphs[0]
    p.paragraph_format.first_line_indent = Pt(0)
    p.paragraph_format.line_spacing = 1.0
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER if center else (WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT)
    run = p.add_run(str(text))
    run.font.size = Pt(9)
    run.font.bold = bold
    _set_font(run, "宋体", 9)
