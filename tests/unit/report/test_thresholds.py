"""anonbench.thresholds: defaults with sources, parsing with errors that name file and key, layering."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonbench import thresholds as th
from anonbench.errors import UsageError


def test_every_default_names_its_source():
    for key, t in th.DEFAULT_THRESHOLDS.items():
        assert key == t.key
        assert len(t.source) > 20, key
    for name, rule in th.DEFAULT_CONTROLS.items():
        assert rule.caught_by and rule.reason, name


def test_public_release_budget_is_ema_0_09():
    t = th.defaults().thresholds["quasi_identifiers.prosecutor_risk_avg"]
    assert (t.op, t.bound) == ("max", 0.09)
    assert "EMA" in t.source and "Health Canada" in t.source


@pytest.mark.parametrize(("op", "bound", "figure", "expected"), [
    ("max", 0.09, 0.05, True), ("max", 0.09, 0.09, True), ("max", 0.09, 0.0901, False),
    ("min", 5, 5, True), ("min", 5, 4, False), ("max", 0.0, 0.0, True), ("max", 0.0, 1.0, False),
    ("max", 0.09, None, None), ("min", 5, math.nan, None),
])
def test_passes(op, bound, figure, expected):
    assert th.Threshold("c", "m", op, bound).passes(figure) is expected


@pytest.mark.parametrize(("doc", "key", "op", "bound"), [
    ({"unicity.reidentified_share": 0.01}, "unicity.reidentified_share", "max", 0.01),
    ({"quasi_identifiers.k": {"min": 11}}, "quasi_identifiers.k", "min", 11.0),
    ({"thresholds": {"utility.*": {"max": 0.2}}}, "utility.*", "max", 0.2),
])
def test_parse_layers_over_defaults(doc, key, op, bound):
    ts = th.parse_document(doc, "f.yaml")
    assert (ts.thresholds[key].op, ts.thresholds[key].bound) == (op, bound)
    assert "leak_scan.leaked_values" in ts.thresholds  # defaults kept
    assert ts.origins == ("defaults", "f.yaml")


def test_null_switches_a_default_off():
    ts = th.parse_document({"profile_linkage.top1_accuracy": None}, "f.yaml")
    assert "profile_linkage.top1_accuracy" not in ts.thresholds


@pytest.mark.parametrize(("doc", "named"), [
    ({"quasi_identifiers.k": {"min": "eleven"}}, "quasi_identifiers.k.min"),
    ({"quasi_identifiers.k": {"min": 1, "max": 2}}, "quasi_identifiers.k"),
    ({"quasi_identifiers.k": {"least": 1}}, "quasi_identifiers.k.least"),
    ({"nodot": 0.1}, "nodot"),
    ({"unicity.reidentified_share": True}, "unicity.reidentified_share"),
    ({"unicity.reidentified_share": {"max": 0.1, "where": [4]}}, "unicity.reidentified_share.where"),
    ({"unicity.reidentified_share": {"max": 0.1, "on": "median"}}, "unicity.reidentified_share.on"),
    ({"controls": {"none": {"caught_by": "leak_scan"}}}, "controls.none.caught_by"),
    ({"controls": ["none"]}, "controls"),
    (["a"], "(top level)"),
])
def test_bad_documents_name_origin_and_key(doc, named):
    with pytest.raises(UsageError) as e:
        th.parse_document(doc, "my.yaml")
    assert str(e.value).startswith(f"my.yaml: {named}:")


def test_bad_file_names_file(tmp_path: Path):
    f = tmp_path / "t.yaml"
    f.write_text("quasi_identifiers.k: {min: [1]}\n")
    with pytest.raises(UsageError, match=r"t\.yaml: quasi_identifiers\.k\.min"):
        th.load_file(f)
    with pytest.raises(UsageError, match="no such file"):
        th.load_file(tmp_path / "missing.yaml")


def test_resolve_order_file_beats_run_config(tmp_path: Path):
    f = tmp_path / "t.yaml"
    f.write_text("unicity.reidentified_share: 0.01\n")
    ts = th.resolve({"unicity.reidentified_share": 0.5, "quasi_identifiers.k": {"min": 11}}, f)
    assert ts.thresholds["unicity.reidentified_share"].bound == 0.01
    assert ts.thresholds["quasi_identifiers.k"].bound == 11
    assert ts.origins == ("defaults", "run config thresholds", str(f))


def test_where_and_wildcard_lookup():
    ts = th.parse_document({"unicity.reidentified_share": {"max": 0.2, "where": {"p": 4}},
                            "utility.*": {"max": 0.1}}, "f")
    assert ts.for_metric("unicity", "reidentified_share", {"p": 4}).bound == 0.2
    assert ts.for_metric("unicity", "reidentified_share", {"p": 2}) is None
    t = ts.for_metric("utility", "hour_of_week_tvd", {})
    assert (t.check, t.metric, t.bound) == ("utility", "hour_of_week_tvd", 0.1)


def test_unknown_control_needs_any_breach():
    assert th.defaults().control_rule("my-control") == th.ANY_BREACH


@given(st.dictionaries(st.sampled_from(["unicity.reidentified_share", "quasi_identifiers.k", "inference.risk",
                                        "utility.*", "cross_tenant", "leak_scan.leaked_values"]),
                       st.one_of(st.floats(-10, 10), st.fixed_dictionaries({"min": st.integers(0, 50)}),
                                 st.just("off")),
                       max_size=4))
def test_recorded_round_trip(doc):
    doc = {k: ("off" if "." not in k else v) for k, v in doc.items()}
    ts = th.parse_document(doc, "f")
    back = th.from_recorded(ts.to_dict())
    assert dict(back.thresholds) == dict(ts.thresholds)
    assert dict(back.controls) == dict(ts.controls)
    assert back.off == ts.off and back.regression == ts.regression


def test_yaml_on_key_is_read_as_on(tmp_path: Path):
    f = tmp_path / "t.yaml"
    f.write_text("unicity.reidentified_share: {max: 0.01, on: ci_high}\n")  # YAML 1.1: `on` -> True
    assert th.load_file(f).thresholds["unicity.reidentified_share"].on == "ci_high"


def test_strict_example_file_loads():
    from anonbench.config import CONFIG_DIR

    ts = th.load_file(CONFIG_DIR / "thresholds" / "strict.yaml")
    assert ts.thresholds["quasi_identifiers.k"].bound == 11
    assert all(t.source for t in ts.thresholds.values())


@pytest.mark.parametrize(("spec", "expected"), [
    (["a", "b"], {"a": "listed as known weak (f)", "b": "listed as known weak (f)"}),
    ({"a": "why"}, {"a": "why"}),
])
def test_known_weak(spec, expected):
    ts = th.parse_document({"known_weak": spec}, "f")
    assert dict(ts.known_weak) == expected
    assert dict(th.from_recorded(ts.to_dict()).known_weak) == expected


def test_known_weak_bad():
    with pytest.raises(UsageError, match="f: known_weak:"):
        th.parse_document({"known_weak": "a"}, "f")


@pytest.mark.parametrize(("doc", "message"), [
    ({"unicity.reidentifed_share": 0.01},
     "my.yaml: unicity.reidentifed_share: unknown metric 'reidentifed_share' of check unicity (valid: baseline, "
     "control_unique_share, reidentified_share, unique_share)"),
    ({"unicty.reidentified_share": 0.01}, "my.yaml: unicty.reidentified_share: unknown check 'unicty' (valid: "),
    ({"unicity.reidentified_share": {"max": 0.1, "where": {"points": 4}}},
     "my.yaml: unicity.reidentified_share.where.points: unknown parameter of check unicity (valid: "),
    ({"unicity": 0.1}, "my.yaml: unicity: a check alone can only be switched off"),
    ({"controls": {"none": {"caught_by": ["leakscan"]}}}, "my.yaml: controls.none.caught_by: unknown check"),
    ({"regression": {"margins": {"unicity.reidentifed_share": 0.01}}},
     "my.yaml: regression.margins.unicity.reidentifed_share: unknown metric"),
    ({"regression": {"alpha": 2}}, "my.yaml: regression.alpha: "),
    ({"regression": {"alfa": 0.1}}, "my.yaml: regression.alfa: "),
])
def test_unknown_names_are_usage_errors(doc, message):
    with pytest.raises(UsageError) as e:
        th.parse_document(doc, "my.yaml")
    assert str(e.value).startswith(message), str(e.value)


@pytest.mark.parametrize(("section", "name"), [("known_weak", ["generalise"]),
                                               ("controls", {"nonee": {"caught_by": []}})])
def test_unknown_chain_names_the_valid_ones(section, name):
    chain = name[0] if isinstance(name, list) else next(iter(name))
    with pytest.raises(UsageError) as e:
        th.parse_document({section: name}, "my.yaml", chains=["generalize", "none"])
    assert str(e.value) == f"my.yaml: {section}.{chain}: unknown chain {chain!r} (valid: generalize, none)"
    assert th.parse_document({section: name}, "my.yaml")  # not checked without the chains


@pytest.mark.parametrize("spec", [None, False, "off", "OFF"])
def test_off_switches_a_metric_or_a_check(spec):
    ts = th.parse_document({"unicity": spec, "profile_linkage.top1_accuracy": spec}, "f")
    assert ts.is_off("unicity") and ts.is_off("unicity", "reidentified_share")
    assert "unicity.reidentified_share" not in ts.thresholds
    assert ts.is_off("profile_linkage", "top1_accuracy") and not ts.is_off("profile_linkage", "top10_accuracy")
    assert not ts.is_off("profile_linkage")
    back_on = th.parse_document({"unicity.reidentified_share": 0.2}, "g", ts)
    assert not back_on.is_off("unicity") and back_on.thresholds["unicity.reidentified_share"].bound == 0.2


def test_regression_policy_layers_and_margins():
    ts = th.parse_document({"regression": {"margin": 0.03, "margins": {"utility.*": 0.1}}}, "a")
    ts = th.parse_document({"regression": {"margins": {"unicity.reidentified_share": 0.01}}}, "b", ts)
    r = ts.regression
    assert (r.alpha, r.margin) == (0.01, 0.03)
    assert r.margin_for("unicity", "reidentified_share") == 0.01
    assert r.margin_for("utility", "action_tv_distance") == 0.1
    assert r.margin_for("linkability", "risk") == 0.03
    assert r.margin_for("quasi_identifiers", "k") == 0.0  # the catalog's margin for a whole-number figure
