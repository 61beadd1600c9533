"""Timestamps sit on the declared time bucket (``1h``, ``15min``, ``1d``), counted from the Unix epoch in UTC.

Coarsening timestamps is the main defence against spatio-temporal re-identification: with hourly points, four
points still single out 95% of 1.5M people (de Montjoye et al., "Unique in the Crowd", Sci. Rep. 2013), so the
bucket a release promises must be the bucket it has. A value passes when it is a whole number of buckets
(plus ``offset``) after 1970-01-01T00:00Z.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from expectations.forms import parse_every

__all__ = ["ExpectColumnValuesToBeOnTimeBucket", "on_bucket_mask", "parse_every", "to_epoch_us"]


def to_epoch_us(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Microseconds since the epoch (UTC) of a datetime column as int64, and its null mask."""
    if not pd.api.types.is_datetime64_any_dtype(column.dtype):
        column = pd.to_datetime(column, utc=True)
    if getattr(column.dt, "tz", None) is not None:
        column = column.dt.tz_convert("UTC").dt.tz_localize(None)
    isnull = column.isna().to_numpy()
    return column.to_numpy(dtype="datetime64[us]").view(np.int64), isnull


def on_bucket_mask(column: pd.Series, every: str | int, offset: str | int | None = None) -> pd.Series:
    """True where a timestamp is a whole number of buckets after the origin (nulls True)."""
    width = parse_every(every)
    shift = parse_every(offset) if offset else 0
    us, isnull = to_epoch_us(column)
    return pd.Series(isnull | ((us - shift) % width == 0), index=column.index)


class ColumnValuesOnTimeBucket(ColumnMapMetricProvider):
    condition_metric_name = "column_values.anonbench_time_bucket"
    condition_value_keys = ("every", "offset")
    filter_column_isnull = False  # nulls pass

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, every: str = "1h", offset: str | None = None,
                **kwargs: object) -> pd.Series:
        return on_bucket_mask(column, every, offset)


class ExpectColumnValuesToBeOnTimeBucket(ColumnMapExpectation):
    """Expect every non-null timestamp to be a multiple of ``every`` after the epoch (plus ``offset``).

    Args:
        column: a timestamp column.
        every: bucket width, ``<n><unit>`` with unit us, ms, s, min (or m), h, d, w.
        offset: optional shift of the bucket origin (same syntax).
        mostly: share of non-null values that must pass (default 1).

    How to read it: ``unexpected_count`` timestamps are finer than the promised bucket.
    """

    every: str = pydantic.Field("1h", description="Bucket width, e.g. 1h, 15min, 1d.")
    offset: str | None = pydantic.Field(None, description="Shift of the bucket origin from the epoch.")
    map_metric = "column_values.anonbench_time_bucket"
    success_keys = ("every", "offset", "mostly")
    args_keys = ("column", "every")
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}

    @pydantic.validator("every", "offset")
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None:
            parse_every(v)
        return v
