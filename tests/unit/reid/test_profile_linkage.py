"""Cross-period profile linkage (Tournier & de Montjoye 2022) on seeded populations."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from event_fixtures import population, pseudonymize

from reid.params import ProfileLinkageParams
from reid.profile_linkage import profile_linkage, rank_of_truth, usable_blocks


@pytest.fixture(scope="module")
def pop():
    return population(n_persons=120, events_per_account=80)


def attack(pop, anon: pl.DataFrame, truth_from: pl.DataFrame | None = None, **params):
    raw = pop["events"]
    aligned = anon if truth_from is None else truth_from        # the row-aligned release, for the scorer
    truth = pl.concat([aligned.select(pl.col("account_id").alias("actor")), raw.select("account_id")],
                      how="horizontal").unique().join(pop["accounts"], on="account_id")
    metrics = profile_linkage(raw.lazy(), anon.lazy(), actor_column="account_id", actor_truth=truth,
                              targets=pop["accounts"], params=ProfileLinkageParams(**params))
    return {m.metric: m for m in metrics}


def test_persistent_behaviour_links_across_periods(pop):
    got = attack(pop, pseudonymize(pop["events"], ["account_id", "actor_email"]))
    assert got["top1_accuracy"].value > 0.9
    assert got["top10_accuracy"].value >= got["top1_accuracy"].value
    assert got["baseline"].value == pytest.approx(1 / got["baseline"].n)
    assert got["top1_accuracy"].ci_low > 10 * got["baseline"].value


def test_shuffled_behaviour_falls_to_the_baseline(pop):
    anon = pseudonymize(pop["events"], ["account_id"])
    rng = np.random.default_rng(1)
    for c in ("event_time", "action", "user_agent", "client_ip"):
        anon = anon.with_columns(anon[c].gather(rng.permutation(anon.height)).alias(c))
    got = attack(pop, anon)
    assert got["top1_accuracy"].value < 0.1
    assert got["top10_accuracy"].ci_low <= got["baseline_top10"].value * 2


def test_unreproducible_blocks_are_dropped(pop):
    anon = pseudonymize(pop["events"], ["account_id", "user_agent"])       # UAs hashed: attacker can't match
    got = attack(pop, anon)
    assert "user_agent" not in got["top1_accuracy"].params["blocks"]
    assert "ip_prefix" in got["top1_accuracy"].params["blocks"]


def test_usable_blocks_by_overlap():
    attacker = pl.DataFrame({"block": ["action", "user_agent"], "value": ["a", "ua1"], "n": [1, 1]})
    release = pl.DataFrame({"block": ["action", "action", "user_agent"], "value": ["a", "b", "zz"], "n": [3, 1, 4]})
    assert usable_blocks(attacker, release, 0.5) == ["action"]
    assert usable_blocks(attacker, release, 0.8) == []


@pytest.mark.parametrize(("scores", "truth", "u", "rank"), [
    ([0.9, 0.5, 0.1], [1, 0, 0], 0.0, 1),
    ([0.5, 0.9, 0.1], [1, 0, 0], 0.0, 2),
    ([0.5, 0.5, 0.5], [1, 0, 0], 0.0, 1),     # three-way tie, random position
    ([0.5, 0.5, 0.5], [1, 0, 0], 0.99, 3),
    ([0.5, 0.9, 0.1], [0, 0, 0], 0.0, 4),     # no true candidate: past the end
])
def test_rank_of_truth(scores, truth, u, rank):
    got = rank_of_truth(np.array([scores]), np.array([truth], dtype=bool), np.array([u]))
    assert got[0] == rank


def test_absent_targets_are_reported_not_scored(pop):
    anon = pseudonymize(pop["events"], ["account_id", "actor_email"])
    full = attack(pop, anon)
    gone = pop["accounts"].filter(pl.col("person_id").str.extract(r"(\d+)$").cast(pl.Int64) % 2 == 0)
    raw_gone = pseudonymize(gone.select("account_id"), ["account_id"])["account_id"]
    half = attack(pop, anon.filter(~pl.col("account_id").is_in(raw_gone.implode())), truth_from=anon)
    assert full["targets_present"].value == 1.0
    assert half["targets_present"].value == pytest.approx(0.5, abs=0.1)
    assert half["top1_accuracy"].n < full["top1_accuracy"].n


def test_synthetic_reading_credits_only_near_copies(pop):
    """On a synthetic release the top-ranked actor is the target's only when it is a near copy of the target's
    own later trace; control persons measure how often that happens by chance."""
    from reid.synthetic import profile_linkage_synthetic

    def renamed(df: pl.DataFrame, prefix: str) -> pl.DataFrame:
        return df.with_columns(pl.concat_str([pl.lit(prefix), pl.col("account_id")]).alias("account_id"))
    ctl = renamed(population(n_persons=120, events_per_account=80, seed=7)["events"], "c")
    other = renamed(population(n_persons=120, events_per_account=80, seed=8)["events"], "o")
    copied = pop["events"]["account_id"].unique().sort().gather_every(2)
    release = pl.concat([other, renamed(pop["events"].filter(pl.col("account_id").is_in(copied.implode())),
                                        "syn-")])
    ids = lambda df: df.select("account_id").unique()                              # noqa: E731
    got = {m.metric: m for m in profile_linkage_synthetic(
        pop["events"].lazy(), ctl.lazy(), release.lazy(), actor_column="account_id", targets=ids(pop["events"]),
        control_targets=ids(ctl), params=ProfileLinkageParams())}
    assert 0.35 < got["top1_copy_share"].value <= 0.55                            # half the targets copied
    assert got["baseline"].value < 0.05 and got["baseline"].params["near_copy"] == 0.9
    assert got["top1_accuracy"].value == pytest.approx(got["top1_copy_share"].value, abs=0.06)
    alone = {m.metric: m for m in profile_linkage_synthetic(
        pop["events"].lazy(), ctl.lazy(), other.lazy(), actor_column="account_id", targets=ids(pop["events"]),
        control_targets=ids(ctl), params=ProfileLinkageParams())}
    assert alone["top1_accuracy"].value < 0.05                                    # nothing copied, nothing found
