"""A consistent synthetic geography: countries, their locales, time zones, data-residency region and IP space.

The IPv4 blocks are invented for the simulation (first octets assigned per country), not real allocations;
what matters is consistency: an IP's country is always the same, offices sit in one /24, and ``geo_country``
follows from the address, as a GeoIP lookup would.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import zoneinfo
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Country:
    code: str
    weight: float                       # share of orgs headquartered here
    locales: tuple[tuple[str, float], ...]
    timezones: tuple[tuple[str, float], ...]
    residency: str                      # data-residency region for plans that may pin it
    ipv4_first_octets: tuple[int, ...]  # invented allocation
    ipv6_prefix: str                    # invented /32, as hex "2a0x:yyyy"
    tld: str


COUNTRIES: tuple[Country, ...] = (
    Country("US", 0.34, (("en_US", 0.92), ("es_MX", 0.08)),
            (("America/New_York", 0.45), ("America/Chicago", 0.25), ("America/Denver", 0.08),
             ("America/Los_Angeles", 0.22)), "us", (23, 24, 47, 63, 68, 71, 98), "2a01:0a10", "com"),
    Country("CA", 0.04, (("en_CA", 0.8), ("fr_FR", 0.2)), (("America/Toronto", 0.7), ("America/Vancouver", 0.3)),
            "us", (99, 142), "2a01:0b20", "ca"),
    Country("BR", 0.04, (("pt_BR", 1.0),), (("America/Sao_Paulo", 1.0),), "us", (177, 179), "2a01:0c30", "com.br"),
    Country("MX", 0.02, (("es_MX", 1.0),), (("America/Mexico_City", 1.0),), "us", (187,), "2a01:0d40", "com.mx"),
    Country("GB", 0.08, (("en_GB", 1.0),), (("Europe/London", 1.0),), "eu", (81, 86), "2a02:0a10", "co.uk"),
    Country("DE", 0.08, (("de_DE", 1.0),), (("Europe/Berlin", 1.0),), "de", (79, 84, 91), "2a02:0b20", "de"),
    Country("FR", 0.05, (("fr_FR", 1.0),), (("Europe/Paris", 1.0),), "eu", (82, 90), "2a02:0c30", "fr"),
    Country("NL", 0.03, (("nl_NL", 1.0),), (("Europe/Amsterdam", 1.0),), "eu", (145,), "2a02:0d40", "nl"),
    Country("ES", 0.03, (("es_ES", 1.0),), (("Europe/Madrid", 1.0),), "eu", (83, 88), "2a02:0e50", "es"),
    Country("PL", 0.03, (("pl_PL", 1.0),), (("Europe/Warsaw", 1.0),), "eu", (89,), "2a02:0f60", "pl"),
    Country("SE", 0.02, (("sv_SE", 1.0),), (("Europe/Stockholm", 1.0),), "eu", (78,), "2a02:1070", "se"),
    Country("IN", 0.07, (("en_IN", 1.0),), (("Asia/Kolkata", 1.0),), "in", (49, 103, 117), "2a03:0a10", "in"),
    Country("JP", 0.05, (("ja_JP", 1.0),), (("Asia/Tokyo", 1.0),), "jp", (126, 133), "2a03:0b20", "co.jp"),
    Country("KR", 0.02, (("ko_KR", 1.0),), (("Asia/Seoul", 1.0),), "kr", (121,), "2a03:0c30", "co.kr"),
    Country("SG", 0.02, (("en_US", 1.0),), (("Asia/Singapore", 1.0),), "sg", (116,), "2a03:0d40", "sg"),
    Country("AU", 0.04, (("en_AU", 1.0),), (("Australia/Sydney", 0.7), ("Australia/Perth", 0.3)),
            "au", (101, 110), "2a03:0e50", "com.au"),
)
CODES = tuple(c.code for c in COUNTRIES)
COUNTRY_INDEX = {c.code: i for i, c in enumerate(COUNTRIES)}
COUNTRY_WEIGHTS = np.array([c.weight for c in COUNTRIES])
LOCALES = tuple(sorted({loc for c in COUNTRIES for loc, _ in c.locales}))
TIMEZONES = tuple(sorted({tz for c in COUNTRIES for tz, _ in c.timezones}))
LOCALE_INDEX = {loc: i for i, loc in enumerate(LOCALES)}
TZ_INDEX = {tz: i for i, tz in enumerate(TIMEZONES)}
# Integrations run in the cloud: a shared invented block, geolocated to the US.
CLOUD_FIRST_OCTETS = (34, 35, 52)
CLOUD_COUNTRY = "US"


def _cum(pairs: tuple[tuple[str, float], ...], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.array([index[k] for k, _ in pairs])
    return ids, np.cumsum([w for _, w in pairs])


@functools.cache
def country_tables() -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """Per country: (locale ids, cumulative weights), (tz ids, cumulative weights)."""
    loc_ids, loc_cum, tz_ids, tz_cum = [], [], [], []
    for c in COUNTRIES:
        a, b = _cum(c.locales, LOCALE_INDEX)
        loc_ids.append(a)
        loc_cum.append(b)
        a, b = _cum(c.timezones, TZ_INDEX)
        tz_ids.append(a)
        tz_cum.append(b)
    return loc_ids, loc_cum, tz_ids, tz_cum


def pick_per_country(rng: np.random.Generator, country: np.ndarray, kind: str) -> np.ndarray:
    """A locale or time-zone id for each entry of ``country`` (country ids), drawn from that country's mix."""
    loc_ids, loc_cum, tz_ids, tz_cum = country_tables()
    ids, cums = (loc_ids, loc_cum) if kind == "locale" else (tz_ids, tz_cum)
    out = np.empty(len(country), dtype=np.int64)
    u = rng.random(len(country))
    for ci in np.unique(country):
        m = country == ci
        pos = np.searchsorted(cums[ci], u[m] * cums[ci][-1], side="right")
        out[m] = ids[ci][np.minimum(pos, len(ids[ci]) - 1)]
    return out


def primary_locale(country: int) -> int:
    return LOCALE_INDEX[COUNTRIES[country].locales[0][0]]


@functools.lru_cache(maxsize=64)
def utc_offsets(start: dt.date, hours: int) -> np.ndarray:
    """Offsets in seconds, shape (n_timezones, hours): UTC offset of each zone at each *local* hour of the
    period that starts at local midnight of ``start`` (DST transitions included)."""
    out = np.empty((len(TIMEZONES), hours), dtype=np.int64)
    base = dt.datetime(start.year, start.month, start.day)

    def offset(z: zoneinfo.ZoneInfo, h: int) -> int:
        off = (base + dt.timedelta(hours=h)).replace(tzinfo=z).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    for i, name in enumerate(TIMEZONES):
        z = zoneinfo.ZoneInfo(name)
        # Offsets change at most twice a year: evaluated at each local midnight, and hour by hour only within
        # a day whose two midnights differ (every worker process builds this table; hour by hour throughout
        # took ~0.3 s of Python per process).
        edges = [*range(0, hours, 24), hours - 1]
        at = {h: offset(z, h) for h in edges}
        for lo, hi in itertools.pairwise(edges):
            if at[lo] == at[hi]:
                out[i, lo:hi + 1] = at[lo]
            else:
                out[i, lo:hi + 1] = [offset(z, h) for h in range(lo, hi + 1)]
    return out


def ipv4_strings(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray):
    """Dotted-quad strings from octet arrays, vectorized."""
    import polars as pl

    df = pl.DataFrame({"a": a, "b": b, "c": c, "d": d}).select(
        pl.concat_str([pl.col("a"), pl.col("b"), pl.col("c"), pl.col("d")], separator=".").alias("ip"))
    return df["ip"].to_arrow()


def ipv6_strings(prefix: list[str], g3: np.ndarray, g4: np.ndarray, host: np.ndarray):
    """IPv6 strings ``PREFIX:g3:g4::host`` (hex groups), vectorized."""
    import polars as pl

    # Polars has no integer->hex formatter: 16-bit groups go through a lookup table of their hex forms.
    df = pl.DataFrame({"p": prefix})
    out = df.select(pl.concat_str([pl.col("p"), _hex16(g3), _hex16(g4), pl.lit(""), _hex16(host)],
                                  separator=":").alias("ip"))
    return out["ip"].to_arrow()


_HEX4 = np.array([f"{i:x}" for i in range(1 << 16)], dtype=object)


def _hex16(x: np.ndarray):
    import polars as pl

    return pl.lit(pl.Series(_HEX4[np.asarray(x, dtype=np.int64) & 0xFFFF].astype(str)))
