"""Benchmark of ``dp-synthetic`` (issue 8): cost against ``generate``, and the privacy–utility frontier.

(a) Cost: ``anonbench generate`` of N events (``configs/scale.yaml``, 10M by default) and ``anonbench
    anonymize --chain dp-synthetic`` of that run, timed in the same benchmark run; targets: anonymize wall
    time <= 1.5x generate, peak RSS (process tree) < 2 GB; the load average is recorded beside it.
    ``ANONBENCH_DPS_EVENTS`` overrides N (e.g. 1000000 on a shared machine). Cost only:
    ``ANONBENCH_DPS_SKIP_FRONTIER=1`` (the frontier of the previous results file is kept and marked as not
    re-measured); frontier only: ``ANONBENCH_DPS_SKIP_COST=1`` (the previous file's cost part is kept).
(b) Frontier: on the default config (1M events, 28 days; 200k when quick) every chain of the sweep
    (``configs/chains/sweep/dp-synthetic-eps<E>.yaml``, E in 0.25 ... 8) and ``dp-aggregates`` are
    anonymized and attacked; per chain the utility figures (hour-of-week correlation, action TVD, KS of
    events per account, 1-/2-/3-way workload error, relative error of weekly counts per product, session-length
    KS, synthetic/raw events — as the run's ``utility`` check wrote them) against the risk as ``check``
    judged it (run once after the attacks): every gated figure (value, CI, n, threshold, passed), the largest
    gated risk with n and CI, the membership advantage with its ε cap; a point whose risk was not measured
    says so (``measured: false``, ``breaches: null``), never 0 breaches.
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


NOT_RISKS = ("passed", "sensitivity_ok", "epsilon_lower_bound", "advantage", "advantage_over_cap", "k",
             "leaked_values", "equivalence_classes")
"""Gated metrics that are not a risk proportion (verdicts, bounds, counts, the membership advantage, which
has its own column): left out of a point's ``max``."""


def _not_applicable(row: dict[str, Any]) -> bool:
    try:
        return json.loads(row.get("params") or "{}").get("applicable") is False
    except ValueError:
        return False


def summarize_risk(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A point's risk from its gated rows (as :func:`risk_of` reads them): ``measured`` and ``breaches``
    (None unless every applicable gated figure has a verdict and a value), the largest gated risk with n and
    CI (``max``), the membership advantage with its cap. Rows that declare themselves not applicable
    (``params.applicable`` false, e.g. a dictionary attack on a column not released) are counted apart:
    not applicable is not "not measured"."""
    na = [r for r in rows if _not_applicable(r)]
    judged = [r for r in rows if not _not_applicable(r)]
    out: dict[str, Any] = {"gated": rows, "not_applicable": len(na)}
    unjudged = [r for r in judged if r["passed"] is None or r["value"] is None or r["value"] != r["value"]]
    if not judged or unjudged:
        out.update(measured=False, breaches=None,
                   reason="no gated figure (check not run?)" if not judged else
                   f"{len(unjudged)} gated figure(s) without a verdict (not measured)")
    else:
        out.update(measured=True, breaches=sum(1 for r in judged if r["passed"] is False))
    risks = [r for r in judged if r["metric"] not in NOT_RISKS and r["value"] is not None
             and 0.0 <= r["value"] <= 1.0]
    if risks:
        top = max(risks, key=lambda r: r["value"])
        out["max"] = {k: top.get(k) for k in ("check", "metric", "params", "value", "ci_low", "ci_high", "n",
                                              "threshold")}
    adv = [r for r in judged if r["check"] == "membership" and r["metric"] == "advantage"
           and r["value"] is not None]
    if adv:
        a = max(adv, key=lambda r: r["value"])
        cap = json.loads(a["params"]).get("cap") if isinstance(a.get("params"), str) else None
        out["membership_advantage"] = {"value": a["value"], "ci_low": a["ci_low"], "ci_high": a["ci_high"],
                                       "n": a["n"], "cap": cap, "rows": len(adv)}
    else:
        out["membership_advantage"] = None
    return out


def risk_of(run: Path, chain: str) -> dict[str, Any]:
    """The chain's gated risk figures as ``check`` judged them (run by :func:`frontier` after the attacks):
    every row with a threshold (value, ``ci_low``/``ci_high``, ``n``, ``successes``, threshold, passed),
    summarized by :func:`summarize_risk`. ``measured`` is false — and ``breaches`` None, never 0 — when the
    chain has no risk files or no gated figure (the attack or the check did not run), or an applicable gated
    figure has no verdict (not measured, NaN)."""
    files = sorted((run / "risk" / chain).glob("*.parquet"))
    if not files:
        return {"measured": False, "reason": "no risk files", "gated": [], "breaches": None}
    df = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    gated = df.filter(pl.col("threshold").is_not_null() & (pl.col("check") != "utility"))
    cols = [c for c in ("check", "metric", "params", "value", "ci_low", "ci_high", "n", "successes",
                        "threshold", "passed") if c in gated.columns]
    return summarize_risk([{k: r[k] for k in cols} for r in gated.select(cols).iter_rows(named=True)])


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
        t = measure(anonbench("attack", "--run", str(run), "--chain", name))
        points[name] = {"epsilon": float(eps), "anonymize_seconds": a["seconds"], "attack_seconds": t["seconds"],
                        "attack_returncode": t["returncode"]}
    # The verdicts: ``check`` writes each risk row's threshold and passed (it exits 1 here in any case, since
    # the config's own chains were not run; the per-chain verdicts are what the frontier reads).
    checked = measure(anonbench("check", "--run", str(run)))
    for name, p in points.items():
        if "error" not in p:
            p.update(utility=utility_of(run, name), risk=risk_of(run, name))
    shutil.rmtree(run, ignore_errors=True)
    return {"config": config, "check_returncode": checked["returncode"], "points": points}


def run(work: Path, quick: bool) -> dict[str, Any]:
    events = int(os.environ.get("ANONBENCH_DPS_EVENTS", "200000" if quick else "10000000"))
    out: dict[str, Any] = {}
    previous = RESULTS / f"dp_synthetic{'-quick' if quick else ''}.json"
    old = json.loads(previous.read_text()) if previous.exists() else {}
    if os.environ.get("ANONBENCH_DPS_SKIP_COST") == "1" and old:
        # Only the frontier is re-measured: the cost part is the previous results file's, said so.
        out["cost"] = old.get("cost")
        out["cost_note"] = "cost not re-measured in this run (ANONBENCH_DPS_SKIP_COST=1): kept from the previous file"
        events = int((old.get("cost") or {}).get("events", events))
    else:
        out["cost"] = cost(work, events)
    if os.environ.get("ANONBENCH_DPS_SKIP_FRONTIER") != "1":
        out["frontier"] = frontier(work, quick)
    elif "frontier" in old:  # cost only: the frontier of the previous results file is kept, and marked as such
        out["frontier"] = old["frontier"]
        out["frontier_note"] = old.get("frontier_note") or (
            "not re-measured with this cost (ANONBENCH_DPS_SKIP_FRONTIER=1): kept from the previous results "
            "file, where it was measured together with that file's cost")
    out["note"] = ("cost measured at ANONBENCH_DPS_EVENTS events" if events != 10_000_000 else
                   "cost measured at 10M events (configs/scale.yaml)")
    return out


def _risk_cell(risk: dict[str, Any]) -> tuple[str, str, str]:
    """(max gated risk with n and CI, membership advantage with cap, breaches) as table cells."""
    if not risk.get("measured"):
        return "not measured", "not measured", "not measured"
    top = risk.get("max") or {}
    lo, hi = top.get("ci_low"), top.get("ci_high")
    ci = f" [{lo:.3f}, {hi:.3f}]" if lo is not None and hi is not None else ""
    cell = f"{top['value']:.3f}{ci} n={top['n']} ({top['check']}.{top['metric']})" if top else "none gated"
    m = risk.get("membership_advantage")
    adv = "not measured" if not m else (f"{m['value']:.3f} [{m['ci_low']:.3f}, {m['ci_high']:.3f}] n={m['n']}"
                                        + (f" (cap {m['cap']:.3f})" if m.get("cap") is not None else ""))
    return cell, adv, str(risk.get("breaches"))


def summary(result: dict[str, Any]) -> list[str]:
    """Markdown lines of the frontier (for RESULTS.md or a report): utility against the gated risk."""
    lines = ["| chain | ε | hour-of-week r | action TVD | KS events/account | 2-way error | weekly rel. error | "
             "session-length KS | max gated risk [95% CI] | membership advantage | breaches |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, p in (result.get("frontier") or {}).get("points", {}).items():
        u = p.get("utility", {})
        risk, adv, breaches = _risk_cell(p.get("risk", {}))
        lines.append(f"| {name} | {p.get('epsilon')} | {u.get('hourly_profile_correlation', np.nan):.3f} | "
                     f"{u.get('action_tv_distance', np.nan):.3f} | {u.get('events_per_account_ks', np.nan):.3f} | "
                     f"{u.get('workload_2way_error', np.nan):.3f} | "
                     f"{u.get('weekly_product_counts_rel_error', np.nan):.3f} | "
                     f"{u.get('session_length_ks', np.nan):.3f} | {risk} | {adv} | {breaches} |")
    return lines
