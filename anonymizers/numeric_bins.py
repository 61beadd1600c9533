"""``generalize.numeric_bins``: numbers -> the lower edge of their bin (or a label such as ``11-50``).

Bins are either of fixed ``width`` (``[k*width, (k+1)*width)``) or given by sorted ``edges``; with edges the
first bin is open below and the last open above, so every value lands in a bin and nulls stay null.
Vectorized with numpy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from anonymizers.base import Anonymizer, BatchContext, replace_column, with_type
from anonymizers.distinct import as_array


class NumericBinsParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    width: float | None = Field(None, gt=0, description="Fixed bin width.")
    edges: list[float] | None = Field(None, min_length=1, description="Sorted bin edges (alternative).")
    labels: bool = Field(False, description="Write string labels ('10-20') instead of lower edges.")

    @model_validator(mode="after")
    def _one(self) -> NumericBinsParams:
        if (self.width is None) == (self.edges is None):
            raise ValueError("give exactly one of width or edges")
        if self.edges is not None and any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must be strictly increasing")
        return self


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def bin_values(x: np.ndarray, p: NumericBinsParams) -> tuple[np.ndarray, np.ndarray]:
    """(lower edge, upper edge) of each value's bin; upper edge is inf for the last open bin."""
    if p.width is not None:
        lo = np.floor(x / p.width) * p.width
        return lo, lo + p.width
    edges = np.asarray(p.edges, dtype=float)
    i = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 1)
    lo = edges[i]
    hi = np.append(edges[1:], np.inf)[i]
    return lo, hi


class NumericBins(Anonymizer):
    name = "generalize.numeric_bins"
    Params = NumericBinsParams
    params: NumericBinsParams

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        ok = pa.types.is_integer(dtype) or pa.types.is_floating(dtype)
        return None if ok else f"column {column!r} is {dtype}, expected a numeric column"

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        return with_type(schema, columns, pa.string()) if self.params.labels else schema

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        p = self.params
        for c in ctx.columns:
            arr = as_array(batch.column(c))
            mask = arr.is_null().to_numpy(zero_copy_only=False)
            x = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(float)
            lo, hi = bin_values(x, p)
            if p.labels and len(x) == 0:
                out = pa.array([], type=pa.string())
            elif p.labels:
                uniq, inv = np.unique(np.stack([lo, hi]), axis=1, return_inverse=True)
                names = [f"{_fmt(a)}+" if np.isinf(b) else f"{_fmt(a)}-{_fmt(b)}" for a, b in uniq.T]
                out = pa.array(np.asarray(names, dtype=object)[inv.ravel()], type=pa.string(), mask=mask)
            else:
                if pa.types.is_integer(arr.type):
                    lo = lo.astype(arr.type.to_pandas_dtype())
                out = pa.array(lo, mask=mask).cast(arr.type)
            batch = replace_column(batch, c, out)
        return batch
