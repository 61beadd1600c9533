"""Leak scan: does any raw identifier survive verbatim in the anonymized tables?

Every distinct raw identifier value (account ids, e-mails, display names, full IP addresses, session and event
ids; ``generators.schema.IDENTIFIER_COLUMNS``) is looked up in every string column of every anonymized table:
as a whole cell, and — for e-mail and IPv4 shapes — embedded inside a longer string (``"bob@x.io (admin)"``).
The lookups are semi-joins over distinct values, never loops.

How to read it: ``leaked_values`` counts the distinct raw identifier values found; anything above 0 means the
release is not anonymous (a direct identifier is present) and ``publish`` refuses it. The values themselves
are never written anywhere — only counts per anonymized column.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import polars as pl

from reid.result import Metric

CHECK = "leak_scan"
EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
IPV4_RE = r"(?:\d{1,3}\.){3}\d{1,3}"
_STRING_TYPES = (pl.String, pl.Categorical, pl.Enum)
SEED = 20130325  # any fixed seed: hashes are compared within one process only


def raw_identifier_values(raw: Mapping[str, pl.LazyFrame], columns: Mapping[str, list[str]]) -> pl.DataFrame:
    """The distinct raw identifier values (one column ``value``) of the given tables and columns."""
    parts = []
    for table, cols in columns.items():
        lf = raw.get(table)
        if lf is None:
            continue
        present = [c for c in cols if c in lf.collect_schema().names()]
        parts.extend(lf.select(pl.col(c).cast(pl.String).alias("value")) for c in present)
    if not parts:
        return pl.DataFrame({"value": []}, schema={"value": pl.String})
    return pl.concat(parts).drop_nulls().unique().collect(engine="streaming")


def string_columns(lf: pl.LazyFrame) -> list[str]:
    return [name for name, dtype in lf.collect_schema().items() if isinstance(dtype, _STRING_TYPES)]


class KnownValues:
    """The raw identifier values, indexed once: a sorted array of their 64-bit hashes for a fast first pass,
    then an exact string comparison on the few candidates (hash collisions never count as leaks)."""

    def __init__(self, values: pl.DataFrame) -> None:
        self.values = values.with_columns(pl.col("value").hash(SEED).alias("h"))
        self.hashes = np.sort(self.values["h"].to_numpy())

    def __len__(self) -> int:
        return self.values.height

    def found(self, candidates: pl.Series) -> pl.Series:
        """The distinct values of ``candidates`` that are raw identifiers."""
        cand = pl.DataFrame({"value": candidates}).drop_nulls().unique()
        if cand.height == 0 or self.hashes.size == 0:
            return cand["value"]
        h = cand["value"].hash(SEED).to_numpy()
        pos = np.minimum(np.searchsorted(self.hashes, h), self.hashes.size - 1)
        cand = cand.filter(pl.Series(self.hashes[pos] == h))
        exact = self.values.filter(pl.col("h").is_in(cand["value"].hash(SEED).implode())).select("value")
        return cand.join(exact, on="value", how="semi")["value"]


def leak_scan(raw: Mapping[str, pl.LazyFrame], anon: Mapping[str, pl.LazyFrame],
              identifier_columns: Mapping[str, list[str]], *, extract_embedded: bool = True) -> list[Metric]:
    """``leaked_values``: distinct raw identifier values found verbatim in the anonymized tables.

    One total row (``leaked_values``) and one row per scanned anonymized column (``leaked_values_in_column``,
    table and column in ``params``). ``n`` is the number of distinct raw identifier values searched for.
    """
    t0 = time.perf_counter()
    known = KnownValues(raw_identifier_values(raw, identifier_columns))
    per_column: list[Metric] = []
    leaked: list[pl.Series] = []
    for table in sorted(anon):
        lf = anon[table]
        for column in string_columns(lf):
            values = (lf.select(pl.col(column).cast(pl.String).alias("value")).drop_nulls().unique()
                      .collect(engine="streaming")["value"])
            parts = [known.found(values)]
            if extract_embedded:
                # cheap literal pre-filters first: a regex over millions of hex tokens is the slow part
                for marker, pattern in (("@", EMAIL_RE), (".", IPV4_RE)):
                    inner = values.filter(values.str.contains(marker, literal=True)).str.extract_all(pattern)
                    parts.append(known.found(inner.explode()))
            found = pl.concat(parts).unique()
            leaked.append(found)
            per_column.append(Metric(CHECK, "leaked_values_in_column", float(found.len()), len(known),
                                     params={"table": table, "column": column}))
    total = pl.concat(leaked).n_unique() if leaked else 0
    head = Metric(CHECK, "leaked_values", float(total), len(known),
                  params={"tables": sorted(anon), "embedded": extract_embedded,
                          "identifier_columns": {k: list(v) for k, v in identifier_columns.items()}},
                  seconds=time.perf_counter() - t0)
    return [head, *per_column]
