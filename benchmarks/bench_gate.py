"""Benchmark of the CI gate with a baseline: ``anonbench run`` + ``check --baseline`` vs a plain ``anonbench run``.

Both on ``configs/ci.yaml`` (a 20k-event copy when quick), in one benchmark run:

* *plain*: ``anonbench run`` (generate, anonymize, validate, attack, report, check) on the config with every
  check but ``dp_audit`` -- the run as it was before the DP audit joined the gate (issue 9's reference);
* *gate*: ``anonbench run`` on the config as it is (``dp_audit`` included: declared epsilon, accounting, fresh
  noise per release, noise scale) into a second folder, then ``anonbench check --baseline`` against the plain
  run's ``report/summary.json`` (as a pull request's job does against main's artifact).

``ratio`` = gate / plain (target: at most 1.5). Since two whole runs on a shared machine differ by noise that
can exceed the comparison's own cost, ``ratio_same_run`` = (plain + the ``check --baseline``) / plain is
reported too: the gate's extra cost on one and the same run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from benchmarks.measure import ROOT, anonbench, measure
from reid.params import CHECKS

TARGET = 1.5


def _config(work: Path, quick: bool, dp_audit: bool) -> Path:
    """configs/ci.yaml (a 20k-event copy when quick), with or without the ``dp_audit`` check."""
    source = ROOT / "configs" / "ci.yaml"
    if not quick and dp_audit:
        return source
    cfg = yaml.safe_load(source.read_text())
    if quick:
        cfg["generate"] = {**cfg.get("generate", {}), "events": 20000, "events_per_chunk": 10000}
    if not dp_audit:
        attacks = cfg.setdefault("attacks", {})
        attacks["checks"] = [c for c in attacks.get("checks", CHECKS) if c != "dp_audit"]
    path = work / f"gate-ci{'-quick' if quick else ''}{'' if dp_audit else '-no-dp-audit'}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def run(out_dir: Path, quick: bool) -> dict[str, Any]:
    plain_config, config = _config(out_dir, quick, dp_audit=False), _config(out_dir, quick, dp_audit=True)
    plain_dir, gate_dir = out_dir / "gate-plain", out_dir / "gate-baseline"
    for d in (plain_dir, gate_dir):
        shutil.rmtree(d, ignore_errors=True)
    plain = measure(anonbench("run", "--config", str(plain_config), "--out", str(plain_dir)))
    baseline = plain_dir / "report" / "summary.json"
    gate_run = measure(anonbench("run", "--config", str(config), "--out", str(gate_dir)))
    check = measure(anonbench("check", "--run", str(gate_dir), "--baseline", str(baseline)))
    compared = json.loads((gate_dir / "report" / "summary.json").read_text()).get("baseline") or {}
    gate_seconds = gate_run["seconds"] + check["seconds"]
    ratio = gate_seconds / max(plain["seconds"], 1e-9)
    same_run = (plain["seconds"] + check["seconds"]) / max(plain["seconds"], 1e-9)
    return {"config": str(config.relative_to(ROOT) if config.is_relative_to(ROOT) else config.name),
            "plain_run": plain, "gate_run": gate_run, "check_baseline": check,
            "gate_seconds": round(gate_seconds, 3), "ratio": round(ratio, 3),
            "ratio_same_run": round(same_run, 3), "target_ratio": TARGET,
            "within_target": ratio <= TARGET and same_run <= TARGET,
            "cells_compared": compared.get("compared"), "cells_regressed": compared.get("regressed"),
            "same_targets": compared.get("same_targets"),
            "dp_audit": {"plain": False, "gate": True},
            "note": "plain = anonbench run without dp_audit (the run before the DP audit joined the gate); gate = "
                    "anonbench run with every check, dp_audit included, plus check --baseline"}
