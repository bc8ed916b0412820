"""绩效 block tables on a sheet: write (formulas with cached values) and read back (by the labels in column A)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from xltools.build.layout import a1

ZERO = Decimal(0)

# targets: fund rows per form — (key, label in column A, formula over keys or None)
TARGET_FUNDS = {
    "simple": [
        ("annual_total", "年度资金总额", ("fiscal", "other")),
        ("fiscal", "其中：财政拨款", None),
        ("other", "其他资金", None),
    ],
    "full": [
        ("project_total", "项目总额", None),
        ("annual_total", "其中：年度资金总额", ("local_total", "transfer_total")),
        ("local_total", "本级资金：资金总额", ("fiscal", "other", "carryover")),
        ("fiscal", "本级资金：其中：财政拨款", None),
        ("other", "本级资金：其他资金", None),
        ("carryover", "本级资金：结余结转资金", None),
        ("transfer_total", "转移市县（区）资金：资金总额", ("transfer_central", "transfer_region")),
        ("transfer_central", "转移市县（区）资金：其中：中央资金", None),
        ("transfer_region", "转移市县（区）资金：自治区资金", None),
    ],
}
TARGET_HEAD = ["一级指标", "二级指标", "三级指标", "指标值"]
SELF_FUND_ROWS = [("total", "年度资金总额"), ("fiscal", "其中：当年财政拨款"), ("carryover", "上年结转资金"),
                  ("other", "其他资金")]
SELF_HEAD = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]


_COUNT = [0]


def _wf(ws, *args):
    """write_formula, counted (the builder reports how many formulas it wrote)."""
    _COUNT[0] += 1
    return ws.write_formula(*args)


def _num(d):
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() and abs(d) < 2 ** 53 else float(d)


def _decimals_format(d: Decimal) -> str:
    """The number format that shows ``d`` with the decimals it was printed to ("8.2" → #,##0.0)."""
    exp = d.as_tuple().exponent
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    return "#,##0" + ("." + "0" * places if places else "")


def _close(given: Decimal | None, computed: Decimal | None, tol: Decimal) -> bool:
    return given is None or (computed is not None and abs(given - computed) <= tol)


def _fit(ws, r, texts_widths, minimum=15.0):
    """Row height for wrapped text (LibreOffice and Excel do not grow a row written by XlsxWriter):
    a CJK character is about two width units of the column."""
    import math

    lines = 1
    for text, width in texts_widths:
        per_line = max(1, int(width / 1.9))
        lines = max(lines, sum(math.ceil(max(1, len(part)) / per_line) for part in str(text or "").split("\n")))
    ws.set_row(r, max(minimum, 13.5 * lines))


def grade_of(total: Decimal | None) -> str:
    if total is None:
        return ""
    return "优" if total >= 90 else "良" if total >= 80 else "中" if total >= 60 else "差"


class _Fmt:
    def __init__(self, wb):
        self.wb, self.cache = wb, {}

    def __call__(self, **kw):
        key = tuple(sorted(kw.items()))
        if key not in self.cache:
            props = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1, "text_wrap": True}
            props.update(kw)
            self.cache[key] = self.wb.add_format(props)
        return self.cache[key]


def write_sheets(wb, fm, report, tset, variant) -> None:
    """One sheet per block table of the set (called by build_workbook); returns the number of formulas."""
    from xltools.perf.blocks import blocks_of

    _COUNT[0] = 0
    tables = blocks_of(report)
    if any(bt.id in report.blocks for bt in tables):
        # a data folder with one of the block tables (a 自评表 sample) gets that sheet only
        tables = tuple(bt for bt in tables if bt.id in report.blocks) if report.set_id == "performance" else tables
    for bt in tables:
        projects = report.blocks.get(bt.id)
        if projects is None:
            from xltools.perf.blocks import Project
            projects = [Project(name="")]        # `xltools new`: one empty block to fill in (copy it for more)
        ws = wb.add_worksheet(bt.sheet_name())
        f = _Fmt(wb)
        if bt.kind == "targets":
            _write_targets(ws, f, bt, report, projects)
        else:
            _write_selfeval(ws, f, bt, report, projects)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        ws.set_footer("&C第 &P 页，共 &N 页")
    return _COUNT[0]


def _title(ws, f, bt, report, width, r=0):
    """Title and year line; the unit and the year come from the 封面 sheet by formula (cached: as now)."""
    from xltools.build.cover import cover_ref, year_formula

    title_fmt = f(font_name="黑体", font_size=14, bold=True, align="center", border=0)
    quoted = bt.title.replace('"', '""')
    ws.merge_range(r, 0, r, width - 1, "", title_fmt)
    ws.write_formula(r, 0, f'={cover_ref("unit")}&"{quoted}"', title_fmt, f"{report.unit or ''}{bt.title}")
    year_fmt = f(align="center", border=0)
    ws.merge_range(r + 1, 0, r + 1, width - 1, "", year_fmt)
    ws.write_formula(r + 1, 0, year_formula("（{year}年度）    单位：万元"), year_fmt,
                     f"（{report.year or '    '}年度）    单位：万元")
    return r + 3


def _write_targets(ws, f, bt, report, projects):
    from xltools.perf.blocks import dec, half_unit

    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 18)
    ws.set_column(2, 2, 40)
    ws.set_column(3, 3, 22)
    r = _title(ws, f, bt, report, 4)
    label, text, head = f(bold=True, bg_color="#DDEBF7"), f(align="left"), f(bold=True, align="center", bg_color="#DDEBF7")
    money_in, money_f = f(num_format="#,##0.00", bg_color="#FFF2CC"), f(num_format="#,##0.00", bg_color="#EDEDED")
    for p in projects:
        fl = p.fields
        ws.write_string(r, 0, "项目名称", label)
        ws.merge_range(r, 1, r, 3, p.name, text)
        ws.write_string(r + 1, 0, "主管部门及代码", label)
        ws.write_string(r + 1, 1, " ".join(x for x in (fl.get("department", ""), fl.get("department_code", "")) if x), text)
        ws.write_string(r + 1, 2, "实施单位", label)
        ws.write_string(r + 1, 3, fl.get("implementer", ""), text)
        ws.write_string(r + 2, 0, "项目属性", label)
        ws.write_string(r + 2, 1, fl.get("attribute", ""), text)
        ws.write_string(r + 2, 2, "项目期", label)
        ws.write_string(r + 2, 3, fl.get("period", ""), text)
        r += 3
        rows = TARGET_FUNDS[bt.form]
        where = {k: r + i for i, (k, _, _) in enumerate(rows)}
        given = {k: dec(p.funds.get(k)) for k, _, _ in rows}
        values: dict = {}

        def value(k):
            if k in values:
                return values[k]
            spec = next(x for x in rows if x[0] == k)
            if spec[2] is None:
                values[k] = given[k]
                return values[k]
            parts = [value(x) for x in spec[2]]
            comp = sum((x or ZERO for x in parts), ZERO)
            tol = half_unit(given[k]) + sum((half_unit(given.get(x)) for x in spec[2]), ZERO)
            values[k] = comp if _close(given[k], comp, tol) else given[k]
            return values[k]

        for k, lab, parts in rows:
            rr = where[k]
            ws.merge_range(rr, 0, rr, 2, lab, label)
            v = value(k)
            if parts is None:
                ws.write(rr, 3, _num(v), money_in) if v is not None else ws.write_blank(rr, 3, None, money_in)
            elif given[k] is not None and v == given[k] and not _close(given[k], sum((value(x) or ZERO for x in parts), ZERO), ZERO):
                ws.write_number(rr, 3, _num(v), money_in)           # printed, and not the sum of its parts: kept
            else:
                _wf(ws, rr, 3, "=SUM(" + ",".join(a1(where[x], 3) for x in parts) + ")", money_f, _num(v))
        r += len(rows)
        ws.write_string(r, 0, "年度总体目标", label)
        ws.merge_range(r, 1, r, 3, fl.get("goal", ""), text)
        _fit(ws, r, [(fl.get("goal", ""), 80)], 30)
        r += 1
        for c, h in enumerate(TARGET_HEAD):
            ws.write_string(r, c, h, head)
        r += 1
        for ind in p.indicators:
            for c, v in enumerate(ind):
                ws.write_string(r, c, v, text)
            _fit(ws, r, zip(ind, (22, 18, 40, 22)))
            r += 1
        if not p.indicators:
            for _ in range(3):
                for c in range(4):
                    ws.write_blank(r, c, None, text)
                r += 1
        if fl.get("rating"):
            ws.write_string(r, 0, "综合评定等级", label)
            ws.merge_range(r, 1, r, 3, fl.get("rating", ""), text)
            r += 1
        if fl.get("subject"):
            ws.write_string(r, 0, "功能分类科目", label)
            ws.merge_range(r, 1, r, 3, fl.get("subject", ""), text)
            r += 1
        r += 1


def _write_selfeval(ws, f, bt, report, projects):
    from xltools.perf.blocks import dec, half_unit

    for c, w in enumerate((16, 12, 30, 14, 14, 8, 8, 24)):
        ws.set_column(c, c, w)
    r = _title(ws, f, bt, report, 8)
    label, text, head = f(bold=True, bg_color="#DDEBF7"), f(align="left"), f(bold=True, align="center", bg_color="#DDEBF7")
    num_in, num_f = f(num_format="#,##0.00", bg_color="#FFF2CC"), f(num_format="#,##0.00", bg_color="#EDEDED")
    pct_f, pct_in = f(num_format="0.00%", bg_color="#EDEDED"), f(num_format="0.00%", bg_color="#FFF2CC")
    for p in projects:
        fl = p.fields
        ws.write_string(r, 0, "项目名称", label)
        ws.merge_range(r, 1, r, 7, p.name, text)
        _fit(ws, r, [(p.name, 110)])
        ws.write_string(r + 1, 0, "主管部门", label)
        ws.merge_range(r + 1, 1, r + 1, 3, fl.get("department", ""), text)
        ws.write_string(r + 1, 4, "实施单位", label)
        ws.merge_range(r + 1, 5, r + 1, 7, fl.get("implementer", ""), text)
        ws.write_row(r + 2, 0, ["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"], head)
        ws.write_blank(r + 2, 7, None, head)
        r += 3
        fund_row = r
        for i, (k, lab) in enumerate(SELF_FUND_ROWS):
            vals = list(p.funds.get(k) or [])
            vals += [None] * (6 - len(vals))
            ws.write_string(r + i, 0, lab, label)
            for c in range(3):
                d = dec(vals[c])
                ws.write(r + i, 1 + c, _num(d), num_in) if d is not None else ws.write_blank(r + i, 1 + c, None, num_in)
            if k == "total":
                weight, rate_g, score_g = dec(vals[3]), dec(vals[4]), dec(vals[5])
                budget, spent = dec(vals[1]), dec(vals[2])
                rate = spent / budget if budget and spent is not None else None
                ws.write(r, 4, _num(weight), num_in) if weight is not None else ws.write_blank(r, 4, None, num_in)
                rr = a1(r, 2)
                if rate_g is not None and not _close(rate_g, rate, half_unit(rate_g)):
                    ws.write_number(r, 5, _num(rate_g), pct_in)
                    rate = rate_g
                else:
                    _wf(ws, r, 5, f'=IF(N({rr})=0,"",{a1(r, 3)}/{rr})', pct_f,
                                     float(rate) if rate is not None else "")
                score = (min(rate, Decimal(1)) * weight).quantize(Decimal("0.01")) \
                    if rate is not None and weight is not None else None
                if score_g is not None and not _close(score_g, score, half_unit(score_g)):
                    # the printed 得分 with the decimals it was printed to (8.2 is not 8.20): read back by its format
                    ws.write_number(r, 6, _num(score_g), f(num_format=_decimals_format(score_g), bg_color="#FFF2CC"))
                else:
                    _wf(ws, r, 6, f'=IF(OR({a1(r, 4)}="",{a1(r, 5)}=""),"",ROUND(MIN({a1(r, 5)},1)*{a1(r, 4)},2))',
                                     num_f, _num(score) if score is not None else "")
                p.cells["score"] = score_g if score_g is not None and (score is None or not _close(score_g, score, half_unit(score_g))) else score
            else:
                for c in range(4, 8):
                    ws.write_blank(r + i, c, None, text)
                sub_rate = dec(vals[4])
                if sub_rate is not None:           # some tables print a 执行率 for a source line too
                    b_, s_ = dec(vals[1]), dec(vals[2])
                    comp = s_ / b_ if b_ and s_ is not None else None
                    rr = a1(r + i, 2)
                    if _close(sub_rate, comp, half_unit(sub_rate)):
                        _wf(ws, r + i, 5, f'=IF(N({rr})=0,"",{a1(r + i, 3)}/{rr})', pct_f,
                            float(comp) if comp is not None else "")
                    else:
                        ws.write_number(r + i, 5, _num(sub_rate), pct_in)
        r += len(SELF_FUND_ROWS)
        ws.write_string(r, 0, "年度总体目标：预期目标", label)
        ws.merge_range(r, 1, r, 7, fl.get("goal_expected", ""), text)
        ws.write_string(r + 1, 0, "实际完成情况", label)
        ws.merge_range(r + 1, 1, r + 1, 7, fl.get("goal_actual", ""), text)
        _fit(ws, r, [(fl.get("goal_expected", ""), 110)], 30)
        _fit(ws, r + 1, [(fl.get("goal_actual", ""), 110)], 30)
        r += 2
        ws.write_row(r, 0, SELF_HEAD, head)
        r += 1
        first = r
        for ind in p.indicators:
            for c, v in enumerate(ind):
                d = dec(v) if c in (5, 6) else None
                if d is not None:
                    ws.write_number(r, c, _num(d), num_in)
                else:
                    ws.write_string(r, c, v, text)
            _fit(ws, r, zip(ind, (16, 12, 30, 14, 14, 8, 8, 24)))
            r += 1
        if not p.indicators:
            for _ in range(3):
                for c in range(8):
                    ws.write_blank(r, c, None, num_in if c in (5, 6) else text)
                r += 1
        last = r - 1
        tot = [dec(x) for x in (p.funds.get("score_total") or [None, None])] + [None, None]
        tv = list(p.funds.get("total") or []) + [None] * 6
        w_sum = sum((dec(i[5]) or ZERO for i in p.indicators), ZERO) + (dec(tv[3]) or ZERO)
        s_sum = sum((dec(i[6]) or ZERO for i in p.indicators), ZERO) + (Decimal(str(p.cells.get("score") or 0)))
        ws.write_string(r, 0, "总分", label)
        for c in range(1, 5):
            ws.write_blank(r, c, None, text)
        for col, comp, g in ((5, w_sum, tot[0]), (6, s_sum, tot[1])):
            extra = a1(fund_row, 4 if col == 5 else 6)
            if g is not None and not _close(g, comp, half_unit(g)):
                ws.write_number(r, col, _num(g), num_in)
            else:
                _wf(ws, r, col, f"=SUM({a1(first, col)}:{a1(last, col)})+N({extra})", num_f, _num(comp))
        ws.write_blank(r, 7, None, text)
        total_cell = a1(r, 6)
        r += 1
        ws.write_string(r, 0, "等级", label)
        grade_g = fl.get("grade", "")
        computed = grade_of(tot[1] if tot[1] is not None and not _close(tot[1], s_sum, half_unit(tot[1])) else s_sum)
        if grade_g and grade_g != computed:
            ws.merge_range(r, 1, r, 7, grade_g, num_in)
        else:
            ws.merge_range(r, 1, r, 7, "", num_f)
            shown = tot[1] if tot[1] is not None and not _close(tot[1], s_sum, half_unit(tot[1])) else s_sum
            _wf(ws, r, 1, f'=IF(N({total_cell})=0,"",IF({total_cell}>=90,"优",IF({total_cell}>=80,"良",'
                                   f'IF({total_cell}>=60,"中","差"))))', num_f, computed if shown else "")
        r += 2


# ---------------------------------------------------------------- reading

def read_blocks(path: str | Path, report) -> None:
    """Workbook → report.blocks for every block table of the report's set (by the labels in column A)."""
    from python_calamine import CalamineWorkbook

    from xltools.perf.blocks import blocks_of

    from xltools.read import guard

    bts = blocks_of(report)
    if not bts:
        return
    # the block sheets are checked before calamine reads them (the reader checked only the sheets it read)
    guard.check_workbook(path, sheets={bt.sheet_name() for bt in bts})
    wb = CalamineWorkbook.from_path(str(path))
    for bt in bts:
        if bt.sheet_name() not in wb.sheet_names:
            # the performance set's two tables stand alone (a workbook may hold the 自评表 only);
            # a set whose tables include a block table (预算 表九) needs it
            if report.set_id != "performance" or not any(b.sheet_name() in wb.sheet_names for b in bts):
                report.problems.append(("missing_sheet", bt.id, bt.sheet_name()))
            continue
        grid = wb.get_sheet_by_name(bt.sheet_name()).to_python(skip_empty_area=False)
        sheet = bt.sheet_name()
        report.blocks[bt.id] = read_block_grid(bt, grid, sheet)
        report.blocks.setdefault("_sheets", {})[bt.id] = sheet
        if bt.kind != "targets":
            _printed_scores(path, sheet, report.blocks[bt.id])


def _printed_scores(path, sheet: str, projects) -> None:
    """A 预算执行得分 typed as a number keeps the decimals its cell shows (8.2 in a #,##0.0 cell is 8.2, not
    8.20; 9.40 in a #,##0.00 cell is 9.40): the 得分 rule compares it at that precision."""
    cells = {f"G{p.cells['total']}": p for p in projects if isinstance(p.cells.get("total"), int)}
    shown = cell_decimals(path, sheet, set(cells))
    for ref, places in shown.items():
        vals = cells[ref].funds.get("total")
        if vals and len(vals) > 5 and isinstance(vals[5], (int, float)) and not isinstance(vals[5], bool):
            vals[5] = Decimal(repr(vals[5])).quantize(Decimal(1).scaleb(-places))


# the decimals of the built-in number formats (ECMA-376 18.8.30); 0 (General) shows what the value holds
_BUILTIN_DECIMALS = {1: 0, 2: 2, 3: 0, 4: 2, 9: 0, 10: 2, 11: 2, 37: 0, 38: 0, 39: 2, 40: 2}


def _format_decimals(code: str) -> int | None:
    """The decimals a number format code shows (its first section): "#,##0.0" → 1, "0" → 0, General → None."""
    import re

    first = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", code.split(";")[0])
    if not re.search(r"[0#?]", first):
        return None
    m = re.search(r"\.([0#?]+)", first)
    return len(m.group(1)) if m else 0


def cell_decimals(path, sheet: str, refs: set[str]) -> dict[str, int]:
    """Cell (A1) → the decimals its number format shows, for the cells ``refs`` of ``sheet`` that have one
    (a General cell is left out). The workbook was checked by the guard before it was opened."""
    import re
    import zipfile
    from xml.etree import ElementTree as ET

    if not refs:
        return {}
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}
    rid_attr = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    try:
        with zipfile.ZipFile(path) as z:
            wb = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            target = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", ns)}
            node = next((s for s in wb.findall("m:sheets/m:sheet", ns) if s.get("name") == sheet), None)
            if node is None:
                return {}
            t = target.get(node.get(rid_attr), "")
            data = z.read(t.lstrip("/") if t.startswith("/") else "xl/" + t)
            styles = ET.fromstring(z.read("xl/styles.xml"))
    except (KeyError, OSError, zipfile.BadZipFile, ET.ParseError):
        return {}
    codes = {int(n.get("numFmtId")): n.get("formatCode") or "" for n in styles.findall("m:numFmts/m:numFmt", ns)
             if (n.get("numFmtId") or "").isdigit()}
    xfs = styles.findall("m:cellXfs/m:xf", ns)
    out = {}
    for m in re.finditer(rb'<(?:\w+:)?c\s[^>]*>', data):
        tag = m.group(0)
        r = re.search(rb'\sr="([A-Z]+[0-9]+)"', tag)
        if r is None or r.group(1).decode() not in refs:
            continue
        s_ = re.search(rb'\ss="(\d+)"', tag)
        if s_ is None or int(s_.group(1)) >= len(xfs):
            continue
        fid = int(xfs[int(s_.group(1))].get("numFmtId") or 0)
        places = _format_decimals(codes[fid]) if fid in codes else _BUILTIN_DECIMALS.get(fid)
        if places is not None:
            out[r.group(1).decode()] = places
    return out


def read_block_grid(bt, grid: list[list], sheet: str, where=None) -> list:
    """The projects of one block table laid out as we write it (labels in column A), from a grid of
    values — a sheet read by calamine, or the rows of a printed table (``where(r, c)`` then names a
    cell as printed, e.g. "第12页第3行第4栏")."""
    from xltools.perf.blocks import Project

    where = where or (lambda r, c: f"{sheet}!{a1(r, c)}")
    projects: list[Project] = []
    cur: Project | None = None
    mode = ""
    fund_labels = {lab: k for k, lab, _ in TARGET_FUNDS[bt.form]} if bt.kind == "targets" else \
        {lab: k for k, lab in SELF_FUND_ROWS}

    def cell(r, c):
        return grid[r][c] if r < len(grid) and c < len(grid[r]) else None

    for r in range(len(grid)):
        a = str(cell(r, 0) or "").strip()
        if a == "项目名称":
            cur = Project(name=str(cell(r, 1) or "").strip(), source=where(r, 0))
            projects.append(cur)
            mode = ""
            continue
        if cur is None:
            continue
        if a == "一级指标":
            mode = "ind"
            continue
        if a in ("总分", "综合评定等级", "功能分类科目", "等级"):
            mode = ""
        if bt.kind == "targets":
            if a in fund_labels:
                cur.funds[fund_labels[a]] = cell(r, 3)
                cur.cells[fund_labels[a]] = where(r, 3)
            elif a == "主管部门及代码":
                cur.fields["department"] = str(cell(r, 1) or "")
                cur.fields["implementer"] = str(cell(r, 3) or "")
            elif a == "年度总体目标":
                cur.fields["goal"] = str(cell(r, 1) or "")
            elif a == "综合评定等级":
                cur.fields["rating"] = str(cell(r, 1) or "")
            elif a == "功能分类科目":
                cur.fields["subject"] = str(cell(r, 1) or "").strip()
            elif mode == "ind":
                row = [str(cell(r, c) if cell(r, c) is not None else "") for c in range(4)]
                if any(row):
                    cur.indicators.append(row)
                    cur.cells.setdefault("ind", []).append(r + 1)
        else:
            if a in fund_labels:
                k = fund_labels[a]
                cur.funds[k] = [cell(r, c) for c in range(1, 7)]
                cur.cells[k] = r + 1
            elif a == "总分":
                cur.funds["score_total"] = [cell(r, 5), cell(r, 6)]
                cur.cells["score_total"] = r + 1
            elif a == "等级":
                cur.fields["grade"] = str(cell(r, 1) or "")
                cur.cells["grade"] = r + 1
            elif mode == "ind":
                row = [cell(r, c) for c in range(8)]
                if any(x not in (None, "") for x in row):
                    cur.indicators.append(["" if x is None else (x if c in (5, 6) else str(x))
                                           for c, x in enumerate(row)])
                    cur.cells.setdefault("ind", []).append(r + 1)
    return projects
