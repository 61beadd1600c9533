"""The streaming, row-keyed profile matrix equals the two-step one (block_counts, then profile_matrix)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reid.profile_linkage import block_counts, events_profile_matrix, hour_of_week_expr, profile_matrix


def _events(n: int = 4000, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t0 = np.datetime64("2026-03-02T00:00:00", "s")
    return pl.DataFrame({
        "actor": [f"actor-{i:04d}-{'x' * 20}" if i % 17 else None for i in rng.integers(0, 60, n)],
        "event_time": pl.Series((t0 + rng.integers(0, 28 * 86400, n).astype("timedelta64[s]")).astype("datetime64[us]")),
        "action": [("login", "view", "edit", None)[i] for i in rng.integers(0, 4, n)],
        "product": [f"p{i}" for i in rng.integers(0, 7, n)],
    })


@pytest.mark.parametrize("buckets", [16, 512])
@pytest.mark.parametrize("with_unknown", [False, True])
def test_equals_the_two_step_matrix(buckets, with_unknown):
    ev = _events().lazy()
    blocks = {"hour_of_week": hour_of_week_expr("1h"), "action": pl.col("action"), "product": pl.col("product")}
    weights = {"hour_of_week": 1.0, "action": 0.5, "product": 2.0}
    # entities in any order, some absent from the events, some events' entities absent from the list
    entities = pl.Series("e", [f"actor-{i:04d}-{'x' * 20}" for i in range(55, -5, -3)]
                         + (["nobody-here-at-all"] if with_unknown else []))
    old = profile_matrix(block_counts(ev, "actor", blocks), entities, list(blocks), weights, buckets)
    new = events_profile_matrix(ev, "actor", entities, blocks, weights, buckets)
    assert old.shape == new.shape and old.dtype == new.dtype == np.float32
    assert (old != new).nnz == 0 and old.nnz > 0


def test_repeated_entities_fall_back_to_the_two_step_matrix():
    ev = _events().lazy()
    blocks = {"action": pl.col("action")}
    entities = pl.Series("e", ["actor-0001-" + "x" * 20] * 2 + ["actor-0002-" + "x" * 20])
    old = profile_matrix(block_counts(ev, "actor", blocks), entities, ["action"], {}, 16)
    new = events_profile_matrix(ev, "actor", entities, blocks, {}, 16)
    assert (old != new).nnz == 0


@pytest.mark.parametrize("blank", [None, "user_agent", "action"])
def test_cross_tenant_actor_profiles_equal_the_feature_counts_matrix(blank):
    """cross_tenant's profiles: the blocks of feature_counts present in the events, in name order."""
    from event_fixtures import population

    from reid.cross_tenant import actor_profiles
    from reid.params import ProfileLinkageParams
    from reid.profile_linkage import feature_counts

    ev = population(n_persons=30, events_per_account=40, multi_org=5)["events"]
    if blank:
        ev = ev.with_columns(pl.lit(None, dtype=ev.schema[blank]).alias(blank))
    lp = ProfileLinkageParams.model_validate({})
    actors = ev.select(pl.col("account_id").cast(pl.String)).unique().sort("account_id").to_series()
    rows = feature_counts(ev.lazy(), "account_id", "1h", lp.ipv4_prefix)
    blocks = sorted(set(rows["block"].unique().to_list()))
    assert blank not in blocks if blank else {"hour_of_week", "action", "user_agent", "ip_prefix"} <= set(blocks)
    old = profile_matrix(rows, actors, blocks, {b: 1.0 for b in blocks}, lp.hash_buckets)
    new = actor_profiles(ev.lazy(), "account_id", actors, "1h", lp)
    assert old.shape == new.shape and (old != new).nnz == 0 and old.nnz > 0
