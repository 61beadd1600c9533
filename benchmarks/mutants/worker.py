"""One mutant's gate run, in one interpreter (started by the runner with the mutant's environment, so a code
mutant's ``sitecustomize`` is already applied when this module runs).

    python -m benchmarks.mutants.worker JOBS.json

``JOBS.json`` lists jobs ``{"run": RUN, "chains": [REF, ...], "baseline": B or null, "result": FILE,
"stop_early": bool, "judged": [NAME, ...]}``, done in order. For every chain of a job: ``anonymize --run RUN
--chain REF``, ``validate --run RUN --chain REF``, ``attack --run RUN --chain NAME``; then ``check --run RUN
[--baseline B]`` (``check`` re-renders the report, so ``RUN/report/summary.json`` says what the gate said).
With ``stop_early`` (a privacy-weakening mutant) each chain is anonymized, attacked with the cheap checks
(:data:`FAST_CHECKS`) and gated (the checks not run yet count as nothing, not as "not measured"), then attacked
with every check and gated, and validated (then gated again) only when the gate found nothing — each stage can
only add problems (the first gate sets aside only the "did not run" lines of the checks not run yet) — and the
job stops at the first chain the gate flags: one flagged chain kills the mutant, the rest could only confirm it. A
harmless mutant runs every chain in full and the gate once. A chain is flagged when the gate names it in a problem (a breach, a figure not
measured, a regression against the baseline); only chains listed in ``judged`` count (the runner leaves out
chains the unmutated baseline already fails on). The run copy holds the baseline's outputs of every chain,
so the gate after a chain sees the chains not yet run as the baseline had them. Each command goes through the
real CLI (``anonbench.cli.app``) and its exit code is recorded; one interpreter for all of them saves the
seconds of importing Beam, Great Expectations and PipelineDP again for every command. Chain mutants share one
worker per batch (their chains are YAML files, the code is the checkout's); a code mutant has a worker of its
own, started with its ``sitecustomize``.
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


ONE_WORKER = ("--direct_num_workers=1",)
"""Beam's in-process runner in this process: the mutants already run ``--jobs`` at a time, and worker
processes would pay the start-up and the pickling of every bundle (the output is byte-identical)."""
FAST_CHECKS = ("leak_scan", "dictionary", "passthrough", "quasi_identifiers", "unicity", "dp_audit")
"""The attack's first pass for a weakening mutant: the checks that are cheap and kill most mutants."""


def flagged(run_dir: Path, chains: list[str], measured_only: bool = False) -> dict[str, list[str]]:
    """The gate's problems in ``RUN/report/summary.json`` that name one of ``chains``, per chain.
    ``measured_only``: leave out the "did not run" lines (after a partial attack: the checks not run yet); a
    check of the partial attack that raised or ran short still counts."""
    summary = run_dir / "report" / "summary.json"
    problems = json.loads(summary.read_text()).get("problems", []) if summary.is_file() else []
    out: dict[str, list[str]] = {}
    for p in problems:
        if measured_only and " not measured: did not run" in p and not p.startswith("REGRESSION "):
            continue
        for c in chains:
            if p.startswith((f"chain {c}:", f"REGRESSION chain {c}:")):
                out.setdefault(c, []).append(p)
    return out


def fast_config(run_dir: Path) -> Path:
    """The run's recorded config with the attacks limited to :data:`FAST_CHECKS` (written beside the run)."""
    import yaml

    config = dict(json.loads((run_dir / "manifest.json").read_text()).get("config") or {})
    attacks = dict(config.get("attacks") or {})
    attacks["checks"] = [c for c in attacks.get("checks", FAST_CHECKS) if c in FAST_CHECKS]
    config["attacks"] = attacks
    path = run_dir.parent / "fast-attack.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run(run_dir: Path, chains: list[str], baseline: str | None, stop_early: bool = False,
        judged: list[str] | None = None) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []

    def step(*args: str) -> int:
        t0 = time.perf_counter()
        code, tail = cli(list(args))
        steps.append({"args": list(args), "exit": code, "seconds": round(time.perf_counter() - t0, 2),
                      "output": tail if code not in (0,) else ""})
        return code

    judged = list(judged) if judged is not None else [chain_name(r) for r in chains]
    error, check_exit, ran, problems = None, None, [], {}

    def gate(partial: bool = False) -> bool:
        """Run the gate; True when it flags a judged chain run so far (or broke: ``error`` set)."""
        nonlocal check_exit, problems, error
        check_exit = step("check", "--run", str(run_dir), *(["--baseline", baseline] if baseline else []))
        if check_exit not in (0, 1):
            error = f"check exited {check_exit}"
            return True
        problems = flagged(run_dir, [c for c in ran if c in judged], measured_only=partial)
        return bool(problems)

    for i, ref in enumerate(chains):
        name = chain_name(ref)
        if step("anonymize", "--run", str(run_dir), "--chain", ref, *ONE_WORKER) != 0:
            error = f"anonymize {name} failed"
            break
        # a weakening mutant is attacked and gated first (validation can only add problems, so a chain the
        # gate already flags with the baseline's validation results needs no validation); the contract check
        # follows only when nothing was found
        if stop_early:
            # the cheap checks first (a figure they breach or worsen kills the mutant; the checks not run yet
            # are "not measured" in this gate, which does not count), then every check
            if step("attack", "--run", str(run_dir), "--chain", name, "--config", str(fast_config(run_dir))) != 0:
                error = f"attack {name} failed"
                break
            ran.append(name)
            if gate(partial=True):
                break
            if step("attack", "--run", str(run_dir), "--chain", name) != 0:
                error = f"attack {name} failed"
                break
            if gate():
                break
        # exit 1 = a failed expectation: a finding the gate judges; 2 or 3 = the run is broken
        if step("validate", "--run", str(run_dir), "--chain", ref, *ONE_WORKER) not in (0, 1):
            error = f"validate {name} failed"
            break
        if not stop_early:
            if step("attack", "--run", str(run_dir), "--chain", name) != 0:
                error = f"attack {name} failed"
                break
            ran.append(name)
        if (stop_early or i == len(chains) - 1) and gate() and stop_early:
            break
    return {"steps": steps, "check_exit": check_exit, "error": error, "chains_run": ran, "flagged": problems}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("jobs", type=Path, help="JSON list of {run, chains, baseline, result}")
    a = ap.parse_args(argv)
    for job in json.loads(a.jobs.read_text()):
        t0 = time.perf_counter()
        out = run(Path(job["run"]), list(job["chains"]), job.get("baseline"), bool(job.get("stop_early")),
                  job.get("judged"))
        out["seconds"] = round(time.perf_counter() - t0, 2)
        Path(job["result"]).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
