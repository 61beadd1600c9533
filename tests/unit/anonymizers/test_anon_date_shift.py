"""perturb.date_shift: one secret whole-day offset per person, the same in every table and batch."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from anon_testdata import OTHER_KEY, START, apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

TS = pa.timestamp("us", tz="UTC")


rows = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([f"acct-{i}" for i in range(8)])),
                          st.one_of(st.none(), st.integers(0, 10**6))), max_size=50)


def table(pairs) -> pa.Table:
    return pa.table({"account_id": pa.array([a for a, _ in pairs], pa.string()),
                     "t": pa.array([None if m is None else START + dt.timedelta(minutes=m) for _, m in pairs], TS)})


@settings(max_examples=50, deadline=None)
@given(pairs=rows, max_days=st.integers(1, 60), keep_weekday=st.booleans())
def test_date_shift_one_offset_per_person(pairs, max_days, keep_weekday) -> None:
    t = table(pairs)
    out = apply(build("perturb.date_shift", max_days=max_days, keep_weekday=keep_weekday), t, ["t"])
    assert out.num_rows == t.num_rows and out.column("t").null_count == t.column("t").null_count
    offsets: dict = {}
    for (acc, _), before, after in zip(pairs, t.column("t").to_pylist(), out.column("t").to_pylist(), strict=True):
        if before is None:
            continue
        delta = after - before
        assert delta.seconds == 0 and delta.microseconds == 0 and abs(delta.days) <= max_days
        if keep_weekday:
            assert delta.days % 7 == 0
        assert offsets.setdefault(acc, delta) == delta  # intervals within a person survive


def test_date_shift_consistent_across_tables_and_batches() -> None:
    a = build("perturb.date_shift", max_days=365)
    t = table([(f"acct-{i}", 100 * i) for i in range(40)])
    whole = apply(a, t, ["t"], table_name="events").column("t").to_pylist()
    parts = apply(a, t.slice(0, 13), ["t"], table_name="users", shard=3).column("t").to_pylist() + \
        apply(a, t.slice(13), ["t"], table_name="config_changes", batch=2).column("t").to_pylist()
    assert whole == parts
    other = apply(build("perturb.date_shift", key=OTHER_KEY, max_days=365), t, ["t"]).column("t").to_pylist()
    assert other != whole
    assert len({w - b for w, b in zip(whole, t.column("t").to_pylist(), strict=True)}) > 10


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_units(unit) -> None:
    typ = pa.timestamp(unit, tz="UTC")
    t = pa.table({"account_id": ["a", "b"], "t": pa.array([START, START], typ)})
    out = apply(build("perturb.date_shift", max_days=5), t, ["t"]).column("t")
    assert out.type == typ
    for v in out.to_pylist():
        assert abs((v - START).days) <= 5 and (v - START).seconds == 0
