"""The example GitHub Actions workflow: triggers, the harness command, job summary, artifact, gate."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[3] / ".github" / "workflows" / "anonbench.yml"


def test_workflow():
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    paths = triggers["pull_request"]["paths"]
    assert "anonymizers/**" in paths and "configs/chains/**" in paths
    steps = wf["jobs"]["harness"]["steps"]
    text = WORKFLOW.read_text()
    assert "anonbench run --config configs/ci.yaml" in text
    summary = next(s for s in steps if s.get("name") == "Job summary")
    assert summary["if"] == "always()" and "GITHUB_STEP_SUMMARY" in summary["run"]
    assert "summary.md" in summary["run"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"].endswith("/report/")
    assert steps[-1]["name"] == "Gate" and 'exit "${code:-3}"' in steps[-1]["run"]
    assert wf["permissions"] == {"contents": "read", "actions": "read"}  # read-only; actions: main's artifact


def test_workflow_keeps_mains_summary_as_the_baseline():
    wf = yaml.safe_load(WORKFLOW.read_text())
    triggers = wf[True] if True in wf else wf["on"]
    assert triggers["push"]["branches"] == ["main"]
    steps = {s.get("name"): s for s in wf["jobs"]["harness"]["steps"]}
    keep = steps["Keep the baseline (main)"]
    assert keep["with"]["name"] == "anonbench-baseline" and keep["with"]["path"].endswith("report/summary.json")
    assert "github.event_name == 'push'" in keep["if"]
    assert "-n anonbench-baseline" in steps["Download main's baseline (pull requests)"]["run"]
    assert "check --run \"$RUN_DIR\" --baseline baseline/summary.json" in steps["Compare with main's baseline"]["run"]
    assert "steps.baseline.outputs.exit" in steps["Gate"]["run"]
