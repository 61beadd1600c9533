"""reid.catalog: one list of checks, metrics, directions and params for the thresholds, the gate and the report."""

from __future__ import annotations

import pytest

from reid import catalog


@pytest.mark.parametrize(("check", "metric", "old", "new", "worse"), [
    ("unicity", "reidentified_share", 0.1, 0.3, True),        # more risk
    ("quasi_identifiers", "k", 10, 4, True),                   # smaller classes
    ("quasi_identifiers", "k", 4, 10, False),
    ("utility", "action_tv_distance", 0.01, 0.2, True),        # an error that grew
    ("utility", "hourly_profile_correlation", 0.99, 0.5, True),  # a correlation that fell
    ("utility", "entropy_retained", 0.5, 0.9, False),
])
def test_worse_follows_the_declared_direction(check, metric, old, new, worse):
    assert (catalog.metric_spec(check, metric).worse(old, new) > 0) is worse


@pytest.mark.parametrize(("args", "what"), [
    (("unicty",), "check"), (("unicity", "reidentifed_share"), "metric"),
    (("unicity", None, ("points",)), "param"),
])
def test_unknown_names_say_what_and_list_the_valid_ones(args, what):
    bad = catalog.unknown(*args)
    assert bad is not None and bad.what == what and bad.valid


@pytest.mark.parametrize("args", [("unicity",), ("unicity", "*"), ("unicity", "reidentified_share", ("p",)),
                                  ("membership", "advantage"), ("dp_audit", "epsilon_lower_bound", ("step",)),
                                  ("utility", "workload_2way_error"), ("validation", "failed_expectations")])
def test_known_names(args):
    assert catalog.unknown(*args) is None


def test_cell_key_keeps_identifying_params_only():
    assert catalog.key_of("unicity", {"p": 4, "seed": 0, "rows_original": 9, "knowledge": "1s:action"}) == \
        (("knowledge", "1s:action"), ("p", "4"))
    assert catalog.key_of("quasi_identifiers", {"qi_set": "a", "sensitive": "s", "distance": "x"}) == (
        ("qi_set", "a"), ("sensitive", "s"))


def test_every_utility_metric_of_the_module_is_catalogued():
    from reid import utility

    assert set(utility.METRICS) <= set(catalog.CATALOG["utility"].metrics)


def test_table_mode_checks():
    assert catalog.TABLE_CHECKS == ("quasi_identifiers", "singling_out", "linkability", "inference")


def test_every_param_the_checks_write_is_catalogued(tmp_path_factory):
    """The names a `where:` may use are the names the checks write (a hand-built run through the harness)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from event_fixtures import make_run

    from reid.harness import run_checks
    from reid.params import AttackParams

    root = tmp_path_factory.mktemp("catalog-run")
    make_run(root, n_persons=30, events_per_account=20)
    fast = AttackParams(checks=["leak_scan", "dictionary", "unicity", "profile_linkage", "cross_tenant", "utility"])
    for chain in ("pseudo", "agg"):
        for check, metrics in run_checks(root, chain, fast).items():
            spec = catalog.CATALOG[check]
            for m in metrics:
                assert m.metric in spec.metrics, (check, m.metric)
                assert set(m.params) <= set(spec.params), (check, set(m.params) - set(spec.params))


def test_synthetic_raw_attack_rates_are_context_for_the_regression_gate():
    from reid.catalog import regression_spec

    synthetic = {"synthetic": True, "knowledge": "1d:container", "p": 8}
    assert regression_spec("unicity", "unique_share", synthetic).kind == "info"
    assert regression_spec("profile_linkage", "top1_copy_share", synthetic).kind == "info"
    # the excess over chance stays a risk, and a pseudonymized release's unique share is one
    assert regression_spec("unicity", "reidentified_share", synthetic).kind == "risk"
    assert regression_spec("profile_linkage", "top1_accuracy", synthetic).kind == "risk"
    assert regression_spec("unicity", "unique_share", {"p": 8}).kind == "risk"
