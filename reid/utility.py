"""Utility: how much of the raw data's analytic value a release keeps — always reported beside risk.

A release that is perfectly private and useless proves nothing, so every chain is scored on the same
queries, whatever it releases (events, synthetic events with synthetic ids, or aggregate counts):

* ``workload_{1,2,3}way_error``: the mean AIM error of the 1-, 2- and 3-way marginals over product, action,
  hour of week, weekday, country, plan, role and account type (see :mod:`reid.workload`; McKenna et al.,
  VLDB 2022); ``n`` = number of marginals;
* ``weekly_product_counts_rel_error``: Σ|released − raw| / Σ raw over the (week, product) event counts —
  what ``dp.aggregate`` releases — computed from the events of an event-level release and from the table of
  an aggregate release, so the two sit side by side;
* ``events_per_day_product_rel_error``: the same per (day, product);
* ``hourly_profile_correlation``: Pearson correlation of the hour-of-week activity profiles;
* ``action_tv_distance``: total variation distance between the action distributions;
* ``events_per_account_ks``: Kolmogorov–Smirnov distance between the events-per-account distributions;
* ``session_length_ks``: KS distance between the events-per-session distributions;
* ``retained_rows``: released event rows / raw event rows (0 for an aggregate release);
* ``entropy_retained`` per column (``params.column``): Shannon entropy of the released column over that of
  the raw one (1 for a consistent pseudonym, below 1 for coarsened values, 0 when dropped).

**Direction.** Every figure declares once, in :data:`DIRECTION`, whether higher is better, the value an
identical release has (``best``) and the value at or past which nothing useful is left (``worst``).
:func:`score` maps a value to [0, 1] from that declaration (1 = as good as the raw data); a figure the
release cannot answer (the data is not released) carries its worst value, with ``params.answered`` false,
and scores 0 — never NaN, never skipped. The headline utility (:func:`headline_utility`) is the mean score of
the :data:`HEADLINE` figures: exactly 1 for the identity release, exactly 0 for a release of nothing. The
report, ``summary.json`` and the gate read the same table.

Times are read in UTC and scored as released: hourly buckets keep the hour of week exactly, daily buckets
put every event at midnight, and an aggregate's period start stands for the time of its events (a weekly
table answers the weekly counts exactly and the hour-of-week profile not at all).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from reid import workload as wl
from reid.arrays import distinct_counts
from reid.result import Metric

CHECK = "utility"


@dataclass(frozen=True)
class UtilityFigure:
    """The declaration of one utility figure: its direction, what an identical release scores (``best``)
    and the value at or past which nothing useful is left (``worst``), its mathematical ``range``, and
    whether it counts towards the headline score."""

    metric: str
    higher_is_better: bool
    best: float
    worst: float
    range: tuple[float, float]
    headline: bool
    what: str

    def score(self, value: float | None) -> float:
        """``value`` on [0, 1]: 1 at ``best``, 0 at or past ``worst``; an unmeasured figure scores 0."""
        if value is None or math.isnan(value):
            return 0.0
        s = (value - self.worst) / (self.best - self.worst)
        return float(min(1.0, max(0.0, s)))

    def as_dict(self) -> dict[str, object]:
        """JSON-safe: an unbounded end of the range is None."""
        ends = [x if math.isfinite(x) else None for x in self.range]
        return {"higher_is_better": self.higher_is_better, "best": self.best, "worst": self.worst,
                "range": ends, "headline": self.headline, "what": self.what}


def _lower(metric: str, what: str, headline: bool = True, top: float = 1.0) -> UtilityFigure:
    return UtilityFigure(metric, False, 0.0, 1.0, (0.0, top), headline, what)


def _higher(metric: str, what: str, headline: bool = True, low: float = 0.0, top: float = 1.0) -> UtilityFigure:
    return UtilityFigure(metric, True, 1.0, 0.0, (low, top), headline, what)


DIRECTION: dict[str, UtilityFigure] = {f.metric: f for f in (
    _lower("workload_1way_error", "mean AIM error (total variation) of the 1-way marginals"),
    _lower("workload_2way_error", "mean AIM error (total variation) of the 2-way marginals"),
    _lower("workload_3way_error", "mean AIM error (total variation) of the 3-way marginals"),
    _lower("weekly_product_counts_rel_error", "relative L1 error of the weekly event counts per product "
           "(1 = nothing released; larger when counts are inflated)", top=math.inf),
    _higher("hourly_profile_correlation", "Pearson correlation of the hour-of-week profiles (0 or below: "
            "no shape kept)", low=-1.0),
    _lower("action_tv_distance", "total variation distance between the action distributions"),
    _lower("events_per_account_ks", "KS distance between the events-per-account distributions"),
    _lower("session_length_ks", "KS distance between the events-per-session distributions"),
    _lower("events_per_day_product_rel_error", "relative L1 error of the daily event counts per product",
           headline=False, top=math.inf),
    _higher("retained_rows", "released events over raw events (above 1: more rows than raw)", headline=False,
            top=math.inf),
    _higher("entropy_retained", "released over raw Shannon entropy of a column (params.column)",
            headline=False),
)}
HEADLINE = tuple(m for m, f in DIRECTION.items() if f.headline)
METRICS = tuple(m for m in DIRECTION if m != "entropy_retained")
COUNT_COLUMNS = ("count", "n_events", "events", "value", "noisy_count")
DAY_COLUMNS = ("period_start", "day", "date", "event_date", "event_day", "week")


def score(metric: str, value: float | None) -> float:
    """A figure on [0, 1] by its declaration in :data:`DIRECTION` (KeyError for an undeclared one)."""
    return DIRECTION[metric].score(value)


def headline_utility(values: Mapping[str, float | None]) -> float:
    """Mean score of the :data:`HEADLINE` figures; a missing or unmeasured one scores 0."""
    return sum(score(m, values.get(m)) for m in HEADLINE) / len(HEADLINE)


def rel_error(raw: pl.DataFrame, released: pl.DataFrame, keys: list[str]) -> tuple[float, int]:
    """Σ|released − raw| / Σ raw over the union of cells (``n`` columns), and the number of cells."""
    cells = raw.join(released, on=keys, how="full", coalesce=True, suffix="_rel").fill_null(0) \
        .with_columns(pl.col("n", "n_rel").cast(pl.Float64))  # unsigned counts must not wrap on subtraction
    total = float(cells["n"].sum())
    return (float((cells["n_rel"] - cells["n"]).abs().sum()) / total if total else float("nan")), cells.height


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic (max distance between the empirical CDFs); 1 when exactly
    one side is empty (nothing of the distribution survived)."""
    if a.size == 0 or b.size == 0:
        return 0.0 if a.size == b.size else 1.0
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; exactly 1 for identical profiles, 0 when either is flat."""
    if np.array_equal(a, b) and a.std() > 0:
        return 1.0
    return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0


def _period_counts(enc: wl.Encoded, period_days: int) -> pl.DataFrame:
    """(period start, product code) -> events; periods of 7 days start on Mondays."""
    assert enc.days is not None
    day = pl.col("day")
    start = day - (day + 3) % 7 if period_days == 7 else day          # 1970-01-01 was a Thursday
    return enc.days.group_by(start.alias("period"), "product").agg(pl.col("n").sum())


def _counts_error(raw: wl.Encoded, rel: wl.Encoded | None, period_days: int) -> tuple[float, int, bool]:
    """Relative error of the per-(period, product) counts, its cells, and whether the release answered."""
    if raw.days is None:
        return float("nan"), 0, False
    raw_cells = _period_counts(raw, period_days)
    if rel is None or rel.days is None:
        return 1.0, raw_cells.height, False
    err, cells = rel_error(raw_cells, _period_counts(rel, period_days), ["period", "product"])
    return err, cells, True


def _profile(enc: wl.Encoded | None, attr: str) -> np.ndarray | None:
    if enc is None or attr not in enc.codes:
        return None
    return np.bincount(enc.codes[attr], weights=enc.weights, minlength=enc.sizes[attr]).astype(np.float64)


def _per_group(lf: pl.LazyFrame | None, column: str) -> np.ndarray | None:
    """Events per value of ``column`` (nulls left out), or None when the column is not released."""
    if lf is None or column not in lf.collect_schema().names():
        return None
    return lf.filter(pl.col(column).is_not_null()).group_by(column).agg(pl.len().alias("n")).select("n") \
        .collect(engine="streaming")["n"].to_numpy()


def _ks(raw: pl.LazyFrame, released: pl.LazyFrame | None, columns: tuple[str, ...]) -> tuple[float, int, bool]:
    a = next((x for c in columns if (x := _per_group(raw, c)) is not None), None)
    b = next((x for c in columns if (x := _per_group(released, c)) is not None), None)
    if a is None:
        return float("nan"), 0, False
    return (ks_distance(a, b), int(a.size), True) if b is not None else (1.0, int(a.size), False)


def find_aggregate(anon: Mapping[str, pl.LazyFrame]) -> tuple[str, str, str] | None:
    """(table, time column, count column) of a released aggregate table, if there is one."""
    for table in sorted(anon):
        names = anon[table].collect_schema().names()
        count = next((c for c in COUNT_COLUMNS if c in names), None)
        day = next((c for c in DAY_COLUMNS if c in names), None)
        if count and day and "event_time" not in names:
            return table, day, count
    return None


def _as_time(lf: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """An aggregate's period column as ``event_time`` (timestamp[us, UTC]) at the period's start."""
    dtype = lf.collect_schema()[column]
    if isinstance(dtype, pl.Datetime):
        t = pl.col(column).dt.replace_time_zone(None) if dtype.time_zone is None else \
            pl.col(column).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    elif dtype == pl.String:
        t = pl.col(column).str.to_date(strict=False).cast(pl.Datetime("us"))
    else:
        t = pl.col(column).cast(pl.Date).cast(pl.Datetime("us"))
    return lf.with_columns(t.cast(pl.Datetime("us")).dt.replace_time_zone("UTC").alias("event_time"))


def encode_release(anon: Mapping[str, pl.LazyFrame], cats: Mapping[str, list[str]]
                   ) -> tuple[wl.Encoded | None, str]:
    """The release as weighted, encoded events (see :func:`reid.workload.encode`), and where it came from:
    its events, else an aggregate table (each row weighs its count), else nothing."""
    events, users, orgs = anon.get("events"), anon.get("users"), anon.get("orgs")
    if events is not None and "event_time" in events.collect_schema().names():
        return wl.encode(events, users, orgs, cats), "events"
    if (agg := find_aggregate(anon)) is not None:
        table, day, count = agg
        frame = _as_time(anon[table].drop("event_time", strict=False), day)
        return wl.encode(frame, users, orgs, cats, weight=count), table
    if events is not None:
        return wl.encode(events, users, orgs, cats), "events"
    return None, "none"


ENTROPY_GROUPS = 16_000_000   # distinct values counted by a group-by (a timestamp column has about one per event)
ENTROPY_SORT_ROWS = 200_000_000   # values sorted at once above that (8 bytes each, then disjoint hash ranges)


def entropy(lf: pl.LazyFrame, column: str, max_groups: int = ENTROPY_GROUPS,
            sort_rows: int = ENTROPY_SORT_ROWS) -> float:
    """Shannon entropy (bits) of a column's values (nulls count as one value).

    Up to ``max_groups`` distinct values (estimated first with HyperLogLog) are counted by one streaming
    group-by on the values' 64-bit hashes. Above that (a timestamp column has about one value per event, and
    a group-by held ~45 bytes a group), the hashes are collected and counted by sorting, 8 bytes a value, in
    ``ceil(rows / sort_rows)`` disjoint hash ranges, so memory follows ``sort_rows``, not the number of
    events; each value is counted whole in one range. The counts are summed in sorted order, whatever order
    they were found in: equal columns give exactly equal entropies."""
    v = pl.col(column).hash(1)
    distinct = lf.select(v.approx_n_unique()).collect(engine="streaming").item()
    if int(distinct) <= max_groups:
        n = lf.group_by(v.alias("v")).agg(pl.len().alias("n")).collect(engine="streaming")["n"].sort()
    else:
        rows = lf.select(pl.len()).collect(engine="streaming").item()
        parts = max(1, -(-int(rows) // sort_rows))
        hashes = lf.select(v.alias("v"))
        counts = []
        for part in range(parts):
            sel = hashes.filter(pl.col("v") % parts == part) if parts > 1 else hashes
            counts.append(pl.Series("n", distinct_counts(sel.collect(engine="streaming")["v"].to_numpy()),
                                    dtype=pl.UInt32))
        n = pl.concat(counts).sort()    # summed in a fixed order: equal columns give exactly equal entropies
    p = n.to_numpy() / max(n.sum(), 1)
    return float(-(p * np.log2(p)).sum()) if p.size else 0.0


def entropy_retained(raw: pl.LazyFrame, released: pl.LazyFrame | None, columns: list[str]) -> list[Metric]:
    """``entropy_retained`` per column: H(released) / H(raw); a column not released retains 0."""
    n_raw = raw.select(pl.len()).collect(engine="streaming").item()
    names = set(released.collect_schema().names()) if released is not None else set()
    out = []
    for c in columns:
        if c not in raw.collect_schema().names():
            continue
        h_raw = entropy(raw, c)
        h_rel = entropy(released, c) if released is not None and c in names else 0.0
        out.append(Metric(CHECK, "entropy_retained", min(1.0, h_rel / h_raw) if h_raw > 0 else float("nan"), n_raw,
                          params={"column": c, "answered": c in names}))
    return out


def _figure(metric: str, value: float, n: int, answered: bool, **params: object) -> Metric:
    """One figure; one the release cannot answer carries its declared worst value (it scores 0)."""
    if not answered:
        value = DIRECTION[metric].worst if math.isnan(value) else value
        params["reason"] = "not in the release"
    return Metric(CHECK, metric, value, n, params={**params, "answered": answered})


def utility(raw: Mapping[str, pl.LazyFrame], anon: Mapping[str, pl.LazyFrame],
            enabled_metrics: list[str] | None = None,
            entropy_columns: list[str] | None = None) -> list[Metric]:
    """Every utility figure of one release against the raw tables (``events``, ``users``, ``orgs``)."""
    t0 = time.perf_counter()
    cats = wl.categories(raw["events"], raw.get("users"), raw.get("orgs"))
    enc_raw = wl.encode(raw["events"], raw.get("users"), raw.get("orgs"), cats)
    enc_rel, source = encode_release(anon, cats)
    out = []
    for w in wl.workload_errors(enc_raw, enc_rel):
        out.append(_figure(f"workload_{w.way}way_error", w.error, w.marginals, w.unanswered < w.marginals,
                           unanswered=w.unanswered, attributes=[a for a in wl.ATTRIBUTES if a in enc_raw.codes]))
    for metric, days in (("weekly_product_counts_rel_error", 7), ("events_per_day_product_rel_error", 1)):
        err, cells, ok = _counts_error(enc_raw, enc_rel, days)
        out.append(_figure(metric, err, cells, ok, period="week" if days == 7 else "day"))
    a, b = _profile(enc_raw, "hour_of_week"), _profile(enc_rel, "hour_of_week")
    out.append(_figure("hourly_profile_correlation", correlation(a[:168], b[:168]) if a is not None and
                       b is not None else float("nan"), 168, b is not None))
    a, b = _profile(enc_raw, "action"), _profile(enc_rel, "action")
    out.append(_figure("action_tv_distance", wl.marginal_error(a, b) if a is not None and b is not None
                       else float("nan"), int(enc_raw.total), b is not None))
    events = anon.get("events") if source == "events" else None
    for metric, columns in (("events_per_account_ks", ("account_id", "actor_email")),
                            ("session_length_ks", ("session_id",))):
        d, n, ok = _ks(raw["events"], events, columns)
        out.append(_figure(metric, d, n, ok))
    rows = enc_rel.total if enc_rel is not None and source == "events" else 0.0   # an aggregate has no rows
    out.append(_figure("retained_rows", rows / enc_raw.total if enc_raw.total else float("nan"),
                       int(enc_raw.total), enc_rel is not None and source == "events"))
    out += entropy_retained(raw["events"], anon.get("events"), list(entropy_columns or []))
    if enabled_metrics is not None:
        out = [m for m in out if m.metric in enabled_metrics]
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m, params={"source": source, **m.params}, seconds=seconds) for m in out]
