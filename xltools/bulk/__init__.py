"""Bulk work for a finance bureau: a workbook per unit (thousands of them, on every core), and the
consolidation (汇总) of units' workbooks into a department's.

    generate_units(units_path, out_dir, jobs=0) -> exit code     `xltools generate --units …`
    merge(paths, out, unit=…) -> MergeResult                     `xltools merge … -o 部门汇总.xlsx`
"""
from __future__ import annotations

__all__ = ["generate_units", "merge", "MergeError", "MergeResult"]


def generate_units(units_path, out_dir, jobs: int = 0, **kw) -> int:
    from xltools.bulk.generate import generate_units as _g
    return _g(units_path, out_dir, jobs=jobs, **kw)


def merge(paths, out, **kw):
    from xltools.bulk.consolidate import merge as _m
    return _m(paths, out, **kw)


def __getattr__(name):
    if name in ("MergeError", "MergeResult"):
        from xltools.bulk import consolidate
        return getattr(consolidate, name)
    raise AttributeError(name)
