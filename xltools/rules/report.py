"""Findings back into workbooks: the 校验结果 sheet (with links and marked cells) and the summary
workbook for a folder of files.

Writing never changes a value or a formula: openpyxl rewrites the file with the same cells, and
because openpyxl drops the cached values of formulas, they are restored from the original file
afterwards, so readers without a calculation engine still see every total.
"""
from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

from xltools.util import atomic_path, backup_path

__all__ = ["write_findings", "write_summary", "cached_values", "restore_cached", "RESULT_SHEET", "MARK_FILL"]

RESULT_SHEET = "校验结果"
MARK_FILL = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
_MARK_KEY = "mark:"
_LEVEL_CN = {"error": "错误", "warning": "警告", "info": "提示"}
_ADDR = re.compile(r"^(.+)!([A-Z]+[0-9]+)$")


def _split(cell: str) -> tuple[str, str] | None:
    m = _ADDR.match(cell or "")
    return (m.group(1), m.group(2)) if m else None


def write_findings(path: str | Path, findings: list, *, keep_original: bool = True) -> Path:
    """Add (or replace) the 校验结果 sheet, mark the cells involved; atomic, original kept as .bak."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    path = Path(path)
    keep_vba = path.suffix.lower() in (".xlsm", ".xlam")
    wb = openpyxl.load_workbook(path, keep_vba=keep_vba)
    meta = wb["_xltools"] if "_xltools" in wb.sheetnames else None
    # undo the marks of an earlier run: restore fills, drop our comments
    if meta is not None:
        keep_rows = []
        for row in meta.iter_rows(min_row=1, values_only=True):
            k, v = (row + (None, None))[:2]
            if isinstance(k, str) and k.startswith(_MARK_KEY):
                addr = _split(k[len(_MARK_KEY):])
                if addr and addr[0] in wb.sheetnames:
                    c = wb[addr[0]][addr[1]]
                    c.fill = PatternFill(fill_type="solid", fgColor=v) if v else PatternFill(fill_type=None)
                    if c.comment is not None and c.comment.author == "xltools":
                        c.comment = None
            else:
                keep_rows.append((k, v))
        meta.delete_rows(1, meta.max_row)
        for i, (k, v) in enumerate(keep_rows, start=1):
            meta.cell(i, 1, k)
            meta.cell(i, 2, v)
    if RESULT_SHEET in wb.sheetnames:
        del wb[RESULT_SHEET]
    ws = wb.create_sheet(RESULT_SHEET, 0)
    ws.append(RESULT_HEAD)
    for c in ws[1]:
        c.font = Font(bold=True, name="宋体")
        c.fill = PatternFill(fill_type="solid", fgColor="DDEBF7")
    marks: dict[str, list] = {}
    order = LEVEL_ORDER
    for f in result_order(findings):
        ws.append(result_row(f))
        r = ws.max_row
        addr = _split(f.cell)
        if addr and addr[0] in wb.sheetnames:
            link = ws.cell(r, 4)
            link.hyperlink = f"#'{addr[0]}'!{addr[1]}"
            link.font = Font(color="0563C1", underline="single", name="宋体")
        for cell in f.cells or (f.cell,):
            a = _split(cell)
            if a and a[0] in wb.sheetnames:
                marks.setdefault(cell, []).append(f)
        ws.cell(r, 1).fill = PatternFill(fill_type="solid", fgColor=MARK_FILL[f.level])
    if not findings:
        ws.append(["", "", "", "", "未发现问题。"])
    for col, width in zip("ABCDEFGH", (6, 11, 8, 30, 90, 16, 16, 14)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        row[4].alignment = Alignment(wrap_text=True, vertical="top")
        for c in row[5:8]:
            c.number_format = "#,##0.00"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:H{ws.max_row}"
    # mark cells: fill by the worst level, comment lists the reasons; remember the original fill
    for cell, fs in marks.items():
        sheet, ref = _split(cell)
        c = wb[sheet][ref]
        worst = min(fs, key=lambda f: order[f.level]).level
        original = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
        if meta is not None:
            meta.append([_MARK_KEY + cell, original if isinstance(original, str) else None])
        c.fill = PatternFill(fill_type="solid", fgColor=MARK_FILL[worst])
        text = "\n".join(f"[{_LEVEL_CN[f.level]} {f.rule}] {f.message}" for f in fs[:5])
        comment = Comment(text[:2000], "xltools")
        comment.width, comment.height = 420, 160
        c.comment = comment
    cached = cached_values(path)
    with atomic_path(path, keep_original=keep_original) as tmp:
        wb.save(tmp)
        restore_cached(tmp, cached)
    return path


RESULT_HEAD = ["级别", "规则", "表", "单元格", "说明", "应为", "实际", "差额"]
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


def result_order(findings) -> list:
    """Findings in the order the 校验结果 sheet lists them (CLI and add-in alike)."""
    return sorted(findings, key=lambda f: (LEVEL_ORDER[f.level], f.table, f.rule))


def result_row(f) -> list:
    """One 校验结果 row: level, rule, table, cell, message, expected, actual, difference."""
    return [_LEVEL_CN[f.level], f.rule, f.table, f.cell, f.message,
            _num(f.expected), _num(f.actual), _num(f.difference)]


def _num(s):
    if s is None:
        return None
    try:
        return float(s)
    except ValueError:
        return s


# ---------------------------------------------------------------- cached values

_CELL_F = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*?)>(<f[ >].*?</f>|<f[^>]*/>)(<v>.*?</v>|<v\s*/>)?</c>', re.S)


def _sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    from xml.etree import ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
    rid = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    wb = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", ns)}
    out = {}
    for s in wb.findall("m:sheets/m:sheet", ns):
        t = target.get(s.get(rid), "")
        out[s.get("name")] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


def cached_values(path: Path) -> dict[str, dict[str, object]]:
    """Sheet → cell → the cached value of each formula cell (as calamine reads it)."""
    from python_calamine import CalamineWorkbook

    from xltools.read.workbook import formula_cells

    fc = formula_cells(path)
    wb = CalamineWorkbook.from_path(str(path))
    out: dict[str, dict[str, object]] = {}
    for sheet, cells in fc.items():
        if not cells:
            continue
        grid = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        vals = {}
        for ref in cells:
            m = re.match(r"([A-Z]+)([0-9]+)", ref)
            col = 0
            for ch in m.group(1):
                col = col * 26 + ord(ch) - 64
            r, c = int(m.group(2)) - 1, col - 1
            if r < len(grid) and c < len(grid[r]):
                vals[ref] = grid[r][c]
        out[sheet] = vals
    return out


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def restore_cached(path: Path, cached: dict[str, dict[str, object]]) -> None:
    """Put the original cached values back into formula cells that openpyxl wrote without them."""
    tmp = path.with_name(path.name + ".cv")
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        parts = _sheet_parts(zin)
        by_part = {parts[s]: v for s, v in cached.items() if s in parts}
        for item in zin.infolist():
            data = zin.read(item.filename)
            vals = by_part.get(item.filename)
            if vals:
                def repl(m, vals=vals):
                    ref, attrs, f = m.group(1).decode(), m.group(2), m.group(3)
                    v = vals.get(ref)
                    attrs = re.sub(rb'\s+t="[^"]*"', b"", attrs)
                    if v is None or v == "":
                        if isinstance(v, str):
                            return b'<c r="%s"%s t="str">%s<v></v></c>' % (ref.encode(), attrs, f)
                        return b'<c r="%s"%s>%s</c>' % (ref.encode(), attrs, f)
                    if isinstance(v, bool):
                        return b'<c r="%s"%s t="b">%s<v>%d</v></c>' % (ref.encode(), attrs, f, int(v))
                    if isinstance(v, (int, float)):
                        return b'<c r="%s"%s>%s<v>%s</v></c>' % (ref.encode(), attrs, f, repr(float(v)).encode())
                    return b'<c r="%s"%s t="str">%s<v>%s</v></c>' % (ref.encode(), attrs, f,
                                                                   _xml_escape(str(v)).encode("utf-8"))
                data = _CELL_F.sub(repl, data)
            zout.writestr(item, data)
    shutil.move(tmp, path)


# the names these helpers had before the narrative writer (xltools.narrative.sheet) reused them
_cached_values = cached_values
_restore_cached = restore_cached


# ---------------------------------------------------------------- summary

def write_summary(path: str | Path, results: list) -> Path:
    """A workbook with a row per file (errors, warnings) and a sheet of all findings."""
    import xlsxwriter

    path = Path(path)
    with atomic_path(path, keep_original=True) as tmp:
        wb = xlsxwriter.Workbook(str(tmp))
        bold = wb.add_format({"bold": True, "font_name": "宋体", "bg_color": "#DDEBF7", "border": 1})
        red = wb.add_format({"font_name": "宋体", "bg_color": "#FFC7CE"})
        plain = wb.add_format({"font_name": "宋体"})
        ws = wb.add_worksheet("汇总")
        ws.write_row(0, 0, ["文件", "错误", "警告", "提示", "状态"], bold)
        for i, (p, fs, err) in enumerate(results, start=1):
            n = {lv: sum(f.level == lv for f in fs) for lv in ("error", "warning", "info")}
            status = f"无法读取：{err}" if err else ("有错误" if n["error"] else "通过")
            ws.write_string(i, 0, str(p), plain)
            ws.write_number(i, 1, n["error"], red if n["error"] else plain)
            ws.write_number(i, 2, n["warning"], plain)
            ws.write_number(i, 3, n["info"], plain)
            ws.write_string(i, 4, status, red if (err or n["error"]) else plain)
        ws.set_column(0, 0, 60)
        ws.set_column(4, 4, 40)
        ws.autofilter(0, 0, max(1, len(results)), 4)
        ws.freeze_panes(1, 0)
        ws2 = wb.add_worksheet("全部问题")
        ws2.write_row(0, 0, ["文件", "级别", "规则", "表", "单元格", "说明", "应为", "实际", "差额"], bold)
        r = 1
        for p, fs, err in results:
            for f in fs:
                ws2.write_row(r, 0, [str(p), _LEVEL_CN[f.level], f.rule, f.table, f.cell, f.message], plain)
                for j, v in enumerate((f.expected, f.actual, f.difference), start=6):
                    x = _num(v)
                    if isinstance(x, float):
                        ws2.write_number(r, j, x, plain)
                    elif x is not None:
                        ws2.write_string(r, j, str(x), plain)
                r += 1
        ws2.set_column(0, 0, 40)
        ws2.set_column(4, 4, 30)
        ws2.set_column(5, 5, 90)
        ws2.autofilter(0, 0, max(1, r - 1), 8)
        ws2.freeze_panes(1, 0)
        wb.close()
    return path


__all__ += ["backup_path"]
