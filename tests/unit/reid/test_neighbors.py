"""Block-wise mixed-type nearest neighbours equal a plain per-pair computation of anonymeter's distance, and
among equally close candidates they are the ones numba's quicksort (anonymeter's ``argsort``) puts first."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.neighbors import _select, encode_pair, kneighbors, quicksort_prefix


def numba_argsort(a: list[float]) -> list[int]:
    """numba 0.x ``np.argsort(kind='quicksort')`` (numba/misc/quicksort.py), transcribed one step at a time."""
    r = list(range(len(a)))

    def partition(low: int, high: int) -> int:
        mid = (low + high) >> 1
        if a[r[mid]] < a[r[low]]:
            r[low], r[mid] = r[mid], r[low]
        if a[r[high]] < a[r[mid]]:
            r[high], r[mid] = r[mid], r[high]
        if a[r[mid]] < a[r[low]]:
            r[low], r[mid] = r[mid], r[low]
        pivot = a[r[mid]]
        r[high], r[mid] = r[mid], r[high]
        i, j = low, high - 1
        while True:
            while i < high and a[r[i]] < pivot:
                i += 1
            while j >= low and pivot < a[r[j]]:
                j -= 1
            if i >= j:
                break
            r[i], r[j] = r[j], r[i]
            i, j = i + 1, j - 1
        r[i], r[high] = r[high], r[i]
        return i

    def insertion_sort(low: int, high: int) -> None:
        for i in range(low + 1, high + 1):
            k, j = r[i], i
            while j > low and a[k] < a[r[j - 1]]:
                r[j] = r[j - 1]
                j -= 1
            r[j] = k

    if len(a) < 2:
        return r
    stack = [(0, len(a) - 1)]
    while stack:
        low, high = stack.pop()
        while high - low >= 15:
            i = partition(low, high)
            if high - i > i - low:
                if high > i:
                    stack.append((i + 1, high))
                high = i - 1
            else:
                if i > low:
                    stack.append((low, i - 1))
                low = i + 1
        insertion_sort(low, high)
    return r


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 400), st.integers(1, 12), st.integers(1, 6))
def test_quicksort_prefix_keeps_numbas_first_k(seed, n, k, levels):
    rng = np.random.default_rng(seed)
    d = rng.integers(0, levels, (7, n)) * 0.25  # few distinct values: ties everywhere
    d[1] = 0.0  # all equal
    d[2] = np.sort(d[2])
    d[3] = np.sort(d[3])[::-1]
    got = quicksort_prefix(d, k)
    kk = min(k, n)
    assert got.shape == (7, kk)
    for row, first in zip(d, got, strict=True):
        assert set(first.tolist()) == set(numba_argsort(row.tolist())[:kk])
        pairs = list(zip(row[first], first, strict=True))
        assert sorted(pairs) == pairs  # by distance, then index


def test_neighbours_among_ties_are_anonymeters():
    rng = np.random.default_rng(5)
    cand = pl.DataFrame({"x": rng.integers(0, 3, 3000), "s": rng.choice(list("ab"), 3000)})
    qry = pl.DataFrame({"x": rng.integers(0, 3, 40), "s": rng.choice(list("ab"), 40)})
    c, q = encode_pair(cand, qry, ["x", "s"])
    for k in (1, 10):
        idx, _ = kneighbors(c, q, k)
        for i, row in enumerate(qry.iter_rows(named=True)):
            d = plain_distance(cand, row, ["x"], ["s"], {"x": 2.0})
            assert set(idx[i].tolist()) == set(numba_argsort(d.tolist())[:k])


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
    idx, dist = kneighbors(c, q, k)
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
    idx, dist = kneighbors(c, q, 1)
    assert idx[0, 0] == 7 and dist[0, 0] == 0.0
    assert dist[1, 0] == 2.0  # a missing value is 1 away from anything, itself included (as anonymeter)


def test_type_mismatch_is_refused():
    with pytest.raises(ValueError, match="x"):
        encode_pair(pl.DataFrame({"x": [1]}), pl.DataFrame({"x": ["1"]}), ["x"])
