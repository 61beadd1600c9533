"""`make bench`: run every `benchmarks/bench_*.py` and write `benchmarks/results/<name>.json`.

    python -m benchmarks.run [--quick] [--only generate,attack]

The generation benchmark runs first and leaves its large run at `runs/bench/`; the later benchmarks reuse it
through `ANONBENCH_BENCH_RUN` (unless already set), so 10M events are generated once.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORK = HERE.parent / "runs" / "bench"


def modules() -> list[str]:
    names = sorted(p.stem for p in HERE.glob("bench_*.py"))
    # generation first: the others reuse its run
    return sorted(names, key=lambda n: (n != "bench_generate", n))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes: checks the benchmarks run")
    ap.add_argument("--only", default="", help="comma-separated benchmark names (e.g. generate,attack)")
    args = ap.parse_args(argv)
    only = {f"bench_{n.strip()}" for n in args.only.split(",") if n.strip()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("ANONBENCH_KEY", "benchmark-only-key-not-a-secret-0123456789")
    machine = {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
               "python": platform.python_version(), "platform": platform.platform()}
    failed = []
    for name in modules():
        if only and name not in only:
            continue
        mod = importlib.import_module(f"benchmarks.{name}")
        print(f"== {name} ({'quick' if args.quick else 'full'})", flush=True)
        t0 = time.perf_counter()
        try:
            result = mod.run(WORK, args.quick)
        except Exception as e:  # keep going: one broken benchmark must not hide the others
            failed.append(name)
            result = {"error": f"{type(e).__name__}: {e}"}
        else:
            if "error" in result:  # the benchmark measured what it could and says what failed
                failed.append(name)
        result = {"benchmark": name, "quick": args.quick, "machine": machine,
                  "wall_seconds": round(time.perf_counter() - t0, 1), **result}
        out = RESULTS / f"{name.removeprefix('bench_')}{'-quick' if args.quick else ''}.json"
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2, default=str) + "\n")
        tmp.replace(out)
        print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1, default=str)[:3000],
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
