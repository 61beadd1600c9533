"""Scoring every enumerated singling-out query at once (``reid.singling_score``) against brute-force counting."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from test_singling_search import messy_table

from reid.queries import count_matches, encode_tables
from reid.singling_score import pool_match_counts
from reid.singling_search import column_medians, query_of, singling_pool


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_counts_equal_brute_force_on_another_table(seed, m):
    release, other = messy_table(seed, 60), messy_table(seed + 10, 80)  # other values, other medians
    cols = list(release.columns)
    e_rel, e_other = encode_tables([release, other.select(cols)], cols)
    med = column_medians(e_rel)
    pool = singling_pool(e_rel, m, med)
    sizes = np.array([r.size for r in pool.rows], np.int64)
    rows = np.concatenate([np.empty(0, np.int64), *pool.rows])
    q = query_of(e_rel, med, rows, pool.subsets[np.repeat(np.arange(len(pool.rows)), sizes)])
    assert len(q) == pool.available > 0
    for table in (e_other, e_rel):
        got = pool_match_counts(e_rel, table, med, pool, cap=2)
        want = np.minimum(count_matches(table, q), 2)
        assert got.tolist() == want.tolist()
    assert (pool_match_counts(e_rel, e_rel, med, pool) == 1).all()  # each singles out its own record


def test_big_groups_are_counted_in_blocks(monkeypatch):
    import reid.singling_score as sc

    monkeypatch.setattr(sc, "BLOCK_CELLS", 7)  # many blocks, some holding one query
    rng = np.random.default_rng(4)
    df = pl.DataFrame({"a": rng.integers(0, 30, 400), "b": rng.integers(0, 30, 400), "c": rng.integers(0, 30, 400),
                       "t": rng.choice(["x", "y"], 400)}).unique(maintain_order=True)
    other = pl.DataFrame({"a": rng.integers(0, 30, 500), "b": rng.integers(0, 30, 500),
                          "c": rng.integers(0, 30, 500), "t": rng.choice(["x", "y"], 500)})
    e_rel, e_other = encode_tables([df, other], list(df.columns))
    med = column_medians(e_rel)
    pool = singling_pool(e_rel, 3, med)
    sizes = np.array([r.size for r in pool.rows], np.int64)
    rows = np.concatenate(pool.rows)
    q = query_of(e_rel, med, rows, pool.subsets[np.repeat(np.arange(len(pool.rows)), sizes)])
    got = pool_match_counts(e_rel, e_other, med, pool, cap=3)
    assert got.tolist() == np.minimum(count_matches(e_other, q), 3).tolist()
