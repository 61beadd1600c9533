"""Events of one chunk: sessions in local time, Markov action sequences, objects, devices and addresses.

The model, each part vectorized over all accounts of the chunk:
- activity per account: unused seats, occasional users and heavy-tailed regulars (see
  :func:`generators.population._activity`; events allotted exactly per org);
- session starts follow a non-homogeneous Poisson process over the account's *local* hour and weekday
  (Malmgren et al., PNAS 2008: circadian and weekly cycles modulate human activity), with a lunch dip and
  personal evening and weekend propensities and a shift of rhythm (:mod:`generators.rhythm`); bots run flat;
- within a session, gaps are lognormal (Stouffer et al., 2006, on heavy-tailed inter-event times) and
  actions follow a first-order Markov chain per product and persona;
- objects within a container follow a Zipf law; containers belong to teams;
- addresses: the team office /24 on local working hours, home (or the org VPN) otherwise.

The hour-of-week profiles, product mix, Markov chain and session/gap parameters are constants of the
generator unless a :class:`generators.model.BehaviourModel` is given (a model fitted to data, e.g. under
differential privacy by ``dp.synthesize``): then the same code samples from the model's tables instead.
"""

from __future__ import annotations

import datetime as dt
import functools

import numpy as np
import polars as pl
import pyarrow as pa

from generators import geo, rhythm
from generators.catalog import (
    ADMIN_OBJECT_PREFIX,
    NO_OBJECT_ACTIONS,
    PERSONAS,
    PRODUCT_MIX,
    PRODUCTS,
    markov_chain,
)
from generators.model import BehaviourModel, even_quantiles
from generators.params import ActivityParams, GenerationParams
from generators.plan import epoch_us
from generators.population import AUTH_TYPES, P_BOT, Accounts
from generators.rng import grouped_categorical, hex_ids, to_hex

US = 1_000_000
OUTCOMES = ("success", "failure", "denied")


@functools.lru_cache(maxsize=16)
def local_profiles(start: dt.date, days: int, weekend: float, night: float,
                   evening: float = ActivityParams().evening_level) -> np.ndarray:
    """Cumulative weights of the average human's activity over the local hours of the period (people's own
    rhythms vary around it, see :mod:`generators.rhythm`; bots are flat)."""
    return np.cumsum(rhythm.mean_profile(start, days, weekend, night, evening))


def _labels(values: tuple[str, ...] | list[str], idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as an Arrow string array, gathered by Arrow from the few distinct values."""
    return pa.array(values, pa.string()).take(pa.array(idx))


def _pick(choice: np.ndarray, row: np.ndarray, *columns: pa.Array) -> pa.Array:
    """``columns[choice[i]][row[i]]`` for every i: one Arrow take from the columns laid end to end."""
    stacked = pa.concat_arrays([c.cast(columns[0].type) for c in columns])
    return stacked.take(pa.array(choice * len(columns[0]) + row))


def _segment_rank(lengths: np.ndarray) -> np.ndarray:
    """0..len-1 for each segment, concatenated."""
    total = int(lengths.sum())
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(total) - starts


def _markov(rng: np.random.Generator, persona: np.ndarray, product: np.ndarray, lengths: np.ndarray,
            chain: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """State (action) of every event, sessions laid end to end in session order; ``chain`` = (cumulative
    transition rows, cumulative entry rows) of a model, default the catalog's chain."""
    ch = markov_chain()
    cum, entry_cum = chain if chain is not None else (ch.cum, ch.entry_cum)
    n_states = len(ch.states)
    offsets = np.cumsum(lengths) - lengths
    state = np.empty(int(lengths.sum()), dtype=np.int64)
    # Each (persona, row) of the cumulative matrices is laid out on [r, r+1) so one searchsorted serves all.
    rows_t = cum.reshape(-1, n_states)
    flat_t = (rows_t + np.arange(len(rows_t))[:, None]).ravel()
    rows_e = entry_cum.reshape(-1, n_states)
    flat_e = (rows_e + np.arange(len(rows_e))[:, None]).ravel()
    row_e = persona * len(PRODUCTS) + product
    pos = np.searchsorted(flat_e, row_e + rng.random(len(row_e)) * (1 - 1e-12), side="right")
    state[offsets] = np.minimum(pos - row_e * n_states, n_states - 1)
    by_len = np.argsort(-lengths, kind="stable")
    sorted_len = lengths[by_len]
    # Sessions longest first: those longer than t are a prefix, so each step slices instead of gathering.
    first_sorted = offsets[by_len]
    base_sorted = persona[by_len] * n_states
    for t in range(1, int(lengths.max(initial=0))):
        k = int(np.searchsorted(-sorted_len, -t, side="left"))  # sessions longer than t
        idx = first_sorted[:k] + t
        row = base_sorted[:k] + state[idx - 1]
        pos = np.searchsorted(flat_t, row + rng.random(k) * (1 - 1e-12), side="right")
        state[idx] = np.minimum(pos - row * n_states, n_states - 1)
    return state


def build_events(rng: np.random.Generator, acc: Accounts, p: GenerationParams,
                 model: BehaviourModel | None = None) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """The events of one chunk, sorted by time, and a few arrays the config-change builder needs.

    With a ``model``, its tables replace the generator's constants (same draws from ``rng`` otherwise)."""
    sp = p.session
    n_acc = len(acc.events)
    bot = acc.persona == P_BOT
    c = acc.events.astype(np.int64)
    mean_len = np.where(bot, sp.bot_mean_events, sp.mean_events) if model is None else \
        model.mean_events[acc.persona]
    n_sess = np.where(c > 0, 1 + rng.binomial(np.maximum(c - 1, 0), 1.0 / mean_len), 0)
    s_acc = np.repeat(np.arange(n_acc), n_sess)
    n_s = len(s_acc)
    extra = c - n_sess
    extra_draws = np.repeat(np.arange(n_acc), extra)
    owner = grouped_categorical(rng, rng.exponential(1.0, n_s), s_acc, extra_draws) if len(extra_draws) else \
        np.zeros(0, dtype=np.int64)
    lengths = 1 + np.bincount(owner, minlength=n_s)

    # --- when: local slot by profile, personal shift, to UTC with the zone's offset at that hour ----------
    hours = p.days * 24
    s_bot = bot[s_acc]
    u = rng.random(n_s)
    if model is None:
        a = p.activity
        evening = np.full(n_acc, a.evening_level) if acc.evening is None else acc.evening
        weekend = np.full(n_acc, a.weekend_level) if acc.weekend is None else acc.weekend
        human = rhythm.human_slots(u, evening[s_acc], weekend[s_acc], p.start, p.days, a.night_level)
        slot = np.where(s_bot, (u * hours).astype(np.int64), human)
    else:  # each persona's profile laid out on [k, k+1): one searchsorted for all sessions
        cum = model.period_cum(p.start, p.days)
        flat = (cum / cum[:, -1:] + np.arange(len(cum))[:, None]).ravel()
        pk = acc.persona[s_acc]
        if model.even_starts:
            u = even_quantiles(u, pk * len(geo.TIMEZONES) + acc.tz[s_acc], lengths)
        slot = np.searchsorted(flat, pk + u * (1 - 1e-12), side="right") - pk * hours
    slot = np.minimum(slot, hours - 1)
    slot = (slot + np.where(s_bot, 0, acc.shift_h[s_acc])) % hours
    offsets = geo.utc_offsets(p.start, hours)
    start_us = epoch_us(p.start)
    period = p.days * 86_400 * US
    s_start = (slot * 3600 + rng.random(n_s) * 3600) * US - offsets[acc.tz[s_acc], slot] * US
    s_start = s_start.astype(np.int64)

    # --- what: product per session, actions per event ----------------------------------------------------------
    persona_s = acc.persona[s_acc]
    mix = np.cumsum(np.array([PRODUCT_MIX[name] for name in PERSONAS]) if model is None else model.product_mix,
                    axis=1)
    product = (rng.random(n_s)[:, None] * mix[persona_s, -1:] > mix[persona_s]).sum(1)
    pref = acc.product_pref[s_acc]
    product = np.where((pref >= 0) & (rng.random(n_s) < 0.8), pref, product)
    state = _markov(rng, persona_s, product, lengths, None if model is None else model.chain_cum())

    n_ev = int(lengths.sum())
    e_sess = np.repeat(np.arange(n_s), lengths)
    e_pos = _segment_rank(lengths)
    if model is None:
        gap_median, gap_sigma = np.where(s_bot, 2.0, sp.gap_median_seconds)[e_sess], sp.gap_sigma
    else:
        gap_median = model.gap_median_seconds[persona_s][e_sess]
        gap_sigma = model.gap_sigma[persona_s][e_sess]
    gaps = np.exp(np.log(gap_median) + gap_sigma * rng.standard_normal(n_ev))
    gaps[e_pos == 0] = 0.0
    csum = np.cumsum(gaps)
    within = csum - np.repeat(csum[np.cumsum(lengths) - lengths], lengths)
    t_rel = (s_start[e_sess] + (within * US).astype(np.int64)) % period
    e_time = start_us + t_rel

    # --- where from: per session address and device ----------------------------------------------------------
    local_hour = slot % 24
    local_dow = (p.start.weekday() + slot // 24) % 7
    office_hours = (local_dow < 5) & (local_hour >= 8) & (local_hour < 19)
    has_office = ~np.asarray(acc.ip_office.is_null().to_numpy(zero_copy_only=False))[s_acc]
    has_vpn = ~np.asarray(acc.ip_vpn.is_null().to_numpy(zero_copy_only=False))[s_acc]
    at_office = has_office & office_hours & (rng.random(n_s) < 0.85)
    on_vpn = ~at_office & has_vpn & (rng.random(n_s) < 0.35)
    where = np.where(at_office, 0, np.where(on_vpn, 2, 1))  # 0 office, 1 home, 2 vpn
    alt_device = ~s_bot & (rng.random(n_s) < 0.15)
    auth = acc.auth_main[s_acc]
    auth = np.where((auth == 1) & (rng.random(n_s) < 0.1), 2, auth)

    # --- on what: containers of the team (bots: any team of their org), Zipf objects ---------------------------
    team = acc.team[s_acc]
    org_s = acc.org[s_acc]
    any_team = acc.team_base[org_s] + (rng.random(n_s) * acc.teams_per_org[org_s]).astype(np.int64)
    team = np.where(team < 0, any_team, team)
    n_cont = 1 + rng.poisson(1.5, (acc.n_teams, len(PRODUCTS)))
    cont_i = np.minimum(rng.zipf(2.0, n_s) - 1, n_cont[team, product] - 1)
    cont_key = (team * len(PRODUCTS) + product) * 64 + np.minimum(cont_i, 63)

    # --- sort by time; then build strings in final order ---------------------------------------------------------
    order = np.argsort(e_time, kind="stable")  # = lexsort((arange, e_time)): ties keep session order
    e_sess, state, e_time = e_sess[order], state[order], e_time[order]
    ch = markov_chain()
    no_obj = np.array([a in NO_OBJECT_ACTIONS for a in ch.states])
    admin_prefix = np.array([ADMIN_OBJECT_PREFIX.get(a, "") for a in ch.states], dtype=object)
    e_acc = s_acc[e_sess]
    obj_rank = np.minimum(rng.zipf(1.3, n_ev), 5000)
    u_out = rng.random(n_ev)
    is_login = np.array([a == "user.logged_in" for a in ch.states])[state]
    outcome = np.where(u_out < np.where(is_login, 0.04, 0.008), 1, np.where(u_out > 0.996, 2, 0))

    sess_ids = to_hex(hex_ids(rng, n_s, 16))
    event_ids = to_hex(hex_ids(rng, n_ev, 12))
    # Container ids are keyed hashes of (chunk-local team, product, index): stable within the chunk's stream.
    uniq_keys, cont_inv = np.unique(cont_key, return_inverse=True)
    cont_names = to_hex(hex_ids(rng, len(uniq_keys), 5), "")
    prod_letter = np.array(["J", "C", "B", "A"], dtype=object)[(uniq_keys // 64) % len(PRODUCTS)]
    cont_names = pl.Series(np.asarray(prod_letter, dtype=str)) + "-" + pl.from_arrow(cont_names)

    # Per-event strings gathered from the few distinct values (never a per-row numpy str conversion); an
    # admin action names its own object (prefix-rank), others an object of the session's container (c-rank).
    has_prefix = np.array([x != "" for x in admin_prefix])[state]
    nobj = no_obj[state]
    df = pl.DataFrame({
        "c": cont_names.gather(cont_inv.reshape(-1)[e_sess]),
        "prefix": pl.Series(admin_prefix.astype(str)).gather(state),
        "rank": obj_rank, "hp": has_prefix, "nobj": nobj,
    })
    df = df.select(
        container_id=pl.when(pl.col("nobj") | pl.col("hp")).then(None).otherwise(pl.col("c")),
        object_id=pl.when(pl.col("nobj")).then(None).otherwise(pl.concat_str(
            [pl.when(pl.col("hp")).then(pl.col("prefix")).otherwise(pl.col("c")), pl.col("rank").cast(pl.String)],
            separator="-")),
    )
    take_s = pa.array(e_sess)
    take_a = pa.array(e_acc)
    where_e = where[e_sess]
    ip = _pick(where_e, e_acc, acc.ip_office, acc.ip_home, acc.ip_vpn)
    geo_c = _pick(where_e, e_acc, acc.geo_office, acc.geo_home, acc.geo_vpn)
    ua = _pick(alt_device[e_sess].astype(np.int64), e_acc, acc.ua_main, acc.ua_alt)
    events = pa.table({
        "event_id": event_ids,
        "event_time": pa.array(e_time, pa.timestamp("us", tz="UTC")),
        "org_id": acc.org_ids.take(pa.array(acc.org[e_acc])),
        "product": _labels(PRODUCTS, product[e_sess]),
        "action": _labels(ch.states, state),
        "account_id": acc.account_id.take(take_a),
        "actor_email": acc.email.take(take_a),
        "auth_type": _labels(AUTH_TYPES, auth[e_sess]),
        "session_id": sess_ids.take(take_s),
        "object_id": df["object_id"].to_arrow(),
        "container_id": df["container_id"].to_arrow(),
        "client_ip": ip,
        "user_agent": ua,
        "geo_country": geo_c,
        "outcome": _labels(OUTCOMES, outcome),
    })
    is_cfg = np.array([a == "config.changed" for a in ch.states])[state]
    extras = {"cfg_time": e_time[is_cfg], "cfg_acc": e_acc[is_cfg], "cfg_product": product[e_sess][is_cfg]}
    return events, extras
