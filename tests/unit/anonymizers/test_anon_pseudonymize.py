"""pseudonymize.hmac: rows and nulls kept, no raw value left, deterministic with a key, nothing shared across
keys, one HMAC per distinct value."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest
from anon_testdata import KEY, OTHER_KEY, apply, build, check_token_properties
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.secrets import Secret

values = st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=12)), min_size=0, max_size=60)


def col(vals: list) -> pa.Table:
    return pa.table({"v": pa.array(vals, type=pa.string())})


@settings(max_examples=40, deadline=None)
@given(vals=values)
def test_token_properties(vals: list) -> None:
    check_token_properties(build("pseudonymize.hmac"), vals)


@settings(max_examples=30, deadline=None)
@given(vals=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=30, unique=True))
def test_deterministic_and_key_separated(vals: list) -> None:
    t = col(vals)
    a1 = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    a2 = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    b = apply(build("pseudonymize.hmac", key=OTHER_KEY), t, ["v"]).column("v").to_pylist()
    assert a1 == a2
    assert not set(a1) & set(b)


def test_is_keyed_sha256_of_value() -> None:
    out = apply(build("pseudonymize.hmac", length=64), col(["alice@example.com"]), ["v"]).column("v")[0].as_py()
    sub = Secret(KEY.encode(), "r").derive("pseudonymize.hmac")
    assert out == hmac.new(sub, b"alice@example.com", hashlib.sha256).hexdigest()
    assert out != hashlib.sha256(b"alice@example.com").hexdigest()


def test_prefix_and_length() -> None:
    out = apply(build("pseudonymize.hmac", length=20, prefix="u_"), col(["x"]), ["v"]).column("v")[0].as_py()
    assert out.startswith("u_") and len(out) == 22


def test_hashes_each_distinct_value_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import anonymizers.pseudonymize as mod

    calls = []
    real = mod.hmac_tokens

    def counting(subkey, vals, length, prefix=""):
        calls.append(len(vals))
        return real(subkey, vals, length, prefix)

    monkeypatch.setattr(mod, "hmac_tokens", counting)
    apply(build("pseudonymize.hmac"), col(["a", "b", "a", None, "b", "c"] * 1000), ["v"])
    assert calls == [3]


def test_chunked_columns() -> None:
    t = pa.Table.from_batches([pa.record_batch({"v": ["a", "b"]}), pa.record_batch({"v": ["b", None]})])
    out = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    assert out[1] == out[2] and out[3] is None


def test_needs_a_key() -> None:
    with pytest.raises(ValueError, match="needs a key"):
        build("pseudonymize.hmac", key=None)


@settings(max_examples=60, deadline=None)
@given(key=st.binary(min_size=1, max_size=150), msgs=st.lists(st.binary(max_size=200), max_size=10))
def test_precomputed_pad_hmac_equals_stdlib(key: bytes, msgs: list) -> None:
    from anonymizers.pseudonymize import HmacSha256

    assert HmacSha256(key).digests(msgs) == [hmac.digest(key, m, "sha256") for m in msgs]
