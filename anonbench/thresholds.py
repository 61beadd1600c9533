"""Thresholds that turn risk figures into a verdict, each with the source a user can cite to defend it.

A threshold bounds one metric of one check (``check.metric``, see DESIGN.md): ``max`` (the figure must be at
most the bound) or ``min`` (at least). ``where`` restricts it to rows whose ``params`` match (e.g. ``{p: 4}``
for unicity), ``on`` picks the figure compared (``value`` by default; ``ci_high`` for a cautious gate).

Knowledge sets: unicity and profile linkage report one row per attacker knowledge set (``params.knowledge``,
e.g. ``1h:action``, ``1s:action``; ``attacks.knowledge`` in the run config). A threshold without
``where: {knowledge: ...}`` gates *every* set — the defaults below do, so the finest knowledge the config
lists decides; ``where: {knowledge: 1h:action}`` gates that one set only, and a set the attacks did not use
fails the gate as not measured (a misspelt label never gates nothing silently).

Chains have a role. A *candidate* passes when no figure breaches. A *control* (``none``, ``naive-hash``) is
there to prove the harness has teeth: it passes only when it is *caught*, i.e. for every check its rule names,
at least one figure of that check breaches. A control whose catching check did not run is not caught.

A thresholds document (a ``--thresholds`` file or the run config's ``thresholds:`` section) looks like::

    quasi_identifiers.k: {min: 11, source: "max risk 1/11 ~ 0.09, EMA Policy 0070"}
    unicity.reidentified_share: 0.05          # a bare number means {max: 0.05}; every knowledge set
    profile_linkage.top1_accuracy: {max: 0.09, where: {knowledge: "1h:action"}}   # one knowledge set
    utility.*: {max: 0.2}                     # every metric of a check
    profile_linkage.top1_accuracy: null       # switch a default off (also: off)
    cross_tenant: off                         # switch a whole check off: not run is then not a failure
    regression: {alpha: 0.01, margin: 0.02, margins: {utility.*: 0.05}}   # `check --baseline`
    controls:
      none: {caught_by: [leak_scan, unicity]}
    known_weak:
      pseudonymize: "pseudonyms only; behaviour still singles people out"

A candidate listed under ``known_weak`` is a baseline known not to meet the risk thresholds: its breaches are
reported as accepted, but its *hard* promises still gate (``HARD_CHECKS``: no leaked identifier, no reversed
pseudonym, its privacy contract holds). ``publish`` still refuses it. A candidate listed under ``controls`` is
judged as a control.

Every name is checked against the catalog (``reid.catalog``): an unknown check, metric or ``where:`` parameter,
and a chain under ``known_weak``/``controls`` that is not one of the run's (or the config's) chains, is a usage
error (exit 2) naming the key, the file and the valid names — a misspelled key never leaves a default in force
silently. A candidate's check that did not run, raised or gave NaN fails the gate as *not measured* unless it
is switched off here (``check: off`` for the whole check, ``check.metric: null``/``off`` for one metric).
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonbench.errors import UsageError
from anonbench.yamlfile import load_yaml
from reid import catalog

Op = Literal["max", "min"]
On = Literal["value", "ci_low", "ci_high"]

EMA = ("EMA Policy 0070 external guidance (2018) and Health Canada, Public Release of Clinical Information "
       "guidance (2019): re-identification probability at most 0.09 for public release")


@dataclass(frozen=True)
class Threshold:
    """A bound on one metric: ``value <= bound`` (max) or ``value >= bound`` (min)."""

    check: str
    metric: str
    op: Op
    bound: float
    source: str = ""
    where: Mapping[str, Any] = field(default_factory=dict)
    on: On = "value"

    @property
    def key(self) -> str:
        return f"{self.check}.{self.metric}"

    def applies(self, params: Mapping[str, Any]) -> bool:
        return all(str(params.get(k)) == str(v) for k, v in self.where.items())

    def passes(self, figure: float | None) -> bool | None:
        """True/False, or None when the figure was not measured (None or NaN)."""
        if figure is None or (isinstance(figure, float) and math.isnan(figure)):
            return None
        return figure <= self.bound if self.op == "max" else figure >= self.bound

    def describe(self) -> str:
        return f"{'<=' if self.op == 'max' else '>='} {self.bound:g}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {self.op: self.bound, "source": self.source}
        if self.where:
            d["where"] = dict(self.where)
        if self.on != "value":
            d["on"] = self.on
        return d


@dataclass(frozen=True)
class ControlRule:
    """What "caught" means for a control chain: every check in ``caught_by`` has a breached figure
    (an empty tuple: any breach at all)."""

    caught_by: tuple[str, ...] = ()
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"caught_by": list(self.caught_by), "reason": self.reason}


def _t(key: str, op: Op, bound: float, source: str, **kw: Any) -> tuple[str, Threshold]:
    check, metric = key.split(".", 1)
    return key, Threshold(check, metric, op, bound, source, **kw)


DEFAULT_THRESHOLDS: dict[str, Threshold] = dict([
    _t("quasi_identifiers.prosecutor_risk_avg", "max", 0.09, EMA + " (average risk, prosecutor model)"),
    _t("quasi_identifiers.k", "min", 5, "El Emam & Dankar, JAMIA 2008, and El Emam, Guide to the "
       "De-Identification of Personal Health Information (2013): smallest class of 5, i.e. a maximum "
       "prosecutor risk of 0.2"),
    _t("unicity.reidentified_share", "max", 0.09, EMA + "; the share of targets re-identified from p known "
       "points (de Montjoye et al., Sci. Rep. 2013) is an empirical average re-identification probability"),
    _t("profile_linkage.top1_accuracy", "max", 0.09, EMA + "; the share of persons linked across periods "
       "(Tournier & de Montjoye, Sci. Adv. 2022) is an empirical re-identification probability"),
    _t("singling_out.risk", "max", 0.09, EMA + "; singling out is the first criterion of Article 29 WP "
       "Opinion 05/2014, measured as in anonymeter (Giomi et al., PoPETs 2023)"),
    _t("linkability.risk", "max", 0.09, EMA + "; linkability, Article 29 WP Opinion 05/2014, measured as in "
       "anonymeter (Giomi et al., PoPETs 2023)"),
    _t("inference.risk", "max", 0.09, EMA + "; inference, Article 29 WP Opinion 05/2014, measured as in "
       "anonymeter (Giomi et al., PoPETs 2023)"),
    _t("cross_tenant.linked_share", "max", 0.09, EMA + "; applied to persons linked across tenants"),
    _t("membership.advantage", "max", 0.05, "membership advantage TPR - FPR (Yeom et al., CSF 2018) by trace, "
       "attribute row and both: 0.05 is the most any attacker gains against epsilon = 0.1, (e^0.1 - 1)/(e^0.1 "
       "+ 1) (Kairouz, Oh & Viswanath, ICML 2015), i.e. at most 5 points over a coin flip whatever epsilon a "
       "chain claims. Every mode is gated: the controls are held-out accounts of the same orgs, so no mode "
       "can tell members by which orgs are in the data"),
    _t("membership.advantage_over_cap", "max", 0.0, "Kairouz, Oh & Viswanath, ICML 2015: against the "
       "(epsilon, delta) a chain declares no attacker's advantage exceeds (e^eps - 1 + 2 delta)/(e^eps + 1); "
       "above it even at the low end of the 95% interval (any mode), the measurement falsifies the claim",
       on="ci_low"),
    _t("dictionary.reversed_share", "max", 0.0, "ENISA, Pseudonymisation techniques and best practices "
       "(2019), and Article 29 WP Opinion 05/2014: a pseudonym that a dictionary of candidate values "
       "reverses is no pseudonym; no reversal is tolerated"),
    _t("leak_scan.leaked_values", "max", 0.0, "GDPR Recital 26 and DESIGN.md: no direct identifier of the "
       "raw data may appear in a release"),
    _t("validation.failed_expectations", "max", 0.0, "the chain's privacy contract (Great Expectations "
       "suites derived from its steps): every expectation must hold"),
    _t("dp_audit.passed", "min", 1.0, "a differentially private step must keep its own claim (Dwork & Roth, "
       "The Algorithmic Foundations of Differential Privacy, 2014): declared sensitivity with the noise off, "
       "and no empirical lower bound on epsilon above the claimed one (Jagielski et al., NeurIPS 2020; "
       "Bichsel et al., DP-Sniper, IEEE S&P 2021)"),
])

DEFAULT_CONTROLS: dict[str, ControlRule] = {
    "none": ControlRule(("leak_scan", "unicity"), "the release is the raw data: the leak scan must find the "
                        "identifiers and unicity must single people out from a few events"),
    "naive-hash": ControlRule(("dictionary", "unicity"), "unsalted hashes of guessable identifiers: the "
                              "dictionary attack must reverse them and unicity must still single people out"),
}
ANY_BREACH = ControlRule((), "a control chain must breach at least one threshold")

# What a chain promises by construction, whatever its statistical risk: checked even for known-weak chains.
HARD_CHECKS = ("leak_scan", "dictionary", "validation", "dp_audit")


class RegressionPolicy(BaseModel):
    """How ``check --baseline`` judges a cell: a one-sided test at ``alpha`` (Holm-corrected across cells) and
    a change in the worse direction larger than the materiality margin (``margins`` per ``check.metric`` or
    ``check.*``, else the catalog's margin for the metric, else ``margin``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    alpha: float = Field(0.01, gt=0, lt=0.5, description="Family-wise error rate across compared cells (Holm).")
    margin: float = Field(0.02, ge=0, description="Default materiality margin (absolute, in the metric's units).")
    margins: dict[str, float] = Field(default_factory=dict, description="check.metric (or check.*) -> margin.")

    def margin_for(self, check: str, metric: str) -> float:
        for key in (f"{check}.{metric}", f"{check}.*"):
            if key in self.margins:
                return self.margins[key]
        spec = catalog.metric_spec(check, metric)
        return spec.margin if spec is not None and spec.margin is not None else self.margin


@dataclass(frozen=True)
class ThresholdSet:
    """The effective thresholds: exact keys (``check.metric``) and wildcards (``check.*``), plus control rules.
    ``off`` holds what the thresholds switched off explicitly (``check`` or ``check.metric``): not measured
    there is not a failure."""

    thresholds: Mapping[str, Threshold]
    controls: Mapping[str, ControlRule]
    origins: tuple[str, ...] = ("defaults",)
    known_weak: Mapping[str, str] = field(default_factory=dict)
    off: frozenset[str] = frozenset()
    regression: RegressionPolicy = field(default_factory=RegressionPolicy)

    def is_off(self, check: str, metric: str | None = None) -> bool:
        return check in self.off or (metric is not None and f"{check}.{metric}" in self.off)

    def for_metric(self, check: str, metric: str, params: Mapping[str, Any]) -> Threshold | None:
        for key in (f"{check}.{metric}", f"{check}.*"):
            t = self.thresholds.get(key)
            if t is not None and t.applies(params):
                return replace(t, check=check, metric=metric) if key.endswith("*") else t
        return None

    def control_rule(self, chain: str) -> ControlRule:
        return self.controls.get(chain, ANY_BREACH)

    def to_dict(self) -> dict[str, Any]:
        """A thresholds document that ``parse_document`` reads back to the same set."""
        doc: dict[str, Any] = {k: t.to_dict() for k, t in sorted(self.thresholds.items())}
        doc["controls"] = {k: c.to_dict() for k, c in sorted(self.controls.items())}
        doc["known_weak"] = dict(sorted(self.known_weak.items()))
        for key in sorted(self.off):
            doc[key] = "off"
        doc["regression"] = self.regression.model_dump()
        return doc


def defaults() -> ThresholdSet:
    return ThresholdSet(dict(DEFAULT_THRESHOLDS), dict(DEFAULT_CONTROLS))


def from_recorded(doc: Mapping[str, Any], origins: tuple[str, ...] = ("recorded",)) -> ThresholdSet:
    """The set that ``ThresholdSet.to_dict`` wrote (e.g. into the manifest by ``check``), exactly."""
    ts = parse_document(dict(doc), "recorded thresholds", ThresholdSet({}, {}, ()))
    return replace(ts, origins=origins)


def _fail(origin: str, key: str, reason: str) -> UsageError:
    return UsageError(f"{origin}: {key}: {reason}")


def _valid(names: Any) -> str:
    return ", ".join(sorted(str(n) for n in names)) or "none"


def _known(origin: str, key: str, check: str, metric: str | None = None, params: tuple[str, ...] = ()) -> None:
    """Exit 2 naming the key, the file and the valid names when the catalog does not know a name."""
    bad = catalog.unknown(check, metric, params)
    if bad is None:
        return
    if bad.what == "check":
        raise _fail(origin, key, f"unknown check {check!r} (valid: {_valid(bad.valid)})")
    if bad.what == "metric":
        raise _fail(origin, key, f"unknown metric {metric!r} of check {check} (valid: {_valid(bad.valid)})")
    wrong = next(p for p in params if p not in bad.valid)
    raise _fail(origin, f"{key}.where.{wrong}", f"unknown parameter of check {check} (valid: {_valid(bad.valid)})")


def _is_off(spec: Any) -> bool:
    """``null``, ``off``/``false`` (YAML 1.1 reads ``off`` as false) or the text "off" switch a key off."""
    return spec is None or spec is False or (isinstance(spec, str) and spec.strip().lower() == "off")


def _parse_threshold(origin: str, key: str, spec: Any) -> Threshold | None:
    if key.startswith(".") or key.endswith(".") or key.count(".") > 1:
        raise _fail(origin, key, "a threshold key is 'check.metric' (or 'check.*')")
    check, metric = key.split(".", 1)
    _known(origin, key, check, metric)
    if _is_off(spec):
        return None
    if isinstance(spec, bool) or not isinstance(spec, (int, float, dict)):
        raise _fail(origin, key, "expected a number, null, or a mapping with 'max' or 'min'")
    if not isinstance(spec, dict):
        spec = {"max": spec}
    spec = {("on" if k is True else str(k)): v for k, v in spec.items()}  # YAML 1.1 reads `on:` as true
    unknown = set(spec) - {"max", "min", "source", "where", "on"}
    if unknown:
        raise _fail(origin, f"{key}.{sorted(unknown)[0]}", "unknown field (allowed: max, min, source, where, on)")
    ops = [op for op in ("max", "min") if op in spec]
    if len(ops) != 1:
        raise _fail(origin, key, "give exactly one of 'max' or 'min'")
    op: Op = "max" if ops[0] == "max" else "min"
    bound = spec[op]
    if isinstance(bound, bool) or not isinstance(bound, (int, float)) or math.isnan(float(bound)):
        raise _fail(origin, f"{key}.{op}", "must be a number")
    where = spec.get("where", {}) or {}
    if not isinstance(where, dict):
        raise _fail(origin, f"{key}.where", "must be a mapping of params, e.g. {p: 4}")
    _known(origin, key, check, None, tuple(str(k) for k in where))
    on_text = spec.get("on", "value")
    if on_text not in ("value", "ci_low", "ci_high"):
        raise _fail(origin, f"{key}.on", "must be value, ci_low or ci_high")
    on: On = "ci_low" if on_text == "ci_low" else "ci_high" if on_text == "ci_high" else "value"
    source = spec.get("source", f"user thresholds ({origin})")
    if not isinstance(source, str):
        raise _fail(origin, f"{key}.source", "must be a string")
    return Threshold(check, metric, op, float(bound), source, where, on)


def _chain(origin: str, key: str, name: str, chains: Collection[str] | None) -> str:
    if chains is not None and name not in chains:
        raise _fail(origin, f"{key}.{name}", f"unknown chain {name!r} (valid: {_valid(chains)})")
    return name


def _parse_controls(origin: str, spec: Any, chains: Collection[str] | None) -> dict[str, ControlRule]:
    if not isinstance(spec, dict):
        raise _fail(origin, "controls", "must map a control chain name to {caught_by: [check, ...]}")
    out = {}
    for name, rule in spec.items():
        _chain(origin, "controls", str(name), chains)
        if not isinstance(rule, dict) or set(rule) - {"caught_by", "reason"}:
            raise _fail(origin, f"controls.{name}", "expected {caught_by: [check, ...], reason: text}")
        checks = rule.get("caught_by", [])
        if not isinstance(checks, list) or not all(isinstance(c, str) for c in checks):
            raise _fail(origin, f"controls.{name}.caught_by", "must be a list of check names")
        for c in checks:
            _known(origin, f"controls.{name}.caught_by", c)
        out[str(name)] = ControlRule(tuple(checks), str(rule.get("reason", f"user rule ({origin})")))
    return out


def _parse_known_weak(origin: str, spec: Any, chains: Collection[str] | None) -> dict[str, str]:
    if isinstance(spec, list) and all(isinstance(c, str) for c in spec):
        out = {c: f"listed as known weak ({origin})" for c in spec}
    elif isinstance(spec, dict) and all(isinstance(v, str) for v in spec.values()):
        out = {str(k): v for k, v in spec.items()}
    else:
        raise _fail(origin, "known_weak", "must list chain names, or map each chain name to a reason")
    for name in out:
        _chain(origin, "known_weak", name, chains)
    return out


def _parse_regression(origin: str, spec: Any, base: RegressionPolicy) -> RegressionPolicy:
    if not isinstance(spec, dict):
        raise _fail(origin, "regression", "must be a mapping: {alpha, margin, margins: {check.metric: margin}}")
    merged = {**base.model_dump(), **{str(k): v for k, v in spec.items()}}
    if isinstance(spec.get("margins"), dict):
        merged["margins"] = {**base.margins, **spec["margins"]}
    try:
        policy = RegressionPolicy.model_validate(merged)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise _fail(origin, f"regression.{loc}", err["msg"]) from None
    for key in policy.margins:
        if key.count(".") != 1:
            raise _fail(origin, f"regression.margins.{key}", "a margin key is 'check.metric' (or 'check.*')")
        check, metric = key.split(".")
        _known(origin, f"regression.margins.{key}", check, metric)
    return policy


def parse_document(doc: Any, origin: str, base: ThresholdSet | None = None,
                   chains: Collection[str] | None = None) -> ThresholdSet:
    """Layer a thresholds document over ``base`` (the defaults when None). Errors name origin and key.
    ``chains``: the valid chain names for ``known_weak`` and ``controls`` (None: not checked)."""
    base = base or defaults()
    if doc is None:
        return base
    if not isinstance(doc, dict):
        raise _fail(origin, "(top level)", "a thresholds document must be a mapping")
    if set(doc) == {"thresholds"}:  # a file may wrap its document like a run config does
        doc = doc["thresholds"] or {}
        if not isinstance(doc, dict):
            raise _fail(origin, "thresholds", "must be a mapping")
    merged: dict[str, Threshold] = dict(base.thresholds)
    controls: dict[str, ControlRule] = dict(base.controls)
    weak: dict[str, str] = dict(base.known_weak)
    off: set[str] = set(base.off)
    regression = base.regression
    for key, spec in doc.items():
        key = str(key)
        if key == "controls":
            controls.update(_parse_controls(origin, spec, chains))
            continue
        if key == "known_weak":
            weak.update(_parse_known_weak(origin, spec, chains))
            continue
        if key == "regression":
            regression = _parse_regression(origin, spec, regression)
            continue
        if "." not in key:  # a whole check: `unicity: off`
            _known(origin, key, key)
            if not _is_off(spec):
                raise _fail(origin, key, "a check alone can only be switched off (`off`); a threshold key is "
                            "'check.metric' (or 'check.*')")
            off.add(key)
            merged = {k: t for k, t in merged.items() if k.split(".", 1)[0] != key}
            continue
        t = _parse_threshold(origin, key, spec)
        if t is None:
            merged.pop(key, None)
            off.add(key)
        else:
            merged[key] = t
            off.discard(key)
            off.discard(key.split(".", 1)[0])
    return ThresholdSet(merged, controls, (*base.origins, origin), weak, frozenset(off), regression)


def load_file(path: str | Path, base: ThresholdSet | None = None,
              chains: Collection[str] | None = None) -> ThresholdSet:
    """Read a thresholds YAML file (exit 2 naming the file and key when it is wrong)."""
    return parse_document(load_yaml(path), str(path), base, chains)


def resolve(run_config_thresholds: Mapping[str, Any] | None = None,
            file: str | Path | None = None, config_origin: str = "run config thresholds",
            chains: Collection[str] | None = None) -> ThresholdSet:
    """Defaults, overridden by the run config's ``thresholds:`` section, then by ``file``. Errors name
    ``config_origin`` (e.g. ``configs/ci.yaml: thresholds``) or the file, and the key. ``chains``: the chain
    names ``known_weak``/``controls`` may name (the run's and its config's; None: not checked)."""
    ts = defaults()
    if run_config_thresholds:
        ts = parse_document(dict(run_config_thresholds), config_origin, ts, chains)
    if file is not None:
        ts = load_file(file, ts, chains)
    return ts


def params_of(raw: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``params`` column (a JSON string) as a dict."""
    if raw is None:
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
