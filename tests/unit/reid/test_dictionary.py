"""Dictionary attack: unsalted digests are reversed, keyed ones are not."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from reid.dictionary import dictionary_attack, ipv4_candidates, ipv4_space, reversed_values

EMAILS = [f"user{i}@acme.example" for i in range(50)]


def _hmac(v: str) -> str:
    return hmac.new(b"secret key", v.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(("transform", "expected"), [
    (lambda v: v, 1.0),                                                  # left in clear
    (lambda v: hashlib.sha256(v.encode()).hexdigest(), 1.0),
    (lambda v: hashlib.sha256(v.encode()).hexdigest().upper(), 1.0),
    (lambda v: "h_" + hashlib.sha256(v.encode()).hexdigest()[:20], 1.0),  # prefixed and truncated
    (lambda v: hashlib.sha1(v.encode()).hexdigest(), 1.0),
    (lambda v: hashlib.md5(v.encode()).hexdigest(), 1.0),
    (_hmac, 0.0),
    (lambda v: _hmac(v)[:32], 0.0),
])
def test_reversed_share(transform, expected):
    released = pl.Series([transform(v) for v in EMAILS[:40]])
    hits, n = reversed_values(released, pl.Series(EMAILS))
    assert n == 40
    assert hits / n == expected


def test_values_outside_the_domain_are_not_reversed():
    released = pl.Series([hashlib.sha256(f"other{i}@x.example".encode()).hexdigest() for i in range(10)])
    assert reversed_values(released, pl.Series(EMAILS)) == (0, 10)


def test_ipv4_space_enumerates_whole_blocks_busiest_first():
    ips = pl.Series(["10.0.0.5", "10.0.0.9", "192.168.7.1", "not an ip", None])
    space = ipv4_space(ips, 24, max_prefixes=1, seed=0)
    assert space.len() == 256
    assert set(space.to_list()) == {f"10.0.0.{i}" for i in range(256)}
    assert ipv4_space(ips, 24, max_prefixes=10, seed=0).len() == 512


def test_attack_over_tables_and_missing_columns():
    raw = {"users": pl.LazyFrame({"account_id": ["a1", "a2"], "email": EMAILS[:2]}),
           "events": pl.LazyFrame({"account_id": ["a1", "a2"], "actor_email": EMAILS[:2],
                                   "client_ip": ["10.1.2.3", "10.1.2.4"]})}
    anon = {"users": pl.LazyFrame({"account_id": [hashlib.sha256(b"a1").hexdigest(), _hmac("a2")]}),
            "events": pl.LazyFrame({"client_ip": [hashlib.sha256(b"10.1.2.4").hexdigest()]})}
    cols = {"users": {"account_id": "account_id", "email": "email"}, "events": {"client_ip": "ipv4"}}
    got = {(m.params["table"], m.params["column"]): m for m in dictionary_attack(raw, anon, cols)}
    assert got[("users", "account_id")].value == 0.5 and got[("users", "account_id")].n == 2
    assert got[("users", "email")].n == 0 and got[("users", "email")].params["applicable"] is False
    assert got[("events", "client_ip")].value == 1.0
    assert got[("events", "client_ip")].params["candidates"] == 256      # one /24 enumerated
    assert 0 < got[("users", "account_id")].ci_low < 0.5 < got[("users", "account_id")].ci_high


def test_ipv4_candidates_give_the_same_result_as_the_whole_space():
    ips = pl.Series([f"10.{b}.{c}.{d}" for b in range(3) for c in range(4) for d in (1, 7, 200)] + ["1.2.3.4", "bad"])
    released = pl.Series([hashlib.sha256(v.encode()).hexdigest() for v in ips.to_list()[:-1]])
    for max_prefixes in (1, 5, 100):
        cands, space = ipv4_candidates(ips, 24, max_prefixes, seed=3)
        full = ipv4_space(ips, 24, max_prefixes, seed=3)
        assert space == full.len() and set(cands.to_list()) <= set(full.to_list())
        assert reversed_values(released, cands) == reversed_values(released, full)
