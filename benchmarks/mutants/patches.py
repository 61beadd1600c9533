"""Code-level mutants: monkeypatches of the built-in anonymizers and of the DP library they call.

A patch is applied at interpreter start-up by a generated ``sitecustomize.py`` (see
:mod:`benchmarks.mutants.apply`) in the subprocess that runs a mutant — never by editing the checked-out
files. Every patch replaces an attribute that must already exist (:func:`_replace` refuses otherwise), so a
refactor that renames the target makes the corpus test fail instead of leaving a silent no-op mutant.

The DP mutants patch PipelineDP and python-dp (``pydp``), the libraries ``dp.aggregate`` uses for noise,
contribution bounding, partition selection and budget accounting; any code that draws its noise through them
(the release, and a ``dp_measure`` built on them) is mutated alike.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

PUBLIC_KEY = b"benchmark-only-key-not-a-secret-0123456789"
"""The key printed in ``benchmarks/run.py``: a key anyone who reads the repository knows."""


class PatchError(RuntimeError):
    """A patch whose target does not exist (the code it mutates was renamed or removed)."""


def _replace(owner: Any, name: str, new: Any) -> Any:
    old = getattr(owner, name, None)
    if old is None:
        raise PatchError(f"{getattr(owner, '__name__', owner)!r} has no attribute {name!r} to mutate")
    setattr(owner, name, new)
    return old


# --- pseudonyms and keys --------------------------------------------------------------------------------
def hmac_plain_hash() -> None:
    from anonymizers import pseudonymize

    def tokens(subkey: bytes, values: list[str], length: int, prefix: str = "") -> list[str]:
        return [prefix + hashlib.sha256(v.encode()).hexdigest()[:length] for v in values]

    _replace(pseudonymize, "hmac_tokens", tokens)


def _derive_with(key_of: Callable[[bytes], bytes]) -> None:
    from anonymizers.secrets import Secret

    def derive(self: Any, purpose: str) -> bytes:
        return hmac.digest(key_of(self._key), b"anonbench/" + purpose.encode(), hashlib.sha256)

    _replace(Secret, "derive", derive)


def key_empty() -> None:
    _derive_with(lambda key: b"")


def key_reused() -> None:
    _derive_with(lambda key: PUBLIC_KEY)


def key_truncated() -> None:
    _derive_with(lambda key: key[:1])


def hmac_stdlib() -> None:
    """Harmless: HMAC-SHA256 through the standard library instead of the pre-hashed pads."""
    from anonymizers.pseudonymize import HmacSha256

    def init(self: Any, key: bytes) -> None:
        self._key = key

    def digests(self: Any, messages: list[bytes]) -> list[bytes]:
        return [hmac.digest(self._key, m, "sha256") for m in messages]

    _replace(HmacSha256, "__init__", init)
    _replace(HmacSha256, "digests", digests)


# --- generalization, suppression, k-anonymity -----------------------------------------------------------
def mondrian_k_minus_1() -> None:
    from anonymizers import mondrian

    original = mondrian.partition
    _replace(mondrian, "partition", lambda codes, k: original(codes, k - 1))


def ip_prefix_ignored() -> None:
    from anonymizers import ip_prefix

    original = ip_prefix.prefixes
    _replace(ip_prefix, "prefixes", lambda values, v4, v6, with_length=True: original(values, 32, 128, with_length))


def ip_prefix_slow_path() -> None:
    """Harmless: every address through :mod:`ipaddress` instead of the dotted-quad fast path."""
    from anonymizers import ip_prefix

    slow = ip_prefix._slow

    def prefixes(values: list[str], v4: int, v6: int, with_length: bool = True) -> list[str | None]:
        return [slow(v, v4, v6, with_length) for v in values]

    _replace(ip_prefix, "prefixes", prefixes)


def time_bucket_seconds() -> None:
    from anonymizers import time_bucket

    original = time_bucket.parse_every

    def parse_every(text: str) -> tuple[int, str]:
        n, _ = original(text)
        return n, "second"

    _replace(time_bucket, "parse_every", parse_every)


def suppress_rare_noop() -> None:
    from anonymizers.suppress_rare import SuppressRare

    _replace(SuppressRare, "apply", lambda self, batch, ctx: batch)


def drop_columns_noop() -> None:
    """``drop`` still removes whole tables (``*``) but passes single columns through."""
    from anonymizers.drop import Drop

    def whole(columns: list[str] | tuple[str, ...], names: list[str]) -> bool:
        return set(names) <= set(columns)

    def output_schema(self: Any, table: str, columns: list[str], schema: Any) -> Any:
        return None if whole(columns, list(schema.names)) else schema

    def apply(self: Any, batch: Any, ctx: Any) -> Any:
        return None if whole(ctx.columns, batch.column_names) else batch

    _replace(Drop, "output_schema", output_schema)
    _replace(Drop, "apply", apply)


def user_agent_passthrough() -> None:
    from anonymizers import user_agent

    _replace(user_agent, "generalize", lambda values, level, with_os: list(values))


def numeric_bins_digitize() -> None:
    """Harmless: bins found with ``np.digitize`` instead of ``np.searchsorted`` (the same index)."""
    import numpy as np

    from anonymizers import numeric_bins

    original = numeric_bins.bin_values

    def bin_values(x: Any, p: Any) -> tuple[Any, Any]:
        if p.width is not None:
            return original(x, p)
        edges = np.asarray(p.edges, dtype=float)
        i = np.clip(np.digitize(x, edges, right=False) - 1, 0, len(edges) - 1)
        return edges[i], np.append(edges[1:], np.inf)[i]

    _replace(numeric_bins, "bin_values", bin_values)


# --- perturbation and sampling (no chain of configs/ci.yaml uses them) ----------------------------------
def date_shift_constant() -> None:
    import numpy as np

    from anonymizers import date_shift

    _replace(date_shift, "offsets_days", lambda subkey, ids, max_days, keep_weekday: np.full(len(ids), 7, np.int64))


def jitter_zero() -> None:
    import numpy as np

    from anonymizers.time_jitter import TimeJitter

    class _Zero:
        def integers(self, low: int, high: int, size: int, endpoint: bool = True) -> Any:
            return np.zeros(size, dtype=np.int64)

    _replace(TimeJitter, "_stream", lambda self, ctx, column: _Zero())


def sampling_rate_1() -> None:
    import numpy as np

    from anonymizers import sample_persons

    _replace(sample_persons, "keep_mask", lambda subkey, ids, fraction: np.ones(len(ids), dtype=bool))


# --- differential privacy (PipelineDP / python-dp) -------------------------------------------------------
def _scaled_noise(factor: float) -> None:
    """Noise of every additive mechanism scaled by ``factor`` (the sensitivity it is calibrated to is
    scaled, so Laplace and Gaussian noise alike shrink while the declared epsilon stays)."""
    from pydp.algorithms import numerical_mechanisms as mech

    laplace, gaussian = mech.LaplaceMechanism, mech.GaussianMechanism

    class Laplace(laplace):  # type: ignore[misc, valid-type]
        def __init__(self, epsilon: float, sensitivity: float = 1.0) -> None:
            super().__init__(epsilon=epsilon, sensitivity=sensitivity * factor)

    class Gaussian(gaussian):  # type: ignore[misc, valid-type]
        def __init__(self, epsilon: float, delta: float, sensitivity: float = 1.0) -> None:
            super().__init__(epsilon=epsilon, delta=delta, sensitivity=sensitivity * factor)

        @staticmethod
        def create_from_standard_deviation(std: float) -> Any:
            return gaussian.create_from_standard_deviation(std * factor)

    _replace(mech, "LaplaceMechanism", Laplace)
    _replace(mech, "GaussianMechanism", Gaussian)


def dp_noise_half() -> None:
    _scaled_noise(0.5)


def dp_noise_tenth() -> None:
    _scaled_noise(0.1)


def dp_fixed_seed() -> None:
    """Laplace and Gaussian noise of the right scale, but from numpy with a fixed seed (Mironov 2012's warning,
    and the same noise in every run)."""
    import numpy as np
    from pydp.algorithms import numerical_mechanisms as mech

    rng = np.random.default_rng(0)
    laplace, gaussian = mech.LaplaceMechanism, mech.GaussianMechanism

    class Laplace(laplace):  # type: ignore[misc, valid-type]
        def add_noise(self, value: float) -> float:
            return float(value) + float(rng.laplace(0.0, self.diversity))

    class FixedGaussian:
        """python-dp's Gaussian mechanism (its parameters) with numpy's seeded noise."""

        def __init__(self, inner: Any) -> None:
            self._inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self._inner, name)

        def add_noise(self, value: float) -> float:
            return float(value) + float(rng.normal(0.0, self._inner.std))

    class Gaussian(FixedGaussian):
        def __init__(self, epsilon: float, delta: float, sensitivity: float = 1.0) -> None:
            super().__init__(gaussian(epsilon=epsilon, delta=delta, sensitivity=sensitivity))

        @staticmethod
        def create_from_standard_deviation(std: float) -> Any:
            return FixedGaussian(gaussian.create_from_standard_deviation(std))

    _replace(mech, "LaplaceMechanism", Laplace)
    _replace(mech, "GaussianMechanism", Gaussian)


def dp_partitions_from_raw_counts() -> None:
    """Partitions kept when at least two accounts contribute — a threshold on raw counts, no noise."""
    from pydp.algorithms import partition_selection

    class RawThreshold(partition_selection.PartitionSelectionStrategy):
        def should_keep(self, num_users: int) -> bool:
            return num_users >= 2

    _replace(partition_selection, "create_partition_strategy", lambda *a, **kw: RawThreshold())


def dp_budget_not_split() -> None:
    """Every mechanism (partition selection and the noisy sum) gets the whole epsilon and delta."""
    from pipeline_dp.budget_accounting import NaiveBudgetAccountant

    original = NaiveBudgetAccountant.compute_budgets

    def compute_budgets(self: Any) -> None:
        original(self)
        for m in self._mechanisms:
            m.mechanism_spec.set_eps_delta(self._total_epsilon,
                                           self._total_delta if m.mechanism_spec.use_delta() else 0)

    _replace(NaiveBudgetAccountant, "compute_budgets", compute_budgets)


class _NoBounding:
    """A contribution bounder that bounds nothing: every (account, partition) contributes all it has."""

    def bound_contributions(self, col: Any, params: Any, backend: Any, report_generator: Any,
                            aggregate_fn: Any) -> Any:
        col = backend.map_tuple(col, lambda pid, pk, v: ((pid, pk), v), "Rekey (mutant)")
        col = backend.group_by_key(col, "Group per (privacy_id, partition_key) (mutant)")
        return backend.map_values(col, aggregate_fn, "Aggregate without bounding (mutant)")


def dp_no_contribution_bounding() -> None:
    from pipeline_dp import combiners
    from pipeline_dp.dp_engine import DPEngine

    _replace(DPEngine, "_create_contribution_bounder", lambda self, params, expects: _NoBounding())
    _replace(combiners.SumCombiner, "create_accumulator", lambda self, values: float(sum(values)))


def dp_bounds_x10() -> None:
    """Contributions bounded at ten times the declared L0 and Linf; noise still calibrated to the declared
    bounds."""
    import dataclasses

    import numpy as np
    from pipeline_dp import combiners
    from pipeline_dp.dp_engine import DPEngine

    original = DPEngine._create_contribution_bounder

    def create(self: Any, params: Any, expects: bool) -> Any:
        bounder = original(self, params, expects)
        inner = bounder.bound_contributions

        def bound(col: Any, p: Any, *rest: Any) -> Any:
            loose = dataclasses.replace(p, max_partitions_contributed=p.max_partitions_contributed * 10,
                                        max_contributions_per_partition=p.max_contributions_per_partition * 10)
            return inner(col, loose, *rest)

        bounder.bound_contributions = bound
        return bounder

    def accumulate(self: Any, values: Any) -> float:
        return float(np.clip(values, self._min_bound * 10, self._max_bound * 10).sum())

    _replace(DPEngine, "_create_contribution_bounder", create)
    _replace(combiners.SumCombiner, "create_accumulator", accumulate)


PATCHES: dict[str, Callable[[], None]] = {f.__name__: f for f in (
    hmac_plain_hash, key_empty, key_reused, key_truncated, hmac_stdlib, mondrian_k_minus_1, ip_prefix_ignored,
    ip_prefix_slow_path, time_bucket_seconds, suppress_rare_noop, drop_columns_noop, user_agent_passthrough,
    numeric_bins_digitize, date_shift_constant, jitter_zero, sampling_rate_1, dp_noise_half, dp_noise_tenth,
    dp_fixed_seed, dp_partitions_from_raw_counts, dp_budget_not_split, dp_no_contribution_bounding,
    dp_bounds_x10)}


def apply(name: str) -> None:
    """Apply the patch ``name`` (called by the generated ``sitecustomize``)."""
    try:
        patch = PATCHES[name]
    except KeyError:
        raise PatchError(f"no patch named {name!r} (patches: {', '.join(sorted(PATCHES))})") from None
    patch()
