"""Statistics of ``dp_audit``: Clopper–Pearson bounds, distinguishing events, Mironov's float test.

A DP claim is refuted, never confirmed, by sampling. For an (epsilon, delta)-DP mechanism M, neighbouring
datasets D, D' and *any* event S fixed before the runs that estimate it, P[M(D') in S] <= e^eps P[M(D) in S] +
delta. With Clopper–Pearson bounds p1_lo (for D') and p0_hi (for D), each at confidence 1 - alpha/2,
``eps_lb = ln((p1_lo - delta) / p0_hi)`` is a lower bound on epsilon with confidence 1 - alpha — the
black-box audit of Jagielski, Ullman and Oprea ("Auditing Differentially Private Machine Learning", NeurIPS
2020) and of DP-Sniper (Bichsel et al., IEEE S&P 2021). The event is picked on a first set of runs and its
probabilities are estimated on a second, independent set, so picking the best of many events costs nothing in
confidence: a correct mechanism fails the audit with probability at most alpha.

Events here are thresholds on statistics of the released cells (a Laplace log-likelihood ratio between the two
noise-off outputs, a signed sum of the cells the extra unit moves, the number of cells released, the number
of values repeated from earlier runs — a fixed noise seed repeats them —, and the number of values that
Mironov's attack on textbook floating-point Laplace sampling ("On Significance of the Least Significant Bits
for Differential Privacy", CCS 2012) can reach from one noise-off output but not from the other).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

Output = Mapping[tuple, float]
"""One run's release: (measurement name, cell) -> value; a cell absent was not released."""


def cp_low(k: int, n: int, a: float) -> float:
    """One-sided Clopper–Pearson lower bound (confidence 1 - a) on a binomial proportion."""
    return 0.0 if k <= 0 or n <= 0 else float(beta.ppf(a, k, n - k + 1))


def cp_high(k: int, n: int, a: float) -> float:
    """One-sided Clopper–Pearson upper bound (confidence 1 - a) on a binomial proportion."""
    return 1.0 if n <= 0 or k >= n else float(beta.ppf(1 - a, k + 1, n - k))


def eps_lower_bound(k1: int, n1: int, k0: int, n0: int, delta: float, alpha: float) -> float:
    """ln((p1_lo - delta) / p0_hi): epsilon is at least this with confidence 1 - alpha (0 when no evidence)."""
    p1, p0 = cp_low(k1, n1, alpha / 2) - delta, cp_high(k0, n0, alpha / 2)
    return max(0.0, math.log(p1 / p0)) if p1 > 0 and p0 > 0 else 0.0


# --- Mironov's test for textbook floating-point Laplace (numpy's ``Generator.laplace``) ----------------------
_TWO53 = 2.0 ** 53


def _numpy_laplace_values(center: float, scale: float, u: float) -> float:
    """numpy's ``random_laplace``: U uniform on k * 2**-53; loc + scale*log(U+U) or loc - scale*log(2-U-U)."""
    if u >= 0.5:
        return center - scale * math.log(2.0 - u - u)
    return center + scale * math.log(u + u)


def numpy_reachable(y: float, center: float, scale: float, window: int = 24) -> bool | None:
    """Whether ``y`` is an output of numpy's textbook Laplace sampler at ``center`` and ``scale`` (None when
    the float grid is too coarse here to tell). Inverts the sampler and tries the uniforms near the inverse."""
    if not (math.isfinite(y) and math.isfinite(center) and scale > 0):
        return None
    d = y - center
    u0 = math.exp(d / scale) / 2 if d <= 0 else 1 - math.exp(-d / scale) / 2
    # uncertainty of the inverse in units of the uniform grid: one ulp of y, through the log
    spread = math.ulp(y) / scale * max(u0, 1 - u0) * _TWO53
    if spread > window:
        return None
    k0 = round(u0 * _TWO53)
    for k in range(max(1, k0 - window), min(int(_TWO53) - 1, k0 + window) + 1):
        if _numpy_laplace_values(center, scale, k / _TWO53) == y:
            return True
    return False


# --- statistics and events -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Centers:
    """The noise-off outputs on D and D', and each measurement's claimed Laplace scale (l1 / epsilon)."""

    d0: Output
    d1: Output
    scale: Mapping[str, float]

    @property
    def moved(self) -> list[tuple]:
        """Cells released in both noise-off outputs whose value the extra unit changes."""
        return sorted((k for k in self.d0 if k in self.d1 and self.d0[k] != self.d1[k]), key=repr)


def _llr(c: Centers) -> Callable[[Output], float]:
    moved = c.moved

    def stat(y: Output) -> float:
        return sum((abs(y[k] - c.d0[k]) - abs(y[k] - c.d1[k])) / c.scale.get(k[0], 1.0) for k in moved if k in y)
    return stat


def _signed_sum(c: Centers) -> Callable[[Output], float]:
    moved = c.moved

    def stat(y: Output) -> float:
        return sum(math.copysign(1.0, c.d1[k] - c.d0[k]) * (y[k] - c.d0[k]) for k in moved if k in y)
    return stat


def _released(y: Output) -> float:
    return float(len(y))


def _repeats(reference: Sequence[Output]) -> Callable[[Output], float]:
    seen: dict[tuple, set[float]] = {}
    for r in reference:
        for k, v in r.items():
            seen.setdefault(k, set()).add(v)

    def stat(y: Output) -> float:
        return float(sum(1 for k, v in y.items() if v in seen.get(k, ())))
    return stat


def _mironov(c: Centers, toward_d1: bool) -> Callable[[Output], float]:
    moved = c.moved
    own, other = (c.d1, c.d0) if toward_d1 else (c.d0, c.d1)

    def stat(y: Output) -> float:
        hits = 0
        for k in moved:
            if k not in y or k[0] not in c.scale:
                continue
            a = numpy_reachable(y[k], own[k], c.scale[k[0]])
            b = numpy_reachable(y[k], other[k], c.scale[k[0]])
            hits += int(a is True and b is False)
        return float(hits)
    return stat


def statistics(c: Centers, reference0: Sequence[Output], reference1: Sequence[Output]
               ) -> dict[str, Callable[[Output], float]]:
    """The candidate statistics (names are reported with the chosen event)."""
    return {"laplace_llr": _llr(c), "signed_sum": _signed_sum(c), "released_cells": _released,
            "repeats_of_D": _repeats(reference0), "repeats_of_D'": _repeats(reference1),
            "numpy_reachable_D": _mironov(c, False), "numpy_reachable_D'": _mironov(c, True)}


@dataclass(frozen=True)
class Event:
    statistic: str
    threshold: float
    upper: bool          # S = {T >= t} if upper else {T <= t}
    favours_d1: bool     # S is claimed likelier under D' (else under D)

    def holds(self, values: np.ndarray) -> np.ndarray:
        return values >= self.threshold if self.upper else values <= self.threshold

    def describe(self) -> str:
        return f"{self.statistic} {'>=' if self.upper else '<='} {self.threshold:.6g}"


def _bound(event: Event, t0: np.ndarray, t1: np.ndarray, delta: float, alpha: float) -> tuple[float, int, int]:
    k0, k1 = int(event.holds(t0).sum()), int(event.holds(t1).sum())
    if event.favours_d1:
        return eps_lower_bound(k1, len(t1), k0, len(t0), delta, alpha), k1, k0
    return eps_lower_bound(k0, len(t0), k1, len(t1), delta, alpha), k0, k1


SELECT_ALPHA = 0.1
"""Confidence of the bound that ranks events on the selection runs: lenient, so that a handful of runs can
single out a strong event; it only ranks, the reported bound comes from fresh runs at the audit's alpha."""


def best_event(stats: Mapping[str, Callable[[Output], float]], runs0: Sequence[Output],
               runs1: Sequence[Output], delta: float, alpha: float = SELECT_ALPHA,
               max_thresholds: int = 24) -> Event | None:
    """The event with the largest lower bound on these (selection) runs."""
    best: tuple[float, Event] | None = None
    for name, f in stats.items():
        t0 = np.array([f(y) for y in runs0])
        t1 = np.array([f(y) for y in runs1])
        values = np.unique(np.concatenate([t0, t1]))
        if len(values) > max_thresholds:
            values = np.unique(np.quantile(values, np.linspace(0, 1, max_thresholds)))
        for t in values:
            for upper in (True, False):
                for favours in (True, False):
                    ev = Event(name, float(t), upper, favours)
                    lb = _bound(ev, t0, t1, delta, alpha)[0]
                    if best is None or lb > best[0]:
                        best = (lb, ev)
    return best[1] if best else None


def estimate(event: Event, f: Callable[[Output], float], runs0: Sequence[Output], runs1: Sequence[Output],
             delta: float, alpha: float) -> tuple[float, int, int]:
    """(epsilon lower bound, hits where the event is claimed likelier, hits on the other side)."""
    t0 = np.array([f(y) for y in runs0])
    t1 = np.array([f(y) for y in runs1])
    return _bound(event, t0, t1, delta, alpha)


CALIBRATION_EVENTS: tuple[tuple[float, int], ...] = ((-0.5, 1), (-0.5, 2), (-0.5, 3), (-0.5, 4))
"""(t, k) of the calibration events {N >= t * l1} against {N >= (t + k) * l1}: the symmetric one-step event,
and events k steps apart, whose far tail thins out much faster when the noise is too small (Laplace noise at
half the scale: P(N >= 2.5 l1) falls from e^-1.25eps/2 to e^-2.5eps/2 while P(N >= -l1/2) stays above 1/2).
All start at -l1/2, so that clipping below it (cells of noise-off value at least l1/2) cannot touch them."""


def calibration_event(residuals: np.ndarray, l1: float, alpha: float, t: float, k: int) -> tuple[float, int, int]:
    """Lower bound on a pure-DP measurement's epsilon from its noise alone, on one event: with data-independent
    additive noise N, epsilon-DP for every L1 shift up to ``l1`` (one cell moved by all of it) implies
    P(N >= a) <= e^eps P(N >= a + l1) for every a, hence P(N >= t l1) <= e^(k eps) P(N >= (t + k) l1): the
    event {value >= center + (t + k) l1} seen from centers k l1 apart, divided by k. Only upper-tail events
    are used: they survive clipping below -l1/2 and release conditioned on a large noisy value.
    Returns (bound, #{N >= t l1}, #{N >= (t + k) l1})."""
    n = len(residuals)
    k_top, k_shift = int((residuals >= t * l1).sum()), int((residuals >= (t + k) * l1).sum())
    return eps_lower_bound(k_top, n, k_shift, n, 0.0, alpha) / k, k_top, k_shift


def calibration_bound(residuals: np.ndarray, l1: float, alpha: float,
                      events: Sequence[tuple[float, int]] = CALIBRATION_EVENTS) -> tuple[float, int, int]:
    """The largest :func:`calibration_event` bound over ``events``, each at ``alpha / len(events)`` (Bonferroni:
    a correct mechanism still fails with probability at most ``alpha``). Returns (bound, hits, hits shifted)
    of the best event."""
    best = max((calibration_event(residuals, l1, alpha / len(events), t, k) for t, k in events),
               key=lambda r: r[0])
    return best


def best_calibration_event(residuals: np.ndarray, l1: float,
                           events: Sequence[tuple[float, int]] = CALIBRATION_EVENTS) -> tuple[float, int]:
    """The event with the largest bound on these (selection) residuals, at the lenient ``SELECT_ALPHA``."""
    return max(events, key=lambda e: calibration_event(residuals, l1, SELECT_ALPHA, *e)[0])


def laplace_scale_bound(residuals: np.ndarray, l1: float, alpha: float) -> tuple[float, float]:
    """Lower bound on the epsilon of a measurement that declares the Laplace mechanism, from the size of its
    noise: Laplace noise of scale b = l1 / eps has |N| ~ Exponential(b), so for n independent draws (one cell
    per release) S = sum |N_i| ~ Gamma(n, b) exactly. With q the lower ``alpha`` quantile of Gamma(n, 1),
    b_hi = S / q is an upper confidence bound on the scale at 1 - alpha (P(S / b < q) = alpha), and
    ``l1 / b_hi`` a lower bound on the epsilon the noise delivers: a correct mechanism exceeds its claim with
    probability alpha exactly. This is the variance test the tail events of :func:`calibration_event` lack
    power for: noise at half the scale (variance x 0.25) halves the mean of |N|, so about 80 draws give it
    away at alpha = 1e-3 (power > 0.999). Noise added on top (contribution-bounding samples that differ from
    the noise-off one) only makes |N| stochastically larger (for symmetric unimodal N, |N + c| dominates |N|):
    never a false alarm. Returns (bound, mean |N| / l1)."""
    n = len(residuals)
    if n == 0 or l1 <= 0:
        return math.nan, math.nan
    from scipy.stats import gamma

    total = float(np.abs(residuals).sum())
    q = float(gamma.ppf(alpha, n))
    bound = math.inf if total <= 0 else l1 * q / total
    return bound, total / n / l1
