"""`check --baseline` on real runs: no false alarm on other seeds, and a clearly worse chain is caught.

One baseline run (seed 11) and five runs of the same chains on other seeds, computed once for the module:
none of their cells may regress (the false-alarm half of issue 9's "done when" 2) — every check included
(passthrough, the weak-key dictionary attack, dp_audit's declared epsilon and accounting). Other seeds are other
populations: the comparison scales each check's test variance by the dispersion its cells show
(``anonbench.report.regression.dispersion``); without it perturb's unicity at one known hour (seed 12 against 11:
unique_share at p=1 6/447 -> 33/454, z = 4.4) was a false alarm. Then the baseline run's
`generalize` is re-made without its generalization steps (pseudonyms only: a dropped step) and attacked
again: the comparison must name the profile-linkage cells that got worse, with both figures and the p-value.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from anonbench.config import CONFIG_DIR
from tests.conftest import run_cli

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CI = yaml.safe_load((CONFIG_DIR / "ci.yaml").read_text())
# every candidate of configs/ci.yaml (dp-synthetic included), at its size and with its attack settings; the
# controls (none, naive-hash) are never compared with a baseline
CHAINS = [c for c in CI["chains"] if c not in ("none", "naive-hash")]
BASE_SEED = 11
OTHER_SEEDS = (12, 13, 14, 15, 16)
KEY = {"ANONBENCH_KEY": "gate-test-key-0123456789abcdef"}


def _config(path: Path, seed: int) -> Path:
    path.write_text(yaml.safe_dump({**CI, "name": f"gate-{seed}", "seed": seed, "chains": CHAINS,
                                    "validation": {"enabled": False}}))
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("gate")
    out = {}
    for seed in (BASE_SEED, *OTHER_SEEDS):
        run = root / f"run-{seed}"
        r = run_cli("run", "--config", str(_config(root / f"c{seed}.yaml", seed)), "--out", str(run), env=KEY)
        assert r.returncode == 0, r.stderr[-2000:]
        out[seed] = run
    return out


@pytest.mark.parametrize("seed", OTHER_SEEDS)
def test_other_seeds_raise_no_false_alarm(runs, seed):
    r = run_cli("check", "--run", str(runs[seed]), "--baseline", str(runs[BASE_SEED] / "report" / "summary.json"))
    regressed = [ln for ln in r.stderr.splitlines() if ln.startswith("REGRESSION ")]
    assert r.returncode == 0 and not regressed, r.stderr
    doc = json.loads((runs[seed] / "report" / "summary.json").read_text())
    assert doc["baseline"]["compared"] > 50 and doc["baseline"]["regressed"] == 0
    assert doc["baseline"]["same_targets"] is False
    # another population: each check's tests carry the dispersion its cells show (never below 1)
    assert doc["baseline"]["dispersion"] and min(doc["baseline"]["dispersion"].values()) >= 1.0
    compared = {(c["check"], c["metric"]) for ch in doc["chains"].values() for c in ch.get("checks", [])}
    assert {("passthrough", "exact_share"), ("dp_audit", "epsilon_claimed")} <= compared


@pytest.mark.parametrize("seed", [BASE_SEED, OTHER_SEEDS[0]])
def test_a_dropped_generalization_step_is_a_regression(runs, tmp_path, seed):
    """On the baseline's own targets, and on another population (where the dispersion factor applies)."""
    run = tmp_path / "worse"
    shutil.copytree(runs[seed], run)
    chain = yaml.safe_load((CONFIG_DIR / "chains" / "generalize.yaml").read_text())
    chain["steps"] = [s for s in chain["steps"] if s["use"] in ("pseudonymize.hmac", "drop")]
    worse = tmp_path / "generalize.yaml"
    worse.write_text(yaml.safe_dump(chain))
    assert run_cli("anonymize", "--run", str(run), "--chain", str(worse), env=KEY).returncode == 0
    assert run_cli("attack", "--run", str(run), "--chain", "generalize").returncode == 0
    r = run_cli("check", "--run", str(run), "--baseline", str(runs[BASE_SEED]))
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("REGRESSION ")]
    assert lines and all(ln.startswith("REGRESSION chain generalize: ") for ln in lines), lines
    top1 = next(ln for ln in lines if "profile_linkage.top1_accuracy" in ln)
    assert " -> now " in top1 and "score test" in top1 and "p = " in top1
    doc = json.loads((run / "report" / "summary.json").read_text())
    assert bool(doc["baseline"]["dispersion"]) is (seed != BASE_SEED)
    assert doc["baseline"]["same_targets"] is (seed == BASE_SEED) and doc["passed"] is False
