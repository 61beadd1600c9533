"""Array helpers shared by the attacks."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (``np.unique(values)``), by sorting.

    numpy 2.4's ``np.unique`` without ``return_*`` arguments takes a hash-table path that costs ~1.2 µs an
    element on high-cardinality integers (measured here: 32 s for 17M uint64, 1.2 s for 1M int64) against
    ~40 ns for a sort; with ``return_counts`` it sorts. For integers only (a NaN is not equal to itself)."""
    out = np.sort(np.asarray(values).ravel())
    return out[_firsts(out)] if out.size > 1 else out


def distinct_counts(values: np.ndarray) -> np.ndarray:
    """How often each distinct value of an integer array occurs, in sorted order of the values
    (``np.unique(values, return_counts=True)[1]``), by sorting as :func:`distinct` does."""
    s = np.sort(np.asarray(values).ravel())
    if s.size == 0:
        return np.array([], dtype=np.int64)
    return np.diff(np.append(np.flatnonzero(_firsts(s)), s.size))


def _firsts(s: np.ndarray) -> np.ndarray:
    """Of a sorted array, where each run of equal values starts."""
    keep = np.empty(s.size, dtype=bool)
    keep[:1] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return keep
