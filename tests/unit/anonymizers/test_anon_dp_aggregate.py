"""dp.aggregate: DP counts by PipelineDP (LocalBackend here), bounded contributions, no numpy noise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from anon_testdata import START, build

from anonymizers.base import BatchContext

TS = pa.timestamp("us", tz="UTC")


def events(n_accounts: int, per_account: int, org: str = "org-1") -> pa.Table:
    rows = [(f"a{i}", START + dt.timedelta(hours=j % 20), org, "jira", "issue.viewed")
            for i in range(n_accounts) for j in range(per_account)]
    return pa.table({"account_id": [r[0] for r in rows], "event_time": pa.array([r[1] for r in rows], TS),
                     "org_id": [r[2] for r in rows], "product": [r[3] for r in rows], "action": [r[4] for r in rows]})


def release(step, t: pa.Table, splits: int = 1) -> pa.Table:
    ctx = BatchContext("events", ("org_id", "product", "action"))
    pre = None
    for part in np.array_split(np.arange(t.num_rows), splits):
        p = step.partial(t.take(pa.array(part)), ctx)
        pre = p if pre is None else step.merge(pre, p)
    return step.release_local(pre)


def test_large_partition_released_close_to_bounded_count() -> None:
    step = build("dp.aggregate", epsilon=10.0, delta=1e-5, max_contributions_per_partition=3,
                 max_partitions_contributed=1)
    out = release(step, events(300, 5), splits=3)
    assert out.column_names == ["period_start", "org_id", "product", "action", "count"]
    assert out.num_rows == 1
    # 300 accounts, 5 events each, clamped to 3 per partition -> 900 before noise
    assert abs(out.column("count")[0].as_py() - 900) < 15
    assert out.column("period_start")[0].as_py() == START


def test_small_partitions_suppressed_by_partition_selection() -> None:
    step = build("dp.aggregate", epsilon=2.0, delta=1e-6, max_partitions_contributed=1)
    t = pa.concat_tables([events(400, 1, "big"), events(1, 30, "tiny")])
    out = release(step, t)
    assert out.column("org_id").to_pylist() == ["big"]


def test_noise_comes_from_pipelinedp_not_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every numpy random entry point is disabled; the release still works and PipelineDP's (python-dp)
    Laplace mechanism is what adds noise."""
    import pipeline_dp.dp_computations as dpc

    def forbidden(*a, **k):
        raise AssertionError("numpy randomness used")

    for name in ("laplace", "normal", "default_rng", "random", "uniform", "choice"):
        monkeypatch.setattr(np.random, name, forbidden)
    calls = []
    real = dpc.LaplaceMechanism.add_noise

    def spy(self, value):
        calls.append(value)
        return real(self, value)

    monkeypatch.setattr(dpc.LaplaceMechanism, "add_noise", spy)
    out = release(build("dp.aggregate", epsilon=5.0, max_partitions_contributed=1), events(200, 2))
    assert out.num_rows == 1 and calls


def test_source_has_no_numpy_noise() -> None:
    import anonymizers.dp_aggregate as mod

    src = Path(mod.__file__).read_text()
    assert "np.random" not in src and "numpy.random" not in src


def test_rows_without_account_do_not_count() -> None:
    t = events(300, 1)
    nulls = t.set_column(0, "account_id", pa.array([None] * t.num_rows, pa.string()))
    step = build("dp.aggregate", epsilon=10.0)
    pre = step.partial(nulls, BatchContext("events", ("org_id", "product", "action")))
    assert pre.num_rows == 0


def test_budget_recorded() -> None:
    b = build("dp.aggregate", epsilon=0.5, delta=1e-7).budget()
    assert b["epsilon"] == 0.5 and b["delta"] == 1e-7 and b["privacy_unit"] == "account_id"
    assert build("dp.aggregate").deterministic is False
