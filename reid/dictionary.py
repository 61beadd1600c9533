"""Dictionary attack: invert hashed or pseudonymized identifiers by enumerating their domain.

The attacker knows the domain of each identifier — the organisation's e-mail addresses and account ids (a
directory, a previous breach), and the IPv4 space around the addresses it has seen (every address of each
/24) — and computes the unsalted digest of every candidate (SHA-256, SHA-1, MD5; hex, also truncated)
to compare with the released values. (The scorer hashes only the raw addresses inside the enumerated blocks:
the same result, since a digest matches only the address it was made from.) This is the textbook reason why hashing is not anonymization: the
identifier space is small enough to enumerate (e.g. Demir et al., "Analysing the privacy policies of Wi-Fi
trackers", 2014; Marx et al., "Hashing of personally identifiable information is not sufficient", 2018).

How to read it: ``reversed_share`` is the share of the distinct released values of a column that the attacker
maps back to a raw identifier. Unsalted hashing comes out near 1; keyed pseudonymization (HMAC with a secret
key) and random tokens at 0. Values left in clear count as reversed (the identity is a transform too).
Each distinct candidate is hashed once.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from reid.arrays import distinct as distinct_values
from reid.result import Metric

CHECK = "dictionary"
ALGORITHMS = ("sha256", "sha1", "md5")
HEX_TAIL = r"([0-9a-fA-F]{16,})$"


def _ipv4_ints(ips: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """(addresses as integers, the dotted strings they came from) of the parseable distinct IPv4 values."""
    distinct = ips.drop_nulls().unique()
    parts = distinct.str.split_exact(".", 3).struct.unnest()
    octets = parts.select([pl.col(c).cast(pl.UInt32, strict=False) for c in parts.columns])
    ok = octets.select(pl.all_horizontal(pl.all().is_not_null() & (pl.all() <= 255))).to_series()
    octets, distinct = octets.filter(ok), distinct.filter(ok)
    ints = np.zeros(octets.height, dtype=np.uint64)
    for i, shift in enumerate((24, 16, 8, 0)):
        ints |= octets[:, i].to_numpy().astype(np.uint64) << np.uint64(shift)
    return ints, distinct


def ipv4_blocks(ints: np.ndarray, prefix: int, max_prefixes: int, seed: int) -> np.ndarray:
    """The ``/prefix`` blocks the attacker enumerates: at most ``max_prefixes``, those holding the most
    distinct addresses first (ties broken with ``seed``)."""
    blocks, counts = np.unique(distinct_values(ints) >> np.uint64(32 - prefix), return_counts=True)
    if blocks.size > max_prefixes:
        tiebreak = np.random.default_rng(seed).random(blocks.size)
        blocks = np.sort(blocks[np.lexsort((tiebreak, -counts))[:max_prefixes]])
    return blocks


def ipv4_space(ips: pl.Series, prefix: int, max_prefixes: int, seed: int) -> pl.Series:
    """Every address of the enumerated ``/prefix`` blocks (see ``ipv4_blocks``), as dotted strings."""
    ints, _ = _ipv4_ints(ips)
    if ints.size == 0:
        return pl.Series("value", [], dtype=pl.String)
    shift = np.uint64(32 - prefix)
    blocks = ipv4_blocks(ints, prefix, max_prefixes, seed)
    addresses = ((blocks[:, None] << shift) + np.arange(1 << int(shift), dtype=np.uint64)[None, :]).ravel()
    octet_cols = {f"o{s}": (addresses >> np.uint64(s)) & np.uint64(255) for s in (24, 16, 8, 0)}
    return pl.DataFrame(octet_cols).select(pl.concat_str(
        [pl.col(c).cast(pl.String) for c in octet_cols], separator=".").alias("value"))["value"]


def ipv4_candidates(ips: pl.Series, prefix: int, max_prefixes: int, seed: int) -> tuple[pl.Series, int]:
    """The raw addresses inside the enumerated blocks, and the size of the enumerated space.

    Hashing these gives exactly the result of hashing the whole space: a digest only matches the address it
    was made from, and every released address is a raw one — so the scorer hashes ~10^4 addresses, not
    ~10^6, for the same ``reversed_share``.
    """
    ints, distinct = _ipv4_ints(ips)
    if ints.size == 0:
        return pl.Series("value", [], dtype=pl.String), 0
    blocks = ipv4_blocks(ints, prefix, max_prefixes, seed)
    inside = np.isin(ints >> np.uint64(32 - prefix), blocks)
    return distinct.filter(pl.Series(inside)).alias("value"), int(blocks.size) << (32 - prefix)


def digests(candidates: pl.Series, algorithms: tuple[str, ...] = ALGORITHMS) -> pl.DataFrame:
    """``(candidate, digest)`` for each distinct candidate and algorithm (lowercase hex). One hash per
    distinct value and algorithm."""
    values = candidates.drop_nulls().unique().to_list()
    frames = []
    for algo in algorithms:
        new = getattr(hashlib, algo)
        frames.append(pl.DataFrame({"candidate": values,
                                    "digest": [new(v.encode()).hexdigest() for v in values]},
                                   schema={"candidate": pl.String, "digest": pl.String}))
    return pl.concat(frames) if frames else pl.DataFrame(schema={"candidate": pl.String, "digest": pl.String})


def reversed_values(released: pl.Series, candidates: pl.Series, algorithms: tuple[str, ...] = ALGORITHMS,
                    hashed_share: float = 0.5) -> tuple[int, int]:
    """(distinct released values mapped back to a candidate, distinct released values).

    A released value is reversed when it equals a candidate, or when its trailing hex run (16+ characters,
    any prefix such as ``h_`` ignored) equals the start of a candidate's digest — which catches truncated
    digests too. Candidates are hashed only if at least ``hashed_share`` of the values carry a hex run.
    """
    df = pl.DataFrame({"value": released.cast(pl.String)}).drop_nulls().unique()
    n = df.height
    if n == 0:
        return 0, 0
    cand = pl.DataFrame({"value": candidates.cast(pl.String)}).drop_nulls().unique()
    hit = df.join(cand, on="value", how="semi").select("value")
    df = df.with_columns(pl.col("value").str.extract(HEX_TAIL, 1).str.to_lowercase().alias("hex"))
    hexed = df.filter(pl.col("hex").is_not_null())
    if hexed.height >= hashed_share * n:
        lengths = hexed["hex"].str.len_chars().unique().to_list()
        # Only algorithms whose digest is long enough to have produced the released hex runs.
        usable = tuple(a for a in algorithms if 2 * hashlib.new(a).digest_size >= min(lengths))
        table = digests(cand["value"], usable)
        for length in lengths:
            part = hexed.filter(pl.col("hex").str.len_chars() == length)
            keys = table.filter(pl.col("digest").str.len_chars() >= length).select(
                pl.col("digest").str.slice(0, length).alias("hex")).unique()
            hit = pl.concat([hit, part.join(keys, on="hex", how="semi").select("value")])
    return hit.unique().height, n


def dictionary_attack(raw: Mapping[str, pl.LazyFrame], anon: Mapping[str, pl.LazyFrame],
                      columns: Mapping[str, Mapping[str, str]], *, ipv4_prefix: int = 24,
                      max_prefixes: int = 4000, seed: int = 0,
                      algorithms: tuple[str, ...] = ALGORITHMS) -> list[Metric]:
    """``reversed_share`` per anonymized identifier column (table, column and domain in ``params``).

    ``n`` is the number of distinct released values of the column; the CI is Wilson's. A column missing from
    the anonymized table (dropped) yields a row with value null, ``n`` 0 and ``applicable: false``.
    """
    domains, space = candidate_domains(raw, ipv4_prefix, max_prefixes, seed)
    out = []
    for table, cols in columns.items():
        for column, domain in cols.items():
            t0 = time.perf_counter()
            params: dict[str, Any] = {"table": table, "column": column, "domain": domain,
                                      "algorithms": list(algorithms)}
            if domain == "ipv4":
                params.update(ipv4_prefix=ipv4_prefix, max_prefixes=max_prefixes, candidates=space)
            lf = anon.get(table)
            if lf is None or column not in lf.collect_schema().names():
                out.append(Metric(CHECK, "reversed_share", float("nan"), 0,
                                  params={**params, "applicable": False, "reason": "column not released"}))
                continue
            released = lf.select(pl.col(column).cast(pl.String)).drop_nulls().unique() \
                .collect(engine="streaming")[column]
            hits, n = reversed_values(released, domains[domain], algorithms)
            out.append(Metric.proportion(CHECK, "reversed_share", hits, n, params=params,
                                         seconds=time.perf_counter() - t0))
    return out


def candidate_domains(raw: Mapping[str, pl.LazyFrame], prefix: int, max_prefixes: int,
                      seed: int) -> tuple[dict[str, pl.Series], int]:
    """What the attacker enumerates — raw account ids, raw e-mails (also lower-cased), the IPv4 blocks —
    and the size of the enumerated IPv4 space."""
    def distinct(pairs: list[tuple[str, str]]) -> pl.Series:
        parts = [raw[t].select(pl.col(c).cast(pl.String).alias("value")) for t, c in pairs
                 if t in raw and c in raw[t].collect_schema().names()]
        if not parts:
            return pl.Series("value", [], dtype=pl.String)
        return pl.concat(parts).drop_nulls().unique().collect(engine="streaming")["value"]

    emails = distinct([("users", "email"), ("events", "actor_email")])
    ips, space = ipv4_candidates(distinct([("events", "client_ip")]), prefix, max_prefixes, seed)
    return {
        "account_id": distinct([("users", "account_id"), ("events", "account_id")]),
        "email": pl.concat([emails, emails.str.to_lowercase()]).unique(),
        "ipv4": ips,
    }, space
