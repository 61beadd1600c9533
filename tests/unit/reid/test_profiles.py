"""Per-account profiles of raw, released and control data."""

from __future__ import annotations

import math

import polars as pl
import pytest
from event_fixtures import make_run, population

from reid import profiles
from reid.harness import RunData
from reid.params import AttackParams


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    make_run(root, n_persons=40, events_per_account=30)
    return root


def test_build_joins_users_orgs_and_behaviour():
    pop = population(n_persons=20, events_per_account=16)
    table = profiles.build(pop["users"].lazy(), pop["orgs"].lazy(), pop["events"].lazy(), "account_id",
                           account_types=["atlassian"])
    assert table.height == pop["users"].filter(pl.col("account_type") == "atlassian").height
    assert {"timezone", "org_plan", "main_product", "activity_band", "peak_hour"} <= set(table.columns)
    assert set(table["activity_band"].to_list()) == {"4"}                   # 16 events: log2 = 4


def test_released_profiles_follow_what_was_released(run):
    p = AttackParams()
    coarse = profiles.released_profiles(RunData.open(run, "coarse"), p)
    raw = profiles.raw_profiles(RunData.open(run, "coarse"), p)
    assert coarse.height == raw.height
    assert set(coarse["peak_hour"].unique().to_list()) == {"0"}             # daily buckets
    assert profiles.released_profiles(RunData.open(run, "agg"), p) is None


@pytest.mark.parametrize("chain", ["none", "agg"])
def test_table_mode_checks_report_or_mark_not_applicable(run, chain):
    p = AttackParams(anonymeter={"n_attacks": 20, "max_attempts": 2000},
                     quasi_identifiers={"sets": {"demo": ["timezone", "locale"], "bad": ["no_such_column"]}})
    data = RunData.open(run, chain)
    for fn in (profiles.quasi_identifier_check, profiles.singling_out_check, profiles.linkability_check,
               profiles.inference_check):
        metrics = fn(data, p)
        assert metrics
        for m in metrics:
            if chain == "agg" or m.params.get("qi_set") == "bad":
                assert m.n == 0 and m.params["applicable"] is False
            else:
                assert m.n > 0 and not math.isnan(m.value)


def test_user_truth_is_positional_for_row_preserving_users(run):
    data = RunData.open(run, "pseudo")
    truth = profiles.user_truth(data, AttackParams())
    assert truth.height == data.raw["users"].select(pl.len()).collect().item()
    assert truth["person_id"].null_count() == 0


def test_anonymeter_checks_without_a_control_population_are_not_measured(run):
    """The attacks apply to the release, but without controls their chance level is unknown: the rows say
    ``measured: false`` (the gate fails them), never ``applicable: false`` (which would pass)."""
    from anonbench.report.gate import short
    data = RunData.open(run, "none")
    data.control = {}
    p = AttackParams(anonymeter={"n_attacks": 20, "max_attempts": 2000})
    for fn in (profiles.singling_out_check, profiles.linkability_check, profiles.inference_check):
        metrics = fn(data, p)
        assert metrics and all(short(m.params) and "applicable" not in m.params and math.isnan(m.value)
                               and "control" in m.params["reason"] for m in metrics)
