"""One mutant's gate run, in one interpreter (started by the runner with the mutant's environment, so a code
mutant's ``sitecustomize`` is already applied when this module runs).

    python -m benchmarks.mutants.worker JOBS.json

``JOBS.json`` lists jobs ``{"run": RUN, "chains": [REF, ...], "baseline": B or null, "result": FILE}``, done in
order. For every chain of a job: ``anonymize --run RUN --chain REF``, ``validate --run RUN --chain REF``, ``attack --run RUN
--chain NAME``; then ``check --run RUN [--baseline B]`` (``check`` re-renders the report, so
``RUN/report/summary.json`` says what the gate said). Each command goes through the real CLI
(``anonbench.cli.app``) and its exit code is recorded; one interpreter for all of them saves the seconds of
importing Beam, Great Expectations and PipelineDP again for every command. Chain mutants share one worker per
batch (their chains are YAML files, the code is the checkout's); a code mutant has a worker of its own, started
with its ``sitecustomize``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import time
from pathlib import Path
from typing import Any


def cli(args: list[str]) -> tuple[int, str]:
    """Run one ``anonbench`` command in-process; (exit code, its last lines of output)."""
    from anonbench.cli import app

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            code = app(args, standalone_mode=False)
        except SystemExit as e:  # typer.Exit is mapped to a return value; a bare sys.exit is not
            code = e.code if isinstance(e.code, int) else 1
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    return int(code or 0), "\n".join(lines[-40:])


def chain_name(ref: str) -> str:
    if ref.endswith((".yaml", ".yml")):
        import yaml

        return str(yaml.safe_load(Path(ref).read_text())["name"])
    return ref


def run(run_dir: Path, chains: list[str], baseline: str | None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    def step(*args: str) -> int:
        t0 = time.perf_counter()
        code, tail = cli(list(args))
        steps.append({"args": list(args), "exit": code, "seconds": round(time.perf_counter() - t0, 2),
                      "output": tail if code not in (0,) else ""})
        return code

    error = None
    for ref in chains:
        if step("anonymize", "--run", str(run_dir), "--chain", ref) != 0:
            error = f"anonymize {chain_name(ref)} failed"
            break
        # exit 1 = a failed expectation: a finding the gate judges below; 2 or 3 = the run is broken
        if step("validate", "--run", str(run_dir), "--chain", ref) not in (0, 1):
            error = f"validate {chain_name(ref)} failed"
            break
        if step("attack", "--run", str(run_dir), "--chain", chain_name(ref)) != 0:
            error = f"attack {chain_name(ref)} failed"
            break
    check_exit = None
    if error is None:
        args = ["check", "--run", str(run_dir)] + (["--baseline", baseline] if baseline else [])
        check_exit = step(*args)
        if check_exit not in (0, 1):
            error = f"check exited {check_exit}"
    return {"steps": steps, "check_exit": check_exit, "error": error}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("jobs", type=Path, help="JSON list of {run, chains, baseline, result}")
    a = ap.parse_args(argv)
    for job in json.loads(a.jobs.read_text()):
        t0 = time.perf_counter()
        out = run(Path(job["run"]), list(job["chains"]), job.get("baseline"))
        out["seconds"] = round(time.perf_counter() - t0, 2)
        Path(job["result"]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
