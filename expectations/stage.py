"""Validate one shard, and finish a stage from its shards' results — the two halves the pipeline runs
(per shard in parallel, then once per stage). :func:`validate_stage` chains them in a plain loop, for
notebooks and tests.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from expectations.aggregate import ShardPartial, decide_stage, shard_partial
from expectations.engine import GxValidator, arrow_to_pandas
from expectations.plan import StagePlan
from expectations.results import Outcome, merge_all


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


def validate_shard(validator: GxValidator, plan: StagePlan, table: str, path: str | Path) -> ShardResult:
    """Read one shard, run the table's suite on it with GX and collect its partial statistics."""
    t0 = time.perf_counter()
    suite = plan.tables[table]
    df = arrow_to_pandas(pq.read_table(path))
    outcomes = validator.validate(df, suite.expectations, table, suite_name=plan.suite_name(table))
    partial = shard_partial(df, table, suite.partial)
    return ShardResult(plan.stage, table, Path(path).name, len(df), tuple(outcomes), partial,
                       time.perf_counter() - t0)


def finish_stage(plan: StagePlan, results: Iterable[ShardResult]) -> list[Outcome]:
    """Merge the shards' outcomes per expectation and decide the run-wide checks."""
    results = sorted(results, key=lambda r: (r.table, r.shard))
    merged = merge_all(o for r in results for o in r.outcomes)
    return merged + decide_stage(plan, [r.partial for r in results])


def shard_tasks(plan: StagePlan, run: str | Path) -> list[tuple[str, str]]:
    """(table, shard path) of every shard of the stage's tables, in chunk order."""
    base = Path(run) / plan.source
    return [(t, str(p)) for t in sorted(plan.tables)
            for p in sorted((base / t).glob("part-*.parquet")) if not p.name.startswith(".tmp-")]


def validate_stage(plan: StagePlan, run: str | Path, validator: GxValidator | None = None) -> list[Outcome]:
    """Validate a stage in this process (no Beam): every shard, then the run-wide checks."""
    validator = validator or GxValidator()
    results: Sequence[ShardResult] = [validate_shard(validator, plan, t, p) for t, p in shard_tasks(plan, run)]
    return finish_stage(plan, results)


def stage_passed(outcomes: Iterable[Outcome]) -> bool:
    return all(o.success for o in outcomes)
