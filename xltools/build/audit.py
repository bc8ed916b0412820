"""The 审核 sheet: every concrete identity of a workbook as live formulas — the third compilation of the
identity declarations (after the builder's derived cells and the checker's evaluation).

One row per concrete Check (``xltools.rules.engine.all_checks``: the declared identities expanded over
the rows present, and the generated 类/款 subtotal checks): rule code, level, description, the target
cell, its value (left side), the right side (the builder's formula for a derived cell,
``Derivation.formula``, except that a single 科目 row is found by its code with SUMPRODUCT, as the checker
finds rows), the difference, the tolerance and the status 通过 / 未通过. Only plain functions
(SUM, SUMPRODUCT, ABS, ROUND, IF, COUNT, ISNUMBER, MIN, MAX, HYPERLINK) so it works in Excel 2010+, WPS
and LibreOffice without an add-in; cached values are computed in Decimal as the formulas compute them.

Tolerance, as the checker's interval arithmetic (``engine.half_width``): 0 when the cover's 金额单位 is 元
(exact to the cent), else ½·10⁻² for every operand cell that holds a number (values typed to 2 decimals).
A percentage (ratio) row passes when the printed value ± half its last digit meets the interval its
rounded numerator and denominator allow, and when it is empty or 0 on a base that may be 0.

Whether a derived cell still holds its formula is shown with ISFORMULA (Excel 2013+, WPS, LibreOffice);
Excel 2010 has no formula for it, and the column then says so (use xltools: rule F-01).

The rows are compiled when the workbook is made and again by `xltools rows add` (and the add-in's
插入科目行), over the rows the sheets then hold (``xltools.build.reaudit``); a row a user inserts by hand
is counted in every sum over its block, but gets no row of its own here until then (its 合计 = Σ parts
check is the checker's).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from xltools.build.cover import COVER_SHEET, OVERRIDE_ROW, SUMMARY_ROW, VALUE_COL, cover_ref
from xltools.build.formulas import Derivation, excel_number, sheet_prefix
from xltools.build.layout import a1
from xltools.model import ZERO
from xltools.rules.engine import Check, Ref, leaf_len

__all__ = ["AUDIT_SHEET", "Audit", "PASS", "FAIL", "PYTHON_ONLY"]

AUDIT_SHEET = "审核"
PASS, FAIL, NA = "通过", "未通过", "不适用"
IS_FORMULA, TYPED_OVER, NO_ISFORMULA = "公式", "已改写", "（Excel 2010 无法判断）"
HEAD_ROW = 3
FIRST_ROW = 4
LEVEL_CN = {"error": "错误", "warning": "提示", "info": "提示"}
HALF = Decimal("0.005")
COLS = ["序号", "规则", "级别", "说明", "单元格", "本格数", "关系", "应为", "差额", "容差", "结果", "公式"]
WIDTHS = [5, 10, 5, 46, 36, 14, 4, 14, 12, 7, 7, 8]
(C_NO, C_RULE, C_LEVEL, C_TEXT, C_CELL, C_LEFT, C_REL, C_RIGHT, C_DIFF, C_TOL, C_STATUS, C_FORMULA,
 C_FLAG, C_NUM, C_DEN, C_NH, C_DH) = range(17)
REL = {"sum": "=", "at_most": "≤", "at_least": "≥", "ratio": "=÷", "same": "≡"}   # same: printed alike

# rules a formula cannot check: named on the sheet (the checker's codes, see xltools/rules/__init__.py)
PYTHON_ONLY = (
    ("C-01 / C-02", "科目编码是否在政府收支分类科目目录中、科目名称是否与目录一致（需科目目录）"),
    ("C-03 / C-04 / C-05 / C-06", "项级科目所属类/款、缺少的类/款小计行、重复编码、有金额无编码的行"),
    ("X-…-00", "各表之间科目是否一一对应（某表有金额的科目在另一表中缺失）"),
    ("V-01 / V-02 / V-03", "以文本形式录入的数字、非数字内容、负数"),
    ("F-01", "合计等公式单元格被改写为常数（本页“公式”列在 Excel 2013 及以上、WPS、LibreOffice 中可判断）"),
    ("N-10", "情况说明（说明事项是否填全、文字中的数字与表格是否一致）"),
    ("P- / W- / X-<表>", "绩效目标表、自评表（分块表）"),
    ("跨金额单位", "金额单位不同的表之间的核对（如以万元列示的“三公”经费表与以元列示的基本支出表）"),
)


@dataclass
class _Row:
    check: Check
    row: int                          # sheet row (0-based)
    target: tuple[str, str, str]
    ref: str | None                   # the target cell as a formula reference ('Sheet'!$D$8); None: no such row
    applicable: bool = True           # False: the checker skips it (a comparison with a missing row)
    formulas: dict[int, str] = field(default_factory=dict)     # column → formula (value-dependent cells)
    count_cells: list = field(default_factory=list)            # operand cells (table,row,col) counted for tolerance
    num_cells: list = field(default_factory=list)              # ratio: numerator cells (table,row,col,sign)
    den_cells: list = field(default_factory=list)
    derived_target: bool = False
    unit: str | None = None           # a table in its own unit (万元 “三公” table in a 元 set): its tolerance


class Audit:
    """The 审核 sheet of one workbook layout: formulas per shape, values per Derivation."""

    def __init__(self, deriv: Derivation, amount_unit: str):
        self.deriv = deriv
        self.layouts = deriv.layouts
        self.amount_unit = amount_unit
        self.rows: list[_Row] = []
        au = cover_ref("amount_unit")
        checks = [c for c in deriv.checks if not c.code.startswith("H-")] + \
                 [c for c in deriv.checks if c.code.startswith("H-")]
        r = FIRST_ROW
        for c in checks:
            if c.target.table not in self.layouts:
                continue
            row = self._compile(c, r, au)
            self.rows.append(row)
            r += 1
        self.last_row = r - 1
        self.summary_formula = self._summary_formula()

    # ------------------------------------------------------------ compile (per shape)
    def _unit_of(self, table: str) -> str:
        lay = self.layouts.get(table)
        own = getattr(lay.table, "amount_unit", "") if lay is not None else ""
        return own or self.amount_unit

    def _cell_ref(self, table: str, row: str, col: str) -> str | None:
        lay = self.layouts.get(table)
        cell = lay.cell(row, col) if lay else None
        if cell is None:
            return None
        return sheet_prefix(lay.sheet) + a1(*cell, True)

    def _term_cells(self, t: Ref, target: Ref) -> list[tuple[str, str, str]]:
        """The cells a term reads (for counting the numbers among them)."""
        d = self.deriv
        lay = self.layouts.get(t.table)
        if lay is None:
            return []
        if t.pattern == "leaf":
            return [(t.table, k, t.col) for k in d._leaf_keys(t, target, whole=True)]
        if t.pattern == "classes":
            out = []
            for pl in lay.panels:
                if pl.value_cols.get(t.col) is not None:
                    out.extend((t.table, rr.key, t.col) for rr in pl.panel.rows if rr.style == "class")
            return out
        return [(t.table, t.row, t.col)] if lay.cell(t.row, t.col) else []

    def _by_code(self, t: Ref) -> tuple[str, str] | None:
        """(codes range, values range) when a term names one 科目 row of a detail block: the 审核 sheet
        finds it by its code, as the checker does, so a row moved or re-typed elsewhere in the block
        is still the row meant."""
        lay = self.layouts.get(t.table)
        if lay is None or t.pattern is not None or not t.row.isdigit():
            return None
        pl = lay.panel_for_row(t.row)
        if pl is None or pl.block is None or pl.code_col is None or pl.value_cols.get(t.col) is None:
            return None
        r0, r1 = pl.block
        pre = sheet_prefix(lay.sheet)
        c = pl.value_cols[t.col]
        return (f"{pre}{a1(r0, pl.code_col, True)}:{a1(r1, pl.code_col, True)}",
                f"{pre}{a1(r0, c, True)}:{a1(r1, c, True)}")

    def _term(self, t: Ref, target: Ref) -> str:
        by_code = self._by_code(t) if not _same_row(t, target) else None
        if by_code is not None:
            codes, vals = by_code
            return f'SUMPRODUCT(--({codes}&""="{t.row}"),{vals})'
        # a pattern sums its whole blocks, as the checker does (the builder's subtotal formula stops at the
        # next row of its level to avoid a circular reference; a term on the target's own table needs not)
        return self.deriv.term_formula(t, AUDIT_SHEET, target, whole=True)

    def _right(self, c: Check) -> str:
        """The right side (as ``Derivation.formula`` writes it, with 科目 rows found by code)."""
        if c.kind == "ratio":
            num, den = (self._term(t, c.target) for t in c.terms)
            return f'=IF({den}=0,"",ROUND({num}/{den}*{c.scale},2))'
        plus = [self._term(t, c.target) for t in c.terms if t.sign > 0]
        minus = [self._term(t, c.target) for t in c.terms if t.sign < 0]
        text = f"SUM({','.join(plus)})" if len(plus) > 1 else (plus[0] if plus else "0")
        return "=" + text + "".join("-" + m for m in minus)

    def _count_formula(self, t: Ref, target: Ref) -> str | None:
        """How many cells of a term hold a number, as a formula."""
        lay = self.layouts.get(t.table)
        if lay is None:
            return None
        pre = sheet_prefix(lay.sheet)
        by_code = self._by_code(t) if not _same_row(t, target) else None
        if by_code is not None:
            codes, vals = by_code
            return f'SUMPRODUCT(--({codes}&""="{t.row}"),--ISNUMBER({vals}))'

        if t.pattern == "leaf":
            n = leaf_len(self.deriv.tset.tables[t.table].detail_kind)
            parts = []
            for pl, r0, r1 in self.deriv.leaf_ranges(t, target, whole=True):
                if r1 < r0:
                    continue
                c = pl.value_cols[t.col]
                codes = f"{pre}{a1(r0, pl.code_col, True)}:{a1(r1, pl.code_col, True)}"
                vals = f"{pre}{a1(r0, c, True)}:{a1(r1, c, True)}"
                cond = f"(LEN({codes})={n})"
                if t.row:
                    cond += f"*(LEFT({codes},{len(t.row)})=\"{t.row}\")"
                parts.append(f"SUMPRODUCT({cond}*ISNUMBER({vals}))")
            return "+".join(parts) or None
        if t.pattern == "classes":
            inner = self.deriv.term_formula(t, AUDIT_SHEET, target)
            return inner.replace("SUM(", "COUNT(", 1) if inner.startswith("SUM(") else None
        ref = self._cell_ref(t.table, t.row, t.col)
        return f"COUNT({ref})" if ref else None

    def _tolerance(self, terms: list[tuple[Ref, Ref]], au: str) -> str:
        counts = [x for t, target in terms if (x := self._count_formula(t, target))]
        if not counts:
            return "=0"
        return f'=IF({au}="万元",0.005*({"+".join(counts)}),0)'

    def _compile(self, c: Check, r: int, au: str) -> _Row:
        d = self.deriv
        target = (c.target.table, c.target.row, c.target.col)
        ref = self._cell_ref(*target)
        row = _Row(c, r, target, ref, derived_target=target in d.derived and ref is not None)
        n = r + 1
        F, H, I, J, K = (f"{x}{n}" for x in "FHIJK")
        # comparisons and percentages are checked only where every single cell they name exists
        singles = [t for t in (c.target, *c.terms) if t.pattern is None]
        if c.kind != "sum" and any(self._cell_ref(t.table, t.row, t.col) is None for t in singles):
            row.applicable = False
            return row
        units = {self._unit_of(t.table) for t in (c.target, *c.terms)}
        if len(units) > 1:
            row.applicable = False      # tables in different units: the checker converts, a formula here does not
            return row
        own = units.pop()
        if own != self.amount_unit:
            row.unit = own
            au = '"万元"' if own == "万元" else '"元"'
        row.count_cells = [target] if ref else []
        for t in c.terms:
            row.count_cells += self._term_cells(t, c.target)
        fx = row.formulas
        if c.kind == "ratio":
            num, den = c.terms
            fx[C_LEFT] = f'=IF(ISNUMBER({ref}),{ref},"")'
            fx[C_RIGHT] = self._right(c)
            fx[C_DIFF] = f'=IF(AND(ISNUMBER({F}),ISNUMBER({H})),{F}-{H},"")'
            sgn = lambda t: "-" if t.sign < 0 else ""   # noqa: E731
            fx[C_NUM] = f"={sgn(num)}{self._term(num, c.target)}"
            fx[C_DEN] = f"={sgn(den)}{self._term(den, c.target)}"
            fx[C_NH] = self._tolerance([(num, c.target)], au)
            fx[C_DH] = self._tolerance([(den, c.target)], au)
            row.num_cells = self._term_cells(num, c.target)
            row.den_cells = self._term_cells(den, c.target)
            N, O, P, Q = (f"{x}{n}" for x in "NOPQ")
            corners = ",".join(f"({N}{a}{P})/({O}{b}{Q})*{c.scale}" for a in "-+" for b in "-+")
            th = (f"IF(ROUND({F},0)={F},0.5,IF(ROUND({F},1)={F},0.05,IF(ROUND({F},2)={F},0.005,"
                  f"IF(ROUND({F},3)={F},0.0005,0.00005))))")
            fx[C_STATUS] = (f'=IF(ABS({O})<={Q},IF(AND(ISNUMBER({F}),{O}=0),IF({F}<>0,"{FAIL}","{PASS}"),"{PASS}"),'
                            f'IF(NOT(ISNUMBER({F})),"{FAIL}",IF(AND({F}+{th}>=MIN({corners}),'
                            f'{F}-{th}<=MAX({corners})),"{PASS}","{FAIL}")))')
        elif c.kind == "same":
            # one quantity printed in two tables: the figures must be identical (no rounding allowance),
            # compared where both cells hold a number
            fx[C_LEFT] = f"=N({ref})" if ref else "=0"
            fx[C_RIGHT] = self._right(c)
            fx[C_DIFF] = f"={F}-{H}"
            fx[C_TOL] = "=0"
            count = self._count_formula(c.terms[0], c.target) or "0"
            both = f"AND(ISNUMBER({ref}),({count})>0)" if ref else "FALSE"
            fx[C_STATUS] = f'=IF({both},IF(ROUND(ABS({I}),6)>0,"{FAIL}","{PASS}"),"{NA}")'
        else:
            fx[C_LEFT] = f"=N({ref})" if ref else "=0"
            fx[C_RIGHT] = self._right(c)
            fx[C_DIFF] = f"={F}-{H}"
            fx[C_TOL] = self._tolerance([(c.target, c.target)] * bool(ref) + [(t, c.target) for t in c.terms], au)
            cmp = {"sum": f"ROUND(ABS({I}),6)>ROUND({J},6)", "at_most": f"ROUND({I},6)>ROUND({J},6)",
                   "at_least": f"ROUND(-{I},6)>ROUND({J},6)"}[c.kind]
            fx[C_STATUS] = f'=IF({cmp},"{FAIL}","{PASS}")'
            if c.kind != "sum":
                # a comparison with a 科目 row that is no longer in its table is not made (the checker's
                # presence rule X-…-00 reports the missing row)
                present = [f'SUMPRODUCT(--({bc[0]}&""="{t.row}"))>0' for t in c.terms
                           if not _same_row(t, c.target) and (bc := self._by_code(t)) is not None]
                if present:
                    fx[C_STATUS] = f'=IF(AND({",".join(present)}),IF({cmp},"{FAIL}","{PASS}"),"{NA}")'
        if row.derived_target:
            fx[C_FORMULA] = f'=IFERROR(IF(_xlfn.ISFORMULA({ref}),"{IS_FORMULA}","{TYPED_OVER}"),"{NO_ISFORMULA}")'
        fx[C_FLAG] = f'=IF({K}="{FAIL}",{1 if c.level == "error" else 2},0)'
        return row

    def _flag_range(self) -> str:
        return (sheet_prefix(AUDIT_SHEET) + a1(FIRST_ROW, C_FLAG, True) + ":" + a1(max(self.last_row, FIRST_ROW),
                                                                                   C_FLAG, True))

    def _summary_formula(self) -> str | None:
        if not self.rows:
            return None
        m = self._flag_range()
        first = f"IFERROR(MATCH(1,{m},0),IFERROR(MATCH(2,{m},0),1))"
        link = f'"#{sheet_prefix(AUDIT_SHEET)}{_col(C_STATUS)}"&({FIRST_ROW}+{first})'
        text = (f'IF(COUNTIF({m},1)=0,"审核通过"&IF(COUNTIF({m},2)>0,"（另有 "&COUNTIF({m},2)&" 项提示）",""),'
                f'COUNTIF({m},1)&" 项未通过")')
        return f"=HYPERLINK({link},{text})"

    def override_formula(self) -> str | None:
        if not any(r.derived_target for r in self.rows):
            return None
        rng = (sheet_prefix(AUDIT_SHEET) + a1(FIRST_ROW, C_FORMULA, True) + ":"
               + a1(self.last_row, C_FORMULA, True))
        return (f'=IF(COUNTIF({rng},"{NO_ISFORMULA}")>0,"（Excel 2010 无法判断，请用 xltools 校验）",'
                f'IF(COUNTIF({rng},"{TYPED_OVER}")=0,"无",COUNTIF({rng},"{TYPED_OVER}")&" 处（见“审核”页“公式”列）"))')

    # ------------------------------------------------------------ values (per unit)
    def values(self, deriv: Derivation | None = None) -> dict[tuple[str, str], object]:
        """(sheet, A1) → the cached value of every value-dependent formula cell of the 审核 and 封面 sheets."""
        d = deriv or self.deriv
        tw = self.amount_unit == "万元"

        def is_num(cell) -> bool:
            if cell in d.derived:
                d.value(cell)
                if cell in d.overrides:
                    return d.given(cell) is not None
                return cell not in d.blank
            return d.given(cell) is not None

        def tol(cells, unit=None) -> Decimal:
            wan = unit == "万元" if unit else tw
            return HALF * sum(1 for x in cells if is_num(x)) if wan else ZERO

        out: dict[tuple[str, str], object] = {}
        errors = warnings = typed = 0
        for row in self.rows:
            if not row.applicable:
                continue
            c = row.check
            v: dict[int, object] = {}
            if c.kind == "ratio":
                left = d.value(row.target) if is_num(row.target) else ""
                right = d.formula_value(c, whole=True)
                right = "" if right is None else right
                num = sum((d.value(x) for x in row.num_cells), ZERO) * c.terms[0].sign
                den = sum((d.value(x) for x in row.den_cells), ZERO) * c.terms[1].sign
                nh, dh = tol(row.num_cells, row.unit), tol(row.den_cells, row.unit)
                v.update({C_LEFT: left, C_RIGHT: right, C_NUM: num, C_DEN: den, C_NH: nh, C_DH: dh,
                          C_DIFF: left - right if left != "" and right != "" else ""})
                failed = _ratio_fails(left, num, den, nh, dh, c.scale)
            else:
                left = d.value(row.target) if row.ref else ZERO
                right = d.formula_value(c, whole=True)
                diff = left - right
                t = tol(row.count_cells, row.unit)
                v.update({C_LEFT: left, C_RIGHT: right, C_DIFF: diff, C_TOL: t})
                if c.kind == "same":
                    t = ZERO
                    both = bool(row.ref) and is_num(row.target) and any(is_num(x) for x in row.count_cells[1:])
                    failed = both and diff != ZERO
                else:
                    failed = {"sum": abs(diff) > t, "at_most": diff > t, "at_least": -diff > t}[c.kind]
                    both = True
                v.update({C_TOL: t})
            v[C_STATUS] = (FAIL if failed else PASS) if c.kind != "same" or both else NA
            if row.derived_target:
                fixed = row.target in d.overrides
                v[C_FORMULA] = TYPED_OVER if fixed else IS_FORMULA
                typed += fixed
            flag = (1 if c.level == "error" else 2) if failed else 0
            v[C_FLAG] = flag
            errors += flag == 1
            warnings += flag == 2
            for col in row.formulas:
                out[(AUDIT_SHEET, a1(row.row, col))] = v[col]
        if self.summary_formula:
            text = f"{errors} 项未通过" if errors else "审核通过" + (f"（另有 {warnings} 项提示）" if warnings else "")
            out[(COVER_SHEET, a1(SUMMARY_CELL[0], SUMMARY_CELL[1]))] = text
            out[(AUDIT_SHEET, "A2")] = text
        if self.override_formula():
            out[(COVER_SHEET, a1(OVERRIDE_CELL[0], OVERRIDE_CELL[1]))] = \
                "无" if not typed else f"{typed} 处（见“审核”页“公式”列）"
        return out

    def formulas(self) -> dict[tuple[str, str], str]:
        """(sheet, A1) → formula of every value-dependent cell (what ``values`` gives cached values for)."""
        out = {}
        for row in self.rows:
            for col, f in row.formulas.items():
                out[(AUDIT_SHEET, a1(row.row, col))] = f
        if self.summary_formula:
            out[(COVER_SHEET, a1(*SUMMARY_CELL))] = self.summary_formula
            out[(AUDIT_SHEET, "A2")] = self.summary_formula
        of = self.override_formula()
        if of:
            out[(COVER_SHEET, a1(*OVERRIDE_CELL))] = of
        return out

    # ------------------------------------------------------------ writing
    def write_cover_cells(self, ws, fm, summary_row: int, override_row: int, col: int) -> None:
        vals = self.values()
        link = fm.get(border=1, bold=True, font_color="#0563C1", underline=1, align="left")
        plain = fm.get(border=1, align="left")
        if self.summary_formula:
            ws.write_formula(summary_row, col, self.summary_formula, link,
                             vals[(COVER_SHEET, a1(summary_row, col))])
            ws.conditional_format(summary_row, col, summary_row, col, {
                "type": "text", "criteria": "containing", "value": FAIL, "format": _red(fm)})
        else:
            ws.write_string(summary_row, col, "本套表无公式审核项（需用 xltools 校验）", plain)
        of = self.override_formula()
        if of:
            ws.write_formula(override_row, col, of, plain, vals[(COVER_SHEET, a1(override_row, col))])
        else:
            ws.write_string(override_row, col, "无", plain)

    def write_sheet(self, wb, fm, tset) -> None:
        ws = wb.add_worksheet(AUDIT_SHEET)
        vals = self.values()
        last = len(COLS) - 1
        ws.merge_range(0, 0, 0, last, "审核（表内、表间勾稽关系）", fm.title())
        ws.set_row(0, 28)
        bold = fm.get(bold=True, align="left")
        if self.summary_formula:
            ws.merge_range(1, 0, 1, 3, "", bold)
            ws.write_formula(1, 0, self.summary_formula, fm.get(bold=True, align="left", font_color="#0563C1",
                                                                 underline=1), vals[(AUDIT_SHEET, "A2")])
        ws.merge_range(2, 0, 2, last,
                       "每行一条勾稽关系，公式实时计算（无需加载项）。金额单位为万元时按四舍五入区间容差（每个数 ±0.005）；"
                       "元为精确到分。“公式”列：合计等公式单元格是否被改写（Excel 2010 无此功能）。"
                       "科目目录、情况说明等见本页末尾，需用 xltools 校验。", fm.get(text_wrap=True, font_size=9))
        ws.set_row(2, 30)
        head = fm.header()
        for i, text in enumerate(COLS):
            ws.write_string(HEAD_ROW, i, text, head)
        cell = fm.get(border=1, align="left")
        wrap = fm.get(border=1, align="left", text_wrap=True)
        center = fm.get(border=1, align="center")
        money = fm.get(border=1, num_format="#,##0.00")
        tolf = fm.get(border=1, num_format="0.000")
        status = fm.get(border=1, align="center", bold=True)
        for i, row in enumerate(self.rows):
            r, c = row.row, row.check
            ws.write_number(r, C_NO, i + 1, center)
            ws.write_string(r, C_RULE, c.code, cell)
            ws.write_string(r, C_LEVEL, LEVEL_CN.get(c.level, c.level), center)
            ws.write_string(r, C_TEXT, c.message, wrap)
            lines = -(-_width(c.message) // (WIDTHS[C_TEXT] - 1))
            if lines > 1:      # wrapped text: the row is made tall enough (no application sizes it on opening)
                ws.set_row(r, 13.5 * lines)
            lay = self.layouts[c.target.table]
            pos = lay.cell(c.target.row, c.target.col)
            if pos is not None:
                addr = a1(*pos)
                ws.write_url(r, C_CELL, f"internal:{sheet_prefix(lay.sheet)}{addr}", cell,
                             string=f"{lay.sheet}!{addr}")
            else:
                ws.write_string(r, C_CELL, f"{lay.sheet}（无此行）", cell)
            ws.write_string(r, C_REL, REL[c.kind], center)
            if not row.applicable:
                for col in (C_LEFT, C_RIGHT, C_DIFF, C_TOL, C_FORMULA):
                    ws.write_blank(r, col, None, cell)
                ws.write_string(r, C_STATUS, NA, status)
                continue
            for col in (C_TOL, C_FORMULA):
                if col not in row.formulas:
                    ws.write_blank(r, col, None, cell)
            for col, f in row.formulas.items():
                fmt_ = {C_LEFT: money, C_RIGHT: money, C_DIFF: money, C_TOL: tolf, C_STATUS: status,
                        C_FORMULA: center}.get(col, money)
                v = vals[(AUDIT_SHEET, a1(r, col))]
                ws.write_formula(r, col, f, fmt_, _cached(v))
        if self.rows:
            ws.conditional_format(FIRST_ROW, C_STATUS, self.last_row, C_STATUS, {
                "type": "cell", "criteria": "==", "value": f'"{FAIL}"', "format": _red(fm)})
            ws.conditional_format(FIRST_ROW, C_FORMULA, self.last_row, C_FORMULA, {
                "type": "cell", "criteria": "==", "value": f'"{TYPED_OVER}"', "format": _red(fm)})
        # what needs Python
        r = (self.last_row if self.rows else FIRST_ROW - 1) + 2
        ws.merge_range(r, 0, r, last, "以下规则无法用公式核对，需用 xltools 校验（xltools check 文件.xlsx，或加载项的“校验”）：",
                       fm.get(bold=True, align="left"))
        r += 1
        for code, text in PYTHON_ONLY:
            ws.write_string(r, C_RULE, code, cell)
            ws.merge_range(r, C_LEVEL, r, last, f"需用 xltools 校验：{text}", wrap)
            r += 1
        self.end_row = r
        for i, w in enumerate(WIDTHS):
            ws.set_column(i, i, w)
        ws.set_column(C_FLAG, C_DH, 10, None, {"hidden": True})
        ws.freeze_panes(FIRST_ROW, 0)
        ws.autofilter(HEAD_ROW, 0, max(self.last_row, FIRST_ROW), last)
        ws.set_landscape()
        ws.set_paper(9)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.repeat_rows(HEAD_ROW, HEAD_ROW)
        ws.print_area(0, 0, r - 1, last)
        ws.fit_to_pages(1, 0)
        ws.set_footer("&C审核 第 &P 页，共 &N 页")
        ws.protect("", {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True,
                        "select_locked_cells": True, "select_unlocked_cells": True})


SUMMARY_CELL = (SUMMARY_ROW, VALUE_COL)      # 封面!B12
OVERRIDE_CELL = (OVERRIDE_ROW, VALUE_COL)    # 封面!B13


def _width(text: str) -> int:
    """Display width in column-width units (a CJK character of 宋体 10 pt takes about 1.7)."""
    return int(sum(1.7 if ord(ch) > 0x2E80 else 1 for ch in text) + 0.999)


def _same_row(t: Ref, target: Ref) -> bool:
    """A term on the target's own row (a row total): plain cell references, which move with the row."""
    return t.pattern is None and t.table == target.table and t.row == target.row


def _col(c: int) -> str:
    from xltools.build.layout import col_letter

    return col_letter(c)


def _cached(v):
    return excel_number(v) if isinstance(v, Decimal) else v


def _red(fm):
    return fm.wb.add_format({"font_color": "#9C0006", "bg_color": "#FFC7CE", "bold": True})


def _ratio_fails(left, num: Decimal, den: Decimal, nh: Decimal, dh: Decimal, scale: int) -> bool:
    """The status formula of a percentage row, in Decimal."""
    if abs(den) <= dh:
        return left != "" and den == ZERO and left != ZERO
    if left == "":
        return True
    th = Decimal("0.00005")
    for places, h in ((0, "0.5"), (1, "0.05"), (2, "0.005"), (3, "0.0005")):
        if left == round(left, places):
            th = Decimal(h)
            break
    corners = [(num + a) / (den + b) * scale for a in (-nh, nh) for b in (-dh, dh)]
    return not (left + th >= min(corners) and left - th <= max(corners))
