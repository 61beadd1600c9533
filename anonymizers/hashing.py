"""``hash.sha256``: unsalted SHA-256 — the common mistake, kept as a weak baseline (a control chain).

Anyone can hash a list of candidate e-mail addresses or account ids and look the results up, so this is
reversible by dictionary attack; the harness's ``dictionary`` check must catch it.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from anonymizers.base import Anonymizer, BatchContext, need_string, replace_column, with_type
from anonymizers.distinct import map_distinct


def sha256_hex(values: list[str]) -> list[str]:
    sha = hashlib.sha256
    return [sha(v.encode()).hexdigest() for v in values]


class Sha256(Anonymizer):
    name = "hash.sha256"

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        return with_type(schema, columns, pa.string())

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        for c in ctx.columns:
            batch = replace_column(batch, c, map_distinct(batch.column(c), sha256_hex, pa.string()))
        return batch
