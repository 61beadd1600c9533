"""The differentially private measurements of ``dp.synthesize``: zCDP accounting and Gaussian noise.

Privacy unit: the account. Every measurement is a vector of cells to which each account contributes either
one-hot (its attributes, its activity bin: one cell, L2 sensitivity 1) or a vector of its own counts
clipped to L2 norm 1 (its sessions' hours of week, products, action transitions, session lengths, gaps,
auth types and user-agent families: L2 sensitivity 1 whatever the account's activity; clipping per unit as
in Abadi et al., CCS 2016). Adding or removing one account therefore moves each measurement by at most 1 in
L2 norm, and by at most sqrt(cells an account can touch) in L1 norm.

The cells of every measurement are fixed by the code and the parameters, never by the data. Per measurement:

* ``accounts.*`` and ``activity.group_events_bin``: one-hot, one cell per account (sensitivity 1). Activity
  counts an account's events up to the contribution bound ``max_events_per_account`` (its group and bin of
  min(events, bound); octave bins, or half-octave ones when the budget's known noise allows, chosen from
  epsilon alone by :func:`activity_resolution`): the bins above the bound's are empty by construction, so the fit ignores
  them and no noise there can stand for thousands of events per synthetic account.
* ``sessions.hour_of_week``, ``sessions.product``, ``steps.gap_bin``, ``sessions.auth_ua``: the account's
  counts in its own row (its group or human/bot), clipped to L2 norm 1.
* ``sessions.split_rate``: one cell per human/bot row; an account with at least two kept events adds its
  rate of session starts beyond the first, (sessions - 1) / (events - 1) over its kept sessions, a number in
  [0, 1] (times a public per-row scale, clipped to [0, 1]; one cell, sensitivity 1). Under the generator's session model (each event after an account's first
  starts a new session with probability 1 / mean length, :func:`generators.behaviour.build_events`) each
  account's rate is an unbiased estimate of 1 / mean length, so the sum over accounts divided by the number
  of accounts with two or more events (from ``activity.group_events_bin``) estimates it; this replaced a
  histogram of session lengths whose lognormal fit, misspecified for that model, overstated the mean
  session length by about a fifth even without noise.
* ``steps.transition``: a person's transition counts (within a product, from a session's start ``^`` or
  from the previous action) *or* a bot's counts of actions after a session's first; the two blocks of cells
  are disjoint and an account writes only to the block of its own kind, so its one clipped vector still
  has L2 norm at most 1 (parallel composition within one Gaussian mechanism). The bots' block measures the
  same quantity as their row of ``steps.action``; the fit averages the two (inverse-variance weights).
* ``steps.action`` and ``sessions.entry``: the account's counts of actions after a session's first event,
  and of sessions' first actions, in its human/bot row, each clipped to L2 norm 1.

Accounting is zero-concentrated DP (Bun & Steinke, TCC 2016): the declared (epsilon, delta) is turned into
rho = (sqrt(ln(1/delta) + epsilon) - sqrt(ln(1/delta)))^2 (their Prop. 1.3, inverted); rho is split across
the measurements by fixed, data-independent weights (rho_i = rho * w_i / sum w, so the shares add up to rho
exactly; zCDP composes by adding rho), and measurement i gets Gaussian noise of standard deviation
sigma_i = Delta_2 / sqrt(2 rho_i) (their Prop. 1.6). The noise comes from Google's differential-privacy
library through python-dp (``pydp``: secure randomness), never from numpy.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from anonymizers.dp_stats import (
    ACCOUNT_TYPES,
    GROUPS,
    INDUSTRY_NAMES,
    ROLES,
    SIZE_LABELS,
    UA_FAMILIES,
    AccountStats,
)
from generators import geo
from generators.catalog import PRODUCTS, markov_chain
from generators.params import PLANS
from generators.population import AUTH_TYPES

ACTIVITY_OCTAVES = 20
RESOLUTIONS = (1, 2)
"""Bins per octave the activity histogram may use (the finest when its noise allows, see
:func:`activity_resolution`)."""


@functools.lru_cache(maxsize=len(RESOLUTIONS))
def activity_edges(resolution: int = 1) -> np.ndarray:
    """Events per account: bin 0 holds accounts without events, then bins of ``resolution`` per octave from
    1 to 2^20 (the last one open), on integer edges (ceil(2^(k / resolution)), repeats dropped: the bins of
    small counts hold one integer each). An account's events are counted up to ``max_events_per_account``.
    Resolution 1 gives the octave bins 1, 2, 4, ...; the edges of a resolution contain those of its divisors."""
    k = np.arange(0, ACTIVITY_OCTAVES * resolution + 1)
    return np.r_[0.5, np.unique(np.ceil(np.round(2.0 ** (k / resolution), 9)))]


ACTIVITY_EDGES = activity_edges(1)
"""The octave edges (resolution 1)."""

ACTIVITY_WEIGHT = 3.5
"""Budget weight of ``activity.group_events_bin`` (see :func:`specs`)."""
RESOLUTION_NOISE = 10.0
"""The activity histogram takes the finest resolution r whose noise, summed over the r bins that replace one
octave bin, stays at most this many accounts: sigma sqrt(r) <= RESOLUTION_NOISE (see
:func:`activity_resolution`)."""


def activity_resolution(rho: float) -> int:
    """Bins per octave of the activity histogram, from the budget alone (public, never from the data): the
    noise standard deviation of each bin is known in advance (sigma = 1 / sqrt(2 rho_activity)), and cutting
    an octave bin into r bins multiplies the noise on its total by sqrt(r) while it removes the error of
    drawing counts within a wide bin along an assumed shape. The rule, like the rank of the week profile
    chosen from the known noise (Gavish & Donoho), keeps that noise at most :data:`RESOLUTION_NOISE`
    accounts per octave: with delta = 1e-6 and the default weights, octave bins up to epsilon = 1 (sigma ~
    13), half-octave bins from epsilon = 2 (sigma ~ 6.6). In a one-off comparison on the default run (1M
    events, 11,500 active accounts; the resolution forced by hand, no repository command reproduces it)
    half-octave bins at epsilon = 1 raised the KS distance of events per account (0.0075 -> 0.009)
    and lowered it at epsilon = 8 (0.0050 -> 0.0027); quarter-octave bins did no better than half-octave
    ones at epsilon = 8 (cells of a few accounts fall under the fit's noise threshold), hence two choices."""
    if rho <= 0:
        return RESOLUTIONS[0]
    total = math.fsum(s.weight for s in specs())
    sigma = 1.0 / math.sqrt(2.0 * rho * ACTIVITY_WEIGHT / total)
    fit = [r for r in RESOLUTIONS if sigma * math.sqrt(r) <= RESOLUTION_NOISE]
    return max(fit) if fit else RESOLUTIONS[0]


def activity_top_bin(max_events: int | None, resolution: int = 1) -> int:
    """Index (among the bins from 1 event, as in :class:`anonymizers.dp_fit.Activity`) of the highest bin
    an account can reach when its events are counted up to ``max_events`` (the last bin when unbounded)."""
    edges = activity_edges(resolution)
    if max_events is None:
        return len(edges) - 2
    return int(np.searchsorted(edges, max_events, side="right")) - 2


GAP_EDGES = 2.0 ** (np.arange(-6, 33) / 2)
"""Seconds between consecutive events of a session: half-octave bins from 1/8 s to 2^16 s (ends open)."""
HUMAN_BOT = ("human", "bot")


def rho_from(epsilon: float, delta: float) -> float:
    """The zCDP rho whose conversion rho + 2 sqrt(rho ln(1/delta)) equals ``epsilon`` (Bun & Steinke 2016)."""
    log = math.log(1.0 / delta)
    return (math.sqrt(log + epsilon) - math.sqrt(log)) ** 2


def epsilon_from(rho: float, delta: float) -> float:
    """(epsilon, delta)-DP implied by rho-zCDP (Bun & Steinke 2016, Prop. 1.3)."""
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


Contributions = Callable[[AccountStats], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Spec:
    """One measurement: its cells (tuple keys), budget weight and how accounts contribute."""

    name: str
    cells: tuple[tuple, ...]
    weight: float
    contributions: Contributions
    """-> (account row, cell index, count) per (account, cell); one-hot when every account has one row of 1."""
    max_cells_per_account: int
    clipped: bool


def _grid(*axes: tuple) -> tuple[tuple, ...]:
    return tuple(np.ndindex(*(len(a) for a in axes))) if axes else ()


def _labelled(*axes: tuple) -> tuple[tuple, ...]:
    return tuple(tuple(a[i] for a, i in zip(axes, idx, strict=True)) for idx in _grid(*axes))


def _onehot(*cols: str, sizes: tuple[int, ...]) -> Contributions:
    def f(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes = [s.attrs[c].to_numpy().astype(np.int64) for c in cols]
        ok = np.all([(c >= 0) & (c < n) for c, n in zip(codes, sizes, strict=True)], axis=0)
        cell = np.ravel_multi_index([c[ok] for c in codes], sizes) if ok.any() else np.zeros(0, np.int64)
        rows = s.attrs["a"].to_numpy()[ok]
        return rows, cell, np.ones(len(rows))
    return f


@functools.lru_cache(maxsize=1)
def _tz_pairs() -> tuple[tuple[str, str], ...]:
    return tuple((c.code, tz) for c in geo.COUNTRIES for tz, _ in c.timezones)


def _country_tz(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    index = {(geo.COUNTRY_INDEX[c], geo.TZ_INDEX[tz]): i for i, (c, tz) in enumerate(_tz_pairs())}
    lut = np.full((len(geo.CODES), len(geo.TIMEZONES)), -1)
    for (ci, ti), i in index.items():
        lut[ci, ti] = i
    c = s.attrs["country"].to_numpy().astype(np.int64)
    tz = s.attrs["tz"].to_numpy().astype(np.int64)
    ok = (c >= 0) & (tz >= 0)
    cell = np.full(len(c), -1)
    cell[ok] = lut[c[ok], tz[ok]]
    keep = cell >= 0
    return s.attrs["a"].to_numpy()[keep], cell[keep], np.ones(int(keep.sum()))


def _activity(resolution: int) -> Contributions:
    """One-hot: the account's group and bin (:func:`activity_edges` at ``resolution``) of its events, counted
    up to the contribution bound (so the bins above the bound's are empty by construction, and the fit ignores
    them; see the docstring)."""
    edges = activity_edges(resolution)

    def f(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        events = s.attrs["events"].to_numpy()
        if s.max_events is not None:
            events = np.minimum(events, s.max_events)
        b = np.clip(np.searchsorted(edges, events, side="right") - 1, 0, len(edges) - 1)
        g = s.attrs["group"].to_numpy().astype(np.int64)
        return s.attrs["a"].to_numpy(), g * len(edges) + b, np.ones(len(b))
    return f


def _per_session(col: str, size: int, by: str) -> Contributions:
    """Counts of the account's kept sessions per value of ``col`` (``how``, ``product``, ...), by group."""
    def f(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = s.sessions["a"].to_numpy().astype(np.int64)
        v = s.sessions[col].to_numpy().astype(np.int64)
        return _count(a, _row_of(s, a, by) * size + v, v >= 0)
    return f


def _row_of(s: AccountStats, a: np.ndarray, by: str) -> np.ndarray:
    g = s.attrs["group"].to_numpy().astype(np.int64)[a]
    return (g == 3).astype(np.int64) if by == "human_bot" else g


def _count(a: np.ndarray, cell: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not ok.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    df = pl.DataFrame({"a": a[ok], "c": cell[ok]}).group_by("a", "c").agg(pl.len().alias("n")).sort("a", "c")
    return df["a"].to_numpy(), df["c"].to_numpy(), df["n"].to_numpy().astype(np.float64)


def _auth_ua(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = s.sessions["a"].to_numpy().astype(np.int64)
    g = _row_of(s, a, "group")
    width = len(AUTH_TYPES) + len(UA_FAMILIES)
    auth = s.sessions["auth"].to_numpy().astype(np.int64)
    ua = s.sessions["ua"].to_numpy().astype(np.int64)
    return _count(np.r_[a, a], np.r_[g * width + auth, g * width + len(AUTH_TYPES) + ua], np.r_[auth >= 0, ua >= 0])


SPLIT_SCALE = (1.0, 10.0)
"""Public scale of ``sessions.split_rate`` per human/bot row: a bot's rate (~1/40) is multiplied by 10 before
the clip to [0, 1], so its cell carries ten times the signal under the same noise; only bots whose sessions
average fewer than 10 events are clipped (rare: bots run long bursts), which biases their rate down a little."""


def _split_rate(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sessions - 1) / (events - 1) of each account's kept sessions (full lengths), times its row's
    :data:`SPLIT_SCALE`, clipped to [0, 1], in its human/bot cell; accounts with fewer than two kept events
    add nothing."""
    df = s.sessions.group_by("a").agg(n=pl.len(), e=pl.col("length").cast(pl.Int64).sum()) \
        .filter(pl.col("e") >= 2).sort("a")
    a = df["a"].to_numpy().astype(np.int64)
    rate = (df["n"].to_numpy() - 1) / (df["e"].to_numpy() - 1)
    row = _row_of(s, a, "human_bot")
    return a, row, np.clip(rate.astype(np.float64) * np.asarray(SPLIT_SCALE)[row], 0.0, 1.0)


def _binned(frame: str, col: str, edges: np.ndarray) -> Contributions:
    def f(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        df = getattr(s, frame)
        a = df["a"].to_numpy().astype(np.int64)
        b = np.clip(np.searchsorted(edges, df[col].to_numpy(), side="right") - 1, 0, len(edges) - 1)
        return _count(a, _row_of(s, a, "human_bot") * len(edges) + b, np.ones(len(a), bool))
    return f


@functools.lru_cache(maxsize=1)
def transition_cells() -> tuple[tuple[str, str, str], ...]:
    """Per product: (product, previous action or ``^`` at a session's start, action), within the product."""
    ch = markov_chain()
    out = []
    for p, prod in enumerate(PRODUCTS):
        states = [i for i in range(len(ch.states)) if ch.state_product[i] == p]
        out += [(prod, "^", ch.states[j]) for j in states]
        out += [(prod, ch.states[i], ch.states[j]) for i in states for j in states]
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _transition_lut() -> np.ndarray:
    """(previous state + 1, state) -> cell index within a row (-1: not a within-product pair)."""
    ch = markov_chain()
    n = len(ch.states)
    lut = np.full((n + 1, n), -1)
    k = 0
    for p in range(len(PRODUCTS)):
        states = [i for i in range(n) if ch.state_product[i] == p]
        for j in states:
            lut[0, j] = k
            k += 1
        for i in states:
            for j in states:
                lut[i + 1, j] = k
                k += 1
    return lut


def _transitions(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """People: their action transitions. Bots: their actions after a session's first (any previous one), in
    a block of cells of their own. Bots are modelled by action mixes (their few, sticky transitions would
    leave every transition cell under the noise), and since no account touches both blocks this second
    measurement of the bots' mix costs them nothing more (parallel composition within one vector)."""
    a = s.steps["a"].to_numpy().astype(np.int64)
    prev = s.steps["prev"].to_numpy().astype(np.int64)
    state = s.steps["state"].to_numpy().astype(np.int64)
    bot = _row_of(s, a, "human_bot") == 1
    cell = np.where(bot, np.where(prev >= 0, len(transition_cells()) + state, -1), _transition_lut()[prev + 1, state])
    return _count(a, cell, cell >= 0)


def _actions(*, first: bool) -> Contributions:
    """Counts of the account's kept events per action: a session's first events (``first``) or the others
    (the unigram mix: bots' action model and the people's fallback row for transitions)."""
    def f(s: AccountStats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = s.steps["a"].to_numpy().astype(np.int64)
        state = s.steps["state"].to_numpy().astype(np.int64)
        at_start = s.steps["prev"].to_numpy() < 0
        ok = (state >= 0) & (at_start if first else ~at_start)
        return _count(a, _row_of(s, a, "human_bot") * len(markov_chain().states) + state, ok)
    return f


@functools.lru_cache(maxsize=len(RESOLUTIONS))
def specs(resolution: int = 1) -> tuple[Spec, ...]:
    """The fixed, data-independent workload (cells and weights never depend on the data; the activity bins'
    ``resolution`` is chosen from the budget alone, :func:`activity_resolution`)."""
    if resolution not in RESOLUTIONS:
        raise ValueError(f"activity resolution {resolution} is not one of {RESOLUTIONS}")
    ncodes = len(geo.CODES)
    hours = tuple(range(168))
    ch = markov_chain()
    actions = tuple((hb, PRODUCTS[p], a) for hb in HUMAN_BOT for p, a in zip(ch.state_product, ch.states,
                                                                              strict=True))
    return (
        Spec("accounts.plan_size", _labelled(PLANS, SIZE_LABELS), 0.3,
             _onehot("plan", "size", sizes=(len(PLANS), len(SIZE_LABELS))), 1, False),
        Spec("accounts.plan_org_country", _labelled(PLANS, geo.CODES), 0.3,
             _onehot("plan", "org_country", sizes=(len(PLANS), ncodes)), 1, False),
        Spec("accounts.plan_industry", _labelled(PLANS, INDUSTRY_NAMES), 0.2,
             _onehot("plan", "industry", sizes=(len(PLANS), len(INDUSTRY_NAMES))), 1, False),
        Spec("accounts.plan_opt_out", _labelled(PLANS, (False, True)), 0.2,
             _onehot("plan", "opt_out", sizes=(len(PLANS), 2)), 1, False),
        Spec("accounts.type_role", _labelled(ACCOUNT_TYPES, ROLES), 0.3,
             _onehot("type", "role", sizes=(len(ACCOUNT_TYPES), len(ROLES))), 1, False),
        Spec("accounts.country_timezone", _tz_pairs(), 0.8, _country_tz, 1, False),
        Spec("activity.group_events_bin", _labelled(GROUPS, tuple(range(len(activity_edges(resolution))))),
             ACTIVITY_WEIGHT, _activity(resolution), 1, False),
        # Weights: the action mix (TVD at epsilon = 1) is limited by the noise of steps.action and
        # steps.transition (the bots' few hundred accounts carry a fifth of the events), so those two took
        # 1.25 of weight from sessions.hour_of_week (4.0 -> 3.5) and sessions.split_rate (1.5 -> 0.75), whose
        # figures had room; the total, and so every other share, is unchanged.
        Spec("sessions.hour_of_week", _labelled(HUMAN_BOT, hours), 3.5,
             _per_session("how", 168, "human_bot"), 168, True),
        Spec("sessions.product", _labelled(GROUPS, PRODUCTS), 2.0,
             _per_session("product", len(PRODUCTS), "group"), len(PRODUCTS), True),
        Spec("steps.transition", (*(("human", *c) for c in transition_cells()),
                                  *(("bot", prod, "*", a) for _, prod, a in actions[len(ch.states):])), 2.75,
             _transitions, len(transition_cells()), True),
        Spec("steps.action", actions, 4.0, _actions(first=False), len(markov_chain().states), True),
        Spec("sessions.entry", actions, 1.0, _actions(first=True), len(markov_chain().states), True),
        Spec("sessions.split_rate", _labelled(HUMAN_BOT), 0.75, _split_rate, 1, False),
        Spec("steps.gap_bin", _labelled(HUMAN_BOT, tuple(range(len(GAP_EDGES)))), 0.5,
             _binned("gaps", "gap", GAP_EDGES), len(GAP_EDGES), True),
        Spec("sessions.auth_ua", tuple((g, k) for g in GROUPS for k in (*AUTH_TYPES, *UA_FAMILIES)), 0.4,
             _auth_ua, len(AUTH_TYPES) + len(UA_FAMILIES), True),
    )


def exact(spec: Spec, stats: AccountStats) -> np.ndarray:
    """The exact, contribution-bounded value of every cell (each account's vector clipped to L2 <= 1)."""
    a, cell, n = spec.contributions(stats)
    if spec.clipped and len(a):
        norm2 = np.bincount(a, weights=n * n, minlength=stats.n_accounts)
        n = n * np.minimum(1.0, 1.0 / np.sqrt(np.maximum(norm2[a], 1e-300)))
    return np.bincount(cell, weights=n, minlength=len(spec.cells)).astype(np.float64)


def gaussian(values: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` plus Gaussian noise of standard deviation ``sigma`` from python-dp (secure randomness)."""
    from pydp.algorithms.numerical_mechanisms import GaussianMechanism

    mech = GaussianMechanism.create_from_standard_deviation(float(sigma))
    add = mech.add_noise
    return np.fromiter((add(float(v)) for v in values), dtype=np.float64, count=len(values))


@dataclass(frozen=True)
class Measured:
    """One measurement as released to the fitting step: noisy cell values and the noise it carries."""

    name: str
    values: np.ndarray
    sigma: float
    rho: float


def split(rho: float, all_specs: tuple[Spec, ...]) -> dict[str, float]:
    """rho per measurement, in proportion to the fixed weights; the shares add up to ``rho``."""
    total = math.fsum(s.weight for s in all_specs)
    shares = {s.name: rho * s.weight / total for s in all_specs}
    last = all_specs[-1].name  # absorb rounding so that the shares sum to rho exactly (in floating point)
    shares[last] = rho - math.fsum(v for k, v in shares.items() if k != last)
    return shares


@dataclass(frozen=True, eq=False)
class ExactSums:
    """The exact, contribution-bounded value of every measurement's cells (no noise yet), over a set of
    accounts. Each account's contribution is clipped on its own, so the sums of disjoint sets of accounts
    (the buckets of the pipeline) add up to the sums over their union: :meth:`plus`."""

    values: Mapping[str, np.ndarray]
    n_accounts: int
    bounded_events: int
    resolution: int = 1
    """Bins per octave of the activity histogram (:func:`activity_edges`)."""

    def plus(self, other: ExactSums) -> ExactSums:
        if other.resolution != self.resolution:
            raise ValueError(f"activity resolutions differ ({self.resolution} vs {other.resolution})")
        return ExactSums({k: v + other.values[k] for k, v in self.values.items()},
                         self.n_accounts + other.n_accounts, self.bounded_events + other.bounded_events,
                         self.resolution)


def exact_all(stats: AccountStats, resolution: int = 1) -> ExactSums:
    """:func:`exact` of every measurement of the workload (activity bins at ``resolution`` per octave)."""
    return ExactSums({spec.name: exact(spec, stats) for spec in specs(resolution)}, stats.n_accounts,
                     stats.bounded_events, resolution)


def total(parts: list[ExactSums], resolution: int = 1) -> ExactSums:
    """The sums over disjoint sets of accounts (in a fixed order: the caller sorts them)."""
    if not parts:
        return ExactSums({spec.name: np.zeros(len(spec.cells)) for spec in specs(resolution)}, 0, 0, resolution)
    out = parts[0]
    for p in parts[1:]:
        out = out.plus(p)
    return out


def measure_all(stats: AccountStats | ExactSums, rho: float, *, noise: bool = True) -> dict[str, Measured]:
    """Every measurement of the workload; ``noise=False`` gives the exact bounded values (test hook). The
    activity bins' resolution is :func:`activity_resolution` of ``rho``; sums computed at another one are an
    error."""
    resolution = activity_resolution(rho)
    sums = stats if isinstance(stats, ExactSums) else exact_all(stats, resolution)
    if sums.resolution != resolution:
        raise ValueError(f"exact sums have activity resolution {sums.resolution}, rho needs {resolution}")
    all_specs = specs(resolution)
    shares = split(rho, all_specs)
    out: dict[str, Measured] = {}
    for spec in all_specs:
        sigma = 1.0 / math.sqrt(2.0 * shares[spec.name])
        values = np.asarray(sums.values[spec.name], dtype=np.float64)
        out[spec.name] = Measured(spec.name, gaussian(values, sigma) if noise else values, sigma, shares[spec.name])
    return out


def spec_map(resolution: int = 1) -> Mapping[str, Spec]:
    return {s.name: s for s in specs(resolution)}


def resolution_of(activity_cells: int) -> int:
    """The resolution of an activity histogram of ``activity_cells`` cells (all groups)."""
    for r in RESOLUTIONS:
        if activity_cells == len(GROUPS) * len(activity_edges(r)):
            return r
    raise ValueError(f"no activity resolution has {activity_cells} cells")
