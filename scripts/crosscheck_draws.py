"""Repeated anonymeter draws of univariate singling out against anonbench's exact figure (run by crosscheck.sh).

anonymeter scores a random sample of ``n_attacks`` of the release's singling-out queries, and in 1.1.0 its
univariate draw is not reproducible at a fixed seed (the candidate list comes from an unordered Polars
``group_by`` before the seeded shuffle). anonbench scores every query: the value anonymeter's figure scatters
around. One anonymeter interval misses that value about one time in twenty; this records several draws (JSON
lines of ``crosscheck_anonymeter.py --only uni``) with anonbench's figure from ``crosscheck_tablemode.json``:
how many intervals cover it and the mean of the draws.

    .venv/bin/python scripts/crosscheck_draws.py --draws OUT/univariate_draws.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--draws", type=Path, required=True)
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    a = ap.parse_args()
    tm = json.loads((a.results / "crosscheck_tablemode.json").read_text())
    ours = next(r for r in tm["rows"] if r["check"] == "singling_out univariate")
    exact = ours["anonbench"][0]
    draws = [json.loads(line) for line in a.draws.read_text().splitlines() if line.strip()]
    rows = [{"seed": d["seed"], "n_attacks": d["n_attacks"], "successes": d["n_success"],
             "control_successes": d["n_control"], "risk": d["risk"], "risk_ci": d["risk_ci"],
             "covers_anonbench": d["risk_ci"][0] <= exact <= d["risk_ci"][1], "seconds": d["seconds"]}
            for d in draws]
    covered = sum(r["covers_anonbench"] for r in rows)
    out = {"benchmark": "crosscheck_univariate_draws", "anonbench_exact": ours["anonbench"],
           "anonbench_n": ours.get("anonbench_n"), "draws": rows, "covered": covered, "total": len(rows),
           "mean_anonymeter_risk": statistics.fmean(r["risk"] for r in rows) if rows else None,
           "recorded_draw": {"risk": ours["anonymeter"], "successes": ours["successes_anonymeter"][0]}}
    (a.results / "crosscheck_univariate_draws.json").write_text(json.dumps(out, indent=2) + "\n")
    print(f"univariate singling out: anonbench (all queries) {exact:.4f}; {covered}/{len(rows)} anonymeter draws' "
          f"95% intervals cover it; their mean risk {out['mean_anonymeter_risk']:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
