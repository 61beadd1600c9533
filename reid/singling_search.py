"""Every multivariate singling-out query a released table allows, found at once (used by ``reid.singling_out``).

anonymeter's multivariate attacker (Giomi et al., PoPETs 2023; ``multivariate_singling_out_queries`` in
anonymeter 1.1.0) draws a record ``r`` of the release uniformly and ``m`` of its columns ``S`` uniformly, and
writes the query "equal to r on the categorical columns of S; at least r's value (r above the column's
median) or at most it (otherwise) on the numeric ones; missing where r is missing". It keeps the query when
it matches exactly one row of the release and is not a duplicate, and draws again — in batches of 1,000, up
to ``max_attempts`` (ten million) — until it holds ``n_attacks`` queries. Every pair (r, S) is equally likely,
so the queries it ends with are a uniform sample, without replacement, of the pairs whose query singles out.

This module draws candidates as anonymeter does (checked thousands at a time, ``reid.queries.count_matches``)
while the hit rate says that is cheap. Otherwise it finds that set of pairs exactly, one column subset at a
time, for every record at once, and draws the rest of the sample from the pairs not yet found: the same
distribution of queries and the same acceptance rule, and it knows how many singling-out queries exist at all
(``available``). When fewer exist than requested, all of them are built; anonymeter's loop could not build
more, however long it ran. Only a table too large to enumerate (more than ``EXHAUSTIVE_CELLS`` pairs) is
searched by drawing alone; if that stops at ``max_attempts`` short of the queries requested, the result says
``ran_short`` (the figure understates the risk and must count as not measured).

Why it is cheap. Two records match each other's queries only if they agree on the categorical columns of S
(missing is a value of its own) and lie on the same side of each numeric column's median (a record above the
median is asked for ``>=`` its value, and every record matching it is above the median too; the same holds
below). Within such a group, with each numeric column turned so that "matches" means "at least as large"
(its value above the median, its negative below), record r's query singles out exactly when no other record of
the group is at least as large as r in every numeric column of S: r is a strict maximum of its group. Groups
are found with integer keys; strict maxima in one or two numeric columns exactly with a running maximum in
sorted order; in more, by comparing each record with the records of its group that come before it in order of
decreasing rank sum (only those can dominate it), a block at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from reid.queries import EQ, GE, ISNULL, KIND_NUM, LE, Encoded, Queries, count_matches

__all__ = ["Search", "SinglingPool", "column_medians", "multivariate_queries", "query_of", "random_subsets",
           "singling_pool", "singling_rows"]

FIRST_BLOCK = 1
BLOCK_CELLS = 4_000_000  # comparisons per block of the dominance loop (bounds its memory)
BATCH = 4000  # candidates per batch of the sampled search
CELLS_PER_ATTEMPT = 100  # enumerating one (record, subset) pair costs about 1/100 of checking one candidate
DIRECT_CELLS = BATCH * CELLS_PER_ATTEMPT  # enumerating costs less than one batch of candidates: no sampling
EXHAUSTIVE_CELLS = 500_000_000  # enumerate at most this many (record, subset) pairs (about a minute)


def column_medians(enc: Encoded) -> np.ndarray:
    """The median of every numeric column (NaN for others), as anonymeter's ``df.median()``."""
    med = np.full(enc.x.shape[0], np.nan)
    for j, (row, k) in enumerate(zip(enc.x, enc.kinds, strict=True)):
        if k == KIND_NUM and not np.isnan(row).all():
            med[j] = np.nanmedian(row)
    return med


@dataclass(frozen=True)
class _Prepared:
    codes: np.ndarray  # (d, n) int64: categorical code (missing its own code) or numeric side 0/1/2
    radix: np.ndarray  # (d,) number of codes of each column
    ranks: np.ndarray  # (d, n) int64: dense rank of the turned numeric value (0 for missing / non-numeric)
    coarse: np.ndarray  # (d, n) int64: ranks scaled to 0 .. SCORE_MAX // m (a sum of m fits in 16 bits)
    numeric: np.ndarray  # (d,) bool


SCORE_MAX = 65_535


def _prepare(enc: Encoded, med: np.ndarray, m: int) -> _Prepared:
    d, n = enc.x.shape
    codes = np.zeros((d, n), np.int64)
    ranks = np.zeros((d, n), np.int64)
    coarse = np.zeros((d, n), np.int64)
    radix = np.ones(d, np.int64)
    numeric = enc.kinds == KIND_NUM
    for j in range(d):
        x = enc.x[j]
        nan = np.isnan(x)
        if numeric[j]:
            above = x > med[j]
            codes[j] = np.where(nan, 0, np.where(above, 2, 1))
            radix[j] = 3
            turned = np.where(nan, 0.0, np.where(above, x, -x))
            ranks[j] = np.unique(turned, return_inverse=True)[1].reshape(-1)
            top = max(int(ranks[j].max()), 1)
            coarse[j] = ranks[j] * (SCORE_MAX // max(m, 1)) // top  # monotone in the rank
        else:
            top = int(np.nanmax(x)) + 1 if not nan.all() else 0
            codes[j] = np.where(nan, top, np.nan_to_num(x)).astype(np.int64)
            radix[j] = top + 1
    return _Prepared(codes, radix, ranks, coarse, numeric)


def _dense(key: np.ndarray, span: int) -> tuple[np.ndarray, int]:
    """``key`` renumbered 0 .. g-1 (order kept); g is the number of distinct values."""
    if span <= 8 * key.size + 1024:
        present = np.bincount(key, minlength=span) > 0
        ids = np.cumsum(present) - 1
        return ids[key], int(present.sum())
    uniq, inv = np.unique(key, return_inverse=True)
    return inv.reshape(-1).astype(np.int64), int(uniq.size)


def _group_key(prep: _Prepared, subset: tuple[int, ...]) -> tuple[np.ndarray, int]:
    """Dense group ids (records that agree on the subset's codes share one) and their number."""
    key = np.zeros(prep.codes.shape[1], np.int64)
    span = 1
    for j in subset:
        r = int(prep.radix[j])
        if span * r > 8 * key.size + 1024:  # keep the key small (and far from overflow)
            key, span = _dense(key, span)
        key = key * r + prep.codes[j]
        span *= r
    return _dense(key, span)


def _order(group: np.ndarray, groups: int, score: np.ndarray) -> np.ndarray:
    """Record order by group, then by decreasing score (radix sorts on 16-bit keys when they fit)."""
    desc = SCORE_MAX - score
    if groups <= SCORE_MAX + 1 and int(score.max(initial=0)) <= SCORE_MAX:
        o = np.argsort(desc.astype(np.uint16), kind="stable")
        return o[np.argsort(group[o].astype(np.uint16), kind="stable")]
    return np.lexsort((desc, group))


def _maxima_2d(group: np.ndarray, groups: int, y1: np.ndarray, y2: np.ndarray) -> np.ndarray:
    """Strict maxima of each group in two columns (one: ``y2`` constant), exactly, in O(n log n).

    In order of group, then ``y1`` and ``y2`` decreasing, record r is dominated exactly when an earlier record
    of its group has ``y2`` at least r's (a running maximum), or the next record is a copy of r.
    """
    n = group.size
    t1, t2 = int(y1.max(initial=0)), int(y2.max(initial=0))
    if max(groups - 1, t1, t2) <= SCORE_MAX:  # three stable radix sorts on 16-bit keys
        order = np.argsort((t2 - y2).astype(np.uint16), kind="stable")
        order = order[np.argsort((t1 - y1[order]).astype(np.uint16), kind="stable")]
        order = order[np.argsort(group[order].astype(np.uint16), kind="stable")]
    else:
        order = np.lexsort((-y2, -y1, group))
    g, a, b = group[order], y1[order], y2[order]
    v = g * (t2 + 1) + b  # running maxima never cross into a later group: its values are all larger
    before = np.full(n, -1, np.int64)
    before[1:] = np.maximum.accumulate(v)[:-1]
    copy_next = np.zeros(n, bool)
    copy_next[:-1] = (g[1:] == g[:-1]) & (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    out = np.empty(n, bool)
    out[order] = (before < v) & ~copy_next
    return out


def singling_rows(prep: _Prepared, subset: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the records whose query on ``subset`` matches exactly one record (themselves)."""
    n = prep.codes.shape[1]
    group, groups = _group_key(prep, subset)
    num = [j for j in subset if prep.numeric[j]]
    if not num:
        return np.bincount(group, minlength=groups)[group] == 1
    y = prep.ranks[num]  # (k, n)
    if len(num) <= 2:
        return _maxima_2d(group, groups, y[0], y[1] if len(num) == 2 else np.zeros(n, np.int64))
    # More columns: a strict maximum in two of them is one in all (decided at once); the others are compared
    # with the records that may dominate them, a block at a time.
    sure = _maxima_2d(group, groups, y[0], y[1])
    score = prep.coarse[num].sum(axis=0)
    order = _order(group, groups, score)
    ys, ks, ss = y[:, order], group[order], score[order]
    pos = np.arange(n)
    new_group = np.ones(n, bool)
    new_group[1:] = ks[1:] != ks[:-1]
    start = np.maximum.accumulate(np.where(new_group, pos, 0))
    new_tie = new_group.copy()
    new_tie[1:] |= ss[1:] != ss[:-1]
    starts = np.flatnonzero(new_tie)
    end = np.repeat(np.append(starts[1:], n), np.diff(np.append(starts, n)))
    # Records that may dominate record i: positions start[i] .. end[i]-1 except i (only records whose score is
    # at least i's can be at least as large in every column; the score is monotone in each rank).
    single = sure[order]
    undecided = pos[~single]
    lo, block = 0, FIRST_BLOCK
    while undecided.size:
        first = start[undecided] + lo
        done = end[undecided] <= first
        single[undecided[done]] = True
        keep = ~done
        undecided, first = undecided[keep], first[keep]
        if not undecided.size:
            break
        if block == 1:
            idx = first
            dominated = idx != undecided
            for row in ys:
                dominated &= row[idx] >= row[undecided]
            undecided = undecided[~dominated]
        else:
            idx = first[:, None] + np.arange(block)
            valid = (idx < end[undecided, None]) & (idx != undecided[:, None])
            idx = np.minimum(idx, n - 1)
            for row in ys:
                valid &= row[idx] >= row[undecided, None]
            undecided = undecided[~valid.any(axis=1)]
        lo += block
        block = max(1, min(block * 2, BLOCK_CELLS // max(undecided.size, 1)))
    out = np.empty(n, bool)
    out[order] = single
    return out


@dataclass(frozen=True)
class SinglingPool:
    """All (record, column subset) pairs of a table whose query singles out, subset by subset."""

    subsets: np.ndarray  # (s, m) int32, each sorted
    rows: list[np.ndarray]  # rows[i]: records singled out on subsets[i]

    @property
    def available(self) -> int:
        return int(sum(r.size for r in self.rows))


def singling_pool(enc: Encoded, n_cols: int, med: np.ndarray | None = None) -> SinglingPool:
    """Every singling-out pair of ``enc`` for queries on ``n_cols`` columns (at most all columns)."""
    d = enc.x.shape[0]
    m = min(n_cols, d)
    med = column_medians(enc) if med is None else med
    prep = _prepare(enc, med, m)
    subsets = list(combinations(range(d), m))
    rows = [np.flatnonzero(singling_rows(prep, s)).astype(np.int64) for s in subsets]
    return SinglingPool(np.array(subsets, np.int32).reshape(len(subsets), m), rows)


def query_of(enc: Encoded, med: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> Queries:
    """anonymeter's query from records ``rows`` on columns ``cols`` ((q, m), sorted), as ``_query_from_record``."""
    vals = enc.x[cols, rows[:, None]]
    kinds = enc.kinds[cols]
    ops = np.where(kinds == KIND_NUM, np.where(vals > med[cols], GE, LE), EQ).astype(np.int8)
    ops[np.isnan(vals)] = ISNULL
    return Queries(cols.astype(np.int32), ops, vals)


def _subset_rank(cols: np.ndarray) -> np.ndarray:
    """Colexicographic rank of each sorted subset (row of ``cols``): sum over i of C(cols[i], i + 1)."""
    d = int(cols.max(initial=0)) + 1
    m = cols.shape[1]
    table = np.array([[math.comb(c, i + 1) for i in range(m)] for c in range(d)], np.int64).reshape(d, m)
    return table[cols, np.arange(m)].sum(axis=1)


def random_subsets(rng: np.random.Generator, n: int, d: int, m: int) -> np.ndarray:
    """n random m-subsets of range(d), each sorted."""
    return np.sort(np.argsort(rng.random((n, d)), axis=1)[:, :m], axis=1).astype(np.int32)


@dataclass(frozen=True)
class Search:
    """What the multivariate query search built, and how."""

    queries: Queries
    requested: int
    attempts: int  # candidates drawn one by one (anonymeter's attempts) before the search stopped or switched
    exhaustive: bool  # every singling-out query of the release was enumerated
    available: int | None  # how many singling-out queries the release allows (known when exhaustive)

    @property
    def built(self) -> int:
        return len(self.queries)

    @property
    def ran_short(self) -> bool:
        """Fewer queries than requested although more might exist: the figure understates, it is not measured."""
        return self.built < self.requested and not self.exhaustive


def _sampled(enc: Encoded, med: np.ndarray, n_queries: int, m: int, rng: np.random.Generator,
             max_attempts: int | None, cells: int | None) -> tuple[Queries, np.ndarray, int, bool]:
    """anonymeter's rejection search, batch by batch; stops early (``switch``) when enumerating would be cheaper.

    Returns the queries, their records, the attempts made and whether to switch to the exhaustive search.
    """
    d, n = enc.x.shape
    parts: list[Queries] = []
    found_rows: list[np.ndarray] = []
    seen = np.empty(0, dtype=np.dtype((np.void, 8 * 3 * m)))
    total, attempts = 0, 0
    while total < n_queries and (max_attempts is None or attempts < max_attempts):
        if cells is not None and attempts >= 2 * BATCH:
            projected = (n_queries - total) * attempts / (total + 1)
            if projected * CELLS_PER_ATTEMPT > cells:
                return Queries.concat(parts, m), np.concatenate([np.empty(0, np.int64), *found_rows]), attempts, True
        b = BATCH if max_attempts is None else min(BATCH, max_attempts - attempts)
        rows = rng.integers(0, n, size=b)
        q = query_of(enc, med, rows, random_subsets(rng, b, d, m))
        attempts += b
        hit = np.flatnonzero(count_matches(enc, q, stop_above=1) == 1)
        q, rows = q.take(hit), rows[hit]
        keys = q.keys()
        _, first = np.unique(keys, return_index=True)
        fresh = np.sort(first)
        fresh = fresh[~np.isin(keys[fresh], seen)][:n_queries - total]
        q, rows = q.take(fresh), rows[fresh]
        parts.append(q)
        found_rows.append(rows)
        seen = np.concatenate([seen, q.keys()])
        total += len(q)
    short = total < n_queries and cells is not None  # out of attempts: enumerate rather than stop short
    return Queries.concat(parts, m), np.concatenate([np.empty(0, np.int64), *found_rows]), attempts, short


def multivariate_queries(enc: Encoded, n_queries: int, n_cols: int, rng: np.random.Generator,
                         max_attempts: int | None = 10_000_000,
                         exhaustive_cells: int = EXHAUSTIVE_CELLS) -> Search:
    """``n_queries`` distinct queries on ``n_cols`` columns that single out one record of ``enc`` each.

    The queries are a uniform sample of all singling-out queries, as anonymeter's. The search draws candidates
    as anonymeter does while that is cheap; when the hit rate says enumerating every (record, subset) pair would
    be cheaper (at most ``exhaustive_cells`` of them), it enumerates them and draws the rest from those not yet
    found. Without enumeration it stops after ``max_attempts`` candidates, and may run short.
    """
    d, n = enc.x.shape
    m = min(n_cols, d)
    med = column_medians(enc)
    if n == 0 or m == 0 or n_queries <= 0:
        return Search(Queries.concat([], m), n_queries, 0, True, 0)
    cells = math.comb(d, m) * n
    cells_ok = cells if cells <= exhaustive_cells else None
    if cells_ok is not None and cells_ok <= DIRECT_CELLS:
        q, rows, attempts, switch = Queries.concat([], m), np.empty(0, np.int64), 0, True
    else:
        q, rows, attempts, switch = _sampled(enc, med, n_queries, m, rng, max_attempts, cells_ok)
    if not switch:
        return Search(q, n_queries, attempts, False, None)
    pool = singling_pool(enc, m, med)
    have = _subset_rank(q.cols) * n + rows if len(q) else np.empty(0, np.int64)
    sizes = np.array([r.size for r in pool.rows], np.int64)
    flat_rows = np.concatenate([np.empty(0, np.int64), *pool.rows])
    flat_subset = np.repeat(np.arange(len(pool.rows)), sizes)
    codes = _subset_rank(pool.subsets)[flat_subset] * n + flat_rows
    rest = np.flatnonzero(~np.isin(codes, have))
    pick = rest[rng.choice(rest.size, size=min(n_queries - len(q), rest.size), replace=False)]
    more = query_of(enc, med, flat_rows[pick], pool.subsets[flat_subset[pick]])
    return Search(Queries.concat([q, more], m), n_queries, attempts, True, pool.available)
