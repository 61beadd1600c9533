"""Predicate queries over a table, encoded as arrays and counted in numpy blocks (used by singling out).

A query is a conjunction of up to ``m`` predicates ``column OP value``. A batch of queries is three (q, m)
arrays — column index, operator code, value — so that thousands of queries are counted against a table at
once, instead of one Polars expression per query as in anonymeter. Categorical values are codes of a
dictionary shared by all tables of one evaluation; booleans are 0/1; missing values are NaN. As in Polars, a
missing value never satisfies a comparison; only ``ISNULL``/``NOTNULL`` look at missingness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from reid.neighbors import is_numeric

__all__ = ["EQ", "GE", "GT", "ISNULL", "LE", "LT", "NE", "NOTNULL", "Encoded", "Queries", "count_matches",
           "encode_tables"]

EQ, NE, GT, LT, GE, LE, ISNULL, NOTNULL = range(8)
KIND_CAT, KIND_NUM, KIND_BOOL = 0, 1, 2
CELLS_PER_BLOCK = 4_000_000


@dataclass(frozen=True)
class Queries:
    cols: np.ndarray  # (q, m) int32; -1 marks an unused slot
    ops: np.ndarray  # (q, m) int8
    vals: np.ndarray  # (q, m) float64

    def __len__(self) -> int:
        return int(self.cols.shape[0])

    def take(self, index: np.ndarray) -> Queries:
        return Queries(self.cols[index], self.ops[index], self.vals[index])

    @staticmethod
    def concat(parts: list[Queries], m: int) -> Queries:
        if not parts:
            return Queries(np.empty((0, m), np.int32), np.empty((0, m), np.int8), np.empty((0, m)))
        return Queries(np.concatenate([p.cols for p in parts]), np.concatenate([p.ops for p in parts]),
                       np.concatenate([p.vals for p in parts]))

    def keys(self) -> np.ndarray:
        """One opaque key per query (same predicates, same key), for de-duplication."""
        mat = np.concatenate([self.cols.astype(np.float64), self.ops.astype(np.float64),
                              np.nan_to_num(self.vals, nan=-0.5)], axis=1)
        mat = np.ascontiguousarray(mat)
        return mat.view(np.dtype((np.void, mat.dtype.itemsize * mat.shape[1]))).ravel()


@dataclass(frozen=True)
class Encoded:
    """A table encoded for counting: ``x[j]`` is column j as float64 (NaN = missing)."""

    x: np.ndarray  # (d, n)
    kinds: np.ndarray  # (d,) KIND_*

    @property
    def n(self) -> int:
        return int(self.x.shape[1])


def _kind(dtype: pl.DataType) -> int:
    if dtype == pl.Boolean:
        return KIND_BOOL
    return KIND_NUM if is_numeric(dtype) else KIND_CAT


def encode_tables(tables: list[pl.DataFrame], columns: list[str]) -> list[Encoded]:
    """Encode several tables on ``columns`` with one shared dictionary per categorical column."""
    kinds = np.array([_kind(tables[0].schema[c]) for c in columns], dtype=np.int8)
    for t in tables[1:]:
        for c, k in zip(columns, kinds, strict=True):
            if _kind(t.schema[c]) != k:
                raise ValueError(f"{c}: column type differs between tables")
    sizes = [t.height for t in tables]
    xs = [np.empty((len(columns), n), dtype=np.float64) for n in sizes]
    for j, c in enumerate(columns):
        if kinds[j] == KIND_CAT:
            both = pl.concat([t[c].cast(pl.String) for t in tables])
            arr = (both.rank("dense").cast(pl.Float64) - 1.0).fill_null(float("nan")).to_numpy()
        else:
            arr = pl.concat([t[c].cast(pl.Float64) for t in tables]).fill_null(float("nan")).to_numpy()
        lo = 0
        for x, n in zip(xs, sizes, strict=True):
            x[j] = arr[lo:lo + n]
            lo += n
    return [Encoded(x, kinds) for x in xs]


def _apply(xs: np.ndarray, v: np.ndarray, op: int) -> np.ndarray:
    if op == EQ:
        return xs == v
    if op == NE:
        return (xs != v) & ~np.isnan(xs) & ~np.isnan(v)
    if op == GT:
        return xs > v
    if op == LT:
        return xs < v
    if op == GE:
        return xs >= v
    if op == LE:
        return xs <= v
    if op == ISNULL:
        return np.isnan(xs)
    if op == NOTNULL:
        return ~np.isnan(xs)
    raise ValueError(f"unknown operator code {op}")


def count_matches(table: Encoded, queries: Queries, stop_above: int | None = None) -> np.ndarray:
    """Number of rows of ``table`` matching each query.

    With ``stop_above`` a query is dropped once its count exceeds that number (its count is then only known to
    be larger): singling out needs to know "exactly one", and most queries match many rows in the first block.
    """
    nq = len(queries)
    if queries.cols.shape[1] == 1:
        return _count_single(table, queries)
    counts = np.zeros(nq, dtype=np.int64)
    active = np.arange(nq)
    lo, n = 0, table.n
    rows = 256 if stop_above is not None else CELLS_PER_BLOCK // max(nq, 1) + 1
    while lo < n and active.size:
        hi = min(n, lo + rows)
        mask = np.ones((active.size, hi - lo), dtype=bool)
        for j in range(queries.cols.shape[1]):
            cols = queries.cols[active, j]
            used = cols >= 0
            if not used.any():
                continue
            ops = queries.ops[active, j]
            vals = queries.vals[active, j]
            for op in np.unique(ops[used]):
                sel = np.flatnonzero(used & (ops == op))
                xs = table.x[cols[sel], lo:hi]
                mask[sel] &= _apply(xs, vals[sel, None], int(op))
        counts[active] += mask.sum(axis=1)
        if stop_above is not None:
            active = active[counts[active] <= stop_above]
            rows = max(rows, min(2 * rows, CELLS_PER_BLOCK // max(active.size, 1) + 1))
        lo = hi
    return counts


def _count_single(table: Encoded, queries: Queries) -> np.ndarray:
    """Exact counts of one-predicate queries by binary search in each sorted column."""
    counts = np.zeros(len(queries), dtype=np.int64)
    cols, ops, vals = queries.cols[:, 0], queries.ops[:, 0], queries.vals[:, 0]
    for j in np.unique(cols[cols >= 0]):
        at = np.flatnonzero(cols == j)
        x = table.x[j]
        s = np.sort(x[~np.isnan(x)])
        nn, nulls = s.size, x.size - s.size
        v = vals[at]
        left, right = np.searchsorted(s, v, "left"), np.searchsorted(s, v, "right")
        eq = np.where(np.isnan(v), 0, right - left)
        op = ops[at]
        out = np.select(
            [op == EQ, op == NE, op == GT, op == LT, op == GE, op == LE, op == ISNULL, op == NOTNULL],
            [eq, nn - eq, nn - right, left, nn - left, right, np.full(at.size, nulls), np.full(at.size, nn)])
        nan_v = np.isnan(v) & (op < ISNULL)
        out[nan_v] = 0  # a comparison with a missing value matches nothing
        counts[at] = out
    return counts
