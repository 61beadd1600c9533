"""anonbench.report.summary: summary.json in the DESIGN shape, summary.md naming the same failures."""

from __future__ import annotations

import json

import pytest

from anonbench.report.gate import evaluate
from anonbench.report.results import load_run
from anonbench.report.summary import MAX_MD_ROWS, summary_json, summary_md

CHECK_KEYS = {"check", "metric", "value", "ci_low", "ci_high", "threshold", "passed"}


def test_json_shape(run_dir):
    doc = summary_json(evaluate(load_run(run_dir)))
    json.dumps(doc, allow_nan=False)  # strict JSON: no NaN
    assert doc["run"] == "fixture" and doc["passed"] is True
    assert set(doc["chains"]) == {"generalize", "none", "naive-hash"}
    for chain in doc["chains"].values():
        assert {"checks", "utility", "passed"} <= set(chain)
        assert all(set(c) >= CHECK_KEYS for c in chain["checks"])
    gen = doc["chains"]["generalize"]
    assert gen["utility"]["hourly_profile_correlation"] == 0.96 and gen["utility"]["action_tv_distance"] == 0.01
    assert gen["headline"]["utility"] == pytest.approx(1 - (0.05 + 0.1 + 0.2 + 0.04 + 0.01) / 8)
    assert doc["chains"]["none"]["headline"]["utility"] == 1.0
    assert doc["utility_directions"]["hourly_profile_correlation"]["higher_is_better"] is True
    assert doc["utility_directions"]["workload_2way_error"]["higher_is_better"] is False
    assert doc["chains"]["none"]["caught"] is True


def test_md_and_json_agree_on_failures(make):
    run = make(override={("generalize", "quasi_identifiers", "k"): 2}, drop_checks={"none": ("leak_scan",)})
    result = evaluate(load_run(run))
    doc, md = summary_json(result), summary_md(result)
    assert doc["passed"] is False and md.startswith("## anonbench: ❌ failed")
    assert doc["chains"]["generalize"]["passed"] is False and doc["chains"]["none"]["passed"] is False
    assert doc["chains"]["naive-hash"]["passed"] is True
    for problem in doc["problems"]:
        assert problem.replace("|", "\\|") in md
    assert "| `none` | control | ❌ escaped |" in md
    k_row = next(c for c in doc["chains"]["generalize"]["checks"] if c["metric"] == "k")
    assert (k_row["value"], k_row["threshold"], k_row["passed"]) == (2.0, 5.0, False)


def test_md_stays_short(run_dir):
    md = summary_md(evaluate(load_run(run_dir)))
    assert len(md) < 20_000
    assert md.count("<details>") == md.count("</details>") == 3
    assert MAX_MD_ROWS >= 20
