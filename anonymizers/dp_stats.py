"""Per-account sufficient statistics of the behaviour model, with contribution bounding (``dp.synthesize``).

Three steps, all vectorized (Polars/Arrow/numpy):

1. :func:`project` (a ``partial``): each batch of ``events``, ``users`` or ``orgs`` becomes a compact,
   integer-coded projection — seeded 64-bit hashes of the ids (never the ids themselves), time, codes of
   product/action, auth type, user-agent family, attributes. Partials of any batches concatenate (``merge``).
2. :func:`account_stats` (``finalize``): per account, its attributes (its org's plan, size band, country,
   industry, opt-out; its type, role, country, time zone), its number of events in the period, and its
   *bounded* sessions: at most ``max_events`` events per account and period, made of whole sessions chosen
   in the order of a seeded hash of their session id (so which sessions an account keeps depends on that
   account's data only, never on other accounts), each session cut to its first ``max_session_events``.
   Whole sessions rather than single events are kept because the model measures session structure
   (lengths, gaps, transitions) that a sample of single events would break.
3. The measurements (:mod:`anonymizers.dp_measure`) turn those statistics into per-account contribution
   vectors, one-hot or clipped to L2 norm 1, summed per cell.

Everything here is exact and deterministic; noise is added in :mod:`anonymizers.dp_measure` only.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from anonymizers.distinct import map_distinct_numpy
from anonymizers.user_agent import parse
from generators import geo
from generators.catalog import INDUSTRIES, PRODUCTS, markov_chain
from generators.params import PLANS
from generators.plan import SIZE_BANDS
from generators.population import AUTH_TYPES

GROUPS = ("member", "admin", "external", "bot")
"""Behaviour groups, from observable attributes: bots are ``app`` accounts, externals ``customer`` ones,
admins hold an admin role; everyone else is a member."""
ACCOUNT_TYPES = ("atlassian", "customer", "app")
ROLES = ("org_admin", "site_admin", "member", "viewer", "guest", "app")
SIZE_LABELS = tuple(lab for _, lab in SIZE_BANDS)
INDUSTRY_NAMES = tuple(i for i, _ in INDUSTRIES)
UA_FAMILIES = ("Chrome", "Edge", "Firefox", "Safari", "Mobile Safari", "Atlassian Mobile", "Opera",
               "Apache-HttpClient", "node-fetch", "Go-http-client", "python-requests", "okhttp", "Jenkins",
               "curl", "Other")
US = 1_000_000


def group_of(account_type: np.ndarray, role: np.ndarray) -> np.ndarray:
    """Behaviour group code per account from type and role codes (-1 unknown -> member)."""
    admin = (role == ROLES.index("org_admin")) | (role == ROLES.index("site_admin"))
    return np.where(account_type == ACCOUNT_TYPES.index("app"), 3,
                    np.where(account_type == ACCOUNT_TYPES.index("customer"), 2, np.where(admin, 1, 0)))


def _code(col: pl.Expr, values: tuple[str, ...]) -> pl.Expr:
    return col.replace_strict(list(values), list(range(len(values))), default=-1, return_dtype=pl.Int16)


def _hash(col: pl.Expr, seed: int) -> pl.Expr:
    return col.hash(seed=seed)


@functools.lru_cache(maxsize=1)
def _state_lookup() -> pl.DataFrame:
    ch = markov_chain()
    return pl.DataFrame({"product": [PRODUCTS[p] for p in ch.state_product], "action": list(ch.states),
                         "state": np.arange(len(ch.states), dtype=np.int16)})


def _ua_family(values: list[str]) -> list[int]:
    out = []
    for v in values:
        fam = parse(v)[0]
        out.append(UA_FAMILIES.index(fam) if fam in UA_FAMILIES else len(UA_FAMILIES) - 1)
    return out


PROJECTED = {"events": ("event_time", "product", "action", "account_id", "session_id", "event_id", "auth_type",
                        "user_agent"),
             "users": ("account_id", "org_id", "account_type", "role", "country", "timezone"),
             "orgs": ("org_id", "plan", "size_band", "country", "industry", "ai_training_opt_out")}
"""The columns :func:`project` reads (all a reader needs to load for it)."""


def project(table: str, batch: pa.Table, seed: int, start_us: int, end_us: int) -> pa.Table | None:
    """The integer-coded projection of one batch (see the module docstring); ``None`` for other tables."""
    if table == "events":
        df = pl.from_arrow(batch.select(list(PROJECTED["events"])))
        assert isinstance(df, pl.DataFrame)
        ua, _ = map_distinct_numpy(batch.column("user_agent"), _ua_family)
        df = df.with_columns(ua=pl.Series(ua, dtype=pl.Int8) if len(ua) else pl.lit(0, pl.Int8))
        t = pl.col("event_time").cast(pl.Int64)
        df = (df.filter(pl.col("account_id").is_not_null() & (t >= start_us) & (t < end_us))
              .join(_state_lookup(), on=["product", "action"], how="left")
              .filter(pl.col("state").is_not_null()))
        return df.select(
            acc=_hash(pl.col("account_id"), seed),
            sess=_hash(pl.coalesce(pl.col("session_id"), pl.col("event_id"), pl.col("account_id")), seed),
            t=t, state=pl.col("state"), auth=_code(pl.col("auth_type"), AUTH_TYPES).cast(pl.Int8),
            ua=pl.when(pl.col("user_agent").is_null()).then(len(UA_FAMILIES) - 1).otherwise(pl.col("ua"))
            .cast(pl.Int8)).to_arrow()
    if table == "users":
        df = pl.from_arrow(batch.select(list(PROJECTED["users"])))
        assert isinstance(df, pl.DataFrame)
        return df.filter(pl.col("account_id").is_not_null()).select(
            acc=_hash(pl.col("account_id"), seed), org=_hash(pl.col("org_id"), seed),
            type=_code(pl.col("account_type"), ACCOUNT_TYPES), role=_code(pl.col("role"), ROLES),
            country=_code(pl.col("country"), geo.CODES), tz=_code(pl.col("timezone"), geo.TIMEZONES)).to_arrow()
    if table == "orgs":
        df = pl.from_arrow(batch.select(list(PROJECTED["orgs"])))
        assert isinstance(df, pl.DataFrame)
        return df.filter(pl.col("org_id").is_not_null()).select(
            org=_hash(pl.col("org_id"), seed), plan=_code(pl.col("plan"), PLANS),
            size=_code(pl.col("size_band"), SIZE_LABELS), org_country=_code(pl.col("country"), geo.CODES),
            industry=_code(pl.col("industry"), INDUSTRY_NAMES),
            opt_out=pl.col("ai_training_opt_out").cast(pl.Int16).fill_null(-1)).to_arrow()
    return None


@functools.lru_cache(maxsize=8)
def utc_offsets_by_utc_hour(start: dt.date, days: int) -> np.ndarray:
    """(time zones, hours) UTC offset in seconds at each UTC hour of the period (DST included)."""
    base = dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC)
    out = np.empty((len(geo.TIMEZONES), days * 24), dtype=np.int64)
    for i, name in enumerate(geo.TIMEZONES):
        z = zoneinfo.ZoneInfo(name)
        for h in range(days * 24):
            off = (base + dt.timedelta(hours=h)).astimezone(z).utcoffset()
            out[i, h] = int(off.total_seconds()) if off is not None else 0
    return out


@dataclass(frozen=True)
class AccountStats:
    """Exact, bounded statistics per account (index = account row), the input of every measurement.

    ``attrs`` columns: plan, size, org_country, industry, opt_out, type, role, country, tz, group (codes,
    -1 unknown) and ``events`` (events in the period, unbounded). ``sessions``: one row per kept session
    (acc row, local hour of week of its start, product, full length, auth, ua). ``steps``: one row per kept
    event (acc row, previous state or -1 at a session's start, state). ``gaps``: one row per kept in-session
    gap (acc row, seconds).
    """

    attrs: pl.DataFrame
    sessions: pl.DataFrame
    steps: pl.DataFrame
    gaps: pl.DataFrame
    bounded_events: int
    max_events: int | None = None
    """The contribution bound (events per account and period) the statistics were built with; the activity
    measurement counts an account's events up to it (``None``: unbounded)."""

    @property
    def n_accounts(self) -> int:
        return self.attrs.height


def _concat(parts: list[pa.Table] | None) -> pl.DataFrame | None:
    if not parts:
        return None
    df = pl.from_arrow(pa.concat_tables(parts))
    assert isinstance(df, pl.DataFrame)
    return df


def account_stats(parts: dict[str, list[pa.Table]], *, seed: int, start: dt.date, days: int,
                  max_events: int, max_session_events: int) -> AccountStats:
    """Per-account statistics from the merged projections (order of the parts does not matter)."""
    ev = _concat(parts.get("events"))
    users = _concat(parts.get("users"))
    orgs = _concat(parts.get("orgs"))
    if users is not None:
        users = users.sort("acc", "org", "type", "role", "country", "tz").unique("acc", keep="first")
    if orgs is not None:
        orgs = orgs.sort(pl.all()).unique("org", keep="first")
    ids = [d.select("acc") for d in (users, ev) if d is not None]
    acc = (pl.concat(ids).unique() if ids else pl.DataFrame({"acc": pl.Series([], dtype=pl.UInt64)})) \
        .sort("acc").with_row_index("a")
    attrs = acc
    if users is not None:
        attrs = attrs.join(users, on="acc", how="left")
        if orgs is not None:
            attrs = attrs.join(orgs, on="org", how="left")
    for c in ("plan", "size", "org_country", "industry", "opt_out", "type", "role", "country", "tz"):
        if c not in attrs.columns:
            attrs = attrs.with_columns(pl.lit(-1, pl.Int16).alias(c))
    attrs = attrs.with_columns(pl.col("plan", "size", "org_country", "industry", "opt_out", "type", "role",
                                      "country", "tz").fill_null(-1).cast(pl.Int16))
    group = group_of(attrs["type"].to_numpy(), attrs["role"].to_numpy())
    attrs = attrs.with_columns(group=pl.Series(group, dtype=pl.Int16))
    empty_sessions = pl.DataFrame(schema={"a": pl.UInt32, "how": pl.Int32, "product": pl.Int16,
                                          "length": pl.UInt32, "auth": pl.Int8, "ua": pl.Int8})
    if ev is None or ev.height == 0:
        attrs = attrs.with_columns(events=pl.lit(0, pl.Int64))
        return AccountStats(attrs.sort("a"), empty_sessions,
                            pl.DataFrame(schema={"a": pl.UInt32, "prev": pl.Int16, "state": pl.Int16}),
                            pl.DataFrame(schema={"a": pl.UInt32, "gap": pl.Float64}), 0, max_events)
    ev = ev.join(acc, on="acc", how="left").sort("a", "sess", "t", "state", "auth", "ua")
    counts = ev.group_by("a").agg(events=pl.len().cast(pl.Int64))
    attrs = attrs.join(counts, on="a", how="left").with_columns(pl.col("events").fill_null(0)).sort("a")
    state_product = pl.Series(markov_chain().state_product.astype(np.int16))
    sess = ev.group_by("a", "sess").agg(
        start=pl.col("t").first(), length=pl.len(), first_state=pl.col("state").first(),
        auth=pl.col("auth").first(), ua=pl.col("ua").first())
    # Contribution bounding: whole sessions in seeded-hash order, at most max_events (cut) events per account.
    sess = sess.with_columns(key=_hash(pl.col("sess"), seed + 1), kept_len=pl.col("length")
                             .clip(upper_bound=max_session_events)).sort("a", "key", "sess")
    sess = sess.with_columns(cum=pl.col("kept_len").cum_sum().over("a")).filter(pl.col("cum") <= max_events)
    tz = attrs["tz"].to_numpy()
    start_us = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp()) * US
    s_a = sess["a"].to_numpy()
    s_t = sess["start"].to_numpy()
    hour = np.clip((s_t - start_us) // (3600 * US), 0, days * 24 - 1)
    offs = utc_offsets_by_utc_hour(start, days)
    s_tz = tz[s_a]
    off = np.where(s_tz >= 0, offs[np.maximum(s_tz, 0), hour], 0)
    local_s = s_t // US + off
    how = (((local_s // 86_400) + 3) % 7) * 24 + (local_s % 86_400) // 3600  # 1970-01-01 was a Thursday
    sessions = sess.select(
        "a", how=pl.Series(how, dtype=pl.Int32), product=state_product.gather(sess["first_state"].cast(pl.UInt32)),
        length=pl.col("length").cast(pl.UInt32), auth="auth", ua="ua")
    kept = ev.join(sess.select("a", "sess"), on=["a", "sess"], how="semi", maintain_order="left")
    kept = kept.with_columns(pos=pl.int_range(pl.len()).over("a", "sess")) \
        .filter(pl.col("pos") < max_session_events)
    kept = kept.with_columns(prev=pl.when(pl.col("pos") == 0).then(-1).otherwise(pl.col("state").shift(1))
                             .cast(pl.Int16),
                             gap=pl.when(pl.col("pos") == 0).then(None)
                             .otherwise((pl.col("t") - pl.col("t").shift(1)).cast(pl.Float64) / US))
    steps = kept.select("a", "prev", "state")
    gaps = kept.filter(pl.col("gap").is_not_null()).select("a", "gap")
    return AccountStats(attrs, sessions, steps, gaps, kept.height, max_events)


def bucket_pieces(part: pa.Table, buckets: int) -> list[tuple[int, pa.Table]]:
    """(bucket, rows) of a projection of ``events`` or ``users``, the accounts spread over ``buckets`` by their
    (seeded) hash: every row of an account lands in the same bucket, so per-account statistics computed bucket
    by bucket are those of the whole table (:func:`anonymizers.dp_measure.total` adds them up)."""
    df = pl.from_arrow(part)
    assert isinstance(df, pl.DataFrame)
    if buckets <= 1 or df.height == 0:
        return [(0, part)] if df.height else []
    df = df.with_columns(bucket=(pl.col("acc") % buckets).cast(pl.UInt32))
    return [(int(key[0]), g.drop("bucket").to_arrow())  # type: ignore[arg-type]
            for key, g in sorted(df.partition_by("bucket", as_dict=True).items())]
