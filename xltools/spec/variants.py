"""Variants: which tables (forms) a region prints, in which order, and how, as configuration.

A variant is composed per table. In ``templates/<set>/tables.yaml`` (built-in) and in a user's own
variant file (``--variant 我的版式.yaml``, ``variant.yaml`` beside the data, or named in meta.yaml) the
same keys are read::

    label: 山西（单位决算，万元）          # a name
    differs: 公开06为支出决算明细表，附公开10  # one line: how it differs (``xltools new --variant``)
    amount_unit: 万元                    # 元 | 万元 (default of every table)
    hierarchy: true                      # 类/款 subtotal rows in 功能分类 tables
    total_position: top                  # 合计 row at the top or bottom of detail tables
    tables:                              # which tables (forms), in which order
      - F01
      - {table: F02, omit: [edu_fee]}    # an optional column not printed
      - {table: F01, omit: ["231", "232"]}  # optional 类 lines not printed (24 instead of 26 in 公开01)
      - {table: F07, amount_unit: 万元}   # a 万元 三公 table in a 元 set
    # user files only:
    base: shanghai                       # start from a built-in variant, then
    replace: {F06: F06X}                 # …swap a table for another form of the same 公开NN slot
    drop: [F10]                          # …leave tables out
    add: [F10]                           # …add tables at the end
    id: 我的版式                          # default: the file name

``order:`` (a plain list of table ids) is still read as ``tables:``. A user's file can only select and
compose the tables and forms the set declares: any other key, an unknown table, an omitted column that
the table does not declare optional, or two forms of one slot is refused with a Chinese message naming
the file and the key.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from xltools.spec.types import SpecError, TableUse, Variant, register_variant

__all__ = ["parse_variant", "load_variant_file", "variant_from_spec", "find_variant_file", "describe_variant"]

_COMMON = {"label", "differs", "amount_unit", "hierarchy", "total_position", "tables", "order"}
_USER_ONLY = {"base", "replace", "drop", "add", "id", "set"}
_USE_KEYS = {"table", "amount_unit", "total_position", "omit"}


def _err(src, key: str, msg: str) -> SpecError:
    name = src.name if isinstance(src, Path) else str(src)
    return SpecError(f"版式文件 {name}：{key}：{msg}")


def _unit(value, src, key):
    if value not in ("元", "万元"):
        raise _err(src, key, f"金额单位只能是 元 或 万元，而不是 {value!r}")
    return value


def _position(value, src, key):
    if value not in ("top", "bottom"):
        raise _err(src, key, f"合计位置只能是 top（表首）或 bottom（表尾），而不是 {value!r}")
    return value


def _parse_uses(items, tables, src, key) -> list[TableUse]:
    if not isinstance(items, list):
        raise _err(src, key, "应为表编号的列表，如 [F01, F02, …]")
    uses = []
    for n, item in enumerate(items, start=1):
        where = f"{key} 第 {n} 项"
        if isinstance(item, str):
            item = {"table": item}
        if not isinstance(item, dict) or "table" not in item:
            raise _err(src, where, "应为表编号，或 {table: 表编号, amount_unit: …, omit: […]}")
        bad = set(item) - _USE_KEYS
        if bad:
            raise _err(src, f"{where}.{sorted(bad)[0]}", f"不认识的设置（可用：{'、'.join(sorted(_USE_KEYS))}）")
        tid = str(item["table"])
        if tid not in tables:
            raise _err(src, where, f"没有编号为 {tid} 的表（可用：{'、'.join(tables)}）")
        omit = item.get("omit") or []
        if not isinstance(omit, list):
            raise _err(src, f"{where}.omit", "应为栏目 key 的列表")
        optional = {c.key for p in tables[tid].panels for c in p.columns if c.optional}
        optional |= {r.key for p in tables[tid].panels for r in p.rows if r.optional}
        omit = [str(c) for c in omit]
        for col in omit:
            if col not in optional:
                raise _err(src, f"{where}.omit", f"表 {tid} 的栏目或类级行“{col}”不能省略"
                                                 f"（可省略：{'、'.join(sorted(optional)) or '无'}）")
        uses.append(TableUse(
            id=tid,
            amount_unit=_unit(item["amount_unit"], src, f"{where}.amount_unit") if "amount_unit" in item else None,
            total_position=(_position(item["total_position"], src, f"{where}.total_position")
                            if "total_position" in item else None),
            omit=tuple(str(c) for c in omit)))
    return uses


def _check_slots(uses, tables, src, key):
    seen: dict[str, str] = {}
    ids = [u.id for u in uses]
    dup = sorted({t for t in ids if ids.count(t) > 1})
    if dup:
        raise _err(src, key, f"表 {dup[0]} 出现了两次")
    for u in uses:
        # alternative forms of one 公开NN (those that declare a `form`) exclude each other; two different
        # tables a region happens to number alike (江苏 2017) do not
        slot = tables[u.id].number if tables[u.id].form else ""
        if slot and slot in seen:
            raise _err(src, key, f"{slot} 同时用了两种格式 {seen[slot]} 与 {u.id}，只能选一种")
        seen[slot] = u.id


def parse_variant(vid: str, doc: dict, tables: dict, src, where: str, *, user: bool = False,
                  base: Variant | None = None) -> Variant:
    """A variant from its configuration. ``src`` names the file in messages."""
    if not isinstance(doc, dict):
        raise _err(src, where, "应为“键: 值”的设置")
    allowed = _COMMON | (_USER_ONLY if user else set())
    for k in doc:
        if k not in allowed:
            raise _err(src, f"{where}{k}" if user else f"{where}.{k}",
                       f"不认识的设置（可用：{'、'.join(sorted(allowed))}）")
    pre = where if user else where + "."
    if "tables" in doc and "order" in doc:
        raise _err(src, f"{pre}tables", "tables 与 order 只能写一个")
    if "tables" in doc or "order" in doc:
        key = "tables" if "tables" in doc else "order"
        uses = _parse_uses(doc[key], tables, src, f"{pre}{key}")
    elif base is not None:
        uses = list(base.uses)
    else:
        uses = [TableUse(t) for t in tables]
    if user:
        for k in ("replace", "drop", "add"):
            if k in doc and base is None:
                raise _err(src, k, "需要先用 base: 指定一个内置版式")
        for old, new in (doc.get("replace") or {}).items():
            old, new = str(old), str(new)
            ids = [u.id for u in uses]
            if old not in ids:
                raise _err(src, f"replace.{old}", f"版式“{base.id}”中没有表 {old}（有：{'、'.join(ids)}）")
            if new not in tables:
                raise _err(src, f"replace.{old}", f"没有编号为 {new} 的表（可用：{'、'.join(tables)}）")
            if tables[new].number != tables[old].number:
                raise _err(src, f"replace.{old}", f"{new}（{tables[new].number}）不是 {old}（{tables[old].number}）的另一种格式")
            i = ids.index(old)
            uses[i] = TableUse(new, uses[i].amount_unit, uses[i].total_position)
        drop = doc.get("drop") or []
        if not isinstance(drop, list):
            raise _err(src, "drop", "应为表编号的列表")
        for t in drop:
            if str(t) not in [u.id for u in uses]:
                raise _err(src, "drop", f"版式中没有表 {t}")
        uses = [u for u in uses if u.id not in {str(t) for t in drop}]
        uses += _parse_uses(doc.get("add") or [], tables, src, "add")
    if not uses and user:
        raise _err(src, f"{pre}tables", "至少要有一张表")
    _check_slots(uses, tables, src, f"{pre}tables")
    amount_unit = _unit(doc.get("amount_unit", base.amount_unit if base else "元"), src, f"{pre}amount_unit")
    total_position = _position(doc.get("total_position", base.total_position if base else "top"),
                               src, f"{pre}total_position")
    hierarchy = doc.get("hierarchy", base.hierarchy if base else False)
    if not isinstance(hierarchy, bool):
        raise _err(src, f"{pre}hierarchy", "应为 true 或 false")
    label = str(doc.get("label", base.label if base else vid))
    differs = str(doc.get("differs", "" if base is None else f"以“{base.id}”为底：{base.differs}"))
    v = Variant(id=vid, label=label, amount_unit=amount_unit, order=tuple(u.id for u in uses),
                hierarchy=hierarchy, total_position=total_position, uses=tuple(uses), differs=differs,
                builtin=not user)
    if user:
        v = replace(v, spec=_spec_json(v))
    return v


def _spec_json(v: Variant) -> str:
    tables = []
    for u in v.uses:
        item = {"table": u.id}
        if u.amount_unit:
            item["amount_unit"] = u.amount_unit
        if u.total_position:
            item["total_position"] = u.total_position
        if u.omit:
            item["omit"] = list(u.omit)
        tables.append(item)
    return json.dumps({"id": v.id, "label": v.label, "differs": v.differs, "amount_unit": v.amount_unit,
                       "hierarchy": v.hierarchy, "total_position": v.total_position, "tables": tables},
                      ensure_ascii=False, sort_keys=True)


def load_variant_file(tset, path: Path) -> Variant:
    """A user's variant file, validated against the set's tables and registered in this process."""
    from xltools.read.guard import load_yaml   # a regular, size-capped file; aliases and depth bounded

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"找不到版式文件 {path}")
    doc = load_yaml(path, "版式文件", error=SpecError) or {}
    if not isinstance(doc, dict):
        raise _err(path, "（整个文件）", "应为“键: 值”的设置")
    if "set" in doc and str(doc["set"]) != tset.id:
        raise _err(path, "set", f"此文件属于报表集 {doc['set']}，而数据是 {tset.id}")
    base = None
    if "base" in doc:
        if str(doc["base"]) not in tset.variants:
            raise _err(path, "base", f"没有内置版式“{doc['base']}”（可用：{'、'.join(tset.variants)}）")
        base = tset.variants[str(doc["base"])]
    vid = str(doc.get("id") or path.stem)
    if vid in tset.variants:
        raise _err(path, "id", f"“{vid}”是内置版式的名字，请另起一个")
    body = {k: v for k, v in doc.items() if k not in ("set", "id", "base")}
    v = parse_variant(vid, body, tset.tables, path, "", user=True, base=base)
    return register_variant(tset.id, v)


def variant_from_spec(tset, text: str) -> Variant:
    """A user's variant as a workbook keeps it (the JSON of ``Variant.spec``), registered in this process."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise SpecError("工作簿中保存的版式设置已损坏") from None
    vid = str(doc.pop("id", "") or "用户版式")
    if vid in tset.variants:
        return tset.variants[vid]
    v = parse_variant(vid, doc, tset.tables, "（工作簿内保存的版式）", "", user=True)
    return register_variant(tset.id, v)


def find_variant_file(folder: Path, meta: dict) -> Path | None:
    """The user's variant file of a data folder: ``variant:`` in meta.yaml naming a .yaml file
    (relative to the folder), else ``variant.yaml`` beside the data when meta.yaml names no variant."""
    name = meta.get("variant")
    if isinstance(name, str) and name.lower().endswith((".yaml", ".yml")):
        p = Path(name)
        return p if p.is_absolute() else Path(folder) / p
    if not name and (Path(folder) / "variant.yaml").is_file():
        return Path(folder) / "variant.yaml"
    return None


def describe_variant(tset, v: Variant) -> str:
    """One line for `xltools new --variant`: label, unit, how it differs, its tables."""
    parts = []
    for u in v.uses:
        t = tset.tables[u.id]
        extra = []
        if u.amount_unit and u.amount_unit != v.amount_unit:
            extra.append(u.amount_unit)
        if u.omit:
            extra.append("无" + "、".join(u.omit))
        parts.append(u.id + (f"[{'，'.join(extra)}]" if extra else ""))
        del t
    return f"{v.label}；{v.amount_unit}；{v.differs or '—'}；表：{' '.join(parts)}"
