"""Broken variants of ``dp.aggregate`` for the ``dp_audit`` tests: subclasses only, never an edit of the sources.

Each keeps the declared budget and sensitivities of the real step and breaks one promise:

* ``NoBounding`` — every (account, partition) is split into pieces of at most Linf events under fresh privacy
  ids, so PipelineDP bounds nothing (no L0, no Linf) while its noise stays calibrated to the declared bounds;
* ``NoiseTenth`` / ``NoiseHalf`` — the SUM's noise multiplied by 0.1 / 0.5;
* ``RawCountSelection`` — partitions kept by their raw event count instead of their number of accounts;
* ``FixedSeed`` — Laplace noise from a numpy generator seeded with 0 in every release;
* ``NumpyLaplace`` — Laplace noise from numpy's (unseeded) textbook sampler (Mironov 2012).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pipeline_dp
import pyarrow as pa
from pipeline_dp import combiners as pdp_combiners
from pipeline_dp import dp_engine as pdp_engine

from anonymizers.dp_aggregate import DpAggregate, rows_of
from anonymizers.dp_noiseless import NoiselessEngine


class NoBounding(DpAggregate):
    def pipeline_rows(self, pre: pa.Table) -> list[tuple[tuple[Any, tuple], float]]:
        cap = self.params.max_contributions_per_partition
        out: list[tuple[tuple[Any, tuple], float]] = []
        for (pid, pk), n in rows_of(pre):
            for j in range(math.ceil(n / cap)):
                out.append(((f"{pid}#{pk}#{j}", pk), float(min(cap, n - j * cap))))
        return out


class _NoisyCompound(pdp_combiners.CompoundCombiner):
    """The SUM replaced by ``exact + noise(exact, noisy, scale)``."""

    def __init__(self, combiners: Any, noise: Any, l1: float) -> None:
        super().__init__(combiners, return_named_tuple=True)
        self._noise, self._l1 = noise, l1

    def compute_metrics(self, compound_accumulator: Any) -> Any:
        exact = float(compound_accumulator[1][0])
        noisy = super().compute_metrics(compound_accumulator).sum
        eps = self._combiners[0].mechanism_spec().eps
        value = self._noise(exact, noisy, self._l1 / eps)
        return pdp_combiners._create_named_tuple_instance("MetricsTuple", ("sum",), (value,))


def _engine_with(noise: Any, l1: float) -> type:
    class Engine(pipeline_dp.DPEngine):
        def _create_compound_combiner(self, params: Any) -> Any:
            compound = pdp_combiners.create_compound_combiner(params, self._budget_accountant)
            return _NoisyCompound(compound._combiners, noise, l1)
    return Engine


class _NoiseMutant(DpAggregate):
    def noise_fn(self) -> Any:
        raise NotImplementedError

    def engine(self, accountant: Any, backend: Any, *, noise: bool = True) -> Any:
        if not noise:
            return super().engine(accountant, backend, noise=False)
        l1 = float(self.params.max_partitions_contributed * self.params.max_contributions_per_partition)
        return _engine_with(self.noise_fn(), l1)(accountant, backend)


class NoiseTenth(_NoiseMutant):
    def noise_fn(self) -> Any:
        return lambda exact, noisy, scale: exact + 0.1 * (noisy - exact)


class NoiseHalf(_NoiseMutant):
    def noise_fn(self) -> Any:
        return lambda exact, noisy, scale: exact + 0.5 * (noisy - exact)


class FixedSeed(_NoiseMutant):
    def noise_fn(self) -> Any:
        rng = np.random.default_rng(0)
        return lambda exact, noisy, scale: exact + rng.laplace(0.0, scale)


class NumpyLaplace(_NoiseMutant):
    def noise_fn(self) -> Any:
        rng = np.random.default_rng()
        return lambda exact, noisy, scale: exact + rng.laplace(0.0, scale)


def _raw_selection(base: type, raw: dict, noise: bool) -> type:
    class Engine(base):  # type: ignore[misc,valid-type]
        def _select_private_partitions_internal(self, col: Any, max_partitions: int, max_rows: int,
                                                strategy: Any, pre_threshold: Any) -> Any:
            budget = self._budget_accountant.request_budget(strategy.mechanism_type, name="PartitionSelection")

            def keep(row: Any) -> bool:
                sel = pdp_engine._create_partition_selector(strategy, budget, max_partitions, pre_threshold)
                n = raw.get(row[0], 0)
                return bool(sel.should_keep(n)) if noise else bool(sel.probability_of_keep(n) >= 0.5)
            return self._backend.filter(col, keep, "raw-count selection")
    return Engine


class RawCountSelection(DpAggregate):
    def pipeline_rows(self, pre: pa.Table) -> list[tuple[tuple[Any, tuple], float]]:
        rows = super().pipeline_rows(pre)
        self._raw: dict = {}
        for (_, pk), n in rows:
            self._raw[pk] = self._raw.get(pk, 0) + n
        return rows

    def engine(self, accountant: Any, backend: Any, *, noise: bool = True) -> Any:
        base = pipeline_dp.DPEngine if noise else NoiselessEngine
        return _raw_selection(base, self._raw, noise)(accountant, backend)
