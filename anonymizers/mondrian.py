"""``kanon.mondrian``: k-anonymity of the users table on declared quasi-identifiers, by Mondrian.

Strict multidimensional Mondrian (LeFevre, DeWitt & Ramakrishnan, "Mondrian Multidimensional
K-Anonymity", ICDE 2006): recursively cut the records at the median of the quasi-identifier with the widest
normalised range, as long as both halves keep at least ``k`` records; each final partition is an
equivalence class whose quasi-identifiers are replaced by its summary — a range ``lo..hi`` for numbers and
timestamps (dates), the sorted set ``a|b`` of its values for text (``*`` beyond ``max_set`` values).
Categorical values are cut in their sorted order (no hierarchy is assumed).

Table-level and stateful: the first pass gathers (id, quasi-identifiers) of the whole table, ``finalize``
partitions them, and ``apply`` replaces each batch's quasi-identifiers by a join on the id. Records whose
numeric quasi-identifier is null, or all records when there are fewer than ``k``, are suppressed (removed)
and counted in the report.

Decision on the other tables: the rows of suppressed persons are also removed from the tables listed in
``also_drop_in`` (default ``events`` and ``config_changes``), since otherwise a suppressed person's activity
would remain, joinable by id, while their users row is gone. The guarantee covers the declared
quasi-identifiers of ``users`` only; behaviour in ``events`` is *not* k-anonymized, and the harness's
unicity and linkage checks measure what it still reveals.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, is_string, replace_column, with_type


class MondrianParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(10, ge=2, description="Minimum equivalence-class size.")
    id_column: str = Field("account_id", description="Column identifying the person (join key).")
    also_drop_in: list[str] = Field(default_factory=lambda: ["events", "config_changes"],
                                    description="Tables whose rows of suppressed persons are removed too.")
    max_set: int = Field(4, ge=1, description="Text classes with more distinct values become '*'.")


def _codes(arr: pa.Array) -> tuple[np.ndarray, bool]:
    """(ordinal codes as float64, is_numeric); text is coded by its sorted order, null as its own value."""
    if is_string(arr.type):
        filled = arr.fill_null("\x00null")
        uniq = pc.unique(filled).sort()
        return pc.index_in(filled, value_set=uniq).to_numpy(zero_copy_only=False).astype(float), False
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    return arr.to_numpy(zero_copy_only=False).astype(float), True


def partition(codes: np.ndarray, k: int) -> np.ndarray:
    """Strict Mondrian: class label per record (``codes`` is records x dimensions)."""
    n, d = codes.shape
    labels = np.zeros(n, dtype=np.int64)
    span = codes.max(axis=0) - codes.min(axis=0) if n else np.zeros(d)
    span[span == 0] = 1.0
    stack = [np.arange(n)]
    next_label = 0
    while stack:
        idx = stack.pop()
        sub = codes[idx]
        widths = (sub.max(axis=0) - sub.min(axis=0)) / span
        cut = None
        for dim in np.argsort(-widths, kind="stable"):
            if widths[dim] == 0:
                break
            vals = sub[:, dim]
            med = np.median(vals)
            for left in (vals <= med, vals < med):
                nl = int(left.sum())
                if nl >= k and len(idx) - nl >= k:
                    cut = left
                    break
            if cut is not None:
                break
        if cut is None:
            labels[idx] = next_label
            next_label += 1
        else:
            stack.append(idx[~cut])
            stack.append(idx[cut])
    return labels


_MIN_US = (dt.datetime.min - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
_MAX_US = (dt.datetime.max - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)


def _fmt(x: float, kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        if np.isnan(x):
            return "null"
        # Codes are float64: near the ends of the calendar they may round past year 9999 (clamped back).
        us = min(max(int(int(x) * _to_us(kind)), _MIN_US), _MAX_US)
        return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=us)).date().isoformat()
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _to_us(kind: pa.DataType) -> float:
    return {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 0.001}[kind.unit]


def summarize(values: pa.Array, labels: np.ndarray, n_classes: int, max_set: int) -> list[str]:
    """The generalized value of each class for one quasi-identifier."""
    codes, numeric = _codes(values)
    out: list[str] = []
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(n_classes + 1))
    text = None if numeric else values.fill_null("null").to_numpy(zero_copy_only=False)
    for c in range(n_classes):
        rows = order[bounds[c]:bounds[c + 1]]
        if numeric:
            lo, hi = _fmt(codes[rows].min(), values.type), _fmt(codes[rows].max(), values.type)
            out.append(lo if lo == hi else f"{lo}..{hi}")
        else:
            assert text is not None
            distinct = sorted(set(text[rows].tolist()))
            out.append("|".join(distinct) if len(distinct) <= max_set else "*")
    return out


class Mondrian(Anonymizer):
    name = "kanon.mondrian"
    Params = MondrianParams
    params: MondrianParams
    row_preserving = False
    stateful = True

    def tables(self, columns: Mapping[str, list[str]]) -> list[str]:
        return list(columns) + [t for t in self.params.also_drop_in if t not in columns]

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        if self.params.id_column not in schema.names:
            return f"table {table!r} has no id column {self.params.id_column!r} (with.id_column)"
        if self.params.id_column in columns:
            return f"the id column {self.params.id_column!r} cannot be a quasi-identifier"
        return None

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        ok = is_string(dtype) or pa.types.is_timestamp(dtype) or pa.types.is_integer(dtype) \
            or pa.types.is_floating(dtype)
        return None if ok else f"column {column!r} is {dtype}: quasi-identifiers must be text, numbers or times"

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        return with_type(schema, columns, pa.string())

    def partial(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        return batch.select([self.params.id_column, *ctx.columns])

    def merge(self, a: pa.Table, b: pa.Table) -> pa.Table:
        return pa.concat_tables([a, b])

    def finalize(self, partials: Mapping[str, pa.Table]) -> dict[str, Any]:
        """{"classes": {table: (id, generalized QIs) table}, "suppressed": ids, "report": counts}."""
        p = self.params
        classes: dict[str, pa.Table] = {}
        suppressed: list[pa.Array] = []
        report: dict[str, Any] = {"k": p.k}
        for table, data in partials.items():
            data = data.sort_by(p.id_column).combine_chunks()  # independent of batch order
            qis = [c for c in data.column_names if c != p.id_column]
            ok = np.ones(data.num_rows, dtype=bool)
            for c in qis:
                col = data.column(c)
                if not is_string(col.type):
                    ok &= col.is_valid().to_numpy(zero_copy_only=False)
            if ok.sum() < p.k:
                ok[:] = False
            kept = data.filter(pa.array(ok))
            suppressed.append(data.filter(pa.array(~ok)).column(p.id_column).combine_chunks())
            if kept.num_rows:
                codes = np.column_stack([_codes(kept.column(c).combine_chunks())[0] for c in qis])
                labels = partition(codes, p.k)
                n = int(labels.max()) + 1
            else:
                labels, n = np.zeros(0, dtype=np.int64), 0
            out = {p.id_column: kept.column(p.id_column)}
            for c in qis:
                per_class = pa.array(summarize(kept.column(c).combine_chunks(), labels, n, p.max_set),
                                     type=pa.string())
                out[c] = per_class.take(pa.array(labels))
            classes[table] = pa.table(out)
            sizes = np.bincount(labels) if n else np.zeros(0)
            report[table] = {"records": data.num_rows, "suppressed_records": int((~ok).sum()),
                             "classes": n, "min_class": int(sizes.min()) if n else 0,
                             "mean_class": float(sizes.mean()) if n else 0.0}
        ids = pa.concat_arrays(suppressed) if suppressed else pa.array([], type=pa.string())
        return {"classes": classes, "suppressed": ids, "report": report}

    def report(self, state: dict[str, Any]) -> dict[str, Any]:
        return state["report"]

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        id_col = self.params.id_column
        ids = batch.column(id_col)
        if ctx.table in ctx.state["classes"]:
            mapping = ctx.state["classes"][ctx.table]
            pos = pc.index_in(ids, value_set=mapping.column(id_col).cast(ids.type))
            batch = batch.filter(pc.is_valid(pos))
            pos = pos.filter(pc.is_valid(pos))
            for c in ctx.columns:
                batch = replace_column(batch, c, mapping.column(c).take(pos))
            return batch
        gone = ctx.state["suppressed"]
        if len(gone) == 0:
            return batch
        hit = pc.is_in(ids, value_set=gone.cast(ids.type))
        return batch.filter(pc.invert(pc.fill_null(hit, False)))
