"""k-anonymity over a set of quasi-identifier columns (Sweeney, "k-anonymity: a model for protecting
privacy", IJUFKS 2002; Samarati 2001).

Records that share the same values of the quasi-identifiers form an equivalence class; a table is k-anonymous
when every class holds at least k records. Nulls are a value like any other here (a suppressed cell still
groups records). With ``weight_column`` each row stands for that many records — how class counts computed per
shard are combined into one verdict for a whole table.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from great_expectations.compatibility import pydantic
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import TableMetricProvider


def class_sizes(df: pd.DataFrame, column_list: list[str], weight_column: str | None = None) -> np.ndarray:
    """Records per equivalence class of ``column_list`` (vectorized group-by; nulls form their own value)."""
    if len(df) == 0:
        return np.zeros(0, dtype=np.int64)
    keys = df[list(column_list)]
    if weight_column is None:
        return keys.value_counts(dropna=False, sort=False).to_numpy(dtype=np.int64)
    grouped = df[weight_column].groupby([keys[c] for c in column_list], dropna=False, sort=False).sum()
    return grouped.to_numpy(dtype=np.int64)


def k_anonymity_stats(sizes: np.ndarray, k: int) -> dict[str, int]:
    """Counts describing how far a table is from k-anonymity (counts only, no values)."""
    small = sizes < k
    return {"records": int(sizes.sum()), "classes": len(sizes),
            "min_class_size": int(sizes.min()) if len(sizes) else 0,
            "classes_below_k": int(small.sum()), "records_below_k": int(sizes[small].sum())}


class TableKAnonymity(TableMetricProvider):
    metric_name = "table.anonbench_k_anonymity"
    value_keys = ("column_list", "k", "weight_column")

    @metric_value(engine=PandasExecutionEngine)
    def _pandas(cls, execution_engine: PandasExecutionEngine, metric_domain_kwargs: dict,
                metric_value_kwargs: dict, metrics: dict[str, Any], runtime_configuration: dict) -> dict:
        df, _, _ = execution_engine.get_compute_domain(domain_kwargs=metric_domain_kwargs,
                                                       domain_type=MetricDomainTypes.TABLE)
        sizes = class_sizes(df, metric_value_kwargs["column_list"], metric_value_kwargs.get("weight_column"))
        return k_anonymity_stats(sizes, int(metric_value_kwargs["k"]))


class ExpectColumnCombinationToBeKAnonymous(BatchExpectation):
    """Expect every combination of values of ``column_list`` to be shared by at least ``k`` records.

    Args:
        column_list: the quasi-identifier columns.
        k: the smallest class size allowed (k ≥ 2 to mean anything; 5 and 11 are common choices).
        weight_column: optional column giving how many records each row stands for.

    How to read it: ``observed_value`` is the smallest class size (the table's k); ``unexpected_count`` is the
    number of records in classes smaller than ``k`` — each has a prosecutor re-identification risk above 1/k.
    """

    column_list: list[str] = pydantic.Field(..., min_items=1, description="Quasi-identifier columns.")
    k: int = pydantic.Field(..., ge=1, description="Smallest class size allowed.")
    weight_column: str | None = pydantic.Field(None, description="Records each row stands for.")
    metric_dependencies = ("table.anonbench_k_anonymity",)
    success_keys = ("column_list", "k", "weight_column")
    domain_keys = ("batch_id", "row_condition", "condition_parser")
    args_keys = ("column_list", "k")
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}

    def _validate(self, metrics: dict, runtime_configuration: dict | None = None,
                  execution_engine: Any = None) -> dict:
        stats = metrics["table.anonbench_k_anonymity"]
        return {"success": stats["records_below_k"] == 0,
                "result": {"observed_value": stats["min_class_size"], "element_count": stats["records"],
                           "unexpected_count": stats["records_below_k"], "details": dict(stats)}}
