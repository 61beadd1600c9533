"""``BehaviourModel.even_starts``: systematic sampling of session starts (issue 8, synthetic releases)."""

from __future__ import annotations

import numpy as np

from generators.model import even_quantiles


def test_even_quantiles_spread_each_key_evenly_by_weight() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    key = rng.integers(0, 3, n)
    w = rng.integers(1, 40, n).astype(float)
    u = rng.random(n)
    q = even_quantiles(u, key, w)
    assert ((q >= 0) & (q < 1)).all()
    for k in range(3):
        m = key == k
        # the weight in each tenth of [0, 1) is a tenth of the key's total, up to one item's weight
        hist = np.bincount((q[m] * 10).astype(int), weights=w[m], minlength=10)
        assert np.abs(hist - w[m].sum() / 10).max() <= w.max()
        # the order within a key is the order of the uniforms (a random order): a monotone transform
        o = np.argsort(u[m])
        assert (np.diff(q[m][o]) > 0).all()
    # independent uniforms are far less even (the point of the option)
    iid = np.bincount((u[key == 0] * 10).astype(int), weights=w[key == 0], minlength=10)
    assert np.abs(iid - w[key == 0].sum() / 10).max() > 2 * w.max()
    assert even_quantiles(np.zeros(0), np.zeros(0, np.int64), np.zeros(0)).shape == (0,)
