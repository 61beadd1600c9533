"""Run anonymeter 1.1.0 on ori/syn/control CSVs and print its figures as JSON (crosscheck venv only).

This script runs inside ``.venv-crosscheck`` (never the project venv): it imports anonymeter, which needs an
older numpy than anonbench pins. Usage:

    .venv-crosscheck/bin/python scripts/crosscheck_anonymeter.py --ori O.csv --syn S.csv --control C.csv \
        --scenario NAME --seed 42 [--copy-rows 10000] [--n-uni 500] [--n-multi 500] [--n-link 2000] \
        [--n-inf 1000] [--n-cols 4]

With ``--copy-rows N`` the original is a random sample of N rows and the synthetic set is a copy of it (the
"no protection at all" case: every risk must rise). One JSON object per evaluator goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
import pandas as pd
from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator
from anonymeter.stats.confidence import residual_success

AUX_A = ["type_employer", "education", "hr_per_week", "capital_loss", "capital_gain"]
AUX_B = ["race", "sex", "fnlwgt", "age", "country"]


SETTINGS: dict = {}
BUILT: list[int] = []


def _record_queries_built() -> None:
    """Note how many singling-out queries anonymeter builds (its evaluator keeps only the successful ones)."""
    from anonymeter.evaluators import singling_out_evaluator as so

    generate = so._generate_singling_out_queries

    def counted(*args, **kwargs):
        queries = generate(*args, **kwargs)
        BUILT.append(len(queries))
        return queries

    so._generate_singling_out_queries = counted


def _row(scenario: str, check: str, mode: str, n: int, res, seconds: float, cpu: float, **params) -> dict:
    risk = res.risk()
    ctrl = res.control_rate
    err = res.attack_rate.error if ctrl is None else residual_success(res.attack_rate, ctrl).error
    return {
        "tool": "anonymeter", "scenario": scenario, "check": check, "mode": mode, "n_attacks": n, **SETTINGS,
        "risk": risk.value, "risk_ci": list(risk.ci), "risk_err": err,
        "attack_rate": res.attack_rate.value, "attack_err": res.attack_rate.error,
        "control_rate": None if ctrl is None else ctrl.value, "control_err": None if ctrl is None else ctrl.error,
        "baseline_rate": res.baseline_rate.value, "n_success": int(res.n_success),
        "n_control": None if res.n_control is None else float(res.n_control),
        "n_baseline": int(res.n_baseline), "seconds": seconds, "cpu_seconds": cpu, "params": params,
    }


def _nn_check(a: argparse.Namespace) -> int:
    """anonymeter's own neighbour distances for rows 0..N-1 of the original, per auxiliary column set."""
    from anonymeter.neighbors.mixed_types_kneighbors import MixedTypeKNeighbors

    ori = pd.read_csv(a.ori).iloc[: a.nn_check]
    syn = pd.read_csv(a.syn)
    aux_all = [c for c in ori.columns if c != a.secret]
    for name, cols, k in (("aux_a", AUX_A, 10), ("aux_b", AUX_B, 10), ("inference", aux_all, 1)):
        nn = MixedTypeKNeighbors(n_neighbors=k, n_jobs=-1).fit(syn[cols])
        dist, idx = nn.kneighbors(ori[cols], return_distance=True)
        print(json.dumps({"tool": "anonymeter", "nn_check": name, "columns": cols, "k": k,
                          "distances": np.asarray(dist).tolist(), "indices": np.asarray(idx).tolist()}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ori", required=True)
    ap.add_argument("--syn", required=True)
    ap.add_argument("--control", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--copy-rows", type=int, default=0)
    ap.add_argument("--n-uni", type=int, default=500)
    ap.add_argument("--n-multi", type=int, default=500)
    ap.add_argument("--n-cols", type=int, default=4)
    ap.add_argument("--n-link", type=int, default=2000)
    ap.add_argument("--n-neighbors", type=int, default=10)
    ap.add_argument("--n-inf", type=int, default=1000)
    ap.add_argument("--secret", default="income")
    ap.add_argument("--only", default="uni,multi,link,inf")
    ap.add_argument("--nn-check", type=int, default=0,
                    help="instead: distances of the 10 nearest released records of N original rows")
    a = ap.parse_args()
    if a.nn_check:
        return _nn_check(a)
    warnings.simplefilter("ignore")
    _record_queries_built()
    SETTINGS.update(seed=a.seed, copy_rows=a.copy_rows)
    ori = pd.read_csv(a.ori)
    control = pd.read_csv(a.control)
    if a.copy_rows:
        ori = ori.sample(a.copy_rows, random_state=a.seed).reset_index(drop=True)
        syn = ori.copy()
    else:
        syn = pd.read_csv(a.syn)
    only = set(a.only.split(","))
    out = []
    if "uni" in only:
        t, c = time.perf_counter(), time.process_time()
        ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=a.n_uni, seed=a.seed)
        ev.evaluate(mode="univariate")
        out.append(_row(a.scenario, "singling_out", "univariate", a.n_uni, ev.results(), time.perf_counter() - t,
                        time.process_time() - c, queries_built=BUILT[-1], queries_requested=a.n_uni))
    if "multi" in only:
        t, c = time.perf_counter(), time.process_time()
        ev = SinglingOutEvaluator(ori=ori, syn=syn, control=control, n_attacks=a.n_multi, n_cols=a.n_cols,
                                  seed=a.seed)
        ev.evaluate(mode="multivariate")
        out.append(_row(a.scenario, "singling_out", "multivariate", a.n_multi, ev.results(),
                        time.perf_counter() - t, time.process_time() - c, n_cols=a.n_cols, queries_built=BUILT[-1],
                        queries_requested=a.n_multi, max_attempts=10_000_000))
    if "link" in only:
        np.random.seed(a.seed)  # linkability samples with pandas on numpy's global RNG (anonbench draws the same)
        t, c = time.perf_counter(), time.process_time()
        ev = LinkabilityEvaluator(ori=ori, syn=syn, control=control, n_attacks=a.n_link,
                                  aux_cols=(AUX_A, AUX_B), n_neighbors=a.n_neighbors)
        ev.evaluate(n_jobs=-1)
        out.append(_row(a.scenario, "linkability", "", a.n_link, ev.results(), time.perf_counter() - t,
                        time.process_time() - c, n_neighbors=a.n_neighbors))
    if "inf" in only:
        np.random.seed(a.seed)  # as linkability
        t, c = time.perf_counter(), time.process_time()
        aux = [c for c in ori.columns if c != a.secret]
        ev = InferenceEvaluator(ori=ori, syn=syn, control=control, aux_cols=aux, secret=a.secret,
                                n_attacks=a.n_inf)
        ev.evaluate(n_jobs=-1)
        out.append(_row(a.scenario, "inference", a.secret, a.n_inf, ev.results(), time.perf_counter() - t,
                        time.process_time() - c, secret=a.secret))
    for row in out:
        print(json.dumps(row))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
