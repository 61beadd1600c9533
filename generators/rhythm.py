"""When people work: a personal weekly rhythm drawn per person, sampled for all sessions at once.

A human's session-start intensity over the local hour of week is a mixture of three parts,

    weekday day(h)  +  evening_i * weekday evening(h)  +  weekend_i * weekend(h),

where ``evening_i`` and ``weekend_i`` are the person's propensities to work evenings and weekends, drawn from
Beta distributions (U-shaped: many people never work weekends, some often; Malmgren et al., PNAS 2008, and
the public activity logs of open-source developers, where about 11% of events fall on local weekends and 16%
after 19 h). The weekday day profile has a lunch dip at 12 h and a night floor (the local hour-of-day
histogram has a peak/trough ratio near 17 in real logs, not the ~30+ of office hours alone). A personal
shift of rhythm (mostly 0, a few an hour early, more an hour or two late) moves the whole profile.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np

# Local hour of day, 0..23. Night hours (0-6) are multiples of the night level.
_NIGHT_SHAPE = np.array([1.6, 1.2, 1.1, 1.0, 1.0, 1.0, 1.2])
_DAY = np.array([0, 0, 0, 0, 0, 0, 0, 0.08, 0.22, 0.70, 1.0, 1.0, 0.50, 0.85, 1.0, 0.95, 0.85, 0.65, 0.40,
                 0.20, 0.15, 0.12, 0.10, 0.08])
_EVENING = np.array([0.05, 0.02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.05, 0.25, 0.55, 0.75, 0.75,
                     0.55, 0.25])
_WEEKEND = np.array([0.08, 0.05, 0.03, 0.02, 0.02, 0.02, 0.03, 0.06, 0.15, 0.35, 0.6, 0.75, 0.7, 0.7, 0.8, 0.8,
                     0.75, 0.65, 0.55, 0.5, 0.5, 0.45, 0.35, 0.2])
# Personal shift of rhythm in hours and its probabilities (people start late more often than early).
SHIFTS = np.array([-1, 0, 1, 2])
SHIFT_P = np.array([0.10, 0.65, 0.17, 0.08])


def day_profile(night: float) -> np.ndarray:
    """Weekday day profile by local hour (24,), with the night hours at ``night`` times their shape."""
    d = _DAY.copy()
    d[:7] = night * _NIGHT_SHAPE
    return d


@functools.lru_cache(maxsize=16)
def components(start: dt.date, days: int, night: float) -> np.ndarray:
    """(3, days*24) intensity of the weekday-day, weekday-evening and weekend parts over the period's local
    hours (hour 0 = ``start`` 00:00 local)."""
    hours = np.arange(days * 24)
    hod = hours % 24
    weekend = (start.weekday() + hours // 24) % 7 >= 5
    return np.stack([np.where(weekend, 0.0, day_profile(night)[hod]),
                     np.where(weekend, 0.0, _EVENING[hod]),
                     np.where(weekend, _WEEKEND[hod], 0.0)])


def mean_profile(start: dt.date, days: int, weekend: float, night: float, evening: float) -> np.ndarray:
    """Intensity over the period's local hours for mean propensities (a population-level prior)."""
    return np.array([1.0, evening, weekend]) @ components(start, days, night)


def draw_propensities(rng: np.random.Generator, n: int, mean: float, concentration: float) -> np.ndarray:
    """``n`` propensities from Beta(mean*c, (1-mean)*c); c < 2 makes it U-shaped (never / often)."""
    if mean <= 0:
        return np.zeros(n)
    if mean >= 1:
        return np.ones(n)
    return rng.beta(mean * concentration, (1 - mean) * concentration, n)


def draw_shift(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` personal rhythm shifts in hours."""
    return SHIFTS[np.searchsorted(np.cumsum(SHIFT_P), rng.random(n) * (1 - 1e-12), side="right")]


def human_slots(u: np.ndarray, evening: np.ndarray, weekend: np.ndarray, start: dt.date, days: int,
                night: float) -> np.ndarray:
    """Local hour slot (0 .. days*24-1) of each session from one uniform ``u`` per session and the session
    owner's propensities: the part is chosen by ``u`` scaled to the owner's total intensity and the slot by
    the rest of ``u`` within that part (one uniform, no per-row Python)."""
    comp = components(start, days, night)
    hours = comp.shape[1]
    mass = comp.sum(1)
    w = np.stack([np.full(len(u), mass[0]), evening * mass[1], weekend * mass[2]], 1)
    cw = np.cumsum(w, 1)
    x = u * cw[:, -1]
    k = np.minimum((x[:, None] >= cw).sum(1), 2)
    below = np.where(k > 0, cw[np.arange(len(u)), np.maximum(k - 1, 0)], 0.0)
    v = np.clip((x - below) / np.maximum(w[np.arange(len(u)), k], 1e-300), 0.0, 1 - 1e-12)
    cum = np.cumsum(comp, 1)
    flat = (cum / cum[:, -1:] + np.arange(3)[:, None]).ravel()
    slot = np.searchsorted(flat, k + v, side="right") - k * hours
    return np.clip(slot, 0, hours - 1)
