"""Equivalence-class metrics of a table over a set of quasi-identifiers, as in ARX and pyCANON.

An equivalence class is the set of records sharing the same values of all quasi-identifiers (QIs).

* ``k`` — k-anonymity (Samarati & Sweeney 1998; Sweeney, IJUFKS 2002): the size of the smallest class.
* ``equivalence_classes`` — how many classes there are.
* ``unique_share`` — records alone in their class / records (sample uniqueness).
* ``prosecutor_risk_max`` — 1 / k: the re-identification probability of the most exposed record when the
  attacker knows the target is in the table (El Emam & Dankar, JAMIA 2008; ARX "highest prosecutor risk";
  pyCANON ``max_rir``).
* ``prosecutor_risk_avg`` — the average over records of 1 / (size of its class) = classes / records (ARX
  "average prosecutor risk"; El Emam, "Guide to the De-Identification of Personal Health Information" 2013).
  Thresholds such as 0.09 for public release (EMA Policy 0070) refer to this figure.
* ``class_risk_avg`` — the average over *classes* of 1 / size (pyCANON ``average_rir``), given for comparison.
* ``l_distinct`` — distinct l-diversity (Machanavajjhala et al., ICDE 2006): the fewest distinct sensitive values
  in a class.
* ``l_entropy`` — entropy l-diversity: exp of the smallest class entropy of the sensitive attribute (natural
  log). pyCANON reports ``int()`` of this number.
* ``t_closeness`` — t-closeness (Li, Li & Venkatasubramanian, ICDE 2007): the largest Earth Mover's Distance
  between a class's sensitive-value distribution and the table's — the ordered distance for a numeric
  attribute, the equal distance (half the L1 distance) otherwise, exactly as pyCANON computes them.

Missing values are a value of their own (as in ARX). pyCANON, which groups with pandas, silently drops records
with a missing QI; on tables without missing QIs the two agree exactly.

How to read it: ``k`` = 1 or a ``unique_share`` above 0 means someone is alone with their QI values and a
prosecutor who knows them finds their record; ``l_distinct`` = 1 means some class reveals its sensitive value
to anyone who can place a person in it; ``t_closeness`` near 1 means some class's sensitive values are nothing
like the population's.
"""

from __future__ import annotations

import math
import time

import numpy as np
import polars as pl

from reid.neighbors import is_numeric
from reid.result import Metric

__all__ = ["class_sizes", "quasi_identifiers", "t_closeness"]

CHECK = "quasi_identifiers"


def class_sizes(df: pl.DataFrame, qis: list[str]) -> pl.DataFrame:
    """One row per equivalence class: the QI values and ``size``."""
    return df.group_by(qis).agg(pl.len().alias("size"))


def _class_ids(df: pl.DataFrame, qis: list[str]) -> pl.Series:
    return df.select(pl.struct(qis).rank("dense").alias("cls")).to_series().cast(pl.Int64) - 1


def _value_counts(df: pl.DataFrame, qis: list[str], sensitive: str) -> pl.DataFrame:
    """Per (class, sensitive value): count ``c``, class size ``size``, and the value's rank ``pos``."""
    t = df.select(_class_ids(df, qis).alias("cls"), pl.col(sensitive).alias("s"))
    t = t.with_columns(pl.col("s").rank("dense").cast(pl.Int64).fill_null(0).alias("pos"))
    vc = t.group_by("cls", "pos").agg(pl.len().alias("c"))
    return vc.with_columns(pl.col("c").sum().over("cls").alias("size")).sort("cls", "pos")


def t_closeness(df: pl.DataFrame, qis: list[str], sensitive: str) -> float:
    """Largest EMD between a class's distribution of ``sensitive`` and the whole table's (pyCANON's t)."""
    vc = _value_counts(df, qis, sensitive)
    n = df.height
    glob = vc.group_by("pos").agg(pl.col("c").sum()).sort("pos")
    m = glob.height
    if m <= 1:
        return 0.0
    p = glob["c"].to_numpy() / n
    pos_index = np.searchsorted(glob["pos"].to_numpy(), vc["pos"].to_numpy())
    q = vc["c"].to_numpy() / vc["size"].to_numpy()
    cls = vc["cls"].to_numpy()
    ncls = int(cls.max()) + 1
    if not is_numeric(df.schema[sensitive]):
        # equal distance: ½ Σ|q − p| = ½ (Σ_in |q − p| + 1 − Σ_in p)
        in_diff = np.bincount(cls, weights=np.abs(q - p[pos_index]), minlength=ncls)
        in_p = np.bincount(cls, weights=p[pos_index], minlength=ncls)
        return float((0.5 * (in_diff + 1.0 - in_p)).max())
    # ordered distance: Σ_i |Q(i) − P(i)| / (m − 1), Q and P cumulative; Q is a step function per class, so
    # the sum is taken segment by segment with prefix sums of P (P is non-decreasing).
    big_p = np.cumsum(p)
    s_p = np.concatenate([[0.0], np.cumsum(big_p)])
    first = np.r_[True, cls[1:] != cls[:-1]]
    starts = np.flatnonzero(first)
    cs = np.cumsum(q)
    qcum = cs - np.repeat(np.r_[0.0, cs[starts[1:] - 1]], np.diff(np.r_[starts, q.size]))
    last = np.r_[cls[1:] != cls[:-1], True]
    seg_end = np.where(last, m, np.r_[pos_index[1:], m])

    def seg_sum(qv: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
        t = np.clip(np.searchsorted(big_p, qv, side="left"), s, e)
        return qv * (t - s) - (s_p[t] - s_p[s]) + (s_p[e] - s_p[t]) - qv * (e - t)

    total = seg_sum(qcum, pos_index, seg_end)
    head = np.where(first, s_p[pos_index] - s_p[0], 0.0)  # before the class's first value: Q = 0
    emd = np.bincount(cls, weights=total + head, minlength=ncls) / (m - 1)
    return float(emd.max())


def quasi_identifiers(df: pl.DataFrame, qis: list[str], sensitive: str | None = None,
                      params: dict | None = None) -> list[Metric]:
    """k-anonymity, uniqueness, prosecutor risk and, with ``sensitive``, l-diversity and t-closeness.

    ``n`` of every figure is the number of records. Definitions in the module docstring.
    """
    start = time.perf_counter()
    if not qis:
        raise ValueError("quasi_identifiers: at least one column is needed")
    for c in [*qis, *([sensitive] if sensitive else [])]:
        if c not in df.columns:
            raise ValueError(f"{c}: no such column")
    if sensitive in qis:
        raise ValueError(f"{sensitive}: the sensitive attribute cannot also be a quasi-identifier")
    n = df.height
    base = {"quasi_identifiers": list(qis), **(params or {})}
    if n == 0:
        raise ValueError("quasi_identifiers: the table is empty")
    sizes = class_sizes(df, qis)["size"].to_numpy()
    k = int(sizes.min())
    ec = int(sizes.size)
    out = [
        Metric(CHECK, "k", float(k), n, params=base),
        Metric(CHECK, "equivalence_classes", float(ec), n, params=base),
        Metric.proportion(CHECK, "unique_share", int((sizes == 1).sum()), n, params=base),
        Metric(CHECK, "prosecutor_risk_max", 1.0 / k, n, params=base),
        Metric(CHECK, "prosecutor_risk_avg", ec / n, n, params=base, successes=int(ec)),  # classes / records
        Metric(CHECK, "class_risk_avg", float(np.mean(1.0 / sizes)), n, params=base),
    ]
    if sensitive:
        sp = {**base, "sensitive": sensitive}
        vc = _value_counts(df, qis, sensitive)
        per = vc.group_by("cls").agg(
            pl.len().alias("distinct"),
            (-(pl.col("c") / pl.col("size") * (pl.col("c") / pl.col("size")).log())).sum().alias("h"))
        out += [
            Metric(CHECK, "l_distinct", float(per["distinct"].to_numpy().min()), n, params=sp),
            Metric(CHECK, "l_entropy", math.exp(max(float(per["h"].to_numpy().min()), 0.0)), n, params=sp),
            Metric(CHECK, "t_closeness", t_closeness(df, qis, sensitive), n,
                   params={**sp, "distance": "ordered" if is_numeric(df.schema[sensitive]) else "equal"}),
        ]
    elapsed = time.perf_counter() - start
    return [Metric(**{**m.__dict__, "seconds": elapsed}) for m in out]
