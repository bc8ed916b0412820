"""What an import reads: a workbook or a PDF turned into a stream of *lines*.

A line is one row of cells (a table row, or a text line as a single cell) with where each cell was
printed. Workbook sheets and PDF pages are concatenated in their order, so a table that continues on
the next page (or sheet) is simply the lines that follow; recognising tables is done on this stream
by :mod:`xltools.importer.recognize` and never depends on sheet names or positions.
"""
from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path

from xltools.build.layout import col_letter

__all__ = ["Line", "Source", "ImportError_", "read_source", "source_from_grids", "OUR_SHEETS"]

# sheets xltools itself adds to a workbook: never part of a table
OUR_SHEETS = frozenset({"_xltools", "说明事项", "科目目录", "科目补充", "校验结果", "审核", "封面", "情况说明"})


class _Where:
    """Where each cell of a workbook line stands ("Sheet!E7"), made only when asked for."""
    __slots__ = ("sheet", "row")

    def __init__(self, sheet: str, row: int):
        self.sheet, self.row = sheet, row

    def __getitem__(self, c: int) -> str:
        return f"{self.sheet}!{col_letter(c)}{self.row + 1}"


class ImportError_(ValueError):
    """A source cannot be imported; the message is Chinese and names the file."""


@dataclass
class Line:
    cells: list                    # cell values: str | float | int | None (None: covered by a merge)
    where: object                  # per cell (indexable): "收入决算表!E7" or "第8页第5行第5栏"
    unit: int                      # index of the sheet / page it belongs to (0-based)
    unit_name: str                 # sheet name or "第8页"
    is_text: bool = False          # a text line of a PDF page (not a table row)
    # header cells covered by a merge take the merged cell's text: (column -> text)
    spans: dict = field(default_factory=dict)
    table: int = -1                # PDF: index of the table on the page; workbook: -1
    context: str = ""              # the 绩效 block table a line belongs to, when not a 公开表
    covered: frozenset = frozenset()   # PDF: the cells a merged cell covers (pdfplumber's None), empty or not

    def text(self) -> str:
        return "".join(str(c) for c in self.cells if c not in (None, ""))


@dataclass
class Source:
    path: Path
    kind: str                      # "workbook" | "pdf"
    lines: list[Line]
    units: list[str]               # sheet names or page labels
    text_pages: list[list[str]] = field(default_factory=list)   # PDF: each page's text lines


def read_source(path: str | Path) -> Source:
    path = Path(path)
    if not path.exists():
        raise ImportError_(f"找不到文件：{path}")
    if not path.is_file():
        raise ImportError_(f"{path.name}：不是普通文件")
    suffix = path.suffix.lower()
    from xltools.read import guard   # bounded before calamine / pdfplumber allocate (read/guard.py)
    if suffix in (".xlsx", ".xlsm"):
        guard.check_workbook(path, error=ImportError_)
    elif suffix == ".ods":
        guard.check_zip(path, "工作簿", error=ImportError_)
    elif suffix == ".pdf":
        guard.check_pdf(path, error=ImportError_)
    elif suffix in (".xls", ".xlsb"):
        guard.regular_file(path, "文件", error=ImportError_, limit=guard.MAX_WORKBOOK_BYTES)
    if suffix in (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"):
        return _read_workbook(path)
    if suffix == ".pdf":
        return _read_pdf(path)
    raise ImportError_(f"{path.name}：只能导入 .xlsx/.xls 工作簿或 .pdf 文件")


# ---------------------------------------------------------------- workbooks

def _read_workbook(path: Path) -> Source:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for damaged files
        raise ImportError_(f"{path.name}：无法打开工作簿（{exc}）") from None
    lines: list[Line] = []
    units: list[str] = []
    for meta in wb.sheets_metadata:
        name = meta.name
        if not str(meta.visible).endswith("Visible") or name in OUR_SHEETS:
            continue
        try:
            sh = wb.get_sheet_by_name(name)
            rows = sh.to_python(skip_empty_area=False)
            merged = list(getattr(sh, "merged_cell_ranges", None) or [])
        except Exception as exc:
            raise ImportError_(f"{path.name}：无法读取工作表“{name}”（{exc}）") from None
        # to_python(skip_empty_area=False) is anchored at A1 whatever sh.start says
        cover: dict[tuple[int, int], tuple[int, int]] = {}
        for (a, b), (c, d) in merged:
            for r in range(a, c + 1):
                for col in range(b, d + 1):
                    if (r, col) != (a, b):
                        cover[(r, col)] = (a, b)
        u = len(units)
        units.append(name)
        grid = {}
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                grid[(i, j)] = v
        for r, row in enumerate(rows):
            cells = ["" if v is None else v for v in row]
            spans = {}
            for col in range(len(cells)):
                top = cover.get((r, col))
                if top is not None and cells[col] in ("", None):
                    spans[col] = grid.get(top, "")
            if not any(v not in ("", None) for v in cells) and not spans:
                continue
            lines.append(Line(cells=cells, where=_Where(name, r), unit=u, unit_name=name, spans=spans))
    return Source(path=path, kind="workbook", lines=lines, units=units)


def source_from_grids(name: str, sheets: list[tuple[str, list[list]]]) -> Source:
    """A Source from sheets given as value grids anchored at A1 — the Excel add-in's xlwings
    ``used_range`` values (no merge information: parent headers are filled by the recogniser)."""
    lines: list[Line] = []
    units: list[str] = []
    for sheet, grid in sheets:
        if sheet in OUR_SHEETS:
            continue
        u = len(units)
        units.append(sheet)
        for r, row in enumerate(grid):
            cells = ["" if v is None else v for v in row]
            if not any(v not in ("", None) for v in cells):
                continue
            lines.append(Line(cells=cells, where=_Where(sheet, r), unit=u, unit_name=sheet))
    return Source(path=Path(name), kind="workbook", lines=lines, units=units)


# ---------------------------------------------------------------- PDF

def _read_pdf(path: Path) -> Source:
    try:
        import pdfplumber
        from pdfminer.pdfdocument import PDFPasswordIncorrect
    except ImportError:  # pragma: no cover - a dependency of the package
        raise ImportError_("读取 PDF 需要 pdfplumber：pip install pdfplumber") from None
    try:
        pdf = pdfplumber.open(str(path))
    except PDFPasswordIncorrect:
        raise ImportError_(f"{path.name}：PDF 已加密，无法读取（请先解除密码保护）") from None
    except Exception as exc:
        msg = str(exc) or type(exc).__name__
        if "password" in msg.lower() or "encrypt" in msg.lower():
            raise ImportError_(f"{path.name}：PDF 已加密，无法读取（请先解除密码保护）") from None
        raise ImportError_(f"{path.name}：无法打开 PDF（{msg}）") from None
    lines: list[Line] = []
    units: list[str] = []
    text_pages: list[list[str]] = []
    chars = 0
    with pdf:
        try:
            pages = list(pdf.pages)
        except Exception as exc:
            raise ImportError_(f"{path.name}：PDF 结构损坏（{exc}）") from None
        for pno, page in enumerate(pages, start=1):
            label = f"第{pno}页"
            u = len(units)
            units.append(label)
            try:
                page_lines, texts, n = _pdf_page(page, pno, u, label)
            except Exception as exc:
                raise ImportError_(f"{path.name} {label}：无法解析（{exc}）") from None
            chars += n
            lines.extend(page_lines)
            text_pages.append(texts)
    if chars == 0:
        raise ImportError_(f"{path.name}：PDF 中没有文字层（可能是扫描件），无法导入；请用原始 Excel 或带文字的 PDF")
    return Source(path=path, kind="pdf", lines=lines, units=units, text_pages=text_pages)


def _pdf_page(page, pno: int, u: int, label: str):
    """The page as lines in reading order: text lines outside tables, and table rows."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    items: list[tuple[float, int, Line]] = []
    words = page.extract_words(keep_blank_chars=False, use_text_flow=False, y_tolerance=3)
    n_chars = len(page.chars)
    outside = [w for w in words if not any(_inside(w, b) for b in boxes)]
    texts = []
    for y, text in _group_lines(outside):
        texts.append(text)
        items.append((y, 0, Line(cells=[text], where=[f"{label}"], unit=u, unit_name=label, is_text=True)))
    for ti, t in enumerate(tables):
        rows = _whole_numbers(t, t.extract(), words)
        cover = _pdf_cover(t, rows)
        # empty ruled rows above the title cell (江苏 2019: a frame line or two drawn over it) are skipped
        lead = next((k for k, r in enumerate(rows) if any(c not in (None, "") for c in r)), 0)
        head = _ruled_title(rows[lead:])
        if head:
            # the title block drawn inside the table's frame (江苏: “收支预算总表 / 部门：… 单位：万元” in one
            # cell over the header): its lines are the table's title lines, the cell itself is no row
            top = t.rows[lead].bbox[1]
            for k, text in enumerate(head):
                texts.append(text)
                items.append((top - 0.01 * (len(head) - k), 0,
                              Line(cells=[text], where=[f"{label}"], unit=u, unit_name=label, is_text=True)))
            # nor is it over the rows below (it may frame them all): their cells are not covered by its text
            title_cell = next(c for c in rows[lead] if c not in (None, ""))
            cover = {k: v for k, v in cover.items() if v != title_cell}
            rows = [["" for _ in r] for r in rows[:lead + 1]] + rows[lead + 1:]
        for ri, row in enumerate(rows):
            top = t.rows[ri].bbox[1]
            # pdfplumber gives None for the cells a merged cell covers: give them its text, so
            # multi-level headers read as paths
            spans = {ci: cover[(ri, ci)] for ci, v in enumerate(row) if v is None and (ri, ci) in cover}
            cells = ["" if v is None else v for v in row]
            where = [f"{label}第{ri + 1}行第{ci + 1}栏（表{ti + 1}）" for ci in range(len(row))]
            covered = frozenset(ci for ci, v in enumerate(row) if v is None)
            items.append((top, 1, Line(cells=cells, where=where, unit=u, unit_name=label, spans=spans, table=ti,
                                       covered=covered)))
    items.sort(key=lambda x: (round(x[0], 0), x[1]))
    return [it[2] for it in items], texts, n_chars


_NUMBER_WORD = re.compile(r"[-+]?[\d,，]+(?:\.\d+)?%?")
# an amount cut in its decimals (“267.8|0”), not two amounts side by side (“881046.28|399”, an amount and a code)
_CUT_DECIMALS = re.compile(r"-?[\d,]*\d\.(?:\|\d\d|\d\|\d)")


def _whole_numbers(t, rows, words):
    """``rows`` with an amount a rule runs through (pdfplumber splits it over two cells, “267.8 | 0” for 267.80:
    江苏省检察院 2018 公开09) whole in the cell it starts in — only where the two cells hold nothing but its parts,
    cut in its decimals (two amounts printed side by side make one word too: “881046.28399”)."""
    try:
        trows = list(t.rows)
    except Exception:  # pragma: no cover - older pdfplumber
        return rows
    out = None
    for w in words:
        if not _NUMBER_WORD.fullmatch(w["text"]):
            continue
        cy = (w["top"] + w["bottom"]) / 2
        ri = next((i for i, r in enumerate(trows) if r.bbox[1] <= cy <= r.bbox[3]), None)
        if ri is None or ri >= len(rows):
            continue
        hit = [ci for ci, b in enumerate(trows[ri].cells)
               if b is not None and b[0] < w["x1"] - 0.5 and b[2] > w["x0"] + 0.5 and ci < len(rows[ri])]
        if len(hit) != 2:
            continue
        a, b = (re.sub(r"\s+", "", rows[ri][ci] or "") for ci in hit)
        if a + b != w["text"] or not _CUT_DECIMALS.fullmatch(f"{a}|{b}"):
            continue
        out = out if out is not None else [list(r) for r in rows]
        out[ri][hit[0]], out[ri][hit[1]] = w["text"], ""
    return out if out is not None else rows


def _ruled_title(rows) -> list[str]:
    """The title and 部门/单位 lines of a table whose first row is one cell holding them (a title ruled inside
    the frame), else []. Only the lines up to the one naming the unit: the rest repeats the rows below."""
    if not rows:
        return []
    filled = [c for c in rows[0] if c not in (None, "")]
    if len(filled) != 1 or "\n" not in str(filled[0]):
        return []
    lines = [ln.strip() for ln in str(filled[0]).split("\n") if ln.strip()]
    if len(lines) > 1 and re.fullmatch(r"(?:公开\s*\d+\s*表|表\s*[一二三四五六七八九十\d]+)[:：]?", lines[0]):
        lines = lines[1:]         # the 表号 on a line of its own above the title (“公开03表”)
    first = re.sub(r"\s+", "", lines[0])
    if not re.search(r"表(\(.*\)|（.*）)?$", first) or re.search(r"\d", re.sub(r"20\d{2}年度?", "", first)):
        return []
    out = []
    for ln in lines:
        out.append(ln)
        if re.search(r"单位[:：]", ln):
            return out
    return []


def _pdf_cover(t, rows) -> dict:
    """(row, col) of a cell covered by a merged cell -> the merged cell's text, from the cells' boxes."""
    try:
        rbox = [r.bbox for r in t.rows]
        # the grid's columns run from one cell's left edge to the next (pdfplumber's column boxes stretch over
        # the merged cells starting in them: “三公”经费's over 12 columns, 江苏省检察院 2019 公开09)
        lefts = [c.bbox[0] for c in t.columns]
        cbox = [(x0, 0, lefts[j + 1] if j + 1 < len(lefts) else t.bbox[2], 0) for j, x0 in enumerate(lefts)]
    except Exception:  # pragma: no cover - older pdfplumber
        return {}
    out = {}
    for ri, r in enumerate(t.rows):
        for ci, box in enumerate(r.cells):
            if box is None or ri >= len(rows) or ci >= len(rows[ri]) or rows[ri][ci] in (None, ""):
                continue
            x0, top, x1, bottom = box
            for rj, (_, rt, _, rb) in enumerate(rbox):
                if rt < top - 0.5 or rb > bottom + 0.5:
                    continue
                for cj, (cx0, _, cx1, _) in enumerate(cbox):
                    if cx0 >= x0 - 0.5 and cx1 <= x1 + 0.5 and (rj, cj) != (ri, ci):
                        out[(rj, cj)] = rows[ri][ci]
    return out


def _inside(w, box) -> bool:
    x0, top, x1, bottom = box
    cx, cy = (w["x0"] + w["x1"]) / 2, (w["top"] + w["bottom"]) / 2
    return x0 - 1 <= cx <= x1 + 1 and top - 1 <= cy <= bottom + 1


def _group_lines(words, tol: float | None = None):
    """Words grouped into lines by their vertical middle, each line's words in x order.

    Some publishers set the figures of a sentence a few points lower than its characters (上海 区级
    决算: 4.8 pt at 12 pt type), so a line takes every word whose middle is within half a line
    height of the line's first word."""
    if tol is None:
        heights = sorted(w["bottom"] - w["top"] for w in words) or [6.0]
        tol = max(3.0, 0.5 * heights[len(heights) // 2])
    lines: list[list] = []
    for w in sorted(words, key=lambda w: ((w["top"] + w["bottom"]) / 2, w["x0"])):
        mid = (w["top"] + w["bottom"]) / 2
        if lines and abs(lines[-1][0] - mid) <= tol:
            lines[-1][1].append(w)
        else:
            lines.append([mid, [w]])
    out = []
    for mid, ws in lines:
        ws.sort(key=lambda w: w["x0"])
        text = ""
        prev = None
        for w in ws:
            if prev is not None and w["x0"] - prev["x1"] > 1.5 and (_ascii_edge(prev["text"][-1]) or _ascii_edge(w["text"][0])):
                text += " "
            text += w["text"]
            prev = w
        out.append((min(w["top"] for w in ws), text))
    return out


def _ascii_edge(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()
