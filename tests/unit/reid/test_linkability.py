"""Linkability (anonymeter's method) on tables where who links to whom is known by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reid.anonymeter_stats import success_rate
from reid.linkability import _attack, linkability, links, random_links, sample_rows
from reid.neighbors import encode_pair, kneighbors


def by_metric(ms):
    return {m.metric: m for m in ms}


@pytest.mark.parametrize(("a", "b", "k", "want"), [
    ([[1, 2]], [[2, 3]], 2, [True]),
    ([[1, 2]], [[2, 3]], 1, [False]),  # only the first neighbours count
    ([[1, 2], [4, 5]], [[3, 1], [6, 7]], 2, [True, False]),
])
def test_links_by_hand(a, b, k, want):
    assert links(np.array(a), np.array(b), k).tolist() == want


def people(n: int, offset: int = 0) -> pl.DataFrame:
    """Each person unique on either half: a = i, b = 'p<i>'; c is shared noise."""
    return pl.DataFrame({"a": [offset + i for i in range(n)], "b": [f"p{offset + i}" for i in range(n)],
                         "c": ["x", "y"] * (n // 2)})


def test_a_copy_links_everyone_and_strangers_nobody():
    ori = people(60)
    ctl = people(60, offset=10_000)  # nobody of the control is in the release
    got = by_metric(linkability(ori, ori, ["a"], ["b", "c"], ctl, n_attacks=60, n_neighbors=1, seed=2))
    assert got["attack_rate"].value == 1.0  # both halves find the person's own record
    assert got["control_rate"].value == 0.0  # b of a stranger matches nobody: the two halves part ways
    a, c = success_rate(60, 60), success_rate(60, 0)
    assert got["risk"].value == pytest.approx((a.value - c.value) / (1 - c.value))
    assert got["risk"].n == 60 and got["risk"].params["aux_a"] == ["a"]


def test_more_neighbours_never_link_fewer():
    rng = np.random.default_rng(0)
    ori = pl.DataFrame({"a": rng.integers(0, 5, 200), "b": rng.choice(list("pqr"), 200),
                        "c": rng.integers(0, 4, 200)})
    syn = ori.sample(150, seed=3)
    rates = [by_metric(linkability(ori, syn, ["a"], ["b", "c"], n_attacks=100, n_neighbors=k,
                                   seed=4))["attack_rate"].value for k in (1, 5, 20)]
    assert rates == sorted(rates)


def test_random_links_are_distinct_and_rare():
    rng = np.random.default_rng(1)
    hits = random_links(1000, 5000, 10, rng)
    # two random 10-sets of 1000 records intersect with probability 1 - C(990,10)/C(1000,10) ≈ 0.0956
    assert hits.mean() == pytest.approx(0.0956, abs=0.015)


def test_targets_are_capped_at_the_table_size_and_empty_sets_refused():
    ori = people(10)
    assert by_metric(linkability(ori, ori, ["a"], ["b"], n_attacks=500))["risk"].n == 10
    with pytest.raises(ValueError, match="aux"):
        linkability(ori, ori, [], ["b"])


@pytest.mark.parametrize(("n_rows", "n", "seed"), [(50, 10, 0), (1000, 999, 42), (7, 7, 123)])
def test_targets_are_the_ones_pandas_sample_draws(n_rows, n, seed):
    """anonymeter draws targets with ``DataFrame.sample`` on numpy's global state: the same rows, same order."""
    df = pl.DataFrame({"i": range(n_rows)})
    ours = sample_rows(df, n, np.random.RandomState(seed))["i"].to_list()
    theirs = df.to_pandas().sample(n, random_state=np.random.RandomState(seed))["i"].to_list()
    assert ours == theirs


@pytest.mark.parametrize("k", [1, 3, 10])
def test_only_undecided_ties_are_replayed_and_links_stay_anonymeters(k):
    """Links found with the shortcut equal links between fully resolved (anonymeter's) neighbour lists."""
    rng = np.random.default_rng(k)
    make = lambda n: pl.DataFrame({"a": rng.integers(0, 4, n), "s": rng.choice(list("pq"), n),  # noqa: E731
                                   "b": rng.integers(0, 30, n), "t": rng.choice(list("xyz"), n)})
    syn, targets = make(60), make(150)
    full = []
    for aux in (["a", "s"], ["b", "t"]):
        cand, q = encode_pair(syn.select(aux), targets.select(aux), aux)
        full.append(kneighbors(cand, q, k)[0])
    want = links(full[0], full[1], k)
    assert _attack(targets, syn, ["a", "s"], ["b", "t"], k, n_jobs=1).tolist() == want.tolist()
    assert 0 < want.sum() < want.size  # the case is not trivial
