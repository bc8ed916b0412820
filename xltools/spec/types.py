"""The spec's leaf types: errors, variants and the registry of a user's variants (no other xltools import)."""
from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SpecError", "TableUse", "Variant", "register_variant"]


class SpecError(ValueError):
    """A table-set specification is malformed."""


@dataclass(frozen=True)
class TableUse:
    """How a variant uses one table (form): its own amount unit or 合计 position where it differs
    from the variant's, and which optional columns it does not print."""
    id: str
    amount_unit: str | None = None
    total_position: str | None = None
    omit: tuple[str, ...] = ()


@dataclass(frozen=True)
class Variant:
    id: str
    label: str
    amount_unit: str
    order: tuple[str, ...]
    hierarchy: bool = False
    total_position: str = "top"
    uses: tuple[TableUse, ...] = ()     # per-table settings, in order (one per id of `order`)
    differs: str = ""                   # one line: how it differs (shown by `xltools new --variant`)
    spec: str = ""                      # a user's variant: its normalized composition (JSON), kept in workbooks
    builtin: bool = True

    def use(self, table_id: str) -> TableUse:
        for u in self.uses:
            if u.id == table_id:
                return u
        return TableUse(table_id)

    def unit_of(self, table_id: str, report_unit: str | None = None) -> str:
        return self.use(table_id).amount_unit or report_unit or self.amount_unit

    def total_position_of(self, table_id: str) -> str:
        return self.use(table_id).total_position or self.total_position

    def omitted(self, table_id: str) -> tuple[str, ...]:
        return self.use(table_id).omit

    @property
    def short_label(self) -> str:
        """The Chinese name of the variant: its label up to the first parenthesis (宁夏, 中央部门)."""
        return re.split(r"[（(]", self.label, maxsplit=1)[0].strip() or self.id


# user variants (from files) known in this process, by (set id, variant id)
_USER_VARIANTS: dict[tuple[str, str], Variant] = {}


def register_variant(set_id: str, variant: Variant) -> Variant:
    _USER_VARIANTS[(set_id, variant.id)] = variant
    return variant
