"""sample.persons: a keyed sample of persons, the same in every table."""

from __future__ import annotations

import pyarrow as pa
from anon_testdata import OTHER_KEY, apply, build, make_tables
from hypothesis import given, settings
from hypothesis import strategies as st


def test_sample_persons_agrees_across_tables() -> None:
    tabs = make_tables(200, 3000)
    s = build("sample.persons", fraction=0.4)
    users = apply(s, tabs["users"], ["account_id"], "users")
    events = apply(s, tabs["events"], ["account_id"], "events")
    kept = set(users.column("account_id").to_pylist())
    assert 40 < len(kept) < 120  # ~80 of 200
    ev_ids = set(events.column("account_id").to_pylist()) - {None}
    assert ev_ids <= kept
    assert events.column("account_id").null_count == tabs["events"].column("account_id").null_count
    assert set(tabs["events"].filter(pa.compute.is_in(tabs["events"]["account_id"],
                                                      value_set=pa.array(sorted(kept))))["event_id"].to_pylist()) \
        == set(events.column("event_id").to_pylist()) - set(
            tabs["events"].filter(tabs["events"]["account_id"].is_null())["event_id"].to_pylist())
    other = apply(build("sample.persons", key=OTHER_KEY, fraction=0.4), tabs["users"], ["account_id"], "users")
    assert set(other.column("account_id").to_pylist()) != kept


def test_sample_persons_fraction_one_keeps_all(tables) -> None:
    out = apply(build("sample.persons", fraction=1.0), tables["events"], ["account_id"])
    assert out.equals(tables["events"])


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(st.one_of(st.none(), st.sampled_from([f"p{i}" for i in range(30)])), max_size=80),
       fraction=st.floats(0.05, 1.0))
def test_whole_persons_kept_or_dropped(ids, fraction) -> None:
    t = pa.table({"account_id": pa.array(ids, pa.string()), "row": list(range(len(ids)))})
    out = apply(build("sample.persons", fraction=fraction), t, ["account_id"])
    kept_rows = set(out.column("row").to_pylist())
    kept_ids = set(out.column("account_id").to_pylist()) - {None}
    for i, a in enumerate(ids):
        # rows without a person are kept; a person is kept with all their rows or not at all
        assert (i in kept_rows) == (a is None or a in kept_ids)
    assert out.column("account_id").null_count == sum(a is None for a in ids)
