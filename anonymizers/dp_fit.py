"""From noisy measurements to a synthetic-population model (post-processing: no further privacy cost).

Everything here reads only the noisy measurements of :mod:`anonymizers.dp_measure` and public knowledge
(the catalog's products, actions and countries, the generator's priors), so by the post-processing property
of differential privacy (Dwork & Roth 2014, Prop. 2.1) the model — and every synthetic record sampled from
it — is as private as the measurements.

Noise handling: negative cells are set to 0, and cells below ``k`` noise standard deviations are treated as
empty (``k`` = 2 for conditional tables whose true support is sparse — transitions, product mixes —, 1 for
profiles and marginals), so that the noise floor spread over structurally empty cells does not bias the
distributions. Heavy-tailed counts (events per account, session lengths, gaps) are fitted by least squares
as discretized lognormals — the generator's own model of activity, session and gap lengths — which is far
less sensitive to noise in the tail bins than reading means off the histogram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from anonymizers.dp_measure import ACTIVITY_EDGES, GAP_EDGES, LENGTH_EDGES, Measured, transition_cells
from anonymizers.dp_stats import ACCOUNT_TYPES, GROUPS, ROLES, UA_FAMILIES, group_of
from generators import geo
from generators.catalog import PERSONAS, PRODUCTS, markov_chain
from generators.model import BehaviourModel
from generators.population import AUTH_TYPES, P_ADMIN, P_BIZ, P_BOT, P_DEV, P_EXT

GROUP_PERSONAS = ((P_DEV, P_BIZ), (P_ADMIN,), (P_EXT,), (P_BOT,))
MAX_LOG_EVENTS = float(np.log(2.0 ** 16))
"""Upper end of the fitted median events per account (a public sanity bound: 2^16 in a period)."""
"""Personas of the generator each behaviour group stands for (members cover developers and business users)."""


@dataclass(frozen=True, eq=False)
class Lognormal:
    """A fitted count distribution: ``n`` units, of which ``zero`` have none; the rest ~ round(LN(mu, sigma))."""

    n: int
    zero: int
    mu: float
    sigma: float


@dataclass(frozen=True, eq=False)
class SynthModel:
    """The whole fitted model: behaviour tables plus the population's attribute and activity distributions."""

    behaviour: BehaviourModel
    activity: tuple[Lognormal, ...]          # per group
    plan_size: np.ndarray                    # (plans, size bands) account weights
    org_country_given_plan: np.ndarray       # (plans, countries)
    industry_given_plan: np.ndarray          # (plans, industries)
    opt_out_given_plan: np.ndarray           # (plans, 2)
    type_role: np.ndarray                    # (types, roles)
    country_given_org_country: np.ndarray    # (countries, countries)
    tz_given_country: np.ndarray             # (countries, time zones)
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
    cut = np.log(np.ceil(edges[1:]) - 0.5) if integer else np.log(edges[1:])
    z = (cut[None, None, :] - mus[:, None, None]) / sigmas[None, :, None]
    cdf = ndtr(z)
    p = np.diff(np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf, np.ones(cdf.shape[:2] + (1,))], axis=2),
                axis=2)
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


def _activity(m: Measured) -> tuple[Lognormal, ...]:
    """Events per account per group: lognormals with one shared sigma and a median per group — the
    generator's activity model (one lognormal spread, a multiplier per persona) — fitted jointly by least
    squares on the cells above 2 noise standard deviations, so that the small groups (bots, externals) only
    need to locate their median. Group sizes: the noisy cells where the fitted shape has probability."""
    h = m.values.reshape(len(GROUPS), len(ACTIVITY_EDGES))
    edges = ACTIVITY_EDGES[1:]
    lo_int = np.ceil(edges)
    hi_int = np.r_[np.ceil(edges[1:]) - 1, edges[-1] * 2]
    centres = np.sqrt(lo_int * np.maximum(hi_int, lo_int))
    mus = np.linspace(0.0, MAX_LOG_EVENTS, 161)
    sigmas = np.linspace(0.2, 2.5, 47)
    p = _binned_lognormal(edges, mus, sigmas, integer=True)          # (mu, sigma, bins)
    sse = np.empty((len(GROUPS), len(mus), len(sigmas)))
    strong = clean(h[:, 1:], m.sigma, 2.0)
    for g in range(len(GROUPS)):
        dot = (p * strong[g]).sum(2)
        pp = (p * p).sum(2)
        sse[g] = (strong[g] ** 2).sum() - np.where(dot > 0, dot * dot / pp, 0.0)
    best_mu = sse.argmin(1)                                             # (groups, sigmas)
    j = int(np.argmin(np.take_along_axis(sse, best_mu[:, None, :], 1)[:, 0, :].sum(0)))
    out = []
    for g in range(len(GROUPS)):
        zero = int(round(clean(h[g, :1], m.sigma, 2.0)[0]))
        if strong[g].sum() <= 0:
            out.append(Lognormal(0, zero, 0.0, float(sigmas[j])))
            continue
        # With sigma fixed, each group's median by least squares on all its noisy cells (unbiased: the noise
        # has mean 0), which small groups need: few of their cells rise above 2 noise standard deviations.
        pj = p[:, j, :]
        dot = pj @ h[g, 1:]
        i = int(np.argmin(-np.where(dot > 0, dot * dot / (pj * pj).sum(1), 0.0)))
        if h[g, 1:].sum() < 3.0 * m.sigma * np.sqrt(len(edges)):
            i = int(best_mu[0, j])  # a group barely above the noise: the members' median (fail small)
        support = p[i, j] > 2e-3
        mass = max(0.0, float(h[g, 1:][support].sum()))
        # The median follows the noisy event total over the support (bin centres), which the lognormal's
        # extrapolated tail would otherwise overstate: mean = exp(mu + sigma^2 / 2) = total / mass.
        total = float((h[g, 1:][support] * centres[support]).sum())
        total_sd = m.sigma * float(np.sqrt((centres[support] ** 2).sum()))
        mu = float(mus[i])
        if mass >= 1 and total > mass and total_sd < 0.1 * total:  # only where the total is well measured
            mu = min(MAX_LOG_EVENTS, float(np.log(total / mass)) - float(sigmas[j]) ** 2 / 2)
        out.append(Lognormal(int(round(mass)), zero, mu, float(sigmas[j])))
    return tuple(out)


def _binned_lognormal(edges: np.ndarray, mus: np.ndarray, sigmas: np.ndarray, integer: bool) -> np.ndarray:
    """(mu, sigma, bins) probabilities of the bins starting at ``edges`` (ends open) under LN(mu, sigma)."""
    cut = np.log(np.ceil(edges[1:]) - 0.5) if integer else np.log(edges[1:])
    cdf = ndtr((cut[None, None, :] - mus[:, None, None]) / sigmas[None, :, None])
    zeros = np.zeros(cdf.shape[:2] + (1,))
    return np.diff(np.concatenate([zeros, cdf, zeros + 1.0], axis=2), axis=2)


def _behaviour(ms: dict[str, Measured]) -> BehaviourModel:
    n_pers, n_prod = len(PERSONAS), len(PRODUCTS)
    ch = markov_chain()
    n_states = len(ch.states)
    how_m = ms["sessions.hour_of_week"]
    raw_how = how_m.values.reshape(2, 168)
    how = clean(raw_how, how_m.sigma, 1.0)
    # A profile whose total does not rise clearly above the noise takes the public prior: the generator's
    # workday profile for humans, flat for bots.
    prior = np.stack([_default_human_profile(), np.ones(168)])
    weak = raw_how.sum(1) < 3.0 * how_m.sigma * np.sqrt(168)
    how = np.where(weak[:, None] | (how.sum(1, keepdims=True) <= 0), prior, how)
    hour_of_week = np.stack([how[1] if k == P_BOT else how[0] for k in range(n_pers)])
    prod_m = ms["sessions.product"]
    prod = rows(clean(prod_m.values.reshape(len(GROUPS), n_prod), prod_m.sigma, 2.0))
    product_mix = np.zeros((n_pers, n_prod))
    for g, personas in enumerate(GROUP_PERSONAS):
        product_mix[list(personas)] = prod[g]
    tr_m = ms["steps.transition"]
    tr = clean(tr_m.values.reshape(2, -1), tr_m.sigma, 2.0)
    transitions = np.zeros((n_pers, n_states, n_states))
    entry = np.zeros((n_pers, n_prod, n_states))
    index = {s: i for i, s in enumerate(ch.states)}
    cells = transition_cells()
    # A row without signal falls back to the product's action mix over both groups (never to a self-loop,
    # which would make a rare action absorbing).
    prod_of = np.array([PRODUCTS.index(c[0]) for c in cells])
    to_state = np.array([_state(index, ch.state_product, PRODUCTS.index(c[0]), c[2]) for c in cells])
    mix = np.zeros((2, n_prod, n_states))   # per group (human, bot): the product's action mix
    for hb in range(2):
        np.add.at(mix[hb], (prod_of, to_state), tr[hb])
    pooled = mix.sum(0)
    mix = np.where(mix.sum(2, keepdims=True) > 0, mix, pooled[None])
    for hb in range(2):
        personas = [P_BOT] if hb == 1 else [P_DEV, P_BIZ, P_ADMIN, P_EXT]
        for k, (prod_name, prev, action) in enumerate(cells):
            p = PRODUCTS.index(prod_name)
            j = _state(index, ch.state_product, p, action)
            if prev == "^":
                entry[personas, p, j] = tr[hb, k]
            else:
                transitions[personas, _state(index, ch.state_product, p, prev), j] = tr[hb, k]
    for k in range(n_pers):
        hb = int(k == P_BOT)
        empty = transitions[k].sum(1) == 0
        transitions[k][empty] = mix[hb][ch.state_product[empty]]
        e_empty = entry[k].sum(1) == 0
        entry[k][e_empty] = mix[hb][e_empty]
    len_m, gap_m = ms["sessions.length_bin"], ms["steps.gap_bin"]
    mean_events = np.zeros(n_pers)
    gap_median = np.zeros(n_pers)
    gap_sigma = np.zeros(n_pers)
    for hb in range(2):
        # No signal (e.g. no bots): the generator's defaults, public priors (14 events, 35 s, sigma 1.1).
        _, mu, s = fit_noisy(len_m.values.reshape(2, -1)[hb], len_m.sigma, LENGTH_EDGES, integer=True) or \
            (0.0, np.log(14.0), 0.1)
        _, gmu, gs = fit_noisy(gap_m.values.reshape(2, -1)[hb], gap_m.sigma, GAP_EDGES) or \
            (0.0, np.log(35.0), 1.1)
        personas = [P_BOT] if hb == 1 else [P_DEV, P_BIZ, P_ADMIN, P_EXT]
        mean_events[personas] = max(1.5, float(np.exp(mu + s * s / 2)))
        gap_median[personas] = float(np.exp(gmu))
        gap_sigma[personas] = gs
    return BehaviourModel(hour_of_week, product_mix, transitions, entry, mean_events, gap_median, gap_sigma)


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


def fit(ms: dict[str, Measured]) -> SynthModel:
    """The synthetic-population model from the noisy measurements (deterministic: same input, same model)."""
    def table(name: str, shape: tuple[int, ...], k: float = 1.0) -> np.ndarray:
        m = ms[name]
        return clean(m.values.reshape(shape), m.sigma, k)

    n_codes, n_tz = len(geo.CODES), len(geo.TIMEZONES)
    plan_size = table("accounts.plan_size", (4, -1))
    if plan_size.sum() <= 0:
        plan_size = np.ones_like(plan_size)
    cz = ms["accounts.country_timezone"]
    tz_w = np.zeros((n_codes, n_tz))
    for (c, tz), v in zip([(c.code, tz) for c in geo.COUNTRIES for tz, _ in c.timezones],
                          clean(cz.values, cz.sigma, 1.0), strict=True):
        tz_w[geo.COUNTRY_INDEX[c], geo.TZ_INDEX[tz]] = v
    prior = np.zeros((n_codes, n_tz))  # public catalog: a country's own zones, when nothing was measured
    for ci, c in enumerate(geo.COUNTRIES):
        for tz, w in c.timezones:
            prior[ci, geo.TZ_INDEX[tz]] = w
    tz_w = np.where(tz_w.sum(1, keepdims=True) > 0, tz_w, prior)
    au = ms["sessions.auth_ua"]
    au_w = clean(au.values.reshape(len(GROUPS), -1), au.sigma, 2.0)
    return SynthModel(
        behaviour=_behaviour(ms),
        activity=_activity(ms["activity.group_events_bin"]),
        plan_size=plan_size,
        org_country_given_plan=rows(table("accounts.plan_org_country", (4, n_codes)), geo.COUNTRY_WEIGHTS),
        industry_given_plan=rows(table("accounts.plan_industry", (4, -1))),
        opt_out_given_plan=rows(table("accounts.plan_opt_out", (4, 2)), np.array([1.0, 0.0])),
        type_role=table("accounts.type_role", (len(ACCOUNT_TYPES), len(ROLES))),
        country_given_org_country=rows(table("accounts.org_country_country", (n_codes, n_codes)) +
                                       np.eye(n_codes) * 1e-9),
        tz_given_country=tz_w / tz_w.sum(1, keepdims=True),
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
