"""Leak scan: does any raw identifier survive verbatim in the anonymized tables?

Every distinct raw identifier value (account ids, e-mails, display names, full IP addresses, session and event
ids; ``generators.schema.IDENTIFIER_COLUMNS``) is looked up in every string column of every anonymized table:
as a whole cell, and — for e-mail and IPv4 shapes — embedded inside a longer string (``"bob@x.io (admin)"``).
The lookups run in two passes over distinct values, never loops: 64-bit hashes of every released column are
compared with the sorted hashes of the raw identifiers (cheap, and nearly always empty for a protected
column); only the few candidates are then compared as strings, so a hash collision never counts as a leak. (A column
that leaks wholesale — a control chain — is counted by hash matches alone; a false match is below 1e-6.)

How to read it: ``leaked_values`` counts the distinct raw identifier values found; anything above 0 means the
release is not anonymous (a direct identifier is present) and ``publish`` refuses it. The values themselves
are never written anywhere — only counts per anonymized column.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from reid.result import Metric

CHECK = "leak_scan"
EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
IPV4_RE = r"(?:\d{1,3}\.){3}\d{1,3}"
_STRING_TYPES = (pl.String, pl.Categorical, pl.Enum)
SEED = 20130325  # any fixed seed: hashes are compared within one process only
MANY = 50_000     # more candidates than this: compare strings directly
KNOWN_GROUPS = 30_000_000  # distinct raw identifier hashes held at once (then: disjoint hash ranges)


def _sources(raw: Mapping[str, pl.LazyFrame], columns: Mapping[str, list[str]]) -> list[pl.LazyFrame]:
    parts: list[pl.LazyFrame] = []
    for table, cols in columns.items():
        lf = raw.get(table)
        if lf is None:
            continue
        names = lf.collect_schema().names()
        parts.extend(lf.select(pl.col(c).cast(pl.String).alias("value")).drop_nulls() for c in cols if c in names)
    return parts


def raw_identifier_values(raw: Mapping[str, pl.LazyFrame], columns: Mapping[str, list[str]]) -> pl.DataFrame:
    """The distinct raw identifier values (one column ``value``) of the given tables and columns."""
    parts = _sources(raw, columns)
    if not parts:
        return pl.DataFrame({"value": []}, schema={"value": pl.String})
    return pl.concat(parts).unique().collect(engine="streaming")


def string_columns(lf: pl.LazyFrame) -> list[str]:
    return [name for name, dtype in lf.collect_schema().items() if isinstance(dtype, _STRING_TYPES)]


def _hash(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).hash(SEED)


def _in_sorted(values: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0 or values.size == 0:
        return np.zeros(values.size, dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, values), sorted_keys.size - 1)
    return sorted_keys[pos] == values


@dataclass
class _Column:
    table: str
    column: str
    candidates: np.ndarray                     # hashes of whole values that may be raw identifiers
    embedded: pl.Series                        # e-mail / IPv4 substrings whose hash may be a raw identifier


def _marked(value: pl.Expr) -> pl.Expr:
    return value.str.contains("@", literal=True) | value.str.contains(".", literal=True)


def _embedded(strings: pl.Series) -> pl.Series:
    """The distinct e-mail and IPv4 substrings of ``strings``."""
    inner = pl.concat([strings.str.extract_all(EMAIL_RE).explode(), strings.str.extract_all(IPV4_RE).explode()])
    return inner.drop_nulls().unique()


def _scan_column(lf: pl.LazyFrame, table: str, column: str, known: np.ndarray, embedded: bool) -> _Column:
    """One read of the column: the distinct hashes of its values, and — for the rare values holding an
    ``@`` or a ``.`` — the e-mail and IPv4 substrings (a literal test first: a regex over millions of hex
    tokens is the slow part)."""
    value = pl.col(column).cast(pl.String)
    cols = [_hash(pl.col(column)).alias("h"), pl.when(_marked(value)).then(value).alias("m") if embedded
            else pl.lit(None, dtype=pl.String).alias("m")]
    df = lf.filter(pl.col(column).is_not_null()).select(cols).unique().collect(engine="streaming")
    hashes = df["h"].unique().to_numpy()
    inner = pl.Series("value", [], dtype=pl.String)
    if embedded:
        inner = _embedded(df["m"].drop_nulls().unique())
        inner = inner.filter(pl.Series(_in_sorted(inner.hash(SEED).to_numpy(), known)))
    return _Column(table, column, hashes[_in_sorted(hashes, known)], inner)


def _known(sources: list[pl.LazyFrame], part: int = 0, parts: int = 1) -> np.ndarray:
    """The sorted distinct hashes of the raw identifier values (those of hash range ``part`` of ``parts``)."""
    if not sources:
        return np.array([], dtype=np.uint64)
    h = _hash(pl.col("value")).alias("h")
    lf = pl.concat([s.select(h) for s in sources])
    if parts > 1:
        lf = lf.filter(pl.col("h") % parts == part)
    return np.sort(lf.unique().collect(engine="streaming")["h"].to_numpy())


def _scan_in_parts(sources: list[pl.LazyFrame], anon: Mapping[str, pl.LazyFrame], embedded: bool,
                   parts: int) -> tuple[list[_Column], int]:
    """``_scan_column`` for every released string column, over ``parts`` disjoint hash ranges: the raw
    identifiers of one range and the released values of the same range are compared, so no range holds more
    than its share of the distinct values. The embedded substrings (of the few values holding ``@`` or ``.``)
    are read once and each is looked up in its own range. Returns the columns and the number of distinct raw
    identifier values."""
    columns = [(t, c) for t in sorted(anon) for c in string_columns(anon[t])]
    found: dict[tuple[str, str], list[np.ndarray]] = {tc: [] for tc in columns}
    inner: dict[tuple[str, str], pl.Series] = {}
    for t, c in columns:
        value = pl.col(c).cast(pl.String)
        strings = anon[t].filter(value.is_not_null() & _marked(value)).select(value.alias("m")).unique() \
            .collect(engine="streaming")["m"] if embedded else pl.Series("m", [], dtype=pl.String)
        inner[(t, c)] = _embedded(strings) if embedded else pl.Series("value", [], dtype=pl.String)
    keep = {tc: np.zeros(len(s), dtype=bool) for tc, s in inner.items()}
    n_known = 0
    for part in range(parts):
        known = _known(sources, part, parts)
        n_known += known.size
        for t, c in columns:
            h = _hash(pl.col(c)).alias("h")
            hashes = anon[t].filter(pl.col(c).is_not_null()).select(h).filter(pl.col("h") % parts == part) \
                .unique().collect(engine="streaming")["h"].to_numpy()
            found[(t, c)].append(hashes[_in_sorted(hashes, known)])
            ih = inner[(t, c)].hash(SEED).to_numpy()
            keep[(t, c)] |= (ih % np.uint64(parts) == part) & _in_sorted(ih, known)
    out = [_Column(t, c, np.concatenate(found[(t, c)]), inner[(t, c)].filter(pl.Series(keep[(t, c)])))
           for t, c in columns]
    return out, n_known


def leak_scan(raw: Mapping[str, pl.LazyFrame], anon: Mapping[str, pl.LazyFrame],
              identifier_columns: Mapping[str, list[str]], *, extract_embedded: bool = True) -> list[Metric]:
    """``leaked_values``: distinct raw identifier values found verbatim in the anonymized tables.

    One total row (``leaked_values``) and one row per scanned anonymized column (``leaked_values_in_column``,
    table and column in ``params``). ``n`` is the number of distinct raw identifier values searched for.
    """
    t0 = time.perf_counter()
    sources = _sources(raw, identifier_columns)
    # as many hash ranges as needed for each to hold at most KNOWN_GROUPS distinct raw identifiers (an id per
    # event, such as event_id, makes them grow with the events); one range (one read of everything) below that
    distinct = pl.concat([s.select(_hash(pl.col("value")).approx_n_unique().alias("n")) for s in sources]) \
        .select(pl.col("n").sum()).collect(engine="streaming").item() if sources else 0
    parts = max(1, -(-int(distinct) // KNOWN_GROUPS))
    if parts == 1:
        known = _known(sources)
        scanned = [_scan_column(anon[t], t, c, known, extract_embedded)
                   for t in sorted(anon) for c in string_columns(anon[t])]
        n_known = int(known.size)
    else:
        scanned, n_known = _scan_in_parts(sources, anon, extract_embedded, parts)
    # second pass: the raw strings behind the candidate hashes, once for all columns — skipped for a column
    # leaking wholesale (a control chain), whose count is that of 64-bit hash matches (P(false match) < 1e-6)
    small = [c for c in scanned if c.candidates.size <= MANY]
    wanted = np.unique(np.concatenate([c.candidates for c in small] + [c.embedded.hash(SEED).to_numpy()
                                                                       for c in scanned] + [np.array([], np.uint64)]))
    exact = pl.DataFrame(schema={"value": pl.String})
    if wanted.size:
        keys = pl.Series(wanted).implode()
        exact = pl.concat([s.filter(_hash(pl.col("value")).is_in(keys)) for s in sources]).unique() \
            .collect(engine="streaming")
    per_column, leaked = [], []
    for c in scanned:
        found = exact.join(pl.DataFrame({"value": c.embedded}), on="value", how="semi")["value"].hash(SEED)
        if c.candidates.size > MANY:
            found = pl.concat([found, pl.Series(c.candidates)]).unique()
        elif c.candidates.size:
            released = (anon[c.table].select(pl.col(c.column).cast(pl.String).alias("value")).drop_nulls()
                        .filter(_hash(pl.col("value")).is_in(pl.Series(c.candidates).implode())).unique()
                        .collect(engine="streaming"))
            found = pl.concat([found, released.join(exact, on="value", how="semi")["value"].hash(SEED)]).unique()
        leaked.append(found)
        per_column.append(Metric(CHECK, "leaked_values_in_column", float(found.n_unique()), n_known,
                                 params={"table": c.table, "column": c.column}))
    total = pl.concat(leaked).n_unique() if leaked else 0
    head = Metric(CHECK, "leaked_values", float(total), n_known,
                  params={"tables": sorted(anon), "embedded": extract_embedded,
                          "identifier_columns": {k: list(v) for k, v in identifier_columns.items()}},
                  seconds=time.perf_counter() - t0)
    return [head, *per_column]
