"""Utility of ``dp.synthesize`` over several noise draws on one run's raw tables (issue 8), in-process.

The noise is unseeded (secure), so one release is one draw: this measures the same utility figures as the
run's ``utility`` check (:func:`reid.utility.utility`) for ``--draws`` independent releases at each ε and
prints mean, standard deviation, min and max per figure; ``--noiseless`` adds the release fitted to the
exact bounded measurements (``dp_measure(noise=False)``: the model's bias and the sampling noise alone, a
ceiling no ε can pass). Nothing is written into the run.

    python scripts/dp_synth_draws.py --run runs/default --epsilon 1 --epsilon 8 --draws 3 [--noiseless]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anonymizers.base import BatchContext  # noqa: E402
from anonymizers.dp_fit import fit  # noqa: E402
from anonymizers.dp_sample import population  # noqa: E402
from anonymizers.dp_synthesize import DpSynthesize, DpSynthesizeParams, SynthRelease  # noqa: E402
from reid.utility import utility  # noqa: E402

TABLES = ("orgs", "users", "events")
FIGURES = ("hourly_profile_correlation", "action_tv_distance", "events_per_account_ks", "workload_1way_error",
           "workload_2way_error", "workload_3way_error", "weekly_product_counts_rel_error", "session_length_ks",
           "retained_rows")


def release_tables(a: DpSynthesize, rel: SynthRelease) -> dict[str, pa.Table]:
    parts = [a.release_shard(rel, i) for i in range(a.release_shards(rel))]
    return {t: pa.concat_tables([p[t] for p in parts]) for t in TABLES}


def figures(raw: dict[str, pa.Table], out: dict[str, pa.Table]) -> dict[str, float]:
    lraw = {t: pl.from_arrow(v).lazy() for t, v in raw.items()}       # type: ignore[union-attr]
    lout = {t: pl.from_arrow(v).lazy() for t, v in out.items()}       # type: ignore[union-attr]
    return {m.metric: round(float(m.value), 4) for m in utility(lraw, lout) if m.metric in FIGURES}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", required=True, type=Path, help="a run directory with raw/orgs, raw/users, raw/events")
    ap.add_argument("--epsilon", type=float, action="append", help="ε (repeatable; default 1)")
    ap.add_argument("--draws", type=int, default=3, help="noise draws per ε")
    ap.add_argument("--noiseless", action="store_true", help="also the release from the exact measurements")
    args = ap.parse_args(argv)
    raw = {t: pq.read_table(args.run / "raw" / t) for t in TABLES}
    results: dict[str, list[dict[str, float]]] = {}
    for eps in args.epsilon or [1.0]:
        a = DpSynthesize(DpSynthesizeParams(epsilon=eps))
        stats = a.finalize({t: a.partial(tab, BatchContext(t, ())) for t, tab in raw.items()})
        runs = []
        if args.noiseless and not results.get("noiseless"):
            p = a.params
            model = fit(a.measure(stats, noise=False), p.max_events_per_account)
            rel = SynthRelease(model, population(model, p.seed, p.start, p.days, p.events_per_shard))
            results["noiseless"] = [figures(raw, release_tables(a, rel))]
            print("noiseless", json.dumps(results["noiseless"][0]), flush=True)
        for i in range(args.draws):
            t0 = time.perf_counter()
            runs.append(figures(raw, release_tables(a, a.fit_release(stats))))
            print(f"epsilon={eps:g} draw={i} ({time.perf_counter() - t0:.0f} s)", json.dumps(runs[-1]), flush=True)
        results[f"epsilon={eps:g}"] = runs
    for key, runs in results.items():
        print(f"\n{key} ({len(runs)} draw{'s' if len(runs) > 1 else ''}): figure mean sd min max")
        for f in FIGURES:
            v = np.array([r[f] for r in runs if f in r])
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            print(f"  {f:34s} {v.mean():.4f} {sd:.4f} {v.min():.4f} {v.max():.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
