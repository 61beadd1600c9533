"""Two headline numbers per chain, for the privacy–utility frontier and the summary table.

*Headline risk* is the largest re-identification probability any attack achieved on the chain (each is a
share of targets re-identified, linked or singled out, in [0, 1]); a leaked identifier counts as 1; when no
attack could apply (no per-person rows released) it is 0, labelled so. *Utility* is the headline score of
:func:`reid.utility.headline_utility`: the mean, over the headline utility figures, of each figure mapped to
[0, 1] by the direction it declares in :data:`reid.utility.DIRECTION` — 1 for the identity release, 0 for a
release of nothing; a headline figure missing from a chain's results scores 0. Both are summaries for the
eye; the gate judges every figure on its own threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from anonbench.report.gate import Outcome
from reid.utility import DIRECTION, HEADLINE, headline_utility

HEADLINE_RISK = (
    ("unicity", "reidentified_share"),
    ("profile_linkage", "top1_accuracy"),
    ("quasi_identifiers", "prosecutor_risk_avg"),
    ("singling_out", "risk"),
    ("linkability", "risk"),
    ("inference", "risk"),
    ("cross_tenant", "linked_share"),
    ("dictionary", "reversed_share"),
)


@dataclass(frozen=True)
class Headline:
    risk: float | None
    risk_from: str
    utility: float | None
    utility_n: int


def utility_score(metric: str, value: float | None) -> float | None:
    """A utility figure on [0, 1] by its declared direction (1 = as the raw data); None if undeclared."""
    figure = DIRECTION.get(metric)
    return figure.score(value) if figure is not None else None


def headline(outcomes: Iterable[Outcome]) -> Headline:
    """The chain's headline risk (with the figure it came from) and utility score."""
    best: tuple[float, str] | None = None
    figures: dict[str, float | None] = {}
    not_applicable = False
    rank = {key: i for i, key in enumerate(HEADLINE_RISK)}
    for o in sorted(outcomes, key=lambda o: rank.get((o.check, o.metric), len(rank))):
        if o.value is None:
            not_applicable |= (o.check, o.metric) in HEADLINE_RISK and not o.applicable
            if o.check == "utility" and o.metric in HEADLINE:
                figures.setdefault(o.metric, None)          # not measured: scores 0
            continue
        if o.check == "leak_scan" and o.metric == "leaked_values" and o.value > 0:
            cand = (1.0, f"{o.value:g} leaked identifiers")
        elif (o.check, o.metric) in HEADLINE_RISK:
            cand = (min(max(o.value, 0.0), 1.0), o.label)
        elif o.check == "utility":
            if o.metric in HEADLINE:
                figures.setdefault(o.metric, o.value)
            continue
        else:
            continue
        if best is None or cand[0] > best[0]:  # ties keep the earlier figure in HEADLINE_RISK order
            best = cand
    # no headline figure at all: the utility check did not run (or an older run); unknown, not 0
    utility = headline_utility(figures) if figures else None
    if best is None and not_applicable:
        best = (0.0, "no attack applicable")
    return Headline(best[0] if best else None, best[1] if best else "no risk figure", utility, len(figures))


def utility_figures(outcomes: Iterable[Outcome]) -> dict[str, float | None]:
    """``{metric label: value}`` of the chain's utility figures (summary.json's ``utility``)."""
    return {o.label.split(".", 1)[1]: o.value for o in outcomes if o.check == "utility"}


def utility_directions() -> dict[str, dict[str, object]]:
    """The declared direction of every utility figure (``summary.json``'s ``utility_directions``)."""
    return {m: f.as_dict() for m, f in DIRECTION.items()}


def pareto(points: list[tuple[str, float, float]]) -> list[str]:
    """Names of the non-dominated (risk, utility) points: no other point has lower-or-equal risk and
    higher-or-equal utility with one of them strict."""
    keep = []
    for name, r, u in points:
        dominated = any((r2 <= r and u2 >= u) and (r2 < r or u2 > u) for _, r2, u2 in points)
        if not dominated:
            keep.append(name)
    return keep
