"""No value holds an e-mail-shaped string: the first promise of any anonymized release.

Direct identifiers such as e-mail addresses are the one thing every de-identification standard removes
(HIPAA Safe Harbor §164.514(b)(2)(i)(M); ISO/IEC 20889 §7.2). The check searches *anywhere* in the value, so
an address embedded in a display name or user agent (``Ann <ann@x.io>``) is caught too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow.compute as pc
from great_expectations.compatibility import pydantic
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation, ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider

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


class TableValuesNotEmail(TableMetricProvider):
    """Per column of ``column_list``: values holding an e-mail-shaped string, and nulls (counts only)."""

    metric_name = "table.anonbench_email_counts"
    value_keys = ("column_list",)

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, metrics: dict[str, Any], runtime_configuration: dict) -> dict:
        df, _, _ = execution_engine.get_compute_domain(domain_kwargs=metric_domain_kwargs,
                                                       domain_type=MetricDomainTypes.TABLE)
        cols = [c for c in metric_value_kwargs["column_list"] if c in df.columns]
        return {"rows": len(df),
                "unexpected_by_column": {c: int((~not_email_mask(df[c])).sum()) for c in cols},
                "missing_by_column": {c: int(df[c].isna().sum()) for c in cols},
                "absent_columns": sorted(set(metric_value_kwargs["column_list"]) - set(cols))}


class ExpectTableValuesToNotBeEmailAddresses(BatchExpectation):
    """Expect no value of any of ``column_list`` to contain an e-mail address — the column expectation
    :class:`ExpectColumnValuesToNotBeEmailAddresses` for many columns in one pass.

    GX spends about 10 ms of bookkeeping per expectation whatever the data size, and a release's privacy
    contract scans every text column of every table; one expectation per table keeps that affordable. The
    result keeps the count per column (``details.unexpected_by_column``: column names and counts, never
    values), and anonbench reports it as one row per column.
    """

    column_list: list[str] = pydantic.Field(..., min_items=1, description="Columns to scan.")
    metric_dependencies = ("table.anonbench_email_counts",)
    success_keys = ("column_list",)
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    args_keys = ("column_list",)
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict:
        counts = metrics["table.anonbench_email_counts"]
        hits = sum(counts["unexpected_by_column"].values())
        return {"success": hits == 0 and not counts["absent_columns"],
                "result": {"observed_value": hits, "element_count": counts["rows"], "unexpected_count": hits,
                           "details": counts}}
