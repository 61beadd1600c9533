"""Sampling the synthetic population from a fitted model (post-processing; seeded, so reproducible).

The population — orgs, accounts and each account's number of events — is drawn once from the model and
the seed; it is small (one row per org and per account). Events are then generated shard by shard by the
generator's own vectorized code (:func:`generators.behaviour.build_events`), driven by the fitted
:class:`generators.model.BehaviourModel` instead of its constants, with one random stream per shard
(``generators.rng.stream``), so the bytes depend only on (model, seed, shard layout).

Every identifier is synthetic and marked as such: ``syn-`` + random hex for orgs, accounts, teams, sessions,
events, containers and objects, a format no raw identifier has, so no released id can equal a raw one.
Names, e-mail addresses, domains and IP addresses are not released; ``user_agent`` is a family
(``Chrome``, ``python-requests``), ``geo_country`` the account's country (the cloud's for bots).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from anonymizers.dp_fit import GROUP_PERSONAS, Activity, SynthModel, roles_of_group
from anonymizers.dp_measure import activity_edges
from anonymizers.dp_stats import ACCOUNT_TYPES, GROUPS, INDUSTRY_NAMES, ROLES, UA_FAMILIES
from generators import geo
from generators.behaviour import build_events
from generators.params import PLANS, GenerationParams
from generators.plan import SIZE_BANDS, epoch_us, size_band
from generators.population import Accounts
from generators.rng import hex_ids, search_categorical, stream, to_hex

US_PER_DAY = 86_400 * 1_000_000
BAND_RANGES = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000), (5001, 20000))
assert len(BAND_RANGES) == len(SIZE_BANDS)
TEAM_SIZE = 7
SYN = "syn-"


@dataclass(frozen=True, eq=False)
class Population:
    """The sampled population: orgs and accounts (arrays), and the shard layout (org ranges)."""

    orgs: pa.Table                # released columns
    org_country: np.ndarray
    acc_org: np.ndarray           # per account: org row (sorted)
    acc_group: np.ndarray
    acc_events: np.ndarray
    acc_tz: np.ndarray
    acc_country: np.ndarray
    acc_auth: np.ndarray
    acc_ua: np.ndarray
    acc_ua_alt: np.ndarray
    users: pa.Table               # released columns, account order
    acc_team: np.ndarray          # per account: global team index, -1 none
    team_org: np.ndarray
    shards: tuple[tuple[int, int], ...]


def _draw(rng: np.random.Generator, probs: np.ndarray, given: np.ndarray) -> np.ndarray:
    """One draw per entry of ``given`` from the row ``probs[given]`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    flat = (cum / cum[:, -1:] + np.arange(len(cum))[:, None]).ravel()
    pos = np.searchsorted(flat, given + rng.random(len(given)) * (1 - 1e-12), side="right")
    return np.minimum(pos - given * probs.shape[1], probs.shape[1] - 1)


def bin_decay(w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per bin [lo, hi) of a histogram ``w`` of counts, how fast the density falls around it: the local power
    law x^-(alpha + 1) through the densities w / (hi - lo) of its two neighbours (one-sided at the ends of the
    support, 0 alone) at their geometric centres, clipped to [-4, 6]. For octave bins this is
    alpha = log2(w[b-1] / w[b+1]) / 2: counts per octave falling as 2^-alpha (a local power law, as in a
    heavy tail)."""
    pos = w > 0
    ld = np.log(np.where(pos, w, 1.0) / (hi - lo))
    lc = (np.log(lo) + np.log(hi)) / 2
    prev = np.r_[False, pos[:-1]]
    nxt = np.r_[pos[1:], False]
    dp, dn = np.r_[0.0, ld[:-1]], np.r_[ld[1:], 0.0]
    cp, cn = np.r_[lc[0] - 1, lc[:-1]], np.r_[lc[1:], lc[-1] + 1]
    slope = np.where(prev & nxt, (dn - dp) / (cn - cp),
                     np.where(nxt, (dn - ld) / (cn - lc), np.where(prev, (ld - dp) / (lc - cp), -1.0)))
    return np.clip(np.where(pos, -slope - 1.0, 0.0), -4.0, 6.0)


def in_bin(u: np.ndarray, lo: np.ndarray, hi: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Inverse CDF on [lo, hi) of the density proportional to x^-(alpha + 1) at quantiles ``u`` (log-uniform
    when alpha = 0): events of an account within its octave bin, shaped like the measured histogram around it
    (a log-uniform draw would put the mass of a falling tail too high and inflate the volume)."""
    lo, hi, alpha = (np.asarray(x, dtype=np.float64) for x in (lo, hi, alpha))
    flat = np.abs(alpha) < 1e-9
    a = np.where(flat, 1.0, alpha)
    power = (lo ** -a - u * (lo ** -a - hi ** -a)) ** (-1.0 / a)
    log_uniform = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    return np.where(flat, log_uniform, power)


def stratified(rng: np.random.Generator, p: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws from the categorical ``p``, stratified: each category gets its expected count rounded by
    largest remainders (ties by a seeded draw), and the draws of a category take the quantiles (i + U_i) / k,
    i = 0..k-1 of its k draws. The sample then follows ``p`` up to rounding instead of carrying multinomial
    noise of order 1 / sqrt(n) in its distribution (a two-sample KS distance of ~0.01 at 10,000 accounts).
    -> (category, quantile within it) per draw, categories ascending."""
    p = np.asarray(p, dtype=np.float64)
    if n <= 0 or p.sum() <= 0:
        return np.zeros(0, np.int64), np.zeros(0)
    want = p / p.sum() * n
    k = np.floor(want).astype(np.int64)
    short = n - int(k.sum())
    if short > 0:
        order = np.lexsort((rng.random(len(p)), -(want - k)))
        k[order[:short]] += 1
    cat = np.repeat(np.arange(len(p)), k)
    first = np.repeat(np.cumsum(k) - k, k)
    u = (np.arange(n) - first + rng.random(n)) / k[cat]
    return cat, u


def activity_counts(rng: np.random.Generator, a: Activity) -> np.ndarray:
    """Events of each of the ``a.n`` active accounts of one group: bins by :func:`stratified` draws from the
    measured histogram, then within its bin [lo, hi) (integers; the bound's bin cut at ``max_events``) the
    count at the account's quantile of the local power law through the neighbouring bins
    (:func:`bin_decay`, :func:`in_bin`). Unordered (the caller permutes the accounts)."""
    edges = activity_edges(a.resolution)
    lo = np.ceil(edges[1:])
    hi = np.r_[lo[1:], lo[-1] * 2]                # bin b holds the integers in [lo[b], hi[b])
    b, u = stratified(rng, a.bins, max(a.n, 0))
    top = hi[b] if a.max_events is None else np.minimum(hi[b], a.max_events + 1)   # [lo, top) per account
    ev = np.floor(in_bin(u, lo[b], np.maximum(top, lo[b] + 1), bin_decay(a.bins, lo, hi)[b]))
    return np.clip(ev, lo[b], np.maximum(top - 1, lo[b])).astype(np.int64)


def population(model: SynthModel, seed: int, start: dt.date, days: int, events_per_shard: int) -> Population:
    """The synthetic orgs and accounts (the same model and seed give the same population)."""
    rng = stream(seed, "synth/population")
    # --- accounts per group and their activity ------------------------------------------------------------
    groups, events = [], []
    for g, a in enumerate(model.activity):
        groups.append(np.full(max(a.n, 0) + max(a.zero, 0), g))
        events.append(np.r_[activity_counts(rng, a), np.zeros(max(a.zero, 0), np.int64)])
    acc_group = np.concatenate(groups).astype(np.int64)
    acc_events = np.concatenate(events)
    n = len(acc_group)
    perm = rng.permutation(n)
    acc_group, acc_events = acc_group[perm], acc_events[perm]
    # --- orgs: accounts per (plan, size band), filled with orgs of sizes within the band ------------------
    w = model.plan_size.ravel() / model.plan_size.sum()
    per_cell = np.floor(w * n).astype(np.int64)
    per_cell[np.argsort(-(w * n - per_cell), kind="stable")[: n - int(per_cell.sum())]] += 1
    sizes, plans = [], []
    for cell, total in enumerate(per_cell.tolist()):
        lo, hi = BAND_RANGES[cell % len(BAND_RANGES)]
        left = total
        while left > 0:
            s = int(np.exp(rng.uniform(np.log(lo), np.log(hi + 1))))
            s = min(max(s, 1), left)
            sizes.append(s)
            plans.append(cell // len(BAND_RANGES))
            left -= s
    org_size = np.array(sizes, dtype=np.int64)
    org_plan = np.array(plans, dtype=np.int64)
    n_org = len(org_size)
    acc_org = np.repeat(np.arange(n_org), org_size)
    org_country = _draw(rng, model.org_country_given_plan, org_plan)
    industry = _draw(rng, model.industry_given_plan, org_plan)
    opt_out = _draw(rng, model.opt_out_given_plan, org_plan) == 1
    residency_c = np.array([c.residency for c in geo.COUNTRIES], dtype=object)[org_country]
    residency = np.where(org_plan < 2, np.where(np.isin(residency_c, ["eu", "de"]), "eu", "us"), residency_c)
    org_tz = geo.pick_per_country(rng, org_country, "tz")
    locale = np.array([geo.primary_locale(c) for c in range(len(geo.COUNTRIES))])[org_country]
    start_us = epoch_us(start)
    org_created = start_us - (rng.random(n_org) * 8 * 365 + 30).astype(np.int64) * US_PER_DAY
    org_ids = to_hex(hex_ids(rng, n_org, 8), SYN + "org-")
    orgs = pa.table({
        "org_id": org_ids,
        "plan": pa.array(np.array(PLANS, dtype=object)[org_plan].astype(str)),
        "data_residency": pa.array(residency.astype(str)),
        "country": pa.array(np.array(geo.CODES)[org_country]),
        "industry": pa.array(np.array(INDUSTRY_NAMES)[industry]),
        "size_band": pa.array(size_band(org_size).astype(str)),
        "default_locale": pa.array(np.array(geo.LOCALES)[locale]),
        "default_timezone": pa.array(np.array(geo.TIMEZONES)[org_tz]),
        "ai_training_opt_out": pa.array(opt_out),
        "created_at": pa.array(org_created, pa.timestamp("us", tz="UTC")),
        "n_accounts": pa.array(org_size, pa.int32()),
    })
    # --- accounts: type and role given the group, where they live, auth and devices --------------------------
    tr = np.zeros(n, dtype=np.int64)
    for g, (cells, p) in enumerate(roles_of_group(model.type_role)):
        m = acc_group == g
        tr[m] = cells[search_categorical(rng, np.cumsum(p), int(m.sum()))]
    a_type, a_role = np.unravel_index(tr, (len(ACCOUNT_TYPES), len(ROLES)))
    # People: (country, time zone) from the measured joint; integrations: their org's (as the generator).
    n_tz = model.country_tz.shape[1]
    ct = search_categorical(rng, np.cumsum(model.country_tz.ravel()), n)
    bot = acc_group == 3
    country = np.where(bot, org_country[acc_org], ct // n_tz)
    tz = np.where(bot, org_tz[acc_org], ct % n_tz)
    loc = geo.pick_per_country(rng, country, "locale")
    auth = _draw(rng, model.auth_given_group, acc_group)
    ua = _draw(rng, model.ua_given_group, acc_group)
    ua_alt = _draw(rng, model.ua_given_group, acc_group)
    created = org_created[acc_org] + (rng.random(n) * (start_us - org_created[acc_org] - US_PER_DAY)).astype(np.int64)
    # Teams: members and admins of an org in teams of TEAM_SIZE, in account order (a public prior).
    teamed = acc_group <= 1
    rank = np.zeros(n, dtype=np.int64)
    if n:
        key = np.where(teamed, acc_org, -1 - np.arange(n))
        first = np.r_[True, key[1:] != key[:-1]]
        rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    teams_per_org = np.maximum(1, -(-np.bincount(acc_org[teamed], minlength=n_org) // TEAM_SIZE))
    team_base = np.r_[0, np.cumsum(teams_per_org)[:-1]].astype(np.int64)
    acc_team = np.where(teamed, team_base[acc_org] + rank // TEAM_SIZE, -1) if n else np.zeros(0, np.int64)
    team_org = np.repeat(np.arange(n_org), teams_per_org)
    team_ids = to_hex(hex_ids(rng, len(team_org), 6), SYN + "team-")
    team_col = pa.compute.if_else(pa.array(acc_team >= 0), team_ids.take(pa.array(np.maximum(acc_team, 0))),
                                  pa.nulls(n, pa.string())) if n else pa.array([], pa.string())
    users = pa.table({
        "account_id": to_hex(hex_ids(rng, n, 12), SYN),
        "org_id": org_ids.take(pa.array(acc_org)),
        "account_type": pa.array(np.array(ACCOUNT_TYPES)[a_type]),
        "role": pa.array(np.array(ROLES)[a_role]),
        "locale": pa.array(np.array(geo.LOCALES)[loc]),
        "timezone": pa.array(np.array(geo.TIMEZONES)[tz]),
        "country": pa.array(np.array(geo.CODES)[country]),
        "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "team_id": team_col,
    })
    # --- shards: runs of whole orgs of about events_per_shard events -------------------------------------------
    org_events = np.bincount(acc_org, weights=acc_events, minlength=n_org)
    shards: list[tuple[int, int]] = []
    lo, acc = 0, 0.0
    for i, e in enumerate(org_events.tolist()):
        acc += e
        if acc >= events_per_shard:
            shards.append((lo, i + 1))
            lo, acc = i + 1, 0.0
    if lo < n_org or not shards:
        shards.append((lo, n_org))
    return Population(orgs, org_country, acc_org, acc_group, acc_events, tz, country, auth, ua, ua_alt, users,
                      acc_team, team_org, tuple(shards))


@functools.lru_cache(maxsize=4)
def _params(start: dt.date, days: int) -> GenerationParams:
    return GenerationParams(start=start, days=days)


def shard(model: SynthModel, pop: Population, seed: int, i: int, start: dt.date, days: int
          ) -> dict[str, pa.Table]:
    """orgs, users and events of shard ``i`` (whole orgs)."""
    lo, hi = pop.shards[i]
    sel = np.nonzero((pop.acc_org >= lo) & (pop.acc_org < hi))[0]
    a0, a1 = (int(sel[0]), int(sel[-1]) + 1) if len(sel) else (0, 0)
    orgs = pop.orgs.slice(lo, hi - lo)
    users = pop.users.slice(a0, a1 - a0)
    n = a1 - a0
    org_local = pop.acc_org[a0:a1] - lo
    group = pop.acc_group[a0:a1]
    persona = np.array([p[0] for p in GROUP_PERSONAS])[group]
    t_lo = int(np.searchsorted(pop.team_org, lo, side="left"))
    t_hi = int(np.searchsorted(pop.team_org, hi, side="left"))
    team_org = pop.team_org[t_lo:t_hi] - lo
    teams_per_org = np.bincount(team_org, minlength=hi - lo).astype(np.int64)
    team_base = np.r_[0, np.cumsum(teams_per_org)[:-1]].astype(np.int64)
    team = np.where(pop.acc_team[a0:a1] >= 0, pop.acc_team[a0:a1] - t_lo, -1)
    # Non-teamed people still work in some team's containers, as in the generator (bots: -1, any team).
    rng = stream(seed, "synth/events", i)
    any_team = team_base[org_local] + (rng.random(n) * teams_per_org[org_local]).astype(np.int64)
    team = np.where((team < 0) & (group != 3), any_team, team)
    codes = np.array(geo.CODES)
    country = pop.acc_country[a0:a1]
    geo_c = pa.array(np.where(group == 3, geo.CLOUD_COUNTRY, codes[country]))
    ua_names = np.array(UA_FAMILIES)
    no_ip = pa.nulls(n, pa.string())
    acc = Accounts(org=org_local, persona=persona, team=team, tz=pop.acc_tz[a0:a1], shift_h=np.zeros(n, np.int64),
                   remote=np.ones(n, bool), events=pop.acc_events[a0:a1], ua_main=pa.array(ua_names[pop.acc_ua[a0:a1]]),
                   ua_alt=pa.array(ua_names[pop.acc_ua_alt[a0:a1]]), ip_office=no_ip,
                   ip_home=pa.array(np.full(n, "", dtype=object).astype(str)), ip_vpn=no_ip,
                   geo_office=geo_c, geo_home=geo_c, geo_vpn=geo_c,
                   account_id=users["account_id"].combine_chunks(), email=no_ip, auth_main=pop.acc_auth[a0:a1],
                   product_pref=np.full(n, -1), team_base=team_base, teams_per_org=teams_per_org,
                   org_ids=orgs["org_id"].combine_chunks(), n_teams=int(teams_per_org.sum()))
    events, _ = build_events(rng, acc, _params(start, days), model.behaviour)
    ev = pl.from_arrow(events)
    assert isinstance(ev, pl.DataFrame)
    ev = ev.drop("actor_email", "client_ip").with_columns(
        (SYN + pl.col(c)).alias(c) for c in ("event_id", "session_id", "container_id", "object_id"))
    return {"orgs": orgs, "users": users, "events": ev.to_arrow()}


def group_sizes(pop: Population) -> dict[str, int]:
    return {g: int((pop.acc_group == k).sum()) for k, g in enumerate(GROUPS)}
