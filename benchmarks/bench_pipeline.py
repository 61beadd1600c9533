"""The whole default run (`anonbench run --config configs/default.yaml`), with the share of wall time per
stage (from the manifest's `run.stages`). Targets: under 3 minutes on 2 cores; GX validation under 40%."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.measure import anonbench, measure


def run(work: Path, quick: bool) -> dict[str, Any]:
    config = "configs/ci.yaml" if quick else "configs/default.yaml"
    out = work / ("pipeline-quick" if quick else "pipeline-default")
    m = measure(anonbench("run", "--config", config, "--out", str(out), "--overwrite"), env={"ANONBENCH_KEY": ""})
    if m["returncode"] not in (0, 1):
        raise RuntimeError(f"run failed: {m['stderr_tail']}")
    man = json.loads((out / "manifest.json").read_text())
    stages = man["run"]["stages"]
    total = man["run"]["total_seconds"]
    grouped: dict[str, float] = {}
    for name, secs in stages.items():
        grouped[name.split(" ")[0]] = grouped.get(name.split(" ")[0], 0.0) + secs
    return {
        "config": config, "events": man["generate"]["events"], **m,
        "check_exit_code": m["returncode"], "stages_seconds": stages,
        "share_of_wall_time": {k: round(v / total, 3) for k, v in grouped.items()},
        "targets": {"under_180_s": m["seconds"] < 180,
                    "validation_under_40pct": grouped.get("validate", 0.0) / total < 0.4},
    }
