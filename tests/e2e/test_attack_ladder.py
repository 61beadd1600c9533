"""End to end on a ``configs/ci.yaml`` run: ``anonbench attack`` on every chain of the ladder.

Pseudonymization is not anonymization (high unicity on ``none`` and ``pseudonymize``), unsalted hashing is
reversed by the dictionary attack, and risk falls along none -> pseudonymize -> generalize -> kanon ->
dp-aggregates while utility falls too.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from reid.params import CHECKS
from reid.result import RISK_SCHEMA
from reid.utility import headline_utility

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
LADDER = ["none", "pseudonymize", "generalize", "kanon", "dp-aggregates"]
CHAINS = ["none", "naive-hash", *LADDER[1:]]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ANONBENCH_KEY": "e2e-attack-ladder-key-0123456789abcdef"}
    return subprocess.run([sys.executable, "-m", "anonbench.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def risk(tmp_path_factory) -> dict[str, pl.DataFrame]:
    run = tmp_path_factory.mktemp("ladder") / "run"
    done = cli("generate", "--config", "configs/ci.yaml", "--out", str(run))
    assert done.returncode == 0, done.stderr[-2000:]
    out = {}
    for chain in CHAINS:
        for step in (("anonymize", "--run", str(run), "--chain", chain), ("attack", "--run", str(run), "--chain", chain)):
            done = cli(*step)
            assert done.returncode == 0, f"{step}: {done.stderr[-2000:]}"
        out[chain] = pl.read_parquet(sorted((run / "risk" / chain).glob("*.parquet")))
        assert sorted(p.stem for p in (run / "risk" / chain).glob("*.parquet")) == sorted(CHECKS)
    out["_manifest"] = json.loads((run / "manifest.json").read_text())
    return out


def raw_value(df: pl.DataFrame, check: str, metric: str, **where) -> float | None:
    rows = df.filter((pl.col("check") == check) & (pl.col("metric") == metric))
    rows = [r for r in rows.iter_rows(named=True) if all(json.loads(r["params"]).get(k) == v for k, v in where.items())]
    assert rows, (check, metric, where)
    return rows[0]["value"]


def value(df: pl.DataFrame, check: str, metric: str, **where) -> float:
    """A risk figure; not applicable (nothing per person released) counts as no risk."""
    v = raw_value(df, check, metric, **where)
    return 0.0 if v is None else v


def risk_score(df: pl.DataFrame) -> float:
    leaked = value(df, "leak_scan", "leaked_values") > 0
    reversed_ = max([0.0] + [r["value"] or 0.0 for r in df.filter(pl.col("check") == "dictionary").iter_rows(named=True)])
    parts = [value(df, "unicity", "reidentified_share", p=4), value(df, "profile_linkage", "top1_accuracy"),
             value(df, "singling_out", "risk"), value(df, "linkability", "risk"), value(df, "inference", "risk"),
             value(df, "cross_tenant", "linked_share"), reversed_, float(leaked)]
    return sum(parts) / len(parts)


def utility_score(df: pl.DataFrame) -> float:
    """The headline utility: the declared score of each headline figure, averaged (missing ones count 0)."""
    rows = df.filter(pl.col("check") == "utility")
    return headline_utility(dict(zip(rows["metric"].to_list(), rows["value"].to_list(), strict=True)))


def test_results_follow_the_schema_and_carry_n(risk):
    for chain in CHAINS:
        df = risk[chain]
        assert df.columns == RISK_SCHEMA.names
        assert (df["chain"] == chain).all()
        assert df.filter(pl.col("value").is_not_null() & (pl.col("n") <= 0)).height == 0
        props = df.filter(pl.col("metric").is_in(["unique_share", "reidentified_share", "top1_accuracy",
                                                  "reversed_share", "linked_share"]) & pl.col("value").is_not_null())
        assert props.filter(pl.col("ci_low").is_null()).height == 0
    assert set(risk["_manifest"]["risk"]) == set(CHAINS)


@pytest.mark.parametrize("chain", ["none", "pseudonymize"])
def test_pseudonymization_is_not_anonymization(risk, chain):
    assert value(risk[chain], "unicity", "unique_share", p=4) > 0.8
    assert value(risk[chain], "unicity", "reidentified_share", p=4) > 0.8
    assert value(risk[chain], "profile_linkage", "top1_accuracy") > 20 * value(risk[chain], "profile_linkage", "baseline")


def test_controls_are_caught(risk):
    assert value(risk["none"], "leak_scan", "leaked_values") > 0
    for column in ("account_id", "email"):
        assert value(risk["naive-hash"], "dictionary", "reversed_share", table="users", column=column) > 0.95
        assert value(risk["pseudonymize"], "dictionary", "reversed_share", table="users", column=column) == 0.0
    assert value(risk["pseudonymize"], "leak_scan", "leaked_values") == 0


def test_dp_aggregates_is_marked_not_applicable_not_crashed(risk):
    df = risk["dp-aggregates"]
    na = df.filter(pl.col("check").is_in(["unicity", "profile_linkage", "singling_out"]))
    assert na["value"].null_count() == na.height
    assert all(json.loads(p)["applicable"] is False for p in na["params"])
    assert df.filter((pl.col("check") == "utility") & pl.col("value").is_not_null()).height >= 1


def test_risk_and_utility_fall_along_the_ladder(risk):
    risks = [risk_score(risk[c]) for c in LADDER]
    utils = [utility_score(risk[c]) for c in LADDER]
    assert all(a > b for a, b in itertools.pairwise(risks)), dict(zip(LADDER, risks, strict=True))
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(utils)), dict(zip(LADDER, utils, strict=True))
    assert utils[0] == utils[1] == 1.0     # pseudonyms consistent across tables keep every query exact
    assert utils[3] < utils[2]             # k-anonymous users lose marginals over country, role, account type
    assert utils[-1] < 0.2                 # 8 weekly counts answer almost none of the queries
    entropy = {c: value(risk[c], "utility", "entropy_retained", column="event_time") for c in LADDER[:3]}
    assert entropy["generalize"] < entropy["pseudonymize"] == 1.0   # hourly buckets cost what pseudonyms do not
