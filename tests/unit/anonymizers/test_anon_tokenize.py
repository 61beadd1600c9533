"""tokenize.random: token properties within a run; a new run gives new tokens."""

from __future__ import annotations

import pyarrow as pa
from anon_testdata import apply, build, check_token_properties
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=12)), max_size=60))
def test_token_properties(vals: list) -> None:
    check_token_properties(build("tokenize.random"), vals)


def test_differs_between_runs() -> None:
    t = pa.table({"v": ["a", "b", "c"]})
    first = apply(build("tokenize.random"), t, ["v"]).column("v").to_pylist()
    assert set(first).isdisjoint(apply(build("tokenize.random"), t, ["v"]).column("v").to_pylist())


def test_consistent_across_tables_within_a_run() -> None:
    tok = build("tokenize.random")
    a = apply(tok, pa.table({"v": ["x", "y"]}), ["v"], "users").column("v").to_pylist()
    b = apply(tok, pa.table({"v": ["y", "x"]}), ["v"], "events", shard=4).column("v").to_pylist()
    assert a == b[::-1]
