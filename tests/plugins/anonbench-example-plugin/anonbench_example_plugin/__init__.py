"""``example.mask``: keep the last ``keep`` characters of each value and put ``mask`` before them.

A complete third-party anonymizer: a registry name, a pydantic parameter model, flags, and one vectorized
call per Arrow batch (pyarrow.compute, no Python loop over rows).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string, replace_column


class MaskParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: int = Field(2, ge=0, le=8, description="Characters kept at the end.")
    mask: str = Field("***", max_length=8, description="Text put before the kept characters.")


class Mask(Anonymizer):
    name = "example.mask"
    Params = MaskParams
    row_preserving = True
    deterministic = True

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        p = self.params
        for c in ctx.columns:
            col = batch.column(c)
            tail = pc.utf8_slice_codeunits(col, start=-p.keep) if p.keep else pc.utf8_slice_codeunits(col, 0, 0)
            batch = replace_column(batch, c, pc.binary_join_element_wise(p.mask, tail, ""))
        return batch
