"""Attacker knowledge sets: one result per set, compared at the release's resolution, columns a release does
not carry comparably left out, and thresholds that name a set gate only that set (or fail when it is absent)."""

from __future__ import annotations

import pytest
from event_fixtures import make_run

from anonbench import thresholds as th
from anonbench.report.gate import Outcome, unmatched_knowledge
from reid.harness import run_checks
from reid.params import AttackParams

KNOW = AttackParams.model_validate({
    "checks": ["unicity", "profile_linkage"],
    "unicity": {"points": [1, 2, 4]},
    "knowledge": [{"time": "1h", "columns": ["action"]}, {"time": "1s", "columns": ["action"]},
                  {"time": "1d", "columns": ["org"]}, {"time": "1h", "columns": ["ip"]}],
})


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    make_run(root, n_persons=60, events_per_account=50)
    return {c: run_checks(root, c, KNOW) for c in ("pseudo", "coarse", "dropped")}


def share(res, check, metric, knowledge, **where):
    got = [m for m in res[check] if m.metric == metric and m.params.get("knowledge") == knowledge
           and all(m.params.get(k) == v for k, v in where.items())]
    assert len(got) == 1, (check, metric, knowledge, where)
    return got[0]


def test_every_row_names_its_knowledge_set(results):
    labels = [k.label for k in KNOW.knowledge_sets]
    for res in results.values():
        for check in ("unicity", "profile_linkage"):
            assert {m.params.get("knowledge") for m in res[check]} == set(labels)


def test_finer_knowledge_singles_out_more_on_a_fine_release(results):
    fine = share(results["pseudo"], "unicity", "unique_share", "1s:action", p=2)
    hourly = share(results["pseudo"], "unicity", "unique_share", "1h:action", p=2)
    assert fine.params["match_resolution"] == "1s" and hourly.params["match_resolution"] == "1h"
    assert fine.value > hourly.value


def test_exact_times_are_matched_to_a_coarse_release_at_its_resolution(results):
    """The daily release: knowing the second is worth what knowing the day is, and never less."""
    for metric in ("unique_share", "reidentified_share"):
        fine = share(results["coarse"], "unicity", metric, "1s:action", p=2)
        hourly = share(results["coarse"], "unicity", metric, "1h:action", p=2)
        assert fine.params["match_resolution"] == hourly.params["match_resolution"] == "1d"
        assert (fine.value, fine.n) == (hourly.value, hourly.n)


def test_columns_the_release_does_not_carry_comparably_are_left_out(results):
    assert "left_out" not in share(results["pseudo"], "unicity", "unique_share", "1h:ip", p=1).params
    coarse = share(results["coarse"], "unicity", "unique_share", "1h:ip", p=1)       # client_ip dropped
    assert coarse.params["left_out"] == ["client_ip"] and coarse.params["point_columns"] == []
    dropped = share(results["dropped"], "unicity", "unique_share", "1d:org", p=1)   # org ids pseudonymized
    assert dropped.params["left_out"] == ["org_id"]
    assert share(results["pseudo"], "unicity", "unique_share", "1d:org", p=1).params["point_columns"] == ["org_id"]


def test_profile_linkage_uses_the_known_fields_and_the_time_resolution(results):
    day = share(results["pseudo"], "profile_linkage", "top1_accuracy", "1d:org")
    assert day.params["resolution"] == "1d" and "org" in day.params["blocks"] and "action" not in day.params["blocks"]
    hour = share(results["pseudo"], "profile_linkage", "top1_accuracy", "1h:action")
    second = share(results["pseudo"], "profile_linkage", "top1_accuracy", "1s:action")
    assert "action" in hour.params["blocks"] and (hour.value, hour.n) == (second.value, second.n)


def _outcome(knowledge: str) -> Outcome:
    return Outcome("c", "unicity", "reidentified_share", {"p": 2, "knowledge": knowledge}, 0.5, 0.4, 0.6, 100)


def test_thresholds_gate_every_set_or_the_one_they_name():
    every = th.defaults()
    assert every.for_metric("unicity", "reidentified_share", {"p": 2, "knowledge": "1s:action"}) is not None
    one = th.parse_document({"unicity.reidentified_share": {"max": 0.09, "where": {"knowledge": "1h:action"}}},
                            "t.yaml", th.defaults())
    assert one.for_metric("unicity", "reidentified_share", {"p": 2, "knowledge": "1s:action"}) is None
    assert one.for_metric("unicity", "reidentified_share", {"p": 2, "knowledge": "1h:action"}) is not None
    assert unmatched_knowledge("c", [_outcome("1h:action")], one) == []
    typo = th.parse_document({"unicity.reidentified_share": {"max": 0.09, "where": {"knowledge": "1h:actions"}}},
                             "t.yaml", th.defaults())
    (line,) = unmatched_knowledge("c", [_outcome("1h:action")], typo)
    assert "1h:actions" in line and "not measured" in line


def test_a_baseline_from_before_knowledge_sets_is_compared_with_the_set_it_measured():
    from reid.catalog import key_of

    old = key_of("unicity", {"p": 2, "time_bucket": "1h", "point_columns": ["action"], "seed": 0})
    assert old == key_of("unicity", {"p": 2, "knowledge": "1h:action", "seed": 0})
    assert old != key_of("unicity", {"p": 2, "knowledge": "1s:action"})
    assert key_of("profile_linkage", {"split": 0.5}) == key_of("profile_linkage", {"knowledge": "1h:action"})
