"""map_distinct: one call per distinct value, nulls kept, chunked input handled."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.distinct import map_distinct, map_distinct_numpy


@settings(max_examples=60, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.sampled_from(list("abcdef"))), max_size=80),
       cut=st.integers(0, 80))
def test_map_distinct(vals, cut) -> None:
    calls = []

    def upper(vs):
        calls.append(list(vs))
        return [v.upper() for v in vs]

    cut = min(cut, len(vals))
    arr = pa.chunked_array([pa.array(vals[:cut], pa.string()), pa.array(vals[cut:], pa.string())])
    out = map_distinct(arr, upper, pa.string()).to_pylist()
    assert out == [None if v is None else v.upper() for v in vals]
    assert len(calls) == 1 and sorted(calls[0]) == sorted({v for v in vals if v is not None})


def test_map_distinct_numpy() -> None:
    values, null = map_distinct_numpy(pa.array(["a", None, "b", "a"]), lambda vs: [len(v) * 10 for v in vs])
    assert values.tolist()[0] == values.tolist()[3] == 10 and null.tolist() == [False, True, False, False]
    empty, null = map_distinct_numpy(pa.array([], pa.string()), lambda vs: [])
    assert len(empty) == 0 and len(null) == 0
