"""Secret keys: referenced as ``env:NAME`` or ``file:PATH``, never written inline, never printed.

A chain names where its key lives (``with: {key: env:ANONBENCH_KEY}``); the key itself is read when the
chain is resolved, held in memory in a :class:`Secret` whose ``repr`` hides it, and never reaches a log, an
error message, a manifest or an output file. Error messages name the *reference* (``env:ANONBENCH_KEY``),
which is not secret.

Each anonymizer derives its own sub-key from the chain key and a purpose string, so one key can serve
several steps without the steps' outputs being comparable with each other (a pseudonym never equals a
sampling hash).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

from generators.errors import InputError

MIN_KEY_BYTES = 16
_REF = re.compile(r"^(env):([A-Za-z_][A-Za-z0-9_]*)$|^(file):(.+)$")


class SecretError(InputError):
    """A secret reference that is malformed, inline, or does not resolve. Never contains the key."""


def check_reference(value: str) -> str:
    """Pydantic validator: accept only ``env:NAME`` / ``file:PATH`` (the value is never echoed)."""
    if not isinstance(value, str) or not _REF.match(value):
        raise ValueError("a key must be a reference `env:NAME` or `file:PATH`; an inline key is refused")
    return value


SecretRef = Annotated[str, AfterValidator(check_reference)]
"""Type of a parameter that holds a secret reference."""


class Secret:
    """Key bytes held in memory only. ``repr``/``str`` never show them; pickling is allowed so that an
    in-process Beam runner can hand the key to its workers (it never goes into pipeline options)."""

    __slots__ = ("_key", "reference")

    def __init__(self, key: bytes, reference: str) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise SecretError(f"{reference}: the key is shorter than {MIN_KEY_BYTES} bytes")
        self._key = key
        self.reference = reference

    def __repr__(self) -> str:
        return f"Secret({self.reference}, ***)"

    __str__ = __repr__

    def __getstate__(self) -> tuple[bytes, str]:
        return (self._key, self.reference)

    def __setstate__(self, state: tuple[bytes, str]) -> None:
        self._key, self.reference = state

    def derive(self, purpose: str) -> bytes:
        """A 32-byte sub-key for one purpose (HMAC-SHA256 of the purpose under the key)."""
        return hmac.digest(self._key, b"anonbench/" + purpose.encode(), hashlib.sha256)

    def matches(self, data: bytes) -> bool:
        """Whether ``data`` contains the key (for leak tests; constant-time not needed here)."""
        return self._key in data

    def encodings(self) -> list[bytes]:
        """The key as it could leak: raw, hex and base64 (for the leak scanners' tests)."""
        import base64

        k = self._key
        return [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k),
                base64.urlsafe_b64encode(k)]


def resolve(reference: str, ephemeral: dict[str, bytes] | None = None) -> Secret:
    """Read the key a reference points to. ``ephemeral`` maps references to in-memory keys used when an
    ``env:`` variable is unset (``anonbench run`` with ``allow_ephemeral_key``; never ``anonymize``)."""
    m = _REF.match(reference or "")
    if not m:
        raise SecretError("a key must be a reference `env:NAME` or `file:PATH`; an inline key is refused")
    if m.group(1) == "env":
        name = m.group(2)
        value = os.environ.get(name)
        if value:
            return Secret(value.encode(), reference)
        if ephemeral and reference in ephemeral:
            return Secret(ephemeral[reference], reference)
        raise SecretError(f"{reference}: environment variable {name} is not set")
    path = Path(m.group(4)).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SecretError(f"{reference}: no such file") from None
    except OSError as e:
        raise SecretError(f"{reference}: cannot read ({e.strerror})") from None
    data = data.rstrip(b"\r\n")
    if not data:
        raise SecretError(f"{reference}: the file is empty")
    return Secret(data, reference)
