"""Array-encoded predicate queries count the same rows as the equivalent Polars filters."""

from __future__ import annotations

import operator

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from reid.queries import EQ, GE, GT, ISNULL, LE, LT, NE, NOTNULL, Queries, count_matches, encode_tables

POLARS = {EQ: operator.eq, NE: operator.ne, GT: operator.gt, LT: operator.lt, GE: operator.ge, LE: operator.le}


def polars_count(df: pl.DataFrame, cols: list[str], ops: list[int], vals: list) -> int:
    expr = pl.lit(True)
    for c, o, v in zip(cols, ops, vals, strict=True):
        if o == ISNULL:
            e = pl.col(c).is_null()
        elif o == NOTNULL:
            e = pl.col(c).is_not_null()
        else:
            e = POLARS[o](pl.col(c), v)
        expr = expr & e
    return int(df.select(expr.cast(pl.Int64).sum()).item() or 0)


table = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.one_of(st.none(), st.sampled_from("abc"))),
                 min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(table, st.integers(0, 2**32 - 1), st.integers(1, 2))
def test_counts_equal_polars(rows, seed, m):
    df = pl.DataFrame({"n": [r[0] for r in rows], "s": [r[1] for r in rows]}, schema={"n": pl.Int64, "s": pl.String})
    (enc,) = encode_tables([df], ["n", "s"])
    rng = np.random.default_rng(seed)
    nq = 30
    cols = np.sort(np.argsort(rng.random((nq, 2)), axis=1)[:, :m], axis=1).astype(np.int32)
    ops = rng.integers(0, 8, size=cols.shape).astype(np.int8)
    ops[(cols == 1) & (ops >= GT) & (ops <= LE)] = EQ  # order comparisons only on numbers
    picks = rng.integers(0, len(rows), size=cols.shape)
    vals = enc.x[cols, picks]
    q = Queries(cols, ops, vals)
    got = count_matches(enc, q)
    capped = count_matches(enc, q, stop_above=1)
    labels = {i: v for i, v in enumerate(sorted({r[1] for r in rows if r[1] is not None}))}
    for i in range(nq):
        names = ["n" if c == 0 else "s" for c in cols[i]]
        pv = [None if np.isnan(v) else (int(v) if c == 0 else labels[int(v)]) for c, v in zip(cols[i], vals[i],
                                                                                               strict=True)]
        if any(v is None and o not in (ISNULL, NOTNULL) for v, o in zip(pv, ops[i], strict=True)):
            assert got[i] == 0  # a comparison with a missing value matches nothing, as in Polars
            continue
        want = polars_count(df, names, list(ops[i]), pv)
        assert got[i] == want
        assert (capped[i] == want) if want <= 1 else capped[i] > 1


def test_shared_dictionary_across_tables():
    a = pl.DataFrame({"s": ["x", "y"]})
    b = pl.DataFrame({"s": ["y", "z"]})
    ea, eb = encode_tables([a, b], ["s"])
    assert ea.x[0, 1] == eb.x[0, 0]  # "y" has one code in both tables
    assert len({*ea.x[0], *eb.x[0]}) == 3
