"""Utility figures: declared directions, the headline score, and each figure moving the right way."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import polars as pl
import pytest
from event_fixtures import population, pseudonymize

from reid.utility import DIRECTION, HEADLINE, headline_utility, ks_distance, score, utility
from reid.workload import marginal_error


@pytest.fixture(scope="module")
def pop() -> dict[str, pl.DataFrame]:
    return {k: v for k, v in population(n_persons=40, events_per_account=50).items() if k != "accounts"}


def run(raw: dict[str, pl.DataFrame], anon: dict[str, pl.DataFrame], **kw) -> dict[str, float]:
    metrics = utility({k: v.lazy() for k, v in raw.items()}, {k: v.lazy() for k, v in anon.items()}, **kw)
    return {m.metric: m.value for m in metrics if m.metric != "entropy_retained"}


def scores(values: dict[str, float]) -> dict[str, float]:
    return {m: score(m, v) for m, v in values.items()}


def test_every_figure_is_declared_once_with_a_consistent_direction(pop):
    emitted = set(run(pop, pop)) | {"entropy_retained"}
    assert emitted == set(DIRECTION)
    for name, f in DIRECTION.items():
        assert f.metric == name and f.higher_is_better == (f.best > f.worst)
        assert f.range[0] <= min(f.best, f.worst) and max(f.best, f.worst) <= f.range[1]
        assert (f.score(f.best), f.score(f.worst), f.score(None), f.score(math.nan)) == (1.0, 0.0, 0.0, 0.0)
    assert set(HEADLINE) >= {"workload_1way_error", "workload_2way_error", "workload_3way_error",
                             "weekly_product_counts_rel_error", "hourly_profile_correlation",
                             "action_tv_distance", "events_per_account_ks", "session_length_ks"}


def test_identity_scores_exactly_one(pop):
    got = run(pop, pop)
    assert got == {m: DIRECTION[m].best for m in got}
    assert headline_utility(got) == 1.0


@pytest.mark.parametrize("anon", [{}, {"orgs": "kept"}], ids=["nothing", "orgs-only"])
def test_a_release_of_nothing_scores_exactly_zero(pop, anon):
    got = run(pop, {k: pop[k] for k in anon})
    assert got == {m: DIRECTION[m].worst for m in got}        # worst values, not NaN
    assert headline_utility(got) == 0.0


def test_pseudonyms_consistent_across_tables_keep_every_query(pop):
    anon = {"events": pseudonymize(pop["events"], ["account_id", "org_id", "session_id", "actor_email"]),
            "users": pseudonymize(pop["users"], ["account_id", "org_id", "email"]).drop("display_name"),
            "orgs": pseudonymize(pop["orgs"], ["org_id"])}
    assert headline_utility(run(pop, anon)) == 1.0


def _sample_accounts(t: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    keep = t["users"]["account_id"].sort().gather_every(2).implode()
    return {**t, "events": t["events"].filter(pl.col("account_id").is_in(keep)),
            "users": t["users"].filter(pl.col("account_id").is_in(keep))}


def _weekly_counts(t: dict[str, pl.DataFrame], factor: float = 1.0) -> dict[str, pl.DataFrame]:
    counts = t["events"].group_by(pl.col("event_time").dt.truncate("1w").alias("period_start"), "product") \
        .agg((pl.len() * factor).alias("count"))
    return {"event_counts": counts, "orgs": t["orgs"]}


WORKLOAD = {"workload_1way_error", "workload_2way_error", "workload_3way_error"}
COUNTS = {"weekly_product_counts_rel_error", "events_per_day_product_rel_error"}
EVENT_LEVEL = {"action_tv_distance", "events_per_account_ks", "session_length_ks", "retained_rows",
               "hourly_profile_correlation", "events_per_day_product_rel_error"} | WORKLOAD

# (coarsening of the identity release, figures it must make strictly worse); no figure may get better than
# the identity's (others may get worse too: sampling persons changes every distribution a little).
COARSENINGS = [
    ("time-1d", lambda t: {**t, "events": t["events"].with_columns(pl.col("event_time").dt.truncate("1d"))},
     {"hourly_profile_correlation"} | WORKLOAD),
    ("drop-action", lambda t: {**t, "events": t["events"].drop("action")}, {"action_tv_distance"} | WORKLOAD),
    ("drop-users", lambda t: {k: v for k, v in t.items() if k != "users"}, WORKLOAD),
    ("drop-plan", lambda t: {**t, "orgs": t["orgs"].drop("plan")}, WORKLOAD),
    ("drop-country", lambda t: {**t, "users": t["users"].drop("country")}, WORKLOAD),
    ("sample-persons", _sample_accounts, {"retained_rows"} | COUNTS),
    ("drop-sessions", lambda t: {**t, "events": t["events"].drop("session_id")}, {"session_length_ks"}),
    ("merge-sessions", lambda t: {**t, "events": t["events"].with_columns(
        pl.col("account_id").alias("session_id"))}, {"session_length_ks"}),
    ("drop-actors", lambda t: {**t, "events": t["events"].drop("account_id", "actor_email")},
     {"events_per_account_ks"} | WORKLOAD),
    ("weekly-counts-only", _weekly_counts, EVENT_LEVEL),
    ("noisy-weekly-counts", lambda t: _weekly_counts(t, 1.1), EVENT_LEVEL | COUNTS),
]


@pytest.mark.parametrize(("transform", "worse"), [c[1:] for c in COARSENINGS], ids=[c[0] for c in COARSENINGS])
def test_each_figure_moves_the_right_way_under_a_coarsening(pop, transform, worse):
    base, coarse = scores(run(pop, pop)), scores(run(pop, transform(pop)))
    assert worse <= {m for m in base if coarse[m] < base[m] - 1e-9}
    assert all(coarse[m] <= base[m] for m in base)
    assert headline_utility(run(pop, transform(pop))) < 1.0


def test_coarser_time_buckets_cost_more():
    pop = population(n_persons=40, events_per_account=50)
    by = {every: scores(run(pop, {**pop, "events": pop["events"].with_columns(
        pl.col("event_time").dt.truncate(every))})) for every in ("1h", "6h", "1d")}
    assert by["1h"]["hourly_profile_correlation"] == 1.0                 # hour of week is kept
    assert by["1d"]["hourly_profile_correlation"] < 0.5 and by["6h"]["hourly_profile_correlation"] < 1.0
    for way in (1, 2, 3):
        assert by["1d"][f"workload_{way}way_error"] < by["6h"][f"workload_{way}way_error"] \
            < by["1h"][f"workload_{way}way_error"] == 1.0
    assert all(by["1d"][m] <= by["1h"][m] for m in by["1h"])


def test_weekly_counts_are_scored_alike_from_events_and_from_an_aggregate(pop):
    exact, noisy = run(pop, _weekly_counts(pop)), run(pop, _weekly_counts(pop, 1.1))
    assert exact["weekly_product_counts_rel_error"] == 0.0
    assert noisy["weekly_product_counts_rel_error"] == pytest.approx(0.1)
    assert run(pop, pop)["weekly_product_counts_rel_error"] == 0.0
    assert exact["retained_rows"] == 0.0 and exact["events_per_account_ks"] == 1.0    # no event rows released


def _tiny(prefix: str, day: int, hour: int) -> dict[str, pl.DataFrame]:
    t = dt.datetime(2026, 3, 2 + day, hour, tzinfo=dt.UTC)
    events = pl.DataFrame({"event_time": pl.Series([t, t + dt.timedelta(minutes=5)], dtype=pl.Datetime("us", "UTC")),
                           "product": [f"{prefix}jira"] * 2, "action": [f"{prefix}issue.viewed", f"{prefix}page.viewed"],
                           "account_id": ["a1", "a2"], "org_id": ["o1", "o1"], "session_id": ["s1", "s2"]})
    users = pl.DataFrame({"account_id": ["a1", "a2"], "country": [f"{prefix}DE", f"{prefix}US"],
                          "role": [f"{prefix}member"] * 2, "account_type": [f"{prefix}atlassian"] * 2})
    return {"events": events, "users": users, "orgs": pl.DataFrame({"org_id": ["o1"], "plan": [f"{prefix}free"]})}


def test_workload_error_is_zero_on_identical_and_maximal_on_disjoint_data():
    raw = _tiny("", 0, 9)
    same, disjoint = run(raw, _tiny("", 0, 9)), run(raw, _tiny("x-", 1, 10))   # other values, Tuesday 10h
    for way in (1, 2, 3):
        assert same[f"workload_{way}way_error"] == 0.0
        assert disjoint[f"workload_{way}way_error"] == 1.0


def test_workload_n_is_the_number_of_marginals(pop):
    metrics = {m.metric: m for m in utility({k: v.lazy() for k, v in pop.items()}, {"events": pop["events"].lazy()})}
    assert [metrics[f"workload_{w}way_error"].n for w in (1, 2, 3)] == [8, 28, 56]
    three = metrics["workload_3way_error"]
    # only product, action, hour of week and weekday without users and orgs: C(4, 3) = 4 marginals answered
    assert three.params["unanswered"] == 56 - 4 and three.params["answered"] is True
    assert 0 < three.value < 1


@pytest.mark.parametrize(("p", "q", "e"), [([1, 1], [1, 1], 0.0), ([1, 0], [0, 1], 1.0), ([3, 1], [1, 1], 0.25),
                                           ([2, 2], [10, 10], 0.0), ([1, 1], [0, 0], 1.0), ([0, 0], [0, 0], 0.0)])
def test_marginal_error(p, q, e):
    assert marginal_error(np.array(p, float), np.array(q, float)) == pytest.approx(e)


@pytest.mark.parametrize(("a", "b", "d"), [([1, 2, 3], [1, 2, 3], 0.0), ([1, 1], [5, 5], 1.0),
                                           ([1, 2, 3, 4], [3, 4, 5, 6], 0.5), ([1, 2], [], 1.0)])
def test_ks_distance(a, b, d):
    assert ks_distance(np.array(a), np.array(b)) == pytest.approx(d)


@pytest.mark.parametrize(("transform", "expected"), [
    (lambda s: s.hash(5).cast(pl.String), 1.0),                              # consistent pseudonym: all kept
    (lambda s: s.str.extract(r"^(\S+)", 1), 0.0),                             # one family left: nothing kept
    (None, 0.0),                                                              # dropped
])
def test_entropy_retained(pop, transform, expected):
    events = pop["events"]
    anon = events.drop("user_agent") if transform is None else \
        events.with_columns(transform(events["user_agent"]).alias("user_agent"))
    metrics = utility({"events": events.lazy()}, {"events": anon.lazy()}, entropy_columns=["user_agent"])
    got = next(m for m in metrics if m.metric == "entropy_retained")
    assert got.params["column"] == "user_agent"
    assert got.value == pytest.approx(expected, abs=1e-9)


def test_enabled_metrics_filter(pop):
    metrics = utility({k: v.lazy() for k, v in pop.items()}, {}, enabled_metrics=["workload_2way_error"])
    assert [(m.metric, m.value, m.params["answered"]) for m in metrics] == [("workload_2way_error", 1.0, False)]
