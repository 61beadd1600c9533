"""Inference (anonymeter's method) on tables where the right guesses are known by hand."""

from __future__ import annotations

import polars as pl
import pytest

from reid.anonymeter_stats import success_rate
from reid.inference import correct_guesses, inference


def by_metric(ms):
    return {m.metric: m for m in ms}


def people(n: int, flip: bool = False) -> pl.DataFrame:
    """Unique auxiliary values; the secret follows the parity of i (or its opposite)."""
    return pl.DataFrame({"age": list(range(n)), "zip": [f"z{i}" for i in range(n)],
                         "secret": [("odd" if (i % 2) ^ flip else "even") for i in range(n)]})


def test_a_copy_gives_every_secret_away_and_the_control_measures_utility():
    ori = people(80)
    same = by_metric(inference(ori, ori, ["age", "zip"], "secret", people(80), n_attacks=80, seed=1))
    assert same["attack_rate"].value == 1.0 and same["control_rate"].value == 1.0
    assert same["risk"].value == 0.0  # what the release predicts for anyone is no privacy risk
    flipped = by_metric(inference(ori, ori, ["age", "zip"], "secret", people(80, flip=True), n_attacks=80,
                                  seed=1))
    assert flipped["control_rate"].value == 0.0
    a, c = success_rate(80, 80), success_rate(80, 0)
    assert flipped["risk"].value == pytest.approx((a.value - c.value) / (1 - c.value))
    assert 0.3 < flipped["baseline_rate"].value < 0.7  # a random released secret: right about half the time


@pytest.mark.parametrize(("guess", "truth", "regression", "want"), [
    (["a", "b", None], ["a", "c", None], False, [True, False, True]),
    ([100.0, 100.0, 100.0], [96.0, 94.0, 100.0], True, [True, False, True]),  # |g - s| / g <= 5%
    ([1, 2], [1, 3], False, [True, False]),
])
def test_correct_guesses(guess, truth, regression, want):
    assert correct_guesses(pl.Series(guess), pl.Series(truth), regression).tolist() == want


def test_bad_columns_are_refused():
    ori = people(5)
    with pytest.raises(ValueError, match="secret"):
        inference(ori, ori, ["age", "secret"], "secret")
    with pytest.raises(ValueError, match="aux"):
        inference(ori, ori, [], "secret")
