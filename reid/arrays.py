"""Array helpers shared by the attacks."""

from __future__ import annotations

import numpy as np


def distinct(values: np.ndarray) -> np.ndarray:
    """The sorted distinct values of an integer array (``np.unique(values)``), by sorting.

    numpy 2.4's ``np.unique`` without ``return_*`` arguments takes a hash-table path that costs ~1.2 µs an
    element on high-cardinality integers (measured here: 32 s for 17M uint64, 1.2 s for 1M int64) against
    ~40 ns for a sort; with ``return_counts`` it sorts. For integers only (a NaN is not equal to itself)."""
    out = np.sort(np.asarray(values).ravel())
    if out.size < 2:
        return out
    keep = np.empty(out.size, dtype=bool)
    keep[0] = True
    np.not_equal(out[1:], out[:-1], out=keep[1:])
    return out[keep]
