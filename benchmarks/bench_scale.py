"""Scale benchmark (issue 11, item 2): 10M and 100M events of ``configs/scale.yaml`` in ONE run, per stage.

Stages, each timed as its own CLI process with the peak RSS of its process tree (``benchmarks.measure``):
``generate --events N``, ``anonymize --chain pseudonymize`` (one event-level chain), ``attack --chain
pseudonymize``. The reference measured in the same run, on the same events: the pyarrow sink, a bare loop that
rewrites the run's own ``raw/events`` shards with the project's Parquet options (zstd, page checksums), timed
for the writes only, one process (``python -m benchmarks.bench_scale sink RUN SCRATCH``).

Targets (each a boolean; a figure that was not measured is a failed target):

- every stage finishes (exit 0) at both sizes;
- at the large size, peak RSS of the process tree < 2 GB for generate and anonymize, < 8 GB for the attacks;
- time per event at the large size within 25% of the small size's, per stage (at most 1.25x; faster passes);
- generation throughput at the large size >= 0.5x the sink's (the 10M ratio is recorded beside it).

Sizes 10M and 100M (``--quick``: 20k and 100k). ``ANONBENCH_SCALE_SIZES=small,large`` changes them and
``ANONBENCH_SCALE_STAGES=generate,sink,anonymize`` leaves stages out (their targets then fail: not measured),
``ANONBENCH_SCALE_DIR`` the working folder (default ``runs/bench/scale``; a 100M run needs about 10 GB there:
the check runs first). Progress is kept in ``<dir>/progress-<sizes>.json`` after every stage: a rerun of the
same commit after a failure or a kill resumes at the first unfinished stage (its run folder is kept for that);
a run folder is deleted as soon as its size is done, and the progress file when the benchmark completes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT, anonbench, measure
from runformat.layout import RunDir
from runformat.manifest import GENERATE

CONFIG = "configs/scale.yaml"
CHAIN = "pseudonymize"
SIZES = (10_000_000, 100_000_000)
QUICK_SIZES = (20_000, 100_000)
STAGES = ("generate", "sink", "anonymize", "attack")
RSS_LIMIT_MB = {"generate": 2048, "anonymize": 2048, "attack": 8192}
PER_EVENT_TOLERANCE = 1.25
SINK_RATIO = 0.5
BYTES_PER_EVENT = 100
"""Disk needed per event while a size runs: raw + truth (~45 B/event at 10M), the chain (~40), risk, slack."""


class ScaleError(RuntimeError):
    """The benchmark cannot start or go on (disk, sizes); the message says what to do."""


def _sizes(quick: bool) -> tuple[int, int]:
    given = os.environ.get("ANONBENCH_SCALE_SIZES")
    if not given:
        return QUICK_SIZES if quick else SIZES
    try:
        small, large = (int(x) for x in given.split(","))
    except ValueError:
        raise ScaleError(f"ANONBENCH_SCALE_SIZES={given!r}: expected two event counts, e.g. 10000000,100000000"
                         ) from None
    if not 0 < small < large:
        raise ScaleError(f"ANONBENCH_SCALE_SIZES={given!r}: expected 0 < small < large")
    return small, large


def _stages() -> tuple[str, ...]:
    given = os.environ.get("ANONBENCH_SCALE_STAGES")
    if not given:
        return STAGES
    chosen = tuple(x.strip() for x in given.split(",") if x.strip())
    if "generate" not in chosen or not set(chosen) <= set(STAGES):
        raise ScaleError(f"ANONBENCH_SCALE_STAGES={given!r}: expected generate and any of {', '.join(STAGES[1:])}")
    return tuple(x for x in STAGES if x in chosen)


def _commit() -> str:
    r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def _gb(n_bytes: float) -> float:
    return round(n_bytes / 2**30, 1)


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


# --- the sink reference: its own process, writes timed, one shard on disk at a time --------------------------

def sink(run: Path, scratch: Path) -> dict[str, Any]:
    """Rewrite every ``raw/events`` shard of ``run`` with the project's Parquet options; seconds of writing."""
    import pyarrow.parquet as pq

    from pipelines.runio import PARQUET_OPTS, read_parquet, shards

    scratch.mkdir(parents=True, exist_ok=True)
    events = 0
    seconds = cpu = 0.0
    events_dir = RunDir(run).raw("events")
    parts = shards(events_dir)
    if not parts:
        raise ScaleError(f"{events_dir}: no shards to rewrite")
    for p in parts:
        table = read_parquet(p)
        dest = scratch / p.name
        t0, c0 = time.perf_counter(), time.process_time()
        pq.write_table(table, dest, row_group_size=1 << 20, **PARQUET_OPTS)
        seconds += time.perf_counter() - t0
        cpu += time.process_time() - c0
        events += table.num_rows
        del table
        dest.unlink()
    return {"events": events, "seconds": round(seconds, 3), "cpu_seconds": round(cpu, 2), "shards": len(parts)}


# --- one stage ----------------------------------------------------------------------------------------------

def _timeout(n: int) -> float:
    """Generous per-stage limit (a hung stage must not hold the machine forever): ~10x today's pace."""
    return max(900.0, n / 20_000)


def _stage(stage: str, run: Path, n: int) -> dict[str, Any]:
    if stage == "generate":
        shutil.rmtree(run, ignore_errors=True)
        return measure(anonbench("generate", "--config", CONFIG, "--events", str(n), "--out", str(run)),
                       timeout=_timeout(n))
    if stage == "sink":
        scratch = run.parent / f"{run.name}-sink"
        shutil.rmtree(scratch, ignore_errors=True)
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "benchmarks.bench_scale", "sink", str(run), str(scratch)],
                           cwd=ROOT, capture_output=True, text=True, timeout=_timeout(n))
        shutil.rmtree(scratch, ignore_errors=True)
        if r.returncode != 0:
            return {"returncode": r.returncode, "stderr_tail": r.stderr.strip().splitlines()[-3:],
                    "seconds": round(time.perf_counter() - t0, 3)}
        return {"returncode": 0, **json.loads(r.stdout.strip().splitlines()[-1])}
    if stage == "anonymize":
        return measure(anonbench("anonymize", "--run", str(run), "--chain", CHAIN), timeout=_timeout(n))
    if stage == "attack":
        return measure(anonbench("attack", "--run", str(run), "--chain", CHAIN), timeout=_timeout(n))
    raise ValueError(stage)


def _events_of(run: Path) -> int | None:
    try:
        return int(json.loads(RunDir(run).manifest.read_text())[GENERATE]["events"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _annotate(stage: str, res: dict[str, Any], run: Path, events: int | None) -> dict[str, Any]:
    if res.get("returncode") != 0 or not events:
        return res
    res["events"] = events
    res["events_per_s"] = round(events / res["seconds"]) if res["seconds"] > 0 else None
    res["us_per_event"] = round(1e6 * res["seconds"] / events, 4)
    if stage == "generate":
        man = json.loads(RunDir(run).manifest.read_text())[GENERATE]
        res["pipeline_seconds"] = man["seconds"]
        res["chunks"] = man["chunks"]
        res["run_gb"] = _gb(_du(run))
    return res


# --- the whole benchmark --------------------------------------------------------------------------------------

def _load_progress(path: Path, key: dict[str, Any]) -> dict[str, Any]:
    if path.is_file():
        try:
            prog = json.loads(path.read_text())
        except ValueError:
            prog = {}
        if prog.get("key") == key:
            return prog
    return {"key": key, "sizes": {}}


def _save(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    tmp.replace(path)


def _check_disk(work: Path, sizes: tuple[int, ...]) -> None:
    need = BYTES_PER_EVENT * max(sizes)
    free = shutil.disk_usage(work).free
    if free < need:
        raise ScaleError(f"{work}: {_gb(free)} GB free, the {max(sizes):,}-event run needs about {_gb(need)} GB; "
                         "free space or set ANONBENCH_SCALE_DIR to a larger disk")


def run(work: Path, quick: bool) -> dict[str, Any]:
    small, large = _sizes(quick)
    base = Path(os.environ.get("ANONBENCH_SCALE_DIR") or work / "scale")
    base.mkdir(parents=True, exist_ok=True)
    stages = _stages()
    key = {"commit": _commit(), "sizes": [small, large], "stages": list(stages), "config": CONFIG, "chain": CHAIN}
    progress_file = base / f"progress-{small}-{large}.json"
    prog = _load_progress(progress_file, key)
    if not prog["sizes"]:  # a fresh start: leftovers of another commit or sizes are not reused
        for n in (small, large):
            shutil.rmtree(base / f"run-{n}", ignore_errors=True)
    resumed = bool(prog["sizes"])
    _check_disk(base, (small, large))
    errors: list[str] = []
    for n in (small, large):
        done = prog["sizes"].setdefault(str(n), {})
        run_dir = base / f"run-{n}"
        if not all(done.get(s, {}).get("returncode") == 0 for s in stages) and not RunDir(run_dir).manifest.is_file():
            done.clear()  # the run folder is gone or incomplete: this size starts again from generate
        for stage in STAGES:
            if stage not in stages:
                done[stage] = {"returncode": None, "skipped": "not selected (ANONBENCH_SCALE_STAGES)"}
                continue
            if done.get(stage, {}).get("returncode") == 0:
                continue
            if stage != "generate" and done.get("generate", {}).get("returncode") != 0:
                done[stage] = {"returncode": None, "skipped": "generate failed"}
                continue
            print(f"   scale: {stage} {n:,} events", flush=True)
            res = _stage(stage, run_dir, n)
            done[stage] = _annotate(stage, res, run_dir, _events_of(run_dir))
            _save(progress_file, prog)
            if res.get("returncode") != 0:
                errors.append(f"{stage} at {n:,} events: exit {res.get('returncode')}: {res.get('stderr_tail')}")
        if all(done.get(s, {}).get("returncode") == 0 for s in stages):
            shutil.rmtree(run_dir, ignore_errors=True)
    result = summarize(prog["sizes"], small, large)
    result["resumed"] = resumed
    result["commit"] = key["commit"]
    if errors:
        kept = [p for p in (base / f"run-{small}", base / f"run-{large}") if p.exists()]
        result["error"] = ("; ".join(errors) + f". Kept for a resume ({_gb(sum(_du(p) for p in kept))} GB): "
                           + ", ".join(map(str, kept)) + "; rerun the same command to resume, or delete them.")
    else:
        progress_file.unlink(missing_ok=True)
    return result


def summarize(sizes: dict[str, dict[str, Any]], small: int, large: int) -> dict[str, Any]:
    """Ratios and targets from the per-size stage results (missing or failed figures fail their targets)."""
    s, g = sizes.get(str(small), {}), sizes.get(str(large), {})

    def ok(d: dict[str, Any], stage: str) -> dict[str, Any] | None:
        r = d.get(stage)
        return r if r and r.get("returncode") == 0 else None

    def gen_vs_sink(d: dict[str, Any]) -> float | None:
        gen, snk = ok(d, "generate"), ok(d, "sink")
        if not gen or not snk or not snk.get("seconds"):
            return None
        return round(gen["events_per_s"] / (snk["events"] / snk["seconds"]), 3)

    for d in (s, g):
        if snk := ok(d, "sink"):
            snk["events_per_s"] = round(snk["events"] / snk["seconds"]) if snk["seconds"] else None
    ratios: dict[str, Any] = {"generate_vs_sink": {str(small): gen_vs_sink(s), str(large): gen_vs_sink(g)},
                              "us_per_event_large_over_small": {}}
    targets: dict[str, bool] = {}
    for stage in ("generate", "anonymize", "attack"):
        a, b = ok(s, stage), ok(g, stage)
        targets[f"{stage}_finished_both_sizes"] = bool(a and b)
        r = round(b["us_per_event"] / a["us_per_event"], 3) if a and b else None
        ratios["us_per_event_large_over_small"][stage] = r
        targets[f"{stage}_time_per_event_within_25pct"] = r is not None and r <= PER_EVENT_TOLERANCE
        targets[f"{stage}_peak_rss_lt_{RSS_LIMIT_MB[stage] // 1024}gb_at_large"] = bool(
            b and b["peak_rss_tree_mb"] < RSS_LIMIT_MB[stage])
    def cpu_vs_sink(d: dict[str, Any]) -> float | None:
        # What the wall-time ratio would be with both cores busy for generate and one for the sink: a figure
        # for a busy machine, where wall times say more about the neighbours than about the code.
        gen, snk = ok(d, "generate"), ok(d, "sink")
        if not gen or not snk or not gen.get("cpu_seconds") or not snk.get("cpu_seconds"):
            return None
        return round(2 * snk["cpu_seconds"] / gen["cpu_seconds"], 3)

    ratios["generate_vs_sink_by_cpu_2_cores"] = {str(small): cpu_vs_sink(s), str(large): cpu_vs_sink(g)}
    vs = ratios["generate_vs_sink"][str(large)]
    targets["generate_ge_0_5x_sink_at_large"] = vs is not None and vs >= SINK_RATIO
    return {"config": CONFIG, "chain": CHAIN, "sizes": sizes, "ratios": ratios, "targets": targets,
            "all_targets_met": all(targets.values())}


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "sink":
        raise SystemExit("usage: python -m benchmarks.bench_scale sink RUN SCRATCH")
    print(json.dumps(sink(Path(sys.argv[2]), Path(sys.argv[3]))))
