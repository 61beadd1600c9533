"""How much unicity moves with the population: a Poisson bootstrap over the released population's accounts.

Unicity is a property of a target *and of everybody else*: a target is unique when no other trace holds its
``p`` known points. On another population of the same kind (another seed, next month's data) the targets differ,
and so do the others — and at coarse knowledge a handful of near-always-active actors, whose traces hold most
day-sets, decide for most targets whether they are unique (at 8 known days, 0 to 23 of ~500 targets on six
seeds). That between-population variation is not in the binomial interval of the figure, which treats the
population as fixed; a comparison of runs on different populations needs it (``check --baseline``).

It is estimated from one run by resampling the population (Efron's bootstrap in its Poisson form, Hanley &
MacGibbon, Comput. Methods Programs Biomed. 2006; Chamandy et al. 2012): every account gets a weight
w ~ Poisson(1) per replicate, the same for its trace and for it as a target. A target, counted with its weight,
is unique in a replicate when the traces holding its points, each counted with its account's weight (its own
trace once: the target is in the population), add up to one; it is re-identified when that one trace is its
person's (a trace of another person left alone by the replicate is unique but wrong). Only the few traces matching each target are needed: with more than ``MAX_MATCHES`` matches a target
is unique in a replicate with probability below e^-(MAX_MATCHES - 1) (< 2e-5) and is counted as not unique.

How to read it: ``population_se`` (stored in the row's params beside the figure) is the standard deviation of
the share over the replicates: the spread the figure would show over populations like this one. It is the
between-population term a regression test on another population adds to the sampling variance. It is not an
interval of this run's figure (the binomial one is).
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
import scipy.sparse as sp

MAX_MATCHES = 12
"""Targets matched by more traces are never unique in a replicate (probability below e^-11)."""
REPLICATES = 400
"""Bootstrap replicates: the s.e. of a standard deviation from R replicates is about sd / sqrt(2R) (3.5%)."""


def population_se(scored: pl.DataFrame, truth: pl.DataFrame, *, seed: int, purpose: str,
                  replicates: int = REPLICATES) -> tuple[float, float]:
    """(s.d. of ``unique_share``, s.d. of ``reidentified_share``) over Poisson bootstrap replicates.

    ``scored``: one row per target: ``person_id`` and ``few``: the actors whose traces hold all the target's
    points (null when more than ``MAX_MATCHES`` do). ``truth``: ``actor`` -> ``person_id``. The population's
    units are persons (an actor without a person is a unit of its own); a target's own traces are its person's."""
    n = scored.height
    if n == 0:
        return float("nan"), float("nan")
    scored = scored.with_row_index("i").with_columns(  # a target without a person is a unit of its own
        pl.coalesce(pl.col("person_id").cast(pl.String), pl.lit("target:") + pl.col("i").cast(pl.String))
        .alias("person_id"))
    pairs = (scored.select("i", "person_id", "few")
             .explode("few").drop_nulls("few")
             .join(truth.select(pl.col("actor").cast(pl.String).alias("few"),
                                pl.col("person_id").cast(pl.String).alias("actor_person")), on="few", how="left")
             .with_columns(pl.coalesce("actor_person", pl.lit("actor:") + pl.col("few")).alias("u")))
    units = (pl.concat([scored.select(pl.col("person_id").alias("u")), pairs.select("u")])
             .unique().sort("u").with_row_index("j"))   # sorted: a unit's weights never depend on row order
    target_unit = scored.select(pl.col("person_id").alias("u")).join(units, on="u", how="left", maintain_order="left")
    pairs = pairs.join(units, on="u", how="left").with_columns((pl.col("u") == pl.col("person_id")).alias("own"))
    i, j = pairs["i"].to_numpy().astype(np.int64), pairs["j"].to_numpy().astype(np.int64)
    own = pairs["own"].to_numpy()
    # per target: its own trace (weight 1: it is in the population; it is the right one) and the others'
    own_count = np.bincount(i[own], minlength=n).clip(max=1)
    others = sp.csr_matrix((np.ones(int((~own).sum())), (j[~own], i[~own])), shape=(units.height, n))
    rng = np.random.default_rng([seed, zlib.crc32(purpose.encode())])
    w = rng.poisson(1.0, size=(replicates, units.height)).astype(np.float64)
    traces = own_count + np.asarray((sp.csr_matrix(w) @ others).todense())
    unique = traces == 1
    reidentified = unique & (own_count == 1)   # the one trace left is the target's own
    wt = w[:, target_unit["j"].to_numpy().astype(np.int64)]
    total = wt.sum(axis=1)
    total[total == 0] = np.nan
    shares = [np.nansum(wt * u, axis=1) / total for u in (unique, reidentified)]
    return tuple(float(np.nanstd(s, ddof=1)) for s in shares)  # type: ignore[return-value]
