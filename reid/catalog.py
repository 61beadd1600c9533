"""The catalog of every check: its metrics, what each metric means to the gate, and the params of its rows.

One place that the thresholds parser (unknown check, metric or ``where:`` parameter is an error), the gate
(which figures are risks, which are utility, in which direction "worse" lies) and the report read. A check
module adds a metric here with one line::

    "reidentified_share": risk(proportion=True),

Kinds, for the gate:

* ``risk``: a re-identification figure; ``higher`` (the default) means more risk, ``lower`` means less
  (``k``, ``l_distinct``);
* ``utility``: what the release keeps; ``higher`` means better (a correlation, a retained share) or
  ``lower`` means better (an error, a distance);
* ``info``: context (baselines, control rates, counts of targets) — shown, never gated on regressions.

Params: ``key`` params tell rows of one metric apart (``p`` for unicity, ``qi_set``…, and ``knowledge``, the
attacker's knowledge set of the event-trace attacks, e.g. ``1h:action``): they identify a cell when a run is
compared with a baseline. ``info`` params describe a row (seeds, row counts) and may be used in a
threshold's ``where:`` too. ``COMMON_PARAMS`` may appear on any row (``applicable``/``reason`` of a check
that cannot apply, ``error`` of a check that raised, ``measured: false`` or ``ran_short: true`` of one that
ran short: its figure understates and the gate reads it as not measured).

Directions of the ``utility`` metrics are declared by ``reid.utility`` (``DIRECTION``: metric -> a declaration
with ``higher_is_better``); the names listed here are the defaults for the metrics known today.

``dp_audit``'s ``epsilon_lower_bound`` and ``passed`` come from randomized trials: they are gated by their own
thresholds, not compared with a baseline (``info``); ``sensitivity_ok`` runs with the noise off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reid.params import FIELD_OF_COLUMN

Kind = Literal["risk", "utility", "info"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric of a check. ``direction``: for a risk, the direction of *more risk*; for utility, the
    direction of *better*. ``proportion``: the value is ``successes / n`` (a score test applies)."""

    kind: Kind
    direction: Direction = "higher"
    proportion: bool = False
    margin: float | None = None  # materiality margin for regressions (None: the thresholds' default)

    def worse(self, old: float, new: float) -> float:
        """How much worse ``new`` is than ``old`` (positive = worse), in the metric's own units."""
        up = new - old
        if self.kind == "risk":
            return up if self.direction == "higher" else -up
        return -up if self.direction == "higher" else up


def risk(direction: Direction = "higher", *, proportion: bool = False, margin: float | None = None) -> MetricSpec:
    return MetricSpec("risk", direction, proportion, margin)


def utility(better: Direction, *, proportion: bool = False, margin: float | None = None) -> MetricSpec:
    return MetricSpec("utility", better, proportion, margin)


def info(*, proportion: bool = False) -> MetricSpec:
    return MetricSpec("info", "higher", proportion)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    metrics: Mapping[str, MetricSpec]
    key_params: tuple[str, ...] = ()
    info_params: tuple[str, ...] = ()
    table_mode: bool = False  # also run by ``anonbench evaluate`` on any table
    event_mode: bool = True   # run by ``anonbench attack`` on a run directory
    description: str = ""

    @property
    def params(self) -> tuple[str, ...]:
        return (*self.key_params, *self.info_params, *COMMON_PARAMS)

    def metric(self, name: str) -> MetricSpec | None:
        return self.metrics.get(name)


COMMON_PARAMS = ("applicable", "reason", "error", "measured", "ran_short", "truth_alignment", "as_text", "seed",
                 "what", "synthetic", "reading", "population_se")
"""Params any check may write; ``population_se``: how much the figure moves with the population (unicity's
bootstrap, :mod:`reid.unicity_bootstrap`), which ``check --baseline`` adds on other populations."""
ANONYMETER_PARAMS = ("control", "rows_control", "rows_original", "rows_released", "control_correction",
                     "correction_factor")


def _anonymeter() -> dict[str, MetricSpec]:
    """anonymeter's reading: ``risk`` nets the attack's success out against the control population; the raw
    ``attack_rate`` also counts what the data teaches about anyone (it moves with the population itself
    between datasets), so it is context, like the control and baseline rates."""
    return {"risk": risk(), "attack_rate": info(proportion=True), "control_rate": info(proportion=True),
            "baseline_rate": info(proportion=True)}


# Utility metrics known today; ``reid.utility.DIRECTIONS`` (when present) adds to and overrides these.
UTILITY_DEFAULTS: dict[str, Direction] = {
    "retained_rows": "higher",
    "events_per_day_product_rel_error": "lower",
    "action_tv_distance": "lower",
    "hourly_profile_correlation": "higher",
    "session_length_ks": "lower",
    "entropy_retained": "higher",
    "workload_1way_error": "lower",
    "workload_2way_error": "lower",
    "workload_3way_error": "lower",
    "weekly_product_counts_rel_error": "lower",
    "events_per_account_ks": "lower",
}


def _utility_directions() -> dict[str, Direction]:
    """The defaults, then what ``reid.utility`` declares: ``DIRECTION`` (metric -> a declaration with
    ``higher_is_better``) or ``DIRECTIONS`` (metric -> "higher" | "lower")."""
    from reid import utility as utility_module

    out = dict(UTILITY_DEFAULTS)
    for attr in ("DIRECTION", "DIRECTIONS"):
        for name, d in dict(getattr(utility_module, attr, None) or {}).items():
            higher = getattr(d, "higher_is_better", None)
            if higher is None:
                higher = str(d).lower() not in ("lower", "down", "min", "lower_is_better")
            out[str(name)] = "higher" if higher else "lower"
    return out


def _build() -> dict[str, CheckSpec]:
    specs = [
        CheckSpec("leak_scan", {"leaked_values": risk(margin=0.0), "leaked_values_in_column": risk(margin=0.0)},
                  ("table", "column"), ("tables", "embedded", "identifier_columns"),
                  description="raw identifiers found in the release (a count)"),
        CheckSpec("dictionary", {"reversed_share": risk(proportion=True)}, ("table", "column", "attack"),
                  ("domain", "algorithms", "candidates", "ipv4_prefix", "max_prefixes", "keys_tried", "keys_hit"),
                  description="pseudonyms reversed by a dictionary of candidate values"),
        CheckSpec("unicity", {"unique_share": risk(proportion=True), "reidentified_share": risk(proportion=True),
                              "baseline": info(), "control_unique_share": info(proportion=True)},
                  ("p", "knowledge", "reading"),
                  ("actor_column", "match_resolution", "point_columns", "time_bucket", "n_control", "left_out"),
                  description="de Montjoye et al., Sci. Rep. 2013"),
        CheckSpec("profile_linkage", {"top1_accuracy": risk(proportion=True),
                                      "top10_accuracy": risk(proportion=True), "baseline": info(),
                                      "baseline_top10": info(), "targets_present": info(proportion=True),
                                      "top1_copy_share": risk(proportion=True),
                                      "top10_copy_share": risk(proportion=True)},
                  ("knowledge", "reading"), ("actor_column", "blocks", "min_events", "resolution", "split",
                                              "near_copy", "n_control", "left_out"),
                  description="Tournier & de Montjoye, Sci. Adv. 2022"),
        CheckSpec("quasi_identifiers", {
            "k": risk("lower", margin=0.0), "equivalence_classes": info(),
            "unique_share": risk(proportion=True), "prosecutor_risk_max": risk(),
            "prosecutor_risk_avg": risk(proportion=True), "class_risk_avg": risk(),
            "l_distinct": risk("lower", margin=0.0), "l_entropy": risk("lower"), "t_closeness": risk()},
            ("qi_set", "table", "sensitive"), ("quasi_identifiers", "distance"), table_mode=True,
            description="k-anonymity, l-diversity, t-closeness as in ARX and pycanon"),
        CheckSpec("singling_out", _anonymeter(), ("mode", "n_cols"),
                  (*ANONYMETER_PARAMS, "queries", "attempts", "queries_built", "queries_requested"),
                  table_mode=True,
                  description="anonymeter (Giomi et al., PoPETs 2023)"),
        CheckSpec("linkability", _anonymeter(), ("n_neighbors",), (*ANONYMETER_PARAMS, "aux_a", "aux_b"),
                  table_mode=True, description="anonymeter (Giomi et al., PoPETs 2023)"),
        CheckSpec("inference", _anonymeter(), ("secret",), (*ANONYMETER_PARAMS, "aux", "regression"),
                  table_mode=True, description="anonymeter (Giomi et al., PoPETs 2023)"),
        CheckSpec("cross_tenant", {"linked_share": risk(proportion=True),
                                   "linked_share_identifier": risk(proportion=True),
                                   "linked_share_behaviour": risk(proportion=True), "baseline": info()},
                  (), ("behaviour", "link_columns", "max_group", "targets", "sampled"),
                  description="persons linked across the orgs they hold accounts in"),
        CheckSpec("utility", {name: utility(d) for name, d in _utility_directions().items()},
                  ("column", "period", "table", "way"), ("source", "answered", "unanswered", "attributes"),
                  description="raw vs released distributions"),
        CheckSpec("membership", {**_anonymeter(), "advantage": risk(), "advantage_over_cap": risk()},
                  ("mode",), (*ANONYMETER_PARAMS, "flag_share", "synthetic", "epsilon", "delta", "cap",
                              "cap_reason", "risk_cap", "n_control", "resolution", "blocks", "activity", "columns",
                              "distance_cutoff", "exact_copies_targets", "exact_copies_controls"),
                  description="membership inference, member vs control traces (Yeom et al., CSF 2018)"),
        CheckSpec("dp_audit", {"sensitivity_ok": risk("lower", margin=0.0), "epsilon_lower_bound": info(),
                               "passed": info(), "epsilon_claimed": risk(margin=0.0),
                               "budget_ok": risk("lower", margin=0.0), "fresh_noise_ok": risk("lower", margin=0.0)},
                  ("step", "mode", "measurement"),
                  ("claimed_epsilon", "claimed_delta", "unit", "units_in_D", "confidence", "l1_sensitivity",
                   "max_l1_ratio", "max_l0_excess", "exclusive_released", "problems", "cells_released_D",
                   "screening_runs", "event", "event_likelier_under", "hits_other_side", "moved_cells",
                   "hits_shifted", "seconds_step", "split", "measurement_epsilons", "noise_repeated",
                   "mean_abs_noise_per_l1", "declared_scale_per_l1"),
                  description="a DP step audited against its own promise"),
        CheckSpec("passthrough", {"exact_share": risk(proportion=True), "shared_offset": risk(proportion=True)},
                  ("table", "column"), ("alignment", "unit"),
                  description="quasi-identifying values released at raw precision; shared time offsets"),
        CheckSpec("validation", {"failed_expectations": risk(margin=0.0)}, (), (), event_mode=False,
                  description="the chain's privacy contract (Great Expectations)"),
    ]
    return {s.name: s for s in specs}


CATALOG: Mapping[str, CheckSpec] = _build()
"""check name -> spec; ``validation`` is the gate's pseudo-check over ``validation/``."""

ATTACK_CHECKS: tuple[str, ...] = tuple(n for n, s in CATALOG.items() if s.event_mode)
TABLE_CHECKS: tuple[str, ...] = tuple(n for n, s in CATALOG.items() if s.table_mode)


@dataclass(frozen=True)
class Lookup:
    """Where a name failed in the catalog, with the valid names (for a one-line error)."""

    what: str
    valid: tuple[str, ...] = field(default_factory=tuple)


def check_spec(check: str) -> CheckSpec | None:
    return CATALOG.get(check)


def metric_spec(check: str, metric: str) -> MetricSpec | None:
    spec = CATALOG.get(check)
    return spec.metric(metric) if spec else None


SYNTHETIC_ATTACK_RATES = frozenset({("unicity", "unique_share"), ("profile_linkage", "top1_copy_share"),
                                    ("profile_linkage", "top10_copy_share")})
"""On a synthetic release (``params.synthetic``) these are raw attack rates: the share of targets a synthetic
trace singles out or nearly copies, chance included, beside the same share for control persons
(``control_unique_share``, ``baseline``); the risk is the excess over chance (``reidentified_share``,
``top1_accuracy``, ``top10_accuracy``; :mod:`reid.synthetic`)."""


def regression_spec(check: str, metric: str, params: Mapping[str, Any]) -> MetricSpec | None:
    """How ``check --baseline`` compares a figure: :func:`metric_spec`, except that on a synthetic release a raw
    attack rate (``SYNTHETIC_ATTACK_RATES``) is context, as anonymeter's ``attack_rate`` is (``_anonymeter``): it
    moves with the population itself (measured: dp-synthetic's ``unique_share`` at 8 known days 18/497 on one
    seed, 106/485 on another, with its control share alike), while its excess over the control persons, the
    risk, is compared."""
    spec = metric_spec(check, metric)
    if spec is not None and params.get("synthetic") is True and (check, metric) in SYNTHETIC_ATTACK_RATES:
        return info(proportion=spec.proportion)
    return spec


def unknown(check: str, metric: str | None = None, params: tuple[str, ...] = ()) -> Lookup | None:
    """None when ``check`` (and ``metric``, ``params``) are known; else what is wrong and the valid names.
    ``metric`` may be ``*`` (every metric of the check)."""
    spec = CATALOG.get(check)
    if spec is None:
        return Lookup("check", tuple(CATALOG))
    if metric is not None and metric != "*" and metric not in spec.metrics:
        return Lookup("metric", tuple(spec.metrics))
    for p in params:
        if p not in spec.params:
            return Lookup("param", spec.params)
    return None


def legacy_knowledge(check: str, params: Mapping[str, object]) -> str | None:
    """The knowledge set of a unicity or profile-linkage row written before rows named theirs: unicity's
    ``time_bucket`` and ``point_columns`` (the default was 1 h and the action), profile linkage's action mix."""
    if check not in ("unicity", "profile_linkage") or "knowledge" in params:
        return None
    if check == "profile_linkage":
        return "1h:action"
    columns = params.get("point_columns") or ["action"]
    fields = [FIELD_OF_COLUMN.get(str(c), str(c)) for c in columns] if isinstance(columns, list) else [str(columns)]
    return f"{params.get('time_bucket') or '1h'}:{'+'.join(fields)}"


def key_of(check: str, params: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """The params that identify a cell of ``check`` (sorted, as text): what a baseline comparison matches on.
    A row from before knowledge sets gets the set it was measured with (:func:`legacy_knowledge`)."""
    spec = CATALOG.get(check)
    names = spec.key_params if spec else tuple(params)
    legacy = legacy_knowledge(check, params)
    if legacy is not None:
        params = {**params, "knowledge": legacy}
    return tuple(sorted((k, str(params[k])) for k in names if k in params))
