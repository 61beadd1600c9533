"""``passthrough``: quasi-identifying values released at raw precision, and time shifts an insider undoes.

A chain that promises to coarsen a quasi-identifier (org sizes in bands, creation dates in weeks, rare
configuration values suppressed) or to shift it per person (``perturb.date_shift``) can silently stop doing so
— a dropped step, a no-op, a constant offset — while every re-identification figure of the event checks stays
where it was. This check compares each configured released column with the raw value of the same record:

* ``exact_share``: the share of units (orgs, accounts) whose released values equal their raw values exactly.
  The unit of a table with one row per org or account is that row; for a table with several rows per account
  (``config_changes``) it is the account, exact when every one of its values is released unchanged. A
  generalized column is near 0 (a coincidence such as a band's lower edge equal to the raw size counts), a
  column with rare values suppressed sits below 1 by the share of accounts that held one, a column passed
  through raw is 1. This is the *precision* half of a disclosure review (what the release still states at full
  detail; cf. the "identify the quasi-identifiers and their precision" step of Hundepool et al., Statistical
  Disclosure Control, Wiley 2012, §3.3).
* ``shared_offset`` (time columns): released minus raw time per unit, and the share of units whose offset
  equals that of another unit picked at random (each unit paired with the next one of a seeded random order —
  a derangement, so pairs are distinct). An insider knows their own record, hence their own offset; when
  offsets are shared (no shift, a constant shift) that offset undoes everyone else's, which is why date
  shifting draws a secret offset per person (El Emam & Arbuckle, Anonymizing Health Data, O'Reilly 2013, ch. 6;
  HIPAA de-identification practice). Per-person whole-day shifts of up to ±30 days give about 1/61, coarsening
  about 0 (the offsets are spread), a constant shift or the raw value 1.

How to read it: there is no absolute bound — a release may well keep a column at full precision on purpose —
but against a baseline (``check --baseline``) a rise means the chain now states more than it did. Both are
proportions with their counts and a Wilson interval.

Alignment, for the scorer only: positional when the released table kept the raw table's shards and row
counts; for ``users`` otherwise through the released ``account_id`` pseudonym and the events' actor alignment
(as the other per-account checks do). A table or column not released, or a release that cannot be aligned, is
*not applicable* with the reason; a synthetic release has no unit that is anybody's record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from reid.result import Metric

if TYPE_CHECKING:
    from reid.harness import RunData

CHECK = "passthrough"
METRICS = ("exact_share", "shared_offset")
UNIT = {"orgs": "org_id", "users": "account_id", "config_changes": "account_id", "events": "account_id"}


def _na(table: str, column: str, reason: str, temporal: bool) -> list[Metric]:
    names = METRICS if temporal else METRICS[:1]
    return [Metric(CHECK, m, float("nan"), 0, params={"table": table, "column": column, "applicable": False,
                                                      "reason": reason}) for m in names]


def _comparable(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Times as integer microseconds since the epoch, everything else as text (a band label never equals a
    raw number)."""
    if isinstance(dtype, pl.Datetime):
        return expr.dt.cast_time_unit("us").dt.replace_time_zone(None).cast(pl.Int64)
    if isinstance(dtype, pl.Date):
        return expr.cast(pl.Datetime("us")).cast(pl.Int64)
    return expr.cast(pl.String)


def aligned(data: RunData, table: str, column: str) -> tuple[pl.DataFrame | None, str]:
    """``unit``, ``raw``, ``released`` (comparable forms) per released row aligned to its raw row; or None and
    the reason."""
    raw, anon = data.raw.get(table), data.anon.get(table)
    if raw is None or column not in raw.collect_schema().names():
        return None, f"raw {table} has no column {column}"
    if anon is None or column not in anon.collect_schema().names():
        return None, "column not released"
    unit = UNIT.get(table)
    if unit is None or unit not in raw.collect_schema().names():
        return None, f"no unit column for table {table}"
    rtype, atype = raw.collect_schema()[column], anon.collect_schema()[column]
    same_kind = isinstance(rtype, pl.Datetime) == isinstance(atype, pl.Datetime)
    r = raw.select(pl.col(unit).cast(pl.String).alias("unit"), _comparable(pl.col(column), rtype).alias("raw"))
    a_expr = _comparable(pl.col(column), atype) if same_kind else pl.col(column).cast(pl.String)
    if not same_kind:
        r = r.with_columns(pl.col("raw").cast(pl.String))
    if data.row_preserving(table):
        df = pl.concat([r, anon.select(a_expr.alias("released"))], how="horizontal").collect(engine="streaming")
        return df, "positional"
    if table == "users" and "account_id" in anon.collect_schema().names() \
            and data.actor_column(["account_id"]) is not None:
        truth, _ = data.actor_truth("account_id")
        rel = anon.select(pl.col("account_id").cast(pl.String).alias("actor"), a_expr.alias("released")).collect()
        rel = rel.join(truth.select("actor", pl.col("account_id").alias("unit")), on="actor", how="inner")
        df = rel.join(r.collect(), on="unit", how="inner").select("unit", "raw", "released")
        return df, "through the account pseudonym"
    return None, f"released {table} is not row-preserving and has no per-account alignment"


def exact_share(df: pl.DataFrame) -> tuple[int, int]:
    """(units whose every released value equals the raw one, units with a raw value)."""
    per_unit = (df.filter(pl.col("raw").is_not_null())
                .group_by("unit").agg((pl.col("released") == pl.col("raw")).fill_null(False).all().alias("exact")))
    return int(per_unit["exact"].sum()), per_unit.height


def shared_offset(df: pl.DataFrame, seed: int) -> tuple[int, int]:
    """(units whose offset equals their partner's, units): one offset per unit (its first row), each unit
    paired with the next of a seeded random order."""
    per_unit = (df.filter(pl.col("raw").is_not_null() & pl.col("released").is_not_null())
                .group_by("unit").agg((pl.col("released") - pl.col("raw")).first().alias("offset"))
                .sort("unit"))
    n = per_unit.height
    if n < 2:
        return 0, 0
    offsets = per_unit["offset"].to_numpy()[np.random.default_rng(seed).permutation(n)]
    return int((offsets == np.roll(offsets, -1)).sum()), n


def passthrough(data: RunData, columns: Mapping[str, Sequence[str]], seed: int = 0) -> list[Metric]:
    """``exact_share`` (and ``shared_offset`` for time columns) per configured released column."""
    out: list[Metric] = []
    for table, cols in columns.items():
        for column in cols:
            t0 = time.perf_counter()
            raw = data.raw.get(table)
            temporal = raw is not None and column in raw.collect_schema().names() \
                and isinstance(raw.collect_schema()[column], pl.Datetime)
            if data.synthetic:
                out += _na(table, column, "synthetic release: no released unit is anybody's record", temporal)
                continue
            df, how = aligned(data, table, column)
            if df is None:
                out += _na(table, column, how, temporal)
                continue
            params = {"table": table, "column": column, "alignment": how, "unit": UNIT[table]}
            k, n = exact_share(df)
            out.append(Metric.proportion(CHECK, "exact_share", k, n, params=params,
                                         seconds=time.perf_counter() - t0))
            if temporal and df.schema["released"] == pl.Int64:
                k, n = shared_offset(df, seed)
                out.append(Metric.proportion(CHECK, "shared_offset", k, n, params=params,
                                             seconds=time.perf_counter() - t0))
            elif temporal:
                out += _na(table, column, "released values are not times", True)[1:]
    return out
