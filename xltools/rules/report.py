"""Findings back into workbooks: the 校验结果 sheet (with links and marked cells) and the summary
workbook for a folder of files.

Writing never changes a value or a formula: openpyxl rewrites the file with the same cells, and
because openpyxl drops the cached values of formulas, they are restored from the original file
afterwards, so readers without a calculation engine still see every total.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

from xltools.safeio import XLSX_OPTIONS, atomic_write, backup_path

__all__ = ["write_findings", "write_summary", "cached_values", "restore_cached", "RESULT_SHEET", "MARK_FILL",
           "LIGHT_FILL", "mark_plan", "result_order"]

RESULT_SHEET = "校验结果"
MARK_FILL = {"error": "FFC7CE", "warning": "FFEB9C", "info": "DDEBF7"}
# a consequence of a defect (a correct cell in a failed identity): the same hue, lighter
LIGHT_FILL = {"error": "FCE8EA", "warning": "FFF6D6", "info": "F0F6FC"}
_MARK_KEY = "mark:"
_LEVEL_CN = {"error": "错误", "warning": "警告", "info": "提示"}
_ADDR = re.compile(r"^(.+)!([A-Z]+[0-9]+)$")


def _split(cell: str) -> tuple[str, str] | None:
    m = _ADDR.match(cell or "")
    return (m.group(1), m.group(2)) if m else None


def _is_result_sheet(ws) -> bool:
    """A 校验结果 sheet written before xltools recorded its sheets: our header row."""
    return [ws.cell(1, i).value for i in range(1, len(RESULT_HEAD) + 1)] == RESULT_HEAD


def write_findings(path: str | Path, findings: list, *, keep_original: bool = True, expect=None) -> Path:
    """Add (or replace our) 校验结果 sheet, mark the cells involved; atomic, the first original kept as
    .bak, every value of the original sheets proven unchanged (:mod:`xltools.rewrite`).

    ``expect``: the file's :func:`xltools.safeio.stamp` when it was read; if it changed since, nothing
    is written. Raises :class:`xltools.safeio.WriteError` (Chinese) when the rewrite is refused."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill

    from xltools import rewrite
    from xltools.rewrite import put
    from xltools.safeio import stamp

    path = Path(path)
    if expect is None:
        expect = stamp(path)
    wb = rewrite.load(path)
    meta = wb[rewrite.META_SHEET] if rewrite.META_SHEET in wb.sheetnames else None
    # undo the marks of an earlier run: restore fills, drop our comments
    if meta is not None:
        keep_rows = []
        for row in meta.iter_rows(min_row=1, values_only=True):
            k, v = (row + (None, None))[:2]
            if isinstance(k, str) and k.startswith(_MARK_KEY):
                _unmark(wb, k[len(_MARK_KEY):], v)
            else:
                keep_rows.append((k, v))
        meta.delete_rows(1, meta.max_row)
        for i, (k, v) in enumerate(keep_rows, start=1):
            rewrite.keep(meta.cell(i, 1), k)
            rewrite.keep(meta.cell(i, 2), v)
    name, exists = rewrite.own_sheet(wb, RESULT_SHEET, _is_result_sheet)
    if exists:
        del wb[name]
    ws = wb.create_sheet(name, 0)
    rewrite.meta_set(meta, f"own:{RESULT_SHEET}", name)
    for j, text in enumerate(RESULT_HEAD, start=1):
        c = put(ws.cell(1, j), text)
        c.font = Font(bold=True, name="宋体")
        c.fill = PatternFill(fill_type="solid", fgColor="DDEBF7")
    marks: dict[str, list] = {}
    order = LEVEL_ORDER
    r = 1
    for f in result_order(findings):
        r += 1
        for j, v in enumerate(result_row(f), start=1):
            put(ws.cell(r, j), v)
        addr = _split(f.cell)
        if addr and addr[0] in wb.sheetnames and _valid_ref(addr[1]):
            link = ws.cell(r, 4)
            link.hyperlink = "#'%s'!%s" % (addr[0].replace("'", "''"), addr[1])
            link.font = Font(color="0563C1", underline="single", name="宋体")
        ws.cell(r, 1).fill = PatternFill(fill_type="solid", fgColor=(LIGHT_FILL if f.cause else MARK_FILL)[f.level])
    strong: dict[str, bool] = {}
    for cell, (fs, culprit) in mark_plan(findings).items():
        a = _split(cell)
        if a and a[0] in wb.sheetnames and a[0] != rewrite.META_SHEET and _valid_ref(a[1]):
            key = f"{a[0]}!{rewrite.anchor(wb[a[0]], a[1])}"     # a merged cell: its top-left cell
            marks.setdefault(key, []).extend(fs)
            strong[key] = strong.get(key, False) or culprit
    if not findings:
        put(ws.cell(2, 5), "未发现问题。")
    for col, width in zip("ABCDEFGH", (6, 11, 8, 30, 90, 16, 16, 14)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2, max_col=8):
        row[4].alignment = Alignment(wrap_text=True, vertical="top")
        for c in row[5:8]:
            c.number_format = "#,##0.00"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:H{ws.max_row}"
    # print: A4 landscape, one page wide, the header row repeated, messages wrapped (above)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.oddFooter.center.text = "校验结果 第 &P 页，共 &N 页"
    # mark cells: fill by the worst level, comment lists the reasons; remember the original fill
    for cell, fs in marks.items():
        sheet, ref = _split(cell)
        c = wb[sheet][ref]
        worst = min(fs, key=lambda f: order[f.level]).level
        original = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
        if meta is not None:
            r = meta.max_row + 1
            put(meta.cell(r, 1), _MARK_KEY + cell)
            put(meta.cell(r, 2), original if isinstance(original, str) else None)
        c.fill = PatternFill(fill_type="solid", fgColor=(MARK_FILL if strong[cell] else LIGHT_FILL)[worst])
        text = "\n".join(f"[{_LEVEL_CN[f.level]} {f.rule}] {f.message}" for f in fs[:5])
        comment = Comment(rewrite.clean_text(text[:2000]), "xltools")
        comment.width, comment.height = 420, 160
        c.comment = comment
    return rewrite.save(wb, path, replaced={name} if exists else set(), keep_original=keep_original,
                        expect=expect)


_REF_OK = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")


def _valid_ref(ref: str) -> bool:
    from openpyxl.utils.cell import coordinate_to_tuple

    if not _REF_OK.match(ref or ""):
        return False
    r, c = coordinate_to_tuple(ref)
    return r <= 1048576 and c <= 16384


def _unmark(wb, where: str, fill) -> None:
    """Undo one mark an earlier run recorded (``Sheet!A1`` → original fill); ignore a row that does
    not name a cell of this workbook or a colour (a hand-edited or hostile _xltools)."""
    from openpyxl.styles import PatternFill

    addr = _split(where)
    if not addr or addr[0] not in wb.sheetnames or not _valid_ref(addr[1]):
        return
    c = wb[addr[0]][addr[1]]
    try:
        c.fill = PatternFill(fill_type="solid", fgColor=fill) if fill else PatternFill(fill_type=None)
    except (ValueError, TypeError):
        c.fill = PatternFill(fill_type=None)
    if getattr(c, "comment", None) is not None and c.comment.author == "xltools":
        c.comment = None


RESULT_HEAD = ["级别", "规则", "表", "单元格", "说明", "应为", "实际", "差额"]
LEVEL_ORDER = {"error": 0, "warning": 1, "info": 2}


def result_order(findings) -> list:
    """Findings in the order the 校验结果 sheet lists them (CLI and add-in alike): each headline (a
    defect) by level, table and rule, its consequences right beneath it."""
    from xltools.rules.causes import cause_of

    key = lambda f: (LEVEL_ORDER[f.level], f.table, f.rule)   # noqa: E731
    heads = {cause_of(f) for f in findings if not f.cause}
    under: dict[str, list] = {}
    for f in findings:
        if f.cause and f.cause in heads:
            under.setdefault(f.cause, []).append(f)
    out = []
    for h in sorted((f for f in findings if not f.cause or f.cause not in heads), key=key):
        out.append(h)
        if not h.cause:
            out += sorted(under.pop(cause_of(h), []), key=key)
    return out


def mark_plan(findings) -> dict[str, tuple[list, bool]]:
    """Cell → (findings that involve it, whether it is a culprit). A culprit (the cells a headline
    names; for a failure nobody explains, the cell it is reported on) gets the level's colour; the other
    cells of a defect's identities a lighter shade of it."""
    out: dict[str, tuple[list, bool]] = {}
    for f in findings:
        main = set(f.culprits or ((f.cell,) if not f.cause else ()))
        for cell in dict.fromkeys((*main, *(f.cells or (f.cell,)))):
            fs, culprit = out.get(cell, ([], False))
            fs.append(f)
            out[cell] = (fs, culprit or cell in main)
    return out


def result_row(f) -> list:
    """One 校验结果 row: level, rule, table, cell, message, expected, actual, difference. A consequence
    says which headline (defect) it follows from."""
    message = f"└ {f.message}（由 {f.cause} 引起）" if f.cause else f.message
    return [_LEVEL_CN[f.level], f.rule, f.table, f.cell, message,
            _num(f.expected), _num(f.actual), _num(f.difference)]


def _num(s):
    if s is None:
        return None
    try:
        x = float(s)
    except (TypeError, ValueError):
        return str(s)
    return x if math.isfinite(x) else str(s)      # "NaN", a 400-digit amount: shown as text


# ---------------------------------------------------------------- cached values

def cached_values(path: Path) -> dict:
    """Sheet → (row, col) → (t, text) of every formula cell's cached value, as stored in the file
    (:func:`xltools.rewrite.raw_formula_values`)."""
    from xltools.rewrite import raw_formula_values
    return raw_formula_values(Path(path))


def restore_cached(path: Path, cached: dict) -> None:
    """Put the cached values of :func:`cached_values` back into the formula cells openpyxl wrote."""
    from xltools.rewrite import restore_raw
    restore_raw(Path(path), cached)


# the names these helpers had before the narrative writer (xltools.narrative.sheet) reused them
_cached_values = cached_values
_restore_cached = restore_cached


# ---------------------------------------------------------------- summary

def write_summary(path: str | Path, results: list) -> Path:
    """A workbook with a row per file (errors, warnings) and a sheet of all findings."""
    summary = SummaryWriter()
    for p, fs, err in results:
        summary.add(p, fs, err)
    return summary.save(path)


SHEET_ROWS = 1_048_576     # rows of one worksheet (Excel 2007 and later)


class SummaryWriter:
    """The summary workbook (:func:`write_summary`) made a file at a time, as a folder's results come: the rows go
    to XlsxWriter's constant-memory row files, not to a list of every finding, so the memory of `check 文件夹/`
    does not grow with the number of workbooks. :meth:`save` writes it (atomically, the old one kept)."""

    def __init__(self):
        import io

        import xlsxwriter

        self._buf = io.BytesIO()
        wb = self.wb = xlsxwriter.Workbook(self._buf, {**XLSX_OPTIONS, "constant_memory": True})
        self.bold = wb.add_format({"bold": True, "font_name": "宋体", "bg_color": "#DDEBF7", "border": 1})
        self.red = wb.add_format({"font_name": "宋体", "bg_color": "#FFC7CE"})
        self.plain = wb.add_format({"font_name": "宋体"})
        self.ws = wb.add_worksheet("汇总")
        for j, text in enumerate(["文件", "错误", "警告", "提示", "状态"]):
            self.ws.write_string(0, j, text, self.bold)
        self.findings_sheets: list = []
        self._findings_sheet()
        self.files = 0

    def _findings_sheet(self) -> None:
        """A (next) 全部问题 sheet: a province's findings may pass the 1,048,576 rows of one sheet."""
        n = len(self.findings_sheets) + 1
        self.ws2 = self.wb.add_worksheet("全部问题" if n == 1 else f"全部问题（{n}）")
        self.findings_sheets.append(self.ws2)
        for j, text in enumerate(["文件", "级别", "规则", "表", "单元格", "说明", "应为", "实际", "差额"]):
            self.ws2.write_string(0, j, text, self.bold)
        self.row = 1

    def add(self, p, fs, err) -> None:
        ws, ws2, plain, red = self.ws, self.ws2, self.plain, self.red
        self.files += 1
        i = self.files
        n = {lv: sum(f.level == lv for f in fs) for lv in ("error", "warning", "info")}
        status = f"无法读取：{err}" if err else ("有错误" if n["error"] else "通过")
        ws.write_string(i, 0, str(p), plain)
        ws.write_number(i, 1, n["error"], red if n["error"] else plain)
        ws.write_number(i, 2, n["warning"], plain)
        ws.write_number(i, 3, n["info"], plain)
        ws.write_string(i, 4, status, red if (err or n["error"]) else plain)
        r = self.row
        for f in fs:
            if r >= SHEET_ROWS:
                self.row = r
                self._findings_sheet()
                ws2, r = self.ws2, self.row
            for j, text in enumerate([str(p), _LEVEL_CN[f.level], f.rule, f.table, f.cell, f.message]):
                ws2.write_string(r, j, "" if text is None else str(text), plain)   # text, never a formula
            for j, v in enumerate((f.expected, f.actual, f.difference), start=6):
                x = _num(v)
                if isinstance(x, float):
                    ws2.write_number(r, j, x, plain)
                elif x is not None:
                    ws2.write_string(r, j, str(x), plain)
            r += 1
        self.row = r

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        ws = self.ws
        ws.set_column(0, 0, 60)
        ws.set_column(4, 4, 40)
        ws.autofilter(0, 0, max(1, self.files), 4)
        ws.freeze_panes(1, 0)
        for ws2 in self.findings_sheets:
            last = self.row - 1 if ws2 is self.ws2 else SHEET_ROWS - 1
            ws2.set_column(0, 0, 40)
            ws2.set_column(4, 4, 30)
            ws2.set_column(5, 5, 90)
            ws2.autofilter(0, 0, max(1, last), 8)
            ws2.freeze_panes(1, 0)
        self.close()
        with atomic_write(path, keep_original=True) as tmp:
            tmp.write_bytes(self._buf.getvalue())
        return path

    def close(self) -> None:
        """Finish the workbook in memory (its row files removed); :meth:`save` calls it, and so must a caller
        that does not save."""
        if not self.wb.fileclosed:
            self.wb.close()


__all__ += ["backup_path"]
