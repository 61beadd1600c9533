"""Utility: how much of the raw data's analytic value the release keeps — always reported beside risk.

A release that is perfectly private and useless proves nothing, so every chain is scored on the questions
its consumers ask of usage metadata (cf. the utility side of the privacy–utility trade-off in Li & Li, KDD
2009, and the workload-based error of DP releases, e.g. McKenna et al., VLDB 2018):

* ``retained_rows``: released event rows / raw event rows;
* ``events_per_day_product_rel_error``: Σ|released − raw| / Σ raw over (day, product) counts (0 is perfect);
* ``action_tv_distance``: total variation distance between the action distributions (0 same, 1 disjoint);
* ``hourly_profile_correlation``: Pearson correlation of the hour-of-week activity profiles (1 is perfect);
* ``session_length_ks``: Kolmogorov–Smirnov distance between events-per-session distributions (0 same);
* ``entropy_retained`` per column (in ``params``): Shannon entropy of the released column over that of the
  raw one — how much of the column's power to tell events apart survives (1 for a consistent pseudonym,
  below 1 for coarsened values such as IP prefixes, browser families or hourly times, 0 when dropped).

A chain that releases aggregates instead of events (``dp.aggregate``) is scored from its aggregate table on
the figures that table can answer; the others are reported as not applicable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Mapping

import numpy as np
import polars as pl

from reid.result import Metric
from reid.unicity import detect_resolution, duration_text

CHECK = "utility"
METRICS = ("retained_rows", "events_per_day_product_rel_error", "action_tv_distance",
           "hourly_profile_correlation", "session_length_ks")
COUNT_COLUMNS = ("count", "n_events", "events", "value", "noisy_count")
DAY_COLUMNS = ("day", "date", "event_date", "event_day", "period_start")


def rel_error(raw: pl.DataFrame, released: pl.DataFrame, keys: list[str]) -> tuple[float, int]:
    """Σ|released − raw| / Σ raw over the union of cells (``n`` columns), and the number of cells."""
    cells = raw.join(released, on=keys, how="full", coalesce=True, suffix="_rel").fill_null(0) \
        .with_columns(pl.col("n", "n_rel").cast(pl.Float64))  # unsigned counts must not wrap on subtraction
    total = float(cells["n"].sum())
    return (float((cells["n_rel"] - cells["n"]).abs().sum()) / total if total else float("nan")), cells.height


def tv_distance(raw: pl.DataFrame, released: pl.DataFrame, key: str) -> float:
    """Total variation distance between two count distributions over ``key``."""
    cells = raw.join(released, on=key, how="full", coalesce=True, suffix="_rel").fill_null(0) \
        .with_columns(pl.col("n", "n_rel").cast(pl.Float64))
    if cells["n"].sum() == 0 or cells["n_rel"].sum() == 0:
        return 1.0 if cells["n"].sum() != cells["n_rel"].sum() else 0.0   # nothing on one side: disjoint
    p = cells["n"].to_numpy() / cells["n"].sum()
    q = cells["n_rel"].to_numpy() / cells["n_rel"].sum()
    return float(0.5 * np.abs(p - q).sum())


def ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov statistic (max distance between the empirical CDFs)."""
    if a.size == 0 or b.size == 0:
        return float("nan")
    grid = np.union1d(a, b)
    fa = np.searchsorted(np.sort(a), grid, side="right") / a.size
    fb = np.searchsorted(np.sort(b), grid, side="right") / b.size
    return float(np.abs(fa - fb).max())


def _hour_of_week(lf: pl.LazyFrame) -> np.ndarray:
    t = pl.col("event_time")
    df = lf.group_by(((t.dt.weekday().cast(pl.Int32) - 1) * 24 + t.dt.hour().cast(pl.Int32)).alias("h")).agg(pl.len().alias("n")) \
        .collect(engine="streaming")
    out = np.zeros(168)
    out[df["h"].to_numpy()] = df["n"].to_numpy()
    return out


def _per_day_product(lf: pl.LazyFrame, day: pl.Expr, count: pl.Expr) -> pl.DataFrame:
    return lf.group_by(day.alias("day"), pl.col("product")).agg(count.alias("n")).collect(engine="streaming")


def event_utility(raw: pl.LazyFrame, released: pl.LazyFrame) -> list[Metric]:
    """Utility of an event-level release against the raw events."""
    names = set(released.collect_schema().names())
    n_raw = raw.select(pl.len()).collect(engine="streaming").item()
    n_rel = released.select(pl.len()).collect(engine="streaming").item()
    out = [Metric(CHECK, "retained_rows", n_rel / n_raw if n_raw else float("nan"), n_raw)]
    day = pl.col("event_time").dt.date()
    if {"event_time", "product"} <= names:
        err, cells = rel_error(_per_day_product(raw, day, pl.len()), _per_day_product(released, day, pl.len()),
                               ["day", "product"])
        out.append(Metric(CHECK, "events_per_day_product_rel_error", err, cells))
    if "action" in names:
        ca, cb = (lf.group_by("action").agg(pl.len().alias("n")).collect(engine="streaming") for lf in (raw, released))
        out.append(Metric(CHECK, "action_tv_distance", tv_distance(ca, cb, "action"), n_raw))
    if "event_time" in names:
        a, b = _hour_of_week(raw), _hour_of_week(released)
        r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0
        out.append(Metric(CHECK, "hourly_profile_correlation", r, 168))
    if "session_id" in names:
        lengths = [lf.group_by("session_id").agg(pl.len().alias("n")).select("n").collect(engine="streaming")["n"]
                   .to_numpy() for lf in (raw, released.filter(pl.col("session_id").is_not_null()))]
        out.append(Metric(CHECK, "session_length_ks", ks_distance(*lengths), int(lengths[0].size)))
    return out


def find_aggregate(anon: Mapping[str, pl.LazyFrame]) -> tuple[str, str, str] | None:
    """(table, day column, count column) of a released aggregate table with products, if there is one."""
    for table in sorted(anon):
        names = anon[table].collect_schema().names()
        count = next((c for c in COUNT_COLUMNS if c in names), None)
        day = next((c for c in DAY_COLUMNS if c in names), None)
        if count and day and "product" in names and "event_time" not in names:
            return table, day, count
    return None


def aggregate_utility(raw: pl.LazyFrame, aggregate: pl.LazyFrame, day_column: str, count_column: str) -> list[Metric]:
    """Utility of an aggregate release (counts per day, product, …) against the raw events."""
    names = set(aggregate.collect_schema().names())
    n_raw = raw.select(pl.len()).collect(engine="streaming").item()
    count = pl.col(count_column).cast(pl.Float64).clip(lower_bound=0).sum()
    dtype = aggregate.collect_schema()[day_column]
    period = "1d"
    if isinstance(dtype, pl.Datetime):
        # periods may be coarser than a day (weeks): raw events are counted per the same period
        res = detect_resolution(aggregate, day_column)
        period = duration_text(max(res, dt.timedelta(days=1))) if res else "1d"
        day = pl.col(day_column).dt.truncate(period).dt.date()
    elif dtype == pl.String:
        day = pl.col(day_column).str.to_date(strict=False)
    else:
        day = pl.col(day_column).cast(pl.Date)
    raw_day = pl.col("event_time").dt.truncate(period).dt.date()
    raw_cells = _per_day_product(raw, raw_day, pl.len().cast(pl.Float64))
    err, cells = rel_error(raw_cells, _per_day_product(aggregate, day, count), ["day", "product"])
    out = [Metric(CHECK, "events_per_day_product_rel_error", err, cells, params={"period": period})]
    if "action" in names:
        a = raw.group_by("action").agg(pl.len().alias("n")).collect(engine="streaming")
        b = aggregate.group_by("action").agg(count.alias("n")).collect(engine="streaming")
        out.append(Metric(CHECK, "action_tv_distance", tv_distance(a, b, "action"), n_raw))
    return out


def entropy(lf: pl.LazyFrame, column: str) -> float:
    """Shannon entropy (bits) of a column's values (nulls count as one value)."""
    n = lf.group_by(pl.col(column).hash(1).alias("v")).agg(pl.len().alias("n")).collect(engine="streaming")["n"]
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
                          params={"column": c}))
    return out


def utility(raw_events: pl.LazyFrame, anon: Mapping[str, pl.LazyFrame],
            enabled_metrics: list[str] | None = None,
            entropy_columns: list[str] | None = None) -> list[Metric]:
    """All utility figures for one release; missing ones are rows with ``applicable: false``."""
    t0 = time.perf_counter()
    if "events" in anon and "event_time" in anon["events"].collect_schema().names():
        out, source = event_utility(raw_events, anon["events"]), {"source": "events"}
    elif (agg := find_aggregate(anon)) is not None:
        out, source = aggregate_utility(raw_events, anon[agg[0]], agg[1], agg[2]), {"source": agg[0]}
    else:
        out, source = [], {"source": "none"}
    have = {m.metric for m in out}
    out += [Metric(CHECK, m, float("nan"), 0, params={"applicable": False, "reason": "not in the release"})
            for m in METRICS if m not in have]
    out += entropy_retained(raw_events, anon.get("events"), list(entropy_columns or []))
    if enabled_metrics is not None:
        out = [m for m in out if m.metric in enabled_metrics]
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m, params={**source, **m.params}, seconds=seconds) for m in out]
