"""Every multivariate singling-out query of a release checked on another table at once (used by ``reid.singling_out``).

When ``reid.singling_search`` has enumerated every singling-out query of the release (its ``SinglingPool``),
singling out scores all of them against the original and the control instead of a random sample: the exact
success rate that anonymeter's random draw of ``n_attacks`` queries estimates. There are tens of thousands of
such queries on a table like Adult; checking each against every row (``reid.queries.count_matches``) costs
minutes, this costs seconds, with the same answer (tested against ``count_matches``).

How. Query (r, S) of release record r asks "equal to r on the categorical columns of S; at least r's value (r
above the release's median) or at most it (otherwise) on the numeric ones; missing where r is missing". A row t
of another table matches it only if t agrees with r on the categorical columns, is missing where r is, and lies
on r's side of each numeric median (t ≥ r > median, or t ≤ r ≤ median). So the rows are grouped by those codes
(medians of the release), and within a group, with each numeric value turned so that "matches" means "at least
as large" (itself above the median, its negative below), t matches r exactly when t's turned value is at least
r's in every numeric column of S. For each query the rows of its group at least as large in one numeric column
are a contiguous run of that column's sorted order (found by binary search); the run of the column that gives
the fewest rows is compared on the other columns, a block of queries at a time.
"""

from __future__ import annotations

import numpy as np

from reid.queries import KIND_NUM, Encoded
from reid.singling_search import SinglingPool, _group_key, _Prepared

__all__ = ["pool_match_counts"]

BLOCK_CELLS = 4_000_000  # row comparisons per block (bounds the memory of one step)


def _joint(release: Encoded, table: Encoded, med: np.ndarray) -> _Prepared:
    """Codes (categorical value or side of the release's median) and turned ranks over both tables' rows."""
    x = np.concatenate([release.x, table.x], axis=1)
    d, n = x.shape
    numeric = release.kinds == KIND_NUM
    codes = np.zeros((d, n), np.int64)
    ranks = np.zeros((d, n), np.int64)
    radix = np.ones(d, np.int64)
    for j in range(d):
        nan = np.isnan(x[j])
        if numeric[j]:
            above = x[j] > med[j]  # False where the median is NaN: such a column's queries all ask "missing"
            codes[j] = np.where(nan, 0, np.where(above, 2, 1))
            radix[j] = 3
            turned = np.where(nan, 0.0, np.where(above, x[j], -x[j]))
            ranks[j] = np.unique(turned, return_inverse=True)[1].reshape(-1)
        else:
            top = int(np.nanmax(x[j])) + 1 if not nan.all() else 0
            codes[j] = np.where(nan, top, np.nan_to_num(x[j])).astype(np.int64)
            radix[j] = top + 1
    return _Prepared(codes, radix, ranks, ranks, numeric)


def _count_dominating(lead: np.ndarray, lo: np.ndarray, hi: np.ndarray, order: np.ndarray, q_rows: np.ndarray,
                      ranks: np.ndarray, others: list[int], cap: int) -> np.ndarray:
    """For each query i: rows ``order[lo[i]:hi[i]]`` at least as large as query row ``q_rows[i]`` in ``others``.

    Counts stop mattering above ``cap`` (they are exact up to it). ``lead`` lists the queries to count.
    """
    out = np.zeros(lead.size, np.int64)
    lengths = hi[lead] - lo[lead]
    ends = np.cumsum(lengths)
    start = 0
    while start < lead.size:
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + BLOCK_CELLS, "right")))
        idx = np.arange(start, stop)
        size = lengths[idx]
        qi = np.repeat(idx, size)
        offset = np.arange(qi.size) - np.repeat(np.cumsum(size) - size, size)
        t = order[lo[lead[qi]] + offset]
        ok = np.ones(qi.size, bool)
        r = q_rows[lead[qi]]
        for j in others:
            ok &= ranks[j, t] >= ranks[j, r]
        out[idx] = np.bincount(qi[ok] - start, minlength=idx.size)
        start = stop
    return np.minimum(out, cap)


def pool_match_counts(release: Encoded, table: Encoded, med: np.ndarray, pool: SinglingPool,
                      cap: int = 2) -> np.ndarray:
    """Rows of ``table`` matched by each query of ``pool`` (pool order: subset by subset), capped at ``cap``.

    ``release`` is the table the pool was enumerated on and ``med`` its column medians (``column_medians``);
    ``table`` must be encoded with the same dictionary (``encode_tables``). A count equal to 1 means the query
    singles out a row of ``table``.
    """
    n_rel = release.n
    prep = _joint(release, table, med)
    out = []
    for s, rows in zip(pool.subsets, pool.rows, strict=True):
        if rows.size == 0:
            continue
        group, groups = _group_key(prep, tuple(int(j) for j in s))
        g_q, g_t = group[rows], group[n_rel:]
        num = [int(j) for j in s if prep.numeric[j]]
        if not num:
            out.append(np.minimum(np.bincount(g_t, minlength=groups)[g_q], cap))
            continue
        runs = []
        for j in num:  # rows of the query's group at least as large in column j: one run of the sorted order
            y = prep.ranks[j]
            top = int(y.max()) + 1
            key = g_t * top + (top - 1 - y[n_rel:])  # by group, then turned value decreasing
            order = np.argsort(key, kind="stable")
            ks = key[order]
            lo = np.searchsorted(ks, g_q * top, "left")
            hi = np.searchsorted(ks, g_q * top + (top - 1 - y[rows]), "right")
            runs.append((order + n_rel, lo, hi))
        lengths = np.stack([hi - lo for _, lo, hi in runs])
        best = lengths.argmin(axis=0)
        counts = np.empty(rows.size, np.int64)
        for i, (order, lo, hi) in enumerate(runs):
            lead = np.flatnonzero(best == i)
            others = [j for k, j in enumerate(num) if k != i]
            if lead.size and not others:
                counts[lead] = hi[lead] - lo[lead]  # one numeric column: the run is the answer
            elif lead.size:
                counts[lead] = _count_dominating(lead, lo, hi, order, rows, prep.ranks, others, cap)
        out.append(np.minimum(counts, cap))
    return np.concatenate([np.empty(0, np.int64), *out])
