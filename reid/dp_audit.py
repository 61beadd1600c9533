"""``dp_audit``: every differentially private step of a chain held to its own claim.

A step that sets ``Anonymizer.differentially_private`` (built-in or third-party) declares its budget
(``privacy_budget()``: epsilon, delta, the privacy unit column) and exposes its DP core as
``dp_measure(tables, *, noise=True) -> list[DPMeasurement]``, with ``noise=False`` the test hook that switches
the noise off and nothing else. The audit uses nothing else from the step, so it works on any step that
implements the contract. When the step's ``dp_measure`` accepts a keyword ``columns`` the audit passes the
chain step's ``columns`` (``{table: [column, ...]}``), which name what it aggregates or synthesizes.

Neighbouring datasets come from the run's raw data: D is a sample of privacy units (all their rows in every
table that has the unit column, pushed through the chain's earlier steps), D' is D plus one *heavy* unit:

* ``spread``: ``heavy_events`` rows copied from D's units, half of them with every string column the step
  aggregates set to a value no one else has (partitions only the heavy unit holds);
* ``clone``: the rows of one of D's busiest units, repeated up to ``heavy_events`` rows — the clone whose
  noise-off change is largest is the D' of the epsilon test.

Three tests, each reported as a row of ``risk/<chain>/dp_audit.parquet``:

1. **sensitivity** (noise off): for each neighbour and measurement, the cells released in both outputs
   differ by at most the declared ``l1_sensitivity`` in sum, at most ``l0_sensitivity`` cells change or
   appear, and no released cell carries a value only the heavy unit holds. The noise-off output must be a
   function of the data (it is computed twice on D).
2. **black box** (noise on): releases of D and of D'. ``screen_runs`` of each pick the best distinguishing
   event (half of them as a reference for "repeated value" events) and screen: when the event looks
   suspicious at a lenient level, ``runs`` fresh releases of each estimate it, else ``min_runs``. The fresh
   runs give a lower bound on epsilon at confidence 1 - alpha (:mod:`reid.dp_stats`); it fails when above the
   step's claimed epsilon. Catches a fixed noise seed (outputs repeat), numpy's textbook Laplace sampler
   (Mironov 2012), gross noise or budget errors.
3. **noise calibration** (noise on, measurements that declare delta = 0): the noisy values minus the
   noise-off ones must be noise that makes a shift of the whole ``l1_sensitivity`` in one cell cost at most the
   measurement's epsilon (the Laplace mechanism's claim, Dwork & Roth 2014, Thm 3.6): P(N >= -l1/2) <= e^eps
   P(N >= l1/2), one cell per run so samples are independent; screened on the screening runs, tested on fresh
   ones when suspicious. Besides that one-step event, events k = 2, 3 steps apart from the centre
   (:data:`reid.dp_stats.CALIBRATION_EVENTS`, the best picked on the screening runs) see noise scaled down by
   2 in about 200 fresh samples, by 10 in a few dozen. It reads
   the claim as "data-independent additive noise", which clipping or post-processing inside ``dp_measure``
   would break (``values`` are the unrounded noisy measurements).

   **noise scale** (measurements with delta = 0 of a step whose declared ``mechanism`` names Laplace): the
   noise draws of every cell of every noisy release above (at least ``SCALE_DRAWS``) must be as large as Laplace
   noise of scale ``l1_sensitivity / epsilon``: sum |N| against its exact Gamma distribution gives a lower bound
   on the epsilon the noise delivers (:func:`reid.dp_stats.laplace_scale_bound`; noise at half the scale fails
   with power above 0.999 on 200 draws, a correct mechanism with probability ``alpha``).

4. **budget accounting** (noise off, basic composition): each measurement spends at most the share of epsilon
   the step declares for it (``privacy_budget().split``) and the shares add up to at most the claim — an
   accountant that hands every mechanism the whole budget passes test 3 (the noise fits the epsilon it was
   given) and fails here (``budget_ok``);
5. **fresh noise** (:mod:`reid.dp_repeat`): D released once in each of two new processes must give different
   values — noise seeded with a constant is reproducible across processes although it looks random within
   one (``fresh_noise_ok``).

``epsilon_claimed`` reports the declared epsilon itself (a declared value: its interval is the value), so that
``check --baseline`` sees a chain that now spends more.

Each test fails a correct mechanism with probability at most ``alpha`` (default 1e-3: picking the event on
other runs than those that estimate it keeps that exact); a correct mechanism's true distinguishability is far
below its claim, so a false alarm is far rarer still. ``passed`` is 1 only when every test of the step passed;
a step whose audit cannot run (nothing released even from copies of the run's units, an error) has
``passed`` 0 and a ``reason``: an unverified claim never passes.

Cost: two noise-off releases per neighbour and ``2 * (screen_runs + min_runs)`` noisy ones in the usual case,
each a PipelineDP LocalBackend aggregation of D's pre-aggregated rows (about 0.1 s for the 400 accounts of
``configs/ci.yaml``), and two short-lived processes for the fresh-noise test (a few seconds, in parallel).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from anonymizers.base import Anonymizer, DPMeasurement
from anonymizers.chain import Chain, Step
from reid import dp_repeat, dp_stats
from reid.dp_neighbours import MARKER, Neighbours, Tables, chain_of_run, run_neighbours, union
from reid.dp_repeat import fresh_noise
from reid.result import Metric

CHECK = "dp_audit"
MIN_SAMPLES = 10
"""Fewest noisy values the calibration test accepts (below: not measured)."""
MAX_COPIES = 16
"""D grows up to this many copies of the run's units when fewer release nothing."""
SCALE_DRAWS = 200
"""Fewest noise draws the noise-scale test works with (every cell of every release; topped up by fresh releases
when short): noise at half the declared Laplace scale fails with probability above 0.999 at alpha = 1e-3 even
when contribution-bounding samples that differ from the noise-off one add a third to the mean |N|."""
METRICS = ("sensitivity_ok", "epsilon_lower_bound", "passed", "epsilon_claimed", "budget_ok", "fresh_noise_ok")


@dataclass(frozen=True)
class AuditSettings:
    """How hard to look (``attacks.dp_audit`` in a run config; see :class:`reid.params.DpAuditParams`)."""

    accounts: int = 400
    seconds: float = 12.0
    screen_runs: int = 20
    runs: int = 100
    min_runs: int = 20
    candidates: int = 3
    heavy_events: int = 10_000
    alpha: float = 1e-3
    seed: int = 0


def measurements(step: Anonymizer, tables: Mapping[str, pa.Table], columns: Mapping[str, Sequence[str]],
                 noise: bool) -> list[DPMeasurement]:
    """``step.dp_measure``, passing the chain step's ``columns`` when the step accepts them."""
    kw: dict[str, Any] = {"noise": noise}
    params = inspect.signature(step.dp_measure).parameters.values()
    if any(p.name == "columns" or p.kind is p.VAR_KEYWORD for p in params):
        kw["columns"] = {t: list(c) for t, c in columns.items()}
    return list(step.dp_measure(tables, **kw))


def flatten(ms: Sequence[DPMeasurement]) -> dict[tuple, float]:
    """(measurement name, cell) -> value."""
    return {(m.name, tuple(cell)): float(v) for m in ms for cell, v in m.values.items()}


def call_measure(step: Anonymizer, tables: Mapping[str, pa.Table], columns: Mapping[str, Sequence[str]],
                 noise: bool) -> dict[tuple, float]:
    """One release of ``step``, flattened."""
    return flatten(measurements(step, tables, columns, noise))


class NothingReleased(Exception):
    """D is too small: with the noise off the step releases no cell, so there is nothing to audit."""


def _compare(d0: Mapping[tuple, float], d1: Mapping[tuple, float], decl: Mapping[str, DPMeasurement]
             ) -> dict[str, Any]:
    worst: dict[str, Any] = {"l1_ratio": 0.0, "l0_excess": 0, "exclusive_released": 0, "problems": []}
    for name, m in decl.items():
        both = [k for k in d0 if k[0] == name and k in d1]
        l1 = sum(abs(d1[k] - d0[k]) for k in both)
        only = {k for k in d0 if k[0] == name} ^ {k for k in d1 if k[0] == name}
        l0 = sum(1 for k in both if d1[k] != d0[k]) + len(only)
        excl = sum(1 for k in d1 if k[0] == name and any(isinstance(v, str) and v.startswith(MARKER) for v in k[1]))
        ratio = l1 / m.l1_sensitivity if m.l1_sensitivity > 0 else (math.inf if l1 else 0.0)
        worst["l1_ratio"] = max(worst["l1_ratio"], ratio)
        if ratio > 1 + 1e-9:
            worst["problems"].append(f"{name}: L1 change {l1:.6g} > declared {m.l1_sensitivity:.6g}")
        if m.l0_sensitivity is not None and l0 > m.l0_sensitivity:
            worst["l0_excess"] = max(worst["l0_excess"], l0 - m.l0_sensitivity)
            worst["problems"].append(f"{name}: {l0} cells changed > declared L0 {m.l0_sensitivity}")
        if excl:
            worst["exclusive_released"] += excl
            worst["problems"].append(f"{name}: {excl} cells held only by the extra unit released")
    return worst


def budget_problems(budget: Any, decl: Mapping[str, DPMeasurement]) -> list[str]:
    """What the measurements spend against what the step declares (basic composition only): each measurement
    named in ``budget.split`` spends at most its share, and the shares plus the measurements not named add up
    to at most the claimed epsilon (Dwork & Roth 2014, Thm 3.16). A library whose accountant hands every
    mechanism the whole budget passes the per-cell noise test — the noise matches the epsilon it was given —
    and fails here."""
    if str(budget.accounting).lower() != "basic":
        return []
    split = dict(budget.split or {})
    out = [f"{name}: spends epsilon {m.epsilon:.6g} > its declared share {split[name]:.6g}"
           for name, m in sorted(decl.items()) if name in split and m.epsilon > split[name] * (1 + 1e-9)]
    total = sum(split.values()) + sum(m.epsilon for name, m in decl.items() if name not in split)
    total = max(total, sum(m.epsilon for m in decl.values()))
    if total > budget.epsilon * (1 + 1e-9):
        out.append(f"the measurements spend epsilon {total:.6g} > the claimed {budget.epsilon:.6g}")
    return out


def _residuals(runs: Sequence[Mapping[tuple, float]], centers: Mapping[tuple, float], name: str,
               floor: float) -> list[float]:
    """Noisy minus noise-off value of one cell per run (cycling through the cells whose noise-off value is at
    least ``floor``, so that clipping at 0 cannot touch the events tested), so samples are independent (runs
    are; cells of one run may not be)."""
    cells = sorted((k for k in centers if k[0] == name and centers[k] >= floor), key=repr)
    out = []
    for i, y in enumerate(runs):
        present = [k for k in cells if k in y]
        if present:
            k = present[i % len(present)]
            out.append(y[k] - centers[k])
    return out


def _all_residuals(runs: Sequence[Mapping[tuple, float]], centers: Mapping[tuple, float], name: str,
                   floor: float) -> list[float]:
    """Noisy minus noise-off value of every cell of every run whose noise-off value is at least ``floor``. The
    declared Laplace mechanism draws each cell's noise independently (noise shared between cells would give
    the differences of the true values away: no epsilon covers that), so under the claim these draws are
    independent — what the noise-scale test assumes; a mechanism that correlates them fails the claim anyway."""
    cells = sorted((k for k in centers if k[0] == name and centers[k] >= floor), key=repr)
    return [y[k] - centers[k] for y in runs for k in cells if k in y]


def audit_step(step: Anonymizer, columns: Mapping[str, Sequence[str]], nb: Neighbours, settings: AuditSettings,
               label: str = "", on_timed: Callable[[], None] | None = None) -> list[Metric]:
    """The three tests of one DP step on prepared neighbouring datasets; rows for ``dp_audit``.

    ``on_timed`` is called once the release time that sets the number of releases has been measured (the
    fresh-noise processes start there: they share the machine with releases whose count is already fixed)."""
    t_start = time.perf_counter()
    budget = step.privacy_budget()
    ms = measurements(step, nb.base, columns, noise=False)
    decl, f0 = {m.name: m for m in ms}, flatten(ms)
    if not f0:
        raise NothingReleased
    again = call_measure(step, nb.base, columns, noise=False)
    problems = [] if again == f0 else ["noise-off output is not a function of the data (randomness left on)"]
    spread = _compare(f0, call_measure(step, union(nb.base, nb.spread), columns, noise=False), decl)
    checks = [spread]
    best: tuple[float, Tables, dict[tuple, float]] | None = None
    for extra in nb.clones:
        d1 = union(nb.base, extra)
        f1 = call_measure(step, d1, columns, noise=False)
        checks.append(_compare(f0, f1, decl))
        moved = sum(abs(f1[k] - f0[k]) for k in f0 if k in f1)
        if best is None or moved > best[0]:
            best = (moved, d1, f1)
    for c in checks:
        problems.extend(c["problems"])
    common = {"step": label or step.name, "claimed_epsilon": budget.epsilon, "claimed_delta": budget.delta,
              "unit": budget.unit, "units_in_D": nb.units}
    sens_ok = not problems
    spent = budget_problems(budget, decl)
    budget_ok = not spent
    rows = [Metric(CHECK, "budget_ok", float(budget_ok), len(decl), passed=budget_ok, params={
        **common, "mode": "accounting", "split": dict(budget.split or {}), "problems": spent[:5],
        "measurement_epsilons": {n: m.epsilon for n, m in sorted(decl.items())}})]
    rows += [Metric(CHECK, "sensitivity_ok", float(sens_ok), len(checks) + 2, passed=sens_ok, params={
        **common, "mode": "sensitivity", "max_l1_ratio": max(c["l1_ratio"] for c in checks),
        "max_l0_excess": max(c["l0_excess"] for c in checks),
        "exclusive_released": sum(c["exclusive_released"] for c in checks), "problems": problems[:5],
        "cells_released_D": len(f0)})]

    # black box: D against the clone that moves the noise-off output most
    d1_tables, f1 = (best[1], best[2]) if best else (union(nb.base, nb.spread), {})

    def releases(tables: Mapping[str, pa.Table], n: int) -> list[dict[tuple, float]]:
        return [call_measure(step, tables, columns, noise=True) for _ in range(n)]

    # a slow step gets fewer releases (less power, same confidence): ``seconds`` is the budget of the usual
    # noisy releases of one step, timed on the first two
    t_noisy = time.perf_counter()
    first0, first1 = releases(nb.base, 1), releases(d1_tables, 1)
    per_call = (time.perf_counter() - t_noisy) / 2
    if on_timed is not None:
        on_timed()
    usual = 2 * (settings.screen_runs + settings.min_runs) * per_call
    time_scale = min(1.0, settings.seconds / usual) if usual > 0 else 1.0
    screen_runs = max(8, int(settings.screen_runs * time_scale))
    min_runs = max(MIN_SAMPLES, int(settings.min_runs * time_scale))
    fresh_runs = max(min_runs, int(settings.runs * time_scale))
    half = max(2, screen_runs // 2)
    screen0 = first0 + releases(nb.base, 2 * half - 1)
    screen1 = first1 + releases(d1_tables, 2 * half - 1)
    scale = {n: m.l1_sensitivity / m.epsilon for n, m in decl.items() if m.epsilon > 0 and m.l1_sensitivity > 0}
    centers = dp_stats.Centers(f0, f1, scale)
    stats = dp_stats.statistics(centers, screen0[:half], screen1[:half])
    event = dp_stats.best_event(stats, screen0[half:], screen1[half:], budget.delta)
    # the screening runs pick the event and decide how many fresh runs estimate it (never reused)
    suspicious = event is not None and dp_stats.estimate(
        event, stats[event.statistic], screen0[half:], screen1[half:], 0.0, dp_stats.SELECT_ALPHA)[0] > budget.epsilon / 2
    n_est = fresh_runs if suspicious else min_runs
    est0, est1 = releases(nb.base, n_est), releases(d1_tables, n_est)
    lb, hit, other = (dp_stats.estimate(event, stats[event.statistic], est0, est1, budget.delta, settings.alpha)
                      if event is not None else (0.0, 0, 0))
    bb_ok = lb <= budget.epsilon
    rows.append(Metric(CHECK, "epsilon_lower_bound", lb, n_est, ci_low=lb, passed=bb_ok, successes=hit, params={
        **common, "mode": "black_box", "confidence": 1 - settings.alpha, "screening_runs": 2 * half,
        "screening_suspicious": suspicious, "seconds_per_release": round(per_call, 4),
        "runs_scaled_for_time": round(time_scale, 3),
        "event": event.describe() if event else None,
        "event_likelier_under": ("D'" if event.favours_d1 else "D") if event else None,
        "hits_other_side": other, "moved_cells": len(centers.moved)}))

    # noise calibration (pure-DP measurements): screened on the screening runs of D, tested on fresh runs
    # when the screening looks suspicious, else on the screening runs themselves
    cal_ok = True
    picked: tuple[float, int] | None
    for name, m in sorted(decl.items()):
        if m.delta != 0 or m.epsilon <= 0 or m.l1_sensitivity <= 0:
            continue
        floor = m.l1_sensitivity / 2
        l1 = m.l1_sensitivity
        res = _residuals(screen0, f0, name, floor) + _residuals(screen1, f1, name, floor)
        cal_event = dp_stats.best_calibration_event(np.array(res), l1) if res else dp_stats.CALIBRATION_EVENTS[0]
        if len(res) < MIN_SAMPLES or dp_stats.calibration_event(np.array(res), l1, dp_stats.SELECT_ALPHA,
                                                                 *cal_event)[0] > m.epsilon / 2:
            # suspicious (or too few): the event picked on the screening runs, estimated on fresh runs of D and
            # D' alike (noise around each one's own noise-off output)
            fresh = (_residuals(est0, f0, name, floor) + _residuals(est1, f1, name, floor)) if suspicious \
                else (_residuals(releases(nb.base, fresh_runs), f0, name, floor)
                      + _residuals(releases(d1_tables, fresh_runs), f1, name, floor))
            clb, k_top, k_shift = dp_stats.calibration_event(np.array(fresh), l1, settings.alpha, *cal_event)
            res, picked = fresh, cal_event
        else:   # nothing suspicious: every event on the screening runs, Bonferroni over the events
            clb, k_top, k_shift = dp_stats.calibration_bound(np.array(res), l1, settings.alpha)
            picked = None
        if len(res) < MIN_SAMPLES:   # the noisy releases hardly release a cell: not measured, which fails
            clb = math.nan
        ok = clb <= m.epsilon
        cal_ok = cal_ok and ok
        rows.append(Metric(CHECK, "epsilon_lower_bound", clb, len(res), ci_low=clb, passed=ok, successes=k_top,
                           params={**common, "mode": "noise_calibration", "measurement": name,
                                   "claimed_epsilon": m.epsilon, "l1_sensitivity": m.l1_sensitivity,
                                   "confidence": 1 - settings.alpha, "hits_shifted": k_shift,
                                   "event": (f"N >= {picked[0]:g} l1 vs N >= {picked[0] + picked[1]:g} l1"
                                             if picked else "best of the calibration events (Bonferroni)")}))
    # noise scale (pure-DP measurements of a step that declares the Laplace mechanism): every release made above
    # gives one independent noise draw; their mean size against the scale l1 / epsilon implies
    scale_ok = True
    laplace = "laplace" in str(budget.mechanism or "").lower()
    for name, m in sorted(decl.items()):
        if not laplace or m.delta != 0 or m.epsilon <= 0 or m.l1_sensitivity <= 0:
            continue
        floor = m.l1_sensitivity / 2
        pairs = [(screen0, f0), (screen1, f1), (est0, f0), (est1, f1)]
        short = SCALE_DRAWS - sum(len(_all_residuals(runs, center, name, floor)) for runs, center in pairs)
        if short > 0:   # releases cut for time: top up with fresh ones of D (power does not bend to load)
            pairs.append((releases(nb.base, short), f0))
        draws = np.array([r for runs, center in pairs for r in _all_residuals(runs, center, name, floor)])
        slb, mean_abs = dp_stats.laplace_scale_bound(draws, m.l1_sensitivity, settings.alpha)
        if len(draws) < MIN_SAMPLES:
            slb = math.nan
        ok = slb <= m.epsilon
        scale_ok = scale_ok and ok
        rows.append(Metric(CHECK, "epsilon_lower_bound", slb, len(draws), ci_low=slb, passed=ok, params={
            **common, "mode": "noise_scale", "measurement": name, "claimed_epsilon": m.epsilon,
            "l1_sensitivity": m.l1_sensitivity, "confidence": 1 - settings.alpha,
            "mean_abs_noise_per_l1": None if math.isnan(mean_abs) else round(mean_abs, 6),
            "declared_scale_per_l1": round(1 / m.epsilon, 6),
            "event": "sum |N| of one cell per release against Gamma(n, l1 / epsilon) (Laplace declared)"}))
    ok = sens_ok and bb_ok and cal_ok and budget_ok and scale_ok
    rows.append(Metric(CHECK, "passed", float(ok), 2 * half + n_est, passed=ok,
                       params={**common, "seconds_step": round(time.perf_counter() - t_start, 3)}))
    return rows


def not_applicable(reason: str) -> list[Metric]:
    return [Metric(CHECK, m, float("nan"), 0, params={"applicable": False, "reason": reason}) for m in METRICS]


def dp_audit(run: str | Path, chain: str, settings: AuditSettings) -> list[Metric]:
    """``dp_audit`` on every DP step of ``RUN``'s chain (as the manifest recorded it). A step whose audit
    cannot run fails (``passed`` 0 with the reason): an unverified DP claim never passes."""
    run = Path(run)
    the_chain = chain_of_run(run, chain)
    steps = [s for s in the_chain.steps if s.anonymizer.differentially_private]
    if not steps:
        return not_applicable("no step of the chain declares differential privacy")
    rows: list[Metric] = []
    for s in steps:
        rows.append(declared(s))
        try:
            rows.extend(_audit_in_run(run, the_chain, s, settings, chain))
        except (ValueError, KeyError, NotImplementedError, FileNotFoundError) as e:
            reason = f"the audit could not run: {type(e).__name__}: {e}"[:300]
            rows.append(Metric(CHECK, "passed", 0.0, 0, passed=False, params={"step": s.label, "reason": reason}))
    return rows


def declared(s: Step) -> Metric:
    """``epsilon_claimed``: the epsilon the step declares (``privacy_budget()``), as a figure of its own so
    that ``check --baseline`` sees a chain that now spends more (a declared value: no sampling error, its
    interval is the value itself). Read it with the privacy unit and delta in ``params``."""
    b = s.anonymizer.privacy_budget()
    return Metric(CHECK, "epsilon_claimed", float(b.epsilon), 1, ci_low=float(b.epsilon), ci_high=float(b.epsilon),
                  params={"step": s.label, "mode": "declared", "claimed_delta": b.delta, "unit": b.unit,
                          "what": "declared by the step, not measured"})


def _audit_in_run(run: Path, chain: Chain, s: Step, settings: AuditSettings, name: str) -> list[Metric]:
    """One step; D grows (doubling its units, then copying them under new ids) until the step releases
    something with the noise off."""
    unit = s.anonymizer.privacy_budget().unit
    accounts = settings.accounts
    while True:
        nb = run_neighbours(run, chain, s, unit, accounts=accounts, candidates=settings.candidates,
                            heavy_events=settings.heavy_events, seed=settings.seed)
        pending: list[dp_repeat.Pending] = []

        def start_fresh(nb: Neighbours = nb, pending: list[dp_repeat.Pending] = pending) -> None:
            pending.append(dp_repeat.Pending(run, name, s.index, nb.base, s.columns))
        try:
            rows = audit_step(s.anonymizer, s.columns, nb, settings, label=s.label, on_timed=start_fresh)
        except BaseException as e:
            for p in pending:
                p.cancel()
            if not isinstance(e, NothingReleased):
                raise
            if nb.units >= max(MAX_COPIES * nb.population, settings.accounts):
                reason = (f"with the noise off the step releases nothing from {nb.units} units "
                          f"({nb.population} in the run, copied): nothing to audit (not measured)")
                return [Metric(CHECK, "passed", 0.0, 0, passed=False, params={"step": s.label, "reason": reason})]
            accounts *= 2
            continue
        # noise reproducible across processes (a constant seed) looks random within this one: two fresh ones
        common = {"step": s.label, "claimed_epsilon": s.anonymizer.privacy_budget().epsilon, "units_in_D": nb.units}
        fresh = (pending[0].finish(common) if pending
                 else fresh_noise(run, name, s.index, nb.base, s.columns, common))
        if fresh.passed is not True:
            rows = [dataclasses.replace(r, value=0.0, passed=False) if r.metric == "passed" else r for r in rows]
        return [*rows, fresh]
