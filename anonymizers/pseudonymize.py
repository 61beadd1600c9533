"""``pseudonymize.hmac``: keyed pseudonyms, HMAC-SHA256 of each distinct value.

The same value gets the same pseudonym in every table, batch and run that uses the same key (so joins on
``account_id`` survive), and pseudonyms made with different keys share nothing. Without the key, a pseudonym
cannot be recomputed from a guessed value, unlike :mod:`anonymizers.hashing`'s unsalted SHA-256. Pseudonymous
data is still personal data (GDPR Recital 26): the behaviour behind a pseudonym can single a person out.
"""

from __future__ import annotations

import hashlib
import hmac

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


def hmac_tokens(subkey: bytes, values: list[str], length: int, prefix: str = "") -> list[str]:
    """HMAC-SHA256 hex pseudonyms of ``values`` (one C call per value)."""
    digest = hmac.digest
    sha = hashlib.sha256
    return [prefix + digest(subkey, v.encode(), sha).hex()[:length] for v in values]


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
        p = self.params
        for c in ctx.columns:
            out = map_distinct(batch.column(c), lambda vs: hmac_tokens(self._subkey, vs, p.length, p.prefix),
                               pa.string())
            batch = replace_column(batch, c, out)
        return batch
