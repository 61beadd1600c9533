"""`make mutants`: the privacy mutation score of the CI gate on ``configs/ci.yaml``.

1. The baseline: ``anonbench run --config configs/ci.yaml`` once (data generated once, every unmutated chain
   anonymized, validated, attacked; report and check). A chain the unmutated baseline already fails cannot show
   a mutant: mutants are not judged on it (listed in the results), and a mutant that only affects such chains
   is an error, never a kill.
2. Every mutant (:mod:`benchmarks.mutants.corpus`) in a copy of that run directory — raw data, truth and the
   other chains' outputs hard-linked (the raw data never change between mutants of anonymizers, so they are
   generated once), the rest copied — re-runs only the chains it affects (:mod:`benchmarks.mutants.worker`)
   and the gate, ``anonbench check --run COPY --baseline BASELINE/report/summary.json`` (when ``anonbench check
   --help`` offers ``--baseline``, else ``anonbench check`` plus the local comparison of
   :mod:`benchmarks.mutants.compare`). A weakening mutant runs only as far as needed: chain by chain, attacked
   and gated before it is validated, stopping at the first chain the gate flags; a harmless one runs in full.
   Mutants run in parallel (``--jobs``, default: the cores, at most 2); chain mutants share workers, so the
   imports (Beam, Great Expectations, PipelineDP) are paid once per batch.
3. The score: killed / valid. Valid = every privacy-weakening mutant that ran, including those no chain of
   the config covers (they survive: the gate never runs the code they break). Harmless mutants flagged by the
   gate are false alarms and must be 0. Every survivor is listed with the reason.

Writes ``benchmarks/results/mutants.json``; exits 1 when a harmless mutant is flagged, a mutant errored, or
the score is below ``--break`` (0.95, the issue's bar), after writing the results.

The key: ``ANONBENCH_KEY`` from the environment, else a random key held in memory and passed to the
subprocesses through their environment (the baseline and every mutant must share it, so that unchanged chains
give byte-identical pseudonyms). ``--baseline-run`` reuses a baseline made earlier with the same key.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.mutants import compare
from benchmarks.mutants.apply import CONFIG, REPO, materialize
from benchmarks.mutants.corpus import Mutant, by_name

RESULTS = REPO / "benchmarks" / "results" / "mutants.json"
WORK = REPO / "runs" / "mutants"
BREAK = 0.95
LINKED = ("raw", "truth")
TIMEOUT = 1800
CHAIN_BATCH = 6
GATE_BASELINE = "anonbench check --baseline"
"""Chain mutants per shared worker (at least ``--jobs`` workers)."""


def anonbench(*args: str, env: dict[str, str], timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anonbench.cli", *args], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=timeout)


def gate_has_baseline(env: dict[str, str]) -> bool:
    """Feature detection: does ``anonbench check`` take ``--baseline``?"""
    return "--baseline" in anonbench("check", "--help", env=env, timeout=120).stdout


def base_env(key: str, jobs: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ANONBENCH_KEY": key, "PYTHONPATH": str(REPO), "GX_ANALYTICS_ENABLED": "False",
                "POLARS_MAX_THREADS": str(max(1, (os.cpu_count() or 1) // jobs))})
    return env


def build_baseline(config: Path, out: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = anonbench("run", "--config", str(config), "--out", str(out), "--overwrite", env=env)
    if p.returncode not in (0, 1):  # 1: the gate failed some chain — those chains cannot judge a mutant
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"mutants: the unmutated baseline run exited {p.returncode}:\n{tail}")
    return time.perf_counter() - t0


def copy_run(baseline: Path, dest: Path, chains: tuple[str, ...]) -> None:
    """``dest``: a copy of the baseline run to re-run ``chains`` in. Inputs that nothing rewrites (raw, truth,
    the other chains' anonymized shards) are hard links; everything a command may rewrite — the outputs of
    ``chains``, the manifest, risk and validation results — is a copy, so the baseline stays intact and the
    gate sees every chain not (yet) re-run exactly as the baseline had it."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for entry in sorted(baseline.iterdir()):
        if entry.name == "report" or entry.name.startswith(".tmp-"):
            continue
        if entry.name in LINKED:
            shutil.copytree(entry, dest / entry.name, copy_function=os.link)
        elif entry.name == "anon":
            (dest / "anon").mkdir()
            for sub in entry.iterdir():
                if not sub.name.startswith(".tmp-"):
                    shutil.copytree(sub, dest / "anon" / sub.name,
                                    copy_function=shutil.copy2 if sub.name in chains else os.link)
        elif entry.is_dir():
            shutil.copytree(entry, dest / entry.name, ignore=lambda d, names: [n for n in names
                                                                                if n.startswith(".tmp-")])
        else:
            shutil.copy2(entry, dest / entry.name)


def failing_chains(summary: dict[str, Any]) -> list[str]:
    """Chains the gate fails in a summary (a candidate that did not pass, a control not caught)."""
    return sorted(name for name, c in (summary.get("chains") or {}).items() if c.get("passed") is False)


@dataclass
class Prepared:
    """A mutant applied and its run directory copied: the worker job that will run it."""

    mutant: Mutant
    record: dict[str, Any]
    run_dir: Path
    result: Path
    env: dict[str, str]
    job: dict[str, Any]


def prepare(m: Mutant, baseline: Path, work: Path, env: dict[str, str], gate_baseline: bool,
            rejudge: bool = False, baseline_failing: tuple[str, ...] = ()) -> Prepared | dict:
    """Apply ``m`` and copy the run; its finished record at once when no chain of the config runs it, or when
    the unmutated baseline already fails every chain it affects (nothing left to judge it on).
    ``rejudge``: nothing is copied; the worker result and summary of an earlier run are judged again."""
    record: dict[str, Any] = {"name": m.name, "kind": m.kind, "harmless": m.harmless, "chains": list(m.chains),
                              "mutates": m.mutates, "why": m.why}
    if m.patch:
        record["patch"] = f"benchmarks.mutants.patches.{m.patch}"
    if not m.chains:
        record.update(status="not covered", reason=f"no chain of {CONFIG.name} uses {', '.join(m.anonymizers)}: "
                      "the gate never runs the mutated code", seconds=0.0)
        return record
    judged = [c for c in m.chains if c not in baseline_failing]
    if not judged:
        record.update(status="error", seconds=0.0, reason=f"the unmutated baseline already fails the gate on "
                      f"{', '.join(m.chains)}: a failing chain cannot show the mutant")
        return record
    if len(judged) < len(m.chains):
        record["not_judged"] = [c for c in m.chains if c not in judged]
    folder = work / m.name
    applied = materialize(m, folder / "apply")
    run_dir = folder / "run"
    result = folder / "worker.json"
    if not rejudge:
        copy_run(baseline, run_dir, m.chains)
        result.unlink(missing_ok=True)
    job = {"run": str(run_dir), "chains": list(applied.chains.values()), "result": str(result),
           "baseline": str(baseline / "report" / "summary.json") if gate_baseline else None,
           "stop_early": not m.harmless, "judged": judged}
    return Prepared(m, record, run_dir, result, applied.environ(env), job)


def execute(batch: list[Prepared]) -> float:
    """Run one worker over ``batch`` (they share one environment); its wall time."""
    t0 = time.perf_counter()
    jobs_file = batch[0].result.with_name("jobs.json")
    jobs_file.write_text(json.dumps([p.job for p in batch], indent=1))
    try:
        p = subprocess.run([sys.executable, "-m", "benchmarks.mutants.worker", str(jobs_file)], cwd=REPO,
                           env=batch[0].env, text=True, capture_output=True, timeout=TIMEOUT)
        failure = None if p.returncode == 0 else \
            f"worker exited {p.returncode}: " + " | ".join((p.stderr or p.stdout).strip().splitlines()[-3:])
    except subprocess.TimeoutExpired:
        failure = f"worker timed out after {TIMEOUT} s"
    for prep in batch:
        if not prep.result.is_file():
            prep.result.write_text(json.dumps({"error": failure or "the worker wrote no result"}))
    return time.perf_counter() - t0


def judge(prep: Prepared, baseline: Path, gate_baseline: bool) -> dict[str, Any]:
    """The mutant's record: killed / survived (harmless: flagged / kept) / error, with the reason. A mutant is
    flagged when the gate names one of its judged chains in a problem (a breach, a figure not measured, a
    regression); without ``check --baseline``, also when the local comparison finds a regressed cell."""
    m, record = prep.mutant, prep.record
    worker = json.loads(prep.result.read_text())
    record["seconds"] = worker.get("seconds", 0.0)
    record["steps"] = [{k: s[k] for k in ("args", "exit", "seconds")} for s in worker.get("steps", [])]
    if worker.get("error"):
        failed = [s.get("output", "") for s in worker.get("steps", []) if s.get("exit") not in (0, 1)]
        record.update(status="error", reason=worker["error"] + (f": {failed[-1][-400:]}" if failed else ""))
        return record
    ran = list(worker.get("chains_run", m.chains))
    record["chains_run"] = ran
    kept = prep.run_dir.parent / "summary.json"
    summary = compare.load_summary(prep.run_dir if prep.run_dir.is_dir() else kept)
    judged = set(prep.job.get("judged", m.chains))
    flagged: dict[str, list[str]] = worker.get("flagged") or {}
    problems = [p for c in ran if c in judged for p in flagged.get(c, [])]
    local = [] if gate_baseline else compare.regressions(compare.load_summary(baseline), summary,
                                                         [c for c in ran if c in judged])
    killed = bool(problems or local)
    record["gate"] = {"check_exit": worker.get("check_exit"), "flagged_chains": sorted(flagged),
                      "problems": problems[:10], "regressions": [r.describe() for r in local[:10]],
                      "regressed_cells": len(local)}
    if killed:
        by = "the gate" if problems else "the baseline comparison"
        record.update(status="flagged" if m.harmless else "killed", reason=f"killed by {by}: " +
                      "; ".join((problems or [r.describe() for r in local])[:3]))
    else:
        base_doc = compare.load_summary(baseline)
        moved = compare.largest_changes(base_doc, summary, ran)
        measured = sum(1 for c in compare.cells(base_doc, ran).values() if c.applicable and c.value is not None)
        record["gate"].update(largest_worsening=moved, risk_cells_compared=measured)
        record.update(status="kept" if m.harmless else "survived", reason=_survivor_reason(m, gate_baseline) +
                      f" ({measured} measured risk cells compared); " +
                      ("largest worsening: " + "; ".join(moved) if moved else "no risk cell moved"))
    if prep.run_dir.is_dir():
        shutil.copy2(prep.run_dir / "report" / "summary.json", kept)
    if not os.environ.get("ANONBENCH_MUTANTS_KEEP"):  # the summary stays next to it (--rejudge reads it)
        shutil.rmtree(prep.run_dir, ignore_errors=True)
    return record


def batches(prepared: list[Prepared], jobs: int) -> list[list[Prepared]]:
    """Code mutants one per worker (each has its own start-up patch); chain mutants, which run the checkout's
    code, share workers — as many batches as keep every job slot busy — so imports are paid once per batch."""
    code = [[p] for p in prepared if p.mutant.kind == "code"]
    chain = [p for p in prepared if p.mutant.kind == "chain"]
    n = min(len(chain), max(jobs, len(chain) // CHAIN_BATCH)) if chain else 0
    grouped = [chain[i::n] for i in range(n)]
    return sorted(code + grouped, key=lambda b: -sum(len(p.mutant.chains) for p in b))


def _survivor_reason(m: Mutant, gate_baseline: bool) -> str:
    if m.harmless:
        return "no figure changed beyond the margin (as expected of a refactor)"
    how = "check --baseline" if gate_baseline else "check (thresholds) and the local baseline comparison"
    return (f"{how} found nothing: no gated figure of {', '.join(m.chains)} breached, and no risk cell got "
            "significantly worse than the baseline")


def score(records: list[dict[str, Any]]) -> dict[str, Any]:
    weakening = [r for r in records if not r["harmless"]]
    valid = [r for r in weakening if r["status"] in ("killed", "survived", "not covered")]
    killed = [r for r in valid if r["status"] == "killed"]
    covered = [r for r in valid if r["status"] != "not covered"]
    harmless = [r for r in records if r["harmless"]]
    return {"killed": len(killed), "valid": len(valid),
            "score": round(len(killed) / len(valid), 4) if valid else None,
            "covered": len(covered),
            "score_covered": round(len(killed) / len(covered), 4) if covered else None,
            "survived": [r["name"] for r in valid if r["status"] == "survived"],
            "not_covered": [r["name"] for r in valid if r["status"] == "not covered"],
            "errors": [r["name"] for r in records if r["status"] == "error"],
            "harmless": len(harmless), "harmless_flagged": [r["name"] for r in harmless if r["status"] != "kept"]}


def render(s: dict[str, Any], records: list[dict[str, Any]], gate: str, seconds: float) -> str:
    lines = [f"mutation score: {s['killed']} killed / {s['valid']} valid = {s['score']} "
             f"(covered by configs/ci.yaml: {s['killed']}/{s['covered']} = {s['score_covered']}); gate: {gate}; "
             f"{seconds:.0f} s",
             f"harmless mutants flagged: {len(s['harmless_flagged'])} of {s['harmless']}"
             + (f" ({', '.join(s['harmless_flagged'])})" if s["harmless_flagged"] else "")]
    width = max(len(r["name"]) for r in records)
    for r in sorted(records, key=lambda r: (r["harmless"], r["status"] != "killed", r["name"])):
        tag = "harmless " if r["harmless"] else ""
        lines.append(f"  {r['status']:<11} {r['name']:<{width}}  {tag}[{', '.join(r['chains']) or '-'}] "
                     f"{r.get('seconds', 0):5.0f} s  {r['reason'][:160]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", type=Path, default=CONFIG)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--only", default="", help="comma-separated mutant names")
    ap.add_argument("--baseline-run", type=Path, default=None, help="reuse this baseline run (same ANONBENCH_KEY)")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--rejudge", action="store_true",
                    help="judge the results of the last run in --work again (no anonymizing, no attacks)")
    ap.add_argument("--break", dest="break_below", type=float, default=BREAK,
                    help="exit 1 when the score is below this (default 0.95)")
    a = ap.parse_args(argv)
    if a.config.resolve() != CONFIG.resolve():
        print("mutants: the corpus declares its chains for configs/ci.yaml; --config must be that file",
              file=sys.stderr)
        return 2
    try:
        mutants = by_name([n.strip() for n in a.only.split(",") if n.strip()])
    except KeyError as e:
        print(f"mutants: {e.args[0]}", file=sys.stderr)
        return 2
    if a.baseline_run and not os.environ.get("ANONBENCH_KEY"):
        print("mutants: --baseline-run needs the ANONBENCH_KEY it was made with", file=sys.stderr)
        return 2
    key = os.environ.get("ANONBENCH_KEY") or secrets.token_hex(32)
    jobs = max(1, a.jobs)
    env = base_env(key, jobs)
    t0 = time.perf_counter()
    a.work.mkdir(parents=True, exist_ok=True)
    baseline = a.baseline_run or a.work / "baseline"
    baseline_seconds = 0.0
    if a.baseline_run is None and not a.rejudge:
        print(f"mutants: baseline run of {a.config} -> {baseline}", file=sys.stderr)
        baseline_seconds = build_baseline(a.config, baseline, env)
    previous = json.loads(a.out.read_text()) if a.rejudge and a.out.is_file() else None
    # a rejudged run keeps the gate (and the timings) it was run with
    gate_baseline = previous["gate"] == GATE_BASELINE if previous else gate_has_baseline(env)
    gate = GATE_BASELINE if gate_baseline else "anonbench check + local baseline comparison"
    print(f"mutants: {len(mutants)} mutants, {jobs} at a time; gate: {gate}", file=sys.stderr)
    records: list[dict[str, Any]] = []
    prepared: list[Prepared] = []
    base_failing = tuple(failing_chains(compare.load_summary(baseline)))
    if base_failing:
        print(f"mutants: the unmutated baseline fails the gate on {', '.join(base_failing)}; mutants are not "
              "judged on those chains", file=sys.stderr)
    for m in mutants:
        p = prepare(m, baseline, a.work, env, gate_baseline, a.rejudge, base_failing)
        if isinstance(p, Prepared):
            prepared.append(p)
        else:
            records.append(p)
    base_summary = baseline / "report" / "summary.json"
    with cf.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(execute if not a.rejudge else lambda b: 0.0, b): b for b in batches(prepared, jobs)}
        for fut in cf.as_completed(futures):
            fut.result()
            for prep in futures[fut]:
                r = judge(prep, base_summary, gate_baseline)
                records.append(r)
                print(f"  [{len(records)}/{len(mutants)}] {r['status']:<11} {r['name']} "
                      f"({r.get('seconds', 0):.0f} s)", file=sys.stderr)
    records.sort(key=lambda r: [m.name for m in mutants].index(r["name"]))
    seconds = time.perf_counter() - t0
    s = score(records)
    doc = {"config": str(a.config.relative_to(REPO)) if a.config.is_relative_to(REPO) else str(a.config),
           "gate": gate, "jobs": jobs, "cpus": os.cpu_count(), "python": platform.python_version(),
           "seconds": round(seconds, 1), "baseline_seconds": round(baseline_seconds, 1),
           "baseline_reused": a.baseline_run is not None, "baseline_failing_chains": list(base_failing),
           "baseline_problems": compare.load_summary(baseline).get("problems", []),
           "score": s, "mutants": records}
    if previous:
        doc.update(seconds=previous["seconds"], baseline_seconds=previous["baseline_seconds"], rejudged=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = a.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    os.replace(tmp, a.out)
    print(render(s, records, gate, doc["seconds"]))
    print(f"results: {a.out}")
    failed = bool(s["harmless_flagged"] or s["errors"]) or (s["score"] is not None and s["score"] < a.break_below)
    return 1 if failed else 0
