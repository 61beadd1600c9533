"""Every Beam stage on a dask.distributed cluster: generate -> anonymize (every chain of configs/ci.yaml) ->
validate on the DaskRunner with a 2-worker LocalCluster, against the same stages on the in-process runner.

Deterministic steps give the same bytes (manifest sha256); the differentially private chains release the same
schema and non-empty tables: dp-aggregates every partition whose selection is certain and counts within its
noise, dp-synthetic its three tables with row counts within the spread of independent releases of the same
data (neither may silently release nothing, as dp-aggregates did before ``pipelines.options.converge`` and
dp-synthetic failed before ``pipelines.handoff``); validation results are equal but for their timings; both
workers of the cluster do a share of the work.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, run_cli, write_config

pytestmark = [pytest.mark.pipeline, pytest.mark.slow]

KEY = {"ANONBENCH_KEY": "dask-test-key-0123456789abcdef0123456789"}
SYNTH = ("orgs", "users", "events")


class Runs(NamedTuple):
    local: Path
    dask: Path
    chains: tuple[str, ...]
    busy: dict[str, float]  # seconds of task compute per Dask worker, over the Dask stages


def _ci_chains() -> tuple[str, ...]:
    import yaml

    return tuple(yaml.safe_load((REPO / "configs" / "ci.yaml").read_text())["chains"])


def _files(run: Path) -> dict[str, str]:
    man = json.loads((run / "manifest.json").read_text())
    return {f["path"]: f["sha256"] for f in man["files"]}


def _stages(run: Path, chains: tuple[str, ...], *runner: str) -> None:
    for chain in chains:
        r = run_cli("anonymize", "--run", str(run), "--chain", chain, *runner, env=KEY)
        assert r.returncode == 0, f"{chain}: {r.stderr[-2000:]}"
    r = run_cli("validate", "--run", str(run), *runner, env=KEY)
    assert r.returncode in (0, 1), r.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    distributed = pytest.importorskip("distributed")
    chains = _ci_chains()
    assert "dp-synthetic" in chains and "dp-aggregates" in chains
    base = tmp_path_factory.mktemp("dask")
    # The ci population (200k events): large enough that dp-aggregates releases partitions.
    cfg = write_config(base / "c.yaml", events=200_000, seed=20261127, chunk=50_000)
    local, dask = base / "local", base / "dask"
    r = run_cli("generate", "--config", str(cfg), "--out", str(local))
    assert r.returncode == 0, r.stderr
    _stages(local, chains)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        assert len(client.scheduler_info()["workers"]) == 2
        on_dask = ("--runner", "DaskRunner", "--", f"--dask_client_address={cluster.scheduler_address}")
        r = run_cli("generate", "--config", str(cfg), "--out", str(dask), *on_dask)
        assert r.returncode == 0, r.stderr
        _stages(dask, chains, *on_dask)
    busy: Counter[str] = Counter()
    for task in stream.data:  # every task the scheduler ran, whichever client submitted it
        busy[task["worker"]] += sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
    return Runs(local, dask, chains, dict(busy))


def _nondeterministic(run: Path, chains: tuple[str, ...]) -> list[str]:
    man = json.loads((run / "manifest.json").read_text())
    return [c for c in chains if not all(s["flags"]["deterministic"] for s in man["chains"][c]["steps"])]


def test_both_workers_do_work(runs: Runs) -> None:
    # Beam 2.77's default put all of a small run's shards into one Dask partition: one worker did everything
    print("compute seconds per worker:", {w: round(s, 1) for w, s in runs.busy.items()})
    assert len(runs.busy) == 2, runs.busy
    total = sum(runs.busy.values())
    assert total > 0 and min(runs.busy.values()) >= 0.1 * total, runs.busy


def test_deterministic_outputs_are_byte_identical(runs: Runs) -> None:
    local, dask, chains, _ = runs
    a, b = _files(local), _files(dask)
    nondeterministic = _nondeterministic(local, chains)
    assert {"dp-aggregates", "dp-synthetic"} <= set(nondeterministic)
    compared = [p for p in a if p.startswith(("raw/", "truth/"))
                or any(p.startswith(f"anon/{c}/") for c in chains if c not in nondeterministic)]
    assert len(compared) > 50
    assert {p: b.get(p) for p in compared} == {p: a[p] for p in compared}
    # the same tables exist on both runners, DP releases included (a synthetic release may number its shards
    # differently: their count follows the noisy population), each with the same schema and not empty
    def tables(files: dict[str, str]) -> set[str]:
        return {p.rsplit("/", 1)[0] if p.startswith("anon/dp-synthetic/") else p for p in files
                if p.startswith("anon/")}
    assert tables(a) == tables(b)
    for c in nondeterministic:
        for folder in {Path(p).parent for p in a if p.startswith(f"anon/{c}/") and p.endswith(".parquet")}:
            parts = [pq.ParquetFile(f) for run in (local, dask) for f in sorted((run / folder).glob("*.parquet"))]
            assert all(f.schema_arrow == parts[0].schema_arrow for f in parts), folder
            for run in (local, dask):
                assert sum(pq.ParquetFile(f).metadata.num_rows for f in (run / folder).glob("*.parquet")) > 0, \
                    (run.name, folder)


def test_dp_release_is_non_empty_and_within_its_noise(runs: Runs) -> None:
    local, dask, _, _ = runs
    path = Path("anon/dp-aggregates/event_counts/part-00000.parquet")
    ta, tb = pq.read_table(local / path), pq.read_table(dask / path)
    assert ta.schema == tb.schema
    assert tb.num_rows > 0 and ta.num_rows > 0
    man = json.loads((local / "manifest.json").read_text())
    step = next(s for s in man["chains"]["dp-aggregates"]["steps"] if s["use"] == "dp.aggregate")
    w = step["with"]
    l0, linf, eps = w["max_partitions_contributed"], w["max_contributions_per_partition"], w["epsilon"]
    # PipelineDP's naive accountant gives half the budget to partition selection, split over L0 partitions:
    # a partition held by this many accounts or more is kept with probability 1 - <1e-9 (truncated geometric).
    sure = 3 * math.log(l0 / w["delta"]) / (eps / 2 / l0)
    keys = [c for c in ta.column_names if c != "count"]
    raw = pl.scan_parquet(sorted((local / "raw" / "events").glob("part-*.parquet")))
    held = (raw.with_columns(pl.col("event_time").dt.truncate("1w").alias("period_start"))
            .group_by("period_start", *keys[1:]).agg(pl.col("account_id").n_unique().alias("accounts"))
            .filter(pl.col("accounts") >= sure).collect())
    fa, fb = pl.from_arrow(ta), pl.from_arrow(tb)
    assert isinstance(fa, pl.DataFrame) and isinstance(fb, pl.DataFrame)
    for frame in (fa, fb):
        missing = held.join(frame.with_columns(pl.col("period_start").cast(held["period_start"].dtype)),
                            on=keys, how="anti")
        assert missing.height == 0, f"certain partitions not released: {missing.height}"
    both = fa.join(fb, on=keys, how="inner", suffix="_dask")
    assert both.height > 0
    # Laplace noise on each count: scale L0 * Linf / (eps / 2); two draws differ by > 30 scales w.p. < 1e-12.
    scale = l0 * linf / (eps / 2)
    assert (both["count"] - both["count_dask"]).abs().max() <= 30 * scale


DRAWS = 16
Z = 7.0
"""Row counts of a synthetic release are functions of noisy measurements (sums over many cells with independent
Gaussian noise). For a new draw X and the mean m and sample sd s of DRAWS independent draws of the same data,
(X - m) / (s sqrt(1 + 1/DRAWS)) follows Student's t with DRAWS - 1 degrees of freedom when X is normal;
|t_15| > 7 has probability ~6e-6, so the six checks (3 tables x 2 runners) fail by chance with p < 4e-5.
orgs and users are close to normal (measured: 262 +- 17 and 2,529 +- 67 on the ci population); events have a
heavy upper tail (an account that the noise puts into a high activity bin brings thousands of events: sd 18k
in one set of draws, 48k in another, mean ~180k) and are compared on the log scale."""


def _synth_rows(run: Path) -> dict[str, int]:
    folder = run / "anon" / "dp-synthetic"
    return {t: sum(pq.ParquetFile(f).metadata.num_rows for f in (folder / t).glob("part-*.parquet"))
            for t in SYNTH}


def _independent_draws(run: Path) -> dict[str, np.ndarray]:
    """Row counts of DRAWS releases of the run's raw data, in-process, through the aggregating contract."""
    from anonymizers.base import BatchContext
    from anonymizers.chain import resolve_chain
    from pipelines.runio import read_table

    synth = resolve_chain("dp-synthetic").steps[0].anonymizer
    parts = {}
    for t in SYNTH:
        table = read_table(run / "raw" / t)
        parts[t] = synth.partial(table, BatchContext(t, tuple(table.column_names)))
    state = synth.finalize(parts)
    rows: dict[str, list[int]] = {t: [] for t in SYNTH}
    for _ in range(DRAWS):
        release = synth.fit_release(state)
        report = synth.report(release)
        rows["orgs"].append(report["synthetic_orgs"])
        rows["users"].append(report["synthetic_accounts"])
        rows["events"].append(int(release.population.acc_events.sum()))  # events generated per account
    return {t: np.array(v, dtype=float) for t, v in rows.items()}


def test_dp_synthetic_release_is_complete_and_within_its_noise(runs: Runs) -> None:
    local, dask, _, _ = runs
    man = {r: json.loads((r / "manifest.json").read_text())["chains"]["dp-synthetic"] for r in (local, dask)}
    rows = {r: _synth_rows(r) for r in (local, dask)}
    for r in (local, dask):
        assert sorted(p.name for p in (r / "anon" / "dp-synthetic").iterdir()) == sorted(SYNTH)  # no config_changes
        assert all(n > 0 for n in rows[r].values()), (r.name, rows[r])
        # the manifest's report and the shards come from one and the same release
        report = man[r]["steps"][0]["report"]
        assert report["rows_released"] == rows[r]
        assert (report["synthetic_orgs"], report["synthetic_accounts"]) == (rows[r]["orgs"], rows[r]["users"])
        assert report["budget"]["epsilon"] == 1.0 and report["budget"]["privacy_unit"] == "account_id"
    assert man[local]["output_schemas"] == man[dask]["output_schemas"]
    draws = _independent_draws(local)
    for t in SYNTH:
        scale = np.log if t == "events" else (lambda x: x)
        v = scale(draws[t])
        m, s = v.mean(), v.std(ddof=1)
        band = Z * s * math.sqrt(1 + 1 / DRAWS)
        if t != "events":
            assert m - band > 0, (t, m, s)  # the band excludes an empty release
        for r in (local, dask):
            x = scale(float(rows[r][t]))
            assert abs(x - m) <= band, f"{r.name} {t}: {rows[r][t]} rows, draws {draws[t].mean():.0f} +- " \
                                       f"{draws[t].std(ddof=1):.0f}"


def test_validation_results_equal_but_for_timings(runs: Runs) -> None:
    local, dask, chains, _ = runs
    random = {f"anon-{c}.parquet" for c in _nondeterministic(local, chains)}
    stages = sorted(p.name for p in (local / "validation").glob("*.parquet"))
    assert stages and stages == sorted(p.name for p in (dask / "validation").glob("*.parquet"))
    assert {"anon-dp-synthetic.parquet", "raw.parquet"} <= set(stages)
    unequal = []
    for name in stages:
        a, b = (pl.read_parquet(r / "validation" / name) for r in (local, dask))
        drop = [c for c in a.columns if "second" in c or "time" in c.lower()]
        keys = [c for c in a.columns if c not in drop]
        if name in random:  # a different noisy release: the same expectations, their outcomes may differ
            keys = [c for c in ("stage", "table", "expectation", "columns", "kwargs", "scope") if c in keys]
            assert len(keys) >= 4, a.columns
        if not a.select(keys).sort(keys).equals(b.select(keys).sort(keys)):
            unequal.append(name)
    assert not unequal
