"""Singling-out risk after anonymeter (Giomi et al., "A Unified Framework for Quantifying Privacy Risk in
Synthetic Data", PoPETs 2023), with Cohen & Nissim's notion of predicate singling out (PNAS 2020).

The attacker reads the released table and writes predicates that match exactly one of its rows
("the only 71-year-old woman from Yugoslavia"). Each predicate is then checked on the original table: it
singles out a real person when it matches exactly one original row. The same predicates checked on a control
population (real people *not* in the release) measure what any predicate built from the population's
distribution would achieve; the risk is the excess over that (see ``reid.anonymeter_stats``).

* ``univariate``: predicates on one column — a value that occurs once, the minimum or maximum of a numeric
  column, the only missing value.
* ``multivariate``: a random record of the release and ``n_cols`` random columns; categorical columns must equal
  the record's value, numeric ones are at least (above the median) or at most (below it) the record's value.
  ``reid.singling_search`` builds a uniform sample of all such queries that single out, as anonymeter's
  rejection loop does, but enumerates them all when that is cheaper, so it never stops short of queries that
  exist; only a search too large to enumerate can run short, and then says so (``params.ran_short``).
* scored queries: where every singling-out query of the release is enumerated (univariate always, multivariate
  within ``EXHAUSTIVE_CELLS``), all of them are checked on the original and the control
  (``reid.singling_score``): the exact rates that anonymeter's random sample of ``n_attacks`` estimates, with
  ``n`` = the number of queries (``params.scored``: ``all``); else a sample of ``n_attacks`` (``sample``).
* baseline: ``n_attacks`` random predicates (random columns, values and operators), checked on the original.

When the control population is smaller or larger than the original, the control successes are rescaled to the
original's size. ``control_correction="anonymeter"`` reproduces what anonymeter 1.1.0 computes (it fits the
Cohen–Nissim model to the number of *queries* rather than of successes, which amounts to scaling by about
n_control / n_original); ``"fit"`` fits the model to measured successes on control subsamples (the paper's
method); ``"none"`` does not rescale.

How to read it: 0 — what the release lets one single out is what the population lets anyone single out; values
near 1 — almost every rare combination in the release is a real person's.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.optimize import curve_fit

from reid.anonymeter_stats import AttackCounts, attack_metrics
from reid.queries import (
    EQ,
    GE,
    ISNULL,
    KIND_BOOL,
    KIND_NUM,
    LE,
    NE,
    NOTNULL,
    Encoded,
    Queries,
    count_matches,
    encode_tables,
)
from reid.result import Metric
from reid.singling_score import pool_match_counts
from reid.singling_search import (
    EXHAUSTIVE_CELLS,
    Search,
    column_medians,
    multivariate_queries,
    query_of,
    random_subsets,
    singling_pool,
)

__all__ = ["multivariate_queries", "random_queries", "singling_out", "univariate_queries"]

Mode = Literal["univariate", "multivariate"]
Correction = Literal["anonymeter", "fit", "none"]
Scorer = Callable[[Encoded], np.ndarray]  # table -> which queries single out one of its rows


def univariate_queries(enc: Encoded, n_queries: int | None, rng: np.random.Generator) -> Queries:
    """Rare values, extreme bounds and lone missing values of each column that single out in ``enc``.

    In random order; the first ``n_queries`` of them, or all with None.
    """
    cols: list[int] = []
    ops: list[int] = []
    vals: list[float] = []
    for j, x in enumerate(enc.x):
        nan = np.isnan(x)
        if int(nan.sum()) == 1:
            cols.append(j)
            ops.append(ISNULL)
            vals.append(math.nan)
        if enc.kinds[j] == KIND_NUM and not nan.all():
            cols += [j, j]
            ops += [LE, GE]
            vals += [float(np.nanmin(x)), float(np.nanmax(x))]
        uniq, cnt = np.unique(x[~nan], return_counts=True)
        rare = uniq[cnt == 1]
        cols += [j] * rare.size
        ops += [EQ] * rare.size
        vals += rare.tolist()
    q = Queries(np.array(cols, np.int32)[:, None], np.array(ops, np.int8)[:, None],
                np.array(vals, np.float64)[:, None])
    q = q.take(rng.permutation(len(q)))
    hits = count_matches(enc, q, stop_above=1) == 1
    return q.take(np.flatnonzero(hits)[:n_queries])  # [:None] keeps all


def random_queries(enc: Encoded, n_queries: int, n_cols: int, rng: np.random.Generator) -> Queries:
    """The baseline attacker: random columns, random values of those columns, random operators."""
    d = enc.x.shape[0]
    n_cols = min(n_cols, d)
    cols = random_subsets(rng, n_queries, d, n_cols)
    vals = np.empty(cols.shape)
    ops = np.empty(cols.shape, dtype=np.int8)
    u = rng.random(cols.shape)
    op_draw = rng.random(cols.shape)
    for j in range(d):
        at = cols == j
        if not at.any():
            continue
        x = enc.x[j]
        uniq = np.unique(x[~np.isnan(x)])
        if np.isnan(x).any():
            uniq = np.append(uniq, np.nan)
        vals[at] = uniq[np.minimum((u[at] * uniq.size).astype(np.int64), uniq.size - 1)]
        if enc.kinds[j] == KIND_NUM:
            ops[at] = np.minimum((op_draw[at] * 6).astype(np.int64), 5)  # EQ NE GT LT GE LE
        else:
            ops[at] = np.where(op_draw[at] < 0.5, EQ, NE)
            if enc.kinds[j] == KIND_BOOL:  # anonymeter: `col` or `~col`, whatever the value drawn
                vals[at] = np.where(np.isnan(vals[at]), np.nan, 1.0)
    null = np.isnan(vals)
    ops[null] = np.where(ops[null] == EQ, ISNULL, NOTNULL)
    return Queries(cols, ops, vals)


def _cohen_nissim(n: np.ndarray, w_eff: float, norm: float) -> np.ndarray:
    """norm × ∫₀^w n·w'·(1−w')^(n−1) dw' (probability that a query of weight ≤ w singles out in n rows)."""
    return norm * (1.0 - (n * w_eff + 1.0) * (1.0 - w_eff) ** n) / (n + 1.0)


def _size_correction(sizes: np.ndarray, successes: np.ndarray, n_ori: int, n_control: int) -> float:
    w0 = 1.0 / sizes.max()
    norm0 = 1.0 / float(_cohen_nissim(np.array([sizes.max()], float), w0, 1.0)[0])
    popt, _ = curve_fit(_cohen_nissim, sizes.astype(float), successes.astype(float), bounds=(0, (1, np.inf)),
                        p0=(w0, norm0))
    at = _cohen_nissim(np.array([n_ori, n_control], float), *popt)
    return float(at[0] / at[1])


def control_correction(control: Encoded, queries: Queries, n_ori: int, how: Correction,
                       rng: np.random.Generator, singles: Scorer | None = None) -> float:
    """Factor rescaling control successes from the control's size to the original's.

    ``singles(table)`` tells which of ``queries`` single out in a table (default: ``count_matches``).
    """
    n_c = control.n
    if how == "none" or n_c == n_ori or len(queries) == 0:
        return 1.0
    sizes = np.repeat(np.linspace(min(1000, n_c), n_c, 10).astype(int), 5)
    if how == "anonymeter":
        successes = np.full(sizes.size, float(len(queries)))  # what anonymeter 1.1.0 records
    else:
        successes = np.empty(sizes.size)
        for i, s in enumerate(sizes):  # 50 subsamples; each counted for all queries at once
            sub = Encoded(control.x[:, rng.choice(n_c, size=s, replace=False)], control.kinds)
            hits = singles(sub) if singles is not None else count_matches(sub, queries, stop_above=1) == 1
            successes[i] = float(hits.sum())
    return _size_correction(sizes, successes, n_ori, n_c)


def _exhaustive_pool(e_syn: Encoded, mode: Mode, n_cols: int, rng: np.random.Generator,
                     exhaustive_cells: int) -> tuple[Queries, Scorer] | None:
    """Every singling-out query of the release and a function counting, for a table, how many single out in it.

    None when the multivariate enumeration exceeds ``exhaustive_cells`` (record, subset) pairs.
    """
    if mode == "univariate":
        uni = univariate_queries(e_syn, None, rng)
        return uni, lambda enc: count_matches(enc, uni, stop_above=1) == 1
    d, n = e_syn.x.shape
    m = min(n_cols, d)
    if math.comb(d, m) * n > exhaustive_cells:
        return None
    med = column_medians(e_syn)
    pool = singling_pool(e_syn, m, med)
    sizes = np.array([r.size for r in pool.rows], np.int64)
    rows = np.concatenate([np.empty(0, np.int64), *pool.rows])
    q = query_of(e_syn, med, rows, pool.subsets[np.repeat(np.arange(len(pool.rows)), sizes)])
    return q, lambda enc: pool_match_counts(e_syn, enc, med, pool) == 1


def singling_out(ori: pl.DataFrame, syn: pl.DataFrame, control: pl.DataFrame | None = None, *,
                 mode: Mode = "multivariate", n_attacks: int = 500, n_cols: int = 3, seed: int = 0,
                 max_attempts: int | None = 10_000_000, correction: Correction = "anonymeter",
                 score_all_queries: bool = True, exhaustive_cells: int = EXHAUSTIVE_CELLS) -> list[Metric]:
    """Singling-out risk of releasing ``syn`` for the people in ``ori`` (anonymeter's method, vectorized).

    All columns of ``syn`` are used; ``ori`` and ``control`` must have them. Duplicate rows are dropped first,
    as anonymeter does.

    Scored queries. anonymeter checks a uniform random sample of ``n_attacks`` singling-out queries of the
    release; its attack and control rates estimate the share of *all* those queries that single out a record of
    the original and of the control. Where every such query can be enumerated (always for univariate queries;
    for multivariate ones when there are at most ``exhaustive_cells`` (record, column subset) pairs) and
    ``score_all_queries`` is true, all of them are scored against the original and the control: the exact
    rates, ``n`` = the number of queries (``params.scored = "all"``, ``queries_available``). The attack and
    control rates are then taken on the same queries, and the risk ``(attack − control) / (1 − control)`` is
    the value anonymeter's figure scatters around. The baseline (random queries) stays at ``n_attacks``. A
    release without any singling-out query scores as anonymeter would: ``n_attacks`` attacks, all failures
    (risk 0 — exact, no attacker can single anyone out with these queries).

    Otherwise (``score_all_queries=False`` for exact parity with anonymeter, or a multivariate search too large
    to enumerate) a sample of ``n_attacks`` queries is scored (``scored = "sample"``) and ``n`` is ``n_attacks``
    even when fewer queries could be generated (anonymeter's convention). ``params``: ``queries_built`` of
    ``queries_requested``; ``ran_short`` is true when fewer were built although more may exist (the figure
    understates: treat it as not measured); ``queries_available`` is the number of singling-out queries the
    release allows when they were enumerated (``search: exhaustive``), None after a sampled search; ``attempts``
    counts candidates drawn one by one. ``max_attempts`` bounds the sampled search only (anonymeter's default,
    ten million).
    """
    start = time.perf_counter()
    if mode not in ("univariate", "multivariate"):
        raise ValueError(f"mode: must be univariate or multivariate, not {mode!r}")
    rng = np.random.default_rng(seed)
    columns = list(syn.columns)
    tables = [syn.unique(maintain_order=True), ori.select(columns).unique(maintain_order=True)]
    if control is not None:
        tables.append(control.select(columns).unique(maintain_order=True))
    encs = encode_tables(tables, columns)
    e_syn, e_ori = encs[0], encs[1]
    k = 1 if mode == "univariate" else n_cols
    search: Search | None = None
    full = _exhaustive_pool(e_syn, mode, n_cols, rng, exhaustive_cells) if score_all_queries else None
    if full is not None:
        queries, singles = full
    else:
        if mode == "univariate":
            queries = univariate_queries(e_syn, n_attacks, rng)  # every candidate is checked: nothing is missed
        else:
            search = multivariate_queries(e_syn, n_attacks, n_cols, rng, max_attempts, exhaustive_cells)
            queries = search.queries
        sample = queries

        def singles(enc: Encoded) -> np.ndarray:
            return count_matches(enc, sample, stop_above=1) == 1
    n_scored = len(queries) if full is not None and len(queries) else n_attacks
    n_success = int(singles(e_ori).sum())
    base = random_queries(e_syn, n_attacks, k, rng)
    n_base = int((count_matches(e_ori, base, stop_above=1) == 1).sum())
    n_control, factor = None, None
    if control is not None:
        e_ctl = encs[2]
        raw = int(singles(e_ctl).sum())
        factor = control_correction(e_ctl, queries, e_ori.n, correction, rng, singles) if raw else 1.0
        n_control = raw * factor
    ran_short = search is not None and search.ran_short
    params: dict[str, Any] = {
        "mode": mode, "n_cols": k, "queries": len(queries), "queries_built": len(queries),
        "queries_requested": n_attacks, "ran_short": ran_short, "seed": seed, "rows_original": e_ori.n,
        "rows_released": e_syn.n, "rows_control": None if control is None else encs[2].n,
        "control_correction": correction, "correction_factor": factor,
        "scored": "all" if full is not None else "sample", "score_all_queries": score_all_queries,
        "queries_available": len(queries) if full is not None else None}
    if full is not None:
        params.update(search="exhaustive", attempts=0)
        if mode == "multivariate":
            params.update(max_attempts=max_attempts)
    elif search is not None:
        params.update(search="exhaustive" if search.exhaustive else "sampled", attempts=search.attempts,
                      queries_available=search.available, max_attempts=max_attempts)
    counts = AttackCounts(n_attacks=n_scored, n_success=n_success, n_baseline=n_base,
                          n_attacks_baseline=n_attacks, n_control=n_control,
                          n_attacks_control=n_scored if control is not None else None)
    return attack_metrics("singling_out", counts, params, time.perf_counter() - start)
