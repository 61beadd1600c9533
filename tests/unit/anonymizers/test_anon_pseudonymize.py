"""pseudonymize.hmac, hash.sha256 and tokenize.random: rows and nulls kept, determinism, key separation,
no raw value left, one hash per distinct value."""

from __future__ import annotations

import hashlib
import hmac

import pyarrow as pa
import pytest
from anon_testdata import KEY, OTHER_KEY, apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.secrets import Secret

values = st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=12)), min_size=0, max_size=60)
NAMES = ["pseudonymize.hmac", "hash.sha256", "tokenize.random"]


def col(vals: list) -> pa.Table:
    return pa.table({"v": pa.array(vals, type=pa.string())})


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=40, deadline=None)
@given(vals=values)
def test_rows_nulls_kept_and_no_raw_value(name: str, vals: list) -> None:
    out = apply(build(name), col(vals), ["v"]).column("v").to_pylist()
    assert len(out) == len(vals)
    assert [o is None for o in out] == [v is None for v in vals]
    raw = {v for v in vals if v is not None}
    assert not raw & {o for o in out if o is not None}


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(vals=values)
def test_consistent_mapping(name: str, vals: list) -> None:
    """Equal inputs map to equal tokens and different inputs to different tokens (within a run)."""
    a = build(name)
    out = apply(a, col(vals), ["v"]).column("v").to_pylist()
    mapping: dict[str, str] = {}
    for v, o in zip(vals, out, strict=True):
        if v is not None:
            assert mapping.setdefault(v, o) == o
    assert len(set(mapping.values())) == len(mapping)
    # split into two batches: same tokens
    half = len(vals) // 2
    again = (apply(a, col(vals[:half]), ["v"]).column("v").to_pylist()
             + apply(a, col(vals[half:]), ["v"]).column("v").to_pylist())
    assert again == out


@settings(max_examples=30, deadline=None)
@given(vals=st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=30, unique=True))
def test_hmac_deterministic_and_key_separated(vals: list) -> None:
    t = col(vals)
    a1 = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    a2 = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    b = apply(build("pseudonymize.hmac", key=OTHER_KEY), t, ["v"]).column("v").to_pylist()
    assert a1 == a2
    assert not set(a1) & set(b)


def test_hmac_is_keyed_sha256_of_value() -> None:
    out = apply(build("pseudonymize.hmac", length=64), col(["alice@example.com"]), ["v"]).column("v")[0].as_py()
    sub = Secret(KEY.encode(), "r").derive("pseudonymize.hmac")
    assert out == hmac.new(sub, b"alice@example.com", hashlib.sha256).hexdigest()
    assert out != hashlib.sha256(b"alice@example.com").hexdigest()


def test_hmac_prefix_and_length() -> None:
    out = apply(build("pseudonymize.hmac", length=20, prefix="u_"), col(["x"]), ["v"]).column("v")[0].as_py()
    assert out.startswith("u_") and len(out) == 22


def test_sha256_is_reversible_by_dictionary() -> None:
    """The weak baseline: anyone can recompute it, which the dictionary check must exploit."""
    out = apply(build("hash.sha256"), col(["bob@example.com"]), ["v"]).column("v")[0].as_py()
    assert out == hashlib.sha256(b"bob@example.com").hexdigest()


def test_tokenize_differs_between_runs() -> None:
    t = col(["a", "b", "c"])
    assert apply(build("tokenize.random"), t, ["v"]).column("v").to_pylist() != \
        apply(build("tokenize.random"), t, ["v"]).column("v").to_pylist()


def test_hashes_each_distinct_value_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import anonymizers.pseudonymize as mod

    calls = []
    real = mod.hmac_tokens

    def counting(subkey, vals, length, prefix=""):
        calls.append(len(vals))
        return real(subkey, vals, length, prefix)

    monkeypatch.setattr(mod, "hmac_tokens", counting)
    t = col(["a", "b", "a", None, "b", "c"] * 1000)
    apply(build("pseudonymize.hmac"), t, ["v"])
    assert calls == [3]


def test_chunked_columns() -> None:
    t = pa.Table.from_batches([pa.record_batch({"v": ["a", "b"]}), pa.record_batch({"v": ["b", None]})])
    out = apply(build("pseudonymize.hmac"), t, ["v"]).column("v").to_pylist()
    assert out[1] == out[2] and out[3] is None
