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

Aggregating anonymizers (``dp.aggregate``, ``dp.synthesize``) do not map batches: their input tables end with
them (``apply`` returns ``None``, ``output_schema`` returns ``None``) and they publish other tables instead.
The aggregating contract, in the order the pipeline calls it:

* ``releases`` — the name of the table published (``"event_counts"``), or a tuple of names (``("orgs",
  "users", "events")``; a name may reuse that of an input table the step consumes);
* ``stateful = True`` and ``partial(batch, ctx)``/``merge(a, b)`` — pre-aggregation of every batch of the
  step's tables, merged per table (associative and commutative, as for stateful steps);
* ``released_schemas(columns, schemas)`` — the schema of every released table, from the step's ``columns``
  and the schemas of its input tables (checked before any data moves; a single-table aggregator may
  implement ``released_schema(table, columns, schema)`` instead);
* ``finalize({table: merged partial})`` — the bounded statistics (contribution bounding happens here or
  before);
* ``fit_release(state)`` — the DP core: the noisy measurements of the state and whatever post-processing
  of them the release needs (a fitted model, a sampled population); it must be small enough to ship to
  the workers;
* ``release_shards(release)`` and ``release_shard(release, i)`` — the number of output shards and the
  tables of shard ``i`` (``{table: pa.Table}``), computed from the release alone (post-processing, seeded,
  so reproducible), one call per shard on any worker;
* ``report(release)`` — counts for the manifest; ``budget()`` — the privacy budget recorded in the
  manifest's step report (for DP steps ``privacy_budget().as_dict()``).

``dp.aggregate`` predates the shard contract and releases through PipelineDP instead (``release(rows,
backend)`` on a PipelineDP backend, see :mod:`anonymizers.dp_aggregate`); ``dp.synthesize`` implements the
contract above (see :mod:`anonymizers.dp_synthesize`).

Differentially private steps set ``differentially_private = True`` and implement the DP contract below:
:meth:`Anonymizer.privacy_budget` (what is claimed: epsilon, delta, unit, accounting, bounds, the split of the
budget) and :meth:`Anonymizer.dp_measure` (the noisy measurements, computed in-process from small input tables,
with a test hook ``noise=False`` that switches the noise off and nothing else). ``dp_audit`` holds every such
step — built-in or third-party — to its claim: the sensitivity of each measurement with the noise off, and a
black-box lower bound on epsilon from repeated noisy runs on neighbouring datasets.

This package never imports Apache Beam, ``pipelines`` or ``anonbench``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
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
class PrivacyBudget:
    """What a differentially private step claims (recorded in the manifest and on the report).

    ``epsilon``/``delta`` are the whole step's budget for one privacy ``unit`` (the id column whose
    contributions are bounded, e.g. ``account_id``); ``accounting`` names the composition method (``basic``
    sequential composition, ``zCDP``, ``PLD``); ``split`` gives each measurement's share in the accounting's
    own currency (epsilon for basic composition, rho for zCDP) so that composing the shares gives back the
    declared budget; ``bounds`` are the contribution bounds (e.g. ``max_events_per_unit``).
    """

    epsilon: float
    delta: float
    unit: str
    accounting: str
    split: Mapping[str, float] = field(default_factory=dict)
    bounds: Mapping[str, Any] = field(default_factory=dict)
    mechanism: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "privacy_unit": self.unit,
                "accounting": self.accounting, "split": dict(self.split), "bounds": dict(self.bounds),
                "mechanism": self.mechanism}


@dataclass(frozen=True)
class DPMeasurement:
    """One noisy query of a DP step, as ``dp_audit`` sees it.

    ``values`` maps each released cell (a tuple key: a partition, a marginal cell, a histogram bin) to its
    value; a cell absent from ``values`` was not released (private partition selection). With the noise off
    (``dp_measure(..., noise=False)``) the values are the exact, contribution-bounded ones and partition
    selection uses its deterministic rule. ``l1_sensitivity`` bounds sum |f(D) - f(D')| over cells when one
    unit is added or removed; ``l0_sensitivity`` bounds how many cells one unit touches (None: unbounded);
    ``epsilon`` is this measurement's pure-DP-equivalent share of the budget (for zCDP shares, the epsilon of
    the same mechanism at the step's delta).
    """

    name: str
    values: Mapping[tuple, float]
    l1_sensitivity: float
    epsilon: float
    delta: float = 0.0
    l0_sensitivity: int | None = None


class Anonymizer:
    """Base class of anonymizers. Subclasses set the class attributes and implement :meth:`apply`."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    row_preserving: ClassVar[bool] = True
    deterministic: ClassVar[bool] = True
    needs_secret: ClassVar[bool] = False
    stateful: ClassVar[bool] = False
    releases: ClassVar[str | tuple[str, ...] | None] = None
    """For aggregating anonymizers: the table (or tables) released in place of the input tables."""
    differentially_private: ClassVar[bool] = False
    """Declares differential privacy: the step implements ``privacy_budget`` and ``dp_measure``."""
    synthetic: ClassVar[bool] = False
    """Its releases are synthetic records (no released row belongs to a real person): the attacks report what
    they mean on synthetic data (membership; a synthetic trace that singles out a real person is a copy)."""
    secret_fields: ClassVar[tuple[str, ...]] = ("key",)
    """Names of the ``Params`` fields that hold secret references (only when ``needs_secret``)."""
    bucketed_tables: ClassVar[tuple[str, ...]] = ()
    """Shard-releasing aggregators only (optional): the big tables whose partials the pipeline spreads over
    buckets of privacy units instead of merging them in one place (see "The bucketed contract" below)."""

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

    # --- the aggregating contract (steps that set ``releases``; see the module docstring) -------------
    @classmethod
    def released_tables(cls) -> tuple[str, ...]:
        """The tables an aggregating step releases (empty for the others)."""
        r = cls.releases
        return () if r is None else (r,) if isinstance(r, str) else tuple(r)

    def released_schemas(self, columns: Mapping[str, list[str]], schemas: Mapping[str, pa.Schema]
                         ) -> dict[str, pa.Schema]:
        """Schemas of the released tables; the default serves single-table aggregators that implement
        ``released_schema(table, columns, schema)``. Raise ``ValueError`` with a one-line reason when the
        step's ``columns`` do not fit."""
        names = self.released_tables()
        if len(names) != 1 or len(columns) != 1:
            raise ValueError("columns: name exactly one table to aggregate")
        (table, cols), = columns.items()
        return {names[0]: self.released_schema(table, list(cols), schemas[table])}  # type: ignore[attr-defined]

    def fit_release(self, state: Any) -> Any:
        """The DP core of an aggregating step: noisy measurements of ``state`` and their post-processing."""
        raise NotImplementedError(f"{self.name} does not implement the shard release contract")

    def release_shards(self, release: Any) -> int:
        """Number of output shards of ``release``."""
        raise NotImplementedError(f"{self.name} does not implement the shard release contract")

    def release_shard(self, release: Any, shard: int) -> Mapping[str, pa.Table]:
        """The released tables of shard ``shard`` (post-processing of ``release``; seeded, reproducible)."""
        raise NotImplementedError(f"{self.name} does not implement the shard release contract")

    # --- the bucketed contract (optional; shard-releasing aggregators that set ``bucketed_tables``) ------
    # The first pass keeps the partials of the other tables (small: accounts, orgs) and merges them per table
    # into ``context(merged)``; each shard's partials of a bucketed table are cut by ``bucket`` into pieces,
    # one per bucket of privacy units (every row of a unit in the same bucket); per bucket,
    # ``summarize(context, bucket, buckets, pieces)`` computes the bucket's (exact, bounded) statistics, and
    # ``combine(summaries in bucket order)`` gives the state that ``fit_release`` takes. No worker ever holds
    # more than one bucket of the big tables; the statistics must be per unit, so that they add up.
    def input_columns(self, table: str) -> tuple[str, ...] | None:
        """The only columns ``partial`` reads from ``table`` (``None``: all); a reader may load just these."""
        return None

    def buckets(self, rows: int) -> int:
        """How many buckets for ``rows`` rows of the bucketed tables."""
        return 1

    def bucket(self, table: str, partial: Any, buckets: int) -> list[tuple[int, Any]]:
        """(bucket, piece) of a (merged) partial of a bucketed table."""
        raise NotImplementedError(f"{self.name} does not implement the bucketed contract")

    def context(self, partials: Mapping[str, Any]) -> Any:
        """The merged partials of the tables that are not bucketed, as every bucket needs them."""
        raise NotImplementedError(f"{self.name} does not implement the bucketed contract")

    def summarize(self, context: Any, bucket: int, buckets: int, pieces: list[Any]) -> Any:
        """The statistics of one bucket from its pieces (of every shard) and the context."""
        raise NotImplementedError(f"{self.name} does not implement the bucketed contract")

    def combine(self, summaries: list[Any]) -> Any:
        """The state ``fit_release`` takes, from the summaries of all buckets (in bucket order)."""
        raise NotImplementedError(f"{self.name} does not implement the bucketed contract")

    def budget(self) -> dict[str, Any]:
        """The privacy budget recorded in the manifest (DP steps: ``privacy_budget().as_dict()``)."""
        return self.privacy_budget().as_dict() if self.differentially_private else {}

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

    # --- the DP contract (differentially_private steps) --------------------------------------------
    def privacy_budget(self) -> PrivacyBudget:
        """The budget this step claims (``differentially_private`` steps only)."""
        raise NotImplementedError(f"{self.name} does not declare differential privacy")

    def dp_measure(self, tables: Mapping[str, pa.Table], *, noise: bool = True) -> list[DPMeasurement]:
        """The step's noisy measurements of ``tables`` (its input tables as they stand at that point of the
        chain), computed in-process: the DP core of the release, everything after it being post-processing.
        ``noise=False`` is the test hook of ``dp_audit``: the same computation with the noise switched off."""
        raise NotImplementedError(f"{self.name} does not declare differential privacy")

    def public_params(self) -> dict[str, Any]:
        """Parameters as recorded in the manifest: secret fields keep their reference, never the key."""
        return self.params.model_dump(mode="json")


_CALENDAR_US = ((dt.datetime.min - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1) + 86_400_000_000,
                (dt.datetime.max - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1) - 86_400_000_000)
"""The calendar that :func:`shift_times` keeps to, in microseconds since the epoch (one day inside years 1
and 9999, so that a conversion to local time stays in range too)."""
_MARGIN_NS = 3660 * 86_400 * 10**9
"""Nanosecond timestamps stay this far inside int64, more than the largest shift (3650 days)."""


def shift_times(col: pa.Array | pa.ChunkedArray, offsets: pa.Array) -> pa.Array | pa.ChunkedArray:
    """A timestamp column plus integer ``offsets`` (in the column's unit), kept within the calendar that
    Python, pandas and the Parquet readers of a release's users can represent (years 1 to 9999): a value
    shifted past either end is clamped to it, never wrapped around or left unreadable."""
    per_us = {"s": 1e-6, "ms": 1e-3, "us": 1, "ns": 1000}[col.type.unit]
    # In nanoseconds the calendar is wider than int64: there, int64 less ten years' margin for the offsets.
    lo = max(int(_CALENDAR_US[0] * per_us), -(2**63) + _MARGIN_NS)
    hi = min(int(_CALENDAR_US[1] * per_us), 2**63 - 1 - _MARGIN_NS)

    def clamp(a: Any) -> Any:  # nulls stay null
        return pc.min_element_wise(pc.max_element_wise(a, lo, skip_nulls=False), hi, skip_nulls=False)

    return clamp(pc.add(clamp(pc.cast(col, pa.int64())), offsets)).cast(col.type)


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
