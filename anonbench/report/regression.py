"""The statistics of ``check --baseline``: one-sided tests that a figure got worse, and Holm's correction.

* ``score_test``: two independent binomial samples (x1 of n1 in the baseline, x2 of n2 now); the pooled score
  statistic z = (p2 − p1) / sqrt(p(1 − p)(1/n1 + 1/n2)), p = (x1 + x2)/(n1 + n2) (Agresti, *Categorical Data
  Analysis*, 3rd ed., §3.1.3), one-sided p-value P(Z ≥ z). Where both runs attacked the same targets the
  samples are positively correlated and the independent-sample test is conservative (it overstates the
  variance of the difference), so it never raises a false alarm that a paired test would not.
* ``wald_test``: a figure that is not a plain proportion but carries a 95% interval (anonymeter's risk, derived
  from the attack and control rates): the standard error is read back from the interval's half-width.
* ``holm``: Holm's step-down adjustment (Holm, Scand. J. Statist. 1979) of p-values across all the compared
  cells, so the chance of any false alarm in a run stays at most ``alpha`` whatever the number of cells.

``sign`` is +1 when a larger figure is worse, −1 when a smaller one is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from reid.result import Z95


def normal_sf(z: float) -> float:
    """P(Z ≥ z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def score_test(x1: int, n1: int, x2: int, n2: int, sign: int = 1) -> float:
    """One-sided p-value that the second proportion is worse (larger when ``sign`` = +1) than the first."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("score_test: both samples need n > 0")
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError("score_test: successes must lie in [0, n]")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)
    diff = sign * (p2 - p1)
    if var <= 0.0:  # both at 0 or both at 1: no evidence of any change
        return 1.0 if diff <= 0 else 0.0
    return normal_sf(diff / math.sqrt(var))


def se_from_ci(ci_low: float, ci_high: float) -> float:
    """The standard error a 95% interval implies (half-width / 1.96)."""
    return max(ci_high - ci_low, 0.0) / (2.0 * Z95)


def wald_test(v1: float, se1: float, v2: float, se2: float, sign: int = 1) -> float:
    """One-sided p-value that ``v2`` is worse than ``v1`` given their standard errors."""
    var = se1 * se1 + se2 * se2
    diff = sign * (v2 - v1)
    if var <= 0.0:
        return 1.0 if diff <= 0 else 0.0
    return normal_sf(diff / math.sqrt(var))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order: reject H_i at level alpha iff adjusted p_i <= alpha."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
