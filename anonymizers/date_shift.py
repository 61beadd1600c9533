"""``perturb.date_shift``: every timestamp of a person moved by one secret offset.

The offset of a person is derived from the key and the person's id (``account_id`` by default) with
HMAC-SHA256, so it is the same in every table, batch and run with the same key: intervals between one
person's events survive exactly, while the calendar position (which day, which weekday unless
``keep_weekday``) is hidden. This is the date-shifting of clinical de-identification (e.g. HIPAA Safe Harbor
practice); it does not hide *patterns* (time of day, rhythm), which the profile-linkage check measures.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, replace_column, shift_times
from anonymizers.distinct import map_distinct_numpy
from anonymizers.pseudonymize import HmacSha256
from anonymizers.secrets import SecretRef
from anonymizers.time_bucket import need_timestamp

PURPOSE = "perturb.date_shift"
_US_PER_DAY = 86_400_000_000
_NULL_ID = b"\x00anonbench-null-id"


class DateShiftParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: SecretRef = Field(description="Key reference: env:NAME or file:PATH.")
    id_column: str = Field("account_id", description="Column naming the person whose offset applies.")
    max_days: int = Field(30, ge=1, le=3650, description="Offsets are whole days in [-max_days, max_days].")
    keep_weekday: bool = Field(False, description="Shift by whole weeks only (weekday kept).")


def offsets_days(subkey: bytes, ids: list[str], max_days: int, keep_weekday: bool) -> np.ndarray:
    """Secret whole-day offset per id, uniform on [-max_days, max_days] (or multiples of 7 in that range)."""
    step = 7 if keep_weekday else 1
    span = max_days // step
    digests = HmacSha256(subkey).digests([v.encode() for v in ids])
    h = np.frombuffer(b"".join(d[:8] for d in digests), dtype=">u8").astype(np.uint64)
    return ((h % np.uint64(2 * span + 1)).astype(np.int64) - span) * step


class DateShift(Anonymizer):
    name = "perturb.date_shift"
    Params = DateShiftParams
    params: DateShiftParams
    needs_secret = True

    def __init__(self, params: DateShiftParams, secret=None) -> None:
        super().__init__(params, secret)
        self._subkey = self.subkey(PURPOSE)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_timestamp(column, dtype)

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        if self.params.id_column not in schema.names:
            return f"table {table!r} has no id column {self.params.id_column!r} (with.id_column)"
        return None

    def _offsets_us(self, batch: pa.Table) -> np.ndarray:
        p = self.params
        days, null = map_distinct_numpy(batch.column(p.id_column),
                                        lambda ids: offsets_days(self._subkey, ids, p.max_days, p.keep_weekday))
        if null.any():
            days[null] = offsets_days(self._subkey, [_NULL_ID.decode()], p.max_days, p.keep_weekday)[0]
        return days * _US_PER_DAY

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        if batch.num_rows == 0:
            return batch
        shift = None
        for c in ctx.columns:
            col = batch.column(c)
            if shift is None:
                shift = self._offsets_us(batch)
            unit_div = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[col.type.unit]
            mult = 1000 if col.type.unit == "ns" else 1
            delta = pa.array(shift // unit_div * mult, type=pa.int64())
            out = shift_times(col, delta)
            batch = replace_column(batch, c, out)
        return batch
