"""Validation results: one frozen row per expectation per stage, and their Arrow schema.

A row carries counts, column names and the expectation's declared parameters — never a data value. Rows of
the same expectation on several shards are merged (:func:`merge_shards`) into one row per stage.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

RESULT_SCHEMA = pa.schema([
    ("stage", pa.string()),            # raw | anon-<chain>
    ("table", pa.string()),
    ("expectation", pa.string()),      # GX snake_case type (custom ones included)
    ("columns", pa.string()),          # comma-separated; "" for table-level expectations
    ("kwargs", pa.string()),           # JSON of the declared parameters (never data values)
    ("scope", pa.string()),            # shard: GX per shard, merged; run: computed across all shards
    ("success", pa.bool_()),
    ("shards", pa.int64()),
    ("unexpected_count", pa.int64()),
    ("element_count", pa.int64()),
    ("missing_count", pa.int64()),
    ("observed", pa.float64()),        # numeric observations only (row count, smallest class, ...)
    ("error", pa.string()),            # exception *type* when an expectation could not run; never a message
    ("seconds", pa.float64()),
])


def kwargs_json(kwargs: Mapping[str, Any]) -> str:
    return json.dumps({k: v for k, v in sorted(kwargs.items()) if v is not None}, sort_keys=True, default=str)


def columns_of(kwargs: Mapping[str, Any]) -> str:
    """The column(s) an expectation is about; table-level expectations have none."""
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return ",".join(kwargs["column_list"])
    if "column_A" in kwargs:
        return f"{kwargs['column_A']},{kwargs['column_B']}"
    return ""


@dataclass(frozen=True)
class Outcome:
    """The result of one expectation on one stage's table (on one shard, or merged over all shards)."""

    table: str
    expectation: str
    columns: str
    kwargs: str
    success: bool
    unexpected_count: int | None = None
    element_count: int | None = None
    missing_count: int | None = None
    observed: float | None = None
    error: str | None = None
    seconds: float = 0.0
    shards: int = 1
    scope: str = "shard"
    mostly: float = 1.0

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.table, self.expectation, self.columns, self.kwargs)


def _sum(values: Iterable[int | None]) -> int | None:
    vals = [v for v in values if v is not None]
    return int(sum(vals)) if vals else None


def merge_shards(outcomes: Sequence[Outcome]) -> Outcome:
    """One outcome from the same expectation on several shards.

    Map expectations (with counts) are re-decided on the summed counts with their ``mostly``; others pass
    when every shard passes. ``element_count`` is the rows checked, summed. The observation of a merged row is the sum for counts-like observations (rows)
    and the minimum otherwise (smallest class, ...): see ``SUMMED_OBSERVATIONS``.
    """
    first = outcomes[0]
    if len(outcomes) == 1:
        return first
    # rows add up over shards; for a table-level check (columns, types) the same columns fail on every shard
    unexpected = (_sum(o.unexpected_count for o in outcomes) if _is_map(first) or first.scope != "shard"
                  else max((o.unexpected_count for o in outcomes if o.unexpected_count is not None), default=None))
    element = _sum(o.element_count for o in outcomes)
    missing = _sum(o.missing_count for o in outcomes)
    errors = sorted({o.error for o in outcomes if o.error})
    if errors:
        success = False
    elif unexpected is not None and element is not None and first.scope == "shard" and _is_map(first):
        nonnull = element - (missing or 0)
        success = nonnull == 0 or (nonnull - unexpected) / nonnull >= first.mostly
    else:
        success = all(o.success for o in outcomes)
    obs = [o.observed for o in outcomes if o.observed is not None]
    if not obs:
        observed = None
    elif first.expectation in SUMMED_OBSERVATIONS:
        observed = float(sum(obs))
    else:
        observed = float(min(obs))
    return replace(first, success=bool(success), unexpected_count=unexpected, element_count=element,
                   missing_count=missing, observed=observed, error=",".join(errors) or None,
                   seconds=float(sum(o.seconds for o in outcomes)), shards=sum(o.shards for o in outcomes))


SUMMED_OBSERVATIONS = frozenset({"expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"})


def _is_map(o: Outcome) -> bool:
    return o.expectation.startswith(("expect_column_values_", "expect_column_value_", "expect_compound_",
                                     "expect_multicolumn_values_", "expect_select_column_"))


def merge_all(outcomes: Iterable[Outcome]) -> list[Outcome]:
    """Merge shard outcomes by (table, expectation, columns, kwargs), keeping first-seen order."""
    groups: dict[tuple[str, str, str, str], list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.key, []).append(o)
    return [merge_shards(g) for g in groups.values()]


def to_table(stage: str, outcomes: Sequence[Outcome]) -> pa.Table:
    """Arrow table in ``RESULT_SCHEMA``, sorted by table, scope and expectation for stable output."""
    rows = sorted(outcomes, key=lambda o: (o.table, o.scope != "shard", o.expectation, o.columns, o.kwargs))
    cols: dict[str, list[Any]] = {f.name: [] for f in RESULT_SCHEMA}
    for o in rows:
        cols["stage"].append(stage)
        for name in RESULT_SCHEMA.names[1:]:
            if name != "stage":
                cols[name].append(getattr(o, name))
    return pa.table(cols, schema=RESULT_SCHEMA)
