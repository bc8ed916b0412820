"""The 封面 (cover / settings) sheet: the workbook's unit, year, amount unit, variant, preparer and date
as visible input cells, and the 审核 summary.

Every table title line (公开部门 / 金额单位) and every header holding a year takes these cells by formula
(with cached values), and the reader takes the unit, year and amount unit from here (``read_cover``),
falling back to the hidden ``_xltools`` sheet for workbooks made before the cover existed.
"""
from __future__ import annotations

from xltools.build.formulas import sheet_prefix
from xltools.build.layout import a1

__all__ = ["COVER_SHEET", "COVER_FIELDS", "cover_ref", "year_formula", "write_cover", "read_cover"]

COVER_SHEET = "封面"

# (key, label, row) — column A holds the label, column B the value; the reader finds rows by label
COVER_FIELDS = (
    ("unit", "单位名称", 2),
    ("unit_code", "单位编码", 3),
    ("year", "年度", 4),
    ("amount_unit", "金额单位", 5),
    ("set", "表套", 6),
    ("variant", "地区格式", 7),
    ("preparer", "填报人", 8),
    ("date", "填报日期", 9),
)
SUMMARY_ROW = 11          # 审核结果 (identities)
OVERRIDE_ROW = 12         # 公式被改写 (derived cells typed over)
VALUE_COL = 1
_ROW = {k: r for k, _, r in COVER_FIELDS}


def cover_ref(key: str) -> str:
    """Absolute reference to a cover field, e.g. '封面'!$B$5 for the year."""
    return sheet_prefix(COVER_SHEET) + a1(_ROW[key], VALUE_COL, True)


def year_formula(text: str) -> str | None:
    """A label with {year}/{prev} as a formula on the cover's year (None when it has neither).

    An empty year prints four spaces, as ``xltools.spec._fill_year`` does for the cached value."""
    if "{year}" not in text and "{prev}" not in text:
        return None
    y = cover_ref("year")
    parts, rest = [], text
    while rest:
        i, j = rest.find("{year}"), rest.find("{prev}")
        cands = [x for x in (i, j) if x >= 0]
        if not cands:
            parts.append(_quote(rest))
            break
        k = min(cands)
        if k:
            parts.append(_quote(rest[:k]))
        parts.append(f'IF({y}="","    ",{y})' if k == i else f'IF({y}="","    ",{y}-1)')
        rest = rest[k + 6:]
    return "=" + "&".join(parts)


def _quote(s: str) -> str:
    return '"' + s.replace('"', '""') + '"'


def write_cover(wb, fm, report, tset, variant, summary) -> None:
    """The first sheet. ``summary`` is ``xltools.build.audit.Audit``: the 审核结果 and 公式被改写 cells."""
    ws = wb.add_worksheet(COVER_SHEET)
    title = f"部门{tset.kind_label}公开表" if tset.kind_label else tset.title
    ws.merge_range(0, 0, 0, 1, title, fm.title())
    ws.set_row(0, 34)
    label = fm.get(border=1, bold=True, align="left", bg_color="#DDEBF7")
    inp = fm.get(border=1, locked=False, bg_color="#FFF2CC", align="left")
    inp_num = fm.get(border=1, locked=False, bg_color="#FFF2CC", align="left", num_format="0")
    inp_date = fm.get(border=1, locked=False, bg_color="#FFF2CC", align="left", num_format="yyyy-mm-dd")
    fixed = fm.get(border=1, align="left", bg_color="#EDEDED", text_wrap=True)
    note = fm.get(font_size=9, text_wrap=True, valign="top")
    values = {"unit": report.unit or "", "unit_code": getattr(report, "unit_code", "") or "",
              "amount_unit": report.amount_unit or "", "set": f"部门{tset.kind_label}公开（{tset.id}）",
              "variant": f"{variant.label or variant.id}（{variant.id}）", "preparer": "", "date": ""}
    for key, text, r in COVER_FIELDS:
        ws.write_string(r, 0, text, label)
        if key == "year":
            if report.year:
                ws.write_number(r, VALUE_COL, int(report.year), inp_num)
            else:
                ws.write_blank(r, VALUE_COL, None, inp_num)
            ws.data_validation(r, VALUE_COL, r, VALUE_COL, {
                "validate": "integer", "criteria": "between", "minimum": 2000, "maximum": 2100,
                "error_title": "年度", "error_message": "年度应为 2000–2100 之间的四位整数，例如 2024。",
                "input_title": "年度", "input_message": "填写四位年度，如 2024；各表标题中的年度随之更新"})
        elif key in ("set", "variant"):
            ws.write_string(r, VALUE_COL, values[key], fixed)
        elif key == "date":
            ws.write_blank(r, VALUE_COL, None, inp_date)
        else:
            fmt = inp
            if values[key]:
                ws.write_string(r, VALUE_COL, values[key], fmt)
            else:
                ws.write_blank(r, VALUE_COL, None, fmt)
            if key == "amount_unit":
                ws.data_validation(r, VALUE_COL, r, VALUE_COL, {
                    "validate": "list", "source": ["元", "万元"], "error_title": "金额单位",
                    "error_message": "金额单位只能是“元”或“万元”。"})
            elif key == "unit":
                ws.data_validation(r, VALUE_COL, r, VALUE_COL, {
                    "validate": "any", "input_title": "单位名称",
                    "input_message": "各表“公开部门”一行随之更新；生成情况说明前必须填写"})
    ws.write_string(SUMMARY_ROW, 0, "审核结果", label)
    ws.write_string(OVERRIDE_ROW, 0, "公式被改写", label)
    summary.write_cover_cells(ws, fm, SUMMARY_ROW, OVERRIDE_ROW, VALUE_COL)
    ws.merge_range(OVERRIDE_ROW + 2, 0, OVERRIDE_ROW + 6, 1,
                   "说明：黄色单元格可填写。单位名称、年度、金额单位改动后，各表标题行、表头年度随之更新。"
                   "“审核”页用公式逐条核对表内、表间勾稽关系（Excel 2010 及以上、WPS、LibreOffice 均可，"
                   "无需加载项）；点击审核结果可跳到第一处未通过。科目编码、情况说明等须用 xltools 校验"
                   "（xltools check 文件.xlsx，或加载项的“校验”按钮）。", note)
    ws.set_column(0, 0, 14)
    ws.set_column(1, 1, 62)
    ws.set_column(2, 3, 4)
    ws.set_row(_ROW["variant"], 30)
    ws.set_paper(9)
    ws.set_portrait()
    ws.fit_to_pages(1, 1)
    ws.set_margins(left=0.7, right=0.7, top=0.8, bottom=0.8)
    ws.set_footer(f"&C{COVER_SHEET}")
    ws.protect("", {"format_columns": True, "format_rows": True, "select_locked_cells": True,
                    "select_unlocked_cells": True})
    ws.activate()


def read_cover(grid: list[list] | None) -> dict[str, str]:
    """Unit, unit code, year and amount unit from a cover grid (label in column A, value in B).

    Only fields whose label is found are returned; a year that is not a whole number 2000–2100 is
    returned as "" (an invalid year is no year)."""
    out: dict[str, str] = {}
    if not grid:
        return out
    labels = {text: key for key, text, _ in COVER_FIELDS if key in ("unit", "unit_code", "year", "amount_unit")}
    for row in grid:
        if len(row) < 2 or not isinstance(row[0], str):
            continue
        key = labels.get(row[0].strip())
        if key is None or key in out:
            continue
        v = row[1]
        if v is None:
            text = ""
        elif isinstance(v, float) and v.is_integer():
            text = str(int(v))
        else:
            text = str(v).strip()
        if key == "year" and not (text.isdigit() and 2000 <= int(text) <= 2100):
            text = ""
        if key == "amount_unit" and text not in ("元", "万元"):
            continue    # keep the generated amount unit rather than guess
        out[key] = text
    return out
