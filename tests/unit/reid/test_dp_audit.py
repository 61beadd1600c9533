"""dp_audit: dp.aggregate (the dp-aggregates chain's step) passes; its broken variants each fail.

The data are small hand-made events (230 accounts in 2 products, so both partitions pass PipelineDP's partition
selection); the step's parameters are those of ``configs/chains/dp-aggregates.yaml``. A correct mechanism
fails a test with probability at most alpha (1e-3) by construction, far less in practice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dp_mutants import FixedSeed, NoBounding, NoiseHalf, NoiseTenth, NumpyLaplace, RawCountSelection

from anonbench import thresholds as th
from anonymizers.chain import resolve_chain
from anonymizers.dp_aggregate import DpAggregate
from reid import dp_stats
from reid.dp_audit import AuditSettings, audit_step, dp_audit
from reid.dp_neighbours import Neighbours, busiest, clone_rows, spread_rows
from reid.harness import CHECKS
from reid.params import CHECKS as PARAM_CHECKS
from reid.params import AttackParams

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
TS = pa.timestamp("us", tz="UTC")
COLUMNS = {"events": ["product"]}
SETTINGS = AuditSettings(seconds=1e6)   # the default numbers of releases whatever the machine's speed


def events(n_accounts: int = 230, products: int = 2, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    acc, times, prod = [], [], []
    for i in range(n_accounts):
        for p in range(products):
            for _ in range(int(rng.integers(1, 4))):
                acc.append(f"acct-{i:05d}")
                prod.append(["jira", "confluence", "bitbucket"][p])
                times.append(START + dt.timedelta(hours=int(rng.integers(0, 160))))
    return pa.table({"account_id": acc, "event_time": pa.array(times, TS), "product": prod})


@pytest.fixture(scope="module")
def step() -> DpAggregate:
    chain = resolve_chain("dp-aggregates", ephemeral_secrets={"env:ANONBENCH_KEY": b"k" * 32})
    (dp,) = [s for s in chain.steps if s.anonymizer.differentially_private]
    assert dict(dp.columns) == {"events": ("product",)}
    assert isinstance(dp.anonymizer, DpAggregate)
    return dp.anonymizer


@pytest.fixture(scope="module")
def nb() -> Neighbours:
    base = {"events": events()}
    rng = np.random.default_rng(1)
    clones = [clone_rows(base, "account_id", u, COLUMNS, 10_000) for u in busiest(base, "account_id", COLUMNS, 2)]
    return Neighbours(base, spread_rows(base, "account_id", COLUMNS, 10_000, rng), clones, 230, 230)


def by_mode(rows: list) -> dict[str, object]:
    return {r.params.get("mode", r.metric): r for r in rows}


def test_dp_aggregate_declares_its_contract(step: DpAggregate) -> None:
    b = step.privacy_budget()
    assert step.differentially_private and b.unit == "account_id" and b.accounting == "basic"
    assert math.isclose(sum(b.split.values()), b.epsilon)
    assert step.budget() == b.as_dict()
    (m,) = step.dp_measure({"events": events()}, noise=False, columns=COLUMNS)
    # the measurement's share is what PipelineDP's accountant actually gave the SUM
    assert m.epsilon == b.split["sum"] and m.delta == 0
    assert m.l1_sensitivity == 8 * 100 and m.l0_sensitivity == 8


def test_noise_off_is_exact_bounded_and_deterministic(step: DpAggregate) -> None:
    t = events()
    (m,) = step.dp_measure({"events": t}, noise=False, columns=COLUMNS)
    counts: dict[str, int] = {}
    for p in t.column("product").to_pylist():
        counts[p] = counts.get(p, 0) + 1
    week = int(START.timestamp() * 1_000_000)
    assert m.values == {(week, "jira"): counts["jira"], (week, "confluence"): counts["confluence"]}
    assert step.dp_measure({"events": t}, noise=False, columns=COLUMNS)[0].values == m.values
    heavy = pa.table({"account_id": ["solo"] * 500, "event_time": pa.array([START] * 500, TS),
                      "product": ["jira"] * 250 + ["opsgenie"] * 250})
    (m2,) = step.dp_measure({"events": pa.concat_tables([t, heavy])}, noise=False, columns=COLUMNS)
    assert m2.values[(week, "jira")] == counts["jira"] + 100          # clamped to Linf
    assert (week, "opsgenie") not in m2.values                       # one account: never released


def test_unmutated_dp_aggregate_passes(step: DpAggregate, nb: Neighbours) -> None:
    rows = audit_step(step, COLUMNS, nb, SETTINGS)
    modes = by_mode(rows)
    assert set(modes) == {"sensitivity", "black_box", "noise_calibration", "noise_scale", "passed", "accounting"}
    assert all(r.passed for r in rows), [(r.metric, r.value, r.params) for r in rows]
    assert modes["noise_scale"].n >= 200   # every cell of every release made gives one draw
    assert modes["noise_scale"].params["mean_abs_noise_per_l1"] == pytest.approx(
        modes["noise_scale"].params["declared_scale_per_l1"], rel=0.25)
    assert modes["sensitivity"].params["max_l1_ratio"] == pytest.approx(0.25)   # 2 cells x Linf of 800
    assert modes["black_box"].n >= 10 and modes["noise_calibration"].n >= 10


@pytest.mark.parametrize("mutant", [NoBounding, RawCountSelection])
def test_bounding_and_selection_mutants_fail_sensitivity(step: DpAggregate, nb: Neighbours, mutant: type) -> None:
    rows = audit_step(mutant(step.params), COLUMNS, nb, AuditSettings(screen_runs=6, runs=10, min_runs=4))
    modes = by_mode(rows)
    assert modes["sensitivity"].passed is False and modes["passed"].value == 0.0
    problems = " ".join(modes["sensitivity"].params["problems"])
    assert ("L1 change" in problems) if mutant is NoBounding else ("held only by the extra unit" in problems)


def test_noise_times_tenth_fails_calibration(step: DpAggregate, nb: Neighbours) -> None:
    modes = by_mode(audit_step(NoiseTenth(step.params), COLUMNS, nb, SETTINGS))
    assert modes["sensitivity"].passed is True
    assert modes["noise_calibration"].passed is False and modes["noise_calibration"].value > 0.5
    assert modes["passed"].value == 0.0


def test_noise_times_half_fails_the_noise_scale_test(step: DpAggregate, nb: Neighbours) -> None:
    modes = by_mode(audit_step(NoiseHalf(step.params), COLUMNS, nb, SETTINGS))
    scale = modes["noise_scale"]
    assert scale.passed is False and scale.value > scale.params["claimed_epsilon"], scale.params
    assert modes["passed"].value == 0.0


def test_laplace_scale_bound_is_exact_and_sees_half_the_noise() -> None:
    rng = np.random.default_rng(7)
    l1, eps, n, trials = 800.0, 0.5, 80, 4000
    honest = rng.laplace(0.0, l1 / eps, (trials, n))
    # alpha = 0.05 so that the false-alarm rate is measurable: exact, so about 5% of honest samples fail
    rate = np.mean([dp_stats.laplace_scale_bound(r, l1, 0.05)[0] > eps for r in honest])
    assert 0.04 < rate < 0.06
    # at the audit's alpha, noise at half the scale fails (almost) always, honest noise (almost) never
    assert np.mean([dp_stats.laplace_scale_bound(0.5 * r, l1, 1e-3)[0] > eps for r in honest[:500]]) > 0.99
    assert np.mean([dp_stats.laplace_scale_bound(r, l1, 1e-3)[0] > eps for r in honest[:500]]) < 0.01
    assert math.isnan(dp_stats.laplace_scale_bound(np.array([]), l1, 1e-3)[0])


@pytest.mark.parametrize("mutant", [FixedSeed, NumpyLaplace])
def test_numpy_noise_fails_black_box(step: DpAggregate, nb: Neighbours, mutant: type) -> None:
    modes = by_mode(audit_step(mutant(step.params), COLUMNS, nb, SETTINGS))
    bb = modes["black_box"]
    assert bb.passed is False and bb.value > bb.params["claimed_epsilon"], bb.params
    assert modes["passed"].value == 0.0


def test_a_measurement_spending_more_than_its_declared_share_fails_accounting(step: DpAggregate,
                                                                               nb: Neighbours) -> None:
    class Overspends(DpAggregate):
        def privacy_budget(self):  # declares a quarter for the sum, which spends half
            b = super().privacy_budget()
            return dataclasses.replace(b, split={"sum": b.epsilon / 4, "partition_selection": b.epsilon / 2})

    modes = by_mode(audit_step(Overspends(step.params), COLUMNS, nb, AuditSettings(screen_runs=6, runs=10,
                                                                                    min_runs=4)))
    assert modes["accounting"].passed is False and "declared share" in modes["accounting"].params["problems"][0]
    assert modes["passed"].value == 0.0


def test_mironov_reachability() -> None:
    rng = np.random.default_rng(3)
    ys = 12_345.0 + rng.laplace(0.0, 1600.0, 200)
    assert all(dp_stats.numpy_reachable(float(y), 12_345.0, 1600.0) is True for y in ys)
    # Mironov: some outputs cannot come from a center 100 away (few here: counts of this size are coarse)
    far = [dp_stats.numpy_reachable(float(y), 12_445.0, 1600.0) for y in ys]
    assert sum(1 for r in far if r is False) >= 5
    small = 345.0 + rng.laplace(0.0, 1600.0, 200)
    assert sum(1 for y in small if dp_stats.numpy_reachable(float(y), 445.0, 1600.0) is False) > 50



def test_clopper_pearson_bound_is_conservative() -> None:
    assert dp_stats.eps_lower_bound(50, 100, 50, 100, 0.0, 1e-3) == 0.0
    assert dp_stats.eps_lower_bound(100, 100, 0, 100, 0.0, 1e-3) > 2.0


def _fake_run(tmp: Path, steps: list[dict], accounts: int = 230) -> Path:
    (tmp / "raw" / "events").mkdir(parents=True)
    pq.write_table(events(accounts), tmp / "raw" / "events" / "part-00000.parquet")
    manifest = {"chains": {"c": {"name": "c", "role": "candidate", "steps": steps}}}
    (tmp / "manifest.json").write_text(json.dumps(manifest))
    return tmp


def test_audit_from_a_run_directory_uses_its_own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANONBENCH_KEY", raising=False)
    run = _fake_run(tmp_path, [
        {"use": "pseudonymize.hmac", "columns": {"events": ["account_id"]}, "with": {"key": "env:ANONBENCH_KEY"}},
        {"use": "dp.aggregate", "columns": {"events": ["product"]},
         "with": {"epsilon": 1.0, "period": "week", "max_partitions_contributed": 8,
                  "max_contributions_per_partition": 100}}], accounts=120)
    rows = dp_audit(run, "c", AuditSettings(accounts=50, screen_runs=6, runs=10, min_runs=4))
    modes = by_mode(rows)
    assert modes["passed"].value == 1.0, [r.params for r in rows]
    fresh = next(r for r in rows if r.metric == "fresh_noise_ok")
    assert fresh.value == 1.0 and fresh.n >= 1 and fresh.params["noise_repeated"] == 0
    claimed = next(r for r in rows if r.metric == "epsilon_claimed")
    assert claimed.value == claimed.ci_low == claimed.ci_high == 1.0
    # 120 accounts release nothing (a partition needs ~200): D grew with copies of them under new ids
    assert modes["sensitivity"].params["units_in_D"] > 120
    assert modes["sensitivity"].params["cells_released_D"] == 2


def test_chain_without_dp_step_is_not_applicable(tmp_path: Path) -> None:
    run = _fake_run(tmp_path, [{"use": "drop", "columns": {"events": ["product"]}, "with": {}}])
    rows = dp_audit(run, "c", AuditSettings())
    assert {r.metric for r in rows} == {"sensitivity_ok", "epsilon_lower_bound", "passed", "epsilon_claimed",
                                        "budget_ok", "fresh_noise_ok"}
    assert all(r.params["applicable"] is False and r.n == 0 for r in rows)


def test_registered_with_a_default_threshold() -> None:
    assert "dp_audit" in CHECKS and "dp_audit" in PARAM_CHECKS
    assert "dp_audit" in AttackParams.model_validate({}).checks
    t = th.defaults().for_metric("dp_audit", "passed", {})
    assert t is not None and t.passes(0.0) is False and t.passes(1.0) is True
    assert "dp_audit" in th.HARD_CHECKS


def test_noise_seeded_once_per_process_fails_the_fresh_noise_test(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy noise with a constant seed looks random within a process; two new processes draw the same."""
    import os

    from benchmarks.mutants.apply import REPO, materialize
    from benchmarks.mutants.corpus import by_name
    from reid.dp_neighbours import chain_of_run
    from reid.dp_repeat import fresh_noise

    run = _fake_run(tmp_path / "run", [{"use": "dp.aggregate", "columns": {"events": ["product"]},
                                        "with": {"epsilon": 1.0, "period": "week", "max_partitions_contributed": 8,
                                                 "max_contributions_per_partition": 100}}])
    (dp,) = chain_of_run(run, "c").steps
    tables = {"events": events()}
    assert fresh_noise(run, "c", dp.index, tables, dp.columns, {}).passed is True
    site = materialize(by_name(["dp-fixed-seed"])[0], tmp_path / "mutant").env["PYTHONPATH"]
    monkeypatch.setenv("PYTHONPATH", site + os.pathsep + os.environ.get("PYTHONPATH", str(REPO)))
    seeded = fresh_noise(run, "c", dp.index, tables, dp.columns, {})
    assert seeded.passed is False and seeded.value == 0.0 and seeded.params["noise_repeated"] == seeded.n > 0
