"""quasi_identifiers on hand-built tables whose k, classes, uniqueness, l and t are known by hand."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.quasi_identifiers import quasi_identifiers, t_closeness


def metrics(df: pl.DataFrame, qis: list[str], sensitive: str | None = None) -> dict[str, float]:
    return {m.metric: m.value for m in quasi_identifiers(df, qis, sensitive)}


def test_everyone_unique():
    df = pl.DataFrame({"zip": [f"z{i}" for i in range(20)], "age": list(range(20)), "s": ["a", "b"] * 10})
    got = metrics(df, ["zip", "age"], "s")
    assert got["k"] == 1 and got["equivalence_classes"] == 20 and got["unique_share"] == 1.0
    assert got["prosecutor_risk_max"] == 1.0 and got["prosecutor_risk_avg"] == 1.0
    assert got["l_distinct"] == 1 and got["l_entropy"] == 1.0


def test_k_is_five_exactly():
    # classes of 5, 6 and 9 records: k = 5, 3 classes, nobody unique
    sizes = {"a": 5, "b": 6, "c": 9}
    df = pl.DataFrame({"g": [g for g, n in sizes.items() for _ in range(n)], "x": [1] * 20})
    got = metrics(df, ["g", "x"])
    assert got["k"] == 5 and got["equivalence_classes"] == 3 and got["unique_share"] == 0.0
    assert got["prosecutor_risk_max"] == pytest.approx(1 / 5)
    assert got["prosecutor_risk_avg"] == pytest.approx(3 / 20)  # mean over records of 1/|class|
    assert got["class_risk_avg"] == pytest.approx((1 / 5 + 1 / 6 + 1 / 9) / 3)  # pyCANON's average_rir


def test_every_metric_carries_n_and_unique_share_its_ci():
    df = pl.DataFrame({"g": ["a", "a", "b"], "s": ["x", "y", "x"]})
    ms = quasi_identifiers(df, ["g"], "s")
    assert all(m.n == 3 for m in ms)
    share = next(m for m in ms if m.metric == "unique_share")
    assert share.value == pytest.approx(1 / 3) and share.ci_low < 1 / 3 < share.ci_high


@pytest.mark.parametrize(("sensitive", "l_distinct", "l_entropy"), [
    # class A: x x y y (H = ln 2), class B: x y z z (H = 1.5 ln 2 ... > ln 2) -> min over classes is A's
    (["x", "x", "y", "y", "x", "y", "z", "z"], 2, 2.0),
    # class A homogeneous: l = 1 whatever class B holds
    (["x", "x", "x", "x", "x", "y", "z", "w"], 1, 1.0),
    # both classes: four distinct values, uniform -> l = 4, entropy l = 4
    (["a", "b", "c", "d", "a", "b", "c", "d"], 4, 4.0),
])
def test_l_diversity_by_hand(sensitive, l_distinct, l_entropy):
    df = pl.DataFrame({"g": ["A"] * 4 + ["B"] * 4, "s": sensitive})
    got = metrics(df, ["g"], "s")
    assert got["l_distinct"] == l_distinct
    assert got["l_entropy"] == pytest.approx(l_entropy)


def test_t_closeness_ordered_and_equal_distance_by_hand():
    # class A: s = 1 1 1, class B: s = 2 3 3; table: p = (1/2, 1/6, 1/3)
    df = pl.DataFrame({"g": ["A"] * 3 + ["B"] * 3, "s": [1, 1, 1, 2, 3, 3]})
    # ordered EMD: A: cumulative r = (1/2, 1/3, 0) -> (5/6)/(m-1=2) = 5/12; B the same by symmetry
    assert t_closeness(df, ["g"], "s") == pytest.approx(5 / 12)
    # equal distance on the same values as text: ½(1/2 + 1/6 + 1/3) = 1/2
    text = df.with_columns(pl.col("s").cast(pl.String))
    assert t_closeness(text, ["g"], "s") == pytest.approx(1 / 2)
    assert metrics(df, ["g"], "s")["t_closeness"] == pytest.approx(5 / 12)


def test_t_closeness_zero_when_classes_mirror_the_table():
    df = pl.DataFrame({"g": ["A", "A", "B", "B"], "s": [1, 2, 1, 2]})
    assert t_closeness(df, ["g"], "s") == pytest.approx(0.0)


def _naive_t(df: pl.DataFrame, qis: list[str], s: str, ordered: bool) -> float:
    """pyCANON's loops, written out: per class, per value of the whole table."""
    values = sorted(set(df[s].to_list()))
    n = df.height
    p = np.array([(df[s] == v).sum() / n for v in values])
    worst = 0.0
    for _, part in df.group_by(qis):
        q = np.array([(part[s] == v).sum() / part.height for v in values])
        r = q - p
        d = np.abs(np.cumsum(r)).sum() / (len(values) - 1) if ordered else 0.5 * np.abs(r).sum()
        worst = max(worst, d)
    return worst


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 6)), min_size=2, max_size=60))
def test_t_closeness_matches_the_naive_definition(rows):
    df = pl.DataFrame({"g": [r[0] for r in rows], "s": [r[1] for r in rows]})
    if df["s"].n_unique() < 2:
        return
    assert t_closeness(df, ["g"], "s") == pytest.approx(_naive_t(df, ["g"], "s", ordered=True), abs=1e-12)
    text = df.with_columns(pl.col("s").cast(pl.String).str.zfill(2))
    assert t_closeness(text, ["g"], "s") == pytest.approx(_naive_t(text, ["g"], "s", ordered=False), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 3), st.sampled_from("xyz")), min_size=1,
                max_size=50))
def test_counts_match_a_plain_python_grouping(rows):
    df = pl.DataFrame({"a": [r[0] for r in rows], "b": [r[1] for r in rows], "s": [r[2] for r in rows]})
    classes: dict[tuple, list[str]] = {}
    for a, b, s in rows:
        classes.setdefault((a, b), []).append(s)
    got = metrics(df, ["a", "b"], "s")
    assert got["k"] == min(len(v) for v in classes.values())
    assert got["equivalence_classes"] == len(classes)
    assert got["unique_share"] == pytest.approx(sum(len(v) == 1 for v in classes.values()) / len(rows))
    assert got["l_distinct"] == min(len(set(v)) for v in classes.values())
    ent = min(-sum(v.count(x) / len(v) * math.log(v.count(x) / len(v)) for x in set(v)) for v in classes.values())
    assert got["l_entropy"] == pytest.approx(math.exp(ent))


def test_missing_values_form_a_class_of_their_own():
    df = pl.DataFrame({"g": ["a", "a", None, None, None], "s": ["x", "y", "x", "x", "y"]})
    got = metrics(df, ["g"], "s")
    assert got["k"] == 2 and got["equivalence_classes"] == 2


@pytest.mark.parametrize(("qis", "sensitive", "message"), [
    (["nope"], None, "nope"), (["g"], "nope", "nope"), (["g", "s"], "s", "s"), ([], None, "at least one"),
])
def test_bad_columns_are_named(qis, sensitive, message):
    df = pl.DataFrame({"g": ["a"], "s": ["x"]})
    with pytest.raises(ValueError, match=message):
        quasi_identifiers(df, qis, sensitive)
