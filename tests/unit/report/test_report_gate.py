"""anonbench.report.gate: candidates fail on a breach, controls fail when not caught."""

from __future__ import annotations

import pytest

from anonbench import thresholds as th
from anonbench.report.gate import evaluate
from anonbench.report.results import load_run


def test_default_fixture_passes(run_dir):
    result = evaluate(load_run(run_dir))
    assert result.passed, result.problems
    assert {v.chain.name: (v.chain.role, v.passed) for v in result.chains} == {
        "generalize": ("candidate", True), "none": ("control", True), "naive-hash": ("control", True)}
    assert result.verdict("none").caught is True
    assert result.verdict("generalize").caught is None


@pytest.mark.parametrize(("kwargs", "expected"), [
    # candidate breaches: named with chain, check, metric, value and threshold
    ({"override": {("generalize", "unicity", "reidentified_share"): 0.2}},
     "chain generalize: check unicity, metric reidentified_share[p=1] = 0.2, threshold <= 0.09"),
    ({"override": {("generalize", "quasi_identifiers", "k"): 3}},
     "chain generalize: check quasi_identifiers, metric k = 3, threshold >= 5"),
    ({"override": {("generalize", "leak_scan", "leaked_values"): 2}},
     "chain generalize: check leak_scan, metric leaked_values = 2, threshold <= 0"),
    ({"validation_failures": {"generalize": 1}},
     "chain generalize: check validation, metric failed_expectations = 1, threshold <= 0"),
    # controls that escape: an attack disabled, or an attack that stopped seeing through them
    ({"drop_checks": {"none": ("leak_scan",)}}, "control chain none escaped: check leak_scan did not run"),
    ({"override": {("naive-hash", "dictionary", "reversed_share"): 0.0}},
     "control chain naive-hash escaped: check dictionary found no breach"),
    ({"drop_checks": {"naive-hash": ("unicity",)}}, "control chain naive-hash escaped: check unicity did not run"),
    ({"validation_failures": {"raw": 2}}, "raw tables: 2 of 4 expectations failed"),
])
def test_each_failure_is_named(make, kwargs, expected):
    result = evaluate(load_run(make(**kwargs)))
    assert not result.passed
    assert any(p.startswith(expected) for p in result.problems), result.problems


def test_candidate_without_results_fails(make):
    run = make(drop_checks={"generalize": ("quasi_identifiers", "unicity", "dictionary", "leak_scan", "utility")},
               validation_failures={"generalize": 0})
    (run / "validation" / "anon-generalize.parquet").unlink()
    result = evaluate(load_run(run))
    assert result.problems == ("chain generalize: no risk results (was it attacked?)",)


def test_ci_high_gate_is_more_cautious(make):
    run = make(override={("generalize", "unicity", "reidentified_share"): 0.08})
    assert evaluate(load_run(run)).passed
    ts = th.parse_document({"unicity.reidentified_share": {"max": 0.09, "on": "ci_high"}}, "t")
    result = evaluate(load_run(run), ts)
    assert any("reidentified_share[p=4] (ci_high) = 0.126, threshold <= 0.09" in p for p in result.problems), result.problems


def test_unknown_control_is_caught_by_any_breach(make):
    ts = th.parse_document({"controls": {"generalize": {"caught_by": []}}}, "t")
    result = evaluate(load_run(make()), ts)  # generalize is judged as a control and breaches nothing
    v = result.verdict("generalize")
    assert v.chain.role == "control" and v.caught is False
    assert "control chain generalize escaped: no figure breached" in v.problems[0]


def test_thresholds_can_switch_a_check_off(make):
    run = make(override={("generalize", "unicity", "reidentified_share"): 0.5})
    ts = th.parse_document({"unicity.reidentified_share": None}, "t")
    result = evaluate(load_run(run), ts)
    assert result.verdict("generalize").passed
    # ... but the controls must be caught by unicity, and nothing can breach a switched-off threshold:
    assert not result.verdict("none").passed and not result.verdict("naive-hash").passed
    assert all("check unicity found no breach" in p for p in result.problems)


WEAK = {"known_weak": {"generalize": "baseline, kept to show what pseudonyms leave"}}


@pytest.mark.parametrize(("kwargs", "passed", "accepted"), [
    ({"override": {("generalize", "unicity", "reidentified_share"): 0.9}}, True, 3),   # risk: accepted
    ({"override": {("generalize", "leak_scan", "leaked_values"): 4}}, False, 0),       # hard promise: gates
    ({"override": {("generalize", "dictionary", "reversed_share"): 0.5}}, False, 0),
    ({"validation_failures": {"generalize": 1}}, False, 0),
])
def test_known_weak_accepts_risk_but_not_broken_promises(make, kwargs, passed, accepted):
    result = evaluate(load_run(make(**kwargs)), th.parse_document(WEAK, "t"))
    v = result.verdict("generalize")
    assert (v.passed, len(v.accepted), v.known_weak) == (passed, accepted, WEAK["known_weak"]["generalize"])
    assert result.passed is passed


def test_a_run_without_chains_fails(make):
    run = make(chains=())
    result = evaluate(load_run(run))
    assert result.problems == ("run fixture: no anonymized chain to judge (anonymize and attack first)",)


@pytest.mark.parametrize("flag", [{"measured": False}, {"ran_short": True}])
def test_a_figure_that_ran_short_is_not_measured_unless_it_already_breaches(make, flag):
    figures = {c: [(ch, m, v, n, {**p, **flag}) if (c, ch) == ("generalize", "unicity") else (ch, m, v, n, p)
                   for ch, m, v, n, p in rows] for c, rows in __import__("fixtures_run").FIGURES.items()}
    result = evaluate(load_run(make(figures=figures)))
    v = result.verdict("generalize")
    assert not v.passed and v.not_measured[0].startswith("chain generalize: check unicity not measured: ")
    assert all(o.passed is None for o in v.outcomes if o.check == "unicity")
    # the same understated figure above its threshold is a breach: its true value can only be higher
    breach = make(figures=figures, override={("generalize", "unicity", "reidentified_share"): 0.5})
    outs = [o for o in evaluate(load_run(breach)).verdict("generalize").outcomes if o.metric == "reidentified_share"]
    assert all(o.passed is False for o in outs)
