"""Key references: env:/file: only, inline refused, and the key never in a message or repr."""

from __future__ import annotations

import base64
import pickle

import pytest

from anonymizers.secrets import MIN_KEY_BYTES, Secret, SecretError, check_reference, resolve

KEY = "sup3r-secret-key-material-42"


def test_env_reference_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_KEY", KEY)
    s = resolve("env:T_KEY")
    assert s.matches(KEY.encode()) and s.reference == "env:T_KEY"


def test_file_reference_resolves_and_strips_newline(tmp_path) -> None:
    p = tmp_path / "key"
    p.write_text(KEY + "\n")
    assert resolve(f"file:{p}").derive("x") == Secret(KEY.encode(), "r").derive("x")


@pytest.mark.parametrize("ref, fragment", [
    ("env:ANONBENCH_SURELY_UNSET_VAR", "is not set"),
    ("file:/nonexistent/anonbench/key", "no such file"),
    (KEY, "inline key is refused"),
    ("env:", "inline key is refused"),
    ("vault:thing", "inline key is refused"),
])
def test_bad_references_fail_without_echoing(ref: str, fragment: str, monkeypatch) -> None:
    monkeypatch.delenv("ANONBENCH_SURELY_UNSET_VAR", raising=False)
    with pytest.raises(SecretError) as e:
        resolve(ref)
    assert fragment in str(e.value)
    assert KEY not in str(e.value)


def test_validator_refuses_inline_without_echo() -> None:
    with pytest.raises(ValueError) as e:
        check_reference(KEY)
    assert KEY not in str(e.value)


def test_short_key_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_KEY", "x" * (MIN_KEY_BYTES - 1))
    with pytest.raises(SecretError, match="shorter"):
        resolve("env:T_KEY")


def test_empty_file_refused(tmp_path) -> None:
    (tmp_path / "k").write_text("\n")
    with pytest.raises(SecretError, match="empty"):
        resolve(f"file:{tmp_path / 'k'}")


def test_ephemeral_only_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    eph = b"e" * 32
    monkeypatch.delenv("T_KEY", raising=False)
    assert resolve("env:T_KEY", {"env:T_KEY": eph}).matches(eph)
    monkeypatch.setenv("T_KEY", KEY)
    assert not resolve("env:T_KEY", {"env:T_KEY": eph}).matches(eph)


def test_repr_and_pickle_hide_nothing_they_should_not() -> None:
    s = Secret(KEY.encode(), "env:X")
    for enc in s.encodings():
        assert enc.decode() not in repr(s) and enc.decode() not in str(s)
    assert base64.b64encode(KEY.encode()) in s.encodings()
    assert pickle.loads(pickle.dumps(s)).derive("p") == s.derive("p")


def test_derived_keys_differ_by_purpose_and_key() -> None:
    a, b = Secret(KEY.encode(), "r"), Secret((KEY + "!").encode(), "r")
    assert a.derive("x") != a.derive("y")
    assert a.derive("x") != b.derive("x")
