"""Run a suite of expectations on one shard with Great Expectations 1.x, keeping only counts.

One :class:`GxValidator` holds one ephemeral GX context (nothing on disk, no analytics) and is meant to be
built once per worker (Beam ``DoFn.setup``), then reused for every shard. Results use the ``SUMMARY`` format
with ``partial_unexpected_count: 0`` and are immediately reduced to :class:`~expectations.results.Outcome`
rows: success, counts and numeric observations — never a value of the data.
"""

from __future__ import annotations

import logging
import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import great_expectations as gx
import great_expectations.execution_engine.pandas_execution_engine as _gx_pandas
import numpy as np
import pandas as pd
import pyarrow as pa
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.expectations.registry import get_expectation_impl
from great_expectations.validator.v1_validator import Validator

import expectations.custom  # noqa: F401  (registers the custom expectations with GX)
from expectations.results import Outcome, columns_of, kwargs_json

RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 0,
                                 "include_unexpected_rows": False, "return_unexpected_index_query": False}


# Many-column expectations evaluated in one pass for speed, reported per column under their column form.
PER_COLUMN = {"expect_table_values_to_not_be_email_addresses": "expect_column_values_to_not_be_email_addresses"}


@dataclass(frozen=True)
class ExpectationSpec:
    """An expectation as data: its GX type name (``expect_column_values_to_not_be_null``) and kwargs.

    Plain data, so a suite can be planned on the driver and shipped to workers; turned into a GX
    Expectation by :meth:`build`.
    """

    type: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def build(self, index: int) -> Any:
        cls = get_expectation_impl(self.type)
        return cls(**dict(self.kwargs), meta={"anonbench_index": index})

    @property
    def columns(self) -> str:
        return columns_of(self.kwargs)

    @property
    def kwargs_json(self) -> str:
        return kwargs_json(self.kwargs)

    @property
    def mostly(self) -> float:
        return float(self.kwargs.get("mostly", 1.0))


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """A pandas frame GX can check: dictionary columns decoded, strings Arrow-backed (pandas ≥ 3), one chunk
    per column — GX filters the whole frame once per map expectation, and a take on a chunked Arrow column
    copies it (70× slower on a 250k-row shard read in two row groups)."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names).combine_chunks().to_pandas()


def _error_type(info: Mapping[str, Any] | None) -> str | None:
    """The exception's type name only (its message could quote a data value). GX gives either one
    ``{raised_exception, exception_traceback, ...}`` dict or one such dict per failed metric."""
    if not info:
        return None
    infos = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, Mapping)]
    for i in infos:
        if i.get("raised_exception"):
            last = (i.get("exception_traceback") or "").strip().splitlines()[-1:] or [""]
            name = last[0].split(":", 1)[0].strip().rsplit(".", 1)[-1]
            return name if name.isidentifier() else "Exception"
    return None


def _number(value: Any) -> float | None:
    """Numeric observations only (a row count, a smallest class); never text, dates or lists."""
    if value is None or isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    return None


class GxValidator:
    """Validates pandas frames against suites with one ephemeral GX context (build once per worker)."""

    def __init__(self) -> None:
        # GX fingerprints every pandas batch by hashing all its cells (half the validation time of a
        # 250k-row shard); a shard is identified by its path here, so the fingerprint is switched off.
        _gx_pandas.HASH_THRESHOLD = 0
        _quiet_gx_loggers()
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("anonbench").add_dataframe_asset("shard")
        self._batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        self._suites: dict[str, tuple[Any, list[int]]] = {}

    def _suite(self, name: str | None, specs: Sequence[ExpectationSpec]) -> tuple[Any, list[int]]:
        key = f"{name}|{hash(tuple((s.type, s.kwargs_json) for s in specs))}" if name else None
        cached = self._suites.get(key) if key else None
        if cached is None:
            cached = build_suite(name or "adhoc", specs)
            if key:
                self._suites[key] = cached
        return cached

    def validate(self, frame: pd.DataFrame | pa.Table, specs: Sequence[ExpectationSpec], table: str,
                 suite_name: str | None = None) -> list[Outcome]:
        """Validate one frame; one :class:`Outcome` per spec, in the order of ``specs`` — except that a
        many-column expectation of ``PER_COLUMN`` gives one outcome per column, as its column form would.

        ``suite_name`` caches the built GX suite (per name and specs); seconds are the suite's wall time
        apportioned evenly (GX evaluates a suite as one metric graph).
        """
        if not specs:
            return []
        df = arrow_to_pandas(frame) if isinstance(frame, pa.Table) else frame
        suite, canonical = self._suite(suite_name, specs)
        t0 = time.perf_counter()
        validator = Validator(batch_definition=self._batch_definition, batch_parameters={"dataframe": df},
                              result_format=RESULT_FORMAT)
        suite_result = validator.validate_expectation_suite(suite)
        share = (time.perf_counter() - t0) / len(specs)
        by_index = {int(_meta(r)["anonbench_index"]): r for r in suite_result.results}
        out: list[Outcome] = []
        for i, spec in enumerate(specs):
            r = by_index[canonical[i]]
            res = r.result or {}
            if spec.type in PER_COLUMN and _error_type(r.exception_info) is None \
                    and isinstance(res.get("details"), Mapping):
                out += _per_column(spec, table, res["details"], share)
                continue
            observed = _number(res.get("observed_value"))
            out.append(Outcome(
                table=table, expectation=spec.type, columns=spec.columns, kwargs=spec.kwargs_json,
                success=bool(r.success), unexpected_count=_int(res.get("unexpected_count")),
                element_count=_int(res.get("element_count", len(df))),
                missing_count=_int(res.get("missing_count")), observed=observed,
                error=_error_type(r.exception_info), seconds=share, mostly=spec.mostly))
        return out


def build_suite(name: str, specs: Sequence[ExpectationSpec]) -> tuple[Any, list[int]]:
    """A GX suite of ``specs`` and, per spec, the index of the expectation that answers it (GX keeps one
    of several equal expectations)."""
    suite = gx.ExpectationSuite(name=name)
    canonical = []
    for i, spec in enumerate(specs):
        expectation = spec.build(i)
        before = len(suite.expectations)
        suite.add_expectation(expectation)
        if len(suite.expectations) > before:
            canonical.append(i)
        else:  # an equal expectation is already there: it answers for this one too
            same = next(e for e in suite.expectations
                        if gx.ExpectationSuite._expectations_are_equalish(expectation, e))
            canonical.append(int((same.meta or {})["anonbench_index"]))
    return suite, canonical


def _per_column(spec: ExpectationSpec, table: str, details: Mapping[str, Any], seconds: float) -> list[Outcome]:
    """One outcome per column of a ``PER_COLUMN`` expectation, from its per-column counts."""
    cols = list(spec.kwargs["column_list"])
    hits, missing = details.get("unexpected_by_column", {}), details.get("missing_by_column", {})
    absent = set(details.get("absent_columns", ()))
    return [Outcome(table=table, expectation=PER_COLUMN[spec.type], columns=c, kwargs=kwargs_json({"column": c}),
                    success=c not in absent and int(hits.get(c, 0)) == 0,
                    unexpected_count=None if c in absent else int(hits.get(c, 0)),
                    element_count=None if c in absent else int(details.get("rows", 0)),
                    missing_count=None if c in absent else int(missing.get(c, 0)),
                    error="MissingColumn" if c in absent else None, seconds=seconds / len(cols))
            for c in cols]


def _quiet_gx_loggers() -> None:
    """No INFO chatter on stderr: GX sets INFO levels on some of its own loggers."""
    names = ["great_expectations", *(n for n in logging.root.manager.loggerDict if n.startswith("great_expectations"))]
    for name in names:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)


def _meta(result: Any) -> dict[str, Any]:
    config = result.expectation_config
    return dict(config.meta or {}) if config is not None else {}


def _int(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)
