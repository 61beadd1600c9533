"""Membership inference by distance to the closest released record: the maths, and the attack on small
hand-built populations whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from event_fixtures import population, pseudonymize

from reid.membership import (
    advantage_interval,
    declared_budget,
    dp_cap,
    flag_closest,
    membership,
)
from reid.params import MembershipParams

ALL_MODES = MembershipParams(modes=["trace", "attributes", "joint"])

TYPES = ["atlassian", "customer"]


@pytest.mark.parametrize(("eps", "delta", "cap"), [
    (0.0, 0.0, 0.0), (1.0, 0.0, 0.46211715726000974), (0.1, 0.0, 0.04995837495787997),
    (1.0, 1e-3, (math.e - 1 + 2e-3) / (math.e + 1)), (50.0, 0.0, 1.0)])
def test_dp_cap_is_the_corner_of_the_privacy_region(eps, delta, cap):
    assert dp_cap(eps, delta) == pytest.approx(cap)


def test_newcombe_interval_reproduces_the_paper():
    # Newcombe, Stat. Med. 17:873 (1998), worked example 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    d, lo, hi = advantage_interval(56, 70, 48, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)


def dp_step(eps, unit="account_id", **kw):
    return {"index": 0, "flags": {"differentially_private": True, "synthetic": True},
            "report": {"budget": {"epsilon": eps, "delta": kw.get("delta", 0.0), "privacy_unit": unit}}}


@pytest.mark.parametrize(("steps", "epsilon", "cap", "reason"), [
    ([], None, None, "no differentially private step declared"),
    ([{"flags": {"differentially_private": False}}], None, None, "no differentially private step declared"),
    ([dp_step(1.0)], 1.0, dp_cap(1.0), None),
    ([dp_step(0.5), dp_step(0.5)], 1.0, dp_cap(1.0), None),                  # basic composition
    ([dp_step(1.0), {"index": 1, "flags": {"differentially_private": True}}], None, None,
     "DP step 1 records no epsilon in the manifest"),
    ([dp_step(1.0, unit="event_id")], 1.0, None, "privacy unit ['event_id'] is not an account"),
])
def test_declared_budget_reads_the_manifest_steps(steps, epsilon, cap, reason):
    got = declared_budget(steps)
    assert got["epsilon"] == epsilon
    assert got["cap"] == (pytest.approx(cap) if cap is not None else None)
    assert got.get("cap_reason") == reason


def test_flag_closest_truth_table():
    assert flag_closest(np.zeros(50), np.ones(50), 0.5)[:2] == (50, 0)          # copies: all caught
    assert flag_closest(np.ones(50), np.zeros(50), 0.5)[:2] == (0, 50)
    assert flag_closest(np.zeros(1000), np.zeros(1000), 0.5) == (500, 500, 0.0)  # all tied: exactly a coin's mean
    # 3 flagged: the target at 0, then 2 slots among the 4 tied at 1 (2 targets): 1 more target expected
    assert flag_closest(np.array([0.0, 1.0, 1.0]), np.array([1.0, 1.0, 2.0]), 0.5) == (2.0, 1.0, 1.0)


def test_flag_closest_is_the_mean_of_random_tie_breaks():
    """The expectation over a uniform tie-break, checked against the draws it replaces."""
    rng = np.random.default_rng(3)
    d_t, d_c = rng.integers(0, 4, 301) / 9, rng.integers(0, 5, 299) / 9      # discrete: ties at the cut-off
    tp, fp, _ = flag_closest(d_t, d_c, 0.5)
    pool = np.concatenate([d_t, d_c])
    k = round(0.5 * pool.size)
    draws = [(np.lexsort((rng.random(pool.size), pool))[:k] < d_t.size).sum() for _ in range(4000)]
    assert tp + fp == k and tp != round(tp)
    assert abs(np.mean(draws) - tp) < 4 * np.std(draws) / np.sqrt(len(draws))
    assert np.std(draws) > 2          # what the expectation removes: the tie-break's own spread


def tables(pop: dict[str, pl.DataFrame]) -> dict[str, pl.LazyFrame]:
    return {t: pop[t].lazy() for t in ("users", "events", "orgs")}


@pytest.fixture(scope="module")
def pops():
    raw = population(n_persons=120, events_per_account=40, seed=1)
    ctl = population(n_persons=120, events_per_account=40, seed=2)
    ctl = {k: v.with_columns(pl.concat_str([pl.lit("c"), pl.col("account_id")]).alias("account_id"))
           if "account_id" in v.columns else v for k, v in ctl.items()}
    other = population(n_persons=120, events_per_account=40, seed=3)
    return raw, ctl, other


def by_mode(metrics, metric):
    return {m.params["mode"]: m for m in metrics if m.metric == metric}


def test_a_pseudonymized_release_gives_members_away(pops):
    raw, ctl, _ = pops
    release = {t: (pseudonymize(raw[t], ["account_id"]) if t != "orgs" else raw[t]).lazy()
               for t in ("users", "events", "orgs")}
    got = membership(tables(raw), tables(ctl), release, actor_column="account_id", account_types=TYPES,
                     params=ALL_MODES, seed=3)
    adv = by_mode(got, "advantage")
    assert set(adv) == {"trace", "attributes", "joint"}
    assert adv["trace"].value > 0.9 and adv["joint"].value > 0.9
    risk = by_mode(got, "risk")["joint"]
    assert risk.value > 0.9 and risk.ci_low <= risk.value <= risk.ci_high
    rates = {m.metric: m for m in got if m.params["mode"] == "trace"}
    assert rates["attack_rate"].successes is not None and rates["control_rate"].n == rates["attack_rate"].n
    assert rates["attack_rate"].params["exact_copies_targets"] == rates["attack_rate"].n
    assert "cap" in rates["advantage"].params and rates["advantage"].params["cap"] is None
    assert not any(m.metric == "advantage_over_cap" for m in got)              # no epsilon declared


def test_an_independent_population_teaches_nothing(pops):
    raw, ctl, other = pops
    got = membership(tables(raw), tables(ctl), tables(other), actor_column="account_id", account_types=TYPES,
                     params=ALL_MODES, budget=declared_budget([dp_step(1.0)]), seed=3)
    for mode, adv in by_mode(got, "advantage").items():
        assert adv.ci_low < 0 < adv.ci_high, mode                            # no advantage to speak of
        assert adv.value < dp_cap(1.0)
    over = by_mode(got, "advantage_over_cap")
    assert set(over) == {"trace", "attributes", "joint"} and all(m.ci_low < 0 for m in over.values())
    assert all(m.params["cap"] == pytest.approx(dp_cap(1.0)) for m in over.values())


def test_a_release_of_some_copies_is_caught_in_proportion(pops):
    raw, ctl, other = pops
    copied = raw["users"]["account_id"].sort().gather_every(2)           # half of the raw accounts copied
    copies = {t: raw[t].filter(pl.col("account_id").is_in(copied.implode()))
              .with_columns(pl.concat_str([pl.lit("copy-"), pl.col("account_id")]).alias("account_id"))
              for t in ("users", "events")}                                  # fresh ids, same records
    mixed = {**{t: pl.concat([other[t], copies[t]], how="vertical_relaxed").lazy() for t in copies},
             "orgs": other["orgs"].lazy()}
    got = by_mode(membership(tables(raw), tables(ctl), mixed, actor_column="account_id", account_types=TYPES,
                             params=MembershipParams(modes=["trace"]), seed=3), "advantage")
    assert 0.25 < got["trace"].value < 0.75


def test_nothing_per_account_released_is_not_applicable(pops):
    raw, ctl, _ = pops
    agg = {"aggregates": raw["events"].group_by("product").agg(pl.len()).lazy()}
    got = membership(tables(raw), tables(ctl), agg, actor_column=None, account_types=TYPES,
                     params=ALL_MODES, seed=0)
    assert got and all(m.params["applicable"] is False and m.params["reason"] and math.isnan(m.value) and m.n == 0
                       for m in got)
    text_times = {t: lf.with_columns(pl.col("event_time").cast(pl.String)) if t == "events" else lf
                  for t, lf in tables(raw).items()}
    got = by_mode(membership(tables(raw), tables(ctl), text_times, actor_column="account_id", account_types=TYPES,
                             params=ALL_MODES, seed=0), "advantage")
    assert got["trace"].params["applicable"] is False and got["attributes"].value > 0.2   # rows still compared
    no_control = membership(tables(raw), {}, tables(raw), actor_column="account_id", account_types=TYPES,
                            params=ALL_MODES, seed=0)
    assert all(m.params["reason"] == "no control population in truth/control" for m in no_control)
    assert all(m.params["measured"] is False and "applicable" not in m.params for m in no_control)  # a failure


def test_time_coarsening_is_compared_at_the_release_resolution(pops):
    raw, ctl, _ = pops
    daily = {t: lf.with_columns(pl.col("event_time").dt.truncate("1d")) if t == "events" else lf
             for t, lf in tables(raw).items()}
    got = by_mode(membership(tables(raw), tables(ctl), daily, actor_column="account_id", account_types=TYPES,
                             params=MembershipParams(modes=["trace"]), seed=0), "advantage")["trace"]
    assert got.params["resolution"] == "1d" and got.value > 0.9


def test_params_reject_unknown_modes():
    with pytest.raises(ValueError, match="modes"):
        MembershipParams(modes=["trace", "vibes"])
