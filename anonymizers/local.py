"""Running a chain over Arrow batches without Beam: the per-batch core shared with ``pipelines.anonymize``.

* :func:`apply_steps` pushes one batch of one table through the chain (or its first ``stop`` steps) and
  counts the rows each step removed;
* :func:`step_partial` is the first-pass input of a stateful step: the batch as it stands at that step,
  reduced to the step's ``partial``;
* :func:`run_chain` is the whole local loop (states in order, then every batch, then aggregate releases) —
  used by tests, benchmarks and notebooks. The Beam pipeline does the same with one element per shard and
  ``CombinePerKey`` for the first passes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from anonymizers.base import BatchContext
from anonymizers.chain import Chain, Step

Batch = tuple[int, int, pa.Table]
"""(shard, batch number within the shard, data)."""


class StepFailed(RuntimeError):
    """An anonymizer raised on a batch. The message names the step, table and shard and the error's type,
    but not the error's own message, which may quote data values; the original error is chained (and so
    shown in tracebacks and runner logs) only when ``ANONBENCH_DEBUG`` is set."""


def _failed(step: Step, table: str, shard: int, e: Exception) -> StepFailed:
    err = StepFailed(f"{step.label} failed on table {table!r}, shard {shard}: {type(e).__name__} "
                     "(message withheld: it may quote data values; set ANONBENCH_DEBUG=1 to see it)")
    err.__cause__ = e if os.environ.get("ANONBENCH_DEBUG") else None
    err.__suppress_context__ = True
    return err


@dataclass
class TableStats:
    """Rows in and out of one table, and the rows each step removed (by step label)."""

    rows_in: int = 0
    rows_out: int = 0
    dropped_by_step: dict[str, int] = field(default_factory=dict)

    def add(self, other: TableStats) -> TableStats:
        dropped = dict(self.dropped_by_step)
        for k, v in other.dropped_by_step.items():
            dropped[k] = dropped.get(k, 0) + v
        return TableStats(self.rows_in + other.rows_in, self.rows_out + other.rows_out, dropped)

    def as_dict(self) -> dict[str, Any]:
        return {"rows_in": self.rows_in, "rows_out": self.rows_out, "dropped_by_step": dict(self.dropped_by_step)}


def apply_steps(chain: Chain, table: str, batch: pa.Table, states: Mapping[int, Any], shard: int = 0,
                batch_no: int = 0, stop: int | None = None) -> tuple[pa.Table | None, TableStats]:
    """``batch`` of ``table`` after the chain's steps [0, stop); ``None`` once the table is not released."""
    stats = TableStats(rows_in=batch.num_rows)
    for step in chain.steps[:stop]:
        if table not in step.tables:
            continue
        ctx = BatchContext(table, step.columns.get(table, ()), shard, batch_no, states.get(step.index))
        before = batch.num_rows
        try:
            out = step.anonymizer.apply(batch, ctx)
        except Exception as e:
            raise _failed(step, table, shard, e)  # noqa: B904 - the cause is chained only when debugging
        if out is None:
            stats.dropped_by_step[step.label] = before
            return None, stats
        if out.num_rows != before:
            stats.dropped_by_step[step.label] = before - out.num_rows
        batch = out
    stats.rows_out = batch.num_rows
    return batch, stats


def step_partial(chain: Chain, step: Step, table: str, batch: pa.Table, states: Mapping[int, Any],
                 shard: int = 0, batch_no: int = 0) -> Any | None:
    """The first-pass partial of a stateful ``step`` for one batch (``None`` if the table is gone by then)."""
    data, _ = apply_steps(chain, table, batch, states, shard, batch_no, stop=step.index)
    if data is None:
        return None
    try:
        return step.anonymizer.partial(data, BatchContext(table, step.columns[table], shard, batch_no))
    except Exception as e:
        raise _failed(step, table, shard, e)  # noqa: B904 - the cause is chained only when debugging


def first_pass_tables(step: Step) -> list[str]:
    return [t for t in step.anonymizer.state_tables({t: list(c) for t, c in step.columns.items()})]


@dataclass
class ChainOutput:
    """What :func:`run_chain` returns: released tables, row counts and the stateful steps' reports."""

    tables: dict[str, pa.Table]
    stats: dict[str, TableStats]
    reports: dict[str, dict[str, Any]]


def _batches(data: pa.Table | list[pa.Table]) -> list[Batch]:
    parts = data if isinstance(data, list) else [data]
    return [(i, 0, t) for i, t in enumerate(parts)]


def compute_states(chain: Chain, inputs: Mapping[str, Iterable[Batch] | Callable[[], Iterable[Batch]]]
                   ) -> tuple[dict[int, Any], dict[int, Any]]:
    """(apply states, raw merged partials of aggregating steps), step by step in chain order.

    ``inputs`` maps a table to its batches, or to a function returning a fresh iterator over them (so that
    big tables are streamed from disk once per stateful step instead of held in memory)."""
    states: dict[int, Any] = {}
    merged_by_step: dict[int, Any] = {}
    for step in chain.steps:
        if not step.stateful:
            continue
        merged: dict[str, Any] = {}
        for table in first_pass_tables(step):
            source = inputs.get(table, [])
            for shard, no, batch in (source() if callable(source) else source):
                part = step_partial(chain, step, table, batch, states, shard, no)
                if part is not None:
                    merged[table] = step.anonymizer.merge(merged[table], part) if table in merged else part
        merged_by_step[step.index] = merged
        if not step.releases:
            states[step.index] = step.anonymizer.finalize(merged)
    return states, merged_by_step


def run_chain(chain: Chain, tables: Mapping[str, pa.Table | list[pa.Table]]) -> ChainOutput:
    """Apply ``chain`` to in-memory tables (each a table or a list of shards)."""
    inputs = {t: _batches(d) for t, d in tables.items()}
    states, merged = compute_states(chain, inputs)
    out: dict[str, pa.Table] = {}
    stats: dict[str, TableStats] = {}
    for table, batches in inputs.items():
        parts = []
        total = TableStats()
        for shard, no, batch in batches:
            res, st = apply_steps(chain, table, batch, states, shard, no)
            total = total.add(st)
            if res is not None:
                parts.append(res)
        stats[table] = total
        if parts:
            out[table] = pa.concat_tables(parts)
    reports: dict[str, dict[str, Any]] = {}
    for step in chain.steps:
        if step.shard_release:
            state = step.anonymizer.finalize(merged[step.index])
            release = step.anonymizer.fit_release(state)
            shards: dict[str, list[pa.Table]] = {}
            for i in range(step.anonymizer.release_shards(release)):
                for t, tab in step.anonymizer.release_shard(release, i).items():
                    shards.setdefault(t, []).append(tab.select(chain.output_schemas[t].names)
                                                    .cast(chain.output_schemas[t]))
            for t in step.released_tables:
                out[t] = pa.concat_tables(shards[t]) if t in shards else chain.output_schemas[t].empty_table()
                stats[t] = TableStats(rows_out=out[t].num_rows)
            reports[step.label] = {"budget": step.anonymizer.budget(), **step.anonymizer.report(release)}
        elif isinstance(step.releases, str):
            (table, _), = step.columns.items()
            pre = merged[step.index].get(table)
            if pre is None:
                continue
            released = step.anonymizer.release_local(pre)  # type: ignore[attr-defined]
            out[step.releases] = released
            stats[step.releases] = TableStats(rows_in=pre.num_rows, rows_out=released.num_rows)
            reports[step.label] = {"budget": step.anonymizer.budget(),  # type: ignore[attr-defined]
                                   "partitions_released": released.num_rows}
        elif step.stateful:
            reports[step.label] = step.anonymizer.report(states[step.index])
    return ChainOutput(out, stats, reports)
