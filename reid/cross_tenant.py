"""Cross-tenant linkage: can a person's accounts in different organisations be tied together in the release?

Contractors and consultants hold accounts in several customer organisations. A multi-tenant vendor that
releases usage metadata of many tenants at once lets an attacker join them: the same deterministic pseudonym
of an e-mail address in two orgs (keyed hashing is consistent across tenants unless keyed per tenant), or the
same behaviour — working hours, action mix, device, network — which persists across accounts (Tournier & de
Montjoye, Sci. Adv. 2022, for behavioural persistence; Narayanan & Shmatikov, IEEE S&P 2008, for linkage
through shared sparse attributes).

Two attacks, scored with the ground truth (person -> accounts in several orgs):
* identifier: released records of different orgs sharing a value of a link column (e.g. ``actor_email``),
  where the value is held by at most ``max_group`` released actors (a common value links nothing);
* behaviour: each released actor of a multi-org person is matched to its nearest neighbour among the actors
  of *other* orgs (whole-period profiles, as in ``profile_linkage``); linked when that neighbour is the same
  person.

How to read it: ``linked_share`` is the share of multi-org persons linked by either attack (n = multi-org
persons in the truth); ``linked_share_identifier`` and ``linked_share_behaviour`` split it; ``baseline`` is
a blind guess among the other orgs' actors (1/N). The behaviour attack ranks each target against every
released actor (targets x actors scores); beyond ``targets`` multi-org persons (a large release: 71,478
target actors against 1.26M actors at 100M events) it attacks a seeded sample of them, and ``linked_share``
and ``linked_share_behaviour`` are proportions over that sample (their n says so) — the identifier attack,
a join, always covers every person.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import numpy as np
import polars as pl
import scipy.sparse as sp

from reid.params import CrossTenantParams, ProfileLinkageParams
from reid.profile_linkage import events_profile_matrix, feature_blocks, linkage_ranks, person_codes
from reid.result import Metric
from reid.unicity import duration_text, rng_for

CHECK = "cross_tenant"


def multi_org_persons(accounts: pl.DataFrame) -> pl.DataFrame:
    """Persons (``person_id``) holding accounts in at least two orgs, per the truth."""
    return (accounts.group_by("person_id").agg(pl.col("org_id").n_unique().alias("orgs"))
            .filter(pl.col("orgs") >= 2).select("person_id").sort("person_id"))


def sample_persons(persons: pl.DataFrame, n: int, seed: int) -> pl.DataFrame:
    """``n`` of the (sorted) ``persons`` (all when fewer), sampled with a derived seed."""
    if persons.height <= n:
        return persons
    return persons[np.sort(rng_for(seed, "cross_tenant.targets").choice(persons.height, n, replace=False))]


def identifier_links(records: pl.DataFrame, max_group: int) -> pl.DataFrame:
    """Persons linked through shared values. ``records``: (entity, org, value, person_id) — the attacker sees
    entity, org and value; person_id is the scorer's truth."""
    groups = (records.group_by("value").agg(pl.col("entity").n_unique().alias("entities"),
                                            pl.col("org").n_unique().alias("orgs"))
              .filter((pl.col("orgs") >= 2) & (pl.col("entities") <= max_group)))
    return (records.join(groups.select("value"), on="value", how="semi").drop_nulls("person_id")
            .group_by("value", "person_id").agg(pl.col("org").n_unique().alias("orgs"))
            .filter(pl.col("orgs") >= 2).select("person_id").unique())


def behaviour_links(events: pl.LazyFrame, actor_column: str, actor_truth: pl.DataFrame, persons: pl.DataFrame,
                    resolution: dt.timedelta | None, seed: int) -> tuple[pl.DataFrame, int]:
    """Persons one of whose actors has, as nearest neighbour among other orgs' actors, an actor of the same
    person. Returns (linked persons, number of candidate actors)."""
    res = duration_text(max(resolution or dt.timedelta(seconds=1), dt.timedelta(seconds=1)))
    lp = ProfileLinkageParams.model_validate({})
    org_of = (events.group_by(pl.col(actor_column).alias("entity"))
              .agg(pl.col("org_id").cast(pl.String).min().alias("org")).collect(engine="streaming"))
    actors = (org_of.join(actor_truth.select(pl.col("actor").cast(org_of.schema["entity"]).alias("entity"),
                                             "person_id"), on="entity", how="left").sort("entity"))
    targets = actors.with_row_index("i").join(persons, on="person_id", how="semi")
    if targets.height == 0 or actors.height < 2:
        return persons.clear(), actors.height
    cmat = actor_profiles(events, actor_column, actors["entity"], res, lp)
    tmat = cmat[targets["i"].to_numpy()]          # the targets are released actors: their rows of cmat
    tkeys, ckeys = person_codes(targets["person_id"], actors["person_id"])
    tgroups, cgroups = person_codes(targets["org"].cast(pl.String), actors["org"].cast(pl.String))
    cgroups = cgroups.copy()
    cgroups[cgroups == -1] = -3          # actors without an org are never "same org"
    ranks = linkage_ranks(tmat, cmat, tkeys, ckeys, lp.block_size, rng_for(seed, "cross_tenant.ties"),
                          exclude=(tgroups, cgroups))
    linked = targets.filter(pl.Series(ranks == 1)).select("person_id").unique()
    return linked, actors.height


def actor_profiles(events: pl.LazyFrame, actor_column: str, actors: pl.Series, resolution: str,
                   lp: ProfileLinkageParams) -> sp.csr_matrix:
    """The whole-period profile of every released actor (``actors``, distinct, non-null, every actor of the
    events): the blocks of :func:`feature_counts`, in name order, each weighing 1, the blocks no event fills
    left out — the matrix ``profile_matrix(feature_counts(...), actors, <blocks present>, ...)`` gives, built
    without the (actor, block, value, n) strings frame (:func:`events_profile_matrix`)."""
    exprs = feature_blocks(events, resolution, lp.ipv4_prefix)
    names = sorted(exprs)
    full = events_profile_matrix(events, actor_column, actors, {b: exprs[b] for b in names},
                                 {b: 1.0 for b in names}, lp.hash_buckets)
    nnz = np.diff(full.tocsc().indptr)
    keep, start = [], 0
    for b in names:
        width = 168 if b == "hour_of_week" else lp.hash_buckets
        if nnz[start:start + width].any():
            keep.append(np.arange(start, start + width))
        start += width
    return full[:, np.concatenate(keep)] if keep else full[:, :0]


def cross_tenant(anon: dict[str, pl.LazyFrame], *, accounts: pl.DataFrame, actor_column: str | None,
                 actor_truth: pl.DataFrame | None, user_truth: pl.DataFrame | None, params: CrossTenantParams,
                 seed: int = 0, release_resolution: dt.timedelta | None = None) -> list[Metric]:
    """``linked_share`` (+ ``_identifier``, ``_behaviour``, ``baseline``) over multi-org persons.

    ``anon``: released tables. ``accounts``: truth (account_id, person_id, org_id). ``actor_truth``: released
    actor -> person_id; ``user_truth``: released users row index (``row``) -> person_id (both scorer-only).
    """
    t0 = time.perf_counter()
    persons = multi_org_persons(accounts)
    n = persons.height
    events = anon.get("events")
    behaviour = bool(params.behaviour and events is not None and actor_column and actor_truth is not None)
    attacked = sample_persons(persons, params.targets, seed) if behaviour else persons
    records = []
    if events is not None and actor_column and actor_truth is not None:
        names = events.collect_schema().names()
        org = pl.col("org_id").cast(pl.String) if "org_id" in names else pl.col(actor_column).cast(pl.String)
        truth = actor_truth.select(pl.col("actor").cast(pl.String).alias("entity"), "person_id")
        for column in params.link_columns.get("events", []):
            if column in names:
                records.append(events.select(pl.col(actor_column).cast(pl.String).alias("entity"), org.alias("org"),
                                             pl.col(column).cast(pl.String).alias("value")).drop_nulls().unique()
                               .collect(engine="streaming").join(truth, on="entity", how="left"))
    users = anon.get("users")
    if users is not None and user_truth is not None:
        names = users.collect_schema().names()
        for column in params.link_columns.get("users", []):
            if column in names and "org_id" in names:
                records.append(users.with_row_index("row").select(
                    pl.concat_str([pl.lit("user:"), pl.col("row").cast(pl.String)]).alias("entity"),
                    pl.col("org_id").cast(pl.String).alias("org"), pl.col(column).cast(pl.String).alias("value"),
                    "row").collect().join(user_truth.select("row", "person_id"), on="row", how="left").drop("row"))
    base = {"max_group": params.max_group, "link_columns": params.link_columns, "behaviour": params.behaviour,
            "seed": seed, "targets": params.targets}
    if not records and not behaviour:
        return [Metric(CHECK, m, float("nan"), 0, params={**base, "applicable": False,
                                                          "reason": "no released events or users"},
                       seconds=time.perf_counter() - t0)
                for m in ("linked_share", "linked_share_identifier", "linked_share_behaviour", "baseline")]
    by_id = identifier_links(pl.concat(records, how="vertical_relaxed"), params.max_group).join(
        persons, on="person_id", how="semi") if records else persons.clear()
    by_behaviour, n_cand = persons.clear(), 0
    if behaviour:
        assert events is not None and actor_column is not None and actor_truth is not None
        by_behaviour, n_cand = behaviour_links(events, actor_column, actor_truth, attacked, release_resolution,
                                               seed)
    either = pl.concat([by_id.join(attacked, on="person_id", how="semi"), by_behaviour]).unique()
    sampled = {**base, "sampled": attacked.height < n}
    out = [Metric.proportion(CHECK, "linked_share", either.height, attacked.height, params=sampled),
           Metric.proportion(CHECK, "linked_share_identifier", by_id.height, n, params=base),
           Metric.proportion(CHECK, "linked_share_behaviour", by_behaviour.height, attacked.height, params=sampled),
           Metric(CHECK, "baseline", 1.0 / n_cand if n_cand else float("nan"), n_cand,
                  params={**base, "what": "1/N released actors (behaviour attack)"})]
    seconds = time.perf_counter() - t0
    return [dataclasses.replace(m, seconds=seconds) for m in out]
