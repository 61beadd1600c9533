"""Block-wise mixed-type nearest neighbours equal a plain per-pair computation of anonymeter's distance."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.neighbors import _select, encode_pair, kneighbors


def plain_distance(cand: pl.DataFrame, query: dict, num: list[str], cat: list[str], ranges: dict) -> np.ndarray:
    d = np.zeros(cand.height)
    for c in num:
        x = cand[c].cast(pl.Float64).to_numpy()
        d += np.abs(x - query[c]) / ranges[c]
    for c in cat:
        d += (cand[c] != query[c]).to_numpy()
    return d


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 6))
def test_distances_and_neighbours_match_the_plain_computation(seed, k):
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(5, 60)), int(rng.integers(1, 15))
    make = lambda size: pl.DataFrame({"x": rng.integers(0, 7, size), "y": rng.random(size),  # noqa: E731
                                      "s": rng.choice(list("abc"), size)})
    cand, qry = make(n), make(m)
    c, q = encode_pair(cand, qry, ["x", "y", "s"])
    idx, dist = kneighbors(c, q, k, rng)
    both = pl.concat([cand, qry])
    ranges = {col: float(both[col].max() - both[col].min()) or 1.0 for col in ("x", "y")}
    for i, row in enumerate(qry.iter_rows(named=True)):
        d = plain_distance(cand, row, ["x", "y"], ["s"], ranges)
        kk = min(k, n)
        assert np.sort(d)[:kk] == pytest.approx(dist[i], abs=1e-5)
        assert d[idx[i]] == pytest.approx(dist[i], abs=1e-5)
        assert len(set(idx[i])) == kk


@pytest.mark.parametrize("k", [1, 2, 5, 40])
def test_select_breaks_ties_by_position(k):
    rng = np.random.default_rng(k)
    d = rng.integers(0, 3, (30, 40)).astype(np.float32)
    pos, val = _select(d, k)
    ref = np.argsort(d, axis=1, kind="stable")[:, :k]
    assert (pos == ref).all() and (val == np.take_along_axis(d, ref, 1)).all()


def test_high_cardinality_and_missing_values():
    cand = pl.DataFrame({"s": [f"v{i}" for i in range(1000)] + [None], "x": [1.0] * 1000 + [None]})
    qry = pl.DataFrame({"s": ["v7", None], "x": [1.0, None]})
    c, q = encode_pair(cand, qry, ["s", "x"])
    idx, dist = kneighbors(c, q, 1, np.random.default_rng(0))
    assert idx[0, 0] == 7 and dist[0, 0] == 0.0
    assert dist[1, 0] == 2.0  # a missing value is 1 away from anything, itself included (as anonymeter)


def test_type_mismatch_is_refused():
    with pytest.raises(ValueError, match="x"):
        encode_pair(pl.DataFrame({"x": [1]}), pl.DataFrame({"x": ["1"]}), ["x"])
