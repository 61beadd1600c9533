"""Weak-key attack on keyed pseudonyms: the dictionary attack with HMAC under the keys an attacker tries first.

A keyed pseudonym (``pseudonymize.hmac``: HMAC-SHA256) is only as secret as its key, and the algorithm is
public (Kerckhoffs). Before anything else an attacker tries the empty key, the default and example keys that
ship with the software (anyone can read them), and keys short enough to enumerate — every key of one byte. This
is how keyed hashes are cracked in practice (wordlists of default secrets against JWT HS256 tokens, hashcat
mode 16500), and why ENISA (Pseudonymisation techniques and best practices, 2019, §5.2) and NIST SP 800-107
(§5.3.4: an HMAC key at least as long as the security strength) ask for a long, secret, random key.

For every candidate key ``K`` the attack derives the pseudonymization sub-key exactly as ``anonymizers``
documents it — ``HMAC-SHA256(K, "anonbench/pseudonymize.hmac")`` — and computes the pseudonyms of the
candidate values of each column's domain (account ids, e-mails, IPv4 addresses, as in :mod:`reid.dictionary`);
a released value is reversed when its trailing hex run (16+ characters, any prefix ignored) is the start of
such a pseudonym, which also catches truncated pseudonyms. It does not use the chain's key or the library's key
handling: only what an outsider knows.

Cost: every key is first tried on a probe of ``PROBE`` candidate values per domain (about 260 keys x 32
values HMACs); only keys whose probe pseudonyms occur in the release get the whole domain.

How to read it: ``reversed_share`` (params ``attack: weak_key``) is the share of distinct released values of
the column that the attacker maps back to a raw value under a weak key; anything above 0 means the key is
guessable and the pseudonyms are no better than unsalted hashes. It is gated like the dictionary attack
(``dictionary.reversed_share`` at most 0, a hard promise). ``params.keys_hit`` counts the weak keys that
worked (never which ones).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

import polars as pl

from reid.result import Metric

CHECK = "dictionary"
PURPOSE = b"anonbench/pseudonymize.hmac"
PROBE = 32
HEX_TAIL = r"([0-9a-fA-F]{16,})$"
PUBLISHED_KEYS: tuple[bytes, ...] = (
    b"benchmark-only-key-not-a-secret-0123456789",   # benchmarks/run.py and bench_anonymize.py default
    b"bench-only-key-0123456789abcdef",              # benchmarks/bench_attack.py and bench_validate.py default
)
"""Default keys shipped with this repository for users to run it (not the tests' fixture keys): whoever reads
the repository knows them. A unit test keeps this list in step with the defaults in ``benchmarks/``."""


def candidate_keys(published: tuple[bytes, ...] = PUBLISHED_KEYS, short_bytes: int = 1) -> list[bytes]:
    """The empty key, every key of ``short_bytes`` bytes or fewer, and the published keys."""
    keys = [b""]
    for n in range(1, short_bytes + 1):
        keys += [i.to_bytes(n, "big") for i in range(256 ** n)]
    return list(dict.fromkeys(keys + list(published)))


def pseudonyms(key: bytes, values: list[str]) -> list[str]:
    """The full 64-hex-character HMAC-SHA256 pseudonyms of ``values`` under chain key ``key``."""
    sub = hmac.digest(key, PURPOSE, hashlib.sha256)
    return [hmac.digest(sub, v.encode(), hashlib.sha256).hex() for v in values]


def _hex_runs(released: pl.Series) -> pl.DataFrame:
    return (pl.DataFrame({"value": released.cast(pl.String)}).drop_nulls().unique()
            .with_columns(pl.col("value").str.extract(HEX_TAIL, 1).str.to_lowercase().alias("hex")))


def _matches(runs: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """(``value``, ``key``) of the released values whose hex run starts a digest of ``table`` (``digest``,
    ``key``: the index of the key that made it)."""
    hexed = runs.filter(pl.col("hex").is_not_null())
    empty = pl.DataFrame(schema={"value": pl.String, "key": pl.Int64})
    if hexed.height == 0 or table.height == 0:
        return empty
    out = [empty]
    for length in hexed["hex"].str.len_chars().unique().to_list():
        keys = table.select(pl.col("digest").str.slice(0, length).alias("hex"), "key").unique()
        out.append(hexed.filter(pl.col("hex").str.len_chars() == length).join(keys, on="hex", how="inner")
                   .select("value", pl.col("key").cast(pl.Int64)))
    return pl.concat(out).unique()


def _digests(keys: list[bytes], values: list[str]) -> pl.DataFrame:
    return pl.DataFrame({"digest": [d for k in keys for d in pseudonyms(k, values)],
                         "key": [i for i in range(len(keys)) for _ in values]},
                        schema={"digest": pl.String, "key": pl.Int64})


def weak_key_attack(anon: Mapping[str, pl.LazyFrame], domains: Mapping[str, pl.Series],
                    columns: Mapping[str, Mapping[str, str]], keys: list[bytes] | None = None) -> list[Metric]:
    """``reversed_share`` (``attack: weak_key``) per released identifier column of ``columns``
    ({table: {column: domain}}); ``domains``: the candidate values per domain (as the dictionary attack's)."""
    t0 = time.perf_counter()
    keys = candidate_keys() if keys is None else keys
    released: dict[tuple[str, str], pl.DataFrame] = {}
    for table, cols in columns.items():
        lf = anon.get(table)
        names = lf.collect_schema().names() if lf is not None else []
        for column in cols:
            if lf is not None and column in names:
                released[(table, column)] = _hex_runs(lf.select(pl.col(column).cast(pl.String)).unique()
                                                      .collect(engine="streaming")[column])
    # probe: which keys make pseudonyms that occur in any released column of the domain
    live: dict[str, list[bytes]] = {}
    for domain in {d for cols in columns.values() for d in cols.values()}:
        runs = [released[(t, c)] for t, cols in columns.items() for c, d in cols.items()
                if d == domain and (t, c) in released]
        if not runs or all(r.filter(pl.col("hex").is_not_null()).height == 0 for r in runs):
            live[domain] = []
            continue
        probe = domains.get(domain, pl.Series([], dtype=pl.String)).drop_nulls().unique().sort()
        probe_digests = _digests(keys, probe.head(PROBE).to_list())
        hit = {int(i) for r in runs for i in _matches(r, probe_digests)["key"].to_list()}
        live[domain] = [k for i, k in enumerate(keys) if i in hit]
    out = []
    for table, cols in columns.items():
        for column, domain in cols.items():
            params = {"table": table, "column": column, "domain": domain, "attack": "weak_key",
                      "keys_tried": len(keys)}
            column_runs = released.get((table, column))
            if column_runs is None:
                out.append(Metric(CHECK, "reversed_share", float("nan"), 0,
                                  params={**params, "applicable": False, "reason": "column not released"}))
                continue
            candidates = domains.get(domain, pl.Series([], dtype=pl.String)).drop_nulls().unique().to_list()
            found = _matches(column_runs, _digests(live.get(domain, []), candidates))
            out.append(Metric.proportion(CHECK, "reversed_share", found["value"].n_unique(), column_runs.height,
                                         params={**params, "keys_hit": found["key"].n_unique()},
                                         seconds=time.perf_counter() - t0))
    return out
