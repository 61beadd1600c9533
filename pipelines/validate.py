"""``anonbench validate`` on Beam: one element per shard, validated in parallel, aggregated per stage.

Stages are ``raw`` (the raw tables' suites) and ``anon-<chain>`` (the chain's privacy contract). Each shard is
read, turned into a pandas frame and checked by Great Expectations in a worker that built its GX context once
(``DoFn.setup``); the shard also yields hashes and counts for the checks that need all shards (uniqueness,
references, row counts, k-anonymity). Per stage, the results are merged and written atomically to
``RUN/validation/<stage>.parquet``; then the Data Docs and the manifest's ``validation`` section.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq

from expectations.contract import ChainSpec, contract_plan
from expectations.docs import write_docs
from expectations.params import ValidationParams
from expectations.plan import StagePlan
from expectations.results import RESULT_SCHEMA, to_table
from expectations.stage import ShardResult, finish_stage, shard_tasks, validate_shard
from expectations.suites import raw_plan
from pipelines import commit, manifest
from pipelines.integrity import require_intact
from pipelines.manifest import RunError
from pipelines.options import converge, default_workers, make_pipeline_options
from pipelines.runio import read_parquet, shards, write_parquet_atomic
from runformat import layout
from runformat import manifest as keys
from runformat.layout import RunDir


class ValidateShardFn(beam.DoFn):
    """(stage, table, shard paths) -> (stage, ShardResult); one GX context per worker."""

    def __init__(self, plans: Mapping[str, StagePlan]) -> None:
        self.plans = dict(plans)
        self.validator: Any = None

    def setup(self) -> None:
        from expectations.engine import GxValidator

        self.validator = GxValidator()

    def process(self, task: tuple[str, str, tuple[str, ...]]) -> Iterator[tuple[str, ShardResult]]:
        stage, table, paths = task
        yield stage, validate_shard(self.validator, self.plans[stage], table, paths)


class FinishStageFn(beam.DoFn):
    """(stage, [ShardResult]) -> merged outcomes and run-wide checks, written to validation/<stage>.parquet."""

    def __init__(self, plans: Mapping[str, StagePlan], run: str) -> None:
        self.plans = dict(plans)
        self.run = run

    def process(self, element: tuple[str, Iterable[ShardResult]]) -> Iterator[str]:
        stage, results = element
        outcomes = finish_stage(self.plans[stage], list(results))
        write_parquet_atomic(to_table(stage, outcomes), RunDir(self.run).validation(stage))
        yield stage


class ValidateShards(beam.PTransform):
    """Shard tasks -> one results file per stage (the stage names come out)."""

    def __init__(self, plans: Mapping[str, StagePlan], run: str) -> None:
        super().__init__()
        self.plans = dict(plans)
        self.run = run

    def expand(self, tasks: beam.PCollection) -> beam.PCollection:
        return (tasks
                | "Spread" >> beam.Reshuffle()
                | "ValidateShard" >> beam.ParDo(ValidateShardFn(self.plans))
                | "ByStage" >> beam.GroupByKey()
                | "FinishStage" >> beam.ParDo(FinishStageFn(self.plans, self.run)))


# --- planning (driver side) -----------------------------------------------------------------------------

def table_schemas(folder: Path) -> dict[str, pa.Schema]:
    """Table -> schema of its first shard, for every table folder with shards."""
    out = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []:
        parts = shards(sub)
        if parts:
            out[sub.name] = pq.read_schema(parts[0])
    return out


def table_rows(folder: Path) -> dict[str, int]:
    return {t.name: sum(pq.ParquetFile(p).metadata.num_rows for p in shards(t))
            for t in sorted(folder.iterdir()) if t.is_dir() and shards(t)} if folder.is_dir() else {}


def chain_spec(name: str, section: Mapping[str, Any]) -> tuple[ChainSpec, dict[str, list[str]] | None]:
    """The chain as the manifest records it (steps with public parameters and flags; declared schemas)."""
    steps = [{"use": s["use"], "columns": s.get("columns") or {}, "with": s.get("with") or {},
              "row_preserving": (s.get("flags") or {}).get("row_preserving")} for s in section.get("steps", [])]
    spec = ChainSpec.from_mapping({"name": name, "role": section.get("role"), "steps": steps})
    schemas = section.get("output_schemas")
    declared = ({t: [str(c).split(":", 1)[0].strip() for c in cols] for t, cols in schemas.items()}
                if isinstance(schemas, Mapping) else None)
    return spec, declared


def build_plans(run: Path, man: Mapping[str, Any], chain: str | None, params: ValidationParams) -> list[StagePlan]:
    """Plans of the stages to validate: raw (unless one chain is asked for) and each anonymized chain."""
    rd = RunDir(run)
    raw_schemas = table_schemas(rd.raw())
    plans: list[StagePlan] = []
    if chain is None and params.raw:
        generate = keys.section(man, keys.CONFIG).get("generate")
        imported = keys.section(man, keys.IMPORT).get("columns") if man.get(keys.KIND) == keys.IMPORT_KIND \
            else None
        plans.append(raw_plan(raw_schemas, generate, params, imported=imported))
    recorded = keys.section(man, keys.CHAINS)
    names = [chain] if chain else sorted(p.name for p in rd.anon().iterdir() if p.is_dir()) \
        if rd.anon().is_dir() else []
    rows = table_rows(rd.raw())
    for name in names:
        if name not in recorded:
            raise RunError(f"--chain {name}: not anonymized in this run (no manifest record; "
                              f"chains: {', '.join(sorted(recorded)) or 'none'})")
        spec, declared = chain_spec(name, recorded[name])
        plans.append(contract_plan(spec, table_schemas(rd.anon(name)), raw_schemas, rows, params,
                                   declared))
    return plans


# --- running ------------------------------------------------------------------------------------------

def run_stages(run: Path, plans: Sequence[StagePlan], runner: str | None = None, beam_args: Sequence[str] = (),
               workers: int | None = None, out: Path | None = None) -> None:
    """Validate the shards of ``run``; results go to ``out/validation/<stage>.parquet`` (``out``: the run)."""
    out = run if out is None else out
    tasks = [(plan.stage, t, p) for plan in plans for t, p in shard_tasks(plan, run)]
    by_stage = {plan.stage: plan for plan in plans}
    rows = sum(pq.ParquetFile(p).metadata.num_rows for _, _, paths in tasks for p in paths)
    n_workers = workers if workers is not None else default_workers(len(tasks), rows)
    runner_obj, options = make_pipeline_options(runner, beam_args, workers=n_workers)
    with beam.Pipeline(runner=runner_obj, options=options) as p:
        _ = (p
             | "ShardTasks" >> beam.Create(tasks, reshuffle=False)
             | "Validate" >> ValidateShards(by_stage, str(out)))
        converge(p)
    # A stage with no shard at all still gets its (failing) run-wide checks and a results file.
    for plan in plans:
        if not any(s == plan.stage for s, _, _ in tasks):
            write_parquet_atomic(to_table(plan.stage, finish_stage(plan, [])), RunDir(out).validation(plan.stage))


def read_results(run: Path, stage: str) -> pa.Table:
    return read_parquet(RunDir(run).validation(stage), schema=RESULT_SCHEMA)


def stage_summary(plan: StagePlan, table: pa.Table) -> dict[str, Any]:
    rows = table.to_pylist()
    failed = [r for r in rows if not r["success"]]
    return {"role": plan.role, "passed": not failed, "expectations": len(rows), "failed": len(failed),
            "failures": [f"{r['table']}: {r['expectation']}({r['columns']})" for r in failed],
            "shards": max((r["shards"] for r in rows), default=0),
            "seconds": round(sum(r["seconds"] for r in rows), 3),
            "file": layout.validation_rel(plan.stage)}


def validate_run(run: str | Path, chain: str | None = None, runner: str | None = None,
                 beam_args: Sequence[str] = (), params: ValidationParams | None = None,
                 workers: int | None = None) -> dict[str, Any]:
    """Validate a complete run: raw and every anonymized chain, or only ``chain``.

    Returns ``{"passed", "stages": {stage: {role, passed, expectations, failed, failures, ...}}, "seconds",
    "docs"}``. ``passed`` is True when the raw stage and every *candidate* chain pass; a *control* chain is
    expected to break its contract, so its stage is reported (``passed`` False means it was caught) but does
    not fail the run. Raises :class:`RunError` (exit 2) for a missing, incomplete or damaged run and for a
    chain that was not anonymized in it.
    """
    t0 = time.perf_counter()
    run = Path(run)
    require_intact(run, [layout.RAW, layout.ANON] if chain is None else [layout.RAW, layout.anon_rel(chain)])
    man = manifest.load(run)
    if params is None:
        params = ValidationParams.model_validate(keys.section(man, keys.CONFIG).get("validation") or {})
    plans = build_plans(run, man, chain, params)
    with commit.staging(run) as area:  # results written beside the run, committed with one rename
        run_stages(run, plans, runner, beam_args, workers if workers is not None else params.workers, out=area)
        stages = {plan.stage: stage_summary(plan, read_results(area, plan.stage)) for plan in plans}
        # One chain only: the other stages' results stay; a full validation replaces every earlier result.
        current, staged = RunDir(run), RunDir(area)
        recorded = keys.section(man, keys.VALIDATION)
        earlier = {} if chain is None else {k: v for k, v in recorded.items()
                                            if k not in stages and current.validation(k).is_file()}
        docs_dir = staged.docs
        if params.docs:
            roles = {**{k: v.get("role", "") for k, v in earlier.items()},
                     **{k: v["role"] for k, v in stages.items()}}
            files = {**{k: current.validation(k) for k in earlier}, **{k: staged.validation(k) for k in stages}}
            write_docs(docs_dir, {k: (roles.get(k, ""), read_parquet(f, schema=RESULT_SCHEMA))
                                  for k, f in sorted(files.items())})
        seconds = time.perf_counter() - t0
        section = {**earlier, **{k: {**v, "wall_seconds": round(seconds, 3)} for k, v in stages.items()}}
        replace = [layout.VALIDATION] if chain is None else \
            [layout.validation_rel(k) for k in stages] + ([layout.DOCS] if params.docs else [])
        commit.commit(run, lambda m: {**m, keys.VALIDATION: section}, staged=area, replace=replace)
    docs_dir = RunDir(run).docs
    passed = all(s["passed"] for s in stages.values() if s["role"] != "control")
    return {"passed": passed, "stages": stages, "seconds": seconds,
            "docs": str(docs_dir / "index.html") if params.docs else None}


__all__ = ["ValidateShards", "build_plans", "validate_run"]
