"""The CI gate: risk and validation results against thresholds, per chain and role.

A *candidate* chain passes when none of its figures breaches a threshold (its privacy contract included: the
count of failed expectations of its validation stage). A *control* chain passes when it is *caught*: for each
check its rule names, at least one figure breaches (see ``anonbench.thresholds``). A control whose catching
check is missing has escaped — an attack that cannot see through ``none`` has lost its teeth.
The raw tables' own validation must hold too (a broken generator is a failed run).

Fail safe: a candidate's check that was expected (the run config's ``attacks.checks``, else the checks its
``attack`` recorded; ``validation`` when the config enables it) but did not run, raised (a row with
``params.error``), ran short (``params.measured = false`` or ``params.ran_short = true``) or gave NaN for a risk or utility figure is *not
measured*, which fails the gate — unless the thresholds switch that check or metric off. A row with
``params.applicable = false`` is *not applicable* (the attack cannot apply to this kind of release): no failure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from anonbench import thresholds as th
from anonbench.report.results import ChainInfo, RunData
from reid import catalog
from runformat import manifest as keys
from runformat.manifest import section

if TYPE_CHECKING:
    from anonbench.report.baseline import BaselineComparison

VALIDATION_CHECK = "validation"
VALIDATION_METRIC = "failed_expectations"
LABEL_PARAMS = ("qi_set", "mode", "table", "column", "p", "period")


@dataclass(frozen=True)
class Outcome:
    """One figure with the threshold it was held to (``passed`` is None when no threshold applies or the
    figure was not measured)."""

    chain: str
    check: str
    metric: str
    params: Mapping[str, Any]
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    threshold: th.Threshold | None = None
    passed: bool | None = None
    successes: int | None = None

    @property
    def error(self) -> str | None:
        """The exception type when the check raised (its row then says so), else None."""
        e = self.params.get("error")
        return str(e) if e else None

    @property
    def measured(self) -> bool:
        """False when the check raised, declared itself short (``measured: false``) or gave NaN."""
        return self.error is None and not short(self.params) and self.value is not None

    @property
    def label(self) -> str:
        """``check.metric[key=value,...]`` with the params that tell rows of one metric apart."""
        extra = ",".join(f"{k}={self.params[k]}" for k in LABEL_PARAMS if k in self.params)
        return f"{self.check}.{self.metric}" + (f"[{extra}]" if extra else "")

    @property
    def applicable(self) -> bool:
        """False when the attack could not apply to this release (e.g. no per-person rows)."""
        return self.params.get("applicable", True) is not False


@dataclass(frozen=True)
class ChainVerdict:
    chain: ChainInfo
    outcomes: tuple[Outcome, ...]
    passed: bool
    caught: bool | None = None  # controls only
    problems: tuple[str, ...] = ()  # one line per breach (candidate) or escape (control)
    accepted: tuple[str, ...] = ()  # breaches of a known-weak candidate that do not gate
    known_weak: str = ""  # the reason, when the thresholds list this candidate as known weak
    not_measured: tuple[str, ...] = ()  # one line per expected check or figure that was not measured

    @property
    def breaches(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.passed is False)


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a run: per chain, the raw validation, and the lines naming each failure."""

    run: str
    chains: tuple[ChainVerdict, ...]
    raw_validation: tuple[int, int]  # (expectations, failed)
    thresholds: th.ThresholdSet = field(repr=False, default_factory=th.defaults)
    targets_digest: str | None = None  # what fixed the attacked targets (see ``baseline.targets_digest``)
    baseline: BaselineComparison | None = None  # set by ``check --baseline``

    @property
    def problems(self) -> tuple[str, ...]:
        raw_total, raw_failed = self.raw_validation
        lines = [f"raw tables: {raw_failed} of {raw_total} expectations failed"] if raw_failed else []
        if not self.chains:
            lines.append(f"run {self.run}: no anonymized chain to judge (anonymize and attack first)")
        for v in self.chains:
            lines.extend(v.problems)
        if self.baseline is not None:
            lines.extend(self.baseline.problems)
        return tuple(lines)

    @property
    def passed(self) -> bool:
        return not self.problems

    def verdict(self, chain: str) -> ChainVerdict:
        for v in self.chains:
            if v.chain.name == chain:
                return v
        raise KeyError(chain)


def short(params: Mapping[str, Any]) -> bool:
    """The row says its figure understates: ``measured: false`` or ``ran_short: true`` (a search that stopped
    before it built every query)."""
    return params.get("measured") is False or params.get("ran_short") is True


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def outcome(ts: th.ThresholdSet, row: Mapping[str, Any]) -> Outcome:
    """One risk row (a dict in the DESIGN risk schema) held to the threshold that applies to it."""
    params = th.params_of(row.get("params"))
    t = ts.for_metric(row["check"], row["metric"], params)
    value, lo, hi = _num(row.get("value")), _num(row.get("ci_low")), _num(row.get("ci_high"))
    figure = {"value": value, "ci_low": lo, "ci_high": hi}[t.on] if t else None
    successes = row.get("successes")
    ok = t.passes(figure) if t else None
    if params.get("error") or (short(params) and ok is not False):
        ok = None  # an understated figure that passes proves nothing; one that already breaches is a breach
    return Outcome(row["chain"], row["check"], row["metric"], params, value, lo, hi, int(row.get("n") or 0),
                   t, ok if t else None, None if successes is None else int(successes))


def _validation_outcome(ts: th.ThresholdSet, chain: str, rows: pl.DataFrame) -> Outcome | None:
    if rows.is_empty():
        return None
    failed = int((~rows["success"].fill_null(False)).sum())
    row = {"chain": chain, "check": VALIDATION_CHECK, "metric": VALIDATION_METRIC, "params": "{}",
           "value": float(failed), "n": rows.height}
    return outcome(ts, row)


def _breach_line(o: Outcome) -> str:
    assert o.threshold is not None
    shown = o.value if o.threshold.on == "value" else {"ci_low": o.ci_low, "ci_high": o.ci_high}[o.threshold.on]
    on = "" if o.threshold.on == "value" else f" ({o.threshold.on})"
    return (f"chain {o.chain}: check {o.check}, metric {o.label.split('.', 1)[1]}{on} = {shown:.4g}, "
            f"threshold {o.threshold.describe()} (n={o.n})")


def expected_checks(data: RunData, chain: str) -> tuple[str, ...]:
    """The checks a chain should have results for: the run config's ``attacks.checks`` (plus ``validation``
    when it is enabled), else those its ``attack`` recorded in the manifest; () when neither is known."""
    cfg = section(data.manifest, keys.CONFIG)
    attacks = cfg.get("attacks")
    checks: list[str] = []
    if isinstance(attacks, Mapping) and isinstance(attacks.get("checks"), list):
        checks = [str(c) for c in attacks["checks"]]
    else:
        recorded = section(section(data.manifest, keys.RISK), chain).get("checks")
        checks = [str(c) for c in recorded] if isinstance(recorded, list) else []
    validation = cfg.get("validation")
    if isinstance(validation, Mapping) and validation.get("enabled", True) is not False:
        checks.append(VALIDATION_CHECK)
    return tuple(checks)


def _gated(o: Outcome, ts: th.ThresholdSet) -> bool:
    """A figure whose NaN means "not measured": a risk or utility metric of the catalog, or one a threshold
    bounds."""
    spec = catalog.metric_spec(o.check, o.metric)
    return o.threshold is not None or (spec is not None and spec.kind != "info")


def not_measured(chain: str, outcomes: list[Outcome], expected: tuple[str, ...], ts: th.ThresholdSet) -> list[str]:
    """One line per expected check (or figure) of a candidate that was not measured and not switched off."""
    lines = []
    by_check: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_check.setdefault(o.check, []).append(o)
    for check in dict.fromkeys([*expected, *by_check]):
        if ts.is_off(check):
            continue
        rows = by_check.get(check, [])
        head = f"chain {chain}: check {check} not measured"
        if not rows:
            lines.append(f"{head}: did not run (switch it off in the thresholds with `{check}: off`)")
            continue
        raised = sorted({o.error for o in rows if o.error})
        if raised:
            lines.append(f"{head}: it raised {', '.join(raised)} (see `anonbench attack --debug`)")
            continue
        ran_short = [o for o in rows if o.applicable and short(o.params) and not ts.is_off(check, o.metric)]
        if ran_short:
            why = ran_short[0].params.get("reason") or "the attack ran short (its figure would understate)"
            lines.append(f"{head}: {ran_short[0].label.split('.', 1)[1]}: {why}")
            continue
        nan = [o for o in rows if o.applicable and o.value is None and _gated(o, ts)
               and not ts.is_off(check, o.metric)]
        if nan:
            labels = ", ".join(o.label.split(".", 1)[1] for o in nan[:3]) + (" …" if len(nan) > 3 else "")
            lines.append(f"{head}: no value (NaN) for {labels}")
    return lines


def unmatched_knowledge(chain: str, outcomes: list[Outcome], ts: th.ThresholdSet) -> list[str]:
    """A threshold restricted to a knowledge set (``where: {knowledge: 1h:action}``) that no row of its check
    carries gates nothing — a misspelt or dropped set: one line each, read as not measured."""
    lines = []
    for key, t in sorted(ts.thresholds.items()):
        if "knowledge" not in t.where or ts.is_off(t.check) or (not key.endswith("*") and ts.is_off(*key.split(".", 1))):
            continue
        sets = sorted({str(o.params["knowledge"]) for o in outcomes if o.check == t.check and "knowledge" in o.params})
        if any(o.check == t.check for o in outcomes) and str(t.where["knowledge"]) not in sets:
            lines.append(f"chain {chain}: check {t.check} not measured: threshold {key} names knowledge set "
                         f"{t.where['knowledge']}, which the attacks did not use (sets: {', '.join(sets) or 'none'})")
    return lines


def judge_chain(info: ChainInfo, outcomes: list[Outcome], ts: th.ThresholdSet,
                expected: tuple[str, ...] = ()) -> ChainVerdict:
    """Candidate: pass iff nothing breaches and every expected check was measured. Control: pass iff caught by
    every check its rule names."""
    breaches = [o for o in outcomes if o.passed is False]
    if not info.is_control:
        weak = info.name in ts.known_weak
        problems = [_breach_line(o) for o in breaches if not weak or o.check in th.HARD_CHECKS]
        accepted = [_breach_line(o) for o in breaches if weak and o.check not in th.HARD_CHECKS]
        if not outcomes:
            problems.append(f"chain {info.name}: no risk results (was it attacked?)")
            missing: list[str] = []
        else:
            missing = not_measured(info.name, outcomes, expected, ts) + unmatched_knowledge(info.name, outcomes, ts)
        return ChainVerdict(info, tuple(outcomes), not problems and not missing, None,
                            tuple(problems + missing), tuple(accepted), ts.known_weak.get(info.name, ""),
                            tuple(missing))
    rule = ts.control_rule(info.name)
    ran = {o.check for o in outcomes if o.error is None}
    breached = {o.check for o in breaches}
    catching = [c for c in rule.caught_by if not ts.is_off(c)]  # a check switched off cannot catch anything
    if catching:
        missing = [c for c in catching if c not in breached]
        problems = [f"control chain {info.name} escaped: check {c} "
                    f"{'did not run' if c not in ran else 'found no breach'} ({rule.reason})" for c in missing]
    else:
        problems = [] if breaches else [f"control chain {info.name} escaped: no figure breached a threshold "
                                        f"({rule.reason})"]
    return ChainVerdict(info, tuple(outcomes), not problems, not problems, tuple(problems))


def evaluate(data: RunData, ts: th.ThresholdSet | None = None) -> CheckResult:
    """Hold every figure of ``data`` to ``ts`` (the defaults when None) and judge each chain."""
    ts = ts or th.defaults()
    verdicts = []
    for info in data.chains:
        if not info.is_control and info.name in ts.controls:
            # A thresholds document may demote a known-weak candidate to a control: the attacks must catch it.
            info = replace(info, role="control", description=(info.description + " [judged as a control by "
                                                               "the thresholds' controls section]").strip())
        rows = data.risk_of(info.name).sort("check", "metric", "params").to_dicts()
        outcomes = [outcome(ts, r) for r in rows]
        v = _validation_outcome(ts, info.name, data.validation_of(info.name))
        if v is not None:
            outcomes.append(v)
        verdicts.append(judge_chain(info, outcomes, ts, expected_checks(data, info.name)))
    raw = data.validation_of(None)
    raw_failed = int((~raw["success"].fill_null(False)).sum()) if raw.height else 0
    from anonbench.report.baseline import targets_digest

    return CheckResult(data.name, tuple(verdicts), (raw.height, raw_failed), ts, targets_digest(data.manifest))
