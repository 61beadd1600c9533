"""anonbench.report.baseline: cells matched by their identifying params, tests chosen per figure, Holm, verdicts."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from anonbench import thresholds as th
from anonbench.errors import UsageError
from anonbench.report.baseline import Cell, compare, load_baseline, pool

POLICY = th.RegressionPolicy()


def cell(metric="reidentified_share", value=0.1, n=200, successes=None, check="unicity", ci=None, **params):
    if successes is None and check == "unicity":
        successes = round(value * n)
    lo, hi = ci if ci else ((None, None) if successes is None else (max(0.0, value - 0.04), value + 0.04))
    return Cell("generalize", check, metric, {"p": 4, "seed": 1, **params}, value, lo, hi, n, successes)


@pytest.mark.parametrize(("old", "new", "same", "regressed", "test"), [
    (cell(value=0.10), cell(value=0.30), False, True, "score"),         # clearly worse
    (cell(value=0.10), cell(value=0.11), False, False, "score"),        # within the margin and the noise
    (cell(value=0.30), cell(value=0.10), False, False, "score"),        # better
    (cell(value=0.10, n=20), cell(value=0.15, n=20), False, False, "score"),  # material, not significant
    (cell("k", 10, check="quasi_identifiers"), cell("k", 4, check="quasi_identifiers"), True, True, "exact"),
    (cell("k", 10, check="quasi_identifiers"), cell("k", 12, check="quasi_identifiers"), True, False, "exact"),
    (cell("risk", 0.1, check="linkability", ci=(0.05, 0.15)), cell("risk", 0.4, check="linkability", ci=(0.35, 0.45)),
     False, True, "interval"),
    # utility: an error that grew is worse, a correlation that fell is worse
    (cell("action_tv_distance", 0.01, check="utility"), cell("action_tv_distance", 0.2, check="utility"), True,
     True, "exact"),
    (cell("hourly_profile_correlation", 0.99, check="utility"),
     cell("hourly_profile_correlation", 0.5, check="utility"), True, True, "exact"),
    (cell("hourly_profile_correlation", 0.5, check="utility"),
     cell("hourly_profile_correlation", 0.99, check="utility"), True, False, "exact"),
])
def test_verdict_per_cell(old, new, same, regressed, test):
    result = compare([new], [old], POLICY, same_targets=same)
    (c,) = result.cells
    assert (c.regressed, c.test) == (regressed, test)
    assert bool(result.problems) == regressed


def test_figures_without_interval_are_untested_on_other_data():
    result = compare([cell("k", 4, check="quasi_identifiers")], [cell("k", 10, check="quasi_identifiers")], POLICY,
                     same_targets=False)
    assert (len(result.cells), result.untested, result.problems) == (0, 1, ())


def test_cells_match_on_identifying_params_only():
    old = [cell(value=0.1, p=2, rows_original=100), cell(value=0.1, p=4)]
    new = [cell(value=0.1, p=2, rows_original=120), cell(value=0.5, p=8)]
    result = compare(new, old, POLICY)
    # rows without a knowledge set were measured with the hour and the action (reid.catalog.legacy_knowledge)
    assert [c.new.label for c in result.cells] == ["unicity.reidentified_share[knowledge=1h:action,p=2]"]
    assert result.only_in_baseline == ("generalize: unicity.reidentified_share[knowledge=1h:action,p=4]",)


def test_not_applicable_info_and_errors_are_not_compared():
    old = [cell(value=0.1), cell("baseline", 0.001, check="unicity", successes=None)]
    new = [cell(value=0.9, applicable=False), cell("baseline", 0.5, check="unicity", successes=None)]
    assert compare(new, old, POLICY).cells == ()
    assert compare([cell(value=0.9, error="ValueError")], [cell(value=0.1)], POLICY).cells == ()


def test_holm_across_cells_keeps_a_borderline_cell_from_failing():
    # one cell alone at p ~ 0.005 fails at alpha 0.01; among 40 unchanged cells Holm lets it pass
    borderline = (cell(value=0.10, p=1), cell(value=0.19, p=1))
    alone = compare([borderline[1]], [borderline[0]], POLICY)
    assert alone.cells[0].p < 0.01 and alone.regressions
    others = [cell(value=0.5, p=100 + i) for i in range(40)]
    crowd = compare([borderline[1], *others], [borderline[0], *others], POLICY)
    assert not crowd.regressions and crowd.cells[0].p_holm > 0.01


def test_margin_per_metric_from_the_policy():
    old, new = cell(value=0.10, n=5000), cell(value=0.115, n=5000)
    assert not compare([new], [old], POLICY).regressions           # 0.015 < default 0.02
    tight = th.parse_document({"regression": {"margins": {"unicity.reidentified_share": 0.01}}}, "t").regression
    assert compare([new], [old], tight).regressions


def test_controls_are_skipped(tmp_path):
    f = tmp_path / "summary.json"
    rows = [{"check": "unicity", "metric": "reidentified_share", "params": {"p": 4}, "value": 0.1, "ci_low": 0.05,
             "ci_high": 0.15, "n": 100, "successes": 10}]
    f.write_text(json.dumps({"targets_digest": "abc", "chains": {"none": {"role": "control", "checks": rows},
                                                                  "generalize": {"role": "candidate", "checks": rows}}}))
    cells, digest, source = load_baseline(f)
    assert [c.chain for c in cells] == ["generalize"] and digest == "abc" and source == str(f.resolve())
    assert load_baseline(tmp_path)[2] == str(f.resolve())  # a folder holding summary.json


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file or run directory"),
    ("{not json", "not valid JSON"),
    ('{"run": 1}', "not an anonbench summary.json"),
    ('{"chains": {"g": {"checks": 3}}}', "chains.g.checks: missing or not a list"),
    ('{"chains": {"g": {"checks": [{"check": "unicity", "metric": "m", "params": {}, "value": 1, "ci_low": null, '
     '"ci_high": null, "n": 3}]}}}', r"chains.g.checks\[0\]: no 'successes'"),
])
def test_bad_baseline_is_a_usage_error(tmp_path, content, message):
    f = tmp_path / "b.json"
    if content is not None:
        f.write_text(content)
    with pytest.raises(UsageError, match=message) as e:
        load_baseline(f)
    assert "\n" not in str(e.value) and "b.json" in str(e.value)


def test_figures_without_interval_of_a_random_chain_are_untested():
    """A DP chain's noise changes its utility errors from run to run even on the same data."""
    old, new = cell("action_tv_distance", 0.01, check="utility"), cell("action_tv_distance", 0.2, check="utility")
    assert compare([new], [old], POLICY, same_targets=True).regressions
    result = compare([new], [old], POLICY, same_targets=True, random_chains={"generalize"})
    assert (result.cells, result.untested) == ((), 1)


def _population_cells(rng, shift: float, sd_between: float, n: int = 400) -> tuple[list[Cell], list[Cell]]:
    """40 unicity cells whose risk differs between two populations by N(shift, sd_between) (true risk 0.2)."""
    import numpy as np

    old, new = [], []
    for p in range(40):
        p_new = float(np.clip(0.2 + rng.normal(shift, sd_between), 0.01, 0.99))
        x1, x2 = int(rng.binomial(n, 0.2)), int(rng.binomial(n, p_new))
        old.append(cell(value=x1 / n, n=n, successes=x1, p=p))
        new.append(cell(value=x2 / n, n=n, successes=x2, p=p))
    return old, new


def test_other_populations_carry_the_dispersion_of_their_cells():
    import numpy as np

    rng = np.random.default_rng(3)
    old, new = _population_cells(rng, 0.0, 0.05)     # between-population sd 0.05 >> binomial 0.028
    outlier = cell(value=0.2 + 0.13, n=400, successes=round(400 * 0.33), p=99)
    old.append(cell(value=0.2, n=400, successes=80, p=99))
    new.append(outlier)
    plain = compare(new, old, POLICY, same_targets=True)       # one population: the sampling variance alone
    other = compare(new, old, POLICY, same_targets=False)      # another: scaled by the cells' dispersion
    assert plain.dispersion == {} and other.dispersion["unicity"] > 2.0
    assert plain.regressions and not other.regressions
    assert all(c.phi == pytest.approx(other.dispersion["unicity"], abs=1e-4) for c in other.cells)
    assert other.to_dict()["dispersion"] == other.dispersion


def test_a_real_regression_on_another_population_is_still_caught():
    import numpy as np

    rng = np.random.default_rng(4)
    old, new = _population_cells(rng, 0.0, 0.05)
    old += [cell(value=0.2, n=400, successes=80, p=100 + i) for i in range(5)]
    new += [cell(value=0.6, n=400, successes=240, p=100 + i) for i in range(5)]    # 0.2 -> 0.6: a dropped step
    result = compare(new, old, POLICY, same_targets=False)
    assert len(result.regressions) == 5 and "dispersion" in result.problems[0]


def _regime_cells(x: int, n: int = 500) -> list[Cell]:
    """A cell near 0 in some populations and well above it in others (unicity at 8 known days), among 40 cells
    that move by sampling noise only."""
    return [cell(value=x / n, n=n, successes=x, p=8), *(cell(value=0.3, n=400, successes=120, p=100 + i)
                                                         for i in range(40))]


def test_pool_sums_counts_and_estimates_the_between_population_variance():
    (a, *_), (b, *_), (c, *_) = _regime_cells(0), _regime_cells(60), _regime_cells(20)
    cells, between = pool([[a], [b], [c]])
    (pooled,) = cells
    assert (pooled.successes, pooled.n, pooled.value) == (80, 1500, pytest.approx(80 / 1500))
    tau2, w2 = between[a.key]
    p = 80 / 1500
    expected = float(np.var([0, 0.12, 0.04], ddof=1)) - p * (1 - p) / 500
    assert tau2 == pytest.approx(expected) and w2 == pytest.approx(1 / 3)
    # identical baselines: no spread beyond sampling, tau^2 = 0
    assert pool([[a], [a]])[1][a.key][0] == 0.0
    # an interval figure: values averaged, the interval of the mean
    r1 = cell("risk", 0.1, check="linkability", ci=(0.05, 0.15))
    r2 = cell("risk", 0.3, check="linkability", ci=(0.25, 0.35))
    (pr,), between = pool([[r1], [r2]])
    assert pr.value == pytest.approx(0.2) and pr.successes is None and between[r1.key][1] == 0.5
    assert between[r1.key][0] > 0.01


def test_several_baselines_carry_each_cells_own_population_spread():
    """0/500 in one population, 60/500 in another: with one baseline a false alarm (the binomial variance at 0
    is 0 and a multiplicative dispersion cannot cover it); with the spread of three baselines, none. A change
    far beyond that spread is still caught."""
    now = _regime_cells(60)
    one = compare(now, _regime_cells(0), POLICY, same_targets=False)
    assert [c.new.label for c in one.regressions] == ["unicity.reidentified_share[knowledge=1h:action,p=8]"]
    cells, between = pool([_regime_cells(0), _regime_cells(45), _regime_cells(15)])
    several = compare(now, cells, POLICY, same_targets=False, between=between, baselines=3)
    assert not several.regressions and several.to_dict()["baselines"] == 3
    assert several.cells[0].between_sd > 0.03
    worse = compare(_regime_cells(300), cells, POLICY, same_targets=False, between=between, baselines=3)
    assert [c.new.label for c in worse.regressions] == ["unicity.reidentified_share[knowledge=1h:action,p=8]"]
    assert "between-population s.d." in worse.problems[0]


def test_a_synthetic_release_is_compared_on_its_excess_over_chance_not_its_raw_rate():
    raw = [cell("unique_share", 18 / 497, n=497, successes=18, synthetic=True),
           cell("reidentified_share", 0.0, n=497, successes=0, synthetic=True)]
    now = [cell("unique_share", 106 / 485, n=485, successes=106, synthetic=True),
           cell("reidentified_share", 0.0, n=485, successes=0, synthetic=True)]
    result = compare(now, raw, POLICY, same_targets=False)
    assert [c.new.metric for c in result.cells] == ["reidentified_share"] and not result.regressions


def _days8(x: int, n: int, se: float | None) -> list[Cell]:
    """Unicity at 8 known days (the full releases: 0/481 on seed 11, 23/530 on seed 15, with the population
    bootstrap's s.e. measured on those runs), among 40 cells that move by sampling noise only."""
    extra = {} if se is None else {"population_se": se}
    return [cell(value=x / n, n=n, successes=x, p=8, **extra),
            *(cell(value=0.3, n=400, successes=120, p=100 + i) for i in range(40))]


def test_each_runs_population_variance_enters_a_comparison_of_other_populations():
    """Seed 15 against seed 11 alone: a false alarm on the binomial variance (0 at 0/481), none with both runs'
    population variance; on the same population (same targets) that variance is shared and does not apply;
    a change far beyond it is still caught, and the line says which variance it carried."""
    label = "unicity.reidentified_share[knowledge=1h:action,p=8]"
    bare = compare(_days8(23, 530, None), _days8(0, 481, None), POLICY, same_targets=False)
    assert [c.new.label for c in bare.regressions] == [label]
    measured = compare(_days8(23, 530, 0.0289), _days8(0, 481, 0.0239), POLICY, same_targets=False)
    assert not measured.regressions
    assert measured.cells[0].population_sd == pytest.approx(math.hypot(0.0289, 0.0239))
    same = compare(_days8(23, 530, 0.0289), _days8(0, 481, 0.0239), POLICY, same_targets=True)
    assert [c.new.label for c in same.regressions] == [label] and same.cells[0].population_sd == 0.0
    worse = compare(_days8(200, 530, 0.0289), _days8(0, 481, 0.0239), POLICY, same_targets=False)
    assert [c.new.label for c in worse.regressions] == [label] and "population s.d." in worse.problems[0]


def test_pooled_baselines_carry_their_pooled_population_variance():
    (a, *_), (b, *_) = _days8(0, 500, 0.03), _days8(20, 500, 0.04)
    (pooled,), _ = pool([[a], [b]])
    assert pooled.params["population_se"] == pytest.approx(math.sqrt(0.25 * 0.03**2 + 0.25 * 0.04**2))
    (plain,), _ = pool([[cell(value=0.1, p=8)], [cell(value=0.2, p=8)]])
    assert "population_se" not in plain.params and plain.population_var == 0.0
    # stated by the pooled baselines and the run: the bootstrap's variance, not the baselines' spread, applies
    cells, between = pool([_days8(0, 481, 0.0239), _days8(60, 497, 0.019), _days8(7, 530, 0.018)])
    result = compare(_days8(23, 530, 0.0289), cells, POLICY, same_targets=False, between=between, baselines=3)
    assert between[cells[0].key][0] > 0 and result.cells[0].between_sd == 0.0 and result.cells[0].population_sd > 0
    # not stated by one baseline: the baselines' spread applies
    cells, between = pool([_days8(0, 481, None), _days8(60, 497, 0.019), _days8(7, 530, 0.018)])
    assert "population_se" not in cells[0].params
    result = compare(_days8(23, 530, 0.0289), cells, POLICY, same_targets=False, between=between, baselines=3)
    assert result.cells[0].between_sd > 0 and result.cells[0].population_sd == 0.0
