"""A local regression test of one ``summary.json`` against a baseline one — the stand-in for
``anonbench check --baseline`` while main does not have it (the runner prefers the real gate when
``anonbench check --help`` mentions ``--baseline``).

Cells are (chain, check, metric, identifying params); only *risk* cells are compared, in the direction that
makes them worse (a share of re-identified targets going up, ``k`` going down). A cell regressed when

* it is material: worse by more than ``margin`` (0.02 absolute for figures in [0, 1], 2% relative for counts
  and class sizes), and
* it is significant after Holm's correction across every compared cell (alpha 0.05), one-sided:
  a two-proportion score test on (value, n) for sampled shares, a z test on the reported 95% intervals where a
  figure has one but is not a plain share (anonymeter's risk), and p = 0 for figures computed on the whole
  release without sampling (``k``, class counts, leaked values: the same data gives the same figure).

A cell measured in the baseline and not in the mutant (missing, NaN, or "not applicable" where it applied) is
a regression too: a figure that was not measured fails, it never passes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IDENTIFYING = ("qi_set", "mode", "table", "column", "p", "period", "domain", "attack", "step", "measurement")
HIGHER_IS_WORSE = {
    "unicity": {"unique_share", "reidentified_share"},
    "profile_linkage": {"top1_accuracy", "top10_accuracy"},
    "singling_out": {"risk"}, "linkability": {"risk"}, "inference": {"risk"},
    "dictionary": {"reversed_share"},
    "leak_scan": {"leaked_values", "leaked_values_in_column"},
    "cross_tenant": {"linked_share", "linked_share_behaviour", "linked_share_identifier"},
    "quasi_identifiers": {"unique_share", "prosecutor_risk_max", "prosecutor_risk_avg", "class_risk_avg",
                          "equivalence_classes", "t_closeness"},
    "membership": {"risk", "advantage"},
    "dp_audit": {"epsilon_lower_bound", "epsilon_claimed"},
    "passthrough": {"exact_share", "shared_offset"},
    "validation": {"failed_expectations"},
}
LOWER_IS_WORSE = {
    "quasi_identifiers": {"k", "l_distinct", "l_entropy"},
    "dp_audit": {"sensitivity_ok", "passed", "budget_ok", "fresh_noise_ok"},
}
SAMPLED_SHARES = {("unicity", "unique_share"), ("unicity", "reidentified_share"),
                  ("profile_linkage", "top1_accuracy"), ("profile_linkage", "top10_accuracy"),
                  ("cross_tenant", "linked_share"), ("cross_tenant", "linked_share_behaviour"),
                  ("cross_tenant", "linked_share_identifier"), ("dictionary", "reversed_share"),
                  ("passthrough", "exact_share"), ("passthrough", "shared_offset")}
MARGIN = 0.02
ALPHA = 0.05
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Cell:
    chain: str
    check: str
    metric: str
    key: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    applicable: bool

    @property
    def label(self) -> str:
        return f"{self.chain}: {self.check}.{self.metric}{self.key}"


@dataclass(frozen=True)
class Regression:
    label: str
    baseline: float | None
    mutant: float | None
    p_value: float
    reason: str

    def describe(self) -> str:
        def f(x: float | None) -> str:
            return "not measured" if x is None else f"{x:.4g}"
        return f"{self.label}: {f(self.baseline)} -> {f(self.mutant)} ({self.reason}, p={self.p_value:.2g})"


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def direction(check: str, metric: str) -> int:
    """+1 when a higher figure is worse, -1 when a lower one is, 0 for figures that are not risk."""
    if metric in HIGHER_IS_WORSE.get(check, ()):
        return 1
    if metric in LOWER_IS_WORSE.get(check, ()):
        return -1
    return 0


def cells(summary: Mapping[str, Any], chains: Iterable[str] | None = None) -> dict[tuple, Cell]:
    """The risk cells of a ``summary.json`` document, keyed by (chain, check, metric, params, occurrence)."""
    wanted = set(chains) if chains is not None else None
    out: dict[tuple, Cell] = {}
    for chain, section in (summary.get("chains") or {}).items():
        if wanted is not None and chain not in wanted:
            continue
        seen: dict[tuple, int] = {}
        for row in section.get("checks", []):
            check, metric = str(row.get("check")), str(row.get("metric"))
            if not direction(check, metric):
                continue
            params = row.get("params") or {}
            ident = {k: params[k] for k in IDENTIFYING if k in params}
            key = json.dumps(ident, sort_keys=True, default=str) if ident else ""
            base = (chain, check, metric, key)
            i = seen.get(base, 0)
            seen[base] = i + 1
            out[(*base, i)] = Cell(chain, check, metric, key + (f"#{i}" if i else ""), _num(row.get("value")),
                                   _num(row.get("ci_low")), _num(row.get("ci_high")), int(row.get("n") or 0),
                                   params.get("applicable", True) is not False)
    return out


def _norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def p_worse(base: Cell, mut: Cell, sign: int) -> float:
    """One-sided p-value that the mutant's figure is worse than the baseline's."""
    assert base.value is not None and mut.value is not None
    diff = sign * (mut.value - base.value)
    if (base.check, base.metric) in SAMPLED_SHARES and base.n > 0 and mut.n > 0:
        x1, x2 = base.value * base.n, mut.value * mut.n
        pooled = (x1 + x2) / (base.n + mut.n)
        se = math.sqrt(max(pooled * (1 - pooled), 0.0) * (1 / base.n + 1 / mut.n))
        return _norm_sf(diff / se) if se > 0 else (0.0 if diff > 0 else 1.0)
    spans = [c for c in (base, mut) if c.ci_low is not None and c.ci_high is not None]
    if len(spans) == 2:
        se = math.sqrt(sum(((c.ci_high or 0.0) - (c.ci_low or 0.0)) ** 2 for c in spans)) / (2 * Z95)
        return _norm_sf(diff / se) if se > 0 else (0.0 if diff > 0 else 1.0)
    return 0.0 if diff > 0 else 1.0  # a whole-release figure: no sampling error


def material(base: Cell, mut: Cell, sign: int, margin: float = MARGIN) -> bool:
    assert base.value is not None and mut.value is not None
    diff = sign * (mut.value - base.value)
    share = 0.0 <= base.value <= 1.0 and 0.0 <= mut.value <= 1.0 and base.metric not in ("k", "l_distinct")
    return diff > (margin if share else margin * max(abs(base.value), 1.0))


def holm(pvalues: list[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down: which hypotheses are rejected at family-wise level ``alpha``."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    rejected = [False] * len(pvalues)
    m = len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def regressions(baseline: Mapping[str, Any], mutant: Mapping[str, Any], chains: Iterable[str],
                margin: float = MARGIN, alpha: float = ALPHA) -> list[Regression]:
    """Cells of ``chains`` that got worse in ``mutant`` than in ``baseline`` (see the module docstring)."""
    chains = list(chains)
    base, mut = cells(baseline, chains), cells(mutant, chains)
    out: list[Regression] = []
    unmeasured: list[Regression] = []
    tested: list[tuple[Cell, Cell, float]] = []
    for key, b in sorted(base.items()):
        if b.value is None or not b.applicable:
            continue
        m = mut.get(key)
        if m is None or m.value is None or not m.applicable:
            unmeasured.append(Regression(b.label, b.value, None, 0.0, "measured in the baseline, not measured now"))
            continue
        sign = direction(b.check, b.metric)
        p = p_worse(b, m, sign) if material(b, m, sign, margin) else 1.0
        tested.append((b, m, p))
    for (b, m, p), rejected in zip(tested, holm([t[2] for t in tested], alpha), strict=True):
        if rejected:
            out.append(Regression(b.label, b.value, m.value, p, "worse beyond the margin, significant after Holm"))
    return out + unmeasured


def largest_changes(baseline: Mapping[str, Any], mutant: Mapping[str, Any], chains: Iterable[str],
                    top: int = 3) -> list[str]:
    """The risk cells of ``chains`` that moved most in the worse direction (for a survivor's reason)."""
    chains = list(chains)
    base, mut = cells(baseline, chains), cells(mutant, chains)
    moved = []
    for key, b in base.items():
        m = mut.get(key)
        if b.value is None or m is None or m.value is None:
            continue
        worse = direction(b.check, b.metric) * (m.value - b.value)
        if worse > 1e-9 * max(abs(b.value), 1.0):  # not a rounding difference
            moved.append((worse / max(abs(b.value), 1.0), f"{b.label} {b.value:.4g} -> {m.value:.4g}"))
    return [text for _, text in sorted(moved, reverse=True)[:top]]


def load_summary(path: str | Path) -> dict[str, Any]:
    """A ``summary.json``, or the one of a run directory (``RUN/report/summary.json``)."""
    p = Path(path)
    if p.is_dir():
        p = p / "report" / "summary.json"
    return json.loads(p.read_text())
