"""reid.arrays.distinct equals np.unique on integer arrays."""

from __future__ import annotations

import numpy as np
import pytest

from reid.arrays import distinct, distinct_counts


@pytest.mark.parametrize("dtype", [np.uint64, np.int64, np.int32, np.uint32])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 5000])
def test_distinct_equals_np_unique(dtype, n):
    rng = np.random.default_rng(n)
    a = rng.integers(0, max(2, n // 3), n).astype(dtype)
    want = np.unique(a)
    got = distinct(a)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def test_distinct_does_not_sort_its_input_in_place():
    a = np.array([3, 1, 2, 1], dtype=np.uint64)
    assert distinct(a).tolist() == [1, 2, 3] and a.tolist() == [3, 1, 2, 1]


@pytest.mark.parametrize("n", [0, 1, 2, 7, 5000])
def test_distinct_counts_equal_np_unique_counts(n):
    a = np.random.default_rng(n).integers(0, max(2, n // 3), n).astype(np.uint64)
    assert np.array_equal(distinct_counts(a), np.unique(a, return_counts=True)[1])
