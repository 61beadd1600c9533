"""Cross-period profile linkage (after Tournier & de Montjoye, "Expanding the attack surface: Robust profiling
attacks threaten the privacy of sparse behavioral data", Sci. Adv. 8, eabm2870, 2022).

The attacker holds a target's raw events from an earlier period (the first ``split`` of the observed time) and
looks for the target among the pseudonymous actors of the later period in the release. Each side becomes a
behavioural profile — hour-of-week histogram, action mix, user agents, IP prefixes — and the attacker ranks
the released actors by cosine similarity (a weighted sum of per-block cosines). Behaviour persists over time,
so disjoint periods and fresh pseudonyms do not protect.

**What the attacker knows** is a knowledge set (:class:`reid.params.KnowledgeSet`, ``params.knowledge``): the
time at a resolution, which makes the time block (hour of the week; day of the week at 1 d), and the known
fields of each event (action, product, container, object…), one block each. Besides, a profiling attacker
holds its targets' devices and networks (user agents, IP prefixes), as in the paper. The default set
(1 h, action) gives the classic profile: hour of week, action mix, user agents, IP prefixes.

Blocks whose released values the attacker cannot reproduce from raw data (hashed user agents, tokenized IPs,
pseudonymized containers: less than ``min_overlap`` of the released values occur in the raw vocabulary) are
dropped, as a real attacker would. Times are compared at the coarser of the attacker's and the release's
resolution: an attacker who knows exact times matches them to the release's hour buckets, and hour-of-week
degrades to day-of-week under daily buckets (or daily knowledge).

How to read it: ``top1_accuracy`` is the share of targets whose own later-period trace ranks first;
``top10_accuracy`` within the first ten — both among targets present in the later release, as in the paper;
``targets_present`` says what share of the active targets that is (sampling persons lowers it). Compare with
``baseline`` (1/N, a blind guess among N released actors) and ``baseline_top10`` (10/N). Ranks are scored with the ground truth; ties are broken at random.
Scores are sparse-by-dense matrix products in blocks of targets, never pairwise loops.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import numpy as np
import polars as pl
import scipy.sparse as sp

from generators.weektime import hour_of_week
from reid.params import FIELD_OF_COLUMN, ProfileLinkageParams, parse_duration
from reid.result import Metric
from reid.unicity import duration_text, rng_for, sample_targets

CHECK = "profile_linkage"
BLOCKS = ("hour_of_week", "action", "user_agent", "ip_prefix")
CONTEXT_BLOCKS = ("user_agent", "ip_prefix")   # devices and networks: known to every profiling attacker
MAX_BLOCK_CELLS = 1 << 24   # dense (targets x candidates) cells scored at once: ~64 MB per float32 temporary


def rows_per_block(block_size: int, candidates: int, cells: int = MAX_BLOCK_CELLS) -> int:
    """Target rows scored at once: at most ``block_size``, fewer when there are so many candidates that a
    block's dense score matrix would pass ``cells`` (memory then follows the candidates, not their product
    with the block; every row is scored alike, so the ranks do not depend on the block)."""
    return max(1, min(block_size, cells // max(candidates, 1)))


def block_order(known_columns: list[str] | tuple[str, ...] = ("action",)) -> list[str]:
    """The blocks of a profile: the time, one per known column (named by its knowledge field), the context."""
    return ["hour_of_week", *(FIELD_OF_COLUMN.get(c, c) for c in known_columns), *CONTEXT_BLOCKS]


def time_resolution(knowledge_time: str, release: dt.timedelta | None) -> str:
    """The coarser of the attacker's and the release's time resolution."""
    return duration_text(max(parse_duration(knowledge_time), release or dt.timedelta(seconds=1)))


def profile_resolution(knowledge_time: str, release: dt.timedelta | None) -> str:
    """The resolution at which hour-of-week profiles differ: any resolution that divides an hour gives the
    profile of 1 h."""
    secs = int(parse_duration(time_resolution(knowledge_time, release)).total_seconds())
    return "1h" if 3600 % secs == 0 else duration_text(dt.timedelta(seconds=secs))


def ip_prefix_expr(column: str, prefix: int) -> pl.Expr:
    """The first ``prefix // 8`` octets of an IPv4-looking string (``a.b.c``), else null. Works on full
    addresses and on generalized ones (``a.b.c.0/24``)."""
    octets = max(1, prefix // 8)
    pattern = r"^(\d{1,3}(?:\.\d{1,3}){" + str(octets - 1) + r"})\."
    return pl.col(column).cast(pl.String).str.extract(pattern, 1)


def feature_counts(events: pl.LazyFrame, entity: str, resolution: str, ipv4_prefix: int,
                   known_columns: list[str] | tuple[str, ...] = ("action",)) -> pl.DataFrame:
    """``(entity, block, value, n)``: per actor, how many events fall on each hour of the week, each value of
    the known columns (a block per column, named by its knowledge field: ``action``, ``container``…), user
    agent and IP prefix. Each block is counted with its native type first and turned into strings only once
    aggregated (formatting millions of hours as strings would dominate)."""
    return block_counts(events, entity, feature_blocks(events, resolution, ipv4_prefix, known_columns))


def feature_blocks(events: pl.LazyFrame, resolution: str, ipv4_prefix: int,
                   known_columns: list[str] | tuple[str, ...] = ("action",)) -> dict[str, pl.Expr]:
    """The feature blocks of :func:`feature_counts`: block name -> expression over the events."""
    names = events.collect_schema().names()
    blocks: dict[str, pl.Expr] = {"hour_of_week": hour_of_week_expr(resolution)}
    for c in known_columns:
        if c in names:
            blocks[FIELD_OF_COLUMN.get(c, c)] = pl.col(c)
    if "user_agent" in names:
        blocks["user_agent"] = pl.col("user_agent")
    if "client_ip" in names:
        # the prefix of an address; a token (pseudonymized address) is kept as it is: still a consistent value
        blocks["ip_prefix"] = pl.coalesce(ip_prefix_expr("client_ip", ipv4_prefix), pl.col("client_ip").cast(pl.String))
    return blocks


def hour_of_week_expr(resolution: str) -> pl.Expr:
    """Hour of the week (0 = Monday 00h, UTC) of ``event_time`` truncated to ``resolution``."""
    return hour_of_week(pl.col("event_time").dt.truncate(resolution), pl.Int16)


def block_counts(events: pl.LazyFrame, entity: str, blocks: dict[str, pl.Expr]) -> pl.DataFrame:
    """``(entity, block, value, n)`` for any feature blocks (name -> expression over the events)."""
    plans = [events.select(pl.col(entity).cast(pl.String).alias("entity"), expr.alias("value"))
             .drop_nulls().group_by("entity", "value").agg(pl.len().cast(pl.UInt32).alias("n"))
             .select("entity", pl.lit(block).alias("block"), pl.col("value").cast(pl.String), "n")
             for block, expr in blocks.items()]
    # one plan after the other (collected together they share one scan that buffers for the slowest)
    return pl.concat([plan.collect(engine="streaming") for plan in plans])


def vocabulary(events: pl.LazyFrame, ipv4_prefix: int,
               known_columns: list[str] | tuple[str, ...] = ("action",)) -> pl.DataFrame:
    """``(block, value)``: every value the attacker's raw data holds per block (hours of the week: all)."""
    names = events.collect_schema().names()
    parts = [pl.LazyFrame({"block": ["hour_of_week"] * 168, "value": [str(h) for h in range(168)]})]
    known = [(FIELD_OF_COLUMN.get(c, c), c, pl.col(c)) for c in known_columns]
    for block, column, expr in (*known,
                                ("user_agent", "user_agent", pl.col("user_agent")),
                                ("ip_prefix", "client_ip", ip_prefix_expr("client_ip", ipv4_prefix))):
        if column in names:
            parts.append(events.select(pl.lit(block).alias("block"), expr.cast(pl.String).alias("value"))
                         .drop_nulls().unique())
    return pl.concat(parts).collect(engine="streaming")


def usable_blocks(attacker: pl.DataFrame, release: pl.DataFrame, min_overlap: float,
                  order: list[str] | tuple[str, ...] = BLOCKS) -> list[str]:
    """Blocks (of ``order``) present on both sides whose released rows mostly carry values the attacker has
    seen."""
    known = attacker.select("block", "value").unique()
    counts = (release.group_by("block", "value").agg(pl.col("n").sum())
              .join(known.with_columns(pl.lit(True).alias("seen")), on=["block", "value"], how="left")
              .group_by("block").agg((pl.col("n") * pl.col("seen").fill_null(False)).sum() / pl.col("n").sum())
              )
    share = dict(zip(counts["block"].to_list(), counts["n"].to_list(), strict=True))
    return [b for b in order if share.get(b, 0.0) >= min_overlap and b in set(known["block"].to_list())]


def profile_matrix(counts: pl.DataFrame, entities: pl.Series, blocks: list[str], weights: dict[str, float],
                   buckets: int) -> sp.csr_matrix:
    """Sparse profile matrix (one row per entity, in ``entities`` order): per block, the L2-normalized count
    vector times the block's weight, so that a dot product is the weighted sum of per-block cosines.
    Values are feature-hashed into ``buckets`` columns per block (hour-of-week uses 168 exact columns)."""
    index = pl.DataFrame({"entity": entities, "row": np.arange(len(entities), dtype=np.int64)})
    df = counts.filter(pl.col("block").is_in(blocks)).join(index, on="entity", how="inner")
    width = 168 + buckets * (len(blocks) - 1) if "hour_of_week" in blocks else buckets * len(blocks)
    offsets, start = {}, 0
    for b in blocks:
        offsets[b] = start
        start += 168 if b == "hour_of_week" else buckets
    col = pl.when(pl.col("block") == "hour_of_week").then(pl.col("value").cast(pl.Int64, strict=False)) \
        .otherwise((pl.col("value").hash(7) % pl.lit(buckets, dtype=pl.UInt64)).cast(pl.Int64))
    df = (df.with_columns(col.alias("col"))
          .with_columns((pl.col("col") + pl.col("block").replace_strict(offsets, return_dtype=pl.Int64)).alias("col"))
          .group_by("row", "block", "col").agg(pl.col("n").sum().cast(pl.Float64)))
    norms = df.group_by("row", "block").agg((pl.col("n") ** 2).sum().sqrt().alias("norm"))
    df = df.join(norms, on=["row", "block"]).with_columns(
        (pl.col("n") / pl.col("norm") * pl.col("block").replace_strict(weights, default=1.0,
                                                                      return_dtype=pl.Float64)).alias("w"))
    return sp.csr_matrix((df["w"].to_numpy().astype(np.float32), (df["row"].to_numpy(), df["col"].to_numpy())),
                         shape=(len(entities), width))


def events_profile_matrix(events: pl.LazyFrame, entity: str, entities: pl.Series, blocks: dict[str, pl.Expr],
                          weights: dict[str, float], buckets: int) -> sp.csr_matrix:
    """``profile_matrix(block_counts(events, entity, blocks), entities, list(blocks), weights, buckets)``
    without the ``(entity, block, value, n)`` frame: per block, one streaming plan joins the events to the
    row of their entity first (``entities`` distinct), so the counts are grouped by integer row and value
    and only ``(row, column, weight)`` numbers are kept. The strings frame held every entity string once per
    (entity, value) pair: at 100M events, 1.26M released actors, it was the 7.5 GB peak of ``membership``.
    Equal to the two-step result (the same counts, columns and float arithmetic)."""
    names = list(blocks)
    if entities.n_unique() != entities.len():   # a row per entity is what the join below needs
        return profile_matrix(block_counts(events, entity, blocks), entities, names, weights, buckets)
    index = pl.LazyFrame({"entity": entities.cast(pl.String), "row": np.arange(len(entities), dtype=np.int64)})
    width = 168 + buckets * (len(names) - 1) if "hour_of_week" in names else buckets * len(names)
    start, plans = 0, []
    for b in names:
        value = pl.col("value").cast(pl.String)
        col = value.cast(pl.Int64, strict=False) if b == "hour_of_week" else \
            (value.hash(7) % pl.lit(buckets, dtype=pl.UInt64)).cast(pl.Int64)
        plans.append(events.select(pl.col(entity).cast(pl.String).alias("entity"), blocks[b].alias("value"))
                     .drop_nulls().join(index, on="entity", how="inner")
                     .group_by("row", "value").agg(pl.len().cast(pl.UInt32).alias("n"))
                     .select("row", (col + start).alias("col"), "n")
                     .group_by("row", "col").agg(pl.col("n").sum().cast(pl.Float64)))
        start += 168 if b == "hour_of_week" else buckets
    rows, cols, data = [], [], []
    # one plan after the other: collected together they share one scan that buffers events for the slowest
    # (cross_tenant's actor profiles at 100M events: 3.06 GB and 68 s together, 2.82 GB and 59 s one by one)
    for b, plan in zip(names, plans, strict=True):
        df = plan.collect(engine="streaming")
        df = df.with_columns((pl.col("n") / (pl.col("n") ** 2).sum().sqrt().over("row")
                              * weights.get(b, 1.0)).alias("w"))
        rows.append(df["row"].to_numpy())
        cols.append(df["col"].to_numpy())
        data.append(df["w"].to_numpy().astype(np.float32))
    if not names:
        return sp.csr_matrix((len(entities), width), dtype=np.float32)
    return sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(len(entities), width))


def person_codes(targets: pl.Series, candidates: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of person ids shared by both sides; unknown persons never match (-1 vs -2)."""
    vocab = pl.concat([targets, candidates]).drop_nulls().unique().sort()
    mapping = pl.DataFrame({"p": vocab, "code": np.arange(len(vocab), dtype=np.int64)})

    def codes(s: pl.Series, missing: int) -> np.ndarray:
        return (pl.DataFrame({"p": s}).join(mapping, on="p", how="left", maintain_order="left")["code"]
                .fill_null(missing).to_numpy())
    return codes(targets, -2), codes(candidates, -1)


def rank_of_truth(scores: np.ndarray, truth_mask: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Rank (1 = first) of the best-scoring true candidate of each row, ties broken uniformly at random;
    rows without a true candidate get a rank past the end."""
    s_true = np.where(truth_mask, scores, -np.inf).max(axis=1)
    others = ~truth_mask
    greater = ((scores > s_true[:, None]) & others).sum(axis=1)
    ties = ((scores == s_true[:, None]) & others).sum(axis=1)
    rank = 1 + greater + np.floor(u * (ties + 1)).astype(np.int64)
    return np.where(np.isfinite(s_true), rank, scores.shape[1] + 1)


def linkage_ranks(target_profiles: sp.csr_matrix, candidate_profiles: sp.csr_matrix, target_keys: np.ndarray,
                  candidate_keys: np.ndarray, block_size: int, rng: np.random.Generator,
                  exclude: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Ranks of each target's true candidate (same key) among all candidates, by cosine score, in blocks.
    ``exclude`` = (target groups, candidate groups): candidates of the target's own group are left out
    (e.g. its own org when linking across orgs)."""
    cand_t = candidate_profiles.T.tocsr()
    ranks = np.empty(target_profiles.shape[0], dtype=np.int64)
    # the tie-break draws are one stream: rng.random(a) then rng.random(b) equals rng.random(a + b)
    block_size = rows_per_block(block_size, candidate_profiles.shape[0])
    for lo in range(0, target_profiles.shape[0], block_size):
        hi = min(lo + block_size, target_profiles.shape[0])
        scores = (target_profiles[lo:hi] @ cand_t).toarray()
        mask = target_keys[lo:hi, None] == candidate_keys[None, :]
        if exclude is not None:
            same = exclude[0][lo:hi, None] == exclude[1][None, :]
            scores[same] = -np.inf
            mask &= ~same
        ranks[lo:hi] = rank_of_truth(scores, mask, rng.random(hi - lo))
    return ranks


def profile_linkage(raw_events: pl.LazyFrame, anon_events: pl.LazyFrame, *, actor_column: str,
                    actor_truth: pl.DataFrame, targets: pl.DataFrame, params: ProfileLinkageParams,
                    seed: int = 0, release_resolution: dt.timedelta | None = None, knowledge_time: str = "1h",
                    known_columns: list[str] | tuple[str, ...] = ("action",)) -> list[Metric]:
    """``top1_accuracy``, ``top10_accuracy``, ``baseline``, ``baseline_top10`` (Tournier & de Montjoye 2022).

    ``raw_events``: account_id, event_time, the known columns, user_agent, client_ip (what the attacker knows,
    first period). ``anon_events``: the actor column, event_time and whatever of the rest was released.
    ``actor_truth``: actor -> person_id (scorer only). ``targets``: eligible accounts (account_id, person_id).
    ``knowledge_time``/``known_columns``: the knowledge set (its time resolution, the events columns known).
    """
    t0 = time.perf_counter()
    res = duration_text(max(release_resolution or dt.timedelta(seconds=1), dt.timedelta(seconds=1)))
    t_res = time_resolution(knowledge_time, release_resolution)   # the time blocks: attacker's or release's
    bounds = raw_events.select(pl.col("event_time").min().alias("lo"), pl.col("event_time").max().alias("hi")) \
        .collect()
    lo, hi = bounds["lo"][0], bounds["hi"][0]
    split = pl.select(pl.lit(lo + (hi - lo) * params.split).dt.truncate(res)).item()
    earlier = raw_events.filter(pl.col("event_time") < split)
    release = feature_counts(anon_events.filter(pl.col("event_time") >= split), actor_column, t_res,
                             params.ipv4_prefix, known_columns)
    blocks = [b for b in usable_blocks(vocabulary(earlier, params.ipv4_prefix, known_columns), release,
                                       params.min_overlap, block_order(known_columns))
              if params.weights.get(b, 1.0) > 0]
    base = {"split": params.split, "resolution": t_res, "blocks": blocks, "actor_column": actor_column,
            "min_events": params.min_events, "seed": seed}
    active_raw = (earlier.group_by("account_id").agg(pl.len().alias("n"))
                  .filter(pl.col("n") >= params.min_events).select("account_id").collect(engine="streaming"))
    candidates = (release.filter(pl.col("block") == "hour_of_week").group_by("entity").agg(pl.col("n").sum())
                  .filter(pl.col("n") >= params.min_events).select("entity").sort("entity")
                  .join(actor_truth.select(pl.col("actor").cast(release.schema["entity"]).alias("entity"),
                                           "person_id"), on="entity", how="left"))
    present = candidates["person_id"].drop_nulls().unique().implode()
    active_targets = targets.select("account_id", "person_id").join(active_raw, on="account_id", how="semi")
    eligible = active_targets.filter(pl.col("person_id").is_in(present))
    chosen = sample_targets(eligible, params.targets, seed, "profile_linkage.targets")
    # the attacker profiles its targets only
    attacker = feature_counts(earlier.filter(pl.col("account_id").is_in(chosen["account_id"].implode())),
                              "account_id", t_res, params.ipv4_prefix, known_columns)
    n_cand = candidates.height
    if chosen.height == 0 or n_cand == 0 or not blocks:
        reason = "no released actors" if n_cand == 0 else ("no usable blocks" if not blocks else "no targets")
        return [Metric(CHECK, m, float("nan"), 0, params={**base, "applicable": False, "reason": reason},
                       seconds=time.perf_counter() - t0)
                for m in ("top1_accuracy", "top10_accuracy", "baseline", "baseline_top10")]
    weights = {b: params.weights.get(b, 1.0) for b in blocks}
    tmat = profile_matrix(attacker, chosen["account_id"], blocks, weights, params.hash_buckets)
    cmat = profile_matrix(release, candidates["entity"], blocks, weights, params.hash_buckets)
    tkeys, ckeys = person_codes(chosen["person_id"], candidates["person_id"])
    ranks = linkage_ranks(tmat, cmat, tkeys, ckeys, params.block_size, rng_for(seed, "profile_linkage.ties"))
    n = chosen.height
    out = [Metric.proportion(CHECK, "top1_accuracy", int((ranks <= 1).sum()), n, params=base),
           Metric.proportion(CHECK, "top10_accuracy", int((ranks <= 10).sum()), n, params=base),
           Metric(CHECK, "baseline", 1.0 / n_cand, n_cand, params={**base, "what": "1/N released actors"}),
           Metric(CHECK, "baseline_top10", min(1.0, 10.0 / n_cand), n_cand,
                  params={**base, "what": "10/N released actors"}),
           Metric.proportion(CHECK, "targets_present", eligible.height, active_targets.height,
                             params={**base, "what": "active raw targets present in the later release"})]
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m, seconds=seconds) for m in out]
