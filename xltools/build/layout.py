"""Where every cell of a table goes on its sheet. Shared by the builder (to write) and the reader
(to know which columns hold what). Rows and columns are 0-based, as XlsxWriter counts them."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from xltools.model import TableData
from xltools.spec import Panel, Table, Variant, without_rows

__all__ = ["PanelLayout", "TableLayout", "layout_table", "col_letter", "a1", "SPARE_ROWS", "SPARE_VISIBLE", "TITLE_ROWS", "grouped_spare_rows"]

SPARE_ROWS = 15         # empty input rows at the end of every detail block (the first 3 shown, the rest grouped)
SPARE_VISIBLE = 3       # of which shown; the others are an outline group (level 1, collapsed) below them
TITLE_ROWS = 3          # title, 公开XX表, 公开部门/金额单位


@functools.lru_cache(maxsize=1024)
def col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, r = divmod(c - 1, 26)
        s = chr(65 + r) + s
    return s


@functools.lru_cache(maxsize=1 << 16)   # the reader and the builder ask for the same few thousand cells
def a1(r: int, c: int, absolute: bool = False) -> str:
    if absolute:
        return f"${col_letter(c)}${r + 1}"
    return f"{col_letter(c)}{r + 1}"


@dataclass
class PanelLayout:
    panel: Panel
    col0: int
    label_col: int | None = None      # fixed panels: 项目
    lineno_col: int | None = None     # fixed panels: 行次
    code_col: int | None = None       # detail panels: 科目编码
    name_col: int | None = None       # detail panels: 科目名称
    value_cols: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)      # row key -> sheet row
    blank_rows: list[tuple[int, object]] = field(default_factory=list)   # fixed filler rows (row, Row)
    block: tuple[int, int] | None = None   # detail: first and last sheet row of the code block (incl. spare rows)
    spare: list[int] = field(default_factory=list)           # sheet rows of spare input rows

    @property
    def width(self) -> int:
        return self.panel.width


@dataclass
class TableLayout:
    table: Table
    sheet: str
    header_first: int
    header_depth: int
    colno_row: int          # 栏次
    data_first: int
    data_last: int
    note_row: int
    panels: list[PanelLayout]
    width: int

    def cell(self, row_key: str, col: str) -> tuple[int, int] | None:
        for p in self.panels:
            r = p.rows.get(row_key)
            c = p.value_cols.get(col)
            if r is not None and c is not None:
                return r, c
        return None

    def panel_for_row(self, row_key: str) -> PanelLayout | None:
        for p in self.panels:
            if row_key in p.rows:
                return p
        return None


def header_depth(table: Table) -> int:
    depth = 1
    for p in table.panels:
        d = max([len(c.label) for c in p.columns] + [2 if p.is_detail else 1])
        depth = max(depth, d + (1 if p.header else 0))
    return depth


def ordered_detail_rows(panel: Panel, data: TableData | None, variant: Variant, keep_order: bool = False) -> list[str]:
    """Row keys of a detail panel in sheet order (the 合计 row is placed separately).

    ``keep_order``: rows stay in the data's order (a transcription keeps the published order)."""
    if data is None:
        return []
    keys = [k for k, r in data.rows.items() if r.panel == panel.id and r.kind in ("detail", "class", "spare")]
    if variant.hierarchy and not keep_order:
        # 类 before its 款 before its 项, by code; rows without a code keep their place at the end
        coded = sorted((k for k in keys if k.isdigit()), key=lambda k: (k[:3], k[:5], len(k), k))
        keys = coded + [k for k in keys if not k.isdigit()]
    return keys


def layout_table(table: Table, data: TableData | None, variant: Variant, spare: int = SPARE_ROWS,
                 keep_order: bool = False) -> TableLayout:
    depth = header_depth(table)
    header_first = TITLE_ROWS
    colno_row = header_first + depth
    data_first = colno_row + 1
    panels: list[PanelLayout] = []
    col = 0
    omitted = variant.omitted(table.id) if hasattr(variant, "omitted") else ()
    # optional 类 lines not printed: the panel loses them, and a panel printed beside it as many blank
    # filler rows, so that 本年收入合计 and 本年支出合计 stay on one line
    dropped = max((len(p.rows) - len(without_rows(p.rows, omitted)) for p in table.panels), default=0)
    for p in table.panels:
        if dropped and not p.is_detail:
            rows = without_rows(p.rows, omitted)
            if len(rows) == len(p.rows):
                blanks = [i for i, r in enumerate(rows) if r.style == "blank"][-dropped:]
                rows = tuple(r for i, r in enumerate(rows) if i not in blanks)
            p = replace(p, rows=rows)
        if omitted and any(c.key in omitted for c in p.columns):
            # an optional column this variant does not print: the panel as printed
            kept = [c for c in p.columns if c.key not in omitted]
            # a group left with its 小计 alone prints as one column (事业收入 without 其中：教育收费)
            kept = [replace(c, label=c.label[:-1]) if len(c.label) > 1 and c.label[-1] in ("小计", "合计")
                    and not any(o is not c and o.label[:-1] == c.label[:-1] for o in kept) else c for c in kept]
            p = replace(p, columns=tuple(kept))
        pl = PanelLayout(panel=p, col0=col)
        if p.is_detail:
            pl.code_col, pl.name_col = col, col + 1
            c = col + 2
        else:
            pl.label_col = col
            c = col + 1
            if p.lineno:
                pl.lineno_col = c
                c += 1
        for column in p.columns:
            pl.value_cols[column.key] = c
            c += 1
        col = c
        panels.append(pl)

    has_total_row = table.is_detail and not any(p.footer for p in table.panels)
    r = data_first
    if table.is_detail:
        start = data_first
        position = variant.total_position_of(table.id) if hasattr(variant, "total_position_of") \
            else variant.total_position
        if has_total_row and position == "top":
            for pl in panels:
                pl.rows["total"] = data_first
            start += 1
        longest = 0
        for pl in panels:
            if not pl.panel.is_detail:
                continue
            keys = ordered_detail_rows(pl.panel, data, variant, keep_order)
            for i, k in enumerate(keys):
                pl.rows[k] = start + i
            pl.spare = [start + len(keys) + i for i in range(spare)]
            n = len(keys) + spare
            pl.block = (start, start + max(n, 1) - 1)
            longest = max(longest, n)
        r = start + longest
        if has_total_row and position != "top":
            for pl in panels:
                pl.rows["total"] = r
            r += 1
        for pl in panels:
            for f in pl.panel.footer:
                pl.rows[f.key] = r
        if any(pl.panel.footer for pl in panels):
            r += 1
    else:
        longest = 0
        for pl in panels:
            i = 0
            for row in (*pl.panel.rows, *pl.panel.footer):
                if row.key:
                    pl.rows[row.key] = data_first + i
                else:
                    pl.blank_rows.append((data_first + i, row))
                i += 1
            longest = max(longest, i)
        r = data_first + longest
    return TableLayout(table=table, sheet=table.sheet_name(), header_first=header_first, header_depth=depth,
                       colno_row=colno_row, data_first=data_first, data_last=r - 1, note_row=r,
                       panels=panels, width=col)


def spare_index(key: str) -> int:
    """1-based index of a spare row key (``#<panel><i>``), 0 for any other row."""
    if not key.startswith("#"):
        return 0
    digits = ""
    for ch in reversed(key):
        if not ch.isdigit():
            break
        digits = ch + digits
    return int(digits) if digits else 0


def grouped_spare_rows(lay: TableLayout, visible: int = SPARE_VISIBLE) -> list[int]:
    """Sheet rows that are spare input rows past the first ``visible`` in every panel that has a cell on
    them: the builder folds them into a collapsed outline group (they print only when expanded)."""
    fixed: set[int] = set()
    hideable: set[int] = set()
    for pl in lay.panels:
        for key, r in pl.rows.items():
            (hideable if spare_index(key) > visible else fixed).add(r)
        fixed.update(r for r, _ in pl.blank_rows)
    return sorted(hideable - fixed)
