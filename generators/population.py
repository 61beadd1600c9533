"""Accounts of one chunk's orgs: humans in teams, admins, external collaborators, integrations (bots) and
the contractors who hold accounts in several orgs.

A team shares an office: time zone, locale, an office /24 and the containers it works in; a remote minority
lives elsewhere and works from home addresses. Bots run in the cloud, authenticate with tokens, use library
user agents. Every array is built for all orgs of the chunk at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from generators import geo, rhythm
from generators.catalog import ACCOUNT_TYPE, BOT_APPS, PERSONAS
from generators.params import GenerationParams
from generators.plan import PERSON_PREFIX, US_PER_DAY, Plan, epoch_us
from generators.pools import Pools, take
from generators.rng import grouped_categorical, hex_ids, search_categorical, stream, to_hex

P_DEV, P_BIZ, P_ADMIN, P_EXT, P_BOT = range(5)
assert PERSONAS == ("developer", "business", "admin", "external", "bot")


@dataclass
class Accounts:
    """Per-account arrays of one chunk (index = row of ``users``)."""

    org: np.ndarray            # local org index within the chunk
    persona: np.ndarray
    team: np.ndarray           # chunk-global team index, -1 for none
    tz: np.ndarray             # time-zone id (geo.TIMEZONES)
    shift_h: np.ndarray        # personal rhythm shift in hours
    remote: np.ndarray         # bool
    events: np.ndarray         # events allotted to the account
    ua_main: pa.Array
    ua_alt: pa.Array
    ip_office: pa.Array        # may hold nulls
    ip_home: pa.Array
    ip_vpn: pa.Array           # may hold nulls
    geo_office: pa.Array
    geo_home: pa.Array
    geo_vpn: pa.Array
    account_id: pa.Array
    email: pa.Array
    auth_main: np.ndarray      # index into AUTH_TYPES
    product_pref: np.ndarray   # a bot's product id, -1 for people
    team_base: np.ndarray      # per local org: first chunk-global team index
    teams_per_org: np.ndarray  # per local org: number of teams
    org_ids: pa.Array          # per local org
    n_teams: int
    evening: np.ndarray | None = None  # personal evening propensity (generators.rhythm); None: population mean
    weekend: np.ndarray | None = None  # personal weekend propensity


AUTH_TYPES = ("sso", "password", "oauth", "api_token")


def _ipv4_in_country(rng: np.random.Generator, country: np.ndarray) -> tuple[np.ndarray, ...]:
    blocks = [np.array(c.ipv4_first_octets) for c in geo.COUNTRIES]
    a = np.empty(len(country), dtype=np.int64)
    u = rng.random(len(country))
    for ci in np.unique(country):
        m = country == ci
        a[m] = blocks[ci][(u[m] * len(blocks[ci])).astype(int)]
    return a, rng.integers(0, 256, len(country)), rng.integers(0, 256, len(country)), rng.integers(1, 255, len(country))


def _home_ips(rng: np.random.Generator, country: np.ndarray, v6_share: float = 0.2) -> pa.Array:
    a, b, c, d = _ipv4_in_country(rng, country)
    v4 = geo.ipv4_strings(a, b, c, d)
    prefixes = np.array([c.ipv6_prefix for c in geo.COUNTRIES], dtype=object)[country].tolist()
    v6 = geo.ipv6_strings(prefixes, rng.integers(0, 1 << 16, len(country)), rng.integers(0, 1 << 16, len(country)),
                          rng.integers(1, 1 << 16, len(country)))
    use6 = rng.random(len(country)) < v6_share
    return pa.compute.if_else(pa.array(use6), v6, v4)


def _rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal values of a sorted integer array."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    start = np.r_[True, groups[1:] != groups[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first


def build_accounts(plan: Plan, chunk: int, p: GenerationParams, pools: Pools) -> tuple[pa.Table, pa.Table, Accounts]:
    """(users table, truth accounts table, per-account arrays) for the orgs of ``chunk``."""
    lo, hi = plan.chunks[chunk]
    rng = stream(plan.seed, f"{plan.scope}/accounts", chunk)
    orgs = plan.orgs.slice(lo, hi - lo)
    n_org = hi - lo
    org_country = orgs["_country"].to_numpy()
    org_tz = orgs["_tz"].to_numpy()
    org_plan = orgs["_plan"].to_numpy()
    industry = np.asarray(orgs["industry"].to_numpy(zero_copy_only=False))
    slot_sel = (plan.slot_org >= lo) & (plan.slot_org < hi)
    slot_org = plan.slot_org[slot_sel] - lo
    slot_person = plan.slot_person[slot_sel]
    base = plan.org_accounts[lo:hi] - np.bincount(slot_org, minlength=n_org)

    # --- personas of the org's own accounts; contractor slots follow, org by org -----------------------
    b_org = np.repeat(np.arange(n_org), base)
    nb = len(b_org)
    u = rng.random(nb)
    bot_p = np.where(org_plan[b_org] == 0, p.bot_share * 0.5, p.bot_share)
    dev_p = np.where(industry[b_org] == "software", 0.7, 0.35)
    persona = np.where(u < bot_p, P_BOT, np.where(u < bot_p + p.external_share, P_EXT,
                       np.where(rng.random(nb) < dev_p, P_DEV, P_BIZ)))
    persona = np.where((persona <= P_BIZ) & (rng.random(nb) < p.admin_share), P_ADMIN, persona)
    first_of_org = np.r_[0, np.cumsum(base)[:-1]][base > 0]
    persona[first_of_org] = P_ADMIN  # every org has an admin
    con_persona = np.where(rng.random(len(slot_org)) < 0.5, P_DEV, P_EXT)
    org_of = np.concatenate([b_org, slot_org])
    persona = np.concatenate([persona, con_persona])
    is_con = np.r_[np.zeros(nb, bool), np.ones(len(slot_org), bool)]
    con_row = np.r_[np.full(nb, -1), slot_person]
    order = np.argsort(org_of, kind="stable")
    org_of, persona, is_con, con_row = org_of[order], persona[order], is_con[order], con_row[order]
    n = len(org_of)
    contractors = plan.contractors
    con = {c: contractors[c].to_numpy() for c in ("country", "tz", "locale", "first", "last", "ua", "home_ip",
                                                   "shared_email", "email_domain", "shift", "weight",
                                                   "evening", "weekend")}
    if contractors.num_rows == 0:  # a tiny population: index a dummy row that no account uses
        con = {c: np.zeros(1, dtype=v.dtype) for c, v in con.items()}
    cr = np.where(is_con, con_row, 0)

    # --- teams and offices --------------------------------------------------------------------------------
    human = persona <= P_ADMIN
    remote = human & ~is_con & (rng.random(n) < p.remote_share)
    teamed = human & ~is_con & ~remote
    team_size = np.maximum(2, rng.poisson(p.team_size_mean, n_org))
    rank = _rank_within(np.where(teamed, org_of, -1 - np.arange(n)))  # rank among teamed accounts of the org
    rank = np.where(teamed, rank, 0)
    team_local = rank // team_size[org_of]
    n_team_org = np.bincount(org_of[teamed], weights=None, minlength=n_org)
    teams_per_org = np.maximum(1, -(-n_team_org // team_size)).astype(np.int64)
    team_base = np.r_[0, np.cumsum(teams_per_org)[:-1]]
    n_teams = int(teams_per_org.sum())
    team_org = np.repeat(np.arange(n_org), teams_per_org)
    # Non-teamed humans and externals still work in some team's containers (but share no office).
    any_team = team_base[org_of] + (rng.random(n) * teams_per_org[org_of]).astype(np.int64)
    team = np.where(teamed, team_base[org_of] + team_local, np.where(persona == P_BOT, -1, any_team))

    offices = 1 + (plan.org_accounts[lo:hi] > 40) + (plan.org_accounts[lo:hi] > 300)
    team_office = (np.arange(n_teams) - team_base[team_org]) % offices[team_org]
    office_country = np.where(team_office == 0, org_country[team_org],
                              search_categorical(rng, np.cumsum(geo.COUNTRY_WEIGHTS), n_teams))
    office_tz = np.where(team_office == 0, org_tz[team_org], geo.pick_per_country(rng, office_country, "tz"))
    office_locale = geo.pick_per_country(rng, office_country, "locale")
    oa, ob, oc, _ = _ipv4_in_country(rng, office_country)

    # --- where each account lives -------------------------------------------------------------------------
    own_country = np.where(rng.random(n) < 0.7, org_country[org_of],
                           search_categorical(rng, np.cumsum(geo.COUNTRY_WEIGHTS), n))
    own_tz = geo.pick_per_country(rng, own_country, "tz")
    own_locale = geo.pick_per_country(rng, own_country, "locale")
    tsafe = np.maximum(team, 0)
    country = np.where(teamed, office_country[tsafe], own_country)
    tz = np.where(teamed, office_tz[tsafe], own_tz)
    locale = np.where(teamed, office_locale[tsafe], own_locale)
    bot = persona == P_BOT
    country = np.where(bot, org_country[org_of], np.where(is_con, con["country"][cr], country))
    tz = np.where(bot, org_tz[org_of], np.where(is_con, con["tz"][cr], tz))
    locale = np.where(is_con, con["locale"][cr], locale)
    locale = np.where(bot, np.array([geo.primary_locale(c) for c in range(len(geo.COUNTRIES))])[country], locale)

    # --- names and e-mail addresses -------------------------------------------------------------------------
    loc_names = np.array(geo.LOCALES, dtype=object)
    fi = rng.integers(0, 1 << 30, n)
    li = rng.integers(0, 1 << 30, n)
    fi = np.where(is_con, con["first"][cr], fi)
    li = np.where(is_con, con["last"][cr], li)
    parts: dict[str, np.ndarray] = {}
    for name in ("first", "last", "first_slug", "last_slug"):
        parts[name] = np.empty(n, dtype=object)
    for li_ in np.unique(locale):
        m = np.nonzero(locale == li_)[0]
        pool = pools.names[loc_names[li_]]
        size = len(pool.first)
        parts["first"][m] = pool.first.take(pa.array(fi[m] % size)).to_numpy(zero_copy_only=False)
        parts["last"][m] = pool.last.take(pa.array(li[m] % size)).to_numpy(zero_copy_only=False)
        parts["first_slug"][m] = pool.first_slug.take(pa.array(fi[m] % size)).to_numpy(zero_copy_only=False)
        parts["last_slug"][m] = pool.last_slug.take(pa.array(li[m] % size)).to_numpy(zero_copy_only=False)
    app = rng.integers(0, len(BOT_APPS), n)
    app_names = np.array([a[0] for a in BOT_APPS], dtype=object)
    app_slugs = np.array([a[1] for a in BOT_APPS], dtype=object)
    domain = np.asarray(orgs["domain"].to_numpy(zero_copy_only=False))[org_of]
    free_dom = pools.free_email_domains.to_numpy(zero_copy_only=False)
    ext_dom = free_dom[rng.integers(0, len(free_dom), n)]
    con_dom = free_dom[con["email_domain"][cr] % len(free_dom)]
    rand_tag = rng.integers(0, 1000, n)
    con_tag = (con["home_ip"][cr] % 1000)
    df = pl.DataFrame({
        "org": org_of, "persona": persona, "locale": locale, "is_con": is_con,
        "shared": np.where(is_con, con["shared_email"][cr], False),
        "first": parts["first"].astype(str), "last": parts["last"].astype(str),
        "fs": parts["first_slug"].astype(str), "ls": parts["last_slug"].astype(str),
        "app": app_names[app].astype(str), "app_slug": app_slugs[app].astype(str),
        "domain": domain.astype(str), "ext_dom": ext_dom.astype(str), "con_dom": con_dom.astype(str),
        "tag": np.where(is_con, con_tag, rand_tag), "fi": fi % 100000,
    })
    eastern = pl.col("locale").is_in([geo.LOCALE_INDEX["ja_JP"], geo.LOCALE_INDEX["ko_KR"]])
    local = (pl.when((pl.col("fs") == "") | (pl.col("ls") == ""))
             .then(pl.concat_str([pl.lit("user"), pl.col("fi").cast(pl.String)]))
             .otherwise(pl.concat_str([pl.col("fs"), pl.lit("."), pl.col("ls")])))
    df = df.with_columns(local=local)
    df = df.with_columns(
        display_name=pl.when(pl.col("persona") == P_BOT).then(pl.col("app"))
        .when(eastern).then(pl.concat_str([pl.col("last"), pl.col("first")], separator=" "))
        .otherwise(pl.concat_str([pl.col("first"), pl.col("last")], separator=" ")),
        local=pl.when(pl.col("persona") == P_BOT).then(pl.col("app_slug"))
        .when((pl.col("persona") == P_EXT) | (pl.col("is_con") & pl.col("shared")))
        .then(pl.concat_str([pl.col("local"), pl.col("tag").cast(pl.String)]))
        .otherwise(pl.col("local")),
        dom=pl.when(pl.col("persona") == P_BOT).then(pl.concat_str([pl.lit("apps."), pl.col("domain")]))
        .when(pl.col("is_con") & pl.col("shared")).then(pl.col("con_dom"))
        .when(pl.col("persona") == P_EXT).then(pl.col("ext_dom"))
        .otherwise(pl.col("domain")),
    )
    # Same local part twice in one org and domain: number the repeats (john.smith, john.smith2, ...).
    df = df.with_columns(occ=pl.int_range(pl.len()).over(["org", "local", "dom"]))
    df = df.with_columns(email=pl.concat_str([
        pl.col("local"), pl.when(pl.col("occ") > 0).then((pl.col("occ") + 1).cast(pl.String)).otherwise(pl.lit("")),
        pl.lit("@"), pl.col("dom")]))

    # --- ids, roles, dates ------------------------------------------------------------------------------------
    account_id = to_hex(hex_ids(rng, n, 12))
    person_id = to_hex(hex_ids(rng, n, 8), PERSON_PREFIX[plan.scope])
    if is_con.any():
        person_id = pa.compute.if_else(pa.array(is_con), contractors["person_id"].take(pa.array(cr)), person_id)
    org_ids = orgs["org_id"].take(pa.array(org_of))
    role = np.where(persona == P_BOT, "app", np.where(persona == P_EXT, "guest",
                    np.where(persona == P_ADMIN, "org_admin",
                             np.where(rng.random(n) < 0.22, "viewer", "member"))))
    role = np.where((persona == P_ADMIN) & (rng.random(n) < 0.4), "site_admin", role)
    role[first_of_org_sorted(org_of)] = "org_admin"
    account_type = np.array([ACCOUNT_TYPE[name] for name in PERSONAS], dtype=object)[persona]
    start_us = epoch_us(p.start)
    org_created = orgs["created_at"].cast(pa.int64()).to_numpy()[org_of]
    created = org_created + (rng.random(n) * (start_us - org_created - US_PER_DAY)).astype(np.int64)
    team_ids = to_hex(hex_ids(rng, n_teams, 4), "team-")
    team_col = pa.compute.if_else(pa.array(team >= 0), team_ids.take(pa.array(np.maximum(team, 0))),
                                  pa.nulls(n, pa.string()))
    team_col = pa.compute.if_else(pa.array(teamed), team_col, pa.nulls(n, pa.string()))
    users = pa.table({
        "account_id": account_id,
        "org_id": org_ids,
        "email": df["email"].to_arrow(),
        "display_name": df["display_name"].to_arrow(),
        "account_type": pa.array(account_type.astype(str)),
        "role": pa.array(role.astype(str)),
        "locale": pa.array(np.array(geo.LOCALES)[locale]),
        "timezone": pa.array(np.array(geo.TIMEZONES)[tz]),
        "country": pa.array(np.array(geo.CODES)[country]),
        "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "team_id": team_col,
    })
    truth = pa.table({"account_id": account_id, "person_id": person_id, "org_id": org_ids})

    # --- devices and addresses -------------------------------------------------------------------------------
    ua_main = take(pools.user_agents, np.where(is_con, con["ua"][cr], rng.integers(0, 1 << 30, n))
                   % len(pools.user_agents))
    bot_ua = pa.array([a[3] for a in BOT_APPS]).take(pa.array(app))
    ua_main = pa.compute.if_else(pa.array(bot), bot_ua, ua_main)
    ua_alt = take(pools.mobile_agents, rng.integers(0, len(pools.mobile_agents), n))
    ua_alt = pa.compute.if_else(pa.array(bot), bot_ua, ua_alt)
    host = rng.integers(2, 255, n)
    ip_office = geo.ipv4_strings(oa[tsafe], ob[tsafe], oc[tsafe], host)
    ip_office = pa.compute.if_else(pa.array(teamed), ip_office, pa.nulls(n, pa.string()))
    home_rng = stream(plan.seed, f"{plan.scope}/home-ip", chunk)
    ip_home = _home_ips(home_rng, country)
    # A contractor's home address is the same in all their orgs: drawn from the person's own stream.
    if is_con.any():
        cidx = np.nonzero(is_con)[0]
        hip = con["home_ip"][cr[cidx]]
        chome = geo.ipv4_strings(np.array([geo.COUNTRIES[c].ipv4_first_octets[0] for c in country[cidx]]),
                                 (hip >> 8) & 255, (hip >> 16) & 255, 1 + (hip % 254))
        full = ip_home.to_numpy(zero_copy_only=False).astype(object)
        full[cidx] = chome.to_numpy(zero_copy_only=False)
        ip_home = pa.array(full.astype(str))
    cloud = np.array(geo.CLOUD_FIRST_OCTETS)[rng.integers(0, len(geo.CLOUD_FIRST_OCTETS), n)]
    bot_ip = geo.ipv4_strings(cloud, rng.integers(0, 256, n), rng.integers(0, 256, n), rng.integers(1, 255, n))
    ip_home = pa.compute.if_else(pa.array(bot), bot_ip, ip_home)
    vpn_org = geo.ipv4_strings(*_ipv4_in_country(rng, org_country))
    has_vpn = (org_plan == 3)[org_of] & human & ~is_con
    ip_vpn = pa.compute.if_else(pa.array(has_vpn), vpn_org.take(pa.array(org_of)), pa.nulls(n, pa.string()))
    codes = np.array(geo.CODES)
    geo_home = pa.array(np.where(bot, geo.CLOUD_COUNTRY, codes[country]))
    geo_office = pa.array(codes[office_country[tsafe]])
    geo_vpn = pa.array(codes[org_country[org_of]])

    # --- activity: unused seats, occasional users, regulars (heavy-tailed); personal rhythm ---------------------
    act = p.activity
    events = _activity(rng, p, persona, is_con, con["weight"][cr], org_of, plan.org_events[lo:hi])
    shift = np.where(is_con, con["shift"][cr], rhythm.draw_shift(rng, n)).astype(np.int64)
    shift = np.where(bot, 0, shift)
    evening = np.where(is_con, con["evening"][cr],
                       rhythm.draw_propensities(rng, n, act.evening_level, act.propensity_concentration))
    weekend = np.where(is_con, con["weekend"][cr],
                       rhythm.draw_propensities(rng, n, act.weekend_level, act.propensity_concentration))
    org_auth = np.where(org_plan >= 2, 0, np.where(rng.random(n_org) < 0.6, 1, 2))
    auth = np.where(bot, 3, org_auth[org_of])
    auth = np.where(persona == P_EXT, 1, auth)
    acc = Accounts(org=org_of, persona=persona, team=team, tz=tz, shift_h=shift,
                   remote=remote | is_con | (persona == P_EXT),
                   events=events, ua_main=ua_main, ua_alt=ua_alt, ip_office=ip_office, ip_home=ip_home, ip_vpn=ip_vpn,
                   geo_office=geo_office, geo_home=geo_home, geo_vpn=geo_vpn, account_id=account_id,
                   email=users["email"].combine_chunks(), auth_main=auth,
                   product_pref=np.where(bot, np.array([a[2] for a in BOT_APPS])[app], -1),
                   team_base=team_base, teams_per_org=teams_per_org, org_ids=orgs["org_id"].combine_chunks(),
                   n_teams=n_teams, evening=evening, weekend=weekend)
    return users, truth, acc


def first_of_org_sorted(org_of: np.ndarray) -> np.ndarray:
    return np.nonzero(np.r_[True, org_of[1:] != org_of[:-1]])[0]


def _activity(rng: np.random.Generator, p: GenerationParams, persona: np.ndarray, is_con: np.ndarray,
              con_weight: np.ndarray, org_of: np.ndarray, org_events: np.ndarray) -> np.ndarray:
    """Events of each account: a zero-inflated, heavy-tailed mixture with exact totals per org.

    A human seat is *unused* (no event in the period: a licence nobody uses, an invitation never taken up),
    *occasional* (one event, or a few: a one-off visit, a guest looking at one page) or *regular* (a lognormal
    share of the org's remaining events). Externals are occasional twice as often. Bots, contractors and each
    org's first account (its admin) are regular, so every org keeps a regular account."""
    a = p.activity
    n = len(persona)
    human = persona <= P_EXT
    first = np.zeros(n, bool)
    first[first_of_org_sorted(org_of)] = True
    u = rng.random(n)
    occ_p = np.where(persona == P_EXT, np.minimum(0.95, 2 * a.occasional_share), a.occasional_share)
    free = human & ~is_con & ~first
    unused = free & (u < a.unused_share)
    occasional = free & ~unused & (u < a.unused_share + (1 - a.unused_share) * occ_p)
    few = np.where(rng.random(n) < a.occasional_single, 1,
                   1 + rng.geometric(1.0 / (1.0 + a.occasional_mean_extra), n))
    few = np.where(occasional, few, 0)
    # An org never hands out more occasional events than it has: later occasional seats stay unused.
    before = np.cumsum(few) - few
    org_first = np.r_[0, np.cumsum(np.bincount(org_of, minlength=len(org_events)))[:-1]]
    within = before - before[org_first[org_of]]
    few = np.where(within + few <= org_events[org_of], few, 0)
    regular = ~unused & ~occasional
    # Bots' weight is relative to an average human seat, of which only the regular share carries weight.
    reg_share = (1 - a.unused_share) * (1 - a.occasional_share)
    mult = np.select([persona == P_BOT, persona == P_EXT, persona == P_ADMIN],
                     [a.bot_weight * reg_share, a.external_weight, 1.3], 1.0)
    weight = rng.lognormal(-a.sigma ** 2 / 2, a.sigma, n) * mult
    weight = np.where(is_con, con_weight, weight)
    weight = np.where(regular, weight, 0.0)
    rest = org_events - np.bincount(org_of, weights=few, minlength=len(org_events)).astype(np.int64)
    return few + np.bincount(_allot(rng, weight, org_of, rest), minlength=n)


def _allot(rng: np.random.Generator, weight: np.ndarray, org_of: np.ndarray, org_events: np.ndarray) -> np.ndarray:
    """Account index of each of the org's events, drawn with probability ~ weight (exact totals per org)."""

    draws = np.repeat(np.arange(len(org_events)), org_events)
    return grouped_categorical(rng, weight, org_of, draws)
