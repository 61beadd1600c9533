"""The local baseline comparison that stands in for `check --baseline` in `make mutants`."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.mutants.compare import direction, holm, regressions


def row(check: str, metric: str, value: float | None, n: int = 700, ci: tuple[float, float] | None = None,
        **params: Any) -> dict[str, Any]:
    lo, hi = ci if ci else (None, None)
    return {"check": check, "metric": metric, "value": value, "ci_low": lo, "ci_high": hi, "n": n,
            "params": params}


def summary(*rows: dict[str, Any], chain: str = "generalize") -> dict[str, Any]:
    return {"chains": {chain: {"checks": list(rows)}, "other": {"checks": [row("unicity", "unique_share", 0.1, p=1)]}}}


BASE = [row("unicity", "reidentified_share", 0.40, p=2, match_resolution="1h"),
        row("quasi_identifiers", "k", 10, qi_set="demographic"),
        row("leak_scan", "leaked_values", 0.0, n=200_000),
        row("singling_out", "risk", 0.30, n=500, ci=(0.26, 0.34)),
        row("utility", "retained_rows", 1.0)]


def test_an_identical_summary_has_no_regression() -> None:
    assert regressions(summary(*BASE), summary(*BASE), ["generalize"]) == []


@pytest.mark.parametrize("changed, expect", [
    (row("unicity", "reidentified_share", 0.55, p=2, match_resolution="1s"), "unicity.reidentified_share"),
    (row("quasi_identifiers", "k", 9, qi_set="demographic"), "quasi_identifiers.k"),
    (row("leak_scan", "leaked_values", 12.0, n=200_000), "leak_scan.leaked_values"),
    (row("singling_out", "risk", 0.45, n=500, ci=(0.41, 0.49)), "singling_out.risk"),
])
def test_a_cell_that_got_materially_and_significantly_worse_regresses(changed: dict, expect: str) -> None:
    mutant = [changed if (r["check"], r["metric"]) == (changed["check"], changed["metric"]) else r for r in BASE]
    found = regressions(summary(*BASE), summary(*mutant), ["generalize"])
    assert [r.label.split(": ")[1].split("{")[0] for r in found] == [expect]


@pytest.mark.parametrize("changed", [
    row("unicity", "reidentified_share", 0.41, p=2),          # within the 0.02 margin
    row("unicity", "reidentified_share", 0.30, p=2),          # better
    row("quasi_identifiers", "k", 11, qi_set="demographic"),  # better
    row("utility", "retained_rows", 0.5),                     # utility is not a privacy regression
])
def test_small_or_favourable_changes_do_not_regress(changed: dict) -> None:
    mutant = [changed if (r["check"], r["metric"]) == (changed["check"], changed["metric"]) else r for r in BASE]
    assert regressions(summary(*BASE), summary(*mutant), ["generalize"]) == []


def test_a_rise_within_sampling_noise_is_not_significant() -> None:
    base = [row("unicity", "reidentified_share", 0.40, n=40, p=2)]
    mut = [row("unicity", "reidentified_share", 0.45, n=40, p=2)]
    assert regressions(summary(*base), summary(*mut), ["generalize"]) == []


def test_a_figure_no_longer_measured_is_a_regression() -> None:
    mutant = [r for r in BASE if r["check"] != "quasi_identifiers"] + [row("unicity", "reidentified_share", None, p=2)]
    found = regressions(summary(*BASE), summary(*mutant[:-1]), ["generalize"])
    assert [r.mutant for r in found] == [None]
    assert "not measured" in found[0].describe()
    na = [dict(r, params={**r["params"], "applicable": False}) if r["check"] == "leak_scan" else r for r in BASE]
    assert len(regressions(summary(*BASE), summary(*na), ["generalize"])) == 1


def test_only_the_named_chains_are_compared() -> None:
    other = {"chains": {"other": {"checks": [row("unicity", "unique_share", 0.9, p=1)]}}}
    assert regressions(summary(*BASE), {**summary(*BASE), **{"chains": {**summary(*BASE)["chains"],
                                                                          **other["chains"]}}}, ["generalize"]) == []


def test_holm_and_directions() -> None:
    assert holm([0.01, 0.04, 0.03]) == [True, False, False]
    assert holm([0.001, 0.01, 0.02]) == [True, True, True]
    assert direction("unicity", "reidentified_share") == 1
    assert direction("quasi_identifiers", "k") == -1
    assert direction("utility", "retained_rows") == 0
    assert direction("unicity", "baseline") == 0
