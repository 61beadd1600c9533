"""Singling out (anonymeter's method) on tables where what singles out is known by hand."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from reid.anonymeter_stats import success_rate
from reid.queries import EQ, GE, LE, count_matches, encode_tables
from reid.singling_out import (
    control_correction,
    multivariate_queries,
    random_queries,
    singling_out,
    univariate_queries,
)


def by_metric(ms):
    return {m.metric: m for m in ms}


def one_odd_row(n: int = 100, odd: str = "z", big: int = 9) -> pl.DataFrame:
    """n distinct rows ('a', 5, i // 2, i % 2) — no value occurs once — plus one row (odd, big, 0, 0).

    Rows are distinct because anonymeter (and so singling_out) drops duplicate rows first.
    """
    return pl.DataFrame({"c": ["a"] * n + [odd], "v": [5] * n + [big], "w": [i // 2 for i in range(n)] + [0],
                         "f": [str(i % 2) for i in range(n)] + ["0"]})


def test_univariate_queries_are_the_unique_value_and_the_extreme():
    (enc,) = encode_tables([one_odd_row()], ["c", "v", "w", "f"])
    q = univariate_queries(enc, 10, np.random.default_rng(0))
    found = sorted((int(c), int(o)) for c, o in zip(q.cols[:, 0], q.ops[:, 0], strict=True))
    # c == 'z', v == 9, v >= 9 single out; v <= 5 matches 100 rows; w and f have no rare value or extreme
    assert found == [(0, EQ), (1, EQ), (1, GE)]
    assert (count_matches(enc, q) == 1).all()


def test_a_unique_value_singles_out_its_person():
    ori = one_odd_row()
    got = by_metric(singling_out(ori, ori, mode="univariate", n_attacks=10, seed=1))
    # all 3 queries the release allows are scored, and all single out in the original
    assert got["attack_rate"].value == 1.0 and got["attack_rate"].n == 3 and got["attack_rate"].successes == 3
    assert got["risk"].params["queries"] == 3 and got["risk"].params["scored"] == "all"
    assert got["risk"].value == pytest.approx(success_rate(3, 3).value)  # no control: the attack rate
    # anonymeter's convention, kept for parity: a sample of n_attacks, the attacks without a query count as failures
    got = by_metric(singling_out(ori, ori, mode="univariate", n_attacks=10, seed=1, score_all_queries=False))
    assert got["attack_rate"].value == pytest.approx(3 / 10) and got["attack_rate"].n == 10
    assert got["risk"].params["scored"] == "sample"


def test_the_control_population_takes_away_what_anyone_could_single_out():
    ori = one_odd_row()
    ctl_same = one_odd_row()  # the odd person's twin is in the control too: nothing learnt from the release
    ctl_none = one_odd_row(odd="a", big=5)  # nobody odd in the control
    same = by_metric(singling_out(ori, ori, ctl_same, mode="univariate", n_attacks=10, seed=1))
    none = by_metric(singling_out(ori, ori, ctl_none, mode="univariate", n_attacks=10, seed=1))
    assert same["control_rate"].value == pytest.approx(1.0) and same["risk"].value == 0.0
    assert same["control_rate"].n == same["attack_rate"].n == 3  # the same queries on both sides
    a, c = success_rate(3, 3), success_rate(3, 0)
    assert none["control_rate"].value == 0.0
    assert none["risk"].value == pytest.approx((a.value - c.value) / (1 - c.value))


def test_nothing_singles_out_when_every_value_is_shared():
    ori = pl.DataFrame({"c": ["a", "a", "b", "b"], "v": [1, 2, 1, 2]})  # each value twice, each pair once
    for mode in ("univariate", "multivariate"):
        got = by_metric(singling_out(ori, ori, mode=mode, n_attacks=20, n_cols=1, seed=3, max_attempts=2000))
        assert got["attack_rate"].value == 0.0 and got["risk"].params["queries"] == 0
        # no query at all: scored as anonymeter would (n_attacks failures), not NaN with n = 0
        assert got["attack_rate"].n == 20 and got["risk"].value == pytest.approx(success_rate(20, 0).value)
        assert got["risk"].params["queries_available"] == 0
        assert got["risk"].params["ran_short"] is False  # nothing could be built: none exists, none missed
    # two columns together single everyone out
    got = by_metric(singling_out(ori, ori, n_attacks=4, n_cols=2, seed=3, max_attempts=20_000))
    assert got["attack_rate"].value == 1.0 and got["risk"].params["queries"] == 4


def test_multivariate_queries_single_out_in_the_release_and_are_distinct():
    rng = np.random.default_rng(7)
    df = pl.DataFrame({"a": rng.integers(0, 4, 300), "b": rng.choice(list("pqrs"), 300),
                       "c": rng.integers(0, 50, 300), "d": rng.choice(list("xy"), 300)})
    (enc,) = encode_tables([df], list(df.columns))
    search = multivariate_queries(enc, 20, 3, rng, max_attempts=100_000)
    q = search.queries
    assert len(q) == 20 and not search.ran_short
    assert (count_matches(enc, q) == 1).all()
    assert np.unique(q.keys()).size == 20
    assert ((q.cols[:, 1:] > q.cols[:, :-1]).all())  # 3 distinct columns, sorted
    num = np.isin(q.cols, [0, 2])
    assert set(np.unique(q.ops[num])) <= {GE, LE} and set(np.unique(q.ops[~num])) <= {EQ}


def test_random_queries_use_values_of_the_release():
    df = pl.DataFrame({"a": [1, 2, 3, None], "b": ["x", "y", "x", "y"]})
    (enc,) = encode_tables([df], ["a", "b"])
    q = random_queries(enc, 500, 1, np.random.default_rng(0))
    assert len(q) == 500 and set(np.unique(q.cols)) == {0, 1}
    cat = q.cols[:, 0] == 1
    assert set(np.unique(q.ops[cat])) == {EQ, 1}  # EQ / NE only on text
    assert len(set(np.unique(q.ops[~cat]))) > 4  # six operators (and null tests) on numbers


def test_control_correction_reproduces_anonymeter_1_1_0():
    (ctl,) = encode_tables([pl.DataFrame({"a": list(range(9758))})], ["a"])
    q = random_queries(ctl, 50, 1, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    # anonymeter 1.1.0 fits the size model to the number of queries, which gives about (n_c + 1) / (n_o + 1)
    assert control_correction(ctl, q, 26025, "anonymeter", rng) == pytest.approx(9759 / 26026, rel=1e-4)
    assert control_correction(ctl, q, 26025, "none", rng) == 1.0
    assert control_correction(ctl, q, 9758, "fit", rng) == 1.0  # same size: nothing to correct


def test_same_seed_same_figures():
    rng = np.random.default_rng(1)
    df = pl.DataFrame({"a": rng.integers(0, 30, 400), "b": rng.choice(list("pqrs"), 400)})
    kw = {"n_attacks": 30, "n_cols": 2, "seed": 5, "max_attempts": 20_000}
    one = singling_out(df, df.sample(300, seed=1), df.sample(200, seed=2), **kw)
    two = singling_out(df, df.sample(300, seed=1), df.sample(200, seed=2), **kw)
    assert [(m.metric, m.value) for m in one] == [(m.metric, m.value) for m in two]


def test_bad_mode_is_refused():
    df = one_odd_row(10)
    with pytest.raises(ValueError, match="mode"):
        singling_out(df, df, mode="bivariate")  # type: ignore[arg-type]


def test_a_search_that_runs_short_is_flagged_for_the_gate():
    rng = np.random.default_rng(2)
    df = pl.DataFrame({"a": rng.integers(0, 40, 300), "b": rng.choice(list("pqrs"), 300),
                       "c": rng.integers(0, 9, 300), "d": rng.choice(list("xyz"), 300)})
    kw = {"n_attacks": 200, "n_cols": 2, "seed": 1, "max_attempts": 100}
    short = by_metric(singling_out(df, df, exhaustive_cells=0, **kw))  # too large to enumerate: sampled only
    p = short["risk"].params
    assert p["ran_short"] is True and p["queries_built"] < p["queries_requested"] == 200
    assert p["search"] == "sampled" and p["attempts"] == 100 and p["queries_available"] is None
    assert p["scored"] == "sample" and short["risk"].n == 200
    sample = by_metric(singling_out(df, df, score_all_queries=False, **kw))["risk"].params
    assert sample["ran_short"] is False and sample["search"] == "exhaustive" and sample["scored"] == "sample"
    assert sample["queries_built"] == min(200, sample["queries_available"]) > p["queries_built"]
    full = by_metric(singling_out(df, df, **kw))
    assert full["risk"].params["scored"] == "all" and full["risk"].params["ran_short"] is False
    assert full["risk"].n == full["risk"].params["queries_available"] == sample["queries_available"]


def truth_table() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Release: v = 0..19 once each (22 univariate queries: v == i, v <= 0, v >= 19; c is constant).

    Original: v = 0..9 once, 10..19 twice, so v == i singles out for i < 10, v <= 0 too, v >= 19 not: 11 of 22.
    Control: v = 0..4 once, 5..19 twice: v == 0..4 and v <= 0, 6 of 22.
    """
    rel = pl.DataFrame({"v": list(range(20)), "c": ["a"] * 20})
    ori = pl.DataFrame({"v": list(range(20)) + list(range(10, 20)), "c": ["a"] * 20 + ["b"] * 10})
    ctl = pl.DataFrame({"v": list(range(20)) + list(range(5, 20)), "c": ["a"] * 20 + ["b"] * 15})
    return ori, rel, ctl


def test_all_queries_scored_give_the_exact_rates():
    ori, rel, ctl = truth_table()
    got = by_metric(singling_out(ori, rel, ctl, mode="univariate", n_attacks=5, seed=0, correction="none"))
    att, con = got["attack_rate"], got["control_rate"]
    assert (att.successes, att.n, att.value) == (11, 22, 0.5)
    assert (con.successes, con.n) == (6, 22) and con.value == pytest.approx(6 / 22)
    a, c = success_rate(22, 11), success_rate(22, 6)
    assert got["risk"].value == pytest.approx((a.value - c.value) / (1 - c.value)) and got["risk"].n == 22
    assert got["risk"].ci_low < got["risk"].value < got["risk"].ci_high
    p = got["risk"].params
    assert p["scored"] == "all" and p["queries_available"] == 22 and p["queries_built"] == 22
    assert got["baseline_rate"].n == 5  # random queries: still n_attacks of them


def test_the_exact_rate_is_what_anonymeters_sample_estimates():
    ori, rel, ctl = truth_table()
    rates = []
    for seed in range(60):
        got = by_metric(singling_out(ori, rel, ctl, mode="univariate", n_attacks=8, seed=seed, correction="none",
                                     score_all_queries=False))
        assert got["attack_rate"].n == 8 and got["control_rate"].n == 8
        rates.append(got["attack_rate"].value)
    # a sample of 8 of the 22 queries without replacement: sd of one rate ~0.14, of the mean of 60 ~0.018
    assert np.mean(rates) == pytest.approx(0.5, abs=0.06)
    assert len(set(rates)) > 2  # the samples do differ


def test_multivariate_all_queries_are_scored_against_brute_force():
    rng = np.random.default_rng(3)
    rel = pl.DataFrame({"a": rng.integers(0, 12, 200), "b": rng.choice(list("pqr"), 200),
                        "c": rng.integers(0, 9, 200)}).unique(maintain_order=True)
    ori = pl.DataFrame({"a": rng.integers(0, 12, 150), "b": rng.choice(list("pqr"), 150),
                        "c": rng.integers(0, 9, 150)}).unique(maintain_order=True)
    got = by_metric(singling_out(ori, rel, ori, n_attacks=10, n_cols=2, seed=0, correction="none"))
    (enc_rel, enc_ori) = encode_tables([rel, ori], ["a", "b", "c"])
    q = multivariate_queries(enc_rel, 10**6, 2, np.random.default_rng(0)).queries  # all of them
    want = int((count_matches(enc_ori, q) == 1).sum())
    assert got["attack_rate"].n == len(q) and got["attack_rate"].successes == want > 0
    assert got["control_rate"].successes == want and got["risk"].value == 0.0  # control = original
