"""Success rates and residual risk of a privacy attack, as in anonymeter (Giomi et al., PoPETs 2023).

An attack is a series of Bernoulli trials. Its success rate is estimated with the Wilson score interval (Wilson,
JASA 1927): the point estimate is the interval's centre ``(s + z²/2) / (n + z²)`` and the error its half-width.
The privacy risk is the attacker's *excess* success on the records that were used to make the released data
over the records of a control population that were not::

    risk = (attack − control) / (1 − control)

with the error propagated to first order, then clipped to [0, 1] (anonymeter's ``residual_success`` and
``bind_value``). Without a control set the risk is the attack rate itself.

How to read it: 0 means the release taught the attacker nothing about the people in it beyond what it teaches
about anyone of the same population (the control); 1 means every attack that could succeed did. The baseline
(a random-guessing attacker) is a sanity check: an attack no better than it cannot be trusted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from reid.result import Z95, Metric

__all__ = ["AttackCounts", "SuccessRate", "attack_metrics", "residual_success", "success_rate"]


@dataclass(frozen=True)
class SuccessRate:
    """Wilson estimate of a success rate: ``value`` is the interval centre, ``error`` its half-width."""

    value: float
    error: float

    @property
    def ci(self) -> tuple[float, float]:
        return (max(0.0, self.value - self.error), min(1.0, self.value + self.error))


def success_rate(n_total: float, n_success: float, z: float = Z95) -> SuccessRate:
    """Wilson score estimate of a Bernoulli success rate (anonymeter ``stats.confidence.success_rate``)."""
    if n_total <= 0:
        return SuccessRate(math.nan, math.nan)
    z2 = z * z
    var = n_success * (n_total - n_success) / n_total
    denom = n_total + z2
    rate = (n_success + 0.5 * z2) / denom
    error = (z / denom) * math.sqrt(max(var, 0.0) + 0.25 * z2)
    return SuccessRate(rate, error)


def residual_success(attack: SuccessRate, control: SuccessRate) -> SuccessRate:
    """(attack − control) / (1 − control), error propagated as sqrt(Σ (∂F/∂x · dx)²). Not clipped."""
    if control.value >= 1.0:
        return SuccessRate(math.nan, math.nan)
    one_minus = 1.0 - control.value
    value = (attack.value - control.value) / one_minus
    d_attack = 1.0 / abs(one_minus)
    d_control = (attack.value - 1.0) / one_minus**2
    error = math.sqrt((attack.error * d_attack) ** 2 + (control.error * d_control) ** 2)
    return SuccessRate(value, error)


def _bound(x: float) -> float:
    return min(max(x, 0.0), 1.0)


@dataclass(frozen=True)
class AttackCounts:
    """Raw outcome of one attack: successes against the targets, the control population and the baseline.

    ``n_control`` may be fractional (singling out rescales it to the size of the original set).
    """

    n_attacks: int
    n_success: float
    n_baseline: float
    n_attacks_baseline: int
    n_control: float | None = None
    n_attacks_control: int | None = None

    def rates(self) -> tuple[SuccessRate, SuccessRate, SuccessRate | None]:
        attack = success_rate(self.n_attacks, self.n_success)
        baseline = success_rate(self.n_attacks_baseline, self.n_baseline)
        control = None
        if self.n_control is not None and self.n_attacks_control:
            control = success_rate(self.n_attacks_control, self.n_control)
        return attack, baseline, control

    def risk(self) -> tuple[float, float, float]:
        """(risk, ci_low, ci_high), bound to [0, 1] as anonymeter reports it."""
        attack, _, control = self.rates()
        res = attack if control is None else residual_success(attack, control)
        if math.isnan(res.value):
            return (math.nan, math.nan, math.nan)
        return (_bound(res.value), _bound(res.value - res.error), _bound(res.value + res.error))


def attack_metrics(check: str, counts: AttackCounts, params: dict[str, Any], seconds: float) -> list[Metric]:
    """The four DESIGN metrics of an anonymeter-style attack: risk, attack_rate, control_rate, baseline_rate.

    ``risk`` follows anonymeter exactly (Wilson centres, propagated error, clipped). The three rates are reported
    as observed proportions (successes / attacks) with their Wilson 95% interval, so a reader can recount them.
    """
    risk, lo, hi = counts.risk()
    n_ctrl = counts.n_attacks_control or 0
    out = [
        Metric(check=check, metric="risk", value=risk, n=counts.n_attacks, ci_low=lo, ci_high=hi,
               params={**params, "control": counts.n_control is not None}, seconds=seconds),
        Metric.proportion(check, "attack_rate", counts.n_success, counts.n_attacks, params=params,
                          seconds=seconds),
        Metric.proportion(check, "baseline_rate", counts.n_baseline, counts.n_attacks_baseline, params=params,
                          seconds=seconds),
    ]
    if counts.n_control is not None and n_ctrl:
        out.append(Metric.proportion(check, "control_rate", counts.n_control, n_ctrl, params=params,
                                     seconds=seconds))
    else:
        out.append(Metric(check=check, metric="control_rate", value=math.nan, n=0, params=params,
                          seconds=seconds))
    return out
