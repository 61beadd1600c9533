"""The marginal workload: 1-, 2- and 3-way marginals of usage metadata, and their error on a release.

What a researcher asks of usage logs is mostly counts: events per product and action, per hour of the week
and weekday, per country, plan, role and account type, and their cross-tabulations. The workload is every
1-, 2- and 3-way marginal over those eight attributes (8 + 28 + 56 marginals). Each event carries its own
product, action and time, and — joined by the released ids — its account's country, role and account type
(``users``) and its org's plan (``orgs``). Synthetic releases have synthetic ids, consistent across tables,
so the same joins answer the same queries.

The error of one marginal is as in AIM (McKenna, Mullins, Sheldon & Miklau, "AIM: An Adaptive and Iterative
Mechanism for Differentially Private Synthetic Data", VLDB 2022), whose reference implementation
(``mechanisms/aim.py`` in private-pgm) scores a synthetic dataset by ``0.5 · ‖X/ΣX − Y/ΣY‖₁`` per marginal,
averaged over the workload: each marginal is normalized to a distribution, so the error is the total
variation distance between the raw and the released marginal — 0 when they agree, 1 when they share no
cell. A marginal the release cannot answer (the attribute is not released, or no event is) has the maximal
error 1. The per-way figure is the mean over that way's marginals; ``n`` is their number.

How it runs: each attribute is encoded once as small integer codes from the raw data's categories (a
released value the raw data never had gets one extra "other" code: every such cell is raw-empty, so merging
them does not change the L1 distance), then each marginal is one ``numpy.bincount`` over combined codes.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

ATTRIBUTES = ("product", "action", "hour_of_week", "weekday", "country", "plan", "role", "account_type")
TIME_ATTRIBUTES = {"hour_of_week": 168, "weekday": 7}
USER_ATTRIBUTES = ("country", "role", "account_type")
ORG_ATTRIBUTES = ("plan",)
NO_DAY = -(1 << 40)          # the day code of a row without a time
NULL = "\x00(null)"          # nulls are a value of their own (a raw event without a known account, …)
WAYS = (1, 2, 3)


def _names(lf: pl.LazyFrame | None) -> set[str]:
    return set(lf.collect_schema().names()) if lf is not None else set()


def joined_events(events: pl.LazyFrame, users: pl.LazyFrame | None, orgs: pl.LazyFrame | None,
                  weight: str | None = None) -> pl.LazyFrame:
    """Events (or aggregate rows with a ``weight`` column) with their account's and org's attributes.

    Columns: the workload attributes that can be answered, ``event_time`` when released, and ``w`` (1 per
    event, or the aggregate's count). Users and orgs are joined by the released ids; an id without a
    match yields nulls (an honest "unknown", scored against raw)."""
    names = _names(events)
    keep: list[str] = [c for c in ("event_time", "product", "action", "account_id", "org_id") if c in names]
    keep += [c for c in (*USER_ATTRIBUTES, *ORG_ATTRIBUTES) if c in names and c not in keep]
    lf = events.select(*keep, (pl.col(weight).cast(pl.Float64).clip(lower_bound=0) if weight else
                               pl.lit(1.0)).alias("w"))
    unames = _names(users)
    user_cols = [c for c in USER_ATTRIBUTES if c in unames and c not in names]
    if users is not None and "account_id" in names and "account_id" in unames and user_cols:
        with_org = "org_id" in unames and "org_id" not in names
        u = users.select("account_id", *user_cols, *(["org_id"] if with_org else [])).unique("account_id",
                                                                                              keep="first")
        lf = lf.join(u, on="account_id", how="left")
        names |= set(user_cols) | ({"org_id"} if with_org else set())
    onames = _names(orgs)
    org_cols = [c for c in ORG_ATTRIBUTES if c in onames and c not in names]
    if orgs is not None and "org_id" in names and "org_id" in onames and org_cols:
        lf = lf.join(orgs.select("org_id", *org_cols).unique("org_id", keep="first"), on="org_id", how="left")
    if "event_time" in names:
        t = pl.col("event_time")
        lf = lf.with_columns(((t.dt.weekday().cast(pl.Int32) - 1) * 24 + t.dt.hour().cast(pl.Int32))
                             .alias("hour_of_week"), (t.dt.weekday().cast(pl.Int32) - 1).alias("weekday"))
    return lf.drop("account_id", "org_id", strict=False)


@dataclass(frozen=True)
class Encoded:
    """A release (or the raw data) reduced to what the queries need: one row per distinct combination of
    attribute codes with its summed weight, and the summed weight per (UTC day, product code)."""

    codes: Mapping[str, np.ndarray]     # attribute -> codes of each distinct combination
    sizes: Mapping[str, int]            # attribute -> size of its code space (the raw data's)
    weights: np.ndarray                 # events (or aggregate counts) per combination
    days: pl.DataFrame | None           # day (days since 1970-01-01), product (code), n; None without times

    @property
    def rows(self) -> int:
        return int(self.weights.size)

    @property
    def total(self) -> float:
        return float(self.weights.sum())


def categories(raw: pl.LazyFrame) -> dict[str, list[str]]:
    """The raw data's values of every string attribute (nulls as one value), in one pass."""
    cols = [a for a in ATTRIBUTES if a in _names(raw) and a not in TIME_ATTRIBUTES]
    if not cols:
        return {}
    row = raw.select([pl.col(c).cast(pl.String).fill_null(NULL).unique().sort().implode() for c in cols]) \
        .collect(engine="streaming")
    return {c: row[c][0].to_list() for c in cols}


def encode(lf: pl.LazyFrame, cats: Mapping[str, list[str]]) -> Encoded:
    """Codes of the attributes ``lf`` has, in the raw code space (+1 "other" code per attribute), grouped."""
    names = _names(lf)
    exprs, sizes = [], {}
    for a in ATTRIBUTES:
        if a not in names:
            continue
        if a in TIME_ATTRIBUTES:
            exprs.append(pl.col(a).fill_null(TIME_ATTRIBUTES[a]).cast(pl.UInt32).alias(a))
            sizes[a] = TIME_ATTRIBUTES[a] + 1
        elif a in cats:
            values = cats[a]
            exprs.append(pl.col(a).cast(pl.String).fill_null(NULL)
                         .replace_strict(values, list(range(len(values))), default=len(values),
                                         return_dtype=pl.UInt32).alias(a))
            sizes[a] = len(values) + 1
    day = [pl.col("event_time").dt.epoch("d").cast(pl.Int64).fill_null(NO_DAY).alias("day")] \
        if "event_time" in names else []
    coded = lf.select(*exprs, *day, pl.col("w"))
    attrs = list(sizes)
    queries = [coded.group_by(attrs).agg(pl.col("w").sum()) if attrs else coded.select(pl.col("w").sum())]
    if day and "product" in sizes:
        queries.append(coded.group_by("day", "product").agg(pl.col("w").sum().alias("n")))
    frames = pl.collect_all(queries, engine="streaming")
    grouped = frames[0].filter(pl.col("w") > 0)
    return Encoded({a: grouped[a].to_numpy() for a in attrs}, sizes, grouped["w"].to_numpy().astype(np.float64),
                   frames[1] if len(frames) > 1 else None)


def marginal(enc: Encoded, attrs: tuple[str, ...], sizes: Mapping[str, int]) -> np.ndarray:
    """Counts of one marginal over the combined codes (the raw data's code sizes)."""
    key = np.zeros(enc.rows, dtype=np.int64)
    cells = 1
    for a in attrs:
        key = key * sizes[a] + enc.codes[a]
        cells *= sizes[a]
    return np.bincount(key, weights=enc.weights, minlength=cells)


def marginal_error(raw: np.ndarray, released: np.ndarray) -> float:
    """½‖raw/Σraw − released/Σreleased‖₁ in [0, 1]; 1 when one side is empty (nothing to compare)."""
    a, b = raw.sum(), released.sum()
    if a <= 0 or b <= 0:
        return 0.0 if a <= 0 and b <= 0 else 1.0
    return float(min(1.0, 0.5 * np.abs(raw / a - released / b).sum()))


@dataclass(frozen=True)
class WorkloadError:
    way: int
    error: float          # mean over the way's marginals
    marginals: int        # n
    unanswered: int       # marginals the release could not answer (error 1 each)


def workload_errors(raw: Encoded, released: Encoded | None, attributes: tuple[str, ...] = ATTRIBUTES
                    ) -> list[WorkloadError]:
    """Mean AIM error per way (1, 2, 3) over the marginals of ``attributes`` the raw data has."""
    have = [a for a in attributes if a in raw.codes]
    out = []
    for way in WAYS:
        errors, unanswered = [], 0
        for attrs in itertools.combinations(have, way):
            if released is None or released.total <= 0 or any(a not in released.codes for a in attrs):
                errors.append(1.0)
                unanswered += 1
                continue
            errors.append(marginal_error(marginal(raw, attrs, raw.sizes), marginal(released, attrs, raw.sizes)))
        out.append(WorkloadError(way, float(np.mean(errors)) if errors else 1.0, len(errors), unanswered))
    return out
