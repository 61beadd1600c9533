"""``suppress.rare``: values held by fewer than ``k`` distinct persons become ``other`` (or null).

A rare configuration value or locale is a fingerprint: if only two accounts ever set ``theme=solarized``,
that value points at them. The step needs table-wide counts, so it is stateful: the first pass collects the
distinct (value, person) pairs of each batch (``partial``), unions them (``merge``), and counts persons per
value (``finalize``); the second pass replaces the values below ``k``. Persons are counted by ``id_column``
(``account_id``); rows without an id do not count towards any value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, is_string, replace_column


class SuppressRareParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(5, ge=2, description="Values held by fewer than k distinct persons are suppressed.")
    id_column: str = Field("account_id", description="Column identifying the person.")
    replacement: str | None = Field("other", description="Replacement text; null to write nulls.")


def distinct_pairs(values: pa.ChunkedArray | pa.Array, ids: pa.ChunkedArray | pa.Array) -> pa.Table:
    t = pa.table({"v": values, "id": ids}).filter(pc.is_valid(ids))
    return t.group_by(["v", "id"]).aggregate([])


class SuppressRare(Anonymizer):
    name = "suppress.rare"
    Params = SuppressRareParams
    params: SuppressRareParams
    stateful = True

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        if self.params.replacement is not None and not is_string(dtype):
            return f"column {column!r} is {dtype}: a text replacement needs a string column (or replacement: null)"
        if column == self.params.id_column:
            return f"column {column!r} is the id column"
        return None

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        if self.params.id_column not in schema.names:
            return f"table {table!r} has no id column {self.params.id_column!r} (with.id_column)"
        return None

    def partial(self, batch: pa.Table, ctx: BatchContext) -> dict[str, pa.Table]:
        ids = batch.column(self.params.id_column)
        return {c: distinct_pairs(batch.column(c), ids) for c in ctx.columns}

    def merge(self, a: dict[str, pa.Table], b: dict[str, pa.Table]) -> dict[str, pa.Table]:
        out = dict(a)
        for c, t in b.items():
            out[c] = pa.concat_tables([out[c], t]).group_by(["v", "id"]).aggregate([]) if c in out else t
        return out

    def finalize(self, partials: Mapping[str, dict[str, pa.Table]]) -> dict[str, dict[str, Any]]:
        """{table: {column: {"keep": values held by >= k persons, "suppressed_values": count}}}."""
        state: dict[str, dict[str, Any]] = {}
        for table, cols in partials.items():
            state[table] = {}
            for c, pairs in cols.items():
                counts = pairs.filter(pc.is_valid(pairs.column("v"))).group_by("v").aggregate([("id", "count")])
                frequent = pc.greater_equal(counts.column("id_count"), self.params.k)
                keep = pc.filter(counts.column("v"), frequent).combine_chunks()
                state[table][c] = {"keep": keep, "suppressed_values": counts.num_rows - len(keep)}
        return state

    def report(self, state: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {"suppressed_distinct_values": {t: {c: s["suppressed_values"] for c, s in cols.items()}
                                               for t, cols in state.items()}}

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        cols = ctx.state.get(ctx.table, {})
        for c in ctx.columns:
            col = batch.column(c)
            keep = cols[c]["keep"]
            rare = pc.and_(pc.invert(pc.is_in(col, value_set=keep.cast(col.type))), pc.is_valid(col))
            repl = pa.scalar(self.params.replacement, type=col.type)
            batch = replace_column(batch, c, pc.if_else(rare, repl, col))
        return batch
