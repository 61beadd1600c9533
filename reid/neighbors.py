"""Nearest neighbours over mixed-type records, computed in numpy blocks.

The distance is anonymeter's Gower-like distance (Giomi et al., PoPETs 2023, after Gower, Biometrics 1971):
numerical columns contribute ``|a − b|`` after dividing by the column's range over both tables (so each
contributes at most 1), categorical columns contribute 1 when the values differ. Missing values contribute 1
(anonymeter counts 1 when both are missing; a single missing value is also counted as 1 here, where anonymeter
would produce NaN).

Unlike anonymeter's per-query loop, distances are computed for a block of queries against all candidates at
once: categorical mismatches of low-cardinality columns as one matrix product of one-hot encodings (BLAS), the
rest column by column. Ties are broken at random (a seeded permutation of the candidates), not by position.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["MixedMatrix", "encode_pair", "is_numeric", "kneighbors"]

ONE_HOT_MAX = 512  # categorical columns with more distinct values are compared directly
BLOCK_BYTES = 48 * 2**20  # size of one block of the distance matrix
GROUP = 32  # candidates per group in the top-k bound


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


def _one_hot(cat: np.ndarray, cols: list[int], offsets: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((cat.shape[0], width), dtype=np.float32)
    rows = np.arange(cat.shape[0])
    for k, j in enumerate(cols):
        codes = cat[:, j]
        ok = codes >= 0
        out[rows[ok], offsets[k] + codes[ok]] = 1.0
    return out


class _Distances:
    """Block-wise distance computation between fixed candidates and blocks of queries."""

    def __init__(self, cand: MixedMatrix):
        self.cand = cand
        self.low = [j for j, k in enumerate(cand.cardinality) if k <= ONE_HOT_MAX]
        self.high = [j for j, k in enumerate(cand.cardinality) if k > ONE_HOT_MAX]
        widths = np.array([cand.cardinality[j] for j in self.low], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(widths)[:-1]]) if len(widths) else widths
        self.width = int(widths.sum()) if len(widths) else 0
        self.cand_hot_t = (_one_hot(cand.cat, self.low, self.offsets, self.width).T.copy()
                           if self.low else None)
        self.num_t = cand.num.T.copy()  # (d_num, n) contiguous rows
        self.num_nan = [bool(np.isnan(cand.num[:, j]).any()) for j in range(cand.num.shape[1])]
        self.cat_t = cand.cat.T.copy()

    def block(self, q: MixedMatrix, lo: int, hi: int) -> np.ndarray:
        n = self.cand.n
        d = np.zeros((hi - lo, n), dtype=np.float32)
        if self.low:
            hot = _one_hot(q.cat[lo:hi], self.low, self.offsets, self.width)
            d += np.float32(len(self.low))
            d -= hot @ self.cand_hot_t  # number of matching low-cardinality columns
        for j in self.high:
            qc = q.cat[lo:hi, j][:, None]
            d += ~((qc == self.cat_t[j][None, :]) & (qc >= 0))
        tmp = np.empty_like(d)
        for j in range(q.num.shape[1]):
            qv = q.num[lo:hi, j][:, None]
            np.subtract(qv, self.num_t[j][None, :], out=tmp)
            np.abs(tmp, out=tmp)
            if self.num_nan[j] or np.isnan(qv).any():
                tmp[np.isnan(tmp)] = 1.0
            d += tmp
        return d


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
    """Indices (into ``cand``) and distances of the ``k`` nearest candidates of every query.

    Brute force, exact, in blocks of queries; ``n_jobs`` threads share the blocks (numpy releases the GIL).
    Ties are broken by a random permutation of the candidates drawn from ``rng``.
    """
    n = cand.n
    k = min(k, n)
    perm = rng.permutation(n)
    shuffled = MixedMatrix(cand.num[perm], cand.cat[perm], cand.cardinality)
    dist = _Distances(shuffled)
    nq = queries.n
    step = max(1, min(nq, BLOCK_BYTES // (4 * max(n, 1)) // 3))
    bounds = [(lo, min(lo + step, nq)) for lo in range(0, nq, step)]
    idx = np.empty((nq, k), dtype=np.int64)
    out = np.empty((nq, k), dtype=np.float32)

    def work(bound: tuple[int, int]) -> None:
        lo, hi = bound
        pos, dd = _select(dist.block(queries, lo, hi), k)
        idx[lo:hi] = perm[pos]
        out[lo:hi] = dd

    if n_jobs > 1 and len(bounds) > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            list(pool.map(work, bounds))
    else:
        for bnd in bounds:
            work(bnd)
    return idx, out
