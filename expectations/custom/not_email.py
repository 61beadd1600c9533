"""No value holds an e-mail-shaped string: the first promise of any anonymized release.

Direct identifiers such as e-mail addresses are the one thing every de-identification standard removes
(HIPAA Safe Harbor §164.514(b)(2)(i)(M); ISO/IEC 20889 §7.2). The check searches *anywhere* in the value, so
an address embedded in a display name or user agent (``Ann <ann@x.io>``) is caught too.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from expectations.arrowcol import as_arrow_strings, mask
from expectations.forms import EMAIL_REGEX


def not_email_mask(column: pd.Series) -> pd.Series:
    """True where a value contains no e-mail-shaped substring (nulls True). Vectorized in Arrow; the regex
    only runs on values that contain an ``@`` at all."""
    arr = as_arrow_strings(column)
    has_at = pc.match_substring(arr, "@").fill_null(False)
    if not pc.any(has_at).as_py():
        return mask(column, pc.invert(has_at))
    hits = pc.match_substring_regex(arr.filter(has_at), EMAIL_REGEX)
    found = np.zeros(len(arr), dtype=bool)
    found[np.flatnonzero(has_at.to_numpy(zero_copy_only=False))] = hits.to_numpy(zero_copy_only=False)
    return pd.Series(~found, index=column.index)


class ColumnValuesNotEmail(ColumnMapMetricProvider):
    condition_metric_name = "column_values.anonbench_not_email"
    filter_column_isnull = False  # nulls pass; see expectations.arrowcol

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, **kwargs: object) -> pd.Series:
        return not_email_mask(column)


class ExpectColumnValuesToNotBeEmailAddresses(ColumnMapExpectation):
    """Expect no value of the column to contain an e-mail address (searched anywhere in the value).

    Args:
        column: the column to scan (string-like; other types are scanned as their text form).
        mostly: share of non-null values that must pass (default 1: none may hold an address).

    How to read it: ``unexpected_count`` is the number of values that still carry an address — a direct
    identifier; anything above 0 means the release is not anonymous.
    """

    map_metric = "column_values.anonbench_not_email"
    success_keys = ("mostly",)
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}
