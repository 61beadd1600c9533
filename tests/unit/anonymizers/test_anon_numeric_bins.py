"""generalize.numeric_bins: fixed widths or edges, lower edges or labels, nulls kept."""

from __future__ import annotations

import pyarrow as pa
import pytest
from anon_testdata import apply, build
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("params, vals, expected", [
    ({"width": 10}, [0, 9, 10, 25, None], [0, 0, 10, 20, None]),
    ({"edges": [1, 11, 51]}, [0, 1, 10, 11, 50, 51, 9000], [1, 1, 1, 11, 11, 51, 51]),
    ({"edges": [1, 11, 51], "labels": True}, [1, 10, 11, 60, None], ["1-11", "1-11", "11-51", "51+", None]),
    ({"width": 2.5}, [0.1, 2.5, 7.4], [0.0, 2.5, 5.0]),
])
def test_numeric_bins_table(params, vals, expected) -> None:
    typ = pa.float64() if any(isinstance(v, float) for v in vals) else pa.int32()
    t = pa.table({"n": pa.array(vals, typ)})
    out = apply(build("generalize.numeric_bins", **params), t, ["n"]).column("n")
    assert out.to_pylist() == expected
    if not params.get("labels"):
        assert out.type == typ


@settings(max_examples=50, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.integers(-10_000, 10_000)), max_size=50),
       width=st.integers(1, 500))
def test_numeric_bins_properties(vals, width) -> None:
    t = pa.table({"n": pa.array(vals, pa.int64())})
    out = apply(build("generalize.numeric_bins", width=width), t, ["n"]).column("n").to_pylist()
    for v, o in zip(vals, out, strict=True):
        assert (o is None) == (v is None)
        if v is not None:
            assert o <= v < o + width and o % width == 0


def test_numeric_bins_needs_one_of_width_or_edges() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        build("generalize.numeric_bins")
