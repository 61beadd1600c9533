"""Activity profiles for the report: how much of the data's shape survives a chain.

Two aggregates per source (the raw events and each chain's anonymized events), counted with Polars from the
shards, reading two columns only: the share of events per hour of the week (UTC, Monday 00h first) and per
action. Only shares leave this module — never a row. The distance shown beside each plot is the total
variation distance, TVD = ½ Σ |p − q| (0 = same shape, 1 = disjoint).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from generators.model import HOURS_OF_WEEK
from generators.weektime import hour_of_week
from reid.workload import marginal_error
from runformat.layout import RunDir, shards

TOP_ACTIONS = 10


@dataclass(frozen=True)
class Profile:
    """Shares of events of one source; ``None`` with a ``note`` when the source lacks the column."""

    source: str
    events: int
    hour_of_week: tuple[float, ...] | None = None
    actions: Mapping[str, float] = field(default_factory=dict)
    note: str = ""


def tvd(p: Mapping[str, float] | tuple[float, ...], q: Mapping[str, float] | tuple[float, ...]) -> float:
    """Total variation distance between two share vectors (or share maps over their union of keys): the
    utility metric's ``reid.workload.marginal_error``."""
    if isinstance(p, Mapping) and isinstance(q, Mapping):
        keys = sorted(set(p) | set(q))
        a, b = [p.get(k, 0.0) for k in keys], [q.get(k, 0.0) for k in keys]
    elif isinstance(p, tuple) and isinstance(q, tuple):
        if len(p) != len(q):
            raise ValueError(f"tvd: share vectors of {len(p)} and {len(q)} cells")
        a, b = list(p), list(q)
    else:
        raise TypeError("tvd needs two share maps or two share vectors")
    return marginal_error(np.asarray(a, dtype=float), np.asarray(b, dtype=float))


def _hour_of_week(lf: pl.LazyFrame, schema: pl.Schema) -> tuple[float, ...] | None:
    dtype = schema.get("event_time")
    if dtype is None or not isinstance(dtype, pl.Datetime):
        return None
    t = pl.col("event_time")
    if dtype.time_zone not in (None, "UTC"):
        t = t.dt.convert_time_zone("UTC")
    counts = (lf.select(hour_of_week(t).alias("how"))
              .drop_nulls().group_by("how").len().collect())
    total = int(counts["len"].sum()) if counts.height else 0
    if not total:
        return None
    out = [0.0] * HOURS_OF_WEEK
    for how, n in counts.iter_rows():
        out[int(how)] = n / total
    return tuple(out)


def _actions(lf: pl.LazyFrame, schema: pl.Schema) -> dict[str, float]:
    if schema.get("action") not in (pl.Utf8, pl.Categorical, pl.String):
        return {}
    counts = lf.select(pl.col("action").cast(pl.Utf8)).drop_nulls().group_by("action").len().collect()
    total = int(counts["len"].sum()) if counts.height else 0
    return {a: n / total for a, n in counts.iter_rows()} if total else {}


def profile(source: str, folder: Path) -> Profile:
    """The profile of the ``events`` table in ``folder`` (a folder of ``part-*.parquet`` shards)."""
    parts = shards(folder)
    if not parts:
        return Profile(source, 0, note="no event-level table")
    lf = pl.scan_parquet([str(p) for p in parts])
    schema = lf.collect_schema()
    wanted = [c for c in ("event_time", "action") if c in schema]
    lf = lf.select(wanted) if wanted else lf.select(pl.first())
    events = int(lf.select(pl.len()).collect().item())
    how = _hour_of_week(lf, schema)
    acts = _actions(lf, schema)
    missing = [what for what, got in (("timestamps", how), ("actions", acts)) if not got]
    note = f"no usable {' or '.join(missing)} in the released events" if missing else ""
    return Profile(source, events, how, acts, note)


def activity_profiles(run: Path, chains: list[str]) -> dict[str, Profile]:
    """Profiles of ``raw`` and every chain (key = source name)."""
    rd = RunDir(run)
    out = {"raw": profile("raw", rd.raw("events"))}
    for chain in chains:
        out[chain] = profile(chain, rd.anon(chain, "events"))
    return out


def top_actions(raw: Profile, n: int = TOP_ACTIONS) -> list[str]:
    """The ``n`` most frequent raw actions, most frequent first (ties by name)."""
    return [a for a, _ in sorted(raw.actions.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]
