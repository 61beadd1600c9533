"""What to validate, as plain data: per stage, a suite per table and the checks that need every shard.

A plan is made on the driver (from the run's manifest, schemas and chains) and shipped to the workers, which
turn each table's :class:`~expectations.engine.ExpectationSpec` list into a GX suite once. Checks that no
single shard can decide — key uniqueness, referential integrity, volumes, row counts against raw,
k-anonymity — are :class:`RunCheck` s: each shard contributes partial statistics (see
:mod:`expectations.aggregate`) and the stage's aggregate step decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from expectations.engine import ExpectationSpec

CheckKind = Literal["unique", "references", "row_count_between", "row_count_equal", "group_size_between",
                    "k_anonymous"]

# The GX-style name each run-wide check reports under.
CHECK_EXPECTATION: dict[str, str] = {
    "unique": "expect_column_values_to_be_unique",
    "references": "expect_column_values_to_exist_in_table",
    "row_count_between": "expect_table_row_count_to_be_between",
    "row_count_equal": "expect_table_row_count_to_equal",
    "group_size_between": "expect_column_value_counts_to_be_between",
    "k_anonymous": "expect_column_combination_to_be_k_anonymous",
}


@dataclass(frozen=True)
class RunCheck:
    """A check over all shards of a stage's table.

    ``params`` by kind — ``references``: ``to_table``, ``to_column``; ``row_count_between``: ``min_value``,
    ``max_value``; ``row_count_equal``: ``value`` (and ``of``: where the number comes from);
    ``group_size_between``: ``min_value``, ``max_value``; ``k_anonymous``: ``k``.
    """

    kind: CheckKind
    table: str
    columns: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def expectation(self) -> str:
        return CHECK_EXPECTATION[self.kind]


@dataclass(frozen=True)
class PartialSpec:
    """What one shard of a table contributes to the run-wide checks (hashes and counts, never values)."""

    key_hashes: tuple[str, ...] = ()        # per-row hashes: uniqueness
    value_counts: tuple[str, ...] = ()      # distinct-value hashes with row counts: references
    group_counts: tuple[tuple[str, ...], ...] = ()  # class sizes of column combinations


@dataclass(frozen=True)
class TableSuite:
    table: str
    expectations: tuple[ExpectationSpec, ...]
    partial: PartialSpec = PartialSpec()


@dataclass(frozen=True)
class StagePlan:
    """One stage (``raw`` or ``anon-<chain>``): where its tables are, their suites and run-wide checks.

    ``role`` is ``raw``, ``candidate`` or ``control``; a control chain is *expected* to break its contract.
    """

    stage: str
    role: str
    source: str                              # folder holding <table>/part-*.parquet, relative to the run
    tables: Mapping[str, TableSuite]
    checks: tuple[RunCheck, ...] = ()

    def suite_name(self, table: str) -> str:
        return f"{self.stage}.{table}"


def partial_specs(checks: tuple[RunCheck, ...]) -> dict[str, PartialSpec]:
    """The partial statistics each table must collect for ``checks``."""
    keys: dict[str, set[str]] = {}
    counts: dict[str, set[str]] = {}
    groups: dict[str, set[tuple[str, ...]]] = {}
    for c in checks:
        if c.kind == "unique":
            keys.setdefault(c.table, set()).update(c.columns)
        elif c.kind == "references":
            counts.setdefault(c.table, set()).update(c.columns)
            counts.setdefault(c.params["to_table"], set()).add(c.params["to_column"])
        elif c.kind in ("group_size_between", "k_anonymous"):
            groups.setdefault(c.table, set()).add(tuple(c.columns))
    tables = set(keys) | set(counts) | set(groups)
    return {t: PartialSpec(tuple(sorted(keys.get(t, ()))), tuple(sorted(counts.get(t, ()))),
                           tuple(sorted(groups.get(t, ())))) for t in tables}
