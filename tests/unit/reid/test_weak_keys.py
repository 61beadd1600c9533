"""Weak-key attack: pseudonyms made under an empty, one-byte or published key are reversed; a random key's not."""

from __future__ import annotations

import re
import secrets

import polars as pl
import pytest

from anonymizers.pseudonymize import PURPOSE, hmac_tokens
from anonymizers.secrets import Secret
from reid.weak_keys import PUBLISHED_KEYS, candidate_keys, pseudonyms, weak_key_attack
from tests.conftest import REPO

IDS = [f"acct-{i:04d}" for i in range(300)]
EMAILS = [f"user{i}@acme.example" for i in range(300)]
COLUMNS = {"users": {"account_id": "account_id", "email": "email"}}
DOMAINS = {"account_id": pl.Series(IDS), "email": pl.Series(EMAILS)}


def _subkey(key: bytes) -> bytes:
    """The sub-key as the library derives it (Secret refuses keys under 16 bytes: pad the check via HMAC)."""
    import hashlib
    import hmac

    return hmac.digest(key, b"anonbench/" + PURPOSE.encode(), hashlib.sha256)


def _release(key: bytes, length: int = 32, prefix: str = "", n: int = 200) -> dict[str, pl.LazyFrame]:
    sub = _subkey(key)
    return {"users": pl.LazyFrame({"account_id": hmac_tokens(sub, IDS[:n], length, prefix),
                                   "email": hmac_tokens(sub, EMAILS[:n], length, prefix)})}


def _shares(rows) -> dict[str, float]:
    return {r.params["column"]: r.value for r in rows}


def test_the_attack_derives_pseudonyms_as_the_library_does():
    key = secrets.token_bytes(32)
    assert _subkey(key) == Secret(key, "env:X").derive(PURPOSE)
    assert pseudonyms(key, IDS[:5]) == hmac_tokens(Secret(key, "env:X").derive(PURPOSE), IDS[:5], 64)


@pytest.mark.parametrize("key", [b"", b"\x07", b"\xff", PUBLISHED_KEYS[0]], ids=["empty", "byte7", "byte255",
                                                                                  "published"])
def test_a_weak_key_reverses_every_pseudonym(key):
    # (b"" and b"\x00" are the same HMAC key: both pad to 64 zero bytes, so an empty key hits twice)
    rows = weak_key_attack(_release(key), DOMAINS, COLUMNS)
    assert _shares(rows) == {"account_id": 1.0, "email": 1.0}
    assert all(r.n == 200 and r.successes == 200 and r.params["attack"] == "weak_key" and r.params["keys_hit"] >= 1
               for r in rows)


def test_truncated_and_prefixed_pseudonyms_under_a_weak_key_are_reversed_too():
    rows = weak_key_attack(_release(b"", length=16, prefix="u_"), DOMAINS, COLUMNS)
    assert _shares(rows) == {"account_id": 1.0, "email": 1.0}


def test_a_random_key_keeps_every_pseudonym_and_a_missing_column_is_not_applicable():
    anon = _release(secrets.token_bytes(32))
    rows = weak_key_attack(anon, DOMAINS, {**COLUMNS, "events": {"client_ip": "ipv4"}})
    by = {(r.params["table"], r.params["column"]): r for r in rows}
    assert by[("users", "account_id")].value == 0.0 and by[("users", "account_id")].ci_high < 0.02
    assert by[("users", "email")].successes == 0
    assert by[("events", "client_ip")].params["applicable"] is False


def test_the_candidate_keys_are_the_empty_key_every_short_key_and_the_published_ones():
    keys = candidate_keys()
    assert keys[0] == b"" and len(keys) == 1 + 256 + len(PUBLISHED_KEYS)
    assert len(candidate_keys(short_bytes=0)) == 1 + len(PUBLISHED_KEYS)


def test_every_default_key_shipped_in_benchmarks_is_in_the_published_list():
    """A default key in the repository is known to whoever reads it: the attack must try it."""
    pattern = re.compile(r"""(?:ANONBENCH_KEY|KEY_ENV)["']?\s*[,:=]\s*(?:os\.environ\.get\([^,]+,\s*)?["']"""
                         r"""([^"'{}]{16,})["']""")
    found = {m.group(1).encode() for p in (REPO / "benchmarks").rglob("*.py") if "mutants" not in p.parts
             for m in pattern.finditer(p.read_text())}
    found |= {m.group(1).encode() for p in (REPO / "benchmarks").rglob("*.py") if "mutants" not in p.parts
              for m in re.finditer(r"""setdefault\((?:"ANONBENCH_KEY"|KEY_ENV),\s*["']([^"']{16,})["']""",
                                   p.read_text())}
    found = {k for k in found if not k.startswith((b"env:", b"file:"))}
    assert found and found <= set(PUBLISHED_KEYS), found - set(PUBLISHED_KEYS)
