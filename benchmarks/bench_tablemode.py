"""Benchmark of table mode against anonymeter 1.1.0 on the full Adult files (issue 4: ≥ 10× faster).

``run(out_dir, quick)`` times anonbench's singling out (univariate, 500 attacks; multivariate, 4 columns,
500 attacks), linkability (2000 attacks, 10 neighbours, anonymeter's example split) and inference (income
from all other columns, 1000 attacks) on ``adults_ori`` / ``adults_syn_ctgan`` / ``adults_control`` from
``$ANONBENCH_REFERENCE_DATA``, plus the quasi-identifier metrics on ``uci_adult.csv``. When
``.venv-crosscheck`` exists (``make crosscheck`` creates it), anonymeter runs the same evaluators with the same
numbers of attacks in the same benchmark run (``scripts/crosscheck_anonymeter.py``), and the result records
both times, the speed-up and both tools' risks. Wall and CPU seconds (all threads of the process) are both
recorded: on a shared machine the CPU figures are the steadier comparison. Quick mode uses 3,000-row samples
and 100 attacks, without anonymeter.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import polars as pl

from reid.inference import inference
from reid.linkability import linkability
from reid.quasi_identifiers import quasi_identifiers
from reid.singling_out import singling_out
from reid.tablemode import read_table

ROOT = Path(__file__).resolve().parent.parent
XC_PYTHON = ROOT / ".venv-crosscheck" / "bin" / "python"
AUX_A = ["type_employer", "education", "hr_per_week", "capital_loss", "capital_gain"]
AUX_B = ["race", "sex", "fnlwgt", "age", "country"]
SEED = 42


def _data() -> Path | None:
    folder = Path(os.environ.get("ANONBENCH_REFERENCE_DATA", ROOT.parent / "shared" / "data" / "adult"))
    return folder if (folder / "adults_ori.csv").is_file() else None


def _risk(ms) -> list[float]:
    r = next(m for m in ms if m.metric == "risk")
    return [round(r.value, 4), round(r.ci_low, 4), round(r.ci_high, 4)]


def time_anonbench(data: Path, n: dict[str, int], rows: int | None) -> dict[str, Any]:
    ori, syn, ctl = (read_table(data / f) for f in ("adults_ori.csv", "adults_syn_ctgan.csv", "adults_control.csv"))
    if rows:
        ori, syn, ctl = ori.head(rows), syn.head(rows), ctl.head(rows // 3)
    jobs = {
        "singling_out univariate": lambda: singling_out(ori, syn, ctl, mode="univariate", n_attacks=n["uni"],
                                                        seed=SEED),
        "singling_out multivariate": lambda: singling_out(ori, syn, ctl, mode="multivariate", n_cols=4,
                                                          n_attacks=n["multi"], seed=SEED),
        "linkability": lambda: linkability(ori, syn, AUX_A, AUX_B, ctl, n_attacks=n["link"], n_neighbors=10,
                                           seed=SEED),
        "inference income": lambda: inference(ori, syn, [c for c in ori.columns if c != "income"], "income", ctl,
                                              n_attacks=n["inf"], seed=SEED),
    }
    out: dict[str, Any] = {}
    for name, job in jobs.items():
        t0, c0 = time.perf_counter(), time.process_time()
        ms = job()
        out[name] = {"seconds": round(time.perf_counter() - t0, 3), "cpu_seconds": round(time.process_time() - c0, 3),
                     "risk": _risk(ms)}
        p = next(m for m in ms if m.metric == "risk").params
        if "queries_built" in p:  # singling out: every query built, or how many were missing
            out[name].update(queries=[p["queries_built"], p["queries_requested"]], ran_short=p["ran_short"],
                             search=p.get("search", "all candidates"))
    return out


def time_anonymeter(data: Path, n: dict[str, int]) -> dict[str, Any] | None:
    if not XC_PYTHON.is_file():
        return None
    cmd = [str(XC_PYTHON), str(ROOT / "scripts" / "crosscheck_anonymeter.py"), "--ori", str(data / "adults_ori.csv"),
           "--syn", str(data / "adults_syn_ctgan.csv"), "--control", str(data / "adults_control.csv"),
           "--scenario", "ctgan", "--seed", str(SEED), "--n-uni", str(n["uni"]), "--n-multi", str(n["multi"]),
           "--n-link", str(n["link"]), "--n-inf", str(n["inf"])]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    out = {}
    for line in done.stdout.splitlines():
        row = json.loads(line)
        name = row["check"] + (f" {row['mode']}" if row["mode"] else "")
        out[name] = {"seconds": round(row["seconds"], 3), "cpu_seconds": round(row["cpu_seconds"], 3),
                     "risk": [round(row["risk"], 4)] +
                     [round(x, 4) for x in row["risk_ci"]]}
        if "queries_built" in row["params"]:
            out[name]["queries"] = [row["params"]["queries_built"], row["params"]["queries_requested"]]
    return out


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    data = _data()
    if data is None:
        return {"skipped": "ANONBENCH_REFERENCE_DATA does not hold the Adult files"}
    n = ({"uni": 100, "multi": 100, "link": 200, "inf": 200} if quick else
         {"uni": 500, "multi": 500, "link": 2000, "inf": 1000})
    t0 = time.perf_counter()
    df = read_table(data / "uci_adult.csv")
    quasi_identifiers(df, ["age", "education", "occupation", "relationship", "sex", "native-country"],
                      "salary-class")
    qi_seconds = time.perf_counter() - t0
    ours = time_anonbench(data, n, 3000 if quick else None)
    result: dict[str, Any] = {
        "rows": {"original": 3000 if quick else pl.scan_csv(data / "adults_ori.csv").select(pl.len()).collect().item()},
        "attacks": n, "quasi_identifiers_seconds_uci_adult": round(qi_seconds, 3),
        "anonbench": ours, "anonbench_seconds": round(sum(v["seconds"] for v in ours.values()), 3),
        "anonbench_cpu_seconds": round(sum(v["cpu_seconds"] for v in ours.values()), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    theirs = None if quick else time_anonymeter(data, n)
    if theirs is None:
        result["anonymeter"] = "not measured (quick mode, or .venv-crosscheck missing: run make crosscheck)"
    else:
        total = sum(v["seconds"] for v in theirs.values())
        cpu = sum(v["cpu_seconds"] for v in theirs.values())
        result.update(anonymeter=theirs, anonymeter_seconds=round(total, 3), anonymeter_cpu_seconds=round(cpu, 3),
                      speedup=round(total / result["anonbench_seconds"], 1),
                      speedup_cpu=round(cpu / result["anonbench_cpu_seconds"], 1), target_speedup=10)
    return result
