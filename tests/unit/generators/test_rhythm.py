"""Personal rhythms: the mixture sampler puts sessions where each person's propensities say."""

from __future__ import annotations

import datetime as dt

import numpy as np

from generators import rhythm

START = dt.date(2026, 3, 2)  # a Monday
DAYS = 28


def _slots(evening: float, weekend: float, n: int = 200_000) -> np.ndarray:
    u = np.random.default_rng(1).random(n)
    return rhythm.human_slots(u, np.full(n, evening), np.full(n, weekend), START, DAYS, 0.075)


def test_zero_propensities_never_work_weekends_or_late_evenings() -> None:
    s = _slots(0.0, 0.0)
    assert s.min() >= 0 and s.max() < DAYS * 24
    assert not ((s // 24) % 7 >= 5).any()
    share_late = ((s % 24) >= 20).mean()
    full = _slots(1.0, 0.0)
    assert ((full % 24) >= 20).mean() > 3 * share_late  # the evening part only comes with the propensity


def test_weekend_share_follows_the_component_masses() -> None:
    comp = rhythm.components(START, DAYS, 0.075)
    mass = comp.sum(1)
    for w in (0.2, 1.0):
        s = _slots(0.0, w)
        expected = w * mass[2] / (mass[0] + w * mass[2])
        assert abs(((s // 24) % 7 >= 5).mean() - expected) < 0.01, (w, expected)


def test_lunch_dip_and_shift_distribution() -> None:
    s = _slots(0.0, 0.0)
    hod = np.bincount(s % 24, minlength=24)
    assert hod[12] < 0.7 * hod[11]
    shifts = rhythm.draw_shift(np.random.default_rng(2), 100_000)
    assert set(np.unique(shifts)) == set(rhythm.SHIFTS.tolist())
    assert abs((shifts == 0).mean() - rhythm.SHIFT_P[1]) < 0.01


def test_propensities_are_u_shaped_with_the_requested_mean() -> None:
    p = rhythm.draw_propensities(np.random.default_rng(3), 100_000, 0.3, 2.0)
    assert abs(p.mean() - 0.3) < 0.01
    assert (p < 0.05).mean() > 0.2 and (p > 0.7).mean() > 0.05
    assert (rhythm.draw_propensities(np.random.default_rng(3), 10, 0.0, 2.0) == 0).all()
