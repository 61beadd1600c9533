"""Linkability risk after anonymeter (Giomi et al., PoPETs 2023).

The attacker holds two datasets about the same people with different columns (``aux_a`` and ``aux_b``) and
wants to know which records of one belong to which records of the other. The release is the bridge: for each
target, the attacker looks up the ``n_neighbors`` records of the release closest to the target's ``aux_a``
values and the ``n_neighbors`` closest to its ``aux_b`` values; the two halves are linked when the two lists
share a record. The control population (real people not in the release) measures how often that happens
anyway; the baseline attacker links random records.

How to read it: 0 — the release links no more of its people's records than anyone's; 1 — every target whose
two halves could be linked was. Distances are anonymeter's mixed-type distance (``reid.neighbors``).
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from reid.anonymeter_stats import AttackCounts, attack_metrics
from reid.neighbors import encode_pair, kneighbors
from reid.result import Metric

__all__ = ["linkability", "links", "random_links"]


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


def _attack(targets: pl.DataFrame, syn: pl.DataFrame, aux_a: list[str], aux_b: list[str], n_neighbors: int,
            rng: np.random.Generator, n_jobs: int) -> np.ndarray:
    found = []
    for aux in (aux_a, aux_b):
        cand, q = encode_pair(syn.select(aux), targets.select(aux), aux)
        idx, _ = kneighbors(cand, q, n_neighbors, rng, n_jobs=n_jobs)
        found.append(idx)
    return links(found[0], found[1], n_neighbors)


def linkability(ori: pl.DataFrame, syn: pl.DataFrame, aux_a: list[str], aux_b: list[str],
                control: pl.DataFrame | None = None, *, n_attacks: int = 500, n_neighbors: int = 1,
                seed: int = 0, n_jobs: int = 2) -> list[Metric]:
    """Linkability risk of releasing ``syn`` for the people in ``ori``, anonymeter's method, vectorized.

    ``n_attacks`` targets are sampled without replacement from ``ori`` (and as many from ``control``); all of
    them when the table is smaller.
    """
    start = time.perf_counter()
    if not aux_a or not aux_b:
        raise ValueError("aux_a, aux_b: both auxiliary column sets must be non-empty")
    rng = np.random.default_rng(seed)
    n_ori = min(n_attacks, ori.height)
    targets = ori.sample(n_ori, seed=int(rng.integers(2**63)))
    success = int(_attack(targets, syn, aux_a, aux_b, n_neighbors, rng, n_jobs).sum())
    n_base = int(random_links(syn.height, n_ori, n_neighbors, rng).sum())
    n_ctl, n_control = None, None
    if control is not None:
        n_ctl = min(n_attacks, control.height)
        ctl_targets = control.sample(n_ctl, seed=int(rng.integers(2**63)))
        n_control = int(_attack(ctl_targets, syn, aux_a, aux_b, n_neighbors, rng, n_jobs).sum())
    params = {"aux_a": list(aux_a), "aux_b": list(aux_b), "n_neighbors": n_neighbors, "seed": seed,
              "rows_original": ori.height, "rows_released": syn.height,
              "rows_control": None if control is None else control.height}
    counts = AttackCounts(n_attacks=n_ori, n_success=success, n_baseline=n_base, n_attacks_baseline=n_ori,
                          n_control=n_control, n_attacks_control=n_ctl)
    return attack_metrics("linkability", counts, params, time.perf_counter() - start)
