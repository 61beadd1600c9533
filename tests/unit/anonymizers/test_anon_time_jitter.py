"""perturb.time_jitter: bounded, keyed, reproducible per (table, shard, batch)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from anon_testdata import OTHER_KEY, START, apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

TS = pa.timestamp("us", tz="UTC")


rows = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([f"acct-{i}" for i in range(8)])),
                          st.one_of(st.none(), st.integers(0, 10**6))), max_size=50)


def table(pairs) -> pa.Table:
    return pa.table({"account_id": pa.array([a for a, _ in pairs], pa.string()),
                     "t": pa.array([None if m is None else START + dt.timedelta(minutes=m) for _, m in pairs], TS)})


@settings(max_examples=40, deadline=None)
@given(pairs=rows, max_seconds=st.integers(1, 3600))
def test_time_jitter_bounded_and_keyed(pairs, max_seconds) -> None:
    t = table(pairs)
    j = build("perturb.time_jitter", max_seconds=max_seconds)
    out = apply(j, t, ["t"]).column("t").to_pylist()
    assert out == apply(build("perturb.time_jitter", max_seconds=max_seconds), t, ["t"]).column("t").to_pylist()
    for before, after in zip(t.column("t").to_pylist(), out, strict=True):
        assert (before is None) == (after is None)
        if before is not None:
            assert abs((after - before).total_seconds()) <= max_seconds


def test_time_jitter_varies_by_row_batch_and_key() -> None:
    t = table([("acct-1", 10 * i) for i in range(200)])
    base = apply(build("perturb.time_jitter"), t, ["t"]).column("t").to_pylist()
    deltas = {(a - b).total_seconds() for a, b in zip(base, t.column("t").to_pylist(), strict=True)}
    assert len(deltas) > 100
    assert apply(build("perturb.time_jitter"), t, ["t"], batch=1).column("t").to_pylist() != base
    assert apply(build("perturb.time_jitter", key=OTHER_KEY), t, ["t"]).column("t").to_pylist() != base
