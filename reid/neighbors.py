"""Nearest neighbours over mixed-type records, computed in numpy blocks.

The distance is anonymeter's Gower-like distance (Giomi et al., PoPETs 2023, after Gower, Biometrics 1971):
numerical columns contribute ``|a − b|`` after dividing by the column's range over both tables (so each
contributes at most 1), categorical columns contribute 1 when the values differ. Missing values contribute 1
(anonymeter counts 1 when both are missing; a single missing value is also counted as 1 here, where anonymeter
would produce NaN).

Unlike anonymeter's per-query loop over all candidates, distances are computed for a block of queries against
a tile of candidates at once, column by column, and a block skips the tiles that cannot hold any of its
neighbours: candidates are sorted by their categorical values, so a tile lacks most values of most columns,
and each value a query has that the tile lacks adds 1 to every distance between them (a lower bound, since the
numerical part is >= 0). The search is exact. Ties are broken at random (a seeded permutation of the
candidates), not by position.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["MixedMatrix", "encode_pair", "is_numeric", "kneighbors"]

GROUP = 32  # candidates per group in the top-k bound
TILE = 2048  # candidates per tile
QUERY_BLOCK = 128  # queries per block


def is_numeric(dtype: pl.DataType) -> bool:
    """Numerical in anonymeter's sense (pandas 'number'): ints and floats, not booleans."""
    return dtype.is_numeric() and dtype != pl.Boolean


@dataclass(frozen=True)
class MixedMatrix:
    """Records ready for distances: scaled numbers (NaN = missing) and categorical codes (-1 = missing)."""

    num: np.ndarray  # (n, d_num) float32
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
    return num, cat


def encode_pair(candidates: pl.DataFrame, queries: pl.DataFrame,
                columns: list[str]) -> tuple[MixedMatrix, MixedMatrix]:
    """Encode two tables on ``columns`` consistently (shared category codes, shared numeric ranges)."""
    num_cols, cat_cols = _column_types(candidates, queries, columns)
    n_c, n_q = candidates.height, queries.height
    num_c = np.empty((n_c, len(num_cols)), dtype=np.float32)
    num_q = np.empty((n_q, len(num_cols)), dtype=np.float32)
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
    """Distances between a block of queries and a tile of (ordered) candidates."""

    def __init__(self, cand: MixedMatrix):
        self.num_t = cand.num.T.copy()  # (d_num, n) contiguous rows
        self.cat_t = cand.cat.T.copy()
        self.num_nan = [bool(np.isnan(row).any()) for row in self.num_t]
        self.cat_nan = [bool((row < 0).any()) for row in self.cat_t]

    def block(self, q: MixedMatrix, rows: np.ndarray, c_lo: int, c_hi: int) -> np.ndarray:
        d = np.zeros((rows.size, c_hi - c_lo), dtype=np.float32)
        for j, row in enumerate(self.cat_t):
            qc = q.cat[rows, j][:, None]
            miss = qc != row[None, c_lo:c_hi]
            if self.cat_nan[j] or (qc < 0).any():
                miss |= (qc < 0) | (row[None, c_lo:c_hi] < 0)
            d += miss
        tmp = np.empty_like(d)
        for j, row in enumerate(self.num_t):
            qv = q.num[rows, j][:, None]
            np.subtract(qv, row[None, c_lo:c_hi], out=tmp)
            np.abs(tmp, out=tmp)
            if self.num_nan[j] or np.isnan(qv).any():
                tmp[np.isnan(tmp)] = 1.0
            d += tmp
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


def kneighbors(cand: MixedMatrix, queries: MixedMatrix, k: int, rng: np.random.Generator,
               n_jobs: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Indices (into ``cand``) and distances of the ``k`` nearest candidates of every query (exact).

    Each block of queries visits the candidate tiles from the lowest bound up and stops when no query of the
    block can find a closer candidate in the tiles left. ``n_jobs`` threads share the query blocks (numpy
    releases the GIL). Ties are broken by a random permutation of the candidates drawn from ``rng``.
    """
    n, nq = cand.n, queries.n
    k = min(k, n)
    rank = np.empty(n, dtype=np.int64)
    rank[rng.permutation(n)] = np.arange(n)  # tie-break order
    by_rank = np.argsort(rank)  # rank -> candidate index
    # sort by categorical values, most diverse column first, so that tiles are homogeneous
    cols = sorted(range(cand.cat.shape[1]), key=lambda j: -cand.cardinality[j])
    order = np.lexsort((rank, *[cand.cat[:, j] for j in reversed(cols)]))
    tile_of = np.arange(n) // TILE
    order = order[np.lexsort((rank[order], tile_of))]  # within a tile by rank: position breaks ties
    ordered = MixedMatrix(cand.num[order], cand.cat[order], cand.cardinality)
    dist = _Distances(ordered)
    ranks = rank[order]
    tiles = [(lo, min(lo + TILE, n)) for lo in range(0, n, TILE)]
    bounds = _tile_bounds(ordered.cat, cand.cardinality, tiles, queries.cat)
    q_order = np.lexsort([queries.cat[:, j] for j in reversed(cols)]) if cols else np.arange(nq)
    blocks = [q_order[lo:lo + QUERY_BLOCK] for lo in range(0, nq, QUERY_BLOCK)]
    idx = np.empty((nq, k), dtype=np.int64)
    out = np.empty((nq, k), dtype=np.float32)

    def work(rows: np.ndarray) -> None:
        lb = bounds[rows]  # (block, tiles)
        best_d = np.full((rows.size, k), np.inf, dtype=np.float32)
        best_r = np.full((rows.size, k), n, dtype=np.int64)
        for t in np.argsort(lb.min(axis=0), kind="stable"):
            if not (lb[:, t] <= best_d[:, -1]).any():
                continue
            lo, hi = tiles[t]
            pos, dd = _select(dist.block(queries, rows, lo, hi), min(k, hi - lo))
            cand_d = np.concatenate([best_d, dd], axis=1)
            cand_r = np.concatenate([best_r, ranks[lo + pos]], axis=1)
            keep = np.lexsort((cand_r, cand_d), axis=1)[:, :k]
            best_d = np.take_along_axis(cand_d, keep, axis=1)
            best_r = np.take_along_axis(cand_r, keep, axis=1)
        out[rows] = best_d
        idx[rows] = by_rank[best_r]

    if n_jobs > 1 and len(blocks) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            list(pool.map(work, blocks))
    else:
        for b in blocks:
            work(b)
    return idx, out
