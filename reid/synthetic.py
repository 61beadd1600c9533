"""What the trace attacks mean on a synthetic release: a synthetic trace that singles out a real person is a copy.

On a pseudonymized release every trace is somebody's, so unicity (de Montjoye, Hidalgo, Verleysen & Blondel,
Sci. Rep. 3, 1376, 2013) and profile linkage (Tournier & de Montjoye, Sci. Adv. 8, eabm2870, 2022) score
"the trace the attacker found is the target's" against the truth. A synthetic release (a chain step declares
``synthetic``) holds no one's trace: crediting a synthetic actor to the raw account it resembles most would
invent re-identifications, and crediting it to nobody would report a misleading 0 even when the
"synthesizer" copied real traces. Both attacks therefore ask whether the release holds a *copy*, and compare
the answer for the targets (raw accounts the release was made from) with the same answer for control persons
(``truth/control/``, generated alike and never released), which measures chance:

* unicity — a target with p known points (time at the attacker's resolution, action) is *singled out* when
  exactly one synthetic trace contains all p points. ``unique_share`` is that share for targets,
  ``control_unique_share`` for control persons, and ``reidentified_share`` is the excess,
  (target − control)/(1 − control), computed as anonymeter computes risk (Giomi et al., PoPETs 2023): the
  share of targets singled out by a copy beyond what a model of the population singles out anyway.
* profile linkage — the attacker profiles a person's earlier period and takes the top-1 (top-10) synthetic
  actor of the later period, as in the paper. That actor is "theirs" only if it is a *near copy* of the
  person's own later-period trace: weighted mean per-block cosine of the two profiles at least
  ``near_copy`` (default 0.9; a verbatim copy scores 1). ``top1_copy_share``/``top10_copy_share`` are the
  target rates, ``baseline``/``baseline_top10`` the control rates (chance), and ``top1_accuracy``/
  ``top10_accuracy`` the excess as above.

How to read it: 0 — the release copies no one more often than a model of the population would reproduce a
stranger; 1 — every target's trace is in the release. A release that truly learned only population
behaviour scores about 0 with any attacker; the ``membership`` check asks the same question of every account.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

import numpy as np
import polars as pl

from reid.anonymeter_stats import AttackCounts
from reid.params import ProfileLinkageParams
from reid.profile_linkage import (
    block_order,
    feature_counts,
    profile_matrix,
    time_resolution,
    usable_blocks,
    vocabulary,
)
from reid.result import Metric
from reid.unicity import (
    count_traces,
    declare_empty,
    duration_text,
    match_resolution,
    point_matches,
    rng_for,
    sample_targets,
)

READING = "synthetic release: a match counts only as a copy, in excess of control persons (chance)"


def _excess(check: str, metric: str, hits: int, n: int, ctl_hits: int, n_ctl: int, params: dict[str, Any]) -> Metric:
    """(attack − control)/(1 − control) with anonymeter's interval; n = targets."""
    if n == 0:
        return Metric(check, metric, float("nan"), n, params={**params, "applicable": False,
                                                              "reason": "no targets"})
    if n_ctl == 0:   # targets exist but chance cannot be measured: not measured, never a pass
        return Metric(check, metric, float("nan"), n, params={**params, "measured": False,
                                                              "reason": "no control persons"})
    risk, lo, hi = AttackCounts(n, hits, 0, 0, ctl_hits, n_ctl).risk()
    return Metric(check, metric, risk, n, ci_low=lo, ci_high=hi, params={**params, "n_control": n_ctl})


def unicity_synthetic(raw_events: pl.LazyFrame, control_events: pl.LazyFrame, anon_events: pl.LazyFrame, *,
                      actor_column: str, targets: pl.DataFrame, control_targets: pl.DataFrame,
                      points: list[int], time_bucket: str = "1h", point_columns: list[str] | None = None,
                      n_targets: int = 1000, seed: int = 0,
                      release_resolution: dt.timedelta | None = None) -> list[Metric]:
    """``unique_share``, ``control_unique_share`` and ``reidentified_share`` (excess) per p, and ``baseline``."""
    t0 = time.perf_counter()
    check = "unicity"
    point_columns = list(point_columns) if point_columns is not None else ["action"]
    res = match_resolution(time_bucket, release_resolution)

    def matches(events: pl.LazyFrame, who: pl.DataFrame, side: str) -> dict[int, pl.DataFrame]:
        chosen = sample_targets(who.select("account_id"), n_targets, seed, f"unicity.{side}")
        return point_matches(events, anon_events, chosen, actor_column=actor_column, points=points, res=res,
                             point_columns=point_columns, seed=seed,
                             purpose="unicity.points" if side == "targets" else "unicity.control_points")
    mine, chance = matches(raw_events, targets, "targets"), matches(control_events, control_targets, "controls")
    base = {"time_bucket": time_bucket, "match_resolution": res, "point_columns": point_columns,
            "actor_column": actor_column, "seed": seed, "synthetic": True, "reading": READING}
    out: list[Metric] = []
    for p in points:
        params = {**base, "p": p}
        t, c = mine[p], chance[p]
        hits, ctl_hits = t.filter(pl.col("matches") == 1).height, c.filter(pl.col("matches") == 1).height
        out.append(Metric.proportion(check, "unique_share", hits, t.height, params=params))
        out.append(Metric.proportion(check, "control_unique_share", ctl_hits, c.height, params=params))
        out.append(_excess(check, "reidentified_share", hits, t.height, ctl_hits, c.height, params))
    n_traces = count_traces(anon_events, actor_column)
    out.append(Metric(check, "baseline", 1.0 / n_traces if n_traces else float("nan"), n_traces,
                      params={**base, "what": "blind guess among released traces"}))
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m, seconds=seconds) for m in declare_empty(out)]


def _copy_hits(events: pl.LazyFrame, chosen: pl.Series, split: Any, cmat, blocks: list[str],
               weights: dict[str, float], params: ProfileLinkageParams, res: str, near_copy: float,
               rng: np.random.Generator, known_columns: list[str] | tuple[str, ...] = ("action",)
               ) -> tuple[int, int]:
    """(top-1 near copies, top-10 near copies) among ``chosen`` accounts of ``events``."""
    def matrix(lf: pl.LazyFrame):
        counts = feature_counts(lf.filter(pl.col("account_id").is_in(chosen.implode())), "account_id", res,
                                params.ipv4_prefix, known_columns)
        return profile_matrix(counts, chosen, blocks, weights, params.hash_buckets)
    earlier = matrix(events.filter(pl.col("event_time") < split))
    later = matrix(events.filter(pl.col("event_time") >= split))
    total = sum(w * w for w in weights.values())
    cand_t = cmat.T.tocsr()
    k = min(10, cmat.shape[0])
    top1 = top10 = 0
    for lo in range(0, len(chosen), params.block_size):
        hi = min(lo + params.block_size, len(chosen))
        scores = (earlier[lo:hi] @ cand_t).toarray().astype(np.float64)
        scores += rng.random(scores.shape) * 1e-9                      # ties broken at random
        best = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        first = best[np.arange(hi - lo), np.argmax(np.take_along_axis(scores, best, axis=1), axis=1)]
        own = (later[lo:hi] @ cand_t).toarray() / total                 # similarity to the person's own trace
        rows = np.arange(hi - lo)
        top1 += int((own[rows, first] >= near_copy).sum())
        top10 += int((np.take_along_axis(own, best, axis=1) >= near_copy).any(axis=1).sum())
    return top1, top10


def profile_linkage_synthetic(raw_events: pl.LazyFrame, control_events: pl.LazyFrame,
                              anon_events: pl.LazyFrame, *, actor_column: str, targets: pl.DataFrame,
                              control_targets: pl.DataFrame, params: ProfileLinkageParams, seed: int = 0,
                              release_resolution: dt.timedelta | None = None, knowledge_time: str = "1h",
                              known_columns: list[str] | tuple[str, ...] = ("action",)) -> list[Metric]:
    """``top1_accuracy``/``top10_accuracy`` (excess near copies), ``top1_copy_share``/``top10_copy_share``
    (targets), ``baseline``/``baseline_top10`` (control persons); the attacker's knowledge set as in
    :func:`reid.profile_linkage.profile_linkage`."""
    t0 = time.perf_counter()
    check = "profile_linkage"
    res = duration_text(max(release_resolution or dt.timedelta(seconds=1), dt.timedelta(seconds=1)))
    t_res = time_resolution(knowledge_time, release_resolution)
    bounds = raw_events.select(pl.col("event_time").min().alias("lo"), pl.col("event_time").max().alias("hi")) \
        .collect()
    lo, hi = bounds["lo"][0], bounds["hi"][0]
    split = pl.select(pl.lit(lo + (hi - lo) * params.split).dt.truncate(res)).item()
    release = feature_counts(anon_events.filter(pl.col("event_time") >= split), actor_column, t_res,
                             params.ipv4_prefix, known_columns)
    blocks = [b for b in usable_blocks(vocabulary(raw_events.filter(pl.col("event_time") < split),
                                                  params.ipv4_prefix, known_columns), release,
                                       params.min_overlap, block_order(known_columns))
              if params.weights.get(b, 1.0) > 0]
    base = {"split": params.split, "resolution": t_res, "blocks": blocks, "actor_column": actor_column,
            "min_events": params.min_events, "near_copy": params.near_copy, "seed": seed, "synthetic": True,
            "reading": READING}
    names = ("top1_accuracy", "top10_accuracy", "baseline", "baseline_top10", "top1_copy_share",
             "top10_copy_share")
    candidates = (release.filter(pl.col("block") == "hour_of_week").group_by("entity").agg(pl.col("n").sum())
                  .filter(pl.col("n") >= params.min_events).select("entity").sort("entity"))["entity"]

    def active(events: pl.LazyFrame, who: pl.DataFrame, purpose: str) -> pl.Series:
        per = (events.filter(pl.col("account_id").is_in(who["account_id"].implode()))
               .group_by("account_id").agg((pl.col("event_time") < split).sum().alias("a"),
                                           (pl.col("event_time") >= split).sum().alias("b"))
               .filter((pl.col("a") >= params.min_events) & (pl.col("b") >= params.min_events))
               .select("account_id").collect(engine="streaming"))
        return sample_targets(per, params.targets, seed, purpose)["account_id"]
    mine = active(raw_events, targets, "profile_linkage.targets")
    chance = active(control_events, control_targets, "profile_linkage.controls")
    if candidates.len() == 0 or not blocks or mine.len() == 0 or chance.len() == 0:
        reason = ("no released actors" if candidates.len() == 0 else "no usable blocks" if not blocks
                  else "no active targets or control persons")
        return [Metric(check, m, float("nan"), 0, params={**base, "applicable": False, "reason": reason},
                       seconds=time.perf_counter() - t0) for m in names]
    weights = {b: params.weights.get(b, 1.0) for b in blocks}
    cmat = profile_matrix(release, candidates, blocks, weights, params.hash_buckets)
    rng = rng_for(seed, "profile_linkage.ties")
    t1, t10 = _copy_hits(raw_events, mine, split, cmat, blocks, weights, params, t_res, params.near_copy, rng,
                         known_columns)
    c1, c10 = _copy_hits(control_events, chance, split, cmat, blocks, weights, params, t_res, params.near_copy,
                         rng, known_columns)
    n, m = mine.len(), chance.len()
    out = [_excess(check, "top1_accuracy", t1, n, c1, m, base),
           _excess(check, "top10_accuracy", t10, n, c10, m, base),
           Metric.proportion(check, "baseline", c1, m, params={**base, "what": "control persons whose top-1 "
                                                                "synthetic actor is a near copy (chance)"}),
           Metric.proportion(check, "baseline_top10", c10, m, params={**base, "what": "control persons with a "
                                                                      "near copy in their top 10 (chance)"}),
           Metric.proportion(check, "top1_copy_share", t1, n, params=base),
           Metric.proportion(check, "top10_copy_share", t10, n, params=base)]
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m_, seconds=seconds) for m_ in out]
