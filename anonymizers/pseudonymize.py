"""``pseudonymize.hmac``: keyed pseudonyms, HMAC-SHA256 of each distinct value.

The same value gets the same pseudonym in every table, batch and run that uses the same key (so joins on
``account_id`` survive), and pseudonyms made with different keys share nothing. Without the key, a pseudonym
cannot be recomputed from a guessed value, unlike :mod:`anonymizers.hashing`'s unsalted SHA-256. Pseudonymous
data is still personal data (GDPR Recital 26): the behaviour behind a pseudonym can single a person out.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string, replace_column, with_type
from anonymizers.distinct import map_distinct
from anonymizers.secrets import SecretRef

PURPOSE = "pseudonymize.hmac"


class HmacParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: SecretRef = Field(description="Key reference: env:NAME or file:PATH.")
    length: int = Field(32, ge=16, le=64, description="Hex characters kept of the 64 of HMAC-SHA256.")
    prefix: str = Field("", max_length=16, description="Text put before every pseudonym (e.g. 'u_').")


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: each message then costs two
    ``copy``/``update`` calls instead of a full key set-up, about 3x faster than ``hmac.digest`` per value.
    Equal to ``hmac.digest(key, msg, "sha256")`` (a unit test checks)."""

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def digests(self, messages: list[bytes]) -> list[bytes]:
        inner, outer = self._inner, self._outer
        out = []
        for m in messages:
            i = inner.copy()
            i.update(m)
            o = outer.copy()
            o.update(i.digest())
            out.append(o.digest())
        return out

    def digest(self, message: bytes) -> bytes:
        return self.digests([message])[0]


def tokenize_columns(batch: pa.Table, columns: Sequence[str], key: bytes, length: int, prefix: str) -> pa.Table:
    """Replace each string column by keyed tokens, computed once per distinct value."""
    for c in columns:
        out = map_distinct(batch.column(c), lambda vs: hmac_tokens(key, vs, length, prefix), pa.string())
        batch = replace_column(batch, c, out)
    return batch


def hmac_tokens(subkey: bytes, values: list[str], length: int, prefix: str = "") -> list[str]:
    """HMAC-SHA256 hex pseudonyms of ``values`` (one HMAC per value given: pass distinct values)."""
    return [prefix + d.hex()[:length] for d in HmacSha256(subkey).digests([v.encode() for v in values])]


class HmacPseudonymizer(Anonymizer):
    name = "pseudonymize.hmac"
    Params = HmacParams
    params: HmacParams
    needs_secret = True

    def __init__(self, params: HmacParams, secret=None) -> None:
        super().__init__(params, secret)
        self._subkey = self.subkey(PURPOSE)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        return with_type(schema, columns, pa.string())

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        return tokenize_columns(batch, ctx.columns, self._subkey, self.params.length, self.params.prefix)
