"""The dp-synthetic frontier benchmark reads risk as ``check`` judged it (issue 8 item 4): a point whose
risk was not measured says so, never "0 breaches"."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from benchmarks.bench_dp_synthetic import _risk_cell, risk_of


def _write(run: Path, chain: str, rows: list[dict]) -> None:
    d = run / "risk" / chain
    d.mkdir(parents=True, exist_ok=True)
    base = {"check": "x", "chain": chain, "metric": "m", "params": "{}", "value": 0.0, "ci_low": None,
            "ci_high": None, "n": 10, "successes": None, "threshold": None, "passed": None, "seconds": 0.1}
    pl.DataFrame([{**base, **r} for r in rows], schema_overrides={
        "ci_low": pl.Float64, "ci_high": pl.Float64, "threshold": pl.Float64, "passed": pl.Boolean,
        "successes": pl.Int64, "value": pl.Float64}).write_parquet(d / "checks.parquet")


def test_no_risk_files_or_no_verdicts_are_not_measured(tmp_path: Path) -> None:
    r = risk_of(tmp_path, "nothing")
    assert r["measured"] is False and r["breaches"] is None
    _write(tmp_path, "unchecked", [{"check": "unicity", "metric": "reidentified_share", "value": 0.02}])
    r = risk_of(tmp_path, "unchecked")                 # attacked, but check never wrote thresholds
    assert r["measured"] is False and r["breaches"] is None
    assert _risk_cell(r) == ("not measured", "not measured", "not measured")
    _write(tmp_path, "nan", [{"check": "unicity", "metric": "reidentified_share", "value": float("nan"),
                              "threshold": 0.09, "passed": None}])
    assert risk_of(tmp_path, "nan")["breaches"] is None


def test_gated_rows_give_the_max_risk_with_ci_and_the_membership_advantage(tmp_path: Path) -> None:
    cap = {"cap": 0.462}
    _write(tmp_path, "c", [
        {"check": "unicity", "metric": "reidentified_share", "value": 0.03, "ci_low": 0.02, "ci_high": 0.04,
         "n": 500, "threshold": 0.09, "passed": True},
        {"check": "membership", "metric": "risk", "value": 0.07, "ci_low": 0.05, "ci_high": 0.09, "n": 400,
         "threshold": 0.09, "passed": True},
        {"check": "membership", "metric": "advantage", "value": 0.01, "ci_low": -0.02, "ci_high": 0.04,
         "n": 400, "params": json.dumps(cap), "threshold": 0.05, "passed": True},
        {"check": "linkage", "metric": "top1_accuracy", "value": 0.12, "ci_low": 0.1, "ci_high": 0.14, "n": 300,
         "threshold": 0.09, "passed": False},
        {"check": "utility", "metric": "workload_2way_error", "value": 0.5, "threshold": 0.1, "passed": False},
        {"check": "dictionary", "metric": "reversed_share", "value": float("nan"), "threshold": 0.0,
         "passed": None, "params": json.dumps({"applicable": False, "reason": "column not released"})},
        {"check": "dp_audit", "metric": "passed", "value": 1.0, "threshold": 1.0, "passed": True, "n": 40},
    ])
    r = risk_of(tmp_path, "c")
    assert r["measured"] is True and r["breaches"] == 2 - 1       # utility rows are not risk
    assert r["not_applicable"] == 1                                # not applicable is not "not measured"
    assert r["max"]["metric"] == "top1_accuracy" and r["max"]["n"] == 300 and r["max"]["ci_high"] == 0.14
    assert r["membership_advantage"]["value"] == 0.01 and r["membership_advantage"]["cap"] == 0.462
    cell, adv, breaches = _risk_cell(r)
    assert "0.120 [0.100, 0.140] n=300" in cell and "cap 0.462" in adv and breaches == "1"
