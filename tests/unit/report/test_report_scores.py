"""anonbench.report.scores: headline risk/utility and the Pareto frontier."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonbench.report.gate import Outcome
from anonbench.report.scores import headline, pareto, utility_score
from reid.utility import DIRECTION, HEADLINE


def o(check, metric, value, **params):
    return Outcome("c", check, metric, params, value, None, None, 10)


ALL_BEST = [o("utility", m, DIRECTION[m].best) for m in HEADLINE]


@pytest.mark.parametrize(("outcomes", "risk", "source", "utility"), [
    ([o("unicity", "reidentified_share", 0.3, p=4), o("quasi_identifiers", "prosecutor_risk_avg", 0.1)],
     0.3, "unicity.reidentified_share[p=4]", None),
    ([o("leak_scan", "leaked_values", 12), o("unicity", "reidentified_share", 0.3)], 1.0, "12 leaked identifiers",
     None),
    ([o("leak_scan", "leaked_values", 0), o("utility", "action_tv_distance", 0.2),
      o("utility", "weekly_product_counts_rel_error", 3.0)], None, "no risk figure",
     0.8 / len(HEADLINE)),                                   # the other headline figures are missing: 0 each
    ([o("quasi_identifiers", "k", 40)], None, "no risk figure", None),
    (ALL_BEST, None, "no risk figure", 1.0),
    ([*ALL_BEST[1:], o("utility", HEADLINE[0], None)], None, "no risk figure", 1 - 1 / len(HEADLINE)),
    ([o("utility", "hour_of_week_tvd", 0.0)], None, "no risk figure", None),   # undeclared: not scored
])
def test_headline(outcomes, risk, source, utility):
    h = headline(outcomes)
    assert (h.risk, h.risk_from) == (risk, source)
    assert h.utility == pytest.approx(utility) if utility is not None else h.utility is None


def test_pareto_simple():
    pts = [("a", 0.1, 0.5), ("b", 0.2, 0.9), ("c", 0.3, 0.8), ("d", 0.1, 0.4)]
    assert pareto(pts) == ["a", "b"]


@given(st.lists(st.tuples(st.text(min_size=1, max_size=3), st.floats(0, 1), st.floats(0, 1)), min_size=1,
                max_size=12))
def test_pareto_properties(pts):
    front = set(pareto(pts))
    assert front  # a non-empty set always has a non-dominated point
    best_risk = min(r for _, r, _ in pts)
    assert any(n in front for n, r, _ in pts if r == best_risk)


@pytest.mark.parametrize(("metric", "value", "good"), [
    ("action_tv_distance", 0.2, 0.8), ("weekly_product_counts_rel_error", 3.0, 0.0),
    ("hourly_profile_correlation", 0.9, 0.9), ("hourly_profile_correlation", -0.5, 0.0), ("retained_rows", 1.0, 1.0),
    ("retained_rows", 1.4, 1.0), ("session_length_ks", -0.1, 1.0), ("workload_3way_error", None, 0.0),
    ("entropy_retained", 0.25, 0.25), ("not_declared", 0.5, None),
])
def test_utility_score_follows_the_declared_direction(metric, value, good):
    assert utility_score(metric, value) == (pytest.approx(good) if good is not None else None)


def test_not_applicable_attacks_count_as_zero_risk_with_a_label():
    na = Outcome("c", "unicity", "reidentified_share", {"applicable": False}, None, None, None, 0)
    assert (headline([na]).risk, headline([na]).risk_from) == (0.0, "no attack applicable")
    measured = o("unicity", "reidentified_share", 0.4)
    assert headline([na, measured]).risk == 0.4
