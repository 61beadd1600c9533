"""Column helpers for the custom expectations: run string tests on the Arrow data behind a pandas column.

pandas ≥ 3 keeps strings in Arrow; going to pyarrow.compute directly skips pandas' regex-dialect checks
(which scan the data for newlines and non-ASCII characters on every call) and any object conversion.
Nulls count as *expected* (True): the custom map metrics switch GX's null filter off, which would otherwise
copy the whole frame once per expectation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def as_arrow_strings(column: pd.Series) -> pa.Array:
    """The column as an Arrow string array (zero-copy for Arrow-backed strings)."""
    try:
        arr = pa.array(column.array)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = pa.array(column.astype("str").array)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.string())
    return arr


def mask(column: pd.Series, values: pa.Array) -> pd.Series:
    """A boolean Arrow result as a pandas mask aligned with ``column``; nulls become True (expected)."""
    out = values.fill_null(True).to_numpy(zero_copy_only=False)
    return pd.Series(np.asarray(out, dtype=bool), index=column.index)


def full_match(column: pd.Series, regex: str) -> pd.Series:
    """True where the whole value matches ``regex`` (RE2 syntax); nulls True.

    The regex runs once per distinct value when values repeat (pseudonyms of accounts, sessions, orgs):
    a dictionary encoding costs far less than matching every row again.
    """
    arr = as_arrow_strings(column)
    pattern = f"^(?:{regex})$"
    encoded = pc.dictionary_encode(arr)
    if 2 * len(encoded.dictionary) <= len(arr):
        return mask(column, pc.match_substring_regex(encoded.dictionary, pattern).take(encoded.indices))
    return mask(column, pc.match_substring_regex(arr, pattern))
