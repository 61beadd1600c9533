"""Table mode against the figures pyCANON 1.3.6 and anonymeter 1.1.0 published for the Adult reference data.

The data live outside the repository, in ``$ANONBENCH_REFERENCE_DATA`` (``make test`` points it at
``../shared/data/adult``); without it these tests are skipped with a message saying so. The figures below
are those of the data README, measured with the established tools. Comparisons with the tools run live,
on the same rows, are in ``make crosscheck`` (they need a second venv with old numpy).

anonymeter's figures are random (they depend on the attacks drawn) and rounded; a figure agrees when its
rounding interval overlaps our 95% confidence interval at the same number of attacks.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from reid.inference import inference
from reid.linkability import linkability
from reid.quasi_identifiers import quasi_identifiers
from reid.singling_out import singling_out
from reid.tablemode import read_table

pytestmark = pytest.mark.reference

AUX_A = ["type_employer", "education", "hr_per_week", "capital_loss", "capital_gain"]
AUX_B = ["race", "sex", "fnlwgt", "age", "country"]


@pytest.fixture(scope="module")
def data() -> Path:
    folder = os.environ.get("ANONBENCH_REFERENCE_DATA")
    if not folder or not Path(folder).is_dir():
        pytest.skip("ANONBENCH_REFERENCE_DATA is not set to the folder of the Adult reference files "
                    "(uci_adult.csv, adults_ori.csv, adults_syn_ctgan.csv, adults_control.csv): "
                    "the comparison with pyCANON's and anonymeter's published figures was NOT run")
    return Path(folder)


@pytest.fixture(scope="module")
def adult(data):
    return tuple(read_table(data / f) for f in ("adults_ori.csv", "adults_syn_ctgan.csv", "adults_control.csv"))


def agrees(metric, published: float, digits: int) -> bool:
    half = 0.5 * 10.0**-digits
    return metric.ci_low <= published + half and metric.ci_high >= published - half


def risk(ms):
    return next(m for m in ms if m.metric == "risk")


def test_pycanon_figures_exactly(data):
    df = read_table(data / "uci_adult.csv")  # as pyCANON reads it: leading spaces and '?' kept
    got = {m.metric: m for m in quasi_identifiers(
        df, ["age", "education", "occupation", "relationship", "sex", "native-country"], "salary-class")}
    assert got["k"].value == 1
    assert got["equivalence_classes"].value == 15_093
    assert round(100 * got["unique_share"].value, 2) == 31.18
    assert got["l_distinct"].value == 1
    assert got["unique_share"].n == 32_561


@pytest.mark.parametrize(("mode", "n_cols", "published"), [
    ("univariate", 1, (0.030, 0.035)),
    ("multivariate", 4, (0.097, 0.119)),
])
def test_singling_out_on_the_synthetic_set(adult, mode, n_cols, published):
    ori, syn, ctl = adult
    r = risk(singling_out(ori, syn, ctl, mode=mode, n_attacks=500, n_cols=n_cols, seed=42))
    assert r.ci_low <= published[1] and r.ci_high >= published[0], (r.value, r.ci_low, r.ci_high)


def test_linkability_on_the_synthetic_set(adult):
    ori, syn, ctl = adult
    r = risk(linkability(ori, syn, AUX_A, AUX_B, ctl, n_attacks=2000, n_neighbors=10, seed=42))
    assert r.ci_low == 0.0 and r.value < 0.01


@pytest.fixture(scope="module")
def copy(adult):
    ori, _, ctl = adult
    sample = ori.sample(10_000, seed=42)
    return sample, sample.clone(), ctl


@pytest.mark.parametrize("mode", ["univariate", "multivariate"])
def test_singling_out_rises_on_a_copy(copy, mode):
    ori, syn, ctl = copy
    # anonymeter's 0.995 is the Wilson centre of 500 of 500 successes; scoring every query gives the exact ~1
    r = risk(singling_out(ori, syn, ctl, mode=mode, n_attacks=500, n_cols=4, seed=42))
    assert r.params["scored"] == "all" and r.value >= 0.995 and r.ci_low >= 0.99, (r.value, r.ci_low, r.n)
    r = risk(singling_out(ori, syn, ctl, mode=mode, n_attacks=500, n_cols=4, seed=42, score_all_queries=False))
    assert agrees(r, 0.995, 3), (r.value, r.ci_low, r.ci_high)


def test_inference_rises_on_a_copy(copy):
    ori, syn, ctl = copy
    aux = [c for c in ori.columns if c != "income"]
    r = risk(inference(ori, syn, aux, "income", ctl, n_attacks=1000, seed=42))
    assert agrees(r, 0.98, 2), (r.value, r.ci_low, r.ci_high)


def test_linkability_rises_on_a_copy(copy):
    ori, syn, ctl = copy
    r = risk(linkability(ori, syn, AUX_A, AUX_B, ctl, n_attacks=2000, n_neighbors=10, seed=42))
    assert agrees(r, 0.48, 2), (r.value, r.ci_low, r.ci_high)


def test_columns_keep_their_types(adult):
    ori, syn, ctl = adult
    assert all(t.schema["age"] == pl.Int64 and t.schema["income"] == pl.String for t in (ori, syn, ctl))
