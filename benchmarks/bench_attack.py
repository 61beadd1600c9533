"""Benchmark of ``anonbench attack``: every event-level check on a run, per chain, with its share of the time.

``run(out_dir, quick)`` generates a run (``configs/ci.yaml``; 200k events when quick, 10M otherwise) unless
``ANONBENCH_BENCH_RUN`` names an existing run directory, anonymizes the chains it lacks, then times the
harness on each chain in this process (wall seconds per check, events/s, peak RSS of the process). The
reference measured in the same run is the IO floor: reading every raw and released event shard once with
Polars. Target (issue 4): the 10M-event attack (all event checks, default parameters) under 60 s on 2 cores.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import polars as pl

from reid.harness import run_checks
from reid.params import AttackParams

CHAINS = ("pseudonymize", "generalize", "dp-aggregates")
ROOT = Path(__file__).resolve().parent.parent


def _cli(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "anonbench.cli", *args], check=True, cwd=ROOT, env=env,
                   stdout=subprocess.DEVNULL)


def prepare(out_dir: Path, events: int) -> Path:
    """A run with the benchmarked chains: ``$ANONBENCH_BENCH_RUN`` if set, else a fresh one."""
    env = {**os.environ, "ANONBENCH_KEY": os.environ.get("ANONBENCH_KEY", "bench-only-key-0123456789abcdef")}
    given = os.environ.get("ANONBENCH_BENCH_RUN")
    run = Path(given) if given else out_dir / f"attack-run-{events}"
    if not (run / "manifest.json").is_file():
        _cli("generate", "--config", "configs/ci.yaml", "--out", str(run), "--events", str(events),
             "--overwrite", env=env)
    for chain in CHAINS:
        if not (run / "anon" / chain).is_dir():
            _cli("anonymize", "--run", str(run), "--chain", chain, env=env)
    return run


def io_floor(run: Path, chain: str) -> float:
    """Seconds to read every raw and released event shard once (all columns)."""
    t0 = time.perf_counter()
    for folder in (run / "raw" / "events", run / "anon" / chain / "events"):
        if folder.is_dir():
            pl.scan_parquet(sorted(folder.glob("part-*.parquet"))).select(pl.len()).collect()
            pl.read_parquet(sorted(folder.glob("part-*.parquet")))
    return time.perf_counter() - t0


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    events = 200_000 if quick else 10_000_000
    out_dir.mkdir(parents=True, exist_ok=True)
    run_dir = prepare(out_dir, events)
    n_events = pl.scan_parquet(sorted((run_dir / "raw" / "events").glob("part-*.parquet"))) \
        .select(pl.len()).collect().item()
    result: dict[str, Any] = {"events": n_events, "run": str(run_dir), "cores": os.cpu_count(),
                              "params": "defaults (AttackParams())", "chains": {}}
    for chain in CHAINS:
        t0 = time.perf_counter()
        metrics = run_checks(run_dir, chain, AttackParams())
        seconds = time.perf_counter() - t0
        result["chains"][chain] = {
            "seconds": round(seconds, 2),
            "events_per_s": round(n_events / seconds),
            "per_check_seconds": {c: round(max((m.seconds or 0.0) for m in ms), 2) for c, ms in metrics.items()},
            "io_floor_seconds": round(io_floor(run_dir, chain), 2),
        }
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["target"] = "all event checks on 10M events < 60 s per chain on 2 cores"
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(Path("benchmarks/results/tmp"), quick="--full" not in sys.argv), indent=2))
