"""Two headline numbers per chain, for the privacy–utility frontier and the summary table.

*Headline risk* is the largest re-identification probability any attack achieved on the chain (each is a
share of targets re-identified, linked or singled out, in [0, 1]); a leaked identifier counts as 1; when no
attack could apply (no per-person rows released) it is 0, labelled so. *Utility* is 1 − mean(min(1, e)) over
the chain's utility errors and distances, where a higher-is-better figure f in [0, 1] (a correlation, a
retained share) counts as the error 1 − f (0 = nothing survived, 1 = unchanged). Both are summaries for the
eye; the gate judges every figure on its own threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from anonbench.report.gate import Outcome
from reid import catalog

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


HIGHER_IS_BETTER = ("_correlation", "retained_rows", "retained_share", "_overlap", "_recall", "_precision")


def higher_is_better(metric: str) -> bool:
    """The direction the catalog declares for a utility metric (``reid.catalog``); a metric it does not list
    yet is read by its name's suffix."""
    spec = catalog.metric_spec("utility", metric)
    return spec.direction == "higher" if spec is not None else metric.endswith(HIGHER_IS_BETTER)


def utility_error(metric: str, value: float) -> float:
    """A utility figure as an error in [0, 1] (0 = unchanged)."""
    v = min(max(value, 0.0), 1.0)
    return 1.0 - v if higher_is_better(metric) else v


def headline(outcomes: Iterable[Outcome]) -> Headline:
    """The chain's headline risk (with the figure it came from) and utility score."""
    best: tuple[float, str] | None = None
    errors: list[float] = []
    not_applicable = False
    rank = {key: i for i, key in enumerate(HEADLINE_RISK)}
    for o in sorted(outcomes, key=lambda o: rank.get((o.check, o.metric), len(rank))):
        if o.value is None:
            not_applicable |= (o.check, o.metric) in HEADLINE_RISK and not o.applicable
            continue
        if o.check == "leak_scan" and o.metric == "leaked_values" and o.value > 0:
            cand = (1.0, f"{o.value:g} leaked identifiers")
        elif (o.check, o.metric) in HEADLINE_RISK:
            cand = (min(max(o.value, 0.0), 1.0), o.label)
        elif o.check == "utility":
            errors.append(utility_error(o.metric, o.value))
            continue
        else:
            continue
        if best is None or cand[0] > best[0]:  # ties keep the earlier figure in HEADLINE_RISK order
            best = cand
    utility = 1.0 - sum(errors) / len(errors) if errors else None
    if best is None and not_applicable:
        best = (0.0, "no attack applicable")
    return Headline(best[0] if best else None, best[1] if best else "no risk figure", utility, len(errors))


def utility_figures(outcomes: Iterable[Outcome]) -> dict[str, float | None]:
    """``{metric label: value}`` of the chain's utility figures (summary.json's ``utility``)."""
    return {o.label.split(".", 1)[1]: o.value for o in outcomes if o.check == "utility"}


def pareto(points: list[tuple[str, float, float]]) -> list[str]:
    """Names of the non-dominated (risk, utility) points: no other point has lower-or-equal risk and
    higher-or-equal utility with one of them strict."""
    keep = []
    for name, r, u in points:
        dominated = any((r2 <= r and u2 >= u) and (r2 < r or u2 > u) for _, r2, u2 in points)
        if not dominated:
            keep.append(name)
    return keep
