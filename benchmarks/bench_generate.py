"""Generation benchmark (issue: generation): `anonbench generate` at 1M and 10M events, and three references
measured in the same run: (a) a naive Beam pipeline with one Faker call per field per event, (b) the same
generator code in a bare single-process loop writing with pyarrow, (c) pyarrow writing already-generated
event tables (the sink, the physical limit). Targets on 2 cores: >= 300,000 events/s end to end at 10M;
>= 100x (a); >= 0.8x (b); peak RSS < 1.5 GB and within 20% between 1M and 10M.

The 10M run is left at `runs/bench/gen-<N>` and exported as ANONBENCH_BENCH_RUN for later benchmarks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.measure import ROOT, anonbench, dir_bytes, measure


def _reference(kind: str, n: int, out: Path) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run([sys.executable, "-m", "benchmarks.gen_references", kind, str(n), str(out)], cwd=ROOT,
                       capture_output=True, text=True, check=True)
    d = json.loads(r.stdout.strip().splitlines()[-1])
    d["events_per_s"] = round(d["events"] / d["seconds"])
    d["mb_per_s"] = round(dir_bytes(out) / 2**20 / d["seconds"], 1)
    shutil.rmtree(out, ignore_errors=True)
    return d


def run(work: Path, quick: bool) -> dict[str, Any]:
    sizes = [50_000, 200_000] if quick else [1_000_000, 10_000_000]
    results: dict[str, Any] = {"sizes": {}}
    for n in sizes:
        out = work / f"gen-{n}"
        m = measure(anonbench("generate", "--config", "configs/scale.yaml", "--events", str(n), "--out", str(out),
                              "--overwrite"))
        if m["returncode"] != 0:
            raise RuntimeError(f"generate {n} failed: {m['stderr_tail']}")
        man = json.loads((out / "manifest.json").read_text())
        raw_mb = dir_bytes(out / "raw") / 2**20
        all_mb = (dir_bytes(out / "raw") + dir_bytes(out / "truth")) / 2**20
        results["sizes"][str(n)] = {
            **m, "events": n, "events_per_s": round(n / m["seconds"]),
            "events_per_s_pipeline_only": round(n / man["generate"]["seconds"]),
            "raw_mb": round(raw_mb, 1), "mb_per_s": round(all_mb / m["seconds"], 1),
            "chunks": man["generate"]["chunks"],
        }
    big, small = results["sizes"][str(sizes[-1])], results["sizes"][str(sizes[0])]
    os.environ.setdefault("ANONBENCH_BENCH_RUN", str(work / f"gen-{sizes[-1]}"))
    naive_n = 2_000 if quick else 20_000
    ref_n = sizes[-1]
    refs = {
        "a_naive_beam_faker": _reference("naive", naive_n, work / "ref-naive"),
        "b_bare_loop": _reference("bare", min(ref_n, 2_000_000), work / "ref-bare"),
        "c_pyarrow_sink_events": _reference("sink", min(ref_n, 2_000_000), work / "ref-sink"),
    }
    results["references"] = refs
    eps = big["events_per_s"]
    results["ratios"] = {
        "vs_a_naive": round(eps / refs["a_naive_beam_faker"]["events_per_s"], 1),
        "vs_b_bare": round(eps / refs["b_bare_loop"]["events_per_s"], 2),
        "vs_c_sink": round(eps / refs["c_pyarrow_sink_events"]["events_per_s"], 3),
        "rss_10m_over_1m": round(big["peak_rss_tree_mb"] / max(small["peak_rss_tree_mb"], 1), 2),
    }
    results["targets"] = {
        "events_per_s_ge_300k": eps >= 300_000,
        "ge_100x_naive": results["ratios"]["vs_a_naive"] >= 100,
        "ge_0_8x_bare": results["ratios"]["vs_b_bare"] >= 0.8,
        "peak_rss_lt_1_5gb": big["peak_rss_tree_mb"] < 1536,
        "rss_within_20pct": abs(results["ratios"]["rss_10m_over_1m"] - 1) <= 0.2,
    }
    return results
