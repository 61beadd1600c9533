"""The multivariate singling-out search against anonymeter 1.1.0's acceptance rule, written out in Polars.

``anonymeter_pairs`` below is anonymeter's ``_query_from_record`` + ``_evaluate_queries`` (count == 1) for every
record and every column subset of a small table: the set of queries its rejection loop can ever accept.
"""

from __future__ import annotations

import operator
from functools import reduce
from itertools import combinations

import numpy as np
import polars as pl
import pytest

from reid.queries import count_matches, encode_tables
from reid.singling_search import column_medians, multivariate_queries, query_of, singling_pool


def anonymeter_pairs(df: pl.DataFrame, m: int) -> set[tuple[tuple[str, ...], int]]:
    """(sorted columns, record index) of every query anonymeter 1.1.0 accepts on ``df`` (already unique)."""
    medians = df.median().to_dicts()[0]
    records = df.to_dicts()
    exprs, labels = [], []
    for cols in combinations(sorted(df.columns), m):
        for i, rec in enumerate(records):
            parts = []
            for c in cols:
                v = rec[c]
                if v is None:
                    parts.append(pl.col(c).is_null())
                elif df.schema[c] == pl.Boolean or not df.schema[c].is_numeric():
                    parts.append(pl.col(c) == v)
                else:
                    parts.append(pl.col(c) >= v if v > medians[c] else pl.col(c) <= v)
            exprs.append(reduce(operator.and_, parts).cast(pl.Int64).sum().alias(f"q{len(exprs)}"))
            labels.append((cols, i))
    counts = df.select(exprs).row(0)
    return {lab for lab, c in zip(labels, counts, strict=True) if c == 1}


def our_pairs(df: pl.DataFrame, m: int) -> set[tuple[tuple[str, ...], int]]:
    (enc,) = encode_tables([df], list(df.columns))
    pool = singling_pool(enc, m)
    names = list(df.columns)
    return {(tuple(sorted(names[j] for j in sub)), int(r))
            for sub, rows in zip(pool.subsets, pool.rows, strict=True) for r in rows}


def messy_table(seed: int, n: int = 36) -> pl.DataFrame:
    """Ties, missing values, a float column, booleans and text: every branch of anonymeter's query builder."""
    rng = np.random.default_rng(seed)

    def holes(values: list, share: float = 0.15) -> list:
        return [None if rng.random() < share else v for v in values]

    return pl.DataFrame({
        "age": holes(rng.integers(20, 26, n).tolist()),
        "pay": holes(np.round(rng.normal(size=n), 1).tolist()),
        "job": holes(rng.choice(["a", "b", "c"], n).tolist()),
        "ok": holes(rng.random(n).round().astype(bool).tolist()),
        "kids": rng.integers(0, 3, n).tolist(),
    }).unique(maintain_order=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_the_pool_is_what_anonymeter_accepts(seed, m):
    df = messy_table(seed)
    assert our_pairs(df, m) == anonymeter_pairs(df, m)


def test_every_query_built_singles_out_and_an_exhaustive_search_builds_them_all():
    df = messy_table(5, n=60)
    (enc,) = encode_tables([df], list(df.columns))
    truth = anonymeter_pairs(df, 3)
    s = multivariate_queries(enc, 10_000, 3, np.random.default_rng(0))
    assert s.exhaustive and not s.ran_short and s.available == len(truth) == s.built
    assert (count_matches(enc, s.queries) == 1).all()
    assert np.unique(s.queries.keys()).size == s.built


def test_a_single_needle_is_found():
    # every (a, b) pair occurs twice except for one record; c is constant: one singling-out query on (a, b)
    base = [{"a": i % 7, "b": str(i % 5), "c": "x", "d": float(i // 35)} for i in range(70)]
    df = pl.DataFrame([*base, {"a": 3, "b": "4", "c": "x", "d": 0.0}]).unique(maintain_order=True)
    (enc,) = encode_tables([df], list(df.columns))
    s = multivariate_queries(enc, 50, 2, np.random.default_rng(1))
    truth = anonymeter_pairs(df, 2)
    assert s.available == len(truth) and s.built == len(truth) and not s.ran_short
    assert (count_matches(enc, s.queries) == 1).all()


def test_a_search_without_enumeration_that_runs_short_says_so():
    df = messy_table(3, n=60)
    (enc,) = encode_tables([df], list(df.columns))
    available = len(anonymeter_pairs(df, 2))
    s = multivariate_queries(enc, available, 2, np.random.default_rng(0), max_attempts=50, exhaustive_cells=0)
    assert not s.exhaustive and s.attempts == 50 and s.built < available and s.ran_short and s.available is None


def test_the_sampled_and_the_exhaustive_search_draw_from_the_same_pool_uniformly(monkeypatch):
    monkeypatch.setattr("reid.singling_search.DIRECT_CELLS", 0)  # a tiny table is sampled first, too
    df = messy_table(7, n=30)
    (enc,) = encode_tables([df], list(df.columns))
    pool = singling_pool(enc, 2)

    def label(cols, vals) -> tuple:
        return tuple(int(c) for c in cols), tuple(None if np.isnan(v) else float(v) for v in vals)

    labels = [label(sub, enc.x[sub, r]) for sub, rows in zip(pool.subsets, pool.rows, strict=True) for r in rows]
    assert len(set(labels)) == len(labels) == len(anonymeter_pairs(df, 2))
    reps, k = 200, 4
    # anonymeter's rejection loop alone; a few candidates, then the enumeration for the rest
    for cells, attempts in ((0, None), (10**9, 6)):
        counts = dict.fromkeys(labels, 0)
        for seed in range(reps):
            s = multivariate_queries(enc, k, 2, np.random.default_rng(seed), max_attempts=attempts,
                                     exhaustive_cells=cells)
            assert s.built == k and s.exhaustive == bool(cells)
            for cols, vals in zip(s.queries.cols, s.queries.vals, strict=True):
                counts[label(cols, vals)] += 1  # a KeyError would be a query outside the pool
        got = np.array(list(counts.values()))
        expected = reps * k / len(labels)  # each singling-out query equally often (binomial sd ~ 2.2)
        assert got.sum() == reps * k and np.abs(got - expected).max() < 5 * np.sqrt(expected), (cells, got)


def test_same_seed_same_queries_on_both_paths():
    df = messy_table(9, n=60)
    (enc,) = encode_tables([df], list(df.columns))
    for cells in (0, 10**9):
        one = multivariate_queries(enc, 15, 3, np.random.default_rng(4), exhaustive_cells=cells)
        two = multivariate_queries(enc, 15, 3, np.random.default_rng(4), exhaustive_cells=cells)
        other = multivariate_queries(enc, 15, 3, np.random.default_rng(5), exhaustive_cells=cells)
        assert np.array_equal(one.queries.keys(), two.queries.keys())
        assert not np.array_equal(one.queries.keys(), other.queries.keys())


def test_many_groups_and_wide_keys_take_the_general_sort():
    # more groups than a 16-bit key holds, and text columns whose codes multiply beyond the key's span
    rng = np.random.default_rng(0)
    n = 70_000
    df = pl.DataFrame({"id": rng.integers(0, 40_000, n).astype(str), "t": rng.integers(0, 30_000, n).astype(str),
                       "v": rng.integers(0, 5, n), "w": rng.normal(size=n).round(1)}).unique(maintain_order=True)
    (enc,) = encode_tables([df], list(df.columns))
    pool = singling_pool(enc, 3)
    med = column_medians(enc)
    for sub, rows in zip(pool.subsets, pool.rows, strict=True):
        probe = np.concatenate([rng.choice(enc.n, 300, replace=False), rows[:300]])
        q = query_of(enc, med, probe, np.tile(sub, (probe.size, 1)))
        assert np.array_equal(count_matches(enc, q, stop_above=1) == 1, np.isin(probe, rows))


def test_a_search_out_of_attempts_enumerates_instead_of_stopping_short(monkeypatch):
    monkeypatch.setattr("reid.singling_search.DIRECT_CELLS", 0)  # sample first, however small the table
    df = messy_table(3, n=60)
    (enc,) = encode_tables([df], list(df.columns))
    available = len(anonymeter_pairs(df, 2))
    s = multivariate_queries(enc, available, 2, np.random.default_rng(0), max_attempts=50,
                             exhaustive_cells=10 * df.width * df.height)
    assert s.exhaustive and s.attempts == 50 and s.built == s.available == available and not s.ran_short
