"""From noisy measurements to a synthetic-population model (post-processing: no further privacy cost).

Everything here reads only the noisy measurements of :mod:`anonymizers.dp_measure` and public knowledge
(the catalog's products, actions and countries, the generator's priors), so by the post-processing property
of differential privacy (Dwork & Roth 2014, Prop. 2.1) the model — and every synthetic record sampled from
it — is as private as the measurements.

Noise handling: negative cells are set to 0, and cells below ``k`` noise standard deviations are treated as
empty (``k`` = 2 for conditional tables whose true support is sparse — transitions, product mixes —, 1 for
marginals; dense profiles are only clipped), so that the noise floor spread over structurally empty cells
does not bias the distributions. Session lengths and gaps are fitted by least squares as discretized
lognormals (the generator's own model of them); events per account are sampled from the cleaned histogram
around its mode (see :func:`_activity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from anonymizers.dp_measure import (
    GAP_EDGES,
    SPLIT_SCALE,
    Measured,
    activity_edges,
    activity_top_bin,
    resolution_of,
    transition_cells,
)
from anonymizers.dp_stats import ACCOUNT_TYPES, GROUPS, ROLES, UA_FAMILIES, group_of
from generators import geo
from generators.catalog import PERSONAS, PRODUCTS, markov_chain
from generators.model import BehaviourModel
from generators.population import AUTH_TYPES, P_ADMIN, P_BIZ, P_BOT, P_DEV, P_EXT

GROUP_PERSONAS = ((P_DEV, P_BIZ), (P_ADMIN,), (P_EXT,), (P_BOT,))
MIX_K = 1.0
"""Action mixes (dense within a product): cells below this many noise standard deviations count as empty."""
"""Personas of the generator each behaviour group stands for (members cover developers and business users)."""


@dataclass(frozen=True, eq=False)
class Activity:
    """Events per account of one group: ``n`` active accounts with bin probabilities ``bins`` over the bins
    of :func:`anonymizers.dp_measure.activity_edges` at ``resolution`` (from 1 event), and ``zero`` without
    events."""

    n: int
    zero: int
    bins: np.ndarray
    max_events: int | None = None
    """At most this many events per account (the contribution bound the histogram was measured under)."""
    resolution: int = 1
    """Bins per octave of ``bins``."""


@dataclass(frozen=True, eq=False)
class SynthModel:
    """The whole fitted model: behaviour tables plus the population's attribute and activity distributions."""

    behaviour: BehaviourModel
    activity: tuple[Activity, ...]           # per group
    plan_size: np.ndarray                    # (plans, size bands) account weights
    org_country_given_plan: np.ndarray       # (plans, countries)
    industry_given_plan: np.ndarray          # (plans, industries)
    opt_out_given_plan: np.ndarray           # (plans, 2)
    type_role: np.ndarray                    # (types, roles)
    country_tz: np.ndarray                   # (countries, time zones) joint weights of people's residence
    auth_given_group: np.ndarray             # (groups, auth types)
    ua_given_group: np.ndarray               # (groups, ua families)


def clean(v: np.ndarray, sigma: float, k: float) -> np.ndarray:
    """Noisy cells -> weights: below ``k`` standard deviations of the noise counts as empty."""
    return np.where(v > k * sigma, v, 0.0)


def rows(w: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Row-normalized weights; an empty row takes ``fallback`` (default: the column sums, else uniform)."""
    w = np.asarray(w, dtype=np.float64)
    fb = w.sum(0) if fallback is None else np.asarray(fallback, dtype=np.float64)
    if fb.sum() <= 0:
        fb = np.ones(w.shape[1])
    out = np.where(w.sum(1, keepdims=True) > 0, w, fb[None, :])
    return out / out.sum(1, keepdims=True)


def fit_lognormal(hist: np.ndarray, edges: np.ndarray, integer: bool = False,
                  max_mu: float | None = None) -> tuple[float, float, float]:
    """(mass, mu, sigma) of the discretized lognormal closest (least squares) to a noisy histogram whose bins
    start at ``edges`` (the first and last bins open); the grid covers the edges' range. With ``integer``,
    the data are counts drawn as max(1, round(LN)): bin b holds the integers in [edges[b], edges[b+1])."""
    lo, hi = np.log(max(edges[0], 0.5)), np.log(edges[-1])
    if max_mu is not None:
        hi = min(hi, max_mu)
    mus = np.linspace(lo, hi, 160)
    sigmas = np.linspace(0.1, 3.0, 59)
    p = _binned_lognormal(edges, mus, sigmas, integer)
    dot = (p * hist).sum(2)
    pp = (p * p).sum(2)
    mass = np.maximum(dot / np.maximum(pp, 1e-300), 0.0)
    sse = (hist * hist).sum() - np.where(dot > 0, dot * dot / np.maximum(pp, 1e-300), 0.0)
    i, j = np.unravel_index(int(np.argmin(sse)), sse.shape)
    return float(mass[i, j]), float(mus[i]), float(sigmas[j])


def fit_noisy(hist: np.ndarray, sigma: float, edges: np.ndarray, integer: bool = False,
              max_mu: float | None = None) -> tuple[float, float, float] | None:
    """A lognormal fitted to a noisy histogram: the shape from the cells above 2 noise standard deviations
    (the noise floor of empty cells would otherwise pull the fit to the ends of the range), the mass from
    the noisy cells where that shape has probability (unbiased). ``None`` when no cell rises above noise.
    The noise has mean 0, so least squares on the noisy cells is unbiased; used where the signal is strong
    (per-account L2-clipped histograms of many sessions)."""
    if clean(hist, sigma, 2.0).sum() <= 0:
        return None
    _, mu, s = fit_lognormal(hist, edges, integer, max_mu)
    cut = np.log(np.ceil(edges[1:]) - 0.5) if integer else np.log(edges[1:])
    cdf = np.r_[0.0, ndtr((cut - mu) / s), 1.0]
    p = np.diff(cdf)
    return max(0.0, float(hist[p > 2e-3].sum())), mu, s


def _activity(m: Measured, max_events: int | None = None) -> tuple[Activity, ...]:
    """Events per account per group, non-parametric: the noisy histogram (octave bins or finer, as the budget
    allowed), cells below 2 noise standard deviations emptied, and only the run of such cells around the
    group's largest cell kept (gaps of up to one octave of empty cells allowed); within the run the noisy values themselves (clipped at 0) are used. A noise spike
    away from the mass is thus ignored; the price is that thin tails are cut (the release errs on the small
    side). Accounts were counted up to the contribution bound ``max_events``: the bins above its bin are
    empty by construction and set to 0 (a noise spike there would stand for thousands of events per
    account: that, not the data, is what once inflated a release by half), and a synthetic account draws
    at most ``max_events`` events."""
    resolution = resolution_of(len(m.values))
    h = m.values.reshape(len(GROUPS), len(activity_edges(resolution)))
    top_bin = activity_top_bin(max_events, resolution)
    out = []
    for g in range(len(GROUPS)):
        zero = round(float(clean(h[g, :1], m.sigma, 2.0)[0]))
        strong = clean(h[g, 1:], m.sigma, 2.0)
        strong[top_bin + 1:] = 0.0
        if strong.sum() <= 0:
            out.append(Activity(0, zero, np.zeros(len(strong)), max_events, resolution))
            continue
        top = int(np.argmax(strong))
        keep = np.zeros(len(strong), bool)
        for step in (-1, 1):
            i, gap, last = top, 0, top
            while 0 <= i < len(strong) and gap <= resolution:   # up to one octave of empty cells
                gap = 0 if strong[i] > 0 else gap + 1
                last = i if strong[i] > 0 else last
                i += step
            lo_i, hi_i = sorted((top, last))
            keep[lo_i:hi_i + 1] = True
        # Inside the run the noisy values are kept as they are (clipped at 0): thresholding there would only
        # select upward noise, which in the top bins stands for many events each.
        w = np.where(keep, np.maximum(h[g, 1:], 0.0), 0.0)
        w[top_bin + 1:] = 0.0
        out.append(Activity(round(float(w.sum())), zero, w / w.sum(), max_events, resolution))
    return tuple(out)


def _binned_lognormal(edges: np.ndarray, mus: np.ndarray, sigmas: np.ndarray, integer: bool) -> np.ndarray:
    """(mu, sigma, bins) probabilities of the bins starting at ``edges`` (ends open) under LN(mu, sigma)."""
    cut = np.log(np.ceil(edges[1:]) - 0.5) if integer else np.log(edges[1:])
    cdf = ndtr((cut[None, None, :] - mus[:, None, None]) / sigmas[None, :, None])
    zeros = np.zeros((*cdf.shape[:2], 1))
    return np.diff(np.concatenate([zeros, cdf, zeros + 1.0], axis=2), axis=2)


def _behaviour(ms: dict[str, Measured]) -> BehaviourModel:
    n_pers, n_prod = len(PERSONAS), len(PRODUCTS)
    ch = markov_chain()
    n_states = len(ch.states)
    how_m = ms["sessions.hour_of_week"]
    raw_how = how_m.values.reshape(2, 168)
    # Denoised as a low-rank day-of-week x hour-of-day table (the singular pairs of the 7 x 24 noisy table
    # that rise above the noise, see _lowrank_week): a week is close to rank 2 (weekdays share a daily curve,
    # weekends have their own), and a rank-r table has r (31 - r) free values instead of 168, so the noise
    # averages out; the rank grows with epsilon (no noise: the table itself).
    # Then shrunk towards its mean (flat) by the share of its variation that the noise explains (James-Stein /
    # Wiener): a profile with little signal, e.g. a few hundred bots, would otherwise be mostly noise.
    how = np.stack([_shrink_week(low, how_m.sigma, rank) for low, rank in
                    (_lowrank_week(raw_how[k], how_m.sigma) for k in range(2))])
    # A profile whose total does not rise clearly above the noise takes the public prior: the generator's
    # workday profile for humans, flat for bots.
    prior = np.stack([_default_human_profile(), np.ones(168)])
    weak = raw_how.sum(1) < 3.0 * how_m.sigma * np.sqrt(168)
    how = np.where(weak[:, None] | (how.sum(1, keepdims=True) <= 0), prior, how)
    hour_of_week = np.stack([how[1] if k == P_BOT else how[0] for k in range(n_pers)])
    prod_m = ms["sessions.product"]
    prod = rows(clean(prod_m.values.reshape(len(GROUPS), n_prod), prod_m.sigma, MIX_K))
    product_mix = np.zeros((n_pers, n_prod))
    for g, group_personas in enumerate(GROUP_PERSONAS):
        product_mix[list(group_personas)] = prod[g]
    tr_m = ms["steps.transition"]
    n_tr = len(transition_cells())
    tr = clean(tr_m.values[:n_tr], tr_m.sigma, 2.0)   # people's transitions; then the bots' action mix
    transitions = np.zeros((n_pers, n_states, n_states))
    entry = np.zeros((n_pers, n_prod, n_states))
    index = {s: i for i, s in enumerate(ch.states)}
    same_product = ch.state_product[:, None] == ch.state_product[None, :]
    # Per group (people, bots): the action mix of each product after a session's first event, and of its
    # first events; a product without signal takes the other group's (never a self-loop, which would make
    # a rare action absorbing).
    act_m, ent_m = ms["steps.action"], ms["sessions.entry"]
    mix = np.zeros((2, n_prod, n_states))
    first = np.zeros((2, n_prod, n_states))
    # The bots' mix was measured twice (in steps.action and in the bots' block of steps.transition): the
    # inverse-variance weighted mean of the two has the smaller noise 1 / sqrt(1/s_a^2 + 1/s_t^2).
    wa, wt = act_m.sigma ** -2, tr_m.sigma ** -2
    acts = [act_m.values[:n_states], (wa * act_m.values[n_states:] + wt * tr_m.values[n_tr:]) / (wa + wt)]
    act_sigma = [act_m.sigma, (wa + wt) ** -0.5]
    # The bots' product mix, from a few hundred accounts, is noisy in sessions.product alone; their actions
    # (one product each) measure it a second time: pooled.
    product_mix[P_BOT] = pooled_shares(prod_m.values.reshape(len(GROUPS), n_prod)[GROUPS.index("bot")],
                                       prod_m.sigma, acts[1], act_sigma[1], ch.state_product)
    for hb in range(2):
        mix[hb, ch.state_product, np.arange(n_states)] = clean(acts[hb], act_sigma[hb], MIX_K)
        first[hb, ch.state_product, np.arange(n_states)] = clean(ent_m.values.reshape(2, n_states)[hb],
                                                                 ent_m.sigma, MIX_K)
    mix = np.where(mix.sum(2, keepdims=True) > 0, mix, mix.sum(0)[None])
    first = np.where(first.sum(2, keepdims=True) > 0, first, mix)
    norm_mix = mix / np.maximum(mix.sum(2, keepdims=True), 1e-300)
    norm_first = first / np.maximum(first.sum(2, keepdims=True), 1e-300)
    people = [P_DEV, P_BIZ, P_ADMIN, P_EXT]
    for k, (prod_name, prev, action) in enumerate(transition_cells()):
        p = PRODUCTS.index(prod_name)
        j = _state(index, ch.state_product, p, action)
        if prev == "^":
            entry[people, p, j] = tr[k]
        else:
            transitions[people, _state(index, ch.state_product, p, prev), j] = tr[k]
    # People's rows also get their product's action mix with a prior weight of 2 noise standard deviations: a
    # row that kept only one strong cell must not become absorbing. Bots: each action drawn from their mix
    # (the first from their first-action mix), whatever the previous one.
    for k in people:
        transitions[k] += 2.0 * tr_m.sigma * norm_mix[0][ch.state_product] * same_product
        entry[k] += 2.0 * tr_m.sigma * norm_first[0]
    transitions[P_BOT] = norm_mix[1][ch.state_product] * same_product
    entry[P_BOT] = norm_first[1]
    gap_m = ms["steps.gap_bin"]
    mean_events = np.zeros(n_pers)
    gap_median = np.zeros(n_pers)
    gap_sigma = np.zeros(n_pers)
    lengths = session_lengths(ms["sessions.split_rate"], ms["activity.group_events_bin"])
    for hb in range(2):
        # No signal (e.g. no bots): the generator's defaults, public priors (35 s, sigma 1.1).
        _, gmu, gs = fit_noisy(gap_m.values.reshape(2, -1)[hb], gap_m.sigma, GAP_EDGES) or \
            (0.0, np.log(35.0), 1.1)
        personas = [P_BOT] if hb == 1 else [P_DEV, P_BIZ, P_ADMIN, P_EXT]
        mean_events[personas] = lengths[hb]
        gap_median[personas] = float(np.exp(gmu))
        gap_sigma[personas] = gs
    return BehaviourModel(hour_of_week, product_mix, transitions, entry, mean_events, gap_median, gap_sigma,
                          even_starts=True)


PRIOR_MEAN_EVENTS = (14.0, 40.0)
"""Mean events per session of people and bots when nothing is measured: the generator's public defaults."""


def pooled_shares(sessions: np.ndarray, sigma_s: float, actions: np.ndarray, sigma_a: float,
                  state_product: np.ndarray) -> np.ndarray:
    """Product shares from two noisy measurements of one mix: per-product session counts ``sessions`` (noise
    ``sigma_s`` per cell) and per-action counts ``actions`` (``sigma_a`` per cell; summed within each product,
    so sigma_a sqrt(actions of the product)). Each becomes shares (clipped at 0, normalized by its noisy
    total, which is nearly exact beside a cell), with variance about sigma^2 / total^2; the two are averaged
    with inverse-variance weights per product and renormalized. Their scales differ (each account's vector
    is clipped on its own), shares do not: sessions of every product have the same length in the model, so
    a product's share of sessions is its share of events. A side with no positive total is left out; both:
    uniform."""
    n_prod = len(sessions)
    a = np.bincount(state_product, weights=np.asarray(actions, dtype=np.float64), minlength=n_prod)
    var_a = sigma_a ** 2 * np.bincount(state_product, minlength=n_prod)
    est, prec = np.zeros(n_prod), np.zeros(n_prod)
    for v, var in ((np.asarray(sessions, dtype=np.float64), np.full(n_prod, sigma_s ** 2)), (a, var_a)):
        tot = float(np.maximum(v, 0.0).sum())
        if tot <= 0:
            continue
        w = tot * tot / np.maximum(var, 1e-300)
        est += w * np.maximum(v, 0.0) / tot
        prec += w
    if prec.sum() <= 0:
        return np.full(n_prod, 1.0 / n_prod)
    out = est / np.maximum(prec, 1e-300)
    return out / out.sum() if out.sum() > 0 else np.full(n_prod, 1.0 / n_prod)


def session_lengths(rate: Measured, activity: Measured) -> tuple[float, float]:
    """Mean events per session (people, bots) from ``sessions.split_rate``: the summed per-account rates of
    session starts beyond the first (divided by the row's public scale), R ~ N(n p, (sigma / scale)^2), over the n accounts with two or more events (the
    noisy activity bins from 2 events up), combined with the public prior p0 = 1 / PRIOR_MEAN_EVENTS taken as
    N(p0, (p0 / 2)^2) (posterior mean of p; the prior matters only where n p is not well above the noise, e.g. a
    few hundred bots at small epsilon). Mean length = 1 / p, at least 1.5."""
    act = activity.values.reshape(len(GROUPS), -1)
    two_plus = act[:, 2:].sum(1)   # unbiased (noisy cells not clipped one by one)
    n = (max(float(two_plus[:3].sum()), 0.0), max(float(two_plus[3]), 0.0))
    out = []
    for hb in range(2):
        p0 = 1.0 / PRIOR_MEAN_EVENTS[hb]
        r = float(rate.values[hb]) / SPLIT_SCALE[hb]          # ~ N(n p, (sigma / scale)^2)
        sd = rate.sigma / SPLIT_SCALE[hb]
        if sd <= 0:
            p = r / n[hb] if n[hb] > 0 and r > 0 else p0
        else:
            p = (n[hb] * r / sd ** 2 + 4.0 / p0) / (n[hb] ** 2 / sd ** 2 + 4.0 / p0 ** 2)
        out.append(float(np.clip(1.0 / p, 1.5, 1e4)) if p > 0 else PRIOR_MEAN_EVENTS[hb])
    return out[0], out[1]


GD_THRESHOLD = 1.7995 * np.sqrt(24.0)
"""Gavish & Donoho (IEEE Trans. Inf. Theory 2014), known noise level: the optimal hard threshold of singular
values of an m x n matrix (m/n = beta) with i.i.d. noise sigma is lambda(beta) sqrt(n) sigma, lambda(beta) =
sqrt(2(beta + 1) + 8 beta / (beta + 1 + sqrt(beta^2 + 14 beta + 1))); beta = 7/24 gives lambda = 1.7995."""


def _lowrank_week(v: np.ndarray, sigma: float) -> tuple[np.ndarray, int]:
    """A 168-cell week as a 7 x 24 table reduced to its singular pairs above the Gavish–Donoho threshold
    (at least the first), clipped at 0; and the rank kept. Without noise (sigma 0) every pair is kept."""
    u, sv, vt = np.linalg.svd(v.reshape(7, 24), full_matrices=False)
    r = max(1, int((sv > max(GD_THRESHOLD * sigma, 1e-9 * sv[0])).sum()))
    out = (u[:, :r] * sv[:r]) @ vt[:r]
    out = out if out.sum() >= 0 else -out
    return np.maximum(out, 0.0).ravel(), r


def _rank1_week(v: np.ndarray) -> np.ndarray:
    """The best rank-1 approximation (Eckart–Young) of a 168-cell week as a 7 x 24 table, clipped at 0."""
    return _lowrank_week(v, np.inf)[0]


def _shrink_week(r: np.ndarray, sigma: float, rank: int = 1) -> np.ndarray:
    """A rank-``rank`` week ``r`` estimated from cells with Gaussian noise ``sigma``, shrunk towards its mean:
    the noise puts about rank (31 - rank) sigma^2 of energy into a rank-r 7 x 24 estimate (its degrees of
    freedom), so the deviations from the mean keep the share 1 - rank (31 - rank) sigma^2 / |dev|^2 (0 when
    the noise explains them all; James & Stein 1961)."""
    dev = r - r.mean()
    energy = float((dev * dev).sum())
    keep = max(0.0, 1.0 - rank * (31.0 - rank) * sigma * sigma / energy) if energy > 0 else 0.0
    return np.maximum(r.mean() + keep * dev, 0.0)


def _default_human_profile() -> np.ndarray:
    """The generator's built-in human hour-of-week weights (Monday 00:00 first): a public prior."""
    import datetime as dt

    from generators.behaviour import local_profiles
    from generators.params import ActivityParams

    a = ActivityParams()
    cum = local_profiles(dt.date(2026, 3, 2), 7, a.weekend_level, a.night_level)  # 2026-03-02 is a Monday
    return np.diff(np.r_[0.0, cum])


def _state(index: dict[str, int], state_product: np.ndarray, product: int, action: str) -> int:
    """Global state of ``action`` within ``product`` (the catalog's state space has one block per product)."""
    for i in np.nonzero(state_product == product)[0]:
        if markov_chain().states[i] == action:
            return int(i)
    raise KeyError(action)


def fit(ms: dict[str, Measured], max_events: int | None = None) -> SynthModel:
    """The synthetic-population model from the noisy measurements (deterministic: same input, same model);
    ``max_events``: the contribution bound of the activity measurement (public: a parameter)."""
    def table(name: str, shape: tuple[int, ...], k: float = 1.0) -> np.ndarray:
        m = ms[name]
        return clean(m.values.reshape(shape), m.sigma, k)

    n_codes, n_tz = len(geo.CODES), len(geo.TIMEZONES)
    plan_size = table("accounts.plan_size", (4, -1))
    if plan_size.sum() <= 0:
        plan_size = np.ones_like(plan_size)
    cz = ms["accounts.country_timezone"]
    tz_w = np.zeros((n_codes, n_tz))
    pairs = [(country.code, tz) for country in geo.COUNTRIES for tz, _ in country.timezones]
    for (code, tz), v in zip(pairs, clean(cz.values, cz.sigma, 1.0), strict=True):
        tz_w[geo.COUNTRY_INDEX[code], geo.TZ_INDEX[tz]] = v
    prior = np.zeros((n_codes, n_tz))  # public catalog: a country's own zones, when nothing was measured
    for ci, c in enumerate(geo.COUNTRIES):
        for tz, w in c.timezones:
            prior[ci, geo.TZ_INDEX[tz]] = w
    tz_w = tz_w if tz_w.sum() > 0 else prior * geo.COUNTRY_WEIGHTS[:, None]
    au = ms["sessions.auth_ua"]
    au_w = clean(au.values.reshape(len(GROUPS), -1), au.sigma, 2.0)
    return SynthModel(
        behaviour=_behaviour(ms),
        activity=_activity(ms["activity.group_events_bin"], max_events),
        plan_size=plan_size,
        org_country_given_plan=rows(table("accounts.plan_org_country", (4, n_codes)), geo.COUNTRY_WEIGHTS),
        industry_given_plan=rows(table("accounts.plan_industry", (4, -1))),
        opt_out_given_plan=rows(table("accounts.plan_opt_out", (4, 2)), np.array([1.0, 0.0])),
        type_role=table("accounts.type_role", (len(ACCOUNT_TYPES), len(ROLES))),
        country_tz=tz_w / tz_w.sum(),
        auth_given_group=rows(au_w[:, :len(AUTH_TYPES)]),
        ua_given_group=rows(au_w[:, len(AUTH_TYPES):], np.eye(len(UA_FAMILIES))[-1]),
    )


def roles_of_group(type_role: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per group: the (type, role) cells of that group and their weights (a canonical cell when empty)."""
    t, r = np.meshgrid(np.arange(len(ACCOUNT_TYPES)), np.arange(len(ROLES)), indexing="ij")
    g = group_of(t.ravel(), r.ravel())
    canonical = {0: (0, ROLES.index("member")), 1: (0, ROLES.index("org_admin")),
                 2: (1, ROLES.index("guest")), 3: (2, ROLES.index("app"))}
    out = []
    for k in range(len(GROUPS)):
        cells = np.nonzero(g == k)[0]
        w = type_role.ravel()[cells]
        if w.sum() <= 0:
            cells = np.array([np.ravel_multi_index(canonical[k], type_role.shape)])
            w = np.ones(1)
        out.append((cells, w / w.sum()))
    return out
