"""Benchmark of ``anonbench validate``: GX suites on raw and every chain, per stage, with 1 and 2 workers.

``run(out_dir, quick)`` generates a run (``configs/ci.yaml``; 200k events when quick, 1M — the embedded
default's size — otherwise) unless ``ANONBENCH_BENCH_RUN`` names an existing run (``make bench`` passes the
generation benchmark's), adds the ``none`` and ``generalize`` chains when missing, then times
``pipelines.validate.validate_run`` on raw and every chain present, in this process. Reported: wall seconds per run and per
stage, seconds per 250k validated rows, expectations per stage, peak RSS; and, as the reference measured in
the same run, plain GX 1.x checking 15 core expectations on one 250k-row events frame (issue 5 measured
about 2 s on one core) next to anonbench's engine on the same suite (CPU seconds, so a busy machine does not
skew the ratio). Target (issue 5): validation under 40% of the whole default run's wall time.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
CHAINS = ("none", "generalize")  # made when missing; every chain already in the run is validated too


def _cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "anonbench.cli", *args], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)


def prepare(out_dir: Path, events: int, chains: tuple[str, ...]) -> Path:
    env = {**os.environ, "ANONBENCH_KEY": os.environ.get("ANONBENCH_KEY", "bench-only-key-0123456789abcdef")}
    given = os.environ.get("ANONBENCH_BENCH_RUN")
    run = Path(given) if given else out_dir / f"validate-run-{events}"
    if not (run / "manifest.json").is_file():
        _cli("generate", "--config", "configs/ci.yaml", "--out", str(run), "--events", str(events),
             "--overwrite", "--", "--direct_num_workers=2", env=env)
    for chain in chains:
        if not (run / "anon" / chain).is_dir():
            _cli("anonymize", "--run", str(run), "--chain", chain, env=env)
    return run


def _core_specs(columns: list[str]) -> list[Any]:
    """15 core GX expectations on events (e-mail scans as GX's own not-match-regex)."""
    from expectations.engine import ExpectationSpec as E
    from expectations.forms import EMAIL_REGEX

    specs = [E("expect_table_columns_to_match_set", {"column_set": columns, "exact_match": False})]
    specs += [E("expect_column_values_to_not_be_null", {"column": c})
              for c in ("event_id", "event_time", "org_id", "account_id", "product", "action", "outcome")]
    specs += [E("expect_column_values_to_be_in_set", {"column": c, "value_set": v}) for c, v in (
        ("product", ["jira", "confluence", "bitbucket", "admin"]), ("outcome", ["success", "failure", "denied"]),
        ("auth_type", ["sso", "password", "oauth", "api_token"]))]
    specs += [E("expect_column_values_to_match_regex", {"column": "action", "regex": r"^[a-z_]+\.[a-z_]+"}),
              E("expect_column_values_to_be_unique", {"column": "event_id"}),
              E("expect_column_values_to_not_match_regex", {"column": "actor_email", "regex": EMAIL_REGEX}),
              E("expect_column_values_to_not_match_regex", {"column": "user_agent", "regex": EMAIL_REGEX})]
    return specs


def gx_reference(run: Path, rows: int = 250_000) -> dict[str, Any]:
    """The same 15 core expectations on one events frame of ``rows`` rows, one core: plain GX 1.x (fluent
    ``batch.validate``, default settings, ``table.to_pandas()``) against anonbench's engine."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations.engine import RESULT_FORMAT, GxValidator, arrow_to_pandas

    parts = sorted((run / "raw" / "events").glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts]).slice(0, rows)
    specs = _core_specs(table.column_names)
    context = gx.get_context(mode="ephemeral")
    batch_def = context.data_sources.add_pandas("ref").add_dataframe_asset("events") \
        .add_batch_definition_whole_dataframe("all")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)  # console noise only
    suite = gx.ExpectationSuite(name="reference")
    for i, spec in enumerate(specs):
        suite.add_expectation(spec.build(i))
    small = table.slice(0, 1000).to_pandas()
    batch_def.get_batch(batch_parameters={"dataframe": small}).validate(suite, result_format=RESULT_FORMAT)  # warm-up
    t0 = time.process_time()
    plain = batch_def.get_batch(batch_parameters={"dataframe": table.to_pandas()}).validate(
        suite, result_format=RESULT_FORMAT)
    plain_s = time.process_time() - t0
    validator = GxValidator()
    validator.validate(small, specs, "events", suite_name="reference")  # warm-up
    t0 = time.process_time()
    ours = validator.validate(arrow_to_pandas(table), specs, "events", suite_name="reference")
    ours_s = time.process_time() - t0
    return {"rows": table.num_rows, "expectations": len(specs), "plain_gx_cpu_seconds": round(plain_s, 3),
            "anonbench_engine_cpu_seconds": round(ours_s, 3),
            "same_verdicts": [r.success for r in sorted(plain.results, key=lambda r: r.expectation_config.meta[
                "anonbench_index"])] == [o.success for o in ours]}


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    from expectations.params import ValidationParams
    from pipelines.validate import validate_run

    events = 200_000 if quick else 1_000_000
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = prepare(out_dir, events, CHAINS)
    chains = sorted(p.name for p in (run_dir / "anon").iterdir() if p.is_dir())
    events = sum(pq.ParquetFile(p).metadata.num_rows for p in run_dir.glob("raw/events/part-*.parquet"))
    results: dict[str, Any] = {"events": events, "chains": chains, "run": str(run_dir), "by_workers": {}}
    for workers in (1, 2):
        t0 = time.perf_counter()
        res = validate_run(run_dir, params=ValidationParams(), workers=workers)
        wall = time.perf_counter() - t0
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in run_dir.glob("raw/*/part-*.parquet"))
        rows += sum(pq.ParquetFile(p).metadata.num_rows for p in run_dir.glob("anon/*/*/part-*.parquet"))
        results["by_workers"][str(workers)] = {
            "wall_seconds": round(wall, 2), "validated_rows": rows,
            "seconds_per_250k_rows": round(wall / rows * 250_000, 3), "rows_per_second": round(rows / wall),
            "passed": res["passed"],
            "stages": {s: {k: v[k] for k in ("role", "passed", "expectations", "failed", "seconds")}
                       for s, v in res["stages"].items()}}
    results["reference_15_core_expectations_250k_rows"] = gx_reference(run_dir)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["peak_rss_children_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(ROOT / "runs" / "bench", quick="--full" not in sys.argv), indent=2))
