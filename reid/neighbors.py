"""Nearest neighbours over mixed-type records, computed in numpy blocks, exactly as anonymeter 1.1.0 picks them.

The distance is anonymeter's Gower-like distance (Giomi et al., PoPETs 2023, after Gower, Biometrics 1971):
numerical columns contribute ``|a − b|`` after dividing by the column's range over both tables (so each
contributes at most 1), categorical columns contribute 1 when the values differ. Missing values contribute 1
(anonymeter counts 1 when both are missing; a single missing value is also counted as 1 here, where anonymeter
would produce NaN). Distances are float64 sums taken in anonymeter's order (numerical columns by name, then
categorical columns by name), so equal distances are equal here exactly when they are equal in anonymeter.

Unlike anonymeter's per-query loop over all candidates, distances are computed for a block of queries against
a tile of candidates at once, column by column, and a block skips the tiles that cannot hold any of its
neighbours: candidates are sorted by their categorical values, so a tile lacks most values of most columns,
and each value a query has that the tile lacks adds 1 to every distance between them (a lower bound, since the
numerical part is >= 0). The search is exact.

Ties: anonymeter keeps the first ``k`` entries of ``dist.argsort()`` compiled by numba, whose default kind is
numba's own quicksort (median-of-three pivot, Hoare partition, insertion sort under 16 entries; not stable).
Which of several equidistant candidates it keeps is a deterministic function of the whole distance row. When
the k-th and (k+1)-th smallest distances of a query are equal, that quicksort is replayed for the query
(``quicksort_prefix``: numpy, many queries in lock-step, following only the part that holds the first k), so
the neighbour sets are anonymeter's exactly.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["MixedMatrix", "NeighbourSearch", "encode_pair", "is_numeric", "kneighbors", "quicksort_prefix"]

GROUP = 32  # candidates per group in the top-k bound
SMALL_QUICKSORT = 15  # numba's quicksort insertion-sorts ranges of up to 15 entries (high - low < 15)
TILE = 2048  # candidates per tile
QUERY_BLOCK = 128  # queries per block
REPLAY_BLOCK = 32  # queries whose quicksort is replayed together (full distance rows)
REPLAY_CELLS = 1 << 22  # at most this many full-row distances per replayed block (32 MB of float64 each)


def is_numeric(dtype: pl.DataType) -> bool:
    """Numerical in anonymeter's sense (pandas 'number'): ints and floats, not booleans."""
    return dtype.is_numeric() and dtype != pl.Boolean


@dataclass(frozen=True)
class MixedMatrix:
    """Records ready for distances: scaled numbers (NaN = missing) and categorical codes (-1 = missing)."""

    num: np.ndarray  # (n, d_num) float64
    cat: np.ndarray  # (n, d_cat) int32
    cardinality: tuple[int, ...]  # distinct non-missing values per categorical column

    @property
    def n(self) -> int:
        return int(self.num.shape[0] if self.num.shape[1] else self.cat.shape[0])


def _column_types(a: pl.DataFrame, b: pl.DataFrame, columns: list[str]) -> tuple[list[str], list[str]]:
    num: list[str] = []
    cat: list[str] = []
    for c in columns:
        na, nb = is_numeric(a.schema[c]), is_numeric(b.schema[c])
        if na != nb:
            raise ValueError(f"{c}: numerical in one table and not in the other")
        (num if na else cat).append(c)
    return sorted(num), sorted(cat)  # anonymeter's column order (type_detection sorts the names)


def encode_pair(candidates: pl.DataFrame, queries: pl.DataFrame,
                columns: list[str]) -> tuple[MixedMatrix, MixedMatrix]:
    """Encode two tables on ``columns`` consistently (shared category codes, shared numeric ranges).

    Numerical columns come first, then categorical ones, each group sorted by name (anonymeter's order)."""
    num_cols, cat_cols = _column_types(candidates, queries, columns)
    n_c, n_q = candidates.height, queries.height
    num_c = np.empty((n_c, len(num_cols)), dtype=np.float64)
    num_q = np.empty((n_q, len(num_cols)), dtype=np.float64)
    for j, c in enumerate(num_cols):
        xc = candidates[c].cast(pl.Float64).to_numpy()
        xq = queries[c].cast(pl.Float64).to_numpy()
        both = np.concatenate([xc, xq])
        finite = both[~np.isnan(both)]
        rng = float(finite.max() - finite.min()) if finite.size else 0.0
        scale = rng if rng > 0 else 1.0
        num_c[:, j] = xc / scale
        num_q[:, j] = xq / scale
    cat_c = np.empty((n_c, len(cat_cols)), dtype=np.int32)
    cat_q = np.empty((n_q, len(cat_cols)), dtype=np.int32)
    card = []
    for j, c in enumerate(cat_cols):
        strings = pl.concat([candidates[c].cast(pl.String), queries[c].cast(pl.String)])
        dense = strings.rank("dense").cast(pl.Int64) - 1
        arr = dense.fill_null(-1).to_numpy().astype(np.int32)
        cat_c[:, j] = arr[:n_c]
        cat_q[:, j] = arr[n_c:]
        card.append(int(arr.max()) + 1 if arr.size else 0)
    return (MixedMatrix(num_c, cat_c, tuple(card)), MixedMatrix(num_q, cat_q, tuple(card)))


class _Distances:
    """Distances between a block of queries and a tile of (ordered) candidates, in anonymeter's float64 order."""

    def __init__(self, cand: MixedMatrix):
        self.num_t = cand.num.T.copy()  # (d_num, n) contiguous rows
        self.cat_t = cand.cat.T.copy()
        self.num_nan = [bool(np.isnan(row).any()) for row in self.num_t]
        self.cat_nan = [bool((row < 0).any()) for row in self.cat_t]

    def block(self, q: MixedMatrix, rows: np.ndarray, c_lo: int, c_hi: int) -> np.ndarray:
        d = np.zeros((rows.size, c_hi - c_lo), dtype=np.float64)
        tmp = np.empty_like(d)
        for j, row in enumerate(self.num_t):  # numerical columns first, then categorical: the sum's order
            qv = q.num[rows, j][:, None]
            np.subtract(qv, row[None, c_lo:c_hi], out=tmp)
            np.abs(tmp, out=tmp)
            if self.num_nan[j] or np.isnan(qv).any():
                tmp[np.isnan(tmp)] = 1.0
            d += tmp
        for j, row in enumerate(self.cat_t):
            qc = q.cat[rows, j][:, None]
            miss = qc != row[None, c_lo:c_hi]
            if self.cat_nan[j] or (qc < 0).any():
                miss |= (qc < 0) | (row[None, c_lo:c_hi] < 0)
            d += miss  # one addition per column, in order: the same float64 sums as anonymeter
        return d


def _tile_bounds(cand_cat: np.ndarray, cardinality: tuple[int, ...], tiles: list[tuple[int, int]],
                 q_cat: np.ndarray) -> np.ndarray:
    """(queries, tiles): how many of a query's categorical values its tile lacks — a lower bound."""
    bound = np.zeros((q_cat.shape[0], len(tiles)), dtype=np.float32)
    for j, card in enumerate(cardinality):
        present = np.zeros((len(tiles), card + 1), dtype=bool)  # last slot: missing, never matches
        for t, (lo, hi) in enumerate(tiles):
            present[t, cand_cat[lo:hi, j][cand_cat[lo:hi, j] >= 0]] = True
        present[:, card] = False
        qv = np.where(q_cat[:, j] >= 0, q_cat[:, j], card)
        bound += ~present[:, qv].T
    return bound


def _select(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k smallest entries of each row, ties broken by position; sorted by distance."""
    b, n = d.shape
    if k == 1:
        pos = np.argmin(d, axis=1)[:, None]
        return pos, np.take_along_axis(d, pos, axis=1)
    if k == 2 and n > 2:  # the nearest and the next: two passes of argmin
        ar = np.arange(b)
        first = np.argmin(d, axis=1)
        d_first = d[ar, first]
        d[ar, first] = np.inf
        second = np.argmin(d, axis=1)
        d[ar, first] = d_first
        pos = np.stack([first, second], axis=1)
        return pos, d[ar[:, None], pos]
    if k >= n:
        pos = np.argsort(d, axis=1, kind="stable")
        return pos, np.take_along_axis(d, pos, axis=1)
    # Upper bound on the k-th smallest distance: the k-th smallest of the minima of groups of GROUP columns
    # (k groups each hold an entry <= their minimum). Only entries under that bound are sorted exactly.
    g = -(-n // GROUP)
    if g <= k:
        bound = d.max(axis=1, keepdims=True)
    else:
        padded = d if g * GROUP == n else np.pad(d, ((0, 0), (0, g * GROUP - n)), constant_values=np.inf)
        mins = padded.reshape(b, g, GROUP).min(axis=2)
        bound = np.partition(mins, k - 1, axis=1)[:, k - 1:k]
    rows, cols = np.nonzero(d <= bound)
    vals = d[rows, cols]
    order = np.lexsort((cols, vals, rows))  # by row, then distance, then position: ties go to the first
    rows, cols, vals = rows[order], cols[order], vals[order]
    starts = np.searchsorted(rows, np.arange(b))
    take = (starts[:, None] + np.arange(k)[None, :]).ravel()
    return cols[take].reshape(b, k), vals[take].reshape(b, k)


def _swap(v: np.ndarray, r: np.ndarray, i: np.ndarray, j: np.ndarray, where: np.ndarray | None = None) -> None:
    """Per row, exchange entries ``i`` and ``j`` of ``v`` and ``r`` (only in the rows ``where`` says)."""
    ar = np.arange(v.shape[0])
    for a in (v, r):
        ai, aj = a[ar, i], a[ar, j]
        if where is not None:
            ai, aj = np.where(where, aj, ai), np.where(where, ai, aj)
        else:
            ai, aj = aj, ai
        a[ar, i], a[ar, j] = ai, aj


def _partition(v: np.ndarray, r: np.ndarray, length: np.ndarray) -> np.ndarray:
    """numba's quicksort ``partition`` of ``v[:, :length]`` (in place, ``r`` follows), for every row at once.

    Median of three (first, middle, last) as pivot, stashed at the end; ``i`` runs right over entries below
    the pivot, ``j`` left over entries above it, and the two stopped entries are exchanged. The m-th exchange
    pairs the m-th entry >= pivot from the left with the m-th entry <= pivot from the right, as long as the
    former lies left of the latter; the returned pivot position follows from the number of exchanges.
    """
    b, w = v.shape
    ar = np.arange(b)
    h = length - 1
    mid = h >> 1
    zero = np.zeros(b, dtype=np.int64)
    _swap(v, r, zero, mid, v[ar, mid] < v[ar, 0])
    _swap(v, r, h, mid, v[ar, h] < v[ar, mid])
    _swap(v, r, zero, mid, v[ar, mid] < v[ar, 0])
    pivot = v[ar, mid][:, None]
    _swap(v, r, h, mid)
    inside = np.arange(w)[None, :] < h[:, None]
    stop_i = inside & ~(v < pivot)  # where i stops
    stop_j = inside & ~(pivot < v)  # where j stops
    c_i = np.cumsum(stop_i, axis=1, dtype=np.int32)  # stops of i at or left of each position
    after_j = stop_j.sum(axis=1, dtype=np.int32)[:, None] - np.cumsum(stop_j, axis=1, dtype=np.int32)  # stops of j right of each position
    m = np.where(inside, np.minimum(c_i, after_j), 0).max(axis=1)  # number of exchanges
    hit = stop_i & (c_i == (m + 1)[:, None])
    pos = np.where(hit.any(axis=1), hit.argmax(axis=1), h)  # where i would stop next
    last_j = (stop_j & (after_j + 1 == m[:, None])).argmax(axis=1)  # the last exchange's right entry
    pos = np.where(m > 0, np.minimum(pos, last_j), pos)
    rows_i, cols_i = np.nonzero(stop_i & (c_i <= m[:, None]))  # exchanged entries: m per row on each side,
    _, cols_j = np.nonzero(stop_j & (after_j < m[:, None]))  # left ones ascending, right ones ascending
    if rows_i.size:
        start = np.cumsum(m) - m
        t = np.arange(rows_i.size)
        partner = cols_j[2 * start[rows_i] + m[rows_i] - 1 - t]  # m-th from the left <-> m-th from the right
        for a in (v, r):
            a[rows_i, cols_i], a[rows_i, partner] = a[rows_i, partner], a[rows_i, cols_i]
    _swap(v, r, pos, h)
    return pos


def quicksort_prefix(d: np.ndarray, k: int) -> np.ndarray:
    """Positions of the first ``k`` entries of every row of ``d`` after numba's ``argsort`` (quicksort).

    Which entries come first is exactly numba's (anonymeter's ``dist_ix.argsort()[:k]``), as a set; they are
    returned by distance, then position. Only the ranges that hold the first ``k`` positions are partitioned
    (ranges left of them end up in front whatever their inner order, ranges right of them never do); a range
    of at most 15 entries is insertion-sorted, i.e. sorted stably.
    """
    b, n = d.shape
    k = min(k, n)
    out = np.empty((b, k), dtype=np.int64)
    filled = np.zeros(b, dtype=np.int64)  # per query: how many of its first k are known
    rows = np.arange(b)  # queries still being sorted; below, arrays are indexed by position in ``rows``
    v = np.array(d, dtype=np.float64)
    r = np.broadcast_to(np.arange(n), (b, n)).copy()
    length = np.full(b, n, dtype=np.int64)  # entries of the current range (kept at the front of v and r)
    need = np.full(b, k, dtype=np.int64)  # of its first entries to find

    def emit(sel: np.ndarray, src: np.ndarray, count: np.ndarray) -> None:
        rr, cc = np.nonzero(np.arange(src.shape[1])[None, :] < count[:, None])
        g = rows[sel][rr]
        out[g, filled[g] + cc] = src[rr, cc]
        filled[rows[sel]] += count

    while rows.size:
        small = length <= SMALL_QUICKSORT  # numba partitions while high - low >= 15, then insertion-sorts
        if small.any():
            s = np.flatnonzero(small)
            vs = np.where(np.arange(v.shape[1])[None, :] < length[s, None], v[s], np.inf)
            emit(s, np.take_along_axis(r[s], np.argsort(vs, axis=1, kind="stable"), axis=1), need[s])
            big = ~small
            rows, v, r, length, need = rows[big], v[big], r[big], length[big], need[big]
            if not rows.size:
                break
        pos = _partition(v, r, length)
        left = pos >= need  # the entries wanted all lie left of the pivot
        count = np.where(left, np.where(pos == need, pos, 0), pos + 1)
        emit(np.arange(rows.size), r, count)
        need = need - count
        start = np.where(left, 0, pos + 1)
        length = np.where(left, pos, length - pos - 1)
        go = np.flatnonzero(need > 0)
        rows, start, length, need = rows[go], start[go], length[go], need[go]
        if not rows.size:
            break
        width = int(length.max())
        cols = np.minimum(start[:, None] + np.arange(width)[None, :], v.shape[1] - 1)
        valid = np.arange(width)[None, :] < length[:, None]
        v = np.where(valid, v[go[:, None], cols], np.inf)
        r = r[go[:, None], cols]
    by = np.lexsort((out, np.take_along_axis(d, out, axis=1)), axis=1)
    return np.take_along_axis(out, by, axis=1)


class NeighbourSearch:
    """The ``k`` nearest candidates of every query, exact; anonymeter's choice among ties on request.

    The search looks for ``k + 1`` neighbours: each block of queries visits the candidate tiles from the lowest
    bound up and stops when no query of the block can find a closer candidate in the tiles left. ``idx`` and
    ``dist`` then hold the first ``k`` by distance, then index. A query is ``tied`` when its k-th and (k+1)-th
    neighbours are equally far: which of the equidistant candidates anonymeter keeps is then decided by its
    numba quicksort, which ``resolve`` replays (``quicksort_prefix`` on the query's full distance row).
    ``n_jobs`` threads share the query blocks (numpy releases the GIL).
    """

    def __init__(self, cand: MixedMatrix, queries: MixedMatrix, k: int, n_jobs: int = 2):
        n, nq = cand.n, queries.n
        self.cand, self.queries, self.n_jobs = cand, queries, n_jobs
        self.k = k = min(k, n)
        k1 = min(k + 1, n)
        # sort by categorical values, most diverse column first, so that tiles are homogeneous
        cols = sorted(range(cand.cat.shape[1]), key=lambda j: -cand.cardinality[j])
        order = np.lexsort([cand.cat[:, j] for j in reversed(cols)]) if cols else np.arange(n)
        order = order[np.lexsort((order, np.arange(n) // TILE))]  # within a tile by index
        self.order = order
        self.dist = _Distances(MixedMatrix(cand.num[order], cand.cat[order], cand.cardinality))
        tiles = [(lo, min(lo + TILE, n)) for lo in range(0, n, TILE)]
        bounds = _tile_bounds(cand.cat[order], cand.cardinality, tiles, queries.cat)
        q_order = np.lexsort([queries.cat[:, j] for j in reversed(cols)]) if cols else np.arange(nq)
        self.idx = np.empty((nq, k), dtype=np.int64)
        self.dist_k = np.empty((nq, k), dtype=np.float64)
        self.tied = np.zeros(nq, dtype=bool)

        def work(rows: np.ndarray) -> None:
            lb = bounds[rows]  # (block, tiles)
            best_d = np.full((rows.size, k1), np.inf, dtype=np.float64)
            best_i = np.full((rows.size, k1), n, dtype=np.int64)
            for t in np.argsort(lb.min(axis=0), kind="stable"):
                if not (lb[:, t] <= best_d[:, -1]).any():
                    continue
                lo, hi = tiles[t]
                pos, dd = _select(self.dist.block(queries, rows, lo, hi), min(k1, hi - lo))
                cand_d = np.concatenate([best_d, dd], axis=1)
                cand_i = np.concatenate([best_i, order[lo + pos]], axis=1)
                keep = np.lexsort((cand_i, cand_d), axis=1)[:, :k1]
                best_d = np.take_along_axis(cand_d, keep, axis=1)
                best_i = np.take_along_axis(cand_i, keep, axis=1)
            self.dist_k[rows] = best_d[:, :k]
            self.idx[rows] = best_i[:, :k]
            if k1 > k and k > 0:
                self.tied[rows] = best_d[:, k - 1] == best_d[:, k]

        self._run(work, [q_order[lo:lo + QUERY_BLOCK] for lo in range(0, nq, QUERY_BLOCK)])

    def _run(self, fn, parts: list[np.ndarray]) -> None:
        if self.n_jobs > 1 and len(parts) > 1:
            with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
                list(pool.map(fn, parts))
        else:
            for part in parts:
                fn(part)

    def pair_distances(self, rows: np.ndarray, cand_idx: np.ndarray) -> np.ndarray:
        """Distances between queries ``rows`` and candidates ``cand_idx`` (same shape), as ``dist`` has them."""
        c, q = self.cand, self.queries
        d = np.zeros(rows.shape, dtype=np.float64)
        for j in range(c.num.shape[1]):
            t = np.abs(q.num[rows, j] - c.num[cand_idx, j])
            d += np.where(np.isnan(t), 1.0, t)
        for j in range(c.cat.shape[1]):
            a, b = q.cat[rows, j], c.cat[cand_idx, j]
            d += (a != b) | (a < 0) | (b < 0)
        return d

    def resolve(self, rows: np.ndarray | None = None) -> NeighbourSearch:
        """Replace the neighbours of the tied queries by anonymeter's choice: all, or those ``rows`` (a mask) marks."""
        ties = np.flatnonzero(self.tied if rows is None else self.tied & rows)
        n = self.cand.n

        def replay(part: np.ndarray) -> None:
            full = np.empty((part.size, n), dtype=np.float64)
            full[:, self.order] = self.dist.block(self.queries, part, 0, n)
            first = quicksort_prefix(full, self.k)
            self.idx[part] = first
            self.dist_k[part] = np.take_along_axis(full, first, axis=1)
            self.tied[part] = False

        # fewer rows per block against many candidates: memory follows REPLAY_CELLS, each row is replayed alike
        rows_per = max(1, min(REPLAY_BLOCK, REPLAY_CELLS // max(n, 1)))
        self._run(replay, [ties[lo:lo + rows_per] for lo in range(0, ties.size, rows_per)])
        return self


def kneighbors(cand: MixedMatrix, queries: MixedMatrix, k: int,
               n_jobs: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``cand``) and distances of the ``k`` nearest candidates of every query: anonymeter's.

    Exact, and among equidistant candidates the ones anonymeter's numba quicksort keeps (``NeighbourSearch``).
    Neighbours are listed by distance, then index.
    """
    search = NeighbourSearch(cand, queries, k, n_jobs).resolve()
    return search.idx, search.dist_k
