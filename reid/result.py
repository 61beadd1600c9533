"""Risk results: one row per metric, in the schema fixed by DESIGN.md.

A figure is never a bare number: every ``Metric`` carries ``n`` (targets, attacks or records) and, where the
figure is a proportion estimated from a sample, a 95% Wilson score interval.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

RISK_SCHEMA = pa.schema([
    pa.field("check", pa.string(), nullable=False),
    pa.field("chain", pa.string(), nullable=False),
    pa.field("metric", pa.string(), nullable=False),
    pa.field("params", pa.string(), nullable=False),
    pa.field("value", pa.float64()),
    pa.field("ci_low", pa.float64()),
    pa.field("ci_high", pa.float64()),
    pa.field("n", pa.int64(), nullable=False),
    pa.field("threshold", pa.float64()),
    pa.field("passed", pa.bool_()),
    pa.field("seconds", pa.float64()),
    pa.field("successes", pa.int64()),
])

Z95 = 1.959963984540054


def wilson_interval(successes: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927), as anonymeter uses.

    Returns (nan, nan) for n == 0. Well behaved at 0 and 1, unlike the normal approximation.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Metric:
    """One risk or utility figure. ``params`` must never hold raw values or secrets."""

    check: str
    metric: str
    value: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    passed: bool | None = None
    seconds: float | None = None
    successes: int | None = None
    """For a proportion: the count behind ``value`` (``successes / n``), so comparisons are exact."""

    @classmethod
    def proportion(cls, check: str, metric: str, successes: float, n: int, **kw: Any) -> Metric:
        """A proportion with its Wilson 95% interval."""
        lo, hi = wilson_interval(successes, n)
        value = successes / n if n else math.nan
        kw.setdefault("successes", round(float(successes)))
        return cls(check=check, metric=metric, value=value, n=int(n), ci_low=lo, ci_high=hi, **kw)


def _nan_to_none(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def to_table(metrics: list[Metric], chain: str) -> pa.Table:
    """Metrics as an Arrow table in ``RISK_SCHEMA``."""
    rows = []
    for m in metrics:
        d = asdict(m)
        d["chain"] = chain
        d["params"] = json.dumps(m.params, sort_keys=True, default=str)
        d["value"] = _nan_to_none(m.value)
        d["ci_low"] = _nan_to_none(m.ci_low)
        d["ci_high"] = _nan_to_none(m.ci_high)
        rows.append(d)
    return pa.Table.from_pylist(rows, schema=RISK_SCHEMA)
