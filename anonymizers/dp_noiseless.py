"""The noise-off hook of PipelineDP aggregations (``dp_measure(..., noise=False)``), for ``dp_audit``.

PipelineDP has no switch for its noise, so this module runs the *same* PipelineDP graph (``DPEngine._aggregate``:
the same extractors, the same contribution bounders, the same combiners' accumulators, the same budget requests)
with exactly three substitutions, each at the point where randomness enters:

1. **Noise** — a combiner's ``compute_metrics`` returns its exact (contribution-bounded) accumulator instead of
   adding Laplace or Gaussian noise (:class:`ExactCompoundCombiner`).
2. **Partition selection** — a partition is kept iff the strategy's *probability of keeping it* is at least 1/2
   (python-dp's ``probability_of_keep(n)``): the median of the randomized decision, i.e. for a thresholding
   strategy "the unit count reaches the threshold". A partition held by one unit has probability about delta,
   so it is never kept.
3. **Sampling in contribution bounding** — PipelineDP's bounders keep at most ``max_partitions_contributed``
   partitions per unit (and ``max_contributions_per_partition`` contributions per partition) by sampling with
   numpy's global generator. With the noise off the same bounders sample *deterministically* (a keyed hash of
   unit and element, :class:`CoupledLocalBackend`), so two neighbouring datasets bound their common units
   alike: a sensitivity test needs that coupling, and a unit's kept partitions still depend on that unit alone.

Everything else — who counts as a unit, clamping, which bounder runs, how the budget is split — is untouched,
so a change that drops or loosens contribution bounding is as visible with the noise off as with it on.
Only ``LocalBackend`` (in-process) is supported. PipelineDP is imported here, never by ``anonymizers/__init__``.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pipeline_dp
from pipeline_dp import combiners as pdp_combiners
from pipeline_dp import dp_engine as pdp_engine


def _rank(key: Any, value: Any) -> bytes:
    item = value[0] if isinstance(value, tuple) and value else value
    return hashlib.blake2b(repr((key, item)).encode(), digest_size=8).digest()


class CoupledLocalBackend(pipeline_dp.LocalBackend):
    """``LocalBackend`` whose per-key sampling is a deterministic choice (smallest keyed hashes) instead of
    ``np.random.choice``; used only with the noise off."""

    def sample_fixed_per_key(self, col: Any, n: int, stage_name: str | None = None) -> Any:
        def generator() -> Any:
            for key, values in self.group_by_key(col):
                values = list(values)
                if len(values) > n:
                    order = sorted(range(len(values)), key=lambda i: _rank(key, values[i]))
                    values = [values[i] for i in sorted(order[:n])]
                yield key, values

        return pipeline_dp.pipeline_backend.ReiterableLazyIterable(generator())


_EXACT = {pdp_combiners.SumCombiner: "sum", pdp_combiners.CountCombiner: "count",
          pdp_combiners.PrivacyIdCountCombiner: "privacy_id_count"}


class ExactCompoundCombiner(pdp_combiners.CompoundCombiner):
    """A compound of SUM / COUNT / PRIVACY_ID_COUNT combiners whose metrics are the exact accumulators."""

    def compute_metrics(self, compound_accumulator: Any) -> Any:
        _, accumulators = compound_accumulator
        metrics: dict[str, float] = {}
        for combiner, acc in zip(self._combiners, accumulators, strict=True):
            name = _EXACT.get(type(combiner))
            if name is None:
                raise NotImplementedError(f"noise-off hook: no exact value for {type(combiner).__name__}")
            metrics[name] = float(acc)
        return pdp_combiners._create_named_tuple_instance("MetricsTuple", tuple(metrics), tuple(metrics.values()))


class NoiselessEngine(pdp_engine.DPEngine):
    """``DPEngine`` with the noise off: exact metrics and the median partition-selection rule."""

    def _create_compound_combiner(self, params: Any) -> Any:
        compound = pdp_combiners.create_compound_combiner(params, self._budget_accountant)
        return ExactCompoundCombiner(compound._combiners, return_named_tuple=True)

    def _select_private_partitions_internal(self, col: Any, max_partitions_contributed: int,
                                            max_rows_per_privacy_id: int, strategy: Any,
                                            pre_threshold: int | None) -> Any:
        budget = self._budget_accountant.request_budget(strategy.mechanism_type, name="PartitionSelection")
        selectors: list[Any] = []

        def keep(row: Any) -> bool:
            if not selectors:   # the budget is known only once compute_budgets() has run
                selectors.append(pdp_engine._create_partition_selector(
                    strategy, budget, max_partitions_contributed, pre_threshold))
            row_count, _ = row[1]
            units = math.ceil(row_count / max_rows_per_privacy_id)
            return bool(selectors[0].probability_of_keep(units) >= 0.5)

        self._add_report_stage("Partition selection with the noise off: keep iff P(keep) >= 1/2")
        return self._backend.filter(col, keep, "Filter partitions (noise off)")
