"""The 单位清单: one row per unit, read from .xlsx or .csv (UTF-8 or GBK).

Header (any order; extra columns are ignored):

    单位名称  单位编码  年度              required
    金额单位  报表  版式  数据文件        optional

报表 is a table set (``final_accounts`` or its label such as 决算/部门决算公开); 版式 a variant of it;
数据文件 the path of the unit's data folder (meta.yaml + one CSV per table), relative to the list.
A problem in the list itself raises UnitListError naming the file and the row; problems in a unit's
data file are found later, when that unit is made, and only that unit fails.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Unit", "UnitListError", "read_units", "REQUIRED", "OPTIONAL"]

REQUIRED = ("单位名称", "单位编码", "年度")
OPTIONAL = ("金额单位", "报表", "版式", "数据文件")
_ALIASES = {"单位": "单位名称", "名称": "单位名称", "公开部门": "单位名称", "编码": "单位编码", "单位代码": "单位编码",
            "年份": "年度", "报表集": "报表", "报表类型": "报表", "地区版式": "版式", "数据": "数据文件",
            "数据文件夹": "数据文件"}


class UnitListError(ValueError):
    """The unit list cannot be used; the message names the file and row(s)."""


@dataclass(frozen=True)
class Unit:
    row: int                    # row number in the list (1 = header)
    name: str
    code: str
    year: int
    amount_unit: str | None = None
    set_id: str | None = None   # None: as the data file says (or final_accounts without one)
    variant: str | None = None  # None: as the data file says (or the set's first variant)
    data: str | None = None     # absolute path of the data folder, or None for an empty template


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if v != v:
            return ""
        if v.is_integer():
            return str(int(v))
    return str(v).strip()


def _header_key(h) -> str:
    s = re.sub(r"\s+", "", _text(h)).replace("（", "(").split("(")[0]
    return _ALIASES.get(s, s)


def _read_rows(path: Path) -> list[tuple[int, list]]:
    from xltools.read import guard

    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls", ".ods"):
        from python_calamine import CalamineWorkbook

        # bounded before calamine allocates: sizes, ratios, entities, sheet extent (read/guard.py)
        if suffix in (".xlsx", ".xlsm"):
            guard.check_workbook(path, "单位清单", error=UnitListError)
        elif suffix == ".ods":
            guard.check_zip(path, "单位清单", error=UnitListError)
        else:
            guard.regular_file(path, "单位清单", error=UnitListError, limit=guard.MAX_WORKBOOK_BYTES)
        try:
            wb = CalamineWorkbook.from_path(str(path))
            name = next((n for n in wb.sheet_names if n in ("单位清单", "清单")), wb.sheet_names[0])
            sh = wb.get_sheet_by_name(name)
            rows = sh.to_python(skip_empty_area=False)
        except Exception as exc:  # calamine raises several error types for damaged files
            raise UnitListError(f"单位清单 {path.name} 无法打开，文件可能已损坏（{' '.join(str(exc).split())[:300]}）") from None
        return [(i + 1, list(r)) for i, r in enumerate(rows)]
    if suffix in (".csv", ".txt"):
        text = guard.read_text(path, what="单位清单", error=UnitListError)   # UTF-8/GBK/UTF-16, size-capped
        sample = text[:4096]
        delim = "\t" if sample.count("\t") > sample.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
        out = []
        try:
            for fields in reader:
                out.append((reader.line_num, fields))
        except csv.Error as exc:
            raise UnitListError(f"单位清单 {path.name} 第 {reader.line_num} 行：CSV 格式错误（{exc}）") from None
        return out
    raise UnitListError(f"单位清单 {path.name}：只支持 .xlsx 或 .csv 文件")


def _resolve_set(value: str) -> str | None:
    from xltools.spec import available_sets, load_set

    if not value:
        return "final_accounts"
    sets = available_sets()
    if value in sets:
        return value
    for sid in sets:
        t = load_set(sid)
        if value in (t.title, t.kind_label, f"部门{t.kind_label}", f"部门{t.kind_label}公开"):
            return sid
    return None


def read_units(path: str | Path) -> list[Unit]:
    """Every unit of the list; raises UnitListError listing every bad row at once."""
    from xltools.spec import SpecError, load_set

    path = Path(path)
    if not path.exists():
        raise UnitListError(f"找不到单位清单：{path}")
    try:
        rows = _read_rows(path)
    except OSError as exc:
        from xltools.read.guard import os_error_text
        raise UnitListError(f"单位清单 {path.name} 无法读取：{os_error_text(exc, path)}") from None
    rows = [(n, r) for n, r in rows if any(_text(v) for v in r)]
    if not rows:
        raise UnitListError(f"单位清单 {path.name} 是空的")
    # the header is the first row naming the required columns (a title row may stand above it)
    start = next((i for i, (_, r) in enumerate(rows[:10])
                  if all(k in {_header_key(h) for h in r} for k in REQUIRED)), 0)
    rows = rows[start:]
    head_line, head = rows[0]
    cols = {}
    for i, h in enumerate(head):
        k = _header_key(h)
        if k in REQUIRED + OPTIONAL and k not in cols:
            cols[k] = i
    missing = [k for k in REQUIRED if k not in cols]
    if missing:
        raise UnitListError(f"单位清单 {path.name} 第 {head_line} 行：表头缺少“{'”“'.join(missing)}”"
                            f"（应有：{'、'.join(REQUIRED)}，可选：{'、'.join(OPTIONAL)}）")
    base = path.resolve().parent
    units: list[Unit] = []
    errors: list[str] = []
    codes: dict[str, int] = {}
    for line, r in rows[1:]:
        def get(k):
            i = cols.get(k)
            return _text(r[i]) if i is not None and i < len(r) else ""

        where = f"单位清单 {path.name} 第 {line} 行"
        name, code, year_text = get("单位名称"), get("单位编码"), get("年度")
        bad = []
        if not name:
            bad.append("单位名称为空")
        if not code:
            bad.append("单位编码为空")
        elif code in codes:
            bad.append(f"单位编码 {code} 与第 {codes[code]} 行重复")
        year = None
        m = re.fullmatch(r"(\d{4})(?:\.0+)?\s*年?", year_text)
        if m and 1990 <= int(m.group(1)) <= 2100:
            year = int(m.group(1))
        else:
            bad.append(f"年度“{year_text}”不是四位年份" if year_text else "年度为空")
        unit_amt = get("金额单位") or None
        if unit_amt is not None and unit_amt not in ("元", "万元"):
            bad.append(f"金额单位只能是 元 或 万元，而不是“{unit_amt}”")
        set_id = _resolve_set(get("报表"))
        variant = get("版式") or None
        if set_id is None:
            bad.append(f"报表“{get('报表')}”不存在")
        else:
            try:
                if variant is not None:
                    variant = load_set(set_id).variant(variant).id
            except SpecError as exc:
                bad.append(str(exc))
            if not get("报表"):
                set_id = None
        data = get("数据文件") or None
        if data:
            p = Path(data.replace("\\", "/"))
            data = str(p if p.is_absolute() else (base / p))
        if bad:
            errors.append(f"{where}：{'；'.join(bad)}")
            continue
        codes[code] = line
        units.append(Unit(row=line, name=name, code=code, year=year, amount_unit=unit_amt,
                          set_id=set_id, variant=variant, data=data))
    if errors:
        more = f"\n……共 {len(errors)} 行有问题" if len(errors) > 20 else ""
        raise UnitListError("\n".join(errors[:20]) + more)
    if not units:
        raise UnitListError(f"单位清单 {path.name} 只有表头，没有单位")
    return units
