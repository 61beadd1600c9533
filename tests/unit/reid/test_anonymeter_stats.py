"""Success rates and residual risk as anonymeter's stats.confidence computes them, checked by hand."""

from __future__ import annotations

import math

import pytest

from reid.anonymeter_stats import AttackCounts, SuccessRate, attack_metrics, residual_success, success_rate
from reid.result import Z95


@pytest.mark.parametrize(("n", "s"), [(100, 50), (500, 0), (500, 500), (2000, 17)])
def test_wilson_centre_and_half_width(n, s):
    z2 = Z95**2
    r = success_rate(n, s)
    assert r.value == pytest.approx((s + z2 / 2) / (n + z2))
    assert r.error == pytest.approx(Z95 / (n + z2) * math.sqrt(s * (n - s) / n + z2 / 4))


def test_residual_risk_and_propagated_error():
    a, c = SuccessRate(0.3, 0.02), SuccessRate(0.1, 0.01)
    r = residual_success(a, c)
    assert r.value == pytest.approx(0.2 / 0.9)
    assert r.error == pytest.approx(math.sqrt((0.02 / 0.9) ** 2 + (0.01 * (0.3 - 1) / 0.81) ** 2))
    assert residual_success(a, a).value == 0.0


def test_risk_is_bound_to_the_unit_interval():
    worse = AttackCounts(n_attacks=100, n_success=5, n_baseline=0, n_attacks_baseline=100, n_control=40,
                         n_attacks_control=100)
    risk, lo, hi = worse.risk()
    assert risk == 0.0 and lo == 0.0 and 0.0 <= hi <= 1.0
    alone = AttackCounts(n_attacks=100, n_success=30, n_baseline=1, n_attacks_baseline=100)
    assert alone.risk()[0] == pytest.approx(success_rate(100, 30).value)  # no control: the attack rate


def test_four_metrics_with_n_and_intervals():
    counts = AttackCounts(n_attacks=200, n_success=50, n_baseline=4, n_attacks_baseline=200, n_control=20,
                          n_attacks_control=150)
    ms = {m.metric: m for m in attack_metrics("x", counts, {"p": 1}, 0.5)}
    assert set(ms) == {"risk", "attack_rate", "control_rate", "baseline_rate"}
    assert ms["attack_rate"].value == 0.25 and ms["control_rate"].n == 150
    assert all(m.ci_low <= m.value <= m.ci_high for m in ms.values())
    no_ctl = {m.metric: m for m in attack_metrics("x", AttackCounts(10, 1, 0, 10), {}, 0.0)}
    assert math.isnan(no_ctl["control_rate"].value) and no_ctl["control_rate"].n == 0
