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

* ``dispersion``: runs on *different populations* (another seed, other data) are not two samples of one
  population: each run's figure is a sample of its own population, whose risk differs from the baseline's by a
  between-population term the binomial (or interval) variance does not contain. Over the cells of a comparison
  the statistics z_i = (difference)/(sampling s.e.) then spread wider than N(0, 1) even when nothing regressed
  — extra-binomial variation (Williams, Appl. Statist. 1982). The quasi-likelihood remedy (Wedderburn 1974;
  McCullagh & Nelder, *Generalized Linear Models*, 2nd ed., §4.5) scales the variance by a dispersion factor
  phi estimated from the data; here robustly, phi = median(z_i^2) / 0.4549 (the median of chi-square with 1
  d.f.), which stays consistent under the null for the cells that did not move and has a 50% breakdown point,
  so regressions in a minority of cells cannot hide themselves by inflating it. It is never taken below 1 (a
  comparison is never made *more* sensitive than the sampling variance allows), and is estimated per check
  (between-population spread is a property of what a check measures: unicity moves with the population far more
  than a count of leaked values) when the check has at least ``MIN_CELLS_PER_CHECK`` tested cells, else over all
  tested cells, and only when there are at least ``MIN_CELLS`` of those (else 1: too few to estimate).
  The test becomes P(Z >= z / sqrt(phi)). Runs of the same targets share their population: no dispersion.

* ``between_variance``: with *several* baselines of different populations (``check --baseline B1 --baseline B2
  …``, e.g. main's runs on several seeds), each cell's own between-population variance tau^2 is estimated from
  the spread of the baselines' figures beyond their sampling variance — the method-of-moments estimator of the
  random-effects model (Cochran 1954; DerSimonian & Laird, Control. Clin. Trials 1986, unweighted form):
  tau^2 = max(0, S^2 − mean s_j^2), S^2 the sample variance of the m baseline figures, s_j^2 their sampling
  variances. A figure of a new population differs from the baselines' pooled figure by its own sampling
  variance, the pooled figure's, and tau^2 (1 + sum w_j^2) (the new population's term plus the pooled
  figure's, w_j the pooling weights: 1/m for a plain mean). This is additive and per cell: it covers a cell
  that sits near 0 in one population and well above it in another (unicity at 8 known days), which a
  multiplicative dispersion cannot, since the binomial variance at 0 is 0. The dispersion factor then applies
  on top, as with one baseline.

* ``extra_var`` of :func:`score_z` and :func:`wald_z`: any variance of the difference beyond sampling that the
  caller knows — tau^2 from several baselines, and the population variances a check estimated for each run
  (``params.population_se``, ``anonbench.report.baseline``).

``sign`` is +1 when a larger figure is worse, −1 when a smaller one is.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from reid.result import Z95


def normal_sf(z: float) -> float:
    """P(Z ≥ z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


MIN_CELLS = 10
"""Fewest tested cells from which a dispersion factor is estimated (else 1)."""
MIN_CELLS_PER_CHECK = 20
"""Fewest tested cells of one check for a dispersion factor of its own (else the pooled one)."""
CHI2_1_MEDIAN = 0.454936
"""The median of the chi-square distribution with 1 degree of freedom."""


def _z(diff: float, var: float) -> float:
    if var <= 0.0:  # both at 0 or both at 1: no evidence of any change (p = 1), or all of it (p = 0)
        return -math.inf if diff <= 0 else math.inf
    return diff / math.sqrt(var)


def p_of(z: float, phi: float = 1.0) -> float:
    """One-sided p-value of a z statistic whose null variance is ``phi`` (1: the sampling variance alone)."""
    return 0.0 if z == math.inf else 1.0 if z == -math.inf else normal_sf(z / math.sqrt(max(phi, 1.0)))


def score_z(x1: int, n1: int, x2: int, n2: int, sign: int = 1, extra_var: float = 0.0) -> float:
    """The pooled score statistic of :func:`score_test` (±inf when both samples sit at 0 or at 1 and there is
    no ``extra_var``, a between-population variance of the difference added to the sampling one)."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("score_test: both samples need n > 0")
    if not (0 <= x1 <= n1 and 0 <= x2 <= n2):
        raise ValueError("score_test: successes must lie in [0, n]")
    pooled = (x1 + x2) / (n1 + n2)
    return _z(sign * (x2 / n2 - x1 / n1), pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2) + extra_var)


def wald_z(v1: float, se1: float, v2: float, se2: float, sign: int = 1, extra_var: float = 0.0) -> float:
    """The z statistic of :func:`wald_test` (``extra_var`` as in :func:`score_z`)."""
    return _z(sign * (v2 - v1), se1 * se1 + se2 * se2 + extra_var)


def between_variance(values: Sequence[float], sampling_vars: Sequence[float]) -> float:
    """tau^2 = max(0, S^2 − mean s_j^2): the between-population variance of one cell from the figures of m >= 2
    baselines and their sampling variances (see the module docstring); 0 with fewer than 2."""
    if len(values) < 2:
        return 0.0
    return max(0.0, statistics.variance(values) - statistics.fmean(sampling_vars))


def dispersion(z_by_group: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Dispersion factor per group (check) from the z statistics of its tested cells (see the module
    docstring): the group's own when it has ``MIN_CELLS_PER_CHECK`` finite z, else the pooled one; never
    below 1. Infinite z (no sampling variance) carry no information about it and are left out."""
    finite = {g: [z * z for z in zs if math.isfinite(z)] for g, zs in z_by_group.items()}
    pooled = [z2 for z2s in finite.values() for z2 in z2s]
    if len(pooled) < MIN_CELLS:
        return {g: 1.0 for g in z_by_group}
    overall = max(1.0, statistics.median(pooled) / CHI2_1_MEDIAN)
    return {g: max(1.0, statistics.median(z2s) / CHI2_1_MEDIAN) if len(z2s) >= MIN_CELLS_PER_CHECK else overall
            for g, z2s in finite.items()}


def score_test(x1: int, n1: int, x2: int, n2: int, sign: int = 1) -> float:
    """One-sided p-value that the second proportion is worse (larger when ``sign`` = +1) than the first."""
    return p_of(score_z(x1, n1, x2, n2, sign))


def se_from_ci(ci_low: float, ci_high: float) -> float:
    """The standard error a 95% interval implies (half-width / 1.96)."""
    return max(ci_high - ci_low, 0.0) / (2.0 * Z95)


def wald_test(v1: float, se1: float, v2: float, se2: float, sign: int = 1) -> float:
    """One-sided p-value that ``v2`` is worse than ``v1`` given their standard errors."""
    return p_of(wald_z(v1, se1, v2, se2, sign))


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
