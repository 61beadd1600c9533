"""``perturb.time_jitter``: every timestamp moved by its own random offset in [-max_seconds, max_seconds].

Unlike :mod:`anonymizers.date_shift`, each row gets its own offset, which blurs exact co-occurrences and
sequences but not daily or weekly rhythm. The offsets come from a PCG64 stream seeded by HMAC-SHA256 of the
key, the table, the shard and the batch number: reproducible with the same key and chunk layout, unknown
without the key. (This is a perturbation, not differential privacy: DP noise comes only from PipelineDP, see
:mod:`anonymizers.dp_aggregate`.)
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, replace_column, shift_times
from anonymizers.secrets import SecretRef
from anonymizers.time_bucket import need_timestamp

PURPOSE = "perturb.time_jitter"
_PER_SECOND = {"s": 1, "ms": 1000, "us": 1_000_000, "ns": 1_000_000_000}


class TimeJitterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: SecretRef = Field(description="Key reference: env:NAME or file:PATH.")
    max_seconds: int = Field(300, ge=1, le=86_400 * 30, description="Largest offset in seconds.")


class TimeJitter(Anonymizer):
    name = "perturb.time_jitter"
    Params = TimeJitterParams
    params: TimeJitterParams
    needs_secret = True

    def __init__(self, params: TimeJitterParams, secret=None) -> None:
        super().__init__(params, secret)
        self._subkey = self.subkey(PURPOSE)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_timestamp(column, dtype)

    def _stream(self, ctx: BatchContext, column: str) -> np.random.Generator:
        import hashlib
        import hmac

        label = f"{ctx.table}/{column}/{ctx.shard}/{ctx.batch}".encode()
        seed = int.from_bytes(hmac.digest(self._subkey, label, hashlib.sha256)[:16], "big")
        return np.random.Generator(np.random.PCG64(seed))

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        for c in ctx.columns:
            col = batch.column(c)
            per_s = _PER_SECOND[col.type.unit]
            span = self.params.max_seconds * per_s
            offsets = self._stream(ctx, c).integers(-span, span, size=batch.num_rows, endpoint=True)
            out = shift_times(col, pa.array(offsets, type=pa.int64()))
            batch = replace_column(batch, c, out)
        return batch
