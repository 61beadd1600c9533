"""Utility figures of event-level and aggregate releases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from event_fixtures import population

from reid.utility import ks_distance, tv_distance, utility


@pytest.fixture(scope="module")
def events() -> pl.DataFrame:
    return population(n_persons=40, events_per_account=50)["events"]


def figures(raw: pl.DataFrame, anon: dict[str, pl.DataFrame]) -> dict[str, float]:
    return {m.metric: m.value for m in utility(raw.lazy(), {k: v.lazy() for k, v in anon.items()})}


def test_identity_is_perfect(events):
    got = figures(events, {"events": events})
    assert got == pytest.approx({"retained_rows": 1.0, "events_per_day_product_rel_error": 0.0,
                                 "action_tv_distance": 0.0, "hourly_profile_correlation": 1.0,
                                 "session_length_ks": 0.0})


def test_dropping_half_the_rows(events):
    got = figures(events, {"events": events.gather_every(2)})
    assert got["retained_rows"] == pytest.approx(0.5, abs=0.01)
    assert got["events_per_day_product_rel_error"] == pytest.approx(0.5, abs=0.05)
    assert got["session_length_ks"] > 0.2


def test_daily_buckets_destroy_the_hourly_profile(events):
    got = figures(events, {"events": events.with_columns(pl.col("event_time").dt.truncate("1d"))})
    assert got["hourly_profile_correlation"] < 0.5
    assert got["events_per_day_product_rel_error"] == 0.0


def test_aggregate_release_and_not_applicable_rows(events):
    agg = events.group_by(pl.col("event_time").dt.date().alias("day"), "product", "action") \
        .agg((pl.len() * 1.1).alias("count"))
    metrics = utility(events.lazy(), {"aggregates": agg.lazy()})
    got = {m.metric: m for m in metrics}
    assert got["events_per_day_product_rel_error"].value == pytest.approx(0.1)
    assert got["action_tv_distance"].value == pytest.approx(0.0)
    assert got["retained_rows"].n == 0 and got["retained_rows"].params["applicable"] is False
    assert got["events_per_day_product_rel_error"].params["source"] == "aggregates"


@pytest.mark.parametrize(("p", "q", "tv"), [([1, 1], [1, 1], 0.0), ([1, 0], [0, 1], 1.0), ([3, 1], [1, 1], 0.25)])
def test_tv_distance(p, q, tv):
    a = pl.DataFrame({"k": ["x", "y"], "n": p})
    b = pl.DataFrame({"k": ["x", "y"], "n": q})
    assert tv_distance(a, b, "k") == pytest.approx(tv)


@pytest.mark.parametrize(("a", "b", "d"), [([1, 2, 3], [1, 2, 3], 0.0), ([1, 1], [5, 5], 1.0),
                                           ([1, 2, 3, 4], [3, 4, 5, 6], 0.5)])
def test_ks_distance(a, b, d):
    assert ks_distance(np.array(a), np.array(b)) == pytest.approx(d)


@pytest.mark.parametrize(("transform", "expected"), [
    (lambda s: s.hash(5).cast(pl.String), 1.0),                              # consistent pseudonym: all kept
    (lambda s: s.str.extract(r"^(\S+)", 1), 0.0),                             # one family left: nothing kept
    (None, 0.0),                                                              # dropped
])
def test_entropy_retained(events, transform, expected):
    anon = events.drop("user_agent") if transform is None else \
        events.with_columns(transform(events["user_agent"]).alias("user_agent"))
    metrics = utility(events.lazy(), {"events": anon.lazy()}, entropy_columns=["user_agent"])
    got = next(m for m in metrics if m.metric == "entropy_retained")
    assert got.params["column"] == "user_agent"
    assert got.value == pytest.approx(expected, abs=1e-9)
