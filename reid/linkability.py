"""Linkability risk after anonymeter (Giomi et al., PoPETs 2023).

The attacker holds two datasets about the same people with different columns (``aux_a`` and ``aux_b``) and
wants to know which records of one belong to which records of the other. The release is the bridge: for each
target, the attacker looks up the ``n_neighbors`` records of the release closest to the target's ``aux_a``
values and the ``n_neighbors`` closest to its ``aux_b`` values; the two halves are linked when the two lists
share a record. The control population (real people not in the release) measures how often that happens
anyway; the baseline attacker links random records.

How to read it: 0 — the release links no more of its people's records than anyone's; 1 — every target whose
two halves could be linked was. Distances, and the choice among equally close records, are anonymeter's
(``reid.neighbors``). Targets are drawn as anonymeter draws them (pandas' ``DataFrame.sample`` on numpy's
legacy ``RandomState``): with the global state seeded to ``seed`` just before, anonymeter attacks the same
targets and control records, and both tools count the same links.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from reid.anonymeter_stats import AttackCounts, attack_metrics
from reid.neighbors import NeighbourSearch, encode_pair
from reid.result import Metric

__all__ = ["linkability", "links", "random_links", "sample_rows"]


def links(idx_a: np.ndarray, idx_b: np.ndarray, n_neighbors: int) -> np.ndarray:
    """Per target: do its two neighbour lists (first ``n_neighbors`` of each) share a record?"""
    a, b = idx_a[:, :n_neighbors], idx_b[:, :n_neighbors]
    return (a[:, :, None] == b[:, None, :]).any(axis=(1, 2))


def random_links(n_released: int, n_attacks: int, n_neighbors: int, rng: np.random.Generator) -> np.ndarray:
    """The baseline attacker: two random lists of distinct records per target; do they intersect?"""
    k = min(n_neighbors, n_released)

    def draw() -> np.ndarray:
        out = rng.integers(0, n_released, size=(n_attacks, k))
        while True:  # redraw the (rare) rows with a repeated record, so that each list has k distinct ones
            s = np.sort(out, axis=1)
            bad = np.flatnonzero((np.diff(s, axis=1) == 0).any(axis=1))
            if bad.size == 0:
                return out
            out[bad] = rng.integers(0, n_released, size=(bad.size, k))

    return links(draw(), draw(), k)


def sample_rows(df: pl.DataFrame, n: int, state: np.random.RandomState) -> pl.DataFrame:
    """``n`` rows without replacement, as pandas' ``df.sample(n, random_state=state)`` picks and orders them."""
    return df[state.permutation(df.height)[:n]]


def _undecided(a: NeighbourSearch, b: NeighbourSearch) -> np.ndarray:
    """Targets whose link depends on which equidistant records anonymeter's quicksort keeps.

    A side's neighbours closer than its k-th are kept whatever the tie-break ("sure"). A target is decided when
    its two sure sets meet (linked anyway), or when only one side is tied and none of the other side's
    neighbours is as far as that side's k-th (the tied records can never be shared): not linked anyway.
    """
    rows = np.arange(a.idx.shape[0])[:, None]
    sure_a = ~a.tied[:, None] | (a.dist_k < a.dist_k[:, -1:])
    sure_b = ~b.tied[:, None] | (b.dist_k < b.dist_k[:, -1:])
    meet = (a.idx[:, :, None] == b.idx[:, None, :]) & sure_a[:, :, None] & sure_b[:, None, :]
    linked = meet.any(axis=(1, 2))
    reach_a = (a.pair_distances(np.broadcast_to(rows, b.idx.shape), b.idx) == a.dist_k[:, -1:]).any(axis=1)
    reach_b = (b.pair_distances(np.broadcast_to(rows, a.idx.shape), a.idx) == b.dist_k[:, -1:]).any(axis=1)
    open_ = (a.tied & b.tied) | (a.tied & reach_a) | (b.tied & reach_b)
    return open_ & ~linked


def _attack(targets: pl.DataFrame, syn: pl.DataFrame, aux_a: list[str], aux_b: list[str], n_neighbors: int,
            n_jobs: int) -> np.ndarray:
    found = []
    for aux in (aux_a, aux_b):
        cand, q = encode_pair(syn.select(aux), targets.select(aux), aux)
        found.append(NeighbourSearch(cand, q, n_neighbors, n_jobs))
    a, b = found
    todo = _undecided(a, b)
    a.resolve(todo)
    b.resolve(todo)
    return links(a.idx, b.idx, n_neighbors)


def linkability(ori: pl.DataFrame, syn: pl.DataFrame, aux_a: list[str], aux_b: list[str],
                control: pl.DataFrame | None = None, *, n_attacks: int = 500, n_neighbors: int = 1,
                seed: int = 0, n_jobs: int = 2) -> list[Metric]:
    """Linkability risk of releasing ``syn`` for the people in ``ori``, anonymeter's method, vectorized.

    ``n_attacks`` targets are sampled without replacement from ``ori`` (and as many from ``control``); all of
    them when the table is smaller. Seeds of 2**32 and more are taken modulo 2**32 (the legacy generator's range).
    """
    start = time.perf_counter()
    if not aux_a or not aux_b:
        raise ValueError("aux_a, aux_b: both auxiliary column sets must be non-empty")
    state = np.random.RandomState(seed % 2**32)  # anonymeter's sampler: pandas on numpy's global RandomState
    n_ori = min(n_attacks, ori.height)
    targets = sample_rows(ori, n_ori, state)
    success = int(_attack(targets, syn, aux_a, aux_b, n_neighbors, n_jobs).sum())
    n_base = int(random_links(syn.height, n_ori, n_neighbors, np.random.default_rng(seed)).sum())
    n_ctl, n_control = None, None
    if control is not None:
        n_ctl = min(n_attacks, control.height)
        ctl_targets = sample_rows(control, n_ctl, state)
        n_control = int(_attack(ctl_targets, syn, aux_a, aux_b, n_neighbors, n_jobs).sum())
    params = {"aux_a": list(aux_a), "aux_b": list(aux_b), "n_neighbors": n_neighbors, "seed": seed,
              "rows_original": ori.height, "rows_released": syn.height,
              "rows_control": None if control is None else control.height}
    counts = AttackCounts(n_attacks=n_ori, n_success=success, n_baseline=n_base, n_attacks_baseline=n_ori,
                          n_control=n_control, n_attacks_control=n_ctl)
    return attack_metrics("linkability", counts, params, time.perf_counter() - start)
