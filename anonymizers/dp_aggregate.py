"""``dp.aggregate``: differentially private counts released instead of the events table.

The step replaces ``events`` by ``event_counts``: the number of events per period (``day`` by default) and
per partition key (the step's ``columns``, e.g. org, product and action), with noise and private partition
selection from PipelineDP (the OpenMined/Google DP building blocks; noise is drawn by python-dp, never by
numpy). The privacy unit is the account (``id_column``): each account's influence is bounded to
``max_partitions_contributed`` partitions (L0) and ``max_contributions_per_partition`` events per partition
(Linf), and partitions are released only when PipelineDP's partition selection keeps them, so a partition
held by one account rarely appears. The release is (epsilon, delta)-DP per account (Dwork & Roth, "The
Algorithmic Foundations of Differential Privacy", 2014); a person with accounts in several orgs counts as
several units, so their protection is that of the sum of their accounts' budgets.

How it runs: ``partial`` pre-aggregates each batch to (account, period, key..., events) with Arrow; the
pipeline sums those per (account, partition) across batches and gives the rows to PipelineDP as a SUM of
per-(account, partition) counts clamped to [0, Linf] with one contribution per partition — the same
sensitivity as a COUNT bounded by Linf per partition, with far fewer elements. :func:`release` is engine
agnostic: the local loop passes ``pipeline_dp.LocalBackend()``, the Beam pipeline ``BeamBackend()``.
PipelineDP itself imports Apache Beam when it is installed; this module imports PipelineDP only inside the
functions that need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, DPMeasurement, PrivacyBudget
from anonymizers.time_bucket import need_timestamp

COUNT = "count"
PERIOD = "period_start"
_PERIOD_UNITS = {"hour": "hour", "day": "day", "week": "week"}


class DpAggregateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epsilon: float = Field(1.0, gt=0, le=20, description="Privacy budget epsilon of the whole release.")
    delta: float = Field(1e-6, gt=0, lt=1e-2, description="Privacy budget delta of the whole release.")
    id_column: str = Field("account_id", description="Privacy unit (contributions are bounded per id).")
    time_column: str = Field("event_time", description="Timestamp column bucketed into periods.")
    period: Literal["hour", "day", "week"] = Field("day", description="Period of the counts.")
    max_partitions_contributed: int = Field(20, ge=1, description="L0 bound: partitions per id.")
    max_contributions_per_partition: int = Field(10, ge=1, description="Linf bound: events per id and "
                                                                       "partition.")
    noise: Literal["laplace", "gaussian"] = "laplace"
    partition_selection: Literal["truncated_geometric", "laplace_thresholding",
                                 "gaussian_thresholding"] = "truncated_geometric"


class DpAggregate(Anonymizer):
    """``columns: {events: [org_id, product, action]}`` names the partition keys besides the period."""

    name = "dp.aggregate"
    Params = DpAggregateParams
    params: DpAggregateParams
    row_preserving = False
    deterministic = False
    stateful = True
    releases = "event_counts"
    differentially_private = True

    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        p = self.params
        for c in (p.id_column, p.time_column):
            if c not in schema.names:
                return f"table {table!r} has no column {c!r} (with.id_column / with.time_column)"
        return need_timestamp(p.time_column, schema.field(p.time_column).type)

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> None:
        return None

    def released_schema(self, table: str, columns: list[str], schema: pa.Schema) -> pa.Schema:
        fields = [pa.field(PERIOD, schema.field(self.params.time_column).type)]
        fields += [schema.field(c) for c in columns]
        return pa.schema([*fields, pa.field(COUNT, pa.int64())])

    def apply(self, batch: pa.Table, ctx: BatchContext) -> None:
        return None  # the table is replaced by the release

    # --- pre-aggregation (first pass) ---------------------------------------------------------------
    def partial(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        """(id, period_start, keys..., n) summed within the batch; rows without an id are left out."""
        p = self.params
        t = batch.filter(pc.is_valid(batch.column(p.id_column)))
        period = pc.floor_temporal(t.column(p.time_column), unit=_PERIOD_UNITS[p.period],
                                   week_starts_monday=True)
        data = {"pid": t.column(p.id_column), PERIOD: period}
        data.update({c: t.column(c) for c in ctx.columns})
        keys = ["pid", PERIOD, *ctx.columns]
        pre = pa.table(data).append_column("n", pa.array(np.ones(t.num_rows, dtype=np.int64)))
        return pre.group_by(keys, use_threads=False).aggregate([("n", "sum")]).rename_columns([*keys, "n"])

    def merge(self, a: pa.Table, b: pa.Table) -> pa.Table:
        keys = [c for c in a.column_names if c != "n"]
        both = pa.concat_tables([a, b])
        return both.group_by(keys, use_threads=False).aggregate([("n", "sum")]).rename_columns([*keys, "n"])

    def finalize(self, partials: Mapping[str, pa.Table]) -> dict[str, pa.Table]:
        return dict(partials)

    # --- the DP release ------------------------------------------------------------------------------
    def budget(self) -> dict[str, Any]:
        """What the manifest records about the release's privacy budget (:meth:`privacy_budget`)."""
        return self.privacy_budget().as_dict()

    def privacy_budget(self) -> PrivacyBudget:
        """(epsilon, delta) per account for the whole release. PipelineDP's ``NaiveBudgetAccountant`` splits
        epsilon equally between its two mechanisms (basic sequential composition): the noisy SUM and the
        private partition selection; delta goes to partition selection (and to the SUM when it is Gaussian)."""
        p = self.params
        return PrivacyBudget(
            epsilon=p.epsilon, delta=p.delta, unit=p.id_column, accounting="basic",
            split={"sum": p.epsilon / 2, "partition_selection": p.epsilon / 2},
            bounds={"max_partitions_contributed": p.max_partitions_contributed,
                    "max_contributions_per_partition": p.max_contributions_per_partition, "period": p.period},
            mechanism=f"PipelineDP SUM of per-(unit, partition) counts clamped to [0, Linf], {p.noise} noise; "
                      f"{p.partition_selection} partition selection")

    def dp_measure(self, tables: Mapping[str, pa.Table], *, noise: bool = True,
                   columns: Mapping[str, Sequence[str]] | None = None) -> list[DPMeasurement]:
        """The noisy counts of ``tables[events]`` by PipelineDP on its LocalBackend, in-process: one measurement
        ``sum`` whose cells are the partitions (period, keys...). ``columns`` names the partition keys (the
        step's ``columns``; default: every column but the id and time columns). ``noise=False`` runs the same
        PipelineDP graph with the noise switched off (see :mod:`anonymizers.dp_noiseless`: exact sums, median
        partition-selection rule, deterministic sampling in contribution bounding)."""
        p = self.params
        if columns:
            (table, keys), = columns.items()
        else:
            table = "events" if "events" in tables else next(iter(tables))
            keys = [c for c in tables[table].column_names if c not in (p.id_column, p.time_column)]
        data, key = tables[table], tuple(keys)
        # repeated releases of the same input (dp_audit) pre-aggregate it once
        cache: list[tuple[pa.Table, tuple, pa.Table]] = self.__dict__.setdefault("_dp_pre_cache", [])
        pre = next((hit for t, k, hit in cache if t is data and k == key), None)
        if pre is None:
            pre = self.partial(data, BatchContext(table, key))
            cache.append((data, key, pre))
            del cache[:-8]
        return [self.measure(pre, noise=noise)]

    def measure(self, pre: pa.Table, *, noise: bool = True) -> DPMeasurement:
        """The DP measurement of a merged pre-aggregate (see :meth:`dp_measure`)."""
        import pipeline_dp

        from anonymizers.dp_noiseless import CoupledLocalBackend

        backend = pipeline_dp.LocalBackend() if noise else CoupledLocalBackend()
        col, accountant = self.release(self.pipeline_rows(pre), backend, noise=noise)
        accountant.compute_budgets()
        values = {tuple(k): float(m.sum) for k, m in col}
        kinds = (pipeline_dp.aggregate_params.MechanismType.LAPLACE,
                 pipeline_dp.aggregate_params.MechanismType.GAUSSIAN)
        sums = [s for s in accountant.mechanism_specs if s.mechanism_type in kinds]
        p = self.params
        return DPMeasurement(name="sum", values=values,
                             l1_sensitivity=float(p.max_partitions_contributed * p.max_contributions_per_partition),
                             epsilon=sum(s.eps for s in sums), delta=sum(s.delta for s in sums),
                             l0_sensitivity=p.max_partitions_contributed)

    def pipeline_rows(self, pre: pa.Table) -> list[tuple[tuple[Any, tuple], float]]:
        """The elements PipelineDP aggregates: ((unit, partition key), events) per (unit, partition). Counts go
        in as floats: PipelineDP clamps each with ``np.clip``, which is markedly slower on Python ints."""
        return [(k, float(n)) for k, n in rows_of(pre)]

    def engine(self, accountant: Any, backend: Any, *, noise: bool = True) -> Any:
        """PipelineDP's ``DPEngine``; with ``noise=False`` the same engine with the noise switched off."""
        import pipeline_dp

        if noise:
            return pipeline_dp.DPEngine(accountant, backend)
        from anonymizers.dp_noiseless import NoiselessEngine

        return NoiselessEngine(accountant, backend)

    def release(self, rows: Any, backend: Any, *, noise: bool = True) -> tuple[Any, Any]:
        """DP aggregation of ``rows`` = ((pid, partition key tuple), events) on any PipelineDP backend.

        Returns (collection of (partition key, metrics), budget accountant). Call
        ``accountant.compute_budgets()`` after building and before evaluating the collection.
        """
        import pipeline_dp

        p = self.params
        accountant = pipeline_dp.NaiveBudgetAccountant(total_epsilon=p.epsilon, total_delta=p.delta)
        engine = self.engine(accountant, backend, noise=noise)
        noise = {"laplace": pipeline_dp.NoiseKind.LAPLACE, "gaussian": pipeline_dp.NoiseKind.GAUSSIAN}[p.noise]
        strategy = {
            "truncated_geometric": pipeline_dp.PartitionSelectionStrategy.TRUNCATED_GEOMETRIC,
            "laplace_thresholding": pipeline_dp.PartitionSelectionStrategy.LAPLACE_THRESHOLDING,
            "gaussian_thresholding": pipeline_dp.PartitionSelectionStrategy.GAUSSIAN_THRESHOLDING,
        }[p.partition_selection]
        params = pipeline_dp.AggregateParams(
            metrics=[pipeline_dp.Metrics.SUM], noise_kind=noise,
            max_partitions_contributed=p.max_partitions_contributed, max_contributions_per_partition=1,
            min_value=0, max_value=p.max_contributions_per_partition, partition_selection_strategy=strategy)
        extractors = pipeline_dp.DataExtractors(privacy_id_extractor=lambda r: r[0][0],
                                                partition_extractor=lambda r: r[0][1],
                                                value_extractor=lambda r: r[1])
        return engine.aggregate(rows, params, extractors), accountant

    def release_local(self, pre: pa.Table) -> pa.Table:
        """The whole release on PipelineDP's LocalBackend (no Beam), from a merged pre-aggregate."""
        import pipeline_dp

        rows = self.pipeline_rows(pre)
        if not rows:  # PipelineDP refuses an empty collection; partitions chosen from no data are none
            return self.released_schema_of(pre).empty_table()
        col, accountant = self.release(rows, pipeline_dp.LocalBackend())
        accountant.compute_budgets()
        return self.to_table(list(col), self.released_schema_of(pre))

    def released_schema_of(self, pre: pa.Table) -> pa.Schema:
        keys = [pre.schema.field(c) for c in pre.column_names if c not in ("pid", "n")]
        return pa.schema([*keys, pa.field(COUNT, pa.int64())])

    def to_table(self, results: Iterable[tuple[tuple, Any]], schema: pa.Schema) -> pa.Table:
        """Released rows in ``schema`` (the released schema), sorted by partition key; noisy sums are
        rounded and negatives set to 0 (post-processing keeps the DP guarantee)."""
        keys = [c for c in schema.names if c != COUNT]
        rows = sorted(((k, max(0, round(m.sum))) for k, m in results), key=lambda r: _sort_key(r[0]))
        cols: dict[str, Any] = {}
        for i, c in enumerate(keys):
            values = pa.array([r[0][i] for r in rows], type=pa.int64() if c == PERIOD else None)
            cols[c] = values.cast(schema.field(c).type) if len(values) else pa.array([], schema.field(c).type)
        cols[COUNT] = pa.array([r[1] for r in rows], type=pa.int64())
        return pa.table(cols, schema=schema)


def rows_of(pre: pa.Table) -> Iterable[tuple[tuple[Any, tuple], int]]:
    """((pid, (period, keys...)), n) pairs of a pre-aggregate, one per (account, partition), keyed so that a
    runner can sum them per key across batches; the period is an int64 (the column's unit) so that keys are
    plain, deterministically coded values."""
    names = [c for c in pre.column_names if c not in ("pid", "n")]
    cols = [(pre.column(c).cast(pa.int64()) if c == PERIOD else pre.column(c)).to_pylist() for c in names]
    keys = zip(pre.column("pid").to_pylist(), zip(*cols, strict=True), strict=True)
    return zip(keys, pre.column("n").to_pylist(), strict=True)


def _sort_key(key: tuple) -> tuple:
    return tuple((v is None, v if v is not None else 0) for v in key)
