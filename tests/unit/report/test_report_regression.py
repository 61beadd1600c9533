"""anonbench.report.regression: the one-sided score test, the interval test and Holm's step-down correction."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from anonbench.report import regression as r


def _score_reference(x1: int, n1: int, x2: int, n2: int) -> float:
    """The textbook pooled two-proportion z test, one-sided (p2 > p1), through scipy's normal."""
    p = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return float(sps.norm.sf(z))


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "sign", "expected"), [
    (10, 100, 20, 100, 1, 0.02385),     # 10% -> 20%: worse, p ~ 0.024
    (20, 100, 10, 100, 1, 0.97615),     # better: the one-sided p is the complement
    (20, 100, 10, 100, -1, 0.02385),    # a lower-is-worse figure (k) that went down
    (50, 100, 50, 100, 1, 0.5),         # no change
    (0, 100, 0, 100, 1, 1.0),           # both at 0: no evidence
    (100, 100, 100, 100, 1, 1.0),       # both at 1: no evidence
    (84, 209, 136, 210, 1, 2.4e-07),    # profile linkage 0.40 -> 0.65 (measured on a CI run)
])
def test_score_test_truth_table(x1, n1, x2, n2, sign, expected):
    assert r.score_test(x1, n1, x2, n2, sign) == pytest.approx(expected, rel=0.02, abs=1e-6)


@given(st.integers(1, 500), st.integers(1, 500), st.data())
def test_score_test_matches_the_textbook_formula(n1, n2, data):
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    p = r.score_test(x1, n1, x2, n2)
    if 0 < x1 + x2 < n1 + n2:
        assert p == pytest.approx(_score_reference(x1, n1, x2, n2), rel=1e-9, abs=1e-12)
    assert 0.0 <= p <= 1.0
    # the opposite direction is the complement (continuous statistic)
    if 0 < x1 + x2 < n1 + n2:
        assert p + r.score_test(x1, n1, x2, n2, -1) == pytest.approx(1.0)


@pytest.mark.parametrize(("args", "message"), [((1, 0, 1, 10), "n > 0"), ((11, 10, 1, 10), r"\[0, n\]")])
def test_score_test_rejects_bad_counts(args, message):
    with pytest.raises(ValueError, match=message):
        r.score_test(*args)


@pytest.mark.parametrize(("v1", "ci1", "v2", "ci2", "sign", "expected"), [
    (0.10, (0.05, 0.15), 0.30, (0.25, 0.35), 1, sps.norm.sf(0.2 / math.hypot(0.05 / 1.96, 0.05 / 1.96))),
    (0.30, (0.25, 0.35), 0.10, (0.05, 0.15), 1, sps.norm.sf(-0.2 / math.hypot(0.05 / 1.96, 0.05 / 1.96))),
    (0.2, (0.2, 0.2), 0.2, (0.2, 0.2), 1, 1.0),
    (0.2, (0.2, 0.2), 0.3, (0.3, 0.3), 1, 0.0),
])
def test_interval_test(v1, ci1, v2, ci2, sign, expected):
    p = r.wald_test(v1, r.se_from_ci(*ci1), v2, r.se_from_ci(*ci2), sign)
    assert p == pytest.approx(expected, rel=1e-3, abs=1e-9)


@pytest.mark.parametrize(("pvalues", "adjusted"), [
    ([0.01, 0.04, 0.03, 0.005], [0.03, 0.06, 0.06, 0.02]),   # step-down with the running maximum
    ([0.5], [0.5]),
    ([], []),
    ([0.2, 0.2, 0.2], [0.6, 0.6, 0.6]),
    ([0.001, 0.9], [0.002, 0.9]),
    ([0.6, 0.4], [0.8, 0.8]),                                 # capped at 1 before the maximum
])
def test_holm_truth_table(pvalues, adjusted):
    assert r.holm(pvalues) == pytest.approx(adjusted)


@given(st.lists(st.floats(0, 1), max_size=30))
def test_holm_is_monotone_and_at_least_the_raw_p(pvalues):
    adj = r.holm(pvalues)
    assert all(a >= p - 1e-15 and a <= 1.0 for a, p in zip(adj, pvalues, strict=True))
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    assert all(adj[order[i]] <= adj[order[i + 1]] + 1e-15 for i in range(len(order) - 1))
    # Holm never rejects less than Bonferroni
    m = len(pvalues)
    assert all(a <= min(1.0, m * p) + 1e-12 for a, p in zip(adj, pvalues, strict=True))


def test_dispersion_is_one_under_binomial_noise_and_phi_under_overdispersion():
    import numpy as np

    rng = np.random.default_rng(5)
    binomial = {"unicity": list(rng.normal(0, 1, 400))}
    assert r.dispersion(binomial)["unicity"] == pytest.approx(1.0, abs=0.25)
    wide = {"unicity": list(rng.normal(0, 2, 400)), "passthrough": list(rng.normal(0, 1, 5))}
    phi = r.dispersion(wide)
    assert phi["unicity"] == pytest.approx(4.0, rel=0.25)            # its own: 400 cells
    assert phi["passthrough"] == pytest.approx(r.dispersion({"all": [*wide["unicity"], *wide["passthrough"]]})["all"])
    # never below 1, robust to a minority of regressed cells, 1 when there is too little to estimate from
    assert r.dispersion({"x": [0.01] * 50})["x"] == 1.0
    shifted = {"x": [*rng.normal(0, 1, 80), *([40.0] * 20)]}
    assert r.dispersion(shifted)["x"] < 2.5     # 20% regressed: the median moves to the 62.5th percentile
    assert r.dispersion({"x": [5.0] * (r.MIN_CELLS - 1)})["x"] == 1.0
    assert r.dispersion({"x": [math.inf, -math.inf] * 20})["x"] == 1.0


def test_p_of_scales_the_null_variance():
    assert r.p_of(2.0) == pytest.approx(float(sps.norm.sf(2.0)))
    assert r.p_of(4.0, 4.0) == pytest.approx(float(sps.norm.sf(2.0)))
    assert r.p_of(2.0, 0.5) == r.p_of(2.0)    # a dispersion below 1 is never used
    assert (r.p_of(math.inf, 9.0), r.p_of(-math.inf, 9.0)) == (0.0, 1.0)


def test_between_variance_is_the_excess_spread_never_negative():
    assert r.between_variance([0.1], [0.01]) == 0.0                          # one population: nothing to estimate
    assert r.between_variance([0.1, 0.1, 0.1], [0.001] * 3) == 0.0           # no spread beyond sampling
    assert r.between_variance([0.0, 0.2], [0.001, 0.001]) == pytest.approx(0.02 - 0.001)
    # the extra variance widens the test: same difference, smaller z
    assert r.score_z(0, 500, 60, 500) > 7 > r.score_z(0, 500, 60, 500, extra_var=0.005) > 0
    assert r.wald_z(0.1, 0.01, 0.3, 0.01, extra_var=0.02) == pytest.approx(0.2 / math.sqrt(0.0002 + 0.02))
