"""Unicity of pseudonymous traces (de Montjoye, Hidalgo, Verleysen & Blondel, "Unique in the Crowd: The
privacy bounds of human mobility", Sci. Rep. 3, 1376, 2013).

The attacker knows ``p`` points of a target's activity — when (rounded to the attacker's time resolution) and
what (the columns of its knowledge set: the action, the product, the space or the object worked on) — e.g.
from a colleague's calendar, a ticket history, a screenshot. It searches the released events for pseudonymous
traces that contain all ``p`` points. A target whose points match exactly one trace is *unique*; it is
*re-identified* when that one trace is truly the target's (scored with the ground truth, which the attacker
never sees). The check runs once per knowledge set (:class:`reid.params.KnowledgeSet`; ``params.knowledge``).

**Knowledge against a coarsened release.** The attacker compares what it knows with what was released at the
*release's* resolution when that is coarser: an attacker who knows the exact second of an event can match it
to the 1 h bucket the release shows, so points are compared at the coarser of the attacker's and the
release's time resolution — generalizing time helps only as much as it coarsens, and an attacker's finer
knowledge never makes a coarse release look safer. A known column the release does not carry comparably
(dropped, or pseudonymized: fewer than half of its released values occur raw; :func:`comparable_columns`) is
left out of the points (``params.left_out``): the attacker is left with the time and the other columns. That
is a lower bound for such a column: an attacker who also learns the pseudonyms' equality pattern does better.

How to read it: ``unique_share`` at p = 4 is the paper's headline (95% of 1.5M people were unique with four
spatio-temporal points). Pseudonymization leaves it untouched: only aggregation, coarsening or suppression
lowers it. The baseline is a blind guess among the released traces (``1/N``).

Everything is joins and group-bys: targets are sampled, their points sampled by a seeded random rank (the
points for p are a subset of those for 2p), and matched against the distinct released points at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import zlib

import numpy as np
import polars as pl
import scipy.sparse as sp

from reid.params import parse_duration
from reid.result import Metric
from reid.unicity_bootstrap import MAX_MATCHES, population_se

CHECK = "unicity"
MAX_PRODUCT_CELLS = 1 << 25
"""Target x actor counts computed at once at most (an upper bound per target: the actors holding each of its
points, summed): with coarse knowledge nearly every actor holds every point, and the whole product of 1000
targets against the 1.26M actors of 100M events peaked at 11.8 GB."""
RESOLUTIONS = ("1w", "1d", "12h", "6h", "3h", "1h", "30m", "15m", "10m", "5m", "1m", "1s")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def rng_for(seed: int, purpose: str) -> np.random.Generator:
    """A random stream derived from (seed, purpose), never a global one."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode())])


def duration_text(delta: dt.timedelta) -> str:
    secs = int(delta.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if secs % _SECONDS[unit] == 0:
            return f"{secs // _SECONDS[unit]}{unit}"
    return f"{secs}s"


def detect_resolution(lf: pl.LazyFrame, column: str = "event_time", sample: int = 200_000) -> dt.timedelta | None:
    """The coarsest bucket every timestamp of the first ``sample`` rows sits on (None: finer than 1s, or no
    timestamps). Weeks are aligned as Polars aligns them (on Mondays)."""
    if column not in lf.collect_schema().names():
        return None
    times = lf.select(pl.col(column)).head(sample).drop_nulls().collect()
    if times.height == 0:
        return None
    for res in RESOLUTIONS:
        if times.select((pl.col(column).dt.truncate(res) == pl.col(column)).all()).item():
            return parse_duration(res)
    return None


def match_resolution(attacker: str, release: dt.timedelta | None) -> str:
    """The coarser of the attacker's and the release's resolution, as a duration string."""
    mine = parse_duration(attacker)
    return duration_text(max(mine, release)) if release is not None else duration_text(mine)


def comparable_columns(raw_events: pl.LazyFrame, anon_events: pl.LazyFrame, columns: list[str],
                       min_overlap: float = 0.5, sample: int = 200_000) -> tuple[list[str], list[str]]:
    """(kept, left out) of ``columns``: a column is kept when the release has it and at least ``min_overlap``
    of its distinct released values (in the first ``sample`` rows) occur in the raw column — a value released
    as it is can be matched, a pseudonym or a generalized value cannot."""
    raw_names, anon_names = raw_events.collect_schema().names(), anon_events.collect_schema().names()
    kept: list[str] = []
    left_out: list[str] = []
    for c in columns:
        if c not in raw_names or c not in anon_names:
            left_out.append(c)
            continue
        released = anon_events.select(pl.col(c).cast(pl.String)).head(sample).drop_nulls().unique()
        seen = released.join(raw_events.select(pl.col(c).cast(pl.String)).drop_nulls().unique(), on=c, how="semi")
        n_rel, n_seen = pl.collect_all([released.select(pl.len()), seen.select(pl.len())], engine="streaming")
        (kept if n_rel.item() and n_seen.item() >= min_overlap * n_rel.item() else left_out).append(c)
    return kept, left_out


def sample_targets(eligible: pl.DataFrame, n: int, seed: int, purpose: str) -> pl.DataFrame:
    """``n`` rows of ``eligible`` (all when fewer), sampled with a derived seed after sorting by account."""
    eligible = eligible.unique("account_id").sort("account_id")
    if eligible.height <= n:
        return eligible
    idx = np.sort(rng_for(seed, purpose).choice(eligible.height, n, replace=False))
    return eligible[idx]


def point_matches(raw_events: pl.LazyFrame, anon_events: pl.LazyFrame, chosen: pl.DataFrame, *,
                  actor_column: str, points: list[int], res: str, point_columns: list[str], seed: int,
                  purpose: str = "unicity.points", few: int = 0) -> dict[int, pl.DataFrame]:
    """For each p: ``(account_id, matches, actor)`` of the ``chosen`` accounts holding at least p distinct
    points — how many released traces contain the account's first p sampled points, and one of them. With
    ``few`` > 0 also ``few``: all the matching actors of a target with 1 to ``few`` matches (else null)."""
    keys = ["t", *point_columns]
    target_points = (
        raw_events.filter(pl.col("account_id").is_in(chosen["account_id"].implode()))
        .select("account_id", pl.col("event_time").dt.truncate(res).alias("t"), *point_columns)
        .drop_nulls().unique().sort(["account_id", *keys]).collect(engine="streaming"))
    u = rng_for(seed, purpose).random(target_points.height)
    target_points = (target_points.with_columns(pl.Series("u", u))
                     .with_columns(pl.col("u").rank("ordinal").over("account_id").alias("rank"))
                     .filter(pl.col("rank") <= max(points)).drop("u"))
    n_points = target_points.group_by("account_id").agg(pl.len().alias("n_points"))
    released = (anon_events.select(pl.col(actor_column).alias("actor"),
                                   pl.col("event_time").dt.truncate(res).alias("t"), *point_columns)
                .drop_nulls().join(target_points.lazy().select(keys).unique(), on=keys, how="semi").unique()
                .collect(engine="streaming"))
    # Incidence matrices instead of a (target point x released actor) join: with coarse knowledge (a day, no
    # column) every point is held by most actors, and the join would list them all. T (targets x points) @
    # R (points x actors) counts, per target and actor, the target's points the actor's trace contains.
    key_index = target_points.select(keys).unique(maintain_order=True).with_row_index("k")
    actors = released.select("actor").unique(maintain_order=True).with_row_index("a")
    accounts = target_points.select("account_id").unique(maintain_order=True).with_row_index("i")
    rel = released.join(key_index, on=keys).join(actors, on="actor")
    tgt = target_points.join(key_index, on=keys).join(accounts, on="account_id")
    r = sp.csr_matrix((np.ones(rel.height, np.int32), (rel["k"].to_numpy(), rel["a"].to_numpy())),
                      shape=(key_index.height, actors.height))
    del released, rel         # with coarse knowledge, every (actor, point) of the release: GBs at 100M events
    rank, row, col = tgt["rank"].to_numpy(), tgt["i"].to_numpy(), tgt["k"].to_numpy()
    names = actors["actor"]
    out = {}
    for p in points:
        first = rank <= p
        t = sp.csr_matrix((np.ones(int(first.sum()), np.int32), (row[first], col[first])),
                          shape=(accounts.height, key_index.height))
        # one of the matching traces (the unique one when matches = 1); the pairs of the targets with few
        matches, one, who, actor = _full_matches(t, r, p, few)
        found = pl.Series("idx", one).set(pl.Series(one < 0), None)
        per_target = accounts.with_columns(pl.Series("matches", matches, dtype=pl.UInt32),
                                           names.gather(found).alias("actor") if names.len()
                                           else pl.lit(None, names.dtype).alias("actor"))
        kept = ["account_id", "matches", "actor"]
        if few > 0:
            lists = (pl.DataFrame({"i": who.astype(np.uint32),
                                   "few": names.gather(pl.Series(actor))
                                   if names.len() else pl.Series([], dtype=names.dtype)})
                     .group_by("i").agg("few"))
            per_target = per_target.join(lists, on="i", how="left")
            kept.append("few")
        out[p] = (n_points.filter(pl.col("n_points") >= p).join(per_target, on="account_id", how="left")
                  .with_columns(pl.col("matches").fill_null(0)).select(kept))
    return out


def _full_matches(t: sp.csr_matrix, r: sp.csr_matrix, p: int, few: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per target, the actors whose trace holds all ``p`` of its points (``t @ r == p``): how many
    (``matches``), one of them (``one``, the last in product order; -1 when none) and — for the targets with at
    most ``few`` — the (target, actor) pairs in product order. Computed in blocks of targets of at most
    ``MAX_PRODUCT_CELLS`` counts (a target above it alone) and reduced per block: with coarse knowledge nearly
    every actor matches every target, and the list of all pairs (1000 targets x 1.26M actors at 100M events)
    held 7 GB."""
    n = t.shape[0]
    matches = np.zeros(n, dtype=np.int64)
    one = np.full(n, -1, dtype=np.int64)
    bound = np.cumsum(t @ np.diff(r.indptr).astype(np.int64))   # per target, an upper bound of its row's cells
    whos, actors, lo, done = [], [], 0, 0
    while lo < n:
        hi = max(lo + 1, int(np.searchsorted(bound, done + MAX_PRODUCT_CELLS, side="right")))
        part = (t[lo:hi] @ r).tocoo()
        hit = part.data == p                      # the actor's trace holds all p points of the target
        who = part.row[hit].astype(np.int64)
        actor = part.col[hit].astype(np.int64)
        del part, hit
        counts = np.bincount(who, minlength=hi - lo)
        matches[lo:hi] = counts
        one[who + lo] = actor                     # the last of a target's actors, as one assignment of all pairs
        small = counts[who] <= few
        whos.append(who[small] + lo)
        actors.append(actor[small])
        done, lo = int(bound[hi - 1]), hi
    empty = np.array([], dtype=np.int64)
    return matches, one, np.concatenate([empty, *whos]), np.concatenate([empty, *actors])


NO_POINTS = "no sampled target holds p distinct points of this knowledge set (nobody can be known by that many)"


def declare_empty(metrics: list[Metric]) -> list[Metric]:
    """Rows of a p that no sampled target reaches (n = 0) say so: not applicable, rather than a NaN that reads
    as "not measured"."""
    return [dataclasses.replace(m, params={**m.params, "applicable": False, "reason": NO_POINTS})
            if m.n == 0 and "p" in m.params and m.params.get("applicable") is not False else m for m in metrics]


def count_traces(anon_events: pl.LazyFrame, actor_column: str) -> int:
    return int(anon_events.select(pl.col(actor_column).drop_nulls().n_unique()).collect(engine="streaming").item())


def _se(value: float) -> dict[str, float]:
    return {"population_se": round(value, 6)} if np.isfinite(value) else {}


def unicity(raw_events: pl.LazyFrame, anon_events: pl.LazyFrame, *, actor_column: str,
            actor_truth: pl.DataFrame, targets: pl.DataFrame, points: list[int], time_bucket: str = "1h",
            point_columns: list[str] | None = None, n_targets: int = 1000, seed: int = 0,
            release_resolution: dt.timedelta | None = None) -> list[Metric]:
    """``unique_share`` and ``reidentified_share`` for each p in ``points`` (de Montjoye et al. 2013).

    ``raw_events``: account_id, event_time and the point columns (the attacker's knowledge).
    ``anon_events``: ``actor_column``, event_time and the point columns (the release).
    ``point_columns``: the columns the attacker knows besides the time (``[]``: the time only).
    ``actor_truth``: actor -> person_id (the scorer's truth; never used by the attack itself).
    ``targets``: eligible target accounts (account_id, person_id).
    ``n`` of each row is the number of sampled targets holding at least p distinct points; ``params.population_se``
    how much the share moves with the population (:mod:`reid.unicity_bootstrap`).
    """
    t0 = time.perf_counter()
    point_columns = list(point_columns) if point_columns is not None else ["action"]
    res = match_resolution(time_bucket, release_resolution)
    chosen = sample_targets(targets.select("account_id", "person_id"), n_targets, seed, "unicity.targets")
    per_p = point_matches(raw_events, anon_events, chosen, actor_column=actor_column, points=points, res=res,
                          point_columns=point_columns, seed=seed, few=MAX_MATCHES)
    n_traces = count_traces(anon_events, actor_column)
    truth = actor_truth.select(pl.col("actor").cast(pl.String), pl.col("person_id").alias("actor_person"))
    persons = chosen.select("account_id", "person_id")
    base = {"time_bucket": time_bucket, "match_resolution": res, "point_columns": point_columns,
            "actor_column": actor_column, "seed": seed}
    out: list[Metric] = []
    for p in points:
        scored = (per_p[p].with_columns(pl.col("actor").cast(pl.String))
                  .join(persons, on="account_id", how="left").join(truth, on="actor", how="left"))
        n = scored.height
        unique = scored.filter(pl.col("matches") == 1)
        hits = unique.filter(pl.col("actor_person") == pl.col("person_id")).height
        params = {**base, "p": p}
        se_unique, se_hits = population_se(scored, actor_truth, seed=seed, purpose=f"unicity.population.{p}")
        out.append(Metric.proportion(CHECK, "unique_share", unique.height, n,
                                     params={**params, **_se(se_unique)}))
        out.append(Metric.proportion(CHECK, "reidentified_share", hits, n, params={**params, **_se(se_hits)}))
    seconds = time.perf_counter() - t0
    out.append(Metric(CHECK, "baseline", 1.0 / n_traces if n_traces else float("nan"), int(n_traces),
                      params={**base, "what": "blind guess among released traces"}))
    return [dataclasses.replace(m, seconds=seconds) for m in declare_empty(out)]
