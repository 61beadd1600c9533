"""``tokenize.random``: random tokens, consistent within one run, not reversible afterwards.

Each ``anonymize`` run draws a fresh 32-byte salt from the operating system (``os.urandom``) when the step is
built; tokens are HMAC-SHA256 of the value under that salt. Within the run the same value gets the same token
in every table and batch (joins survive); the salt is never stored, so no one — not even the operator — can
map tokens back or reproduce them in a later run.
"""

from __future__ import annotations

import os

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string, with_type
from anonymizers.pseudonymize import tokenize_columns


class RandomParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    length: int = Field(32, ge=16, le=64, description="Hex characters per token.")
    prefix: str = Field("", max_length=16, description="Text put before every token.")


class RandomTokens(Anonymizer):
    name = "tokenize.random"
    Params = RandomParams
    params: RandomParams
    deterministic = False

    def __init__(self, params: RandomParams, secret=None) -> None:
        super().__init__(params, secret)
        self._salt = os.urandom(32)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        return with_type(schema, columns, pa.string())

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        return tokenize_columns(batch, ctx.columns, self._salt, self.params.length, self.params.prefix)
