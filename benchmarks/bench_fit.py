"""Benchmark of ``anonbench fit``: a 1M-event log in a foreign schema (renamed columns, text times with UTC
offsets, an extra column; the import benchmark's file) fitted as a whole process, without the comparison run.

Target (issue 10): ``fit`` on 1M events < 30 s.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from benchmarks.bench_import import MAP, _log
from benchmarks.measure import ROOT, anonbench, measure

TARGET_SECONDS = 30.0


def run(work: Path, quick: bool) -> dict[str, Any]:
    events = 100_000 if quick else 1_000_000
    src = work / f"import-src-{events}"
    if not (src / "manifest.json").is_file():
        subprocess.run([*anonbench("generate", "--config", "configs/default.yaml", "--events", str(events),
                                   "--out", str(src), "--overwrite")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    scratch = work / "fit-bench"
    scratch.mkdir(parents=True, exist_ok=True)
    if not (scratch / "log.parquet").is_file():
        _log(src, scratch, events)
    res = measure(anonbench("fit", "--events", str(scratch / "log.parquet"), "--map", MAP,
                            "--out", str(scratch / "fitted.yaml"), "--no-compare"))
    return {"events": events, "fit": res, "target_max_seconds": TARGET_SECONDS,
            "met": bool(res["returncode"] == 0 and res["seconds"] < TARGET_SECONDS)}
