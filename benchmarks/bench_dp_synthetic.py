"""Benchmark of ``dp-synthetic`` (issue 8): cost against ``generate``, and the privacy–utility frontier.

(a) Cost: ``anonbench generate`` of N events (``configs/scale.yaml``, 10M by default) and ``anonbench
    anonymize --chain dp-synthetic`` of that run, timed in the same benchmark run; targets: anonymize wall
    time <= 1.5x generate, peak RSS (process tree) < 2 GB; the load average is recorded beside it.
    ``ANONBENCH_DPS_EVENTS`` overrides N (e.g. 1000000 on a shared machine). Cost only:
    ``ANONBENCH_DPS_SKIP_FRONTIER=1 python -m benchmarks.run --only dp_synthetic`` (the frontier of the previous
    results file is kept and marked as not re-measured).
(b) Frontier: on the default config (1M events, 28 days; 200k when quick) every chain of the sweep
    (``configs/chains/sweep/dp-synthetic-eps<E>.yaml``, E in 0.25 ... 8) and ``dp-aggregates`` are
    anonymized and attacked; per chain the utility figures (hour-of-week correlation, action TVD, KS of
    events per account, 1-/2-/3-way workload error, relative error of weekly counts per product, session-length
    KS, synthetic/raw events — as the run's ``utility`` check wrote them) and every risk figure that has a
    threshold (value, threshold, passed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.measure import ROOT, anonbench, measure
from reid.utility import utility

RESULTS = Path(__file__).resolve().parent / "results"

EPSILONS = ("0.25", "0.5", "1", "2", "4", "8")
SWEEP = tuple(ROOT / "configs" / "chains" / "sweep" / f"dp-synthetic-eps{e}.yaml" for e in EPSILONS)


UTILITY = ("hourly_profile_correlation", "action_tv_distance", "events_per_account_ks", "workload_1way_error",
           "workload_2way_error", "workload_3way_error", "weekly_product_counts_rel_error", "session_length_ks",
           "retained_rows")


def utility_of(run: Path, chain: str) -> dict[str, float]:
    """The chain's utility figures as the run's ``utility`` check wrote them (``risk/<chain>/utility.parquet``,
    :func:`reid.utility.utility`: the same figures the report and the gate read); computed here with that
    function when the attack did not write them."""
    path = run / "risk" / chain / "utility.parquet"
    if path.exists():
        df = pl.read_parquet(path).filter(pl.col("metric").is_in(UTILITY))
        return {r["metric"]: round(float(r["value"]), 4) for r in df.iter_rows(named=True)}
    tables = ("events", "users", "orgs")
    raw = {t: pl.scan_parquet(str(run / "raw" / t / "part-*.parquet")) for t in tables}
    anon = {p.name: pl.scan_parquet(str(p / "part-*.parquet")) for p in (run / "anon" / chain).iterdir()
            if p.is_dir() and any(p.glob("part-*.parquet"))}
    return {m.metric: round(float(m.value), 4) for m in utility(raw, anon) if m.metric in UTILITY}


def risk_of(run: Path, chain: str) -> dict[str, Any]:
    """Every risk figure with a threshold, and the largest one that is a proportion (with its metric)."""
    files = sorted((run / "risk" / chain).glob("*.parquet"))
    if not files:
        return {"error": "no risk files"}
    df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    gated = df.filter(pl.col("threshold").is_not_null() & (pl.col("check") != "utility"))
    rows = [{"check": r["check"], "metric": r["metric"], "value": r["value"], "threshold": r["threshold"],
             "passed": r["passed"], "n": r["n"]} for r in gated.iter_rows(named=True)]
    return {"gated": rows, "breaches": sum(1 for r in rows if r["passed"] is False)}


def cost(work: Path, events: int) -> dict[str, Any]:
    run = work / f"dps-gen-{events}"
    load = [round(x, 2) for x in os.getloadavg()]
    gen = measure(anonbench("generate", "--config", "configs/scale.yaml", "--events", str(events), "--out",
                            str(run), "--overwrite"))
    if gen["returncode"] != 0:
        raise RuntimeError(f"generate failed: {gen['stderr_tail']}")
    load_between = [round(x, 2) for x in os.getloadavg()]
    anon = measure(anonbench("anonymize", "--run", str(run), "--chain", "dp-synthetic"))
    if anon["returncode"] != 0:
        raise RuntimeError(f"anonymize dp-synthetic failed: {anon['stderr_tail']}")
    man = json.loads((run / "manifest.json").read_text())
    released = man["chains"]["dp-synthetic"]["tables"]["events"]["rows_out"]
    ratio = anon["seconds"] / gen["seconds"]
    shutil.rmtree(run, ignore_errors=True)
    return {"events": events, "generate": gen, "anonymize_dp_synthetic": anon, "synthetic_events": released,
            "ratio_anonymize_over_generate": round(ratio, 3),
            "load_average_1_5_15min": {"before_generate": load, "before_anonymize": load_between,
                                       "after": [round(x, 2) for x in os.getloadavg()]},
            "targets": {"le_1_5x_generate": ratio <= 1.5, "peak_rss_lt_2gb": anon["peak_rss_tree_mb"] < 2048}}


def frontier(work: Path, quick: bool) -> dict[str, Any]:
    run = work / "dps-default"
    config = "configs/ci.yaml" if quick else "configs/default.yaml"
    gen = measure(anonbench("generate", "--config", config, "--out", str(run), "--overwrite"))
    if gen["returncode"] != 0:
        raise RuntimeError(f"generate failed: {gen['stderr_tail']}")
    points: dict[str, Any] = {}
    for chain_file, eps in [*zip(SWEEP, EPSILONS, strict=True), (Path("dp-aggregates"), "1")]:
        name = chain_file.stem
        a = measure(anonbench("anonymize", "--run", str(run), "--chain", str(chain_file)))
        if a["returncode"] != 0:
            points[name] = {"error": a["stderr_tail"]}
            continue
        measure(anonbench("attack", "--run", str(run), "--chain", name))
        points[name] = {"epsilon": float(eps), "anonymize_seconds": a["seconds"], "utility": utility_of(run, name),
                        "risk": risk_of(run, name)}
    shutil.rmtree(run, ignore_errors=True)
    return {"config": config, "points": points}


def run(work: Path, quick: bool) -> dict[str, Any]:
    events = int(os.environ.get("ANONBENCH_DPS_EVENTS", "200000" if quick else "10000000"))
    out: dict[str, Any] = {"cost": cost(work, events)}
    if os.environ.get("ANONBENCH_DPS_SKIP_FRONTIER") != "1":
        out["frontier"] = frontier(work, quick)
    else:  # cost only: the frontier of the previous results file is kept, and marked as such
        prev = RESULTS / f"dp_synthetic{'-quick' if quick else ''}.json"
        old = json.loads(prev.read_text()) if prev.exists() else {}
        if "frontier" in old:
            out["frontier"] = old["frontier"]
            out["frontier_note"] = old.get("frontier_note") or (
                "not re-measured with this cost (ANONBENCH_DPS_SKIP_FRONTIER=1): kept from the previous results "
                "file, where it was measured together with that file's cost")
    out["note"] = ("cost measured at ANONBENCH_DPS_EVENTS events" if events != 10_000_000 else
                   "cost measured at 10M events (configs/scale.yaml)")
    return out


def summary(result: dict[str, Any]) -> list[str]:
    """Markdown lines of the frontier (for RESULTS.md or a report)."""
    lines = ["| chain | ε | hour-of-week r | action TVD | KS events/account | 2-way error | weekly rel. error | "
             "breaches |", "|---|---|---|---|---|---|---|---|"]
    for name, p in (result.get("frontier") or {}).get("points", {}).items():
        u = p.get("utility", {})
        lines.append(f"| {name} | {p.get('epsilon')} | {u.get('hourly_profile_correlation', np.nan):.3f} | "
                     f"{u.get('action_tv_distance', np.nan):.3f} | {u.get('events_per_account_ks', np.nan):.3f} | "
                     f"{u.get('workload_2way_error', np.nan):.3f} | "
                     f"{u.get('weekly_product_counts_rel_error', np.nan):.3f} | {p.get('risk', {}).get('breaches')} |")
    return lines
