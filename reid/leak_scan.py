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

import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from reid.arrays import distinct as distinct_values
from reid.result import Metric

CHECK = "leak_scan"
EMAIL_RE = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
IPV4_RE = r"(?:\d{1,3}\.){3}\d{1,3}"
_STRING_TYPES = (pl.String, pl.Categorical, pl.Enum)
SEED = 20130325  # any fixed seed: hashes are compared within one process only
MANY = 50_000     # more candidates than this: compare strings directly
SORT_DISTINCT_ABOVE = 4_000_000  # distinct values above which a column's hashes are made distinct by sorting
KNOWN_GROUPS = 30_000_000  # distinct raw identifier hashes held at once (then: disjoint hash ranges)
CHECK_SEED = 19790611  # a second, independent hash: tells two ids of one 64-bit hash apart


@dataclass(frozen=True)
class TenantIds:
    """Raw identifiers that count only when one tenant holds them: the values of ``columns`` of ``table``
    (each column on its own) of at least ``min_chars`` characters whose rows all carry one ``tenant`` value
    (a null tenant counts as one value, as ``n_unique`` counts it). Listed in the results as ``name: ["id"]``.

    Found by a group-by over 64-bit hashes, not strings (a string group-by of every object id of 100M events
    is the memory peak of the scan); ids sharing a hash are told apart by a second hash and settled on their
    strings, and the strings of the few candidates are grouped exactly, so the result equals a string
    group-by's."""

    name: str
    table: str
    columns: tuple[str, ...]
    tenant: str
    min_chars: int


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


def _tenant_strings(lf: pl.LazyFrame, ids: TenantIds, column: str, hashes: np.ndarray) -> pl.LazyFrame:
    """The ids (``value``) of ``column`` whose hash is one of ``hashes`` and that one tenant holds: the
    exact string group-by, over the few rows of those hashes only."""
    value = pl.col(column).cast(pl.String)
    return (lf.filter(_hash(pl.col(column)).is_in(pl.Series(hashes, dtype=pl.UInt64).implode()))
            .group_by(value.alias("value")).agg(pl.col(ids.tenant).n_unique().alias("tenants"))
            .filter((pl.col("tenants") == 1) & (pl.col("value").str.len_chars() >= ids.min_chars))
            .select("value"))


def tenant_id_hashes(raw: Mapping[str, pl.LazyFrame], ids: TenantIds) -> np.ndarray:
    """The sorted distinct hashes of the ids ``ids`` describes: one streaming group-by per column on the
    64-bit hash of the id, with the least and greatest hash of its tenant (one tenant: they are equal) and of
    a second hash of the id (unequal: two ids share the hash, settled on their strings)."""
    lf = raw.get(ids.table)
    if lf is None:
        return np.array([], dtype=np.uint64)
    names = lf.collect_schema().names()
    found: list[np.ndarray] = [np.array([], dtype=np.uint64)]
    for column in (c for c in ids.columns if c in names):
        value = pl.col(column).cast(pl.String)
        o, c2 = pl.col("o"), pl.col("c")
        g = (lf.filter(value.is_not_null() & (value.str.len_chars() >= ids.min_chars))
             .select(_hash(value).alias("h"), value.hash(CHECK_SEED).alias("c"),
                     pl.col(ids.tenant).cast(pl.String).hash(SEED).fill_null(0).alias("o"))
             .group_by("h").agg(o.min().alias("o0"), o.max().alias("o1"), c2.min().alias("c0"),
                                c2.max().alias("c1"))
             .collect(engine="streaming"))
        one = g["c0"] == g["c1"]
        found.append(g.filter(one & (g["o0"] == g["o1"]))["h"].to_numpy())
        shared = g.filter(~one)["h"].to_numpy()
        if shared.size:
            settled = _tenant_strings(lf, ids, column, shared).select(_hash(pl.col("value")).alias("h"))
            found.append(settled.collect(engine="streaming")["h"].to_numpy())
    return distinct_values(np.concatenate(found))


def _distinct_hashes(lf: pl.LazyFrame, column: str) -> np.ndarray:
    """The distinct hashes of a column's non-null values. A high-cardinality column (more than
    ``SORT_DISTINCT_ABOVE`` distinct values, estimated by HyperLogLog) is collected whole and made distinct by
    sorting, 8 bytes a value: a streaming ``unique`` of ~100M distinct hashes (``event_id`` at 100M events)
    held ~45 bytes a value (leak_scan peaked at 6.7 GB)."""
    h = lf.filter(pl.col(column).is_not_null()).select(_hash(pl.col(column)).alias("h"))
    if h.select(pl.col("h").approx_n_unique()).collect(engine="streaming").item() <= SORT_DISTINCT_ABOVE:
        return h.unique().collect(engine="streaming")["h"].to_numpy()
    return distinct_values(h.collect(engine="streaming")["h"].to_numpy())


def _known(sources: list[pl.LazyFrame], part: int = 0, parts: int = 1,
           extra: np.ndarray | None = None, hashed: pl.LazyFrame | None = None) -> np.ndarray:
    """The sorted distinct hashes of the raw identifier values (those of hash range ``part`` of ``parts``),
    with the (sorted, distinct) hashes ``extra`` of that range. ``hashed``: those hashes (column ``h``),
    already computed."""
    out = np.array([], dtype=np.uint64)
    if sources:
        h = _hash(pl.col("value")).alias("h")
        lf = hashed if hashed is not None else pl.concat([s.select(h) for s in sources])
        if parts > 1:
            lf = lf.filter(pl.col("h") % parts == part)
        out = np.sort(lf.unique().collect(engine="streaming")["h"].to_numpy())
    if extra is not None and extra.size:
        out = distinct_values(np.concatenate([out, extra[extra % np.uint64(parts) == part] if parts > 1 else extra]))
    return out


def _scan_in_parts(sources: list[pl.LazyFrame], anon: Mapping[str, pl.LazyFrame], embedded: bool,
                   parts: int, extra: np.ndarray) -> tuple[list[_Column], int]:
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
    # every string is read and hashed once: the distinct hashes of each released column are kept, the raw
    # identifiers' hashes are spooled to a temporary Arrow file that each range reads (8 bytes a value) — at
    # 100M events, 6 ranges re-reading and re-hashing ~25 string columns each took 17 min
    released = {(t, c): _distinct_hashes(anon[t], c) for t, c in columns}
    n_known = 0
    with tempfile.TemporaryDirectory(prefix="anonbench-leak-scan-") as tmp:
        hashed = None
        if sources:
            spool = Path(tmp) / "raw-identifier-hashes.arrow"
            pl.concat([s.select(_hash(pl.col("value")).alias("h")) for s in sources]).sink_ipc(spool)
            hashed = pl.scan_ipc(spool)
        for part in range(parts):
            known = _known(sources, part, parts, extra, hashed)
            n_known += known.size
            for t, c in columns:
                hashes = released[(t, c)]
                hashes = hashes[hashes % np.uint64(parts) == part]
                found[(t, c)].append(hashes[_in_sorted(hashes, known)])
                ih = inner[(t, c)].hash(SEED).to_numpy()
                keep[(t, c)] |= (ih % np.uint64(parts) == part) & _in_sorted(ih, known)
    out = [_Column(t, c, np.concatenate(found[(t, c)]), inner[(t, c)].filter(pl.Series(keep[(t, c)])))
           for t, c in columns]
    return out, n_known


def leak_scan(raw: Mapping[str, pl.LazyFrame], anon: Mapping[str, pl.LazyFrame],
              identifier_columns: Mapping[str, list[str]], *, extract_embedded: bool = True,
              tenant_ids: Sequence[TenantIds] = ()) -> list[Metric]:
    """``leaked_values``: distinct raw identifier values found verbatim in the anonymized tables.

    One total row (``leaked_values``) and one row per scanned anonymized column (``leaked_values_in_column``,
    table and column in ``params``). ``n`` is the number of distinct raw identifier values searched for.
    ``tenant_ids``: more raw identifiers, those of one tenant only (``TenantIds``), hashed once.
    """
    t0 = time.perf_counter()
    sources = _sources(raw, identifier_columns)
    # the ids of one tenant: hashed and grouped once, then every hash range takes its share of the hashes
    extra = distinct_values(np.concatenate([tenant_id_hashes(raw, ids) for ids in tenant_ids]
                                     + [np.array([], dtype=np.uint64)]))
    # as many hash ranges as needed for each to hold at most KNOWN_GROUPS distinct raw identifiers (an id per
    # event, such as event_id, makes them grow with the events); one range (one read of everything) below that
    distinct = pl.concat([s.select(_hash(pl.col("value")).approx_n_unique().alias("n")) for s in sources]) \
        .select(pl.col("n").sum()).collect(engine="streaming").item() if sources else 0
    parts = max(1, -(-(int(distinct) + extra.size) // KNOWN_GROUPS))
    if parts == 1:
        known = _known(sources, extra=extra)
        scanned = [_scan_column(anon[t], t, c, known, extract_embedded)
                   for t in sorted(anon) for c in string_columns(anon[t])]
        n_known = int(known.size)
    else:
        scanned, n_known = _scan_in_parts(sources, anon, extract_embedded, parts, extra)
    # second pass: the raw strings behind the candidate hashes, once for all columns — skipped for a column
    # leaking wholesale (a control chain), whose count is that of 64-bit hash matches (P(false match) < 1e-6)
    small = [c for c in scanned if c.candidates.size <= MANY]
    wanted = distinct_values(np.concatenate([c.candidates for c in small] + [c.embedded.hash(SEED).to_numpy()
                                                                       for c in scanned] + [np.array([], np.uint64)]))
    exact = pl.DataFrame(schema={"value": pl.String})
    if wanted.size:
        keys = pl.Series(wanted).implode()
        tenant_wanted = wanted[_in_sorted(wanted, extra)]
        exact = pl.concat([s.filter(_hash(pl.col("value")).is_in(keys)) for s in sources]
                          + [_tenant_strings(raw[ids.table], ids, c, tenant_wanted) for ids in tenant_ids
                             if tenant_wanted.size and ids.table in raw
                             for c in ids.columns if c in raw[ids.table].collect_schema().names()]
                          + [pl.LazyFrame(schema={"value": pl.String})]).unique().collect(engine="streaming")
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
                          "identifier_columns": {**{k: list(v) for k, v in identifier_columns.items()},
                                                 **{ids.name: ["id"] for ids in tenant_ids}}},
                  seconds=time.perf_counter() - t0)
    return [head, *per_column]
