"""Read a data folder (a sample, or one unit's data) into a Report.

Layout of a data folder::

    meta.yaml        set, variant, unit (公开部门), year, amount_unit, source; `as_published: true`
                     for a transcription of a published document: a total printed empty stays
                     empty instead of becoming a formula (the empty total is an error to find)
    F01.csv …        one CSV per table: header `key,name,<column keys…>`; one row per table row.
                     key = the row key of a fixed row (see templates/<set>/tables.yaml), a 科目编码
                     for detail tables, or `total` for the 合计 row; a row `note,<text>` keeps the
                     table's note (“注：…”) as printed. Amounts as published
                     ("1,951,859.05" or "1951859.05"); an empty field is an empty cell.
    notes.yaml       optional: 说明事项 for the narrative (prior-year figures, reasons, counts)

Every problem raises DataError naming the file and the line.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from xltools.model import Report, RowData, TableData, Value, parse_amount
from xltools.read.errors import DataError

__all__ = ["DataError", "load_data", "load_meta"]


def _yaml_load(path: Path, what: str):
    """yaml.safe_load of an untrusted file: size-capped, aliases and depth bounded (read/guard.py)."""
    from xltools.read.guard import load_yaml

    return load_yaml(path, what, error=DataError)


_META_TYPES = {"set": "文字", "unit": "文字", "variant": "文字", "amount_unit": "文字", "unit_code": "文字或数字",
               "source": "文字", "as_published": "true 或 false"}


def load_meta(folder: Path) -> dict:
    path = Path(folder) / "meta.yaml"
    if not path.exists() and not path.is_symlink():
        raise DataError(f"数据文件夹 {folder} 中没有 meta.yaml")
    meta = _yaml_load(path, "meta.yaml")
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise DataError(f"{path}：内容应为“键: 值”的列表（如 set: final_accounts），而不是{_type_cn(meta)}")
    for key in ("set", "unit", "year"):
        if key not in meta or meta[key] is None:
            raise DataError(f"{path}：缺少“{key}”")
    for key, kind in _META_TYPES.items():
        v = meta.get(key)
        if v is None:
            continue
        ok = isinstance(v, bool) if key == "as_published" else (
            isinstance(v, (str, int)) and not isinstance(v, bool) if key in ("unit", "unit_code")
            else isinstance(v, str))
        if not ok:
            raise DataError(f"{path}：“{key}”应为{kind}，而不是{_type_cn(v)}（{_short(v)}）")
    year = meta["year"]
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year.strip())
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2999:
        raise DataError(f"{path}：“year”应为四位年份（如 2024），而不是{_type_cn(meta['year'])}（{_short(meta['year'])}）")
    meta["year"] = year
    return meta


def _type_cn(v) -> str:
    import datetime

    if v is None:
        return "空值"
    if isinstance(v, bool):
        return "真假值"
    if isinstance(v, (datetime.date, datetime.datetime)):
        return "日期"
    if isinstance(v, (int, float)):
        return "数字"
    if isinstance(v, str):
        return "文字"
    if isinstance(v, list):
        return "列表"
    if isinstance(v, dict):
        return "字典"
    return type(v).__name__


def _short(v) -> str:
    text = str(v)
    return text if len(text) <= 40 else text[:40] + "…"


def load_data(folder: str | Path, *, catalogs=None) -> Report:
    """Load a data folder. ``catalogs`` maps 'functional'/'economic' to xltools.catalog.Catalog."""
    from xltools import catalog as cat_mod
    from xltools.spec import load_set

    from xltools.spec.variants import find_variant_file, load_variant_file

    folder = Path(folder)
    meta = load_meta(folder)
    from xltools.spec import SpecError
    try:
        tset = load_set(str(meta["set"]))
        own = find_variant_file(folder, meta)     # a user's variant file (named in meta.yaml, or variant.yaml)
        variant = load_variant_file(tset, own) if own is not None else tset.variant(meta.get("variant"))
    except SpecError as exc:   # name the file that asked for it
        raise DataError(f"{folder / 'meta.yaml'}：{exc}") from None
    report = Report(set_id=tset.id, variant=variant.id, unit=str(meta["unit"]), year=int(meta["year"]),
                    amount_unit=str(meta.get("amount_unit", variant.amount_unit)), origin=str(folder),
                    as_published=bool(meta.get("as_published", False)),
                    unit_code=str(meta.get("unit_code", "") or ""))
    if report.amount_unit not in ("元", "万元"):
        raise DataError(f"{folder / 'meta.yaml'}：amount_unit 只能是 元 或 万元")
    report.use_variant(variant)
    for key in ("not_published", "no_data"):
        listed = meta.get(key) or []
        if not isinstance(listed, list):
            raise DataError(f"{folder / 'meta.yaml'}：{key} 应为表编号的列表，如 [F02, F03]")
        for tid in listed:
            if str(tid) not in variant.order:
                raise DataError(f"{folder / 'meta.yaml'}：{key} 中的表 {tid} 不在版式“{variant.id}”中"
                                f"（有：{'、'.join(variant.order)}）")
        setattr(report, key, tuple(str(t) for t in listed))
    catalogs = catalogs or {"functional": cat_mod.functional(report.year),
                            "economic": cat_mod.economic(report.year)}
    known = {t.id for t in tset.tables_for(variant)}
    for path in sorted(folder.glob("*.csv")):
        tid = path.stem
        if tid not in tset.tables:
            raise DataError(f"{path}：没有编号为 {tid} 的表（可用：{'、'.join(sorted(known))}）")
        if tid not in known:
            raise DataError(f"{path}：版式“{variant.id}”不含表 {tid}")
        if tid in report.not_published:
            raise DataError(f"{path}：meta.yaml 声明表 {tid} 未公开（not_published），却有它的数据")
        try:
            report.tables[tid] = _load_table(path, tset.tables[tid], catalogs, variant.omitted(tid))
        except csv.Error as exc:   # a NUL byte, an unclosed quote at the end …
            raise DataError(f"{path}：CSV 格式错误（{exc}）") from None
    from xltools.perf.blocks import load_blocks   # 绩效 block tables (<ID>.yaml), where the set declares them
    load_blocks(folder, report)
    notes = folder / "notes.yaml"
    if notes.exists() or notes.is_symlink():
        doc = _yaml_load(notes, "notes.yaml")
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise DataError(f"{notes}：说明事项应为“键: 值”的列表（如 prior.total: 123.45），而不是{_type_cn(doc)}")
        report.notes = doc
    from xltools.read.guard import check_report_amounts
    check_report_amounts(report, str(folder), error=DataError)
    return report


def _load_table(path: Path, table, catalogs, omitted=()) -> TableData:
    from xltools.catalog import normalize_code

    data = TableData(table.id)
    cols = [c for c in table.columns() if c not in omitted]
    fixed = {r.key: (p, r) for p, r in table.fixed_rows()}
    from xltools.read.guard import MAX_ROWS, read_text

    max_rows = MAX_ROWS
    text = read_text(path, what="数据文件", error=DataError)   # a regular file, size-capped, UTF-8/GBK/UTF-16
    with io.StringIO(text, newline="") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataError(f"{path}：文件为空") from None
        header = [h.strip() for h in header]
        if header[:2] != ["key", "name"]:
            raise DataError(f"{path} 第 1 行：表头应以 key,name 开始，而不是 {','.join(header[:2])}")
        for h in header[2:]:
            if h not in cols:
                raise DataError(f"{path} 第 1 行：表 {table.id} 没有栏目“{h}”（可用：{', '.join(cols)}）")
        for fields in reader:
            line = reader.line_num
            if line > max_rows:
                raise DataError(f"{path} 第 {line} 行：行数超过上限 {max_rows}")
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) > len(header):
                raise DataError(f"{path} 第 {line} 行：有 {len(fields)} 栏，多于表头的 {len(header)} 栏")
            key = fields[0].strip()
            name = fields[1].strip() if len(fields) > 1 else ""
            src = f"{path.name}:{line}"
            if key == "note" and "note" not in fixed:     # the table's note as printed (“注：…”)
                data.note, data.note_source = name, src
                continue
            if key in fixed and fixed[key][1].optional and key in omitted:
                # a 类 line this variant does not print: an amount there would be lost, so it is refused
                if any(f.strip() for f in fields[2:]):
                    raise DataError(f"{path} 第 {line} 行：版式不列类级行 {key}（{fixed[key][1].label.split('、', 1)[-1]}），"
                                    f"它的金额无处填写；请删去该金额或换用列出此行的版式")
                continue
            if key in fixed:
                panel, row = fixed[key]
                kind = "footer" if row in panel.footer else ("total" if row.style == "total" else "fixed")
                rd = RowData(key=key, label=name or row.label, panel=panel.id, source=src, kind=kind)
            elif key == "total" and table.is_detail:
                rd = RowData(key="total", label=name or "合计", panel=table.panels[0].id, source=src, kind="total")
            elif table.is_detail:
                code = normalize_code(key)
                kind_name = table.detail_kind
                if code is None:
                    raise DataError(f"{path} 第 {line} 行：“{key}”不是{_KIND_CN[kind_name]}科目编码")
                # a code the catalog does not know is kept with its printed name (`check` warns: C-01)
                panel = _panel_for_code(table, code)
                if panel is None:
                    raise DataError(f"{path} 第 {line} 行：科目 {code} 不属于表 {table.id} 的任何区块")
                rd = RowData(key=code, label=name, panel=panel.id, source=src,
                             kind="detail" if _is_leaf(kind_name, code) else "class")
            else:
                raise DataError(f"{path} 第 {line} 行：表 {table.id} 没有行“{key}”"
                                f"（可用：{', '.join(list(fixed)[:12])}…）")
            for h, raw in zip(header[2:], fields[2:]):
                amount, problem = parse_amount(raw)
                if problem == "nan":
                    raise DataError(f"{path} 第 {line} 行 栏目 {h}：“{raw}”不是数字")
                if amount is not None or raw.strip():
                    rd.values[h] = Value(amount, source=f"{src}:{h}", raw=raw.strip() if problem else None)
            if rd.key in data.rows:
                data.duplicates.append(rd)
            else:
                data.rows[rd.key] = rd
    return data


_KIND_CN = {"functional": "支出功能分类", "economic": "支出经济分类"}


def _is_leaf(kind: str, code: str) -> bool:
    return len(code) == (7 if kind == "functional" else 5)


def _panel_for_code(table, code: str):
    for p in table.panels:
        if not p.is_detail:
            continue
        if not p.classes or code[:3] in p.classes:
            return p
    return None
