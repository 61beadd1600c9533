"""Benchmark of ``anonbench report`` and ``anonbench check``: seconds and peak RSS on a run with risk results.

The run is ``$ANONBENCH_BENCH_RUN`` when it already holds ``risk/`` (left by the attack benchmark); otherwise
a synthetic one: the report test fixture (tests/fixtures_run.py) whose raw and anonymized ``events`` are
replaced by N events (1M; 100k when quick) so the activity profiles, the only part that reads shards, are
measured at scale. Reference in the same run: a bare Polars scan of the same two columns of every events
table (the floor of the profile computation). Target: report + check in well under 5% of a default run.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from benchmarks.measure import ROOT, anonbench, measure
from pipelines.runio import shard_name, shards, write_parquet_atomic


def _synthetic(work: Path, events: int) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures_run import make_run  # the report tests' fixture

    run = work / "report-bench"
    shutil.rmtree(run, ignore_errors=True)
    make_run(run)
    rng = np.random.default_rng(0)
    start = np.datetime64("2026-03-02T00:00:00", "us").astype(np.int64)
    times = start + rng.integers(0, 28 * 86400 * 10**6, events)
    actions = np.array(["issue.viewed", "page.viewed", "issue.updated", "user.logged_in"])[rng.integers(0, 4, events)]
    table = pa.table({"event_time": pa.array(times, pa.timestamp("us", tz="UTC")), "action": actions})
    chunk = 250_000
    for folder in [run / "raw" / "events", *sorted((run / "anon").glob("*/events"))]:
        for old in shards(folder):
            old.unlink()
        for i in range(0, events, chunk):
            write_parquet_atomic(table.slice(i, chunk), folder / shard_name(i // chunk))
    return run


def _events_scanned(run: Path) -> int:
    folders = [run / "raw" / "events", *sorted((run / "anon").glob("*/events"))]
    return sum(pl.scan_parquet([str(p) for p in shards(f)]).select(pl.len()).collect().item()
               for f in folders if shards(f))


def _bare_scan(run: Path) -> float:
    t0 = time.perf_counter()
    for f in [run / "raw" / "events", *sorted((run / "anon").glob("*/events"))]:
        parts = [str(p) for p in shards(f)]
        if parts:
            lf = pl.scan_parquet(parts)
            cols = [c for c in ("event_time", "action") if c in lf.collect_schema()]
            lf.select(cols).group_by(cols[-1:] or []).len().collect() if cols else None
    return time.perf_counter() - t0


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    given = os.environ.get("ANONBENCH_BENCH_RUN")
    source = "bench run"
    if given and (Path(given) / "risk").is_dir() and (Path(given) / "manifest.json").is_file():
        run_dir = Path(given)
    else:
        run_dir, source = _synthetic(out_dir, 100_000 if quick else 1_000_000), "synthetic"
    events = _events_scanned(run_dir)
    check = measure(anonbench("check", "--run", str(run_dir)))
    report = measure(anonbench("report", "--run", str(run_dir)))
    bare = _bare_scan(run_dir)
    from anonbench.report import write_report  # in process: without the interpreter start of the CLI

    t0 = time.perf_counter()
    write_report(run_dir, update_manifest=False)
    in_process = time.perf_counter() - t0
    html = run_dir / "report" / "index.html"
    return {"run": source, "events_scanned": events, "check": check, "report": report,
            "report_in_process_seconds": round(in_process, 3),
            "report_events_per_s": round(events / max(in_process, 1e-9)),
            "reference_bare_polars_scan_seconds": round(bare, 3),
            "index_html_kb": round(html.stat().st_size / 1024, 1) if html.is_file() else None}
