"""汇总: a department's workbook from its units' workbooks.

Every input cell of the result is the sum of the units' cells with the same (table, row key, column),
where the row key of a detail table is the 功能/经济分类 code: units with different row sets merge
correctly, a 科目 any unit has appears once. Derived cells (totals, subtotals) are not summed but
generated as formulas, with their cached values, by the ordinary builder; a sheet 汇总单位 lists the
units merged and how many errors the checker found in each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from xltools.model import Report, RowData, Value

__all__ = ["merge", "merge_reports", "Consolidation", "MergeError", "MergeResult", "MergedUnit", "UNITS_SHEET"]

UNITS_SHEET = "汇总单位"


class MergeError(ValueError):
    """The workbooks cannot be merged (unreadable, or of different sets/variants/years/amount units)."""


@dataclass(frozen=True)
class MergedUnit:
    name: str
    code: str
    file: str
    errors: int
    warnings: int


@dataclass
class MergeResult:
    path: Path
    units: list[MergedUnit] = field(default_factory=list)
    formulas: int = 0
    report: Report | None = None


def _key(rep: Report) -> tuple:
    return (rep.set_id, rep.variant, rep.year, rep.amount_unit)


_WHAT = ("报表", "版式", "年度", "金额单位")


class Consolidation:
    """Σ of the units' input cells by (table, row key, column), folded in one unit at a time (memory stays
    flat however many units there are); derived cells are left to the builder's formulas."""

    def __init__(self, unit: str = "汇总", unit_code: str = ""):
        self.unit, self.unit_code = unit, unit_code
        self.first: tuple | None = None
        self.first_name = ""
        self.sums: dict[tuple[str, str, str], Decimal] = {}
        self.rows: dict[str, dict[str, RowData]] = {}
        self.count = 0

    def add(self, rep: Report, name: str = "") -> None:
        from xltools.rules import derived_cells

        name = name or rep.origin or rep.unit
        if self.first is None:
            self.first, self.first_name = _key(rep), name
        else:
            for what, a, b in zip(_WHAT, self.first, _key(rep)):
                if a != b:
                    raise MergeError(f"{name} 的{what}为“{b}”，与 {self.first_name} 的“{a}”不同，不能汇总")
        derived = derived_cells(rep)
        sums = self.sums
        for tid, td in rep.tables.items():
            rows = self.rows.setdefault(tid, {})
            for key, row in td.rows.items():
                if row.kind == "spare":         # a row without a code: the unit's own finding (C-06)
                    continue
                if key not in rows:
                    rows[key] = RowData(key=key, label=row.label, panel=row.panel, kind=row.kind,
                                        source=f"{Path(rep.origin).name}!{row.source}")
                for col, v in row.values.items():
                    if v.amount is None or (tid, key, col) in derived:
                        continue
                    k = (tid, key, col)
                    sums[k] = sums.get(k, Decimal(0)) + v.amount
        self.count += 1

    def report(self) -> Report:
        if self.first is None:
            raise MergeError("没有要汇总的单位")
        set_id, variant, year, amount_unit = self.first
        merged = Report(set_id=set_id, variant=variant, unit=self.unit, year=year, amount_unit=amount_unit,
                        origin="汇总")
        if hasattr(merged, "unit_code"):
            merged.unit_code = self.unit_code or ""
        for tid, rows in self.rows.items():
            td = merged.table(tid)
            # detail rows by code (units list their 科目 in different orders); fixed rows keep the spec's place
            coded = sorted((k for k, r in rows.items() if r.kind in ("detail", "class")), key=_code_order)
            done = set(coded)
            for k in [k for k in rows if k not in done] + coded:
                r = rows[k]
                td.rows[k] = RowData(key=r.key, label=r.label, panel=r.panel, kind=r.kind, source=r.source)
        for (tid, key, col), amount in self.sums.items():
            merged.tables[tid].rows[key].values[col] = Value(amount, source="汇总")
        return merged


def merge_reports(reports: list[Report], *, unit: str = "汇总", unit_code: str = "", names: list[str] | None = None) -> Report:
    """Σ of the units' input cells by (table, row key, column); derived cells are left to the builder."""
    acc = Consolidation(unit, unit_code)
    names = names or [r.origin or r.unit for r in reports]
    for rep, name in zip(reports, names):
        acc.add(rep, name)
    return acc.report()


def _code_order(code: str) -> tuple:
    return (code[:3], code[:5], len(code), code)


def _read_and_check(path: str):
    """(report, errors, warnings, unit code) of one unit's workbook, or the reason it cannot be read."""
    from xltools.read.workbook import ReadError, read_workbook
    from xltools.rules import check_report
    from xltools.spec import SpecError

    p = Path(path)
    try:
        rep = read_workbook(p)
        findings = check_report(rep)
    except (ReadError, SpecError, OSError) as exc:
        if isinstance(exc, OSError):
            from xltools.read.guard import os_error_text
            return f"{p.name} 无法读取：{os_error_text(exc, p)}"
        return f"{p.name} 无法读取：{exc}"
    except Exception as exc:   # one bad unit must not stop the others (the traceback goes to a log)
        from xltools.crashlog import write_crash_log
        log = write_crash_log(["merge", str(p)])
        return (f"{p.name} 无法读取：发生内部错误（{type(exc).__name__}: {' '.join(str(exc).split())[:200]}）"
                + (f"，详细信息见 {log}" if log else ""))
    rep.problems = []
    return (rep, sum(f.level == "error" for f in findings), sum(f.level == "warning" for f in findings),
            _unit_code(p))


def _units(paths: list[Path], jobs: int):
    """The units in order, read (and checked) by ``jobs`` processes."""
    if jobs <= 1 or len(paths) < 8:
        for p in paths:
            yield p, _read_and_check(str(p))
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=jobs) as pool:
        chunk = max(1, min(32, len(paths) // (jobs * 8)))
        yield from zip(paths, pool.map(_read_and_check, map(str, paths), chunksize=chunk))


def merge(paths: list[str | Path], out: str | Path, *, unit: str | None = None, unit_code: str | None = None,
          keep_original: bool = True, jobs: int = 1) -> MergeResult:
    """Read, check and merge the units' workbooks; write the department workbook at ``out``.

    ``jobs`` processes read and check the units (0: all cores); the sums are folded in as they come."""
    import os

    from xltools.build.writer import build_workbook

    paths = [Path(p) for p in paths]
    out = Path(out)
    if not paths:
        raise MergeError("没有要汇总的工作簿")
    seen: set[Path] = set()
    for p in paths:
        rp = p.resolve()
        if rp in seen:
            raise MergeError(f"{p} 重复列出，同一单位只能汇总一次")
        if rp == out.resolve():
            raise MergeError(f"{p} 是输出文件本身，不能汇总进自己")
        seen.add(rp)
    acc = Consolidation(unit or "汇总", unit_code or "")
    units: list[MergedUnit] = []
    unreadable: list[str] = []
    for p, got in _units(paths, jobs if jobs > 0 else (os.cpu_count() or 1)):
        if isinstance(got, str):   # read every unit anyway: the user learns of all bad files at once
            unreadable.append(got)
            continue
        if unreadable:
            continue
        rep, n_err, n_warn, code = got
        u = MergedUnit(name=rep.unit or p.stem, code=code, file=p.name, errors=n_err, warnings=n_warn)
        acc.add(rep, f"{u.name}（{u.file}）")
        units.append(u)
    if len(unreadable) == 1:
        raise MergeError(unreadable[0])
    if unreadable:
        raise MergeError(f"{len(unreadable)} 个单位的工作簿无法读取，未生成汇总（缺少单位的合计是错的）：\n  "
                         + "\n  ".join(unreadable))
    merged = acc.report()

    def units_sheet(wb, fm, report, tset, variant):
        ws = wb.add_worksheet(UNITS_SHEET)
        head = fm.header()
        cell = fm.get(border=1)
        bad = fm.get(border=1, bg_color="#FFC7CE")
        ws.write_row(0, 0, ["序号", "单位名称", "单位编码", "文件", "错误数", "警告数"], head)
        for i, u in enumerate(units, start=1):
            ws.write_number(i, 0, i, cell)
            ws.write_string(i, 1, u.name, cell)
            ws.write_string(i, 2, u.code, cell)
            ws.write_string(i, 3, u.file, cell)
            ws.write_number(i, 4, u.errors, bad if u.errors else cell)
            ws.write_number(i, 5, u.warnings, cell)
        n = len(units) + 1
        ws.write_string(n, 1, f"共 {len(units)} 个单位", fm.get(border=1, bold=True))
        ws.set_column(0, 0, 6)
        ws.set_column(1, 1, 36)
        ws.set_column(2, 2, 14)
        ws.set_column(3, 3, 40)
        ws.set_column(4, 5, 8)
        ws.freeze_panes(1, 0)

    from xltools.narrative.inputs import extra_sheets
    res = build_workbook(merged, out, keep_original=keep_original, extra_sheets=[*extra_sheets(), units_sheet])
    return MergeResult(path=res.path, units=units, formulas=res.formulas, report=merged)


def _unit_code(path: Path) -> str:
    """The unit's code from the hidden _xltools sheet (unit_code), else from a file name 单位编码_名称.xlsx."""
    try:
        from python_calamine import CalamineWorkbook

        wb = CalamineWorkbook.from_path(str(path))
        if "_xltools" in wb.sheet_names:
            for row in wb.get_sheet_by_name("_xltools").to_python():
                if len(row) >= 2 and row[0] == "unit_code" and row[1]:
                    return str(row[1])
    except Exception:  # pragma: no cover - read_workbook already opened it
        pass
    stem = path.stem
    head = stem.split("_", 1)[0]
    return head if "_" in stem and head.isalnum() else ""
