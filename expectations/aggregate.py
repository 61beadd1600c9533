"""Checks that need every shard: per-shard partial statistics, merged by the stage's aggregate step.

A shard contributes 64-bit hashes of key values (uniqueness), distinct-value hashes with row counts
(referential integrity) and class sizes of column combinations (group sizes, k-anonymity) — never the values
themselves, and nothing of it is written anywhere. With n keys the chance of a false duplicate from a hash
collision is about n²/2⁶⁵ (3·10⁻⁸ for a million keys).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from expectations.custom.k_anonymity import k_anonymity_stats
from expectations.plan import PartialSpec, RunCheck, StagePlan
from expectations.results import Outcome, kwargs_json

Counts = tuple[np.ndarray, np.ndarray]  # (distinct uint64 hashes, int64 row counts)


@dataclass(frozen=True)
class ShardPartial:
    """What one shard of one table tells the run-wide checks."""

    table: str
    rows: int
    key_hashes: Mapping[str, np.ndarray] = field(default_factory=dict)
    missing: Mapping[str, int] = field(default_factory=dict)
    value_counts: Mapping[str, Counts] = field(default_factory=dict)
    group_counts: Mapping[tuple[str, ...], Counts] = field(default_factory=dict)
    absent: frozenset[str] = frozenset()
    shards: int = 1


def _hash(obj: pd.Series | pd.DataFrame) -> np.ndarray:
    return pd.util.hash_pandas_object(obj, index=False).to_numpy(dtype=np.uint64)


def _counts(hashes: np.ndarray) -> Counts:
    uniq, counts = np.unique(hashes, return_counts=True)
    return uniq, counts.astype(np.int64)


def shard_partial(df: pd.DataFrame, table: str, spec: PartialSpec, shards: int = 1) -> ShardPartial:
    """Partial statistics of one shard (vectorized; each column hashed once)."""
    present = set(df.columns)
    wanted = set(spec.key_hashes) | set(spec.value_counts) | {c for g in spec.group_counts for c in g}
    absent = frozenset(wanted - present)
    hashes: dict[str, np.ndarray] = {}
    missing: dict[str, int] = {}
    for col in sorted((set(spec.key_hashes) | set(spec.value_counts)) - absent):
        notnull = df[col].notna().to_numpy()
        missing[col] = int((~notnull).sum())
        hashes[col] = _hash(df[col])[notnull]
    groups = {cols: _counts(_hash(df[list(cols)])) for cols in spec.group_counts if not set(cols) & absent}
    return ShardPartial(table=table, rows=len(df),
                        key_hashes={c: hashes[c] for c in spec.key_hashes if c in hashes},
                        missing=missing,
                        value_counts={c: _counts(hashes[c]) for c in spec.value_counts if c in hashes},
                        group_counts=groups, absent=absent, shards=shards)


def _merge_counts(parts: Sequence[Counts]) -> Counts:
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.int64)
    keys = np.concatenate([p[0] for p in parts])
    vals = np.concatenate([p[1] for p in parts])
    uniq, inverse = np.unique(keys, return_inverse=True)
    return uniq, np.bincount(inverse, weights=vals, minlength=len(uniq)).astype(np.int64)


def _outcome(check: RunCheck, success: bool, shards: int, t0: float, **counts: int | float | None) -> Outcome:
    kwargs = dict(check.params)
    if check.columns:
        kwargs["column_list" if len(check.columns) > 1 else "column"] = (
            list(check.columns) if len(check.columns) > 1 else check.columns[0])
    observed = counts.pop("observed", None)
    return Outcome(table=check.table, expectation=check.expectation, columns=",".join(check.columns),
                   kwargs=kwargs_json(kwargs), success=bool(success), shards=shards, scope="run",
                   observed=None if observed is None else float(observed),
                   seconds=time.perf_counter() - t0, **counts)  # type: ignore[arg-type]


def _missing_outcome(check: RunCheck, shards: int, t0: float, what: str) -> Outcome:
    o = _outcome(check, False, shards, t0)
    return Outcome(**{**o.__dict__, "error": what})


def run_check(check: RunCheck, partials: Mapping[str, Sequence[ShardPartial]]) -> Outcome:
    """Decide one run-wide check from the partials of every shard, by table."""
    t0 = time.perf_counter()
    parts = partials.get(check.table, [])
    n = sum(p.shards for p in parts)
    if not parts:
        return _missing_outcome(check, 0, t0, "MissingTable")
    if any(set(check.columns) & p.absent for p in parts):
        return _missing_outcome(check, n, t0, "MissingColumn")
    rows = sum(p.rows for p in parts)
    if check.kind == "row_count_between":
        lo, hi = check.params.get("min_value"), check.params.get("max_value")
        ok = (lo is None or rows >= lo) and (hi is None or rows <= hi)
        return _outcome(check, ok, n, t0, element_count=rows, observed=rows)
    if check.kind == "row_count_equal":
        return _outcome(check, rows == check.params["value"], n, t0, element_count=rows, observed=rows,
                        unexpected_count=abs(rows - int(check.params["value"])))
    if check.kind == "unique":
        col = check.columns[0]
        _, counts = _counts(np.concatenate([p.key_hashes[col] for p in parts]))
        dup = int(counts[counts > 1].sum())
        return _outcome(check, dup == 0, n, t0, element_count=rows, unexpected_count=dup,
                        missing_count=sum(p.missing[col] for p in parts))
    if check.kind == "references":
        col, to_table, to_col = check.columns[0], check.params["to_table"], check.params["to_column"]
        targets = partials.get(to_table, [])
        if not targets or any(to_col in p.absent for p in targets):
            return _missing_outcome(check, n, t0, "MissingTable" if not targets else "MissingColumn")
        keys, counts = _merge_counts([p.value_counts[col] for p in parts])
        known, _ = _merge_counts([p.value_counts[to_col] for p in targets])
        orphans = int(counts[~np.isin(keys, known)].sum())
        return _outcome(check, orphans == 0, n, t0, element_count=rows, unexpected_count=orphans,
                        missing_count=sum(p.missing[col] for p in parts))
    _, sizes = _merge_counts([p.group_counts[tuple(check.columns)] for p in parts])
    if check.kind == "group_size_between":
        lo, hi = check.params.get("min_value"), check.params.get("max_value")
        bad = ((sizes < lo) if lo is not None else False) | ((sizes > hi) if hi is not None else False)
        bad_n = int(np.count_nonzero(bad))
        return _outcome(check, bad_n == 0, n, t0, element_count=len(sizes), unexpected_count=bad_n,
                        observed=int(sizes.min()) if len(sizes) else None)
    # k-anonymity: the same rule as the GX expectation, on class sizes summed over shards
    stats = k_anonymity_stats(sizes, int(check.params["k"]))
    return _outcome(check, stats["records_below_k"] == 0, n, t0, element_count=stats["records"],
                    unexpected_count=stats["records_below_k"], observed=stats["min_class_size"])


def decide_stage(plan: StagePlan, partials: Sequence[ShardPartial]) -> list[Outcome]:
    """All run-wide checks of a stage, in plan order."""
    by_table: dict[str, list[ShardPartial]] = {}
    for p in partials:
        by_table.setdefault(p.table, []).append(p)
    return [run_check(c, by_table) for c in plan.checks]
