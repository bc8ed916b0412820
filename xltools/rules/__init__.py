"""Reconciliation: every identity of a set evaluated on a Report, plus value, formula and code rules.

``check_report(report)`` returns a list of Finding; "no findings" is ``[]``.

Rule codes:
  R-…  within a table (declared in templates/<set>/tables.yaml)
  X-…  across tables (declared there too); X-…-00 code presence rules
  H-…  类/款 subtotal rows = Σ 项 by code (generated for every subtotal row present)
  W-…  soft checks (warnings)
  V-01 a number typed as text (read anyway)      V-02 not a number
  V-03 negative amount                            F-01 a derived cell's formula replaced by a constant
  F-02 formulas saved without calculated values (openpyxl, converters): one error; what involves them is skipped
  C-01 unknown 科目编码                           C-02 科目名称 does not match the catalog
  C-03 a 项 under the wrong 类 row                C-04 a 项 whose 类/款 row is missing (hierarchy variants)
  C-05 duplicated 科目编码                         C-06 amounts in a row without a 科目编码
  C-07 something typed outside a detail block (below the table, or beyond the rows its sums cover)
  S-01 a table's sheet is missing
  L-01 the ordinals of fixed rows' labels repeat or skip (xltools/rules/labels.py)
  L-02 a table's printed note names another year than the report's
  grouping: every finding explained by another's defect names it in ``cause`` (xltools/rules/causes.py)
  M-<table> a table declared not published (meta.yaml `not_published`; error where it is required) or
            printed as “本表无数据” (`no_data`; info): one finding naming the identities skipped
"""
from __future__ import annotations

import functools
import re

from xltools.model import ZERO, Report
from xltools.rules.engine import Check, Finding, all_checks, compiled_checks, evaluate, evaluate_compiled, fmt

__all__ = ["Finding", "check_report", "derived_cells"]


def derived_cells(report: Report, checks: list[Check] | None = None) -> dict[tuple[str, str, str], Check]:
    from xltools.spec import load_set

    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    checks = checks if checks is not None else all_checks(tset, variant, report)
    out = {}
    for c in checks:
        if c.derive:
            out.setdefault((c.target.table, c.target.row, c.target.col), c)
    return out


def check_report(report: Report, *, catalogs=None) -> list[Finding]:
    from xltools import catalog as cat_mod
    from xltools.spec import load_set

    tset = load_set(report.set_id)
    variant = tset.variant(report.variant)
    catalogs = catalogs or {"functional": cat_mod.functional(report.year), "economic": cat_mod.economic(report.year)}
    if report.supplement:      # codes the user added on the workbook's 科目补充 sheet
        catalogs = {k: cat_mod.with_supplement(c, report.supplement) for k, c in catalogs.items()}
    findings: list[Finding] = []
    for prob in report.problems:
        if isinstance(prob, Finding):
            findings.append(prob)
        elif isinstance(prob, tuple) and prob[0] == "missing_sheet":
            findings.append(Finding("S-01", "error", prob[1], prob[2], f"缺少表页“{prob[2]}”"))
    # the checks of the report's row-set shape, expanded and compiled once per shape
    checks, compiled = compiled_checks(tset, variant, report)
    findings += _missing_tables(report, tset, variant)
    if report.unread:          # an imported document: identities resting on rows it could not read are not checked
        checks, compiled, unread = _readable(report, tset, checks, compiled)
        findings += unread
    findings += _value_rules(report, tset, checks)
    findings += _code_rules(report, tset, variant, catalogs)
    findings += _presence_rules(report, tset, variant)
    linear = [None] * len(compiled)     # residuals of the sums, for assign_causes
    findings += evaluate_compiled(report, tset, compiled, linear)
    from xltools.rules.labels import label_findings, note_findings   # L-01 labels' ordinals, L-02 notes' years
    findings += label_findings(report) + note_findings(report, tset)
    from xltools.narrative import notes_findings  # N-10: 说明事项 items the 情况说明 still needs
    findings += notes_findings(report)
    from xltools.perf import block_findings   # 绩效 block tables (目标表, 自评表), where the set declares them
    findings += block_findings(report)
    if report.uncalculated:   # formulas saved without results (F-02): what involves them is not checked
        findings = _without_uncalculated(findings, frozenset(report.uncalculated))
    from xltools.rules.causes import assign_causes   # one headline per defect, the rest name it as cause

    def recheck(rep: Report) -> list[Finding]:
        again = all_checks(tset, variant, rep)
        if rep.unread:
            again = [c for c in again if not _rests_on_unread(rep, c)]
        return _code_rules(rep, tset, variant, catalogs) + evaluate(rep, tset, again)

    return assign_causes(report, tset, variant, checks, findings, recheck, linear)


def _unread_tables(report: Report, c) -> list[str]:
    """The tables of the rows a check reads that an imported document's import could not read (``Report.unread``)."""
    out = []
    for ref in (c.target, *c.terms):
        rows = report.unread.get(ref.table)
        # a cell the import found nothing in, in a table with numbers it could not place: unknown, not 0
        if rows and (("*" in rows) if ref.pattern else (ref.row in rows or "*" in rows and
                                                          _blank(report, ref))):
            out.append(ref.table)
    return out


def _blank(report: Report, ref) -> bool:
    td = report.tables.get(ref.table)
    rd = td.rows.get(ref.row) if td is not None else None
    v = rd.values.get(ref.col) if rd is not None else None
    return v is None or v.amount is None


def _rests_on_unread(report: Report, c) -> bool:
    return bool(_unread_tables(report, c))


def _readable(report: Report, tset, checks, compiled) -> tuple[tuple, tuple, list[Finding]]:
    """(the checks that read only rows the import read, their compiled form, one info finding per table whose
    unread rows left identities unchecked — U-<table>: which rows, which identities; `xltools import` lists
    the numbers it could not place)."""
    keep, skipped = [], {}
    for c, comp in zip(checks, compiled):
        tables = _unread_tables(report, c)
        for tid in tables:
            skipped.setdefault(tid, {}).setdefault(c.code, None)
        if not tables:
            keep.append((c, comp))
    out = []
    for tid, codes in skipped.items():
        table = tset.tables[tid]
        rows = report.unread[tid]
        names = [r.label for _, r in table.fixed_rows() if r.key in rows]
        if "total" in rows and not any(r.key == "total" for _, r in table.fixed_rows()):
            names.append("合计")
        what = "、".join(f"“{n}”" for n in names[:6]) + ("等行" if len(names) > 6 else "行") if names else ""
        why = (f"{what}的数未能读出" if what else "") + \
            ("；有数字未能确定所在行，各行之和也无法核对" if "*" in rows else "")
        out.append(Finding(f"U-{tid}", "info", tid, f"{table.number}（{table.title}）",
                           f"{table.number}“{table.title}”导入不完整：{why.lstrip('；')}（未能放入的数字见 xltools import 的报告）；"
                           f"因此未校验：{'、'.join(sorted(codes))}"))
    return tuple(c for c, _ in keep), tuple(comp for _, comp in keep), out


def _without_uncalculated(findings: list[Finding], cells: frozenset) -> list[Finding]:
    """The findings that involve none of ``cells`` (formula cells with no calculated value), and F-02 itself."""
    return [f for f in findings if f.rule == "F-02" or not ({f.cell, *f.cells} & cells)]


_DERIVED: dict = {}   # id(a shape's checks) → (checks, (table, row) → column → derived check): one tuple per shape


def _derived_by_row(report: Report, checks) -> dict:
    hit = _DERIVED.get(id(checks))
    if hit is None or hit[0] is not checks:
        if len(_DERIVED) >= 128:
            _DERIVED.clear()
        by_row: dict = {}
        for (tid, row, col), check in derived_cells(report, checks).items():
            by_row.setdefault((tid, row), {})[col] = check
        hit = _DERIVED[id(checks)] = (checks, by_row)
    return hit[1]


def _missing_tables(report: Report, tset, variant) -> list[Finding]:
    """One finding per table the document did not publish (M-<table>): an error where the standard
    requires the table, else a warning; the identities that need it are skipped and named here.
    A table printed with “本表无数据” is checked as an empty table; it gets one note (info)."""
    out = []
    for tid in report.not_published:
        table = tset.tables[tid]
        skipped = sorted({i.code for i in tset.identities_for(variant) if tid in i.tables()}
                         | {p.code for p in tset.presence_for(variant) if tid in (p.table, p.within)})
        what = f"；因此未校验：{'、'.join(skipped)}" if skipped else ""
        need = "按公开要求此表必须公开" if table.required else "此表可不公开"
        if report.tables_elsewhere:      # a 情况说明 published without its tables (they are another file)
            out.append(Finding(f"M-{tid}", "info", tid, f"{table.number}（{table.title}）",
                               f"{table.number}“{table.title}”不在本文件中（本文件不含任何表中数字，表格应另行公开）{what}"))
            continue
        out.append(Finding(f"M-{tid}", "error" if table.required else "warning", tid,
                           f"{table.number}（{table.title}）",
                           f"{table.number}“{table.title}”未公开（{need}）{what}"))
    for tid in report.no_data:
        table = tset.tables[tid]
        out.append(Finding(f"M-{tid}", "info", tid, f"{table.number}（{table.title}）",
                           f"{table.number}“{table.title}”公开为空表（本表无数据），按全为 0 校验"))
    return out


def _value_rules(report: Report, tset, checks) -> list[Finding]:
    out = []
    derived = _derived_by_row(report, checks)
    none: dict = {}
    for tid, td in report.tables.items():
        for row in td.rows.values():
            formulas = derived.get((tid, row.key), none)
            for col, v in row.values.items():
                problem, amount = v.problem, v.amount
                if problem is None and (amount is None or amount >= ZERO) and (v.formula is not False
                                                                             or col not in formulas):
                    continue        # (most cells: nothing to say)
                if problem == "text":
                    out.append(Finding("V-01", "warning", tid, v.source,
                                       f"{v.source} 的“{v.raw}”是文本格式的数字，已按 {fmt(v.value)} 读取；请改为数值",
                                       actual=str(v.raw)))
                elif problem == "nan":
                    out.append(Finding("V-02", "error", tid, v.source,
                                       f"{v.source} 应填金额，而不是“{v.raw}”", actual=str(v.raw)))
                if amount is not None and amount < ZERO:
                    out.append(Finding("V-03", "warning", tid, v.source,
                                       f"{v.source} 为负数 {fmt(v.amount)}，请确认", actual=str(v.amount)))
                if v.formula is False and col in formulas:
                    now = f"手工录入的常数 {fmt(v.value)}" if v.amount is not None else "空白"
                    out.append(Finding("F-01", "warning", tid, v.source,
                                       f"{v.source} 应为公式（{formulas[col].message}），现为{now}",
                                       actual=str(v.amount) if v.amount is not None else None))
    return out


def _code_rules(report: Report, tset, variant, catalogs) -> list[Finding]:
    out = []
    unknown: set[tuple[str, str]] = set()
    for tid, td in report.tables.items():
        table = tset.tables.get(tid)
        if table is None or not table.is_detail:
            continue
        kind = table.detail_kind
        cat = catalogs[kind]
        kind_cn = "功能分类" if kind == "functional" else "经济分类"
        for rd in td.duplicates:
            if rd.kind in ("detail", "class"):
                first = td.rows[rd.key]
                out.append(Finding("C-05", "error", tid, rd.source,
                                   f"科目编码 {rd.key} 重复出现（{first.source} 与 {rd.source}），合计只计一次会出错"))
        for rd in td.bad_codes:
            out.append(Finding("C-01", "warning", tid, rd.source, f"{rd.source} 的科目编码不是有效编码"))
        out.extend(_outside_block(table, td))
        ordered = sorted(td.rows.values(), key=lambda r: _sheet_row(r.source))
        current_class = None
        for rd in ordered:
            if rd.kind == "spare":
                if any(v.value != ZERO for v in rd.values.values()):
                    out.append(Finding("C-06", "error", tid, rd.source, f"{rd.source} 所在行有金额但没有科目编码"))
                continue
            if rd.kind not in ("detail", "class"):
                continue
            subj, name_ok = _subject(cat, rd.key, rd.label)
            if subj is None:
                if (kind, rd.key) in unknown:      # once per code, wherever it is printed
                    continue
                unknown.add((kind, rd.key))
                label = "" if rd.label.startswith("【") else rd.label     # not our own placeholder
                out.append(Finding("C-01", "warning", tid, rd.source,
                                   f"{kind_cn}科目编码 {rd.key} {label}不在 {report.year or ''} 年科目目录中（已按所填名称保留；"
                                   f"目录可能滞后于当年修订，请核对，或在“科目补充”页/--catalog 中补充）"))
            elif rd.label and not name_ok:
                out.append(Finding("C-02", "warning", tid, rd.source,
                                   f"科目 {rd.key} 的名称“{rd.label}”与科目目录“{subj.name}”不一致",
                                   expected=subj.name, actual=rd.label))
            if kind == "functional" and variant.hierarchy:
                if len(rd.key) == 3:
                    current_class = rd.key
                elif current_class is not None and rd.key[:3] != current_class:
                    out.append(Finding("C-03", "error", tid, rd.source,
                                       f"科目 {rd.key} 列在类级科目 {current_class} 之下，但它属于 {rd.key[:3]} 类"))
                if len(rd.key) == 7:
                    for pre in (rd.key[:3], rd.key[:5]):
                        if pre not in td.rows:
                            out.append(Finding("C-04", "error", tid, rd.source,
                                               f"项级科目 {rd.key} 缺少上级科目 {pre} 的小计行"))
    return out


def _presence_rules(report: Report, tset, variant) -> list[Finding]:
    out = []
    for p in tset.presence_for(variant, frozenset(report.not_published)):
        src, dst = report.tables.get(p.table), report.tables.get(p.within)
        if src is None or dst is None:
            continue
        for rd in src.rows.values():
            if rd.kind != "detail":
                continue
            if not any(v.value != ZERO for v in rd.values.values()):
                continue
            if rd.key not in dst.rows:
                sheet = dst.sheet or p.within
                out.append(Finding(p.code, p.level, p.table, rd.source,
                                   f"{p.message}：科目 {rd.key} {rd.label}（{rd.source}）不在“{sheet}”中"))
    return out


def _outside_block(table, td) -> list[Finding]:
    """C-07: a value or code typed where the block's sums do not reach: below the table's 注 line, or in
    a row beyond the rows the SUMPRODUCT formulas cover (a row inserted just past the block)."""
    out = []
    title = f"{table.number} {table.title}"
    for rd in td.outside:
        row = _sheet_row(rd.source)[1]
        span = td.blocks.get(rd.panel)
        where = f"（第 {span[0]}–{span[1]} 行）" if span else ""
        out.append(Finding("C-07", "error", td.table_id, rd.source,
                           f"{rd.source}：第 {row} 行填在“{title}”的明细块{where}之外（表下注释行以下），合计公式不计入这一行；"
                           f"请在块内插入行（xltools rows add、加载项的“插入科目行”，或在块内的行上右键插入）后填写"))
    for rd in td.rows.values():
        span = td.blocks.get(rd.panel)
        if span is None or rd.kind not in ("detail", "class", "spare"):
            continue
        row = _sheet_row(rd.source)[1]
        if row > span[1]:          # above the first summed row stand the 合计 and a 类 row of its own
            if rd.kind == "spare" and not any(v.value for v in rd.values.values()):
                continue
            out.append(Finding("C-07", "error", td.table_id, rd.source,
                               f"{rd.source}：第 {row} 行在“{title}”的明细块（第 {span[0]}–{span[1]} 行）之外，"
                               f"合计公式不计入这一行；请在块内插入行（xltools rows add、加载项的“插入科目行”，或在块内的行上右键插入）后填写"))
    return out


_SUBJECTS: dict = {}   # (id(catalog), code, label) → (catalog, subject, name matches): the same rows recur


def _subject(cat, code: str, label: str):
    """(the catalog's subject for ``code`` or None, whether ``label`` is an accepted name of it)."""
    key = (id(cat), code, label)
    hit = _SUBJECTS.get(key)
    if hit is None or hit[0] is not cat:
        if len(_SUBJECTS) >= 8192:
            _SUBJECTS.clear()
        subj = cat.get(code)
        hit = _SUBJECTS[key] = (cat, subj, subj is None or not label or cat.matches_name(code, label))
    return hit[1], hit[2]


@functools.lru_cache(maxsize=8192)
def _sheet_row(source: str) -> tuple[str, int]:
    """Sort key for a cell address like 'Sheet!B12', a data-file 'F03.csv:12' or a PDF's
    '第9页第1行第1栏（表1）' (page, then row)."""
    m = re.match(r"第(\d+)页第(\d+)行", source)
    if m:
        return ("", int(m.group(1)) * 100000 + int(m.group(2)))
    m = re.match(r"(.+?\.(?:csv|yaml)):(\d+)", source)     # a data file's 'F05.csv:12' (line 12)
    if m:
        return (m.group(1), int(m.group(2)))
    m = re.search(r"(\d+)(?::[^:]*)?$", source)
    # the sheet ("Sheet!B12") or the data file ("F03.csv:12"): rows of one table sort by their number
    where = source.split("!")[0] if "!" in source else source.split(":")[0]
    return (where, int(m.group(1)) if m else 0)
