"""Numbers as a 情况说明 writes them: 万元 half-up to 2 decimals, percentages half-up to 2 decimals,
shares of a group that add to exactly 100.00 %, changes on the prior-year base.

Everything is ``decimal.Decimal``; nothing here imports jinja2 or docx.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from xltools.model import ZERO, quantize2, to_wan

__all__ = ["Amount", "wan", "fmt_number", "fmt_amount", "pct", "fmt_pct", "shares", "Change", "change",
           "HUNDRED", "truncate2"]

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Amount:
    """An amount in 元 (exact) — what a template variable holds; filters turn it into text."""
    yuan: Decimal

    @property
    def wan(self) -> Decimal:
        return to_wan(self.yuan, "元")

    def __bool__(self) -> bool:
        return self.yuan != ZERO

    def __lt__(self, other) -> bool:
        return self.yuan < _yuan(other)

    def __gt__(self, other) -> bool:
        return self.yuan > _yuan(other)

    def __add__(self, other) -> "Amount":
        return Amount(self.yuan + _yuan(other))

    def __sub__(self, other) -> "Amount":
        return Amount(self.yuan - _yuan(other))

    def __str__(self) -> str:
        return fmt_number(self.yuan, grouping=True)


def _yuan(x) -> Decimal:
    if isinstance(x, Amount):
        return x.yuan
    return Decimal(x or 0)


def wan(x) -> Decimal:
    """元 (Amount or Decimal) → 万元, half-up, 2 decimals."""
    return to_wan(_yuan(x), "元")


def truncate2(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_DOWN)


def fmt_number(d: Decimal, grouping: bool = False) -> str:
    q = quantize2(d)
    return f"{q:,.2f}" if grouping else f"{q:.2f}"


def fmt_amount(x, unit: str = "万元") -> str:
    """'15530.38万元' or '380,428,984.11元'."""
    if unit == "万元":
        return f"{fmt_number(wan(x))}万元"
    return f"{fmt_number(_yuan(x), grouping=True)}元"


def pct(part, whole) -> Decimal | None:
    """part / whole as a percentage, half-up 2 decimals; None when the whole is zero."""
    w = _yuan(whole)
    if w == ZERO:
        return None
    return quantize2(_yuan(part) * HUNDRED / w)


def fmt_pct(p: Decimal | None) -> str:
    return "—" if p is None else f"{quantize2(p):.2f}%"


def shares(parts: list, whole=None) -> list[Decimal]:
    """Percentages of a group that add to exactly 100.00 %.

    Largest-remainder rounding (Hamilton's method): each share is first cut down to the hundredth
    of a percent, then the hundredths still missing to reach 100.00 go, one each, to the shares that
    lost the most by the cut (ties: larger part first, then list order). This keeps every share within
    0.01 of its half-up value and makes the group add to 100.00, which independent half-up rounding
    does not (three thirds would give 99.99). When ``whole`` is given and differs from the sum of the
    parts (the group is not the whole), plain half-up shares of ``whole`` are returned instead.
    """
    vals = [_yuan(p) for p in parts]
    total = sum(vals, ZERO)
    if whole is not None and _yuan(whole) != total:
        return [pct(v, whole) or ZERO for v in vals]
    if total == ZERO:
        return [ZERO for _ in vals]
    exact = [v * HUNDRED / total for v in vals]
    floor = [e.quantize(CENT, rounding=ROUND_DOWN) for e in exact]
    missing = int(((HUNDRED - sum(floor, ZERO)) / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    order = sorted(range(len(vals)), key=lambda i: (-(exact[i] - floor[i]), -vals[i], i))
    out = list(floor)
    for i in order[:max(missing, 0)]:
        out[i] += CENT
    return out


@dataclass(frozen=True)
class Change:
    """current − base: the words 增加/减少/持平 and 增长/下降 with the percentage on the base."""
    current: Decimal
    base: Decimal

    @property
    def diff(self) -> Decimal:
        return self.current - self.base

    @property
    def abs(self) -> Amount:
        return Amount(abs(self.diff))

    @property
    def flat(self) -> bool:
        return self.diff == ZERO

    @property
    def up(self) -> bool:
        return self.diff > ZERO

    @property
    def word(self) -> str:          # 增加 / 减少 / 持平
        return "持平" if self.flat else ("增加" if self.up else "减少")

    @property
    def rate_word(self) -> str:     # 增长 / 下降
        return "增长" if self.diff >= ZERO else "下降"

    @property
    def rate(self) -> Decimal | None:
        """|change| / base, half-up 2 decimals; None when the base is zero."""
        return pct(abs(self.diff), self.base)


def change(current, base) -> Change:
    return Change(_yuan(current), _yuan(base))
