"""`anonbench check` end to end on fixture runs: exit 0/1/2, each breach named, summaries agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures_run import make_run

from anonbench.cli import app
from anonbench.config import CONFIG_DIR

pytestmark = pytest.mark.e2e
STRICT = CONFIG_DIR / "thresholds" / "strict.yaml"


def check(run: Path, *extra: str):
    return CliRunner().invoke(app, ["check", "--run", str(run), *extra])


def summary(run: Path) -> tuple[dict, str]:
    return (json.loads((run / "report" / "summary.json").read_text()),
            (run / "report" / "summary.md").read_text())


def test_default_run_passes(tmp_path):
    run = make_run(tmp_path / "run")
    res = check(run)
    assert res.exit_code == 0, res.output
    doc, md = summary(run)
    assert doc["passed"] is True and md.startswith("## anonbench: ✅ passed")
    assert "✅ caught" in res.stdout and "check passed" in res.stdout


def test_strict_file_fails_and_names_breaches(tmp_path):
    run = make_run(tmp_path / "run")
    res = check(run, "--thresholds", str(STRICT))
    assert res.exit_code == 1
    breaches = [line for line in res.stderr.splitlines() if line.startswith("BREACH ")]
    assert "BREACH chain generalize: check unicity, metric reidentified_share[p=4] (ci_high) = 0.07693, " \
           "threshold <= 0.01 (n=200)" in breaches
    doc, md = summary(run)
    assert doc["passed"] is False and doc["problems"] == [b.removeprefix("BREACH ") for b in breaches]
    assert all(b.removeprefix("BREACH ").replace("|", "\\|") in md for b in breaches)
    # back to the defaults: green again, and the summaries follow
    assert check(run).exit_code == 0 and summary(run)[0]["passed"] is True


def test_disabled_attack_lets_a_control_escape(tmp_path):
    run = make_run(tmp_path / "run", drop_checks={"none": ("leak_scan",)})
    res = check(run)
    assert res.exit_code == 1
    assert "BREACH control chain none escaped: check leak_scan did not run" in res.stderr
    doc, md = summary(run)
    assert doc["chains"]["none"]["passed"] is False and doc["chains"]["none"]["caught"] is False
    assert "| `none` | control | ❌ escaped |" in md


@pytest.mark.parametrize(("content", "message"), [
    ("quasi_identifiers.k: {min: many}\n", "bad.yaml: quasi_identifiers.k.min: must be a number"),
    ("unicity: 0.1\n", "bad.yaml: unicity: a threshold key is 'check.metric'"),
    ("a.b: [\n", "bad.yaml: line"),
])
def test_bad_thresholds_file_exits_2(tmp_path, content, message):
    run = make_run(tmp_path / "run")
    bad = tmp_path / "bad.yaml"
    bad.write_text(content)
    res = check(run, "--thresholds", str(bad))
    assert res.exit_code == 2
    assert message in res.stderr and "Traceback" not in res.stderr


def test_missing_run_exits_2(tmp_path):
    res = check(tmp_path / "nope")
    assert res.exit_code == 2 and "no such run directory" in res.stderr
