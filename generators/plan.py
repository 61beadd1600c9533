"""The population plan: the small, global part of a population, computed from (seed, scope, params) alone.

It fixes the orgs (size, plan tier, country, industry, ...), the exact number of events each org produces
(a multinomial split of the requested total, so a run has exactly ``events`` events), the persons who hold
accounts in several orgs (contractors), and the chunk layout: contiguous runs of whole orgs of about
``events_per_chunk`` events, so an org's sessions are never cut apart. Everything per account and per event
is generated later, chunk by chunk, from streams derived from (seed, scope, chunk).

Scopes: ``main`` (the published population) and ``control``: held-out accounts *of the same orgs*, generated
the same way and never anonymized or published — anonymeter's control set, a random held-out part of the same
population (Giomi et al., PoPETs 2023). Each org keeps its row (same ``org_id``, plan, size band, country,
industry); the control plan draws ``control_share`` × the org's own accounts afresh (stochastic rounding), its
own multi-org persons among the same orgs, and as many events per account as the main population. A control
drawn from *other* orgs made the attacks measure which tenants are in the data (org mix, countries and time
zones of a few large orgs), not whether a person is; and a control much smaller than the original made
anonymeter's size correction decide the singling-out risk. The main plan never reads the control's streams,
so the raw tables do not depend on ``control_share``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from generators import geo, rhythm
from generators.catalog import INDUSTRIES
from generators.params import PLANS, GenerationParams
from generators.pools import build_pools
from generators.rng import hex_ids, search_categorical, stream, to_hex

SCOPES = ("main", "control")
PERSON_PREFIX = {"main": "p-", "control": "pc-"}  # person ids of the two scopes never collide
# Mean over all seats (humans, bots, unused and occasional seats together); sets how many accounts a run holds.
# Real seats are sparse: the median active person is active in a few distinct hours of a 28-day period.
EVENTS_PER_ACCOUNT_DAY = 3.0  # the default of ActivityParams.events_per_seat_day
SIZE_BANDS = ((10, "1-10"), (50, "11-50"), (200, "51-200"), (1000, "201-1000"), (5000, "1001-5000"),
              (10**12, "5001+"))
US_PER_DAY = 86_400 * 1_000_000


def size_band(n: np.ndarray) -> np.ndarray:
    edges = np.array([e for e, _ in SIZE_BANDS])
    labels = np.array([lab for _, lab in SIZE_BANDS], dtype=object)
    return labels[np.searchsorted(edges, n, side="left")]


def epoch_us(day: dt.date) -> int:
    return int((dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)).timestamp()) * 1_000_000


@dataclass(frozen=True)
class Plan:
    scope: str
    seed: int
    orgs: pa.Table                   # one row per org, in org order (see ORG_PLAN columns in build_plan)
    org_events: np.ndarray           # exact events per org
    org_accounts: np.ndarray         # accounts per org, contractor slots included
    chunks: tuple[tuple[int, int], ...]  # [start, stop) org ranges
    contractors: pa.Table            # one row per multi-org person
    slot_org: np.ndarray             # contractor slots: org index (sorted)
    slot_person: np.ndarray          # ... and contractor row

    @property
    def n_chunks(self) -> int:
        return len(self.chunks)


def _scope_key(scope: str) -> int:
    return SCOPES.index(scope)


def _org_sizes(rng: np.random.Generator, p: GenerationParams, target_accounts: float) -> np.ndarray:
    # The largest org must fit in one chunk (an org is never split), so that memory per chunk stays flat
    # however many events a run has; and no org takes more than a fifth of a small population.
    fits_chunk = int(p.events_per_chunk / (p.activity.events_per_seat_day * p.days))
    cap = max(p.org_size_min + 1, min(p.org_size_max, fits_chunk, int(target_accounts * 0.2) + p.org_size_min))
    sizes: list[np.ndarray] = []
    total = 0.0
    while total < target_accounts:
        # Pareto (Lomax + min) tail, truncated at the cap by resampling-free clipping of the uniform.
        u = rng.random(256)
        umin = (cap / p.org_size_min) ** (-p.org_size_alpha)
        x = p.org_size_min * (1 - u * (1 - umin)) ** (-1 / p.org_size_alpha)
        s = np.floor(x).astype(np.int64)
        csum = total + np.cumsum(s)
        stop = int(np.searchsorted(csum, target_accounts, side="left")) + 1
        sizes.append(s[:stop])
        total = float(csum[min(stop, len(s)) - 1])
    return np.concatenate(sizes)


@functools.lru_cache(maxsize=8)
def build_plan(seed: int, scope: str, params_json: str) -> Plan:
    """The plan of one scope. Cached per process: chunks of the same run share it."""
    p = GenerationParams.model_validate_json(params_json)
    if scope == "control":
        return _control_plan(build_plan(seed, "main", params_json), p)
    k = _scope_key(scope)
    rng = stream(seed, "plan", k)
    target_events = p.events
    target_accounts = target_events / (p.activity.events_per_seat_day * p.days)
    base_sizes = _org_sizes(rng, p, max(target_accounts, p.org_size_min))
    n = len(base_sizes)

    country = search_categorical(rng, np.cumsum(geo.COUNTRY_WEIGHTS), n)
    # Bigger orgs buy bigger plans: tilt the plan mix by log size.
    mix = np.array([p.plan_mix.get(name, 0.0) for name in PLANS])
    tilt = np.log10(base_sizes)[:, None] * np.array([-0.4, 0.0, 0.3, 0.8])[None, :]
    w = mix[None, :] * np.exp(tilt)
    plan = (rng.random(n)[:, None] * w.sum(1, keepdims=True) > np.cumsum(w, 1)).sum(1)
    industry = search_categorical(rng, np.cumsum([w for _, w in INDUSTRIES]), n)
    residency_country = np.array([c.residency for c in geo.COUNTRIES], dtype=object)[country]
    # Only paid tiers pin data residency; lower tiers live in the default region of their continent.
    low = plan < 2
    residency = np.where(low, np.where(np.isin(residency_country, ["eu", "de"]), "eu", "us"), residency_country)
    eu = np.isin(residency_country, ["eu", "de"])
    opt_out = ((plan == 3) & (rng.random(n) < 0.55)) | (eu & (plan == 2) & (rng.random(n) < 0.25))
    locale = np.array([geo.primary_locale(c) for c in range(len(geo.COUNTRIES))])[country]
    tz = geo.pick_per_country(rng, country, "tz")
    created = epoch_us(p.start) - (rng.random(n) * 8 * 365 + 30).astype(np.int64) * US_PER_DAY
    pools = build_pools(seed)
    name_idx = rng.integers(0, len(pools.companies), n)
    slugs = np.asarray(pools.company_slugs.take(pa.array(name_idx)).to_pylist(), dtype=object)
    tld = np.array([c.tld for c in geo.COUNTRIES], dtype=object)[country]
    # Unique domains: a repeated slug gets a numeric suffix (vectorized occurrence count).
    order = np.lexsort((np.arange(n), slugs.astype(str)))
    s_sorted = slugs[order].astype(str)
    first = np.r_[True, s_sorted[1:] != s_sorted[:-1]]
    grp_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    occ = np.empty(n, dtype=np.int64)
    occ[order] = np.arange(n) - grp_start
    suffix = np.where(occ == 0, "", occ.astype(str))
    domain = (slugs.astype(str) + suffix.astype(object) + "." + tld.astype(str)).astype(object)
    contractors, slot_org, slot_person = _contractors(seed, scope, p, base_sizes)

    accounts = base_sizes + np.bincount(slot_org, minlength=n)
    erng = stream(seed, "plan/events", k)
    org_events = erng.multinomial(target_events, accounts / accounts.sum())
    org_ids = to_hex(hex_ids(rng, n, 6), "org-")
    orgs = pa.table({
        "org_id": org_ids,
        "name": pools.companies.take(pa.array(name_idx)),
        "plan": pa.array(np.array(PLANS, dtype=object)[plan]),
        "data_residency": pa.array(residency.astype(str)),
        "country": pa.array(np.array(geo.CODES, dtype=object)[country]),
        "industry": pa.array(np.array([i for i, _ in INDUSTRIES], dtype=object)[industry]),
        "size_band": pa.array(size_band(accounts).astype(str)),
        "default_locale": pa.array(np.array(geo.LOCALES, dtype=object)[locale]),
        "default_timezone": pa.array(np.array(geo.TIMEZONES, dtype=object)[tz]),
        "ai_training_opt_out": pa.array(opt_out),
        "created_at": pa.array(created, pa.timestamp("us", tz="UTC")),
        "domain": pa.array(domain.astype(str)),
        "n_accounts": pa.array(accounts, pa.int32()),
        "_country": pa.array(country, pa.int32()),
        "_tz": pa.array(tz, pa.int32()),
        "_plan": pa.array(plan, pa.int8()),
    })
    return Plan(scope, seed, orgs, org_events, accounts, _chunk_layout(org_events, p.events_per_chunk), contractors,
                np.asarray(slot_org), np.asarray(slot_person))


def _chunk_layout(org_events: np.ndarray, events_per_chunk: int) -> tuple[tuple[int, int], ...]:
    """Contiguous runs of whole orgs of about ``events_per_chunk`` events."""
    n = len(org_events)
    chunks: list[tuple[int, int]] = []
    start, acc = 0, 0
    for i, e in enumerate(org_events.tolist()):
        acc += e
        if acc >= events_per_chunk:
            chunks.append((start, i + 1))
            start, acc = i + 1, 0
    if start < n:
        chunks.append((start, n))
    return tuple(chunks)


def _contractors(seed: int, scope: str, p: GenerationParams,
                 base_sizes: np.ndarray) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Persons with accounts in 2-3 orgs, drawn with probability ~ sqrt(the org's own accounts): their table,
    and the slots (org index, sorted; contractor row)."""
    k = _scope_key(scope)
    n = len(base_sizes)
    est_humans = base_sizes.sum() * (1 - p.bot_share - p.external_share)
    n_con = int(np.round(p.multi_org_persons * est_humans)) if n >= 2 else 0
    crng = stream(seed, "plan/contractors", k)
    n_orgs_each = np.where(crng.random(n_con) < 0.8, 2, 3)
    cum = np.cumsum(np.sqrt(base_sizes))
    picks = search_categorical(crng, cum, int(n_orgs_each.sum()))
    person_of_pick = np.repeat(np.arange(n_con), n_orgs_each)
    pairs = np.unique(np.stack([person_of_pick, picks], 1), axis=0)  # drops a repeated org
    slot_order = np.lexsort((pairs[:, 0], pairs[:, 1]))
    slot_person, slot_org = pairs[slot_order, 0], pairs[slot_order, 1]
    con_country = search_categorical(crng, np.cumsum(geo.COUNTRY_WEIGHTS), n_con)
    con_tz = geo.pick_per_country(crng, con_country, "tz")
    con_locale = geo.pick_per_country(crng, con_country, "locale")
    contractors = pa.table({
        "person_id": to_hex(hex_ids(crng, n_con, 8), PERSON_PREFIX[scope]),
        "country": pa.array(con_country, pa.int32()),
        "tz": pa.array(con_tz, pa.int32()),
        "locale": pa.array(con_locale, pa.int32()),
        "first": pa.array(crng.integers(0, 1 << 30, n_con), pa.int64()),
        "last": pa.array(crng.integers(0, 1 << 30, n_con), pa.int64()),
        "ua": pa.array(crng.integers(0, 1 << 30, n_con), pa.int64()),
        "home_ip": pa.array(crng.integers(0, 1 << 30, n_con), pa.int64()),
        "shared_email": pa.array(crng.random(n_con) < p.shared_email_share),
        "email_domain": pa.array(crng.integers(0, 1 << 30, n_con), pa.int64()),
        "shift": pa.array(rhythm.draw_shift(crng, n_con), pa.int8()),
        "weight": pa.array(crng.lognormal(0.3, p.activity.sigma * 0.8, n_con)),
        "evening": pa.array(rhythm.draw_propensities(crng, n_con, p.activity.evening_level,
                                                     p.activity.propensity_concentration)),
        "weekend": pa.array(rhythm.draw_propensities(crng, n_con, p.activity.weekend_level,
                                                     p.activity.propensity_concentration)),
    })
    return contractors, np.asarray(slot_org), np.asarray(slot_person)


def _control_plan(main: Plan, p: GenerationParams) -> Plan:
    """Held-out accounts of the main plan's orgs: ``control_share`` × each org's own accounts (stochastic
    rounding, so small orgs hold controls in proportion), multi-org persons of their own among the same orgs,
    and the main population's events per account. Orgs rows are the main plan's; no chunk when no account."""
    n = main.orgs.num_rows
    own = main.org_accounts - np.bincount(main.slot_org, minlength=n)
    rng = stream(main.seed, "plan/control", _scope_key("control"))
    base = np.floor(own * p.control_share + rng.random(n)).astype(np.int64)
    contractors, slot_org, slot_person = _contractors(main.seed, "control", p, base)
    accounts = base + np.bincount(slot_org, minlength=n)
    total = int(accounts.sum())
    if total == 0:
        return Plan("control", main.seed, main.orgs, np.zeros(n, np.int64), accounts, (), contractors,
                    slot_org, slot_person)
    target = round(int(main.org_events.sum()) * total / int(main.org_accounts.sum()))
    org_events = stream(main.seed, "plan/events", _scope_key("control")).multinomial(target, accounts / total)
    return Plan("control", main.seed, main.orgs, org_events, accounts,
                _chunk_layout(org_events, p.events_per_chunk), contractors, slot_org, slot_person)


_ADOPTED: dict[tuple[int, str, str], Plan] = {}


def adopt_plans(seed: int, params_json: str, plans: dict[str, Plan]) -> None:
    """Use ``plans`` (scope -> the :func:`build_plan` result for ``seed`` and ``params_json``, built in another
    process, e.g. the driver that ships them to its workers) instead of building them again here: at 100M
    events a plan holds ~80k orgs and takes seconds per process."""
    for scope, plan in plans.items():
        _ADOPTED[(seed, scope, params_json)] = plan


def plan_for(seed: int, scope: str, params: GenerationParams) -> Plan:
    js = params.model_dump_json()
    adopted = _ADOPTED.get((seed, scope, js))
    return adopted if adopted is not None else build_plan(seed, scope, js)
