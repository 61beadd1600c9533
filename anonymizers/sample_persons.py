"""``sample.persons``: keep a fraction of persons, with all their rows, in every table.

A person is kept when a keyed hash of their id (HMAC-SHA256 with the chain key, read as a number in [0, 1))
is below ``fraction``; every table decides the same way, so a kept person keeps their users row, events and
config changes, and joins survive. Sampling lowers the chance that a given person is in the release at all
(the "sampling" defence in the statistical disclosure control literature, e.g. Hundepool et al., 2012), but
those who are in remain as exposed as before. Rows without an id (no person) are kept.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string
from anonymizers.distinct import map_distinct_numpy
from anonymizers.pseudonymize import HmacSha256
from anonymizers.secrets import SecretRef

PURPOSE = "sample.persons"


class SamplePersonsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: SecretRef = Field(description="Key reference: env:NAME or file:PATH.")
    fraction: float = Field(0.5, gt=0, le=1, description="Share of persons kept.")


def keep_mask(subkey: bytes, ids: list[str], fraction: float) -> np.ndarray:
    limit = int(fraction * 2**64)
    digests = HmacSha256(subkey).digests([v.encode() for v in ids])
    return np.fromiter((int.from_bytes(d[:8], "big") < limit for d in digests), dtype=bool, count=len(ids))


class SamplePersons(Anonymizer):
    """``columns`` names the id column of each table: ``{users: [account_id], events: [account_id]}``."""

    name = "sample.persons"
    Params = SamplePersonsParams
    params: SamplePersonsParams
    needs_secret = True
    row_preserving = False

    def __init__(self, params: SamplePersonsParams, secret=None) -> None:
        super().__init__(params, secret)
        self._subkey = self.subkey(PURPOSE)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        return None if len(columns) == 1 else "name exactly one id column per table"

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        keep, null = map_distinct_numpy(batch.column(ctx.columns[0]),
                                        lambda ids: keep_mask(self._subkey, ids, self.params.fraction))
        return batch.filter(pa.array(keep | null))
