"""``drop``: remove columns, or a whole table (``columns: {users: ["*"]}``)."""

from __future__ import annotations

import pyarrow as pa

from anonymizers.base import Anonymizer, BatchContext


class Drop(Anonymizer):
    """Removes the listed columns. Listing every column of a table (or ``*``) stops the table from being
    released at all; its rows are then reported as dropped by this step."""

    name = "drop"

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema | None:
        keep = [f for f in schema if f.name not in columns]
        return pa.schema(keep) if keep else None

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table | None:  # type: ignore[override]
        keep = [c for c in batch.column_names if c not in ctx.columns]
        return batch.select(keep) if keep else None
