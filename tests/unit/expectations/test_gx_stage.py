from __future__ import annotations

import gx_fakes as fakes
import pyarrow.parquet as pq

from expectations.stage import finish_stage, shard_tasks, stage_passed, validate_shard
from expectations.suites import raw_plan
from generators.schema import RAW_TABLES


def plan_for(run, tables):
    return raw_plan(RAW_TABLES, {**fakes.GENERATE, "events": tables["events"].num_rows})


def test_small_shards_share_a_task_large_ones_do_not(tmp_path):
    tables = fakes.make_run(tmp_path, shards=4)
    plan = plan_for(tmp_path, tables)
    tasks = dict(shard_tasks(plan, tmp_path))
    assert len(tasks["events"]) == 4  # all four small shards in one task
    split = [t for t in shard_tasks(plan, tmp_path, max_rows=60) if t[0] == "events"]
    rows = [sum(pq.ParquetFile(p).metadata.num_rows for p in paths) for _, paths in split]
    assert len(split) == 4 and sum(rows) == tables["events"].num_rows


def test_shard_by_shard_equals_one_task(tmp_path, gx_validator):
    tables = fakes.make_run(tmp_path, shards=2)
    plan = plan_for(tmp_path, tables)
    apart = [validate_shard(gx_validator, plan, t, p) for t, paths in shard_tasks(plan, tmp_path, max_rows=1)
             for p in paths]
    together = [validate_shard(gx_validator, plan, t, paths) for t, paths in shard_tasks(plan, tmp_path)]

    def key(outcomes):
        return sorted((o.table, o.expectation, o.columns, o.kwargs, o.success, o.unexpected_count,
                       o.element_count, o.shards) for o in outcomes)

    a, b = finish_stage(plan, apart), finish_stage(plan, together)
    assert key(a) == key(b) and stage_passed(a)
