"""Map a column through a Python function once per *distinct* value (dictionary encoding).

Hashing, parsing IP addresses or user agents is done on the dictionary of a batch's column, then the results
are gathered back with ``take`` on the indices: one Python call per distinct value, never one per row, and
nulls stay null.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def encode(values: pa.Array | pa.ChunkedArray) -> pa.DictionaryArray:
    arr = as_array(values)
    if pa.types.is_dictionary(arr.type):
        return arr
    return pc.dictionary_encode(arr)


def map_distinct(values: pa.Array | pa.ChunkedArray, fn: Callable[[list[Any]], list[Any]],
                 out_type: pa.DataType) -> pa.Array:
    """``fn`` gets the list of distinct non-null values and returns one output per value."""
    enc = encode(values)
    mapped = pa.array(fn(enc.dictionary.to_pylist()), type=out_type)
    return mapped.take(enc.indices)


def map_distinct_numpy(values: pa.Array | pa.ChunkedArray, fn: Callable[[list[Any]], Any]) -> Any:
    """Like :func:`map_distinct`, but ``fn`` returns a numpy array; returns (per-row numpy values, null mask)."""
    import numpy as np

    enc = encode(values)
    mapped = np.asarray(fn(enc.dictionary.to_pylist()))
    idx = enc.indices
    mask = idx.is_null().to_numpy(zero_copy_only=False)
    ids = idx.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    if len(mapped) == 0:
        return np.zeros(len(ids), dtype=mapped.dtype), mask
    return mapped[ids], mask
