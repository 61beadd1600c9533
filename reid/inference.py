"""Attribute-inference risk after anonymeter (Giomi et al., PoPETs 2023).

The attacker knows some columns of a target (``aux``) and wants its ``secret`` column. It finds the released
record closest to the target on ``aux`` (anonymeter's mixed-type distance, ``reid.neighbors``) and guesses
that record's secret. A guess is right when it equals the secret (or, for a numeric secret with
``regression=True``, is within ``tolerance`` relative error). The same attack on the control population
measures what the release teaches about anyone of that population — the statistical utility of the data;
only the excess over it is a privacy risk. The baseline guesses the secret of a random released record.

How to read it: 0 — the release predicts its own people's secrets no better than anyone's; 1 — every secret
that the control attack got wrong, the attack on the released people got right.

The neighbour, and the choice among equally close records, are anonymeter's (``reid.neighbors``); the
baseline's targets and guesses, the targets and the control records are drawn in anonymeter's order with its
sampler (``reid.linkability.sample_rows``), so that with numpy's global state seeded to ``seed`` just before,
anonymeter attacks the same records.
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl

from reid.anonymeter_stats import AttackCounts, attack_metrics
from reid.linkability import sample_rows
from reid.neighbors import encode_pair, kneighbors
from reid.result import Metric

__all__ = ["correct_guesses", "inference"]


def correct_guesses(guesses: pl.Series, secrets: pl.Series, regression: bool,
                    tolerance: float = 0.05) -> np.ndarray:
    """Which guesses are right: equal (or within ``tolerance`` relative error), or both missing."""
    g_null = guesses.is_null().to_numpy()
    s_null = secrets.is_null().to_numpy()
    if regression:
        g = guesses.cast(pl.Float64).to_numpy()
        s = secrets.cast(pl.Float64).to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = np.abs(g - s) / (g + 1e-12) <= tolerance  # anonymeter's relative difference
    else:
        ok = (guesses == secrets).fill_null(False).to_numpy()
    return ok | (g_null & s_null)


def _guess(targets: pl.DataFrame, syn: pl.DataFrame, aux: list[str], secret: str, n_jobs: int) -> pl.Series:
    cand, q = encode_pair(syn.select(aux), targets.select(aux), aux)
    idx, _ = kneighbors(cand, q, 1, n_jobs=n_jobs)
    return syn[secret].gather(idx[:, 0])


def inference(ori: pl.DataFrame, syn: pl.DataFrame, aux: list[str], secret: str,
              control: pl.DataFrame | None = None, *, n_attacks: int = 500, regression: bool = False,
              tolerance: float = 0.05, seed: int = 0, n_jobs: int = 2) -> list[Metric]:
    """Inference risk of ``secret`` from ``aux`` when ``syn`` is released, anonymeter's method, vectorized.

    As in anonymeter, ``regression`` defaults to exact matching even for numeric secrets. Seeds of 2**32 and
    more are taken modulo 2**32.
    """
    start = time.perf_counter()
    if secret in aux:
        raise ValueError(f"{secret}: the secret column cannot also be an auxiliary column")
    if not aux:
        raise ValueError("aux: at least one auxiliary column is needed")
    state = np.random.RandomState(seed % 2**32)  # anonymeter's sampler: pandas on numpy's global RandomState
    n_ori = min(n_attacks, ori.height)
    n_base = min(syn.height, n_ori)
    base_targets = sample_rows(ori, n_base, state)
    base_guess = sample_rows(syn, n_base, state)[secret]
    n_baseline = int(correct_guesses(base_guess, base_targets[secret], regression, tolerance).sum())
    targets = sample_rows(ori, n_ori, state)
    guess = _guess(targets, syn, aux, secret, n_jobs)
    n_success = int(correct_guesses(guess, targets[secret], regression, tolerance).sum())
    n_ctl, n_control = None, None
    if control is not None:
        n_ctl = min(n_attacks, control.height)
        ctl_targets = sample_rows(control, n_ctl, state)
        guess = _guess(ctl_targets, syn, aux, secret, n_jobs)
        n_control = int(correct_guesses(guess, ctl_targets[secret], regression, tolerance).sum())
    params = {"secret": secret, "aux": list(aux), "regression": regression, "seed": seed,
              "rows_original": ori.height, "rows_released": syn.height,
              "rows_control": None if control is None else control.height}
    if regression:
        params["tolerance"] = tolerance
    counts = AttackCounts(n_attacks=n_ori, n_success=n_success, n_baseline=n_baseline, n_attacks_baseline=n_base,
                          n_control=n_control, n_attacks_control=n_ctl)
    return attack_metrics("inference", counts, params, time.perf_counter() - start)
