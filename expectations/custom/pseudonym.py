"""Pseudonyms have the declared form (e.g. HMAC-SHA256 as 64 lowercase hex digits).

A pseudonymized column that still holds values of another shape means a step was skipped, ran on the wrong
column, or passed some values through (GDPR Art. 4(5) pseudonymisation; ENISA, "Pseudonymisation techniques
and best practices", 2019). The form is a named pattern or an explicit regular expression, matched in full.
"""

from __future__ import annotations

from typing import ClassVar

import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

from expectations.arrowcol import full_match
from expectations.forms import PSEUDONYM_FORMS, pseudonym_regex

__all__ = ["PSEUDONYM_FORMS", "ExpectColumnValuesToBePseudonyms", "pseudonym_regex"]


class ColumnValuesArePseudonyms(ColumnMapMetricProvider):
    condition_metric_name = "column_values.anonbench_pseudonym"
    condition_value_keys = ("form",)
    filter_column_isnull = False  # nulls pass; see expectations.arrowcol

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, form: str = "hex64", **kwargs: object) -> pd.Series:
        return full_match(column, pseudonym_regex(form))


class ExpectColumnValuesToBePseudonyms(ColumnMapExpectation):
    """Expect every non-null value to have the declared pseudonym form.

    Args:
        column: the pseudonymized column.
        form: a name from ``PSEUDONYM_FORMS`` (``hex64`` = HMAC-SHA256 / SHA-256 hex) or a regular expression
            that each whole value must match.
        mostly: share of non-null values that must pass (default 1).

    How to read it: ``unexpected_count`` values were not replaced by pseudonyms. Passing says nothing about
    how *strong* the pseudonyms are (an unsalted hash passes too — the dictionary attack measures that).
    """

    form: str = pydantic.Field("hex64", description="Named pseudonym form or a full-match regex.")
    map_metric = "column_values.anonbench_pseudonym"
    success_keys = ("form", "mostly")
    args_keys = ("column", "form")
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}
