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


def categories(events: pl.LazyFrame, users: pl.LazyFrame | None, orgs: pl.LazyFrame | None
               ) -> dict[str, list[str]]:
    """The raw data's values of every string attribute (nulls as one value), from the table that holds it."""
    out: dict[str, list[str]] = {}
    for table, attrs in ((events, ("product", "action")), (users, USER_ATTRIBUTES), (orgs, ORG_ATTRIBUTES)):
        cols = [a for a in attrs if a in _names(table)]
        if table is None or not cols:
            continue
        # one streaming distinct per column, each its own query (an expression-level unique holds the whole
        # column in memory, and queries collected together share one scan that buffers for the slower one)
        for c in cols:
            values = table.select(pl.col(c).cast(pl.String).fill_null(NULL)).unique().collect(engine="streaming")
            out[c] = values[c].sort().to_list()
    return out


def _code(column: str, values: list[str]) -> pl.Expr:
    """A string column as codes 0..len(values)-1; any other value is ``len(values)`` ("other").

    Cast through an Enum of ``values`` (its physical code is the position in ``values``; a value outside
    them becomes null, then "other"): elementwise and streaming, where ``replace_strict`` held about
    50 bytes per row (7 GB for two columns at 100M events)."""
    return pl.col(column).cast(pl.String).fill_null(NULL).cast(pl.Enum(values), strict=False).to_physical() \
        .cast(pl.UInt32).fill_null(len(values)).alias(column)


def _coded_side(table: pl.LazyFrame | None, key: str, attrs: tuple[str, ...], cats: Mapping[str, list[str]],
                skip: set[str]) -> tuple[pl.LazyFrame | None, list[str]]:
    """A users/orgs table reduced to its key and the codes of ``attrs`` it holds (one row per key)."""
    cols = [a for a in attrs if a in _names(table) and a in cats and a not in skip]
    if table is None or key not in _names(table) or not cols:
        return None, []
    return table.select(key, *[_code(a, cats[a]) for a in cols]).unique(key, keep="first"), cols


def encode(events: pl.LazyFrame, users: pl.LazyFrame | None, orgs: pl.LazyFrame | None,
           cats: Mapping[str, list[str]], weight: str | None = None) -> Encoded:
    """The events (or aggregate rows weighted by their ``weight`` column) as codes in the raw data's code
    space, each joined by the released ids to its account's and org's attributes, grouped.

    An id without a match yields the "other" code (an honest "unknown", scored against raw)."""
    names = _names(events)
    own = [a for a in ATTRIBUTES if a in names and a in cats]
    exprs: list[pl.Expr] = [_code(a, cats[a]) for a in own]
    ids = [c for c in ("account_id", "org_id") if c in names]
    if "event_time" in names:
        t = pl.col("event_time")
        day = (t.dt.weekday().cast(pl.UInt32) - 1).fill_null(7)
        exprs += [(day * 24 + t.dt.hour().cast(pl.UInt32)).fill_null(168).alias("hour_of_week"),
                  day.alias("weekday")]
    w = pl.col(weight).cast(pl.Float64).clip(lower_bound=0).fill_null(0) if weight else pl.lit(1.0)
    lf = events.select(*exprs, *ids, w.alias("w"))
    coded = set(own)
    u, ucols = _coded_side(users, "account_id", USER_ATTRIBUTES, cats, coded)
    if u is not None and "account_id" in names:
        if users is not None and "org_id" not in names and "org_id" in _names(users):
            u = u.join(users.select("account_id", "org_id").unique("account_id", keep="first"), on="account_id",
                       build_side="force_right")
            ids.append("org_id")
        lf = lf.join(u, on="account_id", how="left", build_side="force_right")
        coded |= set(ucols)
    o, ocols = _coded_side(orgs, "org_id", ORG_ATTRIBUTES, cats, coded)
    if o is not None and "org_id" in ids:
        lf = lf.join(o, on="org_id", how="left", build_side="force_right")
        coded |= set(ocols)
    sizes = {a: len(cats[a]) + 1 for a in ATTRIBUTES if a in coded}
    if "event_time" in names:
        sizes |= {a: n + 1 for a, n in TIME_ATTRIBUTES.items()}
    attrs = [a for a in ATTRIBUTES if a in sizes]
    lf = lf.with_columns([pl.col(a).fill_null(sizes[a] - 1) for a in attrs])    # unmatched ids: "other"
    # Two queries, collected one after the other: collected together they share one scan, which buffers
    # events for the slower one (5.5 GB at 100M events). The day counts need no join (a left join on unique
    # keys keeps every event once), so their pass reads two columns.
    grouped = (lf.group_by(attrs).agg(pl.col("w").sum()) if attrs else lf.select(pl.col("w").sum())) \
        .collect(engine="streaming").filter(pl.col("w") > 0)
    days = None
    if "event_time" in names and "product" in sizes:
        t = pl.col("event_time")
        days = events.select(_code("product", cats["product"]), t.dt.epoch("d").cast(pl.Int64).fill_null(NO_DAY)
                             .alias("day"), w.alias("w")) \
            .group_by("day", "product").agg(pl.col("w").sum().alias("n")).collect(engine="streaming")
    return Encoded({a: grouped[a].to_numpy() for a in attrs}, sizes, grouped["w"].to_numpy().astype(np.float64),
                   days)


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


def marginals(enc: Encoded, sizes: Mapping[str, int], attributes: list[str]) -> dict[tuple[str, ...], np.ndarray]:
    """Every 1-, 2- and 3-way marginal of ``attributes`` (flat, dense): the highest way by ``bincount`` over
    the rows, each lower one by summing an axis out of one it is part of."""
    out: dict[tuple[str, ...], np.ndarray] = {}
    for way in sorted(WAYS, reverse=True):
        for attrs in itertools.combinations(attributes, way):
            sup = next((k for k in out if len(k) == way + 1 and set(attrs) <= set(k)), None)
            if sup is None:
                out[attrs] = marginal(enc, attrs, sizes)
            else:
                axis = next(i for i, a in enumerate(sup) if a not in attrs)
                out[attrs] = out[sup].reshape([sizes[a] for a in sup]).sum(axis=axis).ravel()
    return out


def workload_errors(raw: Encoded, released: Encoded | None, attributes: tuple[str, ...] = ATTRIBUTES
                    ) -> list[WorkloadError]:
    """Mean AIM error per way (1, 2, 3) over the marginals of ``attributes`` the raw data has."""
    have = [a for a in attributes if a in raw.codes]
    raw_m = marginals(raw, raw.sizes, have)
    answered = [a for a in have if released is not None and released.total > 0 and a in released.codes]
    rel_m = marginals(released, raw.sizes, answered) if released is not None and answered else {}
    out = []
    for way in WAYS:
        errors, unanswered = [], 0
        for attrs in itertools.combinations(have, way):
            if attrs not in rel_m:
                errors.append(1.0)
                unanswered += 1
                continue
            errors.append(marginal_error(raw_m[attrs], rel_m[attrs]))
        out.append(WorkloadError(way, float(np.mean(errors)) if errors else 1.0, len(errors), unanswered))
    return out
