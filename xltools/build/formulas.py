"""Compile derive-identities to Excel formulas and compute their values (the cached values)."""
from __future__ import annotations

from decimal import Decimal

from xltools.build.layout import TableLayout, a1
from xltools.model import ZERO, Report
from xltools.rules.engine import Check, Ref, all_checks, leaf_len, panel_class_keys
from xltools.spec import TableSet, Variant

__all__ = ["Derivation", "sheet_prefix", "excel_number"]

Cell = tuple[str, str, str]   # (table, row, col)


class Derivation:
    """Which cells are formulas, what their formulas are, and what they compute to.

    A value given in the data for a derived cell that differs from what the formula computes is
    kept as a constant (that is what a published table or a user's typing says); downstream
    formulas then see that constant, exactly as Excel would.
    """

    def __init__(self, tset: TableSet, variant: Variant, report: Report, layouts: dict[str, TableLayout]):
        self.tset, self.variant, self.report, self.layouts = tset, variant, report, layouts
        self.checks = all_checks(tset, variant, report)
        self.derived: dict[Cell, Check] = {}
        for c in self.checks:
            if c.derive:
                key = (c.target.table, c.target.row, c.target.col)
                if key not in self.derived and layouts.get(c.target.table) and \
                        layouts[c.target.table].cell(c.target.row, c.target.col):
                    self.derived[key] = c
        self._memo: dict[Cell, Decimal] = {}
        self.blank: set[Cell] = set()      # ratio cells whose formula yields "" (a zero base)
        self.overrides: set[Cell] = set()
        self._busy: set[Cell] = set()

    # -------------------------------------------------------------- values
    def given(self, cell: Cell) -> Decimal | None:
        td = self.report.tables.get(cell[0])
        v = td.get(cell[1], cell[2]) if td else None
        return v.amount if v is not None else None

    def value(self, cell: Cell) -> Decimal:
        if cell in self._memo:
            return self._memo[cell]
        check = self.derived.get(cell)
        if check is None:
            result = self.given(cell) or ZERO
        else:
            if cell in self._busy:
                raise ValueError(f"公式循环引用：{cell}")
            self._busy.add(cell)
            computed = self.formula_value(check)
            self._busy.discard(cell)
            given = self.given(cell)
            if computed is None:          # a ratio over a zero base: the formula shows ""
                computed = ZERO
                if given is None:
                    self.blank.add(cell)
                    self._memo[cell] = ZERO
                    return ZERO
                self.overrides.add(cell)      # a number where the formula would show "": kept as given
                self._memo[cell] = given
                return given
            if given is not None and given != computed:
                self.overrides.add(cell)
                result = given
            elif given is None and computed != ZERO and self._printed_empty(cell):
                self.overrides.add(cell)      # written as an empty cell, as printed
                result = ZERO
            else:
                result = computed
        self._memo[cell] = result
        return result

    def _printed_empty(self, cell: Cell) -> bool:
        if not self.report.as_published:
            return False
        td = self.report.tables.get(cell[0])
        if td is None:
            return False
        row = td.rows.get(cell[1])
        if row is None:                   # a total row the document does not print at all (上海 公开06 合计)
            table = self.tset.tables[cell[0]]
            return cell[1] == "total" or any(r.key == cell[1] for p in table.panels for r in p.footer)
        return row.kind != "spare" and cell[2] not in row.values and bool(row.source)

    def leaf_ranges(self, t: Ref, target: Ref, whole: bool = False) -> list[tuple[object, int, int]]:
        """(panel layout, first row, last row) of the code ranges a leaf pattern sums over.

        A subtotal row in the same block sums only the rows below it up to the next row of its own
        level or higher: a range that held the subtotal's own cell would be a circular reference.
        ``whole``: every block whole, as the checker sums a pattern (a formula outside the tables, on
        the 审核 sheet, cannot be circular).
        """
        lay = self.layouts.get(t.table)
        out = []
        if lay is None:
            return out
        for pl in lay.panels:
            if pl.block is None or pl.value_cols.get(t.col) is None:
                continue
            if pl.panel.classes and t.row and t.row[:3] not in pl.panel.classes:
                continue
            r0, r1 = pl.block
            own = pl.rows.get(target.row) if target.table == t.table and not whole else None
            if own is not None and r0 <= own <= r1:
                level = len(target.row)
                after = sorted((r, k) for k, r in pl.rows.items() if r > own and r0 <= r <= r1)
                end = r1
                for r, k in after:
                    if k.isdigit() and len(k) <= level:
                        end = r - 1
                        break
                r0, r1 = own + 1, end
            out.append((pl, r0, r1))
        return out

    def _leaf_keys(self, t: Ref, target: Ref, whole: bool = False) -> list[str]:
        n = leaf_len(self.tset.tables[t.table].detail_kind)
        keys = []
        for pl, r0, r1 in self.leaf_ranges(t, target, whole):
            keys.extend(k for k, r in pl.rows.items() if r0 <= r <= r1 and k.isdigit() and len(k) == n
                        and k.startswith(t.row))
        return keys

    def formula_value(self, check: Check, whole: bool = False) -> Decimal | None:
        """The value of the check's right side as its formula computes it (``whole``: patterns over whole
        blocks, as on the 审核 sheet — :meth:`leaf_ranges`)."""
        if check.kind == "ratio":
            from xltools.rules.engine import ratio_value

            num, den = (self.value((t.table, t.row, t.col)) * t.sign for t in check.terms)
            return ratio_value(num, den, check.scale)
        total = ZERO
        for t in check.terms:
            if t.pattern == "leaf":
                for k in self._leaf_keys(t, check.target, whole):
                    total += t.sign * self.value((t.table, k, t.col))
            elif t.pattern == "classes":   # the 类 lines of a fixed panel, whether or not data gives them
                for p in self.tset.tables[t.table].panels:
                    if p.column(t.col) is not None:
                        for r in p.rows:
                            if r.style == "class":
                                total += t.sign * self.value((t.table, r.key, t.col))
            elif t.pattern == "pclasses":
                lay = self.layouts.get(t.table)
                for k in self._pclass_keys(t):
                    if lay is not None and lay.cell(k, t.col):
                        total += t.sign * self.value((t.table, k, t.col))
            else:
                total += t.sign * self.value((t.table, t.row, t.col))
        return total

    def _pclass_keys(self, t: Ref) -> list[str]:
        lay = self.layouts.get(t.table)
        rows = {k for pl in lay.panels for k in pl.rows} if lay is not None else set()
        return panel_class_keys(self.tset.tables[t.table], t.row, rows)

    # -------------------------------------------------------------- formulas
    def formula(self, check: Check, here: str | None = None) -> str:
        """The check's right-hand side as an Excel formula; references to sheets other than ``here``
        (default: the target's own table) carry the sheet name (the 审核 sheet passes a non-table)."""
        here = check.target.table if here is None else here
        if check.kind == "ratio":
            num, den = (self._term(t, here, check.target) for t in check.terms)
            return f'=IF({den}=0,"",ROUND({num}/{den}*{check.scale},2))'
        plus = [self._term(t, here, check.target) for t in check.terms if t.sign > 0]
        minus = [self._term(t, here, check.target) for t in check.terms if t.sign < 0]
        # SUM() of references ignores text in a cell, in Excel, WPS and LibreOffice alike
        text = f"SUM({','.join(plus)})" if len(plus) > 1 else (plus[0] if plus else "0")
        return "=" + text + "".join("-" + m for m in minus)

    def _sheet_prefix(self, table: str, here: str) -> str:
        if table == here:
            return ""
        return sheet_prefix(self.layouts[table].sheet)

    def term_formula(self, t: Ref, here: str, target: Ref, whole: bool = False) -> str:
        """One term of a check as an Excel expression (without its sign); ``whole``: see :meth:`leaf_ranges`."""
        return self._term(t, here, target, whole)

    def _term(self, t: Ref, here: str, target: Ref, whole: bool = False) -> str:
        lay = self.layouts.get(t.table)
        if lay is None:
            return "0"
        pre = self._sheet_prefix(t.table, here)
        if t.pattern == "classes":
            rows = []
            for pl in lay.panels:
                c = pl.value_cols.get(t.col)
                rows.extend((pl.rows[r.key], c) for r in pl.panel.rows if r.style == "class" and c is not None)
            if not rows:
                return "0"
            (r0, c0), (r1, _) = rows[0], rows[-1]
            return f"SUM({pre}{a1(r0, c0)}:{a1(r1, c0)})"
        if t.pattern == "pclasses":
            cells = [pre + a1(*lay.cell(k, t.col)) for k in self._pclass_keys(t) if lay.cell(k, t.col)]
            if not cells:
                return "0"
            return cells[0] if len(cells) == 1 else f"SUM({','.join(cells)})"
        if t.pattern == "leaf":
            n = leaf_len(self.tset.tables[t.table].detail_kind)
            sums = []
            for pl, r0, r1 in self.leaf_ranges(t, target, whole):
                c = pl.value_cols[t.col]
                if r1 < r0:
                    continue
                codes = f"{pre}{a1(r0, pl.code_col, True)}:{a1(r1, pl.code_col, True)}"
                vals = f"{pre}{a1(r0, c, True)}:{a1(r1, c, True)}"
                cond = f"(LEN({codes})={n})"
                if t.row:
                    cond += f"*(LEFT({codes},{len(t.row)})=\"{t.row}\")"
                else:
                    cond = "--" + cond
                sums.append(f"SUMPRODUCT({cond},{vals})")
            if not sums:
                return "0"
            return sums[0] if len(sums) == 1 else "(" + "+".join(sums) + ")"
        cell = lay.cell(t.row, t.col)
        if cell is None:
            return "0"
        return pre + a1(*cell)


def sheet_prefix(name: str) -> str:
    """'Sheet'! as a formula names a sheet."""
    return "'" + name.replace("'", "''") + "'!"


def excel_number(d: Decimal | None):
    """A Decimal as the number written into a cell (an int where it is whole)."""
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() and abs(d) < 2 ** 53 else float(d)
