"""Render `benchmarks/RESULTS.md` from the JSON results (`python -m benchmarks.summarize`); `make bench` runs
it last, so every figure in that file comes from a JSON that `make bench` wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def _load(name: str) -> dict[str, Any] | None:
    p = RESULTS / f"{name}.json"
    if not p.is_file():
        return None
    d = json.loads(p.read_text())
    return None if "error" in d else d


def _load_any(name: str) -> dict[str, Any] | None:
    """A result even when it records an error (the scale benchmark keeps what it measured)."""
    p = RESULTS / f"{name}.json"
    return json.loads(p.read_text()) if p.is_file() else None


def _scale(sc: dict[str, Any]) -> list[str]:
    out = [f"## Scale: 10M and 100M events (`{sc.get('config', 'configs/scale.yaml')}`, chain "
           f"`{sc.get('chain', 'pseudonymize')}`, one run)", "",
           "| events | stage | wall s | events/s | µs/event | peak RSS, process tree |", "|---|---|---|---|---|---|"]
    for n, stages in sc.get("sizes", {}).items():
        for stage, r in stages.items():
            if r.get("returncode") != 0:
                why = r.get("skipped") or f"exit {r.get('returncode')}: {' '.join(r.get('stderr_tail') or [])[:120]}"
                out.append(f"| {int(n):,} | {stage} | – | – | – | not measured ({why}) |")
                continue
            rss = f"{_f(r['peak_rss_tree_mb'])} MB" if "peak_rss_tree_mb" in r else "– (writes only)"
            out.append(f"| {int(n):,} | {stage} | {r['seconds']:.1f} | {_f(r.get('events_per_s') or 0)} | "
                       f"{1e6 * r['seconds'] / r['events']:.2f} | {rss} |")
    ratios = sc.get("ratios", {})
    vs = ratios.get("generate_vs_sink", {})
    per = ratios.get("us_per_event_large_over_small", {})
    out += ["", "Generation / sink (the same events rewritten by a bare pyarrow loop, same run): "
            + ", ".join(f"{int(n):,}: {v if v is not None else 'not measured'}" for n, v in vs.items())
            + ". Time per event, large / small: " + ", ".join(f"{k} {v if v is not None else '–'}"
                                                            for k, v in per.items()) + ".", "",
            "Targets: " + ", ".join(f"{k} {'✅' if v else '❌'}" for k, v in sc.get("targets", {}).items())]
    if sc.get("error"):
        out += ["", f"Error: {sc['error'][:400]}"]
    return [*out, ""]


def _f(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


def render() -> str:
    out = ["# Benchmark results", "",
           "Written by `make bench` (`python -m benchmarks.run`, then `python -m benchmarks.summarize`) from",
           "`benchmarks/results/*.json`. One benchmark: `python -m benchmarks.run --only generate`.", ""]
    machine = None
    if g := _load("generate"):
        machine = g["machine"]
        out += ["## Generation (`anonbench generate --config configs/scale.yaml --events N`)", "",
                "| events | wall s | events/s | MB/s | peak RSS, process tree | largest process |", "|---|---|---|---|---|---|"]
        for n, v in g["sizes"].items():
            out.append(f"| {int(n):,} | {v['seconds']:.1f} | {_f(v['events_per_s'])} | {v['mb_per_s']} | "
                       f"{_f(v['peak_rss_tree_mb'])} MB | {_f(v['peak_rss_max_process_mb'])} MB |")
        r, refs = g["ratios"], g["references"]
        out += ["", "References measured in the same run:", "",
                f"- (a) naive Beam, one Faker call per field per event: {_f(refs['a_naive_beam_faker']['events_per_s'])} "
                f"events/s ({refs['a_naive_beam_faker']['events']:,} events) — anonbench is **{r['vs_a_naive']}×**",
                f"- (b) same generator code, bare single-process loop with pyarrow: "
                f"{_f(refs['b_bare_loop']['events_per_s'])} events/s — anonbench is **{r['vs_b_bare']}×**",
                f"- (c) pyarrow writing already-generated event tables (the sink): "
                f"{_f(refs['c_pyarrow_sink_events']['events_per_s'])} rows/s — anonbench is **{r['vs_c_sink']}×**",
                f"- peak RSS 10M / 1M: {r['rss_10m_over_1m']}", "",
                "Targets: " + ", ".join(f"{k} {'✅' if v else '❌'}" for k, v in g["targets"].items()), ""]
    if sc := _load_any("scale"):
        out += _scale(sc)
    if a := _load("anonymize"):
        out += [f"## Anonymize ({a['events']:,} events, `anonbench anonymize`)", "",
                "| chain | events/s, 1 worker | events/s, 2 workers | bare pyarrow loop | best / bare |",
                "|---|---|---|---|---|"]
        for c, v in a["chains"].items():
            two = (v.get("end_to_end_2_workers") or {}).get("events_per_s")
            out.append(f"| {c} | {_f(v['end_to_end_1_worker']['events_per_s'])} | {_f(two) if two else '–'} | "
                       f"{_f(v['bare_pyarrow_loop']['events_per_s'])} | {v['ratio_best_end_to_end_vs_bare']} |")
        h = a["hmac_low_cardinality"]
        out += ["", "HMAC on low-cardinality columns: " + ", ".join(
            f"{k} ({v['distinct']} distinct) {_f(v['values_per_s'] / 1e6, 1)}M values/s" for k, v in h.items()), "",
            "Targets: " + ", ".join(f"{k} {'✅' if v else '❌'}" for k, v in a["targets"].items()), ""]
    if t := _load("attack"):
        out += [f"## Attack ({t['events']:,} events, all event checks, default parameters)", "",
                "| chain | seconds | slowest checks |", "|---|---|---|"]
        for c, v in t["chains"].items():
            slow = sorted(v["per_check_seconds"].items(), key=lambda kv: -kv[1])[:3]
            out.append(f"| {c} | {v['seconds']:.1f} | " + ", ".join(f"{k} {s:.1f} s" for k, s in slow) + " |")
        out += ["", f"Target: {t.get('target', '')}", ""]
    if tm := _load("tablemode"):
        out += ["## Table mode against anonymeter 1.1.0 (full Adult files, same run)", "",
                f"anonbench {tm['anonbench_seconds']:.1f} s wall / {tm['anonbench_cpu_seconds']:.1f} s CPU; "
                f"anonymeter {tm.get('anonymeter_seconds') or float('nan'):.1f} s / "
                f"{tm.get('anonymeter_cpu_seconds') or float('nan'):.1f} s: **{tm.get('speedup')}×** wall, "
                f"{tm.get('speedup_cpu')}× CPU (target ≥ {tm.get('target_speedup')}×).", ""]
    if xc := _load("crosscheck_tablemode"):
        out += [f"## Whole table mode against anonymeter 1.1.0 at {xc['n_attacks']:,} attacks (`make crosscheck`)", "",
                f"Full Adult files, {xc['n_attacks']:,} attacks per evaluator, {xc['n_cols']} columns per "
                f"multivariate query, {xc['n_neighbors']} neighbours, secret `{xc['secret']}`, seed {xc['seed']}.", "",
                "| check | anonymeter risk [95% CI] | anonbench risk [95% CI] | inside | queries scored "
                "(anonymeter / anonbench) |", "|---|---|---|---|---|"]
        for r in xc["rows"]:
            a, b = r["anonymeter"], r["anonbench"]
            q = ""
            if "queries_anonbench" in r:
                mine = (f"all {r['queries_anonbench'][0]:,}" if r.get("anonbench_scored") == "all" else
                        f"{r['queries_anonbench'][0]}/{r['queries_anonbench'][1]}")
                q = f"{r['queries_anonymeter'][0]}/{r['queries_anonymeter'][1]} / {mine}"
            out.append(f"| {r['check']} | {a[0]:.3f} [{a[1]:.3f}, {a[2]:.3f}] | {b[0]:.3f} [{b[1]:.3f}, {b[2]:.3f}] "
                       f"| {'yes' if r['inside'] else 'NO'} | {q} |")
        if pool := xc.get("univariate_pool"):
            out += ["", f"Univariate: all {pool['queries']:,} univariate singling-out queries of the release (the same "
                    f"set in both tools) single out at a share of {pool['share']:.4f} ({pool['expected']:.1f} of "
                    f"{xc['n_attacks']:,} expected); anonymeter drew {pool['anonymeter']} (z = "
                    f"{pool['z_anonymeter']:+.1f})"
                    + (f"; anonbench scores all of them: {pool['anonbench']} of {pool['anonbench_n']:,}."
                       if "anonbench_n" in pool else f", anonbench {pool['anonbench']}.")]
        if dr := _load("crosscheck_univariate_draws"):
            out += ["", f"Univariate, more anonymeter draws at the same parameters (seeds "
                    f"{', '.join(str(r['seed']) for r in dr['draws'])}): {dr['covered']}/{dr['total']} of their 95% "
                    f"intervals cover anonbench's exact {dr['anonbench_exact'][0]:.4f}; their mean risk "
                    f"{dr['mean_anonymeter_risk']:.4f}."]
        out += ["", f"anonymeter's evaluators {xc['anonymeter_seconds']:.1f} s wall / {xc['anonymeter_cpu_seconds']:.1f} s "
                f"CPU; anonbench's whole table mode {xc['anonbench_seconds']:.1f} s / {xc['anonbench_cpu_seconds']:.1f} s: "
                f"**{xc['speedup']}×** wall, {xc['speedup_cpu']}× CPU (target ≥ {xc['target_speedup']}×)"
                + (f"; anonymeter's figures recorded {xc['anonymeter_recorded_at']}, anonbench measured "
                   f"{xc['anonbench_measured_at']}." if "anonymeter_recorded_at" in xc else "."), ""]
    if v := _load("validate"):
        out += [f"## Validation ({v['events']:,} events, raw + every chain)", ""]
        for w, r in v["by_workers"].items():
            out.append(f"- {w} worker(s): {r['wall_seconds']:.0f} s for {r['validated_rows']:,} rows "
                       f"({r['seconds_per_250k_rows']} s per 250k rows)")
        out.append("")
    if p := _load("pipeline"):
        out += [f"## The whole default run (`anonbench run --config {p['config']}`, {p['events']:,} events)", "",
                f"{p['seconds']:.0f} s wall, check exit code {p['check_exit_code']}, peak RSS "
                f"{_f(p['peak_rss_tree_mb'])} MB (tree). Share of wall time: " + ", ".join(
                    f"{k} {100 * s:.0f}%" for k, s in p["share_of_wall_time"].items()) + ".", "",
                "Targets: " + ", ".join(f"{k} {'✅' if x else '❌'}" for k, x in p["targets"].items()), ""]
    if gt := _load("gate"):
        out += [f"## The CI gate with a baseline (`anonbench run` + `check --baseline`, {gt['config']})", "",
                f"plain `anonbench run` {gt['plain_run']['seconds']:.0f} s; gate: `anonbench run` "
                f"{gt['gate_run']['seconds']:.0f} s + `check --baseline` {gt['check_baseline']['seconds']:.1f} s "
                f"({gt['cells_compared']} figures compared, {gt['cells_regressed']} regressed): **{gt['ratio']}×** "
                f"({gt['ratio_same_run']}× on one and the same run; target ≤ {gt['target_ratio']}×).", ""]
    if ft := _load("fit"):
        f = ft["fit"]
        out += [f"## `anonbench fit` ({ft['events']:,} events, foreign schema, no comparison run)", "",
                f"{f['seconds']:.1f} s wall, {f.get('cpu_seconds', float('nan')):.1f} s CPU, peak RSS "
                f"{_f(f['peak_rss_tree_mb'])} MB: target < {ft['target_max_seconds']:.0f} s "
                f"{'✅' if ft['met'] else '❌'}", ""]
    if im := _load("import"):
        out += [f"## Import (`anonbench import`, {im['events']:,} events in a foreign schema)", "",
                "| file | import s | pyarrow sink s | import / sink | target |", "|---|---|---|---|---|"]
        for fmt in ("parquet", "csv"):
            if fmt in im:
                r = im[fmt]
                out.append(f"| {fmt} | {r['import']['seconds']:.1f} | {r['pyarrow_sink']['seconds']:.1f} | "
                           f"**{r['ratio_import_to_sink']}×** | ≤ {r['target_max_ratio']}× "
                           f"{'✅' if r['met'] else '❌'} |")
        out.append("")
    if machine:
        out += [f"Machine: {machine['cpus']} CPUs, {machine['memory_gb']} GB, Python {machine['python']}, "
                f"{machine['platform']}.", ""]
    return "\n".join(out)


def main() -> int:
    text = render()
    tmp = HERE / "RESULTS.md.tmp"
    tmp.write_text(text)
    tmp.replace(HERE / "RESULTS.md")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
