"""The anonymizer contract: what a built-in or third-party anonymizer declares and implements.

An anonymizer is a class with

* ``name`` — its registry name, the ``use:`` of a chain step (``pseudonymize.hmac``);
* ``Params`` — a pydantic model of its ``with:`` parameters (``extra="forbid"``; secrets are
  :data:`anonymizers.secrets.SecretRef` fields, resolved by the chain before any data moves);
* flags — ``row_preserving`` (rows in == rows out), ``deterministic`` (same input, key and params give the
  same output), ``needs_secret`` (it takes a key), ``stateful`` (it needs table-wide statistics);
* ``apply(batch, ctx)`` — one call per Arrow batch (a ``pa.Table``), never one Python call per row.

Stateful anonymizers (rare-value suppression, k-anonymization) declare their table-wide statistics as
``partial(batch, ctx) -> P``, ``merge(P, P) -> P`` and ``finalize({table: P}) -> state``. A local loop or a
Beam ``CombinePerKey`` computes them in a first pass over the data as it stands at that step of the chain; the
state then reaches ``apply`` as ``ctx.state``. ``merge`` must be associative and commutative, and
``finalize`` must not depend on the order of the batches, so the result is the same on every runner.

Aggregating anonymizers (``dp.aggregate``) do not map batches: they set ``releases`` to the name of the table
they publish instead of their input, and implement ``partial``/``merge`` to pre-aggregate; the pipeline
finishes the release (see :mod:`anonymizers.dp_aggregate`).

This package never imports Apache Beam, ``pipelines`` or ``anonbench``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
from pydantic import BaseModel, ConfigDict

from anonymizers.secrets import Secret

ALL_COLUMNS = "*"


class NoParams(BaseModel):
    """Parameters of an anonymizer that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BatchContext:
    """Where a batch comes from and what the step knows about it.

    ``columns`` are the step's columns in this table (``*`` already expanded); ``state`` is the finalized
    first-pass state of a stateful step (``None`` otherwise); ``shard`` and ``batch`` number the batch in
    the run's logical chunk layout, so per-batch randomness is reproducible whatever the runner.
    """

    table: str
    columns: tuple[str, ...]
    shard: int = 0
    batch: int = 0
    state: Any = None


@dataclass(frozen=True)
class StepReport:
    """What a step did to one table, for the manifest (counts only, never values)."""

    rows_in: int
    rows_out: int
    extra: Mapping[str, Any] = field(default_factory=dict)


class Anonymizer:
    """Base class of anonymizers. Subclasses set the class attributes and implement :meth:`apply`."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    row_preserving: ClassVar[bool] = True
    deterministic: ClassVar[bool] = True
    needs_secret: ClassVar[bool] = False
    stateful: ClassVar[bool] = False
    releases: ClassVar[str | None] = None
    """For aggregating anonymizers: the table released in place of the input table."""
    secret_fields: ClassVar[tuple[str, ...]] = ("key",)
    """Names of the ``Params`` fields that hold secret references (only when ``needs_secret``)."""

    def __init__(self, params: BaseModel, secret: Secret | None = None) -> None:
        if self.needs_secret and secret is None:
            raise ValueError(f"{self.name}: needs a key")
        self.params = params
        self.secret = secret

    def subkey(self, purpose: str) -> bytes:
        """This step's sub-key for ``purpose`` (see :meth:`anonymizers.secrets.Secret.derive`)."""
        if self.secret is None:
            raise ValueError(f"{self.name}: needs a key")
        return self.secret.derive(purpose)

    def __repr__(self) -> str:  # never shows the secret
        return f"{type(self).__name__}({self.name})"

    # --- validation (before any data moves) -------------------------------------------------------
    def tables(self, columns: Mapping[str, list[str]]) -> list[str]:
        """The tables this step touches (default: those named in ``columns``)."""
        return list(columns)

    def state_tables(self, columns: Mapping[str, list[str]]) -> list[str]:
        """The tables whose batches feed ``partial`` in the first pass (stateful steps only)."""
        return list(columns)

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        """Return a reason when ``column`` of type ``dtype`` cannot be processed, else ``None``."""
        return None

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        """Return a reason when this step cannot apply to ``table`` as a whole, else ``None``."""
        return None

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema | None:
        """The table's schema after this step (``None``: the table is no longer released)."""
        return schema

    # --- data ---------------------------------------------------------------------------------------
    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table | None:
        """Transform one batch of ``ctx.table``; ``None`` when the table is no longer released."""
        raise NotImplementedError

    def partial(self, batch: pa.Table, ctx: BatchContext) -> Any:
        raise NotImplementedError(f"{self.name} is not stateful")

    def merge(self, a: Any, b: Any) -> Any:
        raise NotImplementedError(f"{self.name} is not stateful")

    def finalize(self, partials: Mapping[str, Any]) -> Any:
        return dict(partials)

    def report(self, state: Any) -> dict[str, Any]:
        """Counts describing the finalized state, for the manifest (never raw values or secrets)."""
        return {}

    def public_params(self) -> dict[str, Any]:
        """Parameters as recorded in the manifest: secret fields keep their reference, never the key."""
        return self.params.model_dump(mode="json")


def replace_column(batch: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """``batch`` with column ``name`` replaced by ``values`` (type may change)."""
    i = batch.schema.get_field_index(name)
    nullable = batch.schema.field(i).nullable
    return batch.set_column(i, pa.field(name, values.type, nullable=nullable), values)


def with_type(schema: pa.Schema, columns: list[str], dtype: pa.DataType) -> pa.Schema:
    """``schema`` with the given columns changed to ``dtype``."""
    for c in columns:
        i = schema.get_field_index(c)
        schema = schema.set(i, pa.field(c, dtype, nullable=schema.field(i).nullable))
    return schema


def is_string(dtype: pa.DataType) -> bool:
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def need_string(column: str, dtype: pa.DataType) -> str | None:
    return None if is_string(dtype) else f"column {column!r} is {dtype}, expected a string column"
