"""Benchmark of ``anonbench validate``: GX suites on raw and every chain, per stage, with 1 and 2 workers.

``run(out_dir, quick)`` generates a run (``configs/ci.yaml``; 200k events when quick, 1M — the embedded
default's size — otherwise) unless ``ANONBENCH_BENCH_RUN`` names an existing run, anonymizes the chains it
lacks, then times ``pipelines.validate.validate_run`` in this process. Reported: wall seconds per run and per
stage, seconds per 250k validated rows, expectations per stage, peak RSS; and, as the reference measured in
the same run, plain GX 1.x checking 15 core expectations on one 250k-row events frame (issue 5 measured
about 2 s on one core). Target (issue 5): validation under 40% of the whole default run's wall time.
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
CHAINS = ("none", "naive-hash", "pseudonymize", "generalize", "kanon", "dp-aggregates")
QUICK_CHAINS = ("none", "generalize")


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


def gx_reference(run: Path, rows: int = 250_000) -> dict[str, Any]:
    """Plain GX: 15 core expectations on one events frame of ``rows`` rows, one call, one core."""
    from expectations.engine import ExpectationSpec as E
    from expectations.engine import GxValidator, arrow_to_pandas

    parts = sorted((run / "raw" / "events").glob("part-*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts]).slice(0, rows)
    df = arrow_to_pandas(table)
    specs = [E("expect_table_columns_to_match_set", {"column_set": table.column_names, "exact_match": False})]
    specs += [E("expect_column_values_to_not_be_null", {"column": c})
              for c in ("event_id", "event_time", "org_id", "account_id", "product", "action", "outcome")]
    specs += [E("expect_column_values_to_be_in_set", {"column": "product", "value_set": ["jira", "confluence",
                                                                                          "bitbucket", "admin"]}),
              E("expect_column_values_to_be_in_set", {"column": "outcome", "value_set": ["success", "failure",
                                                                                          "denied"]}),
              E("expect_column_values_to_be_in_set", {"column": "auth_type", "value_set": ["sso", "password",
                                                                                            "oauth", "api_token"]}),
              E("expect_column_values_to_match_regex", {"column": "action", "regex": r"^[a-z_]+\.[a-z_]+"}),
              E("expect_column_values_to_be_unique", {"column": "event_id"}),
              E("expect_column_values_to_not_be_email_addresses", {"column": "actor_email"}),
              E("expect_column_values_to_not_be_email_addresses", {"column": "user_agent"})]
    validator = GxValidator()
    validator.validate(df.head(1000), specs, "events")  # warm-up: metric registry, suite objects
    t0 = time.perf_counter()
    validator.validate(df, specs, "events")
    return {"rows": len(df), "expectations": len(specs), "seconds": round(time.perf_counter() - t0, 3)}


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    from expectations.params import ValidationParams
    from pipelines.validate import validate_run

    events = 200_000 if quick else 1_000_000
    chains = QUICK_CHAINS if quick else CHAINS
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = prepare(out_dir, events, chains)
    results: dict[str, Any] = {"events": events, "chains": list(chains), "run": str(run_dir), "by_workers": {}}
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
    results["reference_plain_gx_15_expectations"] = gx_reference(run_dir)
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    results["peak_rss_children_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(ROOT / "runs" / "bench", quick="--full" not in sys.argv), indent=2))
