"""Faker value pools, built once per worker process from a seed derived from the run seed.

Faker is slow per call and its seeded output changes between releases (hence the exact pin and the version
in the manifest), so it never runs per row: each pool is a few hundred values per locale, and rows draw
*indices* into the pools with numpy. The pool depends only on (seed, pool sizes), never on the chunk or the
worker, so every worker builds the same pool.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from faker import Faker

from generators.geo import LOCALES
from generators.rng import stream

NAMES_PER_LOCALE = 400
COMPANIES = 3000
USER_AGENTS = 1200
_SLUG = re.compile(r"[^a-z0-9]+")


def ascii_slug(text: str) -> str:
    """Lower-case ASCII form of a name for an e-mail local part ('' when nothing survives)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("", folded.lower())


@dataclass(frozen=True)
class NamePool:
    first: pa.Array        # display forms
    last: pa.Array
    first_slug: pa.Array   # ascii forms for e-mail addresses ('' -> fallback)
    last_slug: pa.Array


@dataclass(frozen=True)
class Pools:
    names: dict[str, NamePool]     # per locale
    companies: pa.Array
    company_slugs: pa.Array
    user_agents: pa.Array          # browser user agents (humans)
    mobile_agents: pa.Array
    free_email_domains: pa.Array


FAKER_PROVIDERS = ("faker.providers.person", "faker.providers.company", "faker.providers.user_agent",
                   "faker.providers.internet")
"""The providers the pools call (names, companies, platform tokens, free e-mail domains). Loading only these
instead of all ~25 makes each ``Faker(locale)`` several times cheaper; the values are the same (a provider
draws from the generator's one seeded ``random``, and the others draw nothing)."""


def _faker(locale: str, seed: int) -> Faker:
    f = Faker(locale, providers=list(FAKER_PROVIDERS))
    f.seed_instance(seed)
    for provider in f.providers:
        provider.random_elements = _CachedWeights(provider.random_elements, provider)
    return f


class _CachedWeights:
    """A provider's ``random_elements`` that draws one weighted element (what ``first_name()`` and the like
    ask for) without copying the keys and weights of a table of thousands of names and summing them on every
    call, as Faker does: the cumulative weights are kept per table. The draw is Python's ``random.choices``
    with those ``cum_weights`` (the same ``random()`` call and bisection as with ``weights``), so the values
    are Faker's own; every other call goes to Faker's method. Most of the pools' build time was spent there."""

    def __init__(self, original: Any, provider: Any) -> None:
        self.original = original
        self.provider = provider
        self.tables: dict[int, tuple[Any, tuple[Any, ...], list[float]]] = {}

    def __call__(self, elements: Any = ("a", "b", "c"), length: int | None = None, unique: bool = False,
                 use_weighting: bool | None = None) -> Any:
        weighted = use_weighting if use_weighting is not None else self.provider.__use_weighting__
        if length != 1 or unique or not weighted or type(elements) is not OrderedDict:
            return self.original(elements, length, unique, use_weighting)
        cached = self.tables.get(id(elements))
        if cached is None or cached[0] is not elements:
            cached = (elements, tuple(elements.keys()), list(itertools.accumulate(elements.values())))
            self.tables[id(elements)] = cached
        _, keys, cum = cached
        return self.provider.generator.random.choices(keys, cum_weights=cum, k=1)


def _names(locale: str, seed: int) -> NamePool:
    f = _faker(locale, seed)
    first, last, fs, ls = [], [], [], []
    for _ in range(NAMES_PER_LOCALE):
        if locale == "ja_JP":
            fk, _, fr = f.first_name_pair()
            lk, _, lr = f.last_name_pair()
            first.append(fk)
            last.append(lk)
            fs.append(ascii_slug(fr))
            ls.append(ascii_slug(lr))
        else:
            a, b = f.first_name(), f.last_name()
            first.append(a)
            last.append(b)
            fs.append(ascii_slug(a))
            ls.append(ascii_slug(b))
    return NamePool(pa.array(first), pa.array(last), pa.array(fs), pa.array(ls))


_ADOPTED: dict[int, Pools] = {}


def adopt_pools(seed: int, pools: Pools) -> None:
    """Use ``pools`` (built by :func:`build_pools` for ``seed`` in another process, e.g. the driver that ships
    them to its workers) instead of building them again here: building takes seconds of Faker calls."""
    _ADOPTED[seed] = pools


def build_pools(seed: int) -> Pools:
    """All pools for a run seed; cached so each process builds them once (or adopts them, see above)."""
    adopted = _ADOPTED.get(seed)
    return adopted if adopted is not None else _build_pools(seed)


@functools.lru_cache(maxsize=4)
def _build_pools(seed: int) -> Pools:
    base = int(stream(seed, "pools").integers(0, 2**31))
    names = {loc: _names(loc, base + i) for i, loc in enumerate(LOCALES)}
    f = _faker("en_US", base + 1000)
    companies = [f.company() for _ in range(COMPANIES)]
    uas = []
    vr = np.random.Generator(np.random.PCG64(base))
    for i in range(USER_AGENTS):
        r = i % 20
        v = int(vr.integers(118, 132))
        build = f"{v}.0.{int(vr.integers(5000, 6900))}.{int(vr.integers(0, 200))}"
        if r < 11:
            plat = f.windows_platform_token() if r < 7 else f.mac_platform_token() if r < 10 else f.linux_platform_token()
            uas.append(f"Mozilla/5.0 ({plat}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{build} Safari/537.36")
        elif r < 14:
            uas.append(f"Mozilla/5.0 ({f.windows_platform_token()}) AppleWebKit/537.36 (KHTML, like Gecko) "
                       f"Chrome/{build} Safari/537.36 Edg/{build}")
        elif r < 17:
            fv = int(vr.integers(115, 134))
            plat = f.windows_platform_token() if r < 16 else f.linux_platform_token()
            uas.append(f"Mozilla/5.0 ({plat}; rv:{fv}.0) Gecko/20100101 Firefox/{fv}.0")
        else:
            sv = f"{int(vr.integers(15, 18))}.{int(vr.integers(0, 7))}"
            uas.append(f"Mozilla/5.0 ({f.mac_platform_token()}) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                       f"Version/{sv} Safari/605.1.15")
    mobile = [f.ios_platform_token() for _ in range(200)]
    mobile = [f"Mozilla/5.0 ({t}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AtlassianMobileApp"
              for t in mobile]
    domains = sorted({f.free_email_domain() for _ in range(200)})
    return Pools(
        names=names,
        companies=pa.array(companies),
        company_slugs=pa.array([ascii_slug(c)[:24] or "org" for c in companies]),
        user_agents=pa.array(uas),
        mobile_agents=pa.array(mobile),
        free_email_domains=pa.array(domains),
    )


def take(arr: pa.Array, idx: np.ndarray) -> pa.Array:
    return arr.take(pa.array(np.asarray(idx, dtype=np.int64)))
