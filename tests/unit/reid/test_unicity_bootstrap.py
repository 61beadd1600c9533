"""The population bootstrap of unicity: how much the share moves when the population is resampled."""

from __future__ import annotations

import math

import polars as pl
import pytest

from reid.unicity_bootstrap import MAX_MATCHES, population_se

N = 60
TRUTH = pl.DataFrame({"actor": [f"a{i}" for i in range(N)] + ["heavy"] + [f"o{j}" for j in range(30)],
                      "person_id": [f"p{i}" for i in range(N)] + ["p-heavy"] + [f"q{j}" for j in range(30)]})


def scored(few: list[list[str] | None]) -> pl.DataFrame:
    return pl.DataFrame({"person_id": [f"p{i}" for i in range(len(few))], "few": few},
                        schema={"person_id": pl.String, "few": pl.List(pl.String)})


def test_one_always_active_actor_makes_the_share_swing_with_the_population():
    """Nobody is unique: one always-active actor's trace holds every target's points. In a population without
    it (a replicate where its weight is 0, probability e^-1) everybody is: the share swings between 0 and 1."""
    unique_se, reid_se = population_se(scored([[f"a{i}", "heavy"] for i in range(N)]), TRUTH, seed=1, purpose="t")
    expected = math.sqrt(math.exp(-1) * (1 - math.exp(-1)))   # a Bernoulli(e^-1) share
    assert unique_se == pytest.approx(expected, rel=0.15) and reid_se == pytest.approx(unique_se)


def test_targets_alone_or_lost_in_a_crowd_do_not_move():
    # each target matched by its own trace only: unique in every population (the share moves only with which
    # targets are drawn, and they are all unique)
    assert population_se(scored([[f"a{i}"] for i in range(N)]), TRUTH, seed=1, purpose="t") == (0.0, 0.0)
    # more than MAX_MATCHES traces (``few`` null): never unique in a replicate
    assert population_se(scored([None] * N), TRUTH, seed=1, purpose="t") == (0.0, 0.0)
    assert MAX_MATCHES >= 10


def test_a_lone_trace_of_somebody_else_is_unique_but_not_reidentified():
    """Half the targets' points are held only by one other person's trace (their own trace lost them, e.g.
    sampled out): unique whenever that other trace is in the population, never re-identified."""
    few = [[f"o{i % 30}"] if i % 2 else [f"a{i}", "heavy"] for i in range(N)]
    unique_se, reid_se = population_se(scored(few), TRUTH, seed=2, purpose="t")
    assert unique_se > 0.05 and 0.0 < reid_se < unique_se


def test_no_targets_no_estimate():
    assert all(math.isnan(v) for v in population_se(scored([]), TRUTH, seed=1, purpose="t"))
