"""Fitting the generator to a log: the parameters of ``generate`` estimated from real (or generated) events.

The estimates are the non-private counterparts of what ``dp.synthesize`` measures under differential privacy,
and they feed the same model (:class:`generators.model.BehaviourModel`, built by
:func:`generators.model.from_counts`):

* behaviour per group (members, admins, externals, bots; :data:`generators.params.GROUPS`): the session-start
  profile over the *local* hour of week (time zone of the account, else the UTC offset of each event, else
  UTC), the product mix, first actions and action transitions within sessions (the catalog's Markov states),
  the session length (binomial model of the generator: 1/mean = sessions beyond each account's first /
  events beyond its first) and lognormal in-session gaps (moments of the log gaps);
* activity: unused seats (accounts without events, when an accounts list is given), events per seat and day,
  bots' and externals' weight, and the occasional/regular mixture with its lognormal spread, fitted by
  simulated moments — the generator's own allotment (:func:`generators.population._activity`) is run with
  fixed random numbers and its events-per-account histogram matched to the log's (octave bins, Nelder–Mead);
* population: shares of bots, externals and admins, team size and remote share (when teams are known), the
  Pareto tail of org sizes (when orgs are known), multi-org persons (when a truth person is known).

Sessions are the log's own (``session_id``) or, without one, runs of an account's events with gaps under 30
minutes. Everything is vectorized in Polars/numpy; the period is the log's (first UTC day, whole days).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import minimize, nnls

from generators import realism
from generators.catalog import PRODUCTS, markov_chain
from generators.model import HOURS_OF_WEEK, GroupCounts, from_counts, to_fitted
from generators.params import GROUPS, ActivityParams, GenerationParams
from generators.plan import plan_for
from generators.population import P_ADMIN, P_BOT, P_DEV, P_EXT, _activity
from generators.realism import gini
from generators.rng import stream
from generators.weektime import hour_of_week

SESSION_GAP_S = 1800
MIN_GAP_S = 0.5  # zero gaps (second-resolution logs) count as half a second
ADMIN_ROLES = ("org_admin", "site_admin", "admin", "owner", "administrator")
BINS = np.array([1, 2, 3, 5, 9, 17, 33, 65, 129, 257, 513, 1025, 2049, 4097])  # activity bins (lower edges)


@dataclass(frozen=True)
class Fit:
    """The fitted generation parameters, the counts they came from, and what could not be estimated."""

    params: GenerationParams
    counts: GroupCounts
    notes: tuple[str, ...]


def account_groups(events: pl.DataFrame, users: pl.DataFrame | None) -> pl.DataFrame:
    """``account_id -> group`` (index into GROUPS) for every account of the log and of the accounts list."""
    ids = events.select("account_id").unique()
    if users is None:
        return ids.with_columns(group=pl.lit(0, pl.Int8))
    role = pl.col("role").cast(pl.String).str.to_lowercase() if "role" in users.columns else pl.lit(None)
    typ = pl.col("account_type")
    g = (pl.when(typ == "app").then(3).when(typ == "customer").then(2)
         .when(role.is_in(ADMIN_ROLES)).then(1).otherwise(0)).cast(pl.Int8)
    u = users.select("account_id", group=g)
    return pl.concat([u, ids.join(u, on="account_id", how="anti").with_columns(group=pl.lit(0, pl.Int8))])


def local_hour_of_week(events: pl.DataFrame, users: pl.DataFrame | None) -> pl.Series:
    """Local hour of week (0 = Monday 00:00) of each event: the account's time zone, else the event's UTC
    offset (``utc_offset_minutes``), else UTC."""
    ev = events.select("account_id", "event_time",
                       off=pl.col("utc_offset_minutes") if "utc_offset_minutes" in events.columns else
                       pl.lit(None, pl.Int16)).with_row_index("_i")
    if users is not None and "timezone" in users.columns:
        ev = ev.join(users.select("account_id", "timezone"), on="account_id", how="left")
    else:
        ev = ev.with_columns(timezone=pl.lit(None, pl.String))
    naive = pl.col("event_time").dt.replace_time_zone(None)
    parts = []
    for (tz,), g in ev.group_by("timezone"):
        if tz is None:
            lt = naive + pl.duration(minutes=pl.col("off").fill_null(0).cast(pl.Int64))
        else:
            try:
                lt = pl.col("event_time").dt.convert_time_zone(str(tz)).dt.replace_time_zone(None)
                g.head(1).select(lt)
            except pl.exceptions.PolarsError:  # an unknown zone name: the offsets, else UTC
                lt = naive + pl.duration(minutes=pl.col("off").fill_null(0).cast(pl.Int64))
        parts.append(g.select("_i", how=hour_of_week(lt)))
    return pl.concat(parts).sort("_i")["how"]


def _states(events: pl.DataFrame) -> pl.Series:
    """The catalog's Markov state of each event (null: product or action outside the catalog)."""
    ch = markov_chain()
    table = pl.DataFrame({"product": [PRODUCTS[int(p)] for p in ch.state_product], "action": list(ch.states),
                          "state": np.arange(len(ch.states), dtype=np.int32)})
    unique = table.group_by("action").agg(pl.col("product").first(), n=pl.len()).filter(pl.col("n") == 1)
    prod = pl.col("product") if "product" in events.columns else pl.lit(None, pl.String)
    ev = events.select(pl.col("action").cast(pl.String), product=prod.cast(pl.String)).with_row_index("_i")
    ev = ev.join(unique.select("action", p2="product"), on="action", how="left") \
        .with_columns(product=pl.coalesce("product", "p2"))
    return ev.join(table, on=["product", "action"], how="left").sort("_i")["state"]


def start_profile(how: np.ndarray, first: np.ndarray, group: np.ndarray, n_groups: int,
                  max_spill: int = 6) -> np.ndarray:
    """(groups, 168) session-start weights whose sessions put the log's *events* in the hours where the log
    has them (the realism figures are event shares): a session's events spill from its start hour into the
    next ones (kernel ``K[d]``, the log's share of events ``d`` hours after their session's start hour), so
    the start profile ``S`` solves ``S (*) K = E`` (circular convolution over the week; ``E`` the log's events
    per hour of week) by non-negative least squares."""
    sess = np.cumsum(first) - 1
    spill = np.minimum((how - how[first][sess]) % HOURS_OF_WEEK, max_spill)
    out = np.zeros((n_groups, HOURS_OF_WEEK))
    lag = (np.arange(HOURS_OF_WEEK)[:, None] - np.arange(HOURS_OF_WEEK)[None, :]) % HOURS_OF_WEEK
    for g in range(n_groups):
        m = group == g
        if not m.any():
            continue
        k = np.bincount(spill[m], minlength=HOURS_OF_WEEK).astype(np.float64)
        k /= k.sum()
        e = np.bincount(how[m], minlength=HOURS_OF_WEEK).astype(np.float64)
        out[g] = nnls(k[lag], e)[0]
    return out


def count_tables(events: pl.DataFrame, users: pl.DataFrame | None, start: dt.date, days: int,
                 states: pl.Series | None = None) -> GroupCounts:
    """The sufficient statistics of the behaviour model, per group (see :class:`GroupCounts`); ``states``:
    the events' Markov states when already computed (:func:`_states`)."""
    ch = markov_chain()
    n_g, n_s, n_p = len(GROUPS), len(ch.states), len(PRODUCTS)
    groups = account_groups(events, users)
    has_sess = "session_id" in events.columns and events["session_id"].null_count() < events.height
    ev = events.select("account_id", "event_time",
                       sess=pl.col("session_id") if has_sess else pl.lit(None, pl.String)) \
        .with_columns(how=local_hour_of_week(events, users), state=_states(events) if states is None else states) \
        .join(groups, on="account_id", how="left").sort("account_id", "sess", "event_time")
    gap = pl.col("event_time").diff().dt.total_microseconds() / 1e6
    same = (pl.col("account_id") == pl.col("account_id").shift()) & \
        (pl.col("sess") == pl.col("sess").shift() if has_sess else gap <= SESSION_GAP_S)
    ev = ev.with_columns(gap=gap, cont=same.fill_null(False))
    group = ev["group"].to_numpy().astype(np.int64)
    cont = ev["cont"].to_numpy()
    first = ~cont
    state = ev["state"].to_numpy()
    state = np.where(np.isnan(state.astype(np.float64)), -1, state).astype(np.int64)
    # hour of week of session starts, per group, divided by how often each hour occurs in the period
    how = ev["how"].to_numpy().astype(np.int64)
    exposure = np.bincount((start.weekday() * 24 + np.arange(days * 24)) % HOURS_OF_WEEK, minlength=HOURS_OF_WEEK)
    how_c = start_profile(how, first, group, n_g) / np.maximum(exposure, 1)[None, :]
    # product of a session = product of its first event in the catalog
    known_first = first & (state >= 0)
    prod_c = np.bincount(group[known_first] * n_p + ch.state_product[state[known_first]],
                         minlength=n_g * n_p).reshape(n_g, n_p).astype(np.float64)
    entry_c = np.bincount((group[known_first] * n_p + ch.state_product[state[known_first]]) * n_s
                          + state[known_first], minlength=n_g * n_p * n_s).reshape(n_g, n_p, n_s).astype(np.float64)
    prev = np.r_[-1, state[:-1]]
    step = cont & (state >= 0) & (prev >= 0)
    step &= ch.state_product[np.maximum(state, 0)] == ch.state_product[np.maximum(prev, 0)]
    trans_c = np.bincount((group[step] * n_s + prev[step]) * n_s + state[step],
                          minlength=n_g * n_s * n_s).reshape(n_g, n_s, n_s).astype(np.float64)
    per_acc = ev.group_by("account_id").agg(pl.col("group").first(), n=pl.len(), s=(~pl.col("cont")).sum())
    pg = per_acc["group"].to_numpy().astype(np.int64)
    sessions_beyond = np.bincount(pg, weights=per_acc["s"].to_numpy() - 1.0, minlength=n_g)
    events_beyond = np.bincount(pg, weights=per_acc["n"].to_numpy() - 1.0, minlength=n_g)
    lg = np.log(np.maximum(ev["gap"].fill_null(0).to_numpy()[cont], MIN_GAP_S))
    gc = np.bincount(group[cont], minlength=n_g).astype(np.float64)
    gm = np.bincount(group[cont], weights=lg, minlength=n_g) / np.maximum(gc, 1)
    gv = np.bincount(group[cont], weights=lg * lg, minlength=n_g) / np.maximum(gc, 1) - gm * gm
    gm = np.where(gc > 1, gm, np.nan)
    return GroupCounts(how_c, prod_c, entry_c, trans_c, sessions_beyond, events_beyond, gm,
                       np.sqrt(np.maximum(gv, 0.0)), np.bincount(group, minlength=n_g).astype(np.float64))


def _hist(counts: np.ndarray) -> np.ndarray:
    """Share of active accounts per octave bin of events (BINS)."""
    c = counts[counts > 0]
    h = np.bincount(np.searchsorted(BINS, c, side="right") - 1, minlength=len(BINS)).astype(np.float64)
    return h / max(h.sum(), 1.0)


def fit_activity(p: GenerationParams, human_counts: np.ndarray, shares: np.ndarray, seed: int = 0,
                 bot_ratio: float | None = None, external_ratio: float | None = None) -> ActivityParams:
    """The occasional/regular mixture and lognormal spread whose simulated events-per-account histogram (the
    generator's own allotment, fixed random numbers) is closest to the log's (squared error of the octave
    bin shares, plus the Gini of events per active account); and the bots' and externals' weights whose
    simulated mean events relative to a human seat / a member equal ``bot_ratio`` / ``external_ratio``."""
    sim_events = 500_000  # the same events per seat as the log; enough accounts that the simulation's noise is small
    sp = p.model_copy(update={"events": sim_events})
    plan = plan_for(seed, "main", sp)
    org_of = np.repeat(np.arange(len(plan.org_accounts)), plan.org_accounts)
    rng = stream(seed, "fit/personas")
    persona = np.array([P_DEV, P_ADMIN, P_EXT, P_BOT])[np.searchsorted(np.cumsum(shares), rng.random(len(org_of))
                                                                        * (1 - 1e-12) * shares.sum(), side="right")]
    persona[np.r_[True, org_of[1:] != org_of[:-1]]] = P_ADMIN
    # Contractor slots follow each org's own accounts (as in build_accounts) and are always regular.
    n_slots = np.bincount(plan.slot_org, minlength=len(plan.org_accounts))
    rank = np.arange(len(org_of)) - (np.cumsum(plan.org_accounts) - plan.org_accounts)[org_of]
    is_con = rank >= (plan.org_accounts - n_slots)[org_of]
    con_weight = np.zeros(len(org_of))
    con_weight[is_con] = plan.contractors["weight"].to_numpy()[plan.slot_person]
    persona[is_con] = np.where(rng.random(int(is_con.sum())) < 0.5, P_DEV, P_EXT)
    target_h, target_g = _hist(human_counts), gini(human_counts[human_counts > 0])
    def simulate(a: ActivityParams) -> np.ndarray:
        return _activity(stream(seed, "fit/activity"), sp.model_copy(update={"activity": a}), persona, is_con,
                         con_weight, org_of, plan.org_events)

    def weights(a: ActivityParams, rounds: int = 2) -> ActivityParams:
        for _ in range(rounds):  # mean events are about proportional to the weight: a fixed-point iteration
            c = simulate(a).astype(np.float64)
            upd = {}
            for key, ratio, num, den in (("bot_weight", bot_ratio, persona == P_BOT, persona != P_BOT),
                                         ("external_weight", external_ratio, persona == P_EXT, persona == P_DEV)):
                if ratio is not None and num.any() and den.any() and c[den].mean() > 0 and c[num].mean() > 0:
                    sim = c[num].mean() / c[den].mean()
                    upd[key] = float(np.clip(getattr(a, key) * ratio / sim, 1e-3, 1e4))
            a = a.model_copy(update=upd)
        return a

    a0 = weights(p.activity)

    def params_of(x: np.ndarray) -> ActivityParams:
        s = 1 / (1 + np.exp(-x[:2]))
        return a0.model_copy(update={"occasional_share": float(min(s[0], 0.95)), "occasional_single": float(s[1]),
                                     "occasional_mean_extra": float(np.clip(np.exp(x[2]), 0.0, 1e3)),
                                     "sigma": float(np.clip(np.exp(x[3]), 0.05, 4.0))})

    def loss(x: np.ndarray) -> float:
        counts = simulate(params_of(x))
        c = counts[persona != P_BOT]
        act = c[c > 0]
        if len(act) == 0:
            return 1e9
        return float(((_hist(act) - target_h) ** 2).sum() + (gini(act) - target_g) ** 2)

    def logit(v: float) -> float:
        v = min(max(v, 1e-3), 1 - 1e-3)
        return float(np.log(v / (1 - v)))

    x0 = np.array([logit(a0.occasional_share), logit(a0.occasional_single),
                   np.log(max(a0.occasional_mean_extra, 0.05)), np.log(a0.sigma)])
    simplex = x0 + np.vstack([np.zeros(4), 0.6 * np.eye(4)])
    res = minimize(loss, x0, method="Nelder-Mead",
                   options={"maxfev": 60, "xatol": 0.02, "fatol": 1e-7, "initial_simplex": simplex})
    return weights(params_of(res.x))


def _period(events: pl.DataFrame) -> tuple[dt.date, int]:
    lo, hi = events.select(lo=pl.col("event_time").min(), hi=pl.col("event_time").max()).row(0)
    start = lo.date()
    days = int(np.ceil((hi - dt.datetime(start.year, start.month, start.day, tzinfo=hi.tzinfo)).total_seconds()
                       / 86_400))
    return start, int(np.clip(days, 7, 366))


def _match_seats(p: GenerationParams, seats: float, seed: int, rounds: int = 3) -> GenerationParams:
    """``events_per_seat_day`` such that the generator's plan holds ``seats`` accounts: the plan sizes its
    orgs for events / (events per seat-day x days) seats and then adds the multi-org persons' extra accounts
    (and the last org's overshoot), so the log's plain ratio (events over all its seats) would generate about
    7% more seats, each with fewer events, than the log has (fewer active hours per person)."""
    for _ in range(rounds):
        planned = int(plan_for(seed, "main", p).org_accounts.sum())
        if planned <= 0 or abs(planned / seats - 1) < 0.002:
            break
        epsd = p.activity.events_per_seat_day * planned / seats
        p = p.model_copy(update={"activity": p.activity.model_copy(update={"events_per_seat_day": epsd})})
    return p


def fit(events: pl.DataFrame, users: pl.DataFrame | None = None, persons: pl.DataFrame | None = None,
        base: GenerationParams | None = None, seed: int = 0) -> Fit:
    """Generation parameters for a log: ``events`` (account_id, event_time, action; optionally product,
    session_id, utc_offset_minutes, org_id), ``users`` (account_id, account_type, optionally role, timezone,
    team_id, org_id; every seat, with or without events) and ``persons`` (account_id, person_id)."""
    if events.height == 0:
        raise ValueError("the log has no events")
    base = base or GenerationParams()
    notes: list[str] = []
    start, days = _period(events)
    states = _states(events)
    counts = count_tables(events, users, start, days, states)
    unknown = int(states.null_count())
    if unknown:
        notes.append(f"{unknown / events.height:.1%} of events have a product/action outside the generator's "
                     "catalog: they count for times and activity, not for the action tables")
    groups = account_groups(events, users)
    per = groups.join(events.group_by("account_id").agg(n=pl.len()), on="account_id", how="left") \
        .with_columns(pl.col("n").fill_null(0))
    g = per["group"].to_numpy().astype(np.int64)
    n = per["n"].to_numpy().astype(np.int64)
    seats = len(per)
    human = g != 3
    share = np.bincount(g, minlength=len(GROUPS)) / seats
    upd: dict[str, object] = {"events": events.height, "start": start, "days": days}
    a: dict[str, object] = {"events_per_seat_day": events.height / (seats * days)}
    bot_ratio = external_ratio = None
    orgs = per.select("account_id")
    if "org_id" in events.columns:
        orgs = orgs.join(events.group_by("account_id").agg(org_ev=pl.col("org_id").first()), on="account_id",
                         how="left")
    else:
        orgs = orgs.with_columns(org_ev=pl.lit(None, pl.String))
    if users is not None and "org_id" in users.columns:
        orgs = orgs.join(users.select("account_id", org_u=pl.col("org_id")), on="account_id", how="left")
    else:
        orgs = orgs.with_columns(org_u=pl.lit(None, pl.String))
    orgs = orgs.select(org_id=pl.coalesce("org_u", "org_ev", pl.lit("org")))
    sizes = orgs.group_by("org_id").len()["len"].to_numpy()
    n_orgs = len(sizes)
    if users is None:
        notes.append("no accounts list: no unused seats, types, roles, zones or teams known (defaults kept)")
    else:
        free = max(int(human.sum()) - n_orgs, 1)
        a["unused_share"] = float(min(((n == 0) & human).sum() / free, 0.95))
        upd.update(bot_share=float(min(share[3], 0.5)), external_share=float(min(share[2], 0.5)),
                   admin_share=float(np.clip((share[1] * seats - n_orgs) / max((share[0] + share[1]) * seats
                                                                                 - n_orgs, 1), 0, 0.5)))
        if (g == 3).any() and n[human].mean() > 0:
            bot_ratio = float(n[g == 3].mean() / n[human].mean())
        if (g == 2).any() and (g == 0).any() and n[g == 0].mean() > 0:
            external_ratio = float(n[g == 2].mean() / n[g == 0].mean())
        if "team_id" in users.columns and users["team_id"].null_count() < users.height:
            t = users.join(groups, on="account_id").filter(pl.col("group") <= 1)
            teams = t.filter(pl.col("team_id").is_not_null()).group_by("team_id").len()["len"].to_numpy()
            upd["team_size_mean"] = float(max(teams.mean(), 1.0))
            upd["remote_share"] = float(t["team_id"].null_count() / max(t.height, 1))
        else:
            notes.append("no teams in the accounts list: team size and remote share are the defaults")
    if n_orgs >= 20:
        lo = max(int(sizes.min()), 1)
        alpha = n_orgs / max(float(np.log(sizes / lo).sum()), 1e-9)
        upd.update(org_size_min=lo, org_size_max=int(max(sizes.max(), lo + 1)),
                   org_size_alpha=float(np.clip(alpha, 0.51, 4.0)))
    else:
        notes.append(f"{n_orgs} org(s): org sizes are the defaults")
    if persons is not None:
        multi = persons.group_by("person_id").len().filter(pl.col("len") > 1).height
        upd["multi_org_persons"] = float(min(multi / max(int(human.sum()), 1), 0.5))
    p = base.model_copy(update={**upd, "activity": base.activity.model_copy(update=a)})
    p = GenerationParams.model_validate(p.model_dump())
    p = _match_seats(p, seats if users is not None else seats / (1 - p.activity.unused_share), seed)
    act = fit_activity(p, n[human], share, seed, bot_ratio, external_ratio)
    model = from_counts(counts)
    p = p.model_copy(update={"activity": act, "behaviour": to_fitted(model)})
    return Fit(GenerationParams.model_validate(p.model_dump()), counts, tuple(notes))


def sample(params: GenerationParams, seed: int,
           columns: Mapping[str, Sequence[str]] | None = None) -> dict[str, pl.DataFrame]:
    """The main population of a generation, in process (no Beam): a quick look at what a config generates.
    ``columns``: keep only these columns of the named tables (chunk by chunk: a large sample in little memory)."""
    import pyarrow as pa

    from generators.chunk import ChunkSpec, generate_chunk

    js = params.model_dump_json()
    parts: dict[str, list[pa.Table]] = {}
    for c in range(plan_for(seed, "main", params).n_chunks):
        for k, t in generate_chunk(ChunkSpec(seed, "main", c, js)).items():
            parts.setdefault(k, []).append(t.select(list(columns[k])) if columns and k in columns else t)
    return {k: pl.from_arrow(pa.concat_tables(v)) for k, v in parts.items()}  # type: ignore[misc]


def realism_users(events: pl.DataFrame, users: pl.DataFrame | None) -> pl.DataFrame:
    """Accounts with ``account_type`` and ``timezone`` for :func:`generators.realism.measure`: the accounts
    list's, else humans in the zone of their most common UTC offset (``Etc/GMT±h``; UTC without offsets)."""
    if users is not None and "timezone" in users.columns and users["timezone"].null_count() < users.height:
        return users.select("account_id", "account_type", pl.col("timezone").fill_null("UTC"))
    off = pl.col("utc_offset_minutes") if "utc_offset_minutes" in events.columns else pl.lit(None, pl.Int16)
    modal = events.select("account_id", off=off).group_by("account_id").agg(pl.col("off").mode().first())
    h = pl.col("off") // 60
    tz = (pl.when(pl.col("off").is_null() | (pl.col("off") % 60 != 0) | (h == 0)).then(pl.lit("UTC"))
          .when(h > 0).then(pl.concat_str([pl.lit("Etc/GMT-"), h.cast(pl.String)]))
          .otherwise(pl.concat_str([pl.lit("Etc/GMT+"), (-h).cast(pl.String)])))
    out = modal.select("account_id", timezone=tz)
    types = users.select("account_id", "account_type") if users is not None else \
        out.select("account_id", account_type=pl.lit("atlassian"))
    return out.join(types, on="account_id", how="left").with_columns(pl.col("account_type").fill_null("atlassian"))


def hour_ratio_sd(events: pl.DataFrame, users: pl.DataFrame, persons: pl.DataFrame | None = None,
                  reps: int = 200) -> dict[str, float]:
    """Sampling noise of the two hour ratios of :mod:`generators.realism` (``lunch_dip``, ``peak_trough``):
    their standard deviations over a bootstrap of people (Poisson(1) weights on each person's local
    hour-of-day histogram; fixed seed). Events come in sessions and people, so these ratios are much noisier
    than their event counts suggest."""
    h = realism.human_events(events, users, persons)
    if h.height == 0:
        return {"lunch_dip": float("nan"), "peak_trough": float("nan")}
    per = h.group_by("person", pl.col("lt").dt.hour().alias("hod")).len() \
        .pivot(on="hod", index="person", values="len").fill_null(0)
    hist = np.zeros((per.height, 24))
    for k in range(24):
        if str(k) in per.columns:
            hist[:, k] = per[str(k)].to_numpy()
    b = np.random.default_rng(0).poisson(1.0, (reps, per.height)) @ hist
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"lunch_dip": float(np.nanstd(1 - b[:, 12] / b[:, 11])),
                "peak_trough": float(np.nanstd(b.max(1) / np.maximum(b.min(1), 1)))}
