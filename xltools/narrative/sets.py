"""One interface per 情况说明 set: its facts, its template context and its reading rules.

The engine (``engine.render_with``) and the checker (``check.check_text``) call a ``NarrativeSet``; which
one a report gets is configuration: ``narrative:`` in ``templates/<set>/tables.yaml`` names an entry of
``REGISTRY`` (a set without the key reads as a 决算).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from xltools.narrative import budget, final
from xltools.narrative.reading import Reading

__all__ = ["NarrativeSet", "REGISTRY", "for_report", "collect_facts", "render", "missing"]


@dataclass(frozen=True)
class NarrativeSet:
    id: str
    title: str                                  # after the unit's name and the year
    facts: Callable                             # report -> {key: Fact} (amounts in 元)
    context: Callable                           # (report, unit, recorder) -> template context
    reading: type[Reading] = Reading            # how the checker reads the set's words
    default_unit: str = "万元"                   # when 说明事项 names none


REGISTRY: dict[str, NarrativeSet] = {
    "final_accounts": NarrativeSet("final_accounts", final.TITLE, final.collect_facts, final.build_context,
                                   Reading, final.DEFAULT_UNIT),
    "budget": NarrativeSet("budget", budget.TITLE, budget.collect_facts, budget.build_context,
                           budget.BudgetReading, budget.DEFAULT_UNIT),
}


def for_report(report) -> NarrativeSet:
    """The narrative interface of the report's set (templates/<set>/tables.yaml ``narrative:``)."""
    name = ""
    try:
        from xltools.spec import load_set

        name = load_set(report.set_id).narrative
    except Exception:          # a set without tables.yaml (a hand-made Report): the 决算 reading
        name = ""
    return REGISTRY.get(name or "final_accounts", REGISTRY["final_accounts"])


def collect_facts(report) -> dict:
    """Every figure the report's 情况说明 can quote, by key (amounts in 元)."""
    return for_report(report).facts(report)


def render(report, variant: str | None = None):
    """The report's 情况说明 (sections → paragraphs) through its set's templates and context."""
    from xltools.narrative.engine import render_with

    return render_with(report, variant, for_report(report))


def missing(report, prefix: str, variant: str | None = None, items=None) -> list[tuple[str, str]]:
    """(key, label) of the empty 说明事项 items with ``prefix`` that ``render(report, variant).missing`` lists, in
    its order, without rendering the sections that cannot show one (``engine.missing_with``; ``items``: the
    variant's ``note_items`` when the caller has them)."""
    from xltools.narrative.engine import missing_with

    return missing_with(report, variant, for_report(report), prefix, items)
