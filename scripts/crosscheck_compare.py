"""Side-by-side comparison of anonbench's table mode with pyCANON and anonymeter (run by crosscheck.sh).

Reads the JSON lines the two tools wrote (``OUT/pycanon.jsonl``, ``OUT/anonymeter.jsonl``,
``OUT/neighbors.jsonl``), runs anonbench on the same rows with the same numbers of attacks, prints three
tables and writes ``OUT/summary.json``. Exit 0 when:

* every pyCANON figure (k, classes, unique share, l, int(entropy l), t, max and average risk) is equal;
* anonbench's neighbours equal anonymeter's on the same targets: the same distances and the same records
  (anonymeter's numba quicksort decides among equally close records, and anonbench replays it);
* every anonymeter risk and anonbench's are statistically consistent: |difference| ≤ the combined 95% error.
  anonymeter scores a random sample of singling-out queries; anonbench scores every singling-out query of the
  release (the exact rate that sample estimates; ``params.scored = "all"``), so "anonbench's risk inside
  anonymeter's interval" asks whether anonymeter's interval covers the exact value, which a 95% interval
  misses about one time in twenty.
  Linkability and inference draw their targets as anonymeter does (seeded just before each evaluator), so their
  success counts are compared too and must be equal ("same counts"; the baselines are not compared:
  anonymeter's linkability baseline is unseeded).

    .venv/bin/python scripts/crosscheck_compare.py --data DIR --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reid.anonymeter_stats import AttackCounts, residual_success
from reid.inference import inference
from reid.linkability import linkability
from reid.neighbors import encode_pair, kneighbors
from reid.quasi_identifiers import quasi_identifiers
from reid.singling_out import singling_out
from reid.tablemode import evaluate_tables, read_table

AUX_A = ["type_employer", "education", "hr_per_week", "capital_loss", "capital_gain"]
AUX_B = ["race", "sex", "fnlwgt", "age", "country"]
ROOT = Path(__file__).resolve().parent.parent
TARGET_SPEEDUP = 10
QI_FIELDS = ("k", "equivalence_classes", "unique_share", "l_distinct", "l_entropy_int", "t_closeness",
             "prosecutor_risk_max", "class_risk_avg")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def compare_pycanon(data: Path, rows: list[dict], console: Console) -> bool:
    df = read_table(data / "uci_adult.csv")
    table = Table(title="pyCANON 1.3.6 vs anonbench on uci_adult.csv (exact)")
    for col in ("QI set", "figure", "pyCANON", "anonbench", "equal"):
        table.add_column(col)
    ok = True
    for row in rows:
        t0 = time.perf_counter()
        ours = {m.metric: m.value for m in quasi_identifiers(df, row["quasi_identifiers"], row["sensitive"])}
        took = time.perf_counter() - t0
        ours["l_entropy_int"] = int(ours["l_entropy"] + 1e-9)
        for f in QI_FIELDS:
            theirs, mine = row[f], ours[f]
            same = theirs == mine if f in ("k", "equivalence_classes", "l_distinct", "l_entropy_int") else \
                math.isclose(theirs, mine, rel_tol=1e-12, abs_tol=1e-12)
            ok &= same
            table.add_row(row["name"], f, f"{theirs:.10g}", f"{mine:.10g}", "yes" if same else "NO")
        table.add_row(row["name"], "seconds", f"{row['seconds']:.2f}", f"{took:.3f}", "")
    console.print(table)
    return ok


def compare_neighbors(data: Path, rows: list[dict], console: Console) -> bool:
    ori = read_table(data / "adults_ori.csv")
    syn = read_table(data / "adults_syn_ctgan.csv")
    ok = True
    for row in rows:
        cols, k = row["columns"], row["k"]
        ref = np.array(row["distances"])
        targets = ori.head(ref.shape[0])
        cand, q = encode_pair(syn.select(cols), targets.select(cols), cols)
        idx, dist = kneighbors(cand, q, k)
        diff = float(np.abs(dist - ref).max())
        ok &= diff < 1e-5
        console.print(f"neighbour distances, {row['nn_check']} ({len(cols)} columns, k={k}, {ref.shape[0]} targets):"
                      f" largest difference to anonymeter {diff:.2e} {'ok' if diff < 1e-5 else 'DIFFERENT'}")
        if "indices" in row:
            theirs = np.sort(np.array(row["indices"]), axis=1)
            differ = int((np.sort(idx, axis=1) != theirs).any(axis=1).sum())
            ok &= differ == 0
            console.print(f"neighbour records, {row['nn_check']}: {differ} of {ref.shape[0]} targets with other "
                          f"neighbours than anonymeter's {'ok' if differ == 0 else 'DIFFERENT'}")
    return ok


def _risk_error(ms: dict) -> float:
    """Unclipped propagated error of anonbench's risk, recomputed from the reported counts."""
    att, ctl, base = ms["attack_rate"], ms["control_rate"], ms["baseline_rate"]
    counts = AttackCounts(att.n, att.value * att.n, base.value * base.n, base.n,
                          None if ctl.n == 0 else ctl.value * ctl.n, ctl.n or None)
    a, _, c = counts.rates()
    return a.error if c is None else residual_success(a, c).error


def _anonbench(row: dict, tables: dict[str, pl.DataFrame]) -> tuple[dict, float]:
    ori, syn, ctl = tables["ori"], tables["syn"], tables["ctl"]
    seed, check = row["seed"], row["check"]
    if row["scenario"] == "copy":  # the rows anonymeter's script takes: pandas' sample(random_state=seed)
        ori = ori[np.random.RandomState(seed).permutation(ori.height)[: row["copy_rows"]]]
        syn = ori.clone()
    t0, c0 = time.perf_counter(), time.process_time()
    if check == "singling_out":
        ms = singling_out(ori, syn, ctl, mode=row["mode"], n_attacks=row["n_attacks"],
                          n_cols=row["params"].get("n_cols", 1), seed=seed)
    elif check == "linkability":
        ms = linkability(ori, syn, AUX_A, AUX_B, ctl, n_attacks=row["n_attacks"],
                         n_neighbors=row["params"]["n_neighbors"], seed=seed)
    else:
        secret = row["params"]["secret"]
        ms = inference(ori, syn, [c for c in ori.columns if c != secret], secret, ctl, n_attacks=row["n_attacks"],
                       seed=seed)
    return {m.metric: m for m in ms}, time.perf_counter() - t0, time.process_time() - c0


def compare_anonymeter(data: Path, rows: list[dict], console: Console) -> tuple[bool, dict]:
    tables = {k: read_table(data / f) for k, f in (("ori", "adults_ori.csv"), ("syn", "adults_syn_ctgan.csv"),
                                                      ("ctl", "adults_control.csv"))}
    table = Table(title="anonymeter 1.1.0 vs anonbench: risk [95% CI] at the same numbers of attacks")
    for col in ("scenario", "seed", "check", "n", "anonymeter", "anonbench", "inside CI", "consistent",
                "successes / control (anonymeter | anonbench)", "s anonymeter", "s anonbench"):
        table.add_column(col)
    ok, inside_count = True, 0
    times = {"anonymeter": 0.0, "anonbench": 0.0, "anonymeter_cpu": 0.0, "anonbench_cpu": 0.0}
    results = []
    for row in rows:
        row.setdefault("copy_rows", 10_000)
        ms, took, cpu = _anonbench(row, tables)
        r = ms["risk"]
        e_theirs = row.get("risk_err", (row["risk_ci"][1] - row["risk_ci"][0]) / 2)
        inside = row["risk_ci"][0] - 1e-12 <= r.value <= row["risk_ci"][1] + 1e-12
        consistent = abs(r.value - row["risk"]) <= math.hypot(e_theirs, _risk_error(ms)) + 1e-12
        ok &= consistent
        ours_n = [round(ms[m].value * ms[m].n) if ms[m].n else None for m in ("attack_rate", "control_rate")]
        theirs_n = [row["n_success"], None if row["n_control"] is None else round(row["n_control"])]
        same = None if row["check"] == "singling_out" else ours_n == theirs_n
        if same is not None:
            ok &= same
        inside_count += inside
        times["anonymeter"] += row["seconds"]
        times["anonbench"] += took
        times["anonymeter_cpu"] += row.get("cpu_seconds", math.nan)
        times["anonbench_cpu"] += cpu
        label = row["check"] + (f" {row['mode']}" if row["mode"] else "")
        table.add_row(row["scenario"], str(row["seed"]), label, str(row["n_attacks"]),
                      f"{row['risk']:.3f} [{row['risk_ci'][0]:.3f}, {row['risk_ci'][1]:.3f}]",
                      f"{r.value:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]", "yes" if inside else "no",
                      "yes" if consistent else "NO",
                      f"{theirs_n[0]}/{theirs_n[1]} | {ours_n[0]}/{ours_n[1]}"
                      + ("" if same is None else (" same" if same else " DIFFERENT")),
                      f"{row['seconds']:.1f}", f"{took:.2f}")
        results.append({"scenario": row["scenario"], "seed": row["seed"], "check": label, "n": row["n_attacks"],
                        "anonymeter": [row["risk"], *row["risk_ci"]], "anonbench": [r.value, r.ci_low, r.ci_high],
                        "inside": inside, "consistent": consistent, "counts": [theirs_n, ours_n],
                        "same_counts": same, "seconds": [row["seconds"], took]})
    console.print(table)
    speedup = times["anonymeter"] / times["anonbench"] if times["anonbench"] else math.nan
    speedup_cpu = times["anonymeter_cpu"] / times["anonbench_cpu"] if times["anonbench_cpu"] else math.nan
    console.print(f"anonbench risk inside anonymeter's 95% CI: {inside_count}/{len(rows)}; all evaluators: "
                  f"anonymeter {times['anonymeter']:.1f} s wall / {times['anonymeter_cpu']:.1f} s CPU, anonbench "
                  f"{times['anonbench']:.1f} s wall / {times['anonbench_cpu']:.1f} s CPU "
                  f"(× {speedup:.1f} wall, × {speedup_cpu:.1f} CPU; the tools ran one after the other)")
    return ok, {"rows": results, "inside": inside_count, "total": len(rows), "seconds": times, "speedup": speedup,
                "speedup_cpu": speedup_cpu}


def _check_label(check: str, mode: str) -> str:
    return check + (f" {mode}" if mode else "")


def compare_tablemode(data: Path, rows: list[dict], console: Console) -> tuple[bool, dict]:
    """anonbench's whole table mode (``evaluate_tables``) against anonymeter's four evaluators, same parameters.

    Passes when every anonbench risk lies inside anonymeter's 95% interval, every singling-out query was built
    by anonbench, and table mode is at least TARGET_SPEEDUP times faster (wall and CPU) than the evaluators.
    """
    by = {_check_label(r["check"], r["mode"]): r for r in rows}
    multi, link, inf = by["singling_out multivariate"], by["linkability"], by["inference income"]
    secret = inf["params"]["secret"]
    n = multi["n_attacks"]
    if any(r["n_attacks"] != n for r in rows) or len({r["seed"] for r in rows}) != 1:
        raise SystemExit("crosscheck: the table-mode rows must share one number of attacks and one seed")
    ori, syn, ctl = (read_table(data / f) for f in ("adults_ori.csv", "adults_syn_ctgan.csv", "adults_control.csv"))
    t0, c0 = time.perf_counter(), time.process_time()
    ms = evaluate_tables(ori, syn, ctl, qis=[c for c in ori.columns if c != secret], sensitive=secret,
                         aux_a=AUX_A, aux_b=AUX_B, n_attacks=n, n_cols=multi["params"]["n_cols"],
                         n_neighbors=link["params"]["n_neighbors"], seed=multi["seed"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    ours: dict[str, dict] = {}
    for m in ms:
        if m.check in ("singling_out", "linkability", "inference"):
            mode = m.params.get("mode", "") if m.check == "singling_out" else (secret if m.check == "inference" else "")
            ours.setdefault(_check_label(m.check, mode), {})[m.metric] = m
    table = Table(title=f"Table mode, full Adult files, {n} attacks per evaluator, seed {multi['seed']}: "
                        "anonymeter 1.1.0 vs anonbench")
    for col in ("check", "anonymeter risk [95% CI]", "anonbench risk [95% CI]", "inside CI", "consistent",
                "queries built/requested (anonymeter | anonbench)", "s anonymeter (CPU)"):
        table.add_column(col)
    ok, results = True, []
    for label, row in by.items():
        r = ours[label]["risk"]
        inside = row["risk_ci"][0] - 1e-12 <= r.value <= row["risk_ci"][1] + 1e-12
        ok &= inside
        e_theirs = row.get("risk_err", (row["risk_ci"][1] - row["risk_ci"][0]) / 2)
        consistent = abs(r.value - row["risk"]) <= math.hypot(e_theirs, _risk_error(ours[label])) + 1e-12
        built = ""
        entry = {"check": label, "anonymeter": [row["risk"], *row["risk_ci"]],
                 "anonbench": [r.value, r.ci_low, r.ci_high], "inside": inside, "consistent": consistent,
                 "successes_anonymeter": [row["n_success"], row["n_control"], row["n_baseline"]],
                 "successes_anonbench": [ours[label][k].successes for k in ("attack_rate", "control_rate",
                                                                           "baseline_rate")],
                 "seconds_anonymeter": row["seconds"], "cpu_seconds_anonymeter": row["cpu_seconds"]}
        if row["check"] == "singling_out":
            p = r.params
            theirs = [row["params"].get("queries_built"), row["params"].get("queries_requested")]
            mine = [p["queries_built"], p["queries_requested"]]
            scored_all = p.get("scored") == "all"
            all_built = not p["ran_short"] and (scored_all or p["queries_built"] == p["queries_requested"])
            ok &= all_built
            built = f"{theirs[0]}/{theirs[1]} | " + (f"all {mine[0]:,} scored" if scored_all else
                                                     f"{mine[0]}/{mine[1]}") + ("" if all_built else " SHORT")
            entry.update(queries_anonymeter=theirs, queries_anonbench=mine, anonbench_search=p.get("search"),
                         anonbench_scored=p.get("scored"), anonbench_n=r.n,
                         anonbench_queries_available=p.get("queries_available"), ran_short=p["ran_short"],
                         all_queries_built=all_built)
        table.add_row(label, f"{row['risk']:.4f} [{row['risk_ci'][0]:.4f}, {row['risk_ci'][1]:.4f}]",
                      f"{r.value:.4f} [{r.ci_low:.4f}, {r.ci_high:.4f}]", "yes" if inside else "NO",
                      "yes" if consistent else "NO", built,
                      f"{row['seconds']:.1f} ({row['cpu_seconds']:.1f})")
        results.append(entry)
    pool = _univariate_pool(ori, syn, by["singling_out univariate"], ours["singling_out univariate"]["attack_rate"])
    console.print(f"univariate singling out: all {pool['queries']:,} univariate singling-out queries of the release "
                  f"(the same set in both tools) single out a record of the original at a share of "
                  f"{pool['share']:.4f}, {pool['expected']:.1f} expected successes of {n}; anonymeter drew "
                  f"{pool['anonymeter']} (z = {pool['z_anonymeter']:+.1f}); anonbench scored all of them: "
                  f"{pool['anonbench']} of {pool['anonbench_n']:,}")
    theirs_wall = sum(r["seconds"] for r in rows)
    theirs_cpu = sum(r["cpu_seconds"] for r in rows)
    speedup, speedup_cpu = theirs_wall / wall, theirs_cpu / cpu
    fast = speedup >= TARGET_SPEEDUP and speedup_cpu >= TARGET_SPEEDUP
    ok &= fast
    table.add_row("all (anonbench: whole table mode)", "", "", "", "", "",
                  f"{theirs_wall:.1f} ({theirs_cpu:.1f}) vs {wall:.1f} ({cpu:.1f})")
    console.print(table)
    console.print(f"table mode: anonymeter's evaluators {theirs_wall:.1f} s wall / {theirs_cpu:.1f} s CPU, anonbench's "
                  f"whole table mode {wall:.1f} s wall / {cpu:.1f} s CPU: x {speedup:.1f} wall, x {speedup_cpu:.1f} CPU "
                  f"(target x {TARGET_SPEEDUP}; measured in this run, one tool after the other)")
    summary = {"n_attacks": n, "seed": multi["seed"], "n_cols": multi["params"]["n_cols"],
               "n_neighbors": link["params"]["n_neighbors"], "secret": secret, "rows": results,
               "anonymeter_seconds": round(theirs_wall, 3), "anonymeter_cpu_seconds": round(theirs_cpu, 3),
               "anonbench_seconds": round(wall, 3), "anonbench_cpu_seconds": round(cpu, 3),
               "speedup": round(speedup, 2), "speedup_cpu": round(speedup_cpu, 2), "target_speedup": TARGET_SPEEDUP,
               "univariate_pool": pool, "all_inside_ci": all(e["inside"] for e in results),
               "all_queries_built": all(e.get("all_queries_built", True) for e in results),
               "ok": ok}
    return ok, summary


def _univariate_pool(ori: pl.DataFrame, syn: pl.DataFrame, theirs: dict, attack) -> dict:
    """Every univariate singling-out query of the release checked on the original: the rate both tools sample."""
    from reid.queries import count_matches, encode_tables
    from reid.singling_out import univariate_queries

    cols = list(syn.columns)
    e_syn, e_ori = encode_tables([syn.unique(maintain_order=True), ori.select(cols).unique(maintain_order=True)],
                                 cols)
    q = univariate_queries(e_syn, None, np.random.default_rng(0))
    share = float((count_matches(e_ori, q, stop_above=1) == 1).mean()) if len(q) else math.nan
    n = theirs["n_attacks"]
    sd = math.sqrt(n * share * (1 - share)) or math.nan
    return {"queries": len(q), "share": share, "expected": n * share, "anonymeter": theirs["n_success"],
            "anonbench": attack.successes, "anonbench_n": attack.n,
            "z_anonymeter": (theirs["n_success"] - n * share) / sd}


def _machine() -> dict:
    import os
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args()
    console = Console(width=160)
    ok_qi = compare_pycanon(a.data, read_jsonl(a.out / "pycanon.jsonl"), console)
    ok_nn = compare_neighbors(a.data, read_jsonl(a.out / "neighbors.jsonl"), console)
    ok_am, summary = compare_anonymeter(a.data, read_jsonl(a.out / "anonymeter.jsonl"), console)
    ok_tm, tablemode = compare_tablemode(a.data, read_jsonl(a.out / "tablemode.jsonl"), console)
    verdict = {"pycanon_exact": ok_qi, "neighbors_equal": ok_nn, "anonymeter_consistent": ok_am,
               "tablemode_ok": ok_tm, **summary, "tablemode": tablemode}
    (a.out / "summary.json").write_text(json.dumps(verdict, indent=2) + "\n")
    src = a.out / "tablemode.jsonl"
    result = {"benchmark": "crosscheck_tablemode", "machine": _machine(),
              "anonbench_measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "anonymeter_recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(src.stat().st_mtime)),
              **tablemode}
    (a.results / "crosscheck_tablemode.json").write_text(json.dumps(result, indent=2) + "\n")
    console.print(f"pyCANON exact: {ok_qi}; neighbour distances equal: {ok_nn}; "
                  f"anonymeter risks consistent: {ok_am}; table mode (inside CI, all queries, x{TARGET_SPEEDUP}): "
                  f"{ok_tm}  ->  {a.out / 'summary.json'}, {a.results / 'crosscheck_tablemode.json'}")
    return 0 if (ok_qi and ok_nn and ok_am and ok_tm) else 1


if __name__ == "__main__":
    raise SystemExit(main())
