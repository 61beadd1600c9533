"""Validate one shard, and finish a stage from its shards' results — the two halves the pipeline runs
(per shard in parallel, then once per stage). :func:`validate_stage` chains them in a plain loop, for
notebooks and tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from expectations.aggregate import ShardPartial, decide_stage, shard_partial
from expectations.engine import GxValidator, arrow_to_pandas
from expectations.plan import StagePlan
from expectations.results import Outcome, merge_all
from runformat.layout import shards

ROWS_PER_TASK = 250_000


@dataclass(frozen=True)
class ShardResult:
    """What validating one shard produced: outcomes of the table's suite and partial statistics."""

    stage: str
    table: str
    shard: str
    rows: int
    outcomes: tuple[Outcome, ...]
    partial: ShardPartial
    seconds: float


def validate_shard(validator: GxValidator, plan: StagePlan, table: str,
                   paths: str | Path | Sequence[str | Path]) -> ShardResult:
    """Read one shard (or a few small ones of the same table, see :func:`shard_tasks`), run the table's suite
    on it with GX and collect its partial statistics."""
    t0 = time.perf_counter()
    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    suite = plan.tables[table]
    data = pa.concat_tables([pq.read_table(p, page_checksum_verification=True) for p in paths],
                            promote_options="permissive")
    df = arrow_to_pandas(data)
    outcomes = validator.validate(df, suite.expectations, table, suite_name=plan.suite_name(table))
    outcomes = [replace(o, shards=len(paths)) for o in outcomes]
    partial = shard_partial(df, table, suite.partial, shards=len(paths))
    return ShardResult(plan.stage, table, Path(paths[0]).name, len(df), tuple(outcomes), partial,
                       time.perf_counter() - t0)


def finish_stage(plan: StagePlan, results: Iterable[ShardResult]) -> list[Outcome]:
    """Merge the shards' outcomes per expectation and decide the run-wide checks."""
    results = sorted(results, key=lambda r: (r.table, r.shard))
    merged = merge_all(o for r in results for o in r.outcomes)
    return merged + decide_stage(plan, [r.partial for r in results])


def shard_tasks(plan: StagePlan, run: str | Path, max_rows: int = ROWS_PER_TASK) -> list[tuple[str, tuple[str, ...]]]:
    """(table, shard paths) tasks covering every shard of the stage's tables, in chunk order.

    A task is one shard, or consecutive small shards of one table up to ``max_rows`` rows together: GX spends
    ~15 ms per expectation whatever the size, so a 100-row shard is not worth a validation of its own.
    """
    base = Path(run) / plan.source
    tasks: list[tuple[str, tuple[str, ...]]] = []
    for t in sorted(plan.tables):
        group: list[str] = []
        rows = 0
        for p in shards(base / t):
            n = pq.ParquetFile(p).metadata.num_rows
            if group and rows + n > max_rows:
                tasks.append((t, tuple(group)))
                group, rows = [], 0
            group.append(str(p))
            rows += n
        if group:
            tasks.append((t, tuple(group)))
    return tasks


def validate_stage(plan: StagePlan, run: str | Path, validator: GxValidator | None = None) -> list[Outcome]:
    """Validate a stage in this process (no Beam): every shard, then the run-wide checks."""
    validator = validator or GxValidator()
    results: Sequence[ShardResult] = [validate_shard(validator, plan, t, p) for t, p in shard_tasks(plan, run)]
    return finish_stage(plan, results)


def stage_passed(outcomes: Iterable[Outcome]) -> bool:
    return all(o.success for o in outcomes)
