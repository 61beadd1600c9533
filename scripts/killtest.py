"""Kill test: SIGKILL `generate`, `anonymize`, `validate` and `attack` at random moments and at each commit
point, and check that no run directory is ever damaged.

    python -m scripts.killtest [--kills 20] [--events 20000] [--out benchmarks/results/killtest.json]

A small base run (`anonbench run`, chains `none` and `generalize`) is made first. Each stage then works on
its own copy, which already holds a complete earlier result of that stage: `generate --overwrite`,
`anonymize --chain generalize`, `validate` (raw and all chains) and `attack --chain generalize`. For each
stage, the script measures one uninterrupted run (T seconds), then kills the stage's process group with
SIGKILL at ``--kills`` moments drawn uniformly from [0, T] (attempts that finish before their moment do not
count, and shorten T to their duration), each attempt starting from what the previous kill left; then at each commit point (``ANONBENCH_KILLPOINT``: the process stops itself there and is killed),
each followed by a rerun that must complete. After every kill it checks:

* the run has a manifest (an earlier complete run was there, so one must always be);
* every file the manifest lists is there with its bytes, sha256 and rows, no temporary name is listed, and
  nothing unlisted is inside the run (``pipelines.integrity.verify_run``);
* every earlier result the stage does not replace is listed with the same sha256 as before (for
  ``generate``, which is deterministic: the raw and truth files), and the stage's own section is there.

After each rerun it checks the same and that nothing is left beside the run. It prints a table and writes
``--out`` (JSON); the exit code is 1 when any run was damaged or a rerun did not complete.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines import manifest  # noqa: E402
from pipelines.commit import KILLPOINT_ENV  # noqa: E402
from pipelines.integrity import verify_run  # noqa: E402

COMMIT_POINTS = ("commit-begin", "commit-built", "commit-swapped")
STAGES = ("generate", "anonymize", "validate", "attack")
CHAIN, OTHER = "generalize", "none"
RERUN_OK = (0, 1)  # 1: a check failed (validate, a control chain), the stage itself completed


@dataclass
class Trial:
    kind: str          # "random" or a commit point, or "rerun"
    at: float | None   # seconds after start of the kill (random), else None
    outcome: str       # "killed", "exit N" (finished before the kill), "not reached"
    problems: list[str] = field(default_factory=list)


@dataclass
class StageReport:
    stage: str
    stage_seconds: float
    trials: list[Trial] = field(default_factory=list)

    @property
    def damaged(self) -> int:
        return sum(1 for t in self.trials if t.problems)


def config_text(events: int) -> str:
    """A small run; one Beam worker (starting worker processes would dwarf the work at this size)."""
    return (f"name: killtest\nseed: 11\ngenerate:\n  events: {events}\n  days: 14\n"
            f"  events_per_chunk: {max(events // 4, 1000)}\nchains: [{OTHER}, {CHAIN}]\n"
            'runner:\n  options: ["--direct_num_workers=1"]\n')


def stage_args(stage: str, run: Path, config: Path) -> list[str]:
    return {"generate": ["generate", "--config", str(config), "--out", str(run), "--overwrite"],
            "anonymize": ["anonymize", "--run", str(run), "--chain", CHAIN],
            "validate": ["validate", "--run", str(run)],
            "attack": ["attack", "--run", str(run), "--chain", CHAIN]}[stage]


def owned(stage: str) -> tuple[str, ...]:
    """Prefixes of the files a stage replaces (the rest must stay byte for byte)."""
    return {"generate": ("anon/", "risk/", "validation/", "report/"), "anonymize": (f"anon/{CHAIN}/",),
            "validate": ("validation/",), "attack": (f"risk/{CHAIN}/",)}[stage]


def own_section(stage: str, man: dict[str, Any]) -> bool:
    return {"generate": lambda: bool(man.get("generate")),
            "anonymize": lambda: CHAIN in (man.get("chains") or {}),
            "validate": lambda: bool(man.get("validation")),
            "attack": lambda: CHAIN in (man.get("risk") or {})}[stage]()


def protected(stage: str, run: Path) -> dict[str, str]:
    return {f["path"]: f["sha256"] for f in manifest.load(run)["files"] if not f["path"].startswith(owned(stage))}


def problems(stage: str, run: Path, keep: dict[str, str], rerun: bool = False) -> list[str]:
    """Everything that says the run is damaged (empty: intact)."""
    if not manifest.is_complete(run):
        return ["no manifest: the earlier complete run is gone"]
    out = [p.line() for p in verify_run(run)]
    man = manifest.load(run)
    listed = {f["path"]: f["sha256"] for f in man.get("files", [])}
    out += [f"temporary name listed: {p}" for p in listed if any(s.startswith(".") for s in p.split("/"))]
    out += [f"earlier result changed or gone: {p}" for p, sha in keep.items()
            if (stage != "generate" or p.startswith(("raw/", "truth/"))) and listed.get(p) != sha]
    if not own_section(stage, man):
        out.append(f"the {stage} section of the manifest is gone")
    if rerun:
        out += [f"left beside the run: {p.name}" for p in run.parent.iterdir() if p.name.startswith(f".{run.name}.")]
    return out


def cli(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as f:
        return subprocess.Popen([sys.executable, "-m", "anonbench.cli", *args], cwd=REPO, env=env, stdout=f,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _reap(proc: subprocess.Popen, kill: bool) -> int:
    if kill:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait()


def run_to_end(args: list[str], env: dict[str, str], log: Path, timeout: float = 900) -> tuple[int, float]:
    t0 = time.perf_counter()
    proc = cli(args, env, log)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = _reap(proc, kill=True)
    return code, time.perf_counter() - t0


def kill_after(args: list[str], env: dict[str, str], log: Path, seconds: float) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = cli(args, env, log)
    try:
        code = proc.wait(timeout=seconds)
        return f"exit {code}", time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        _reap(proc, kill=True)
        return "killed", seconds


def kill_at_point(args: list[str], env: dict[str, str], log: Path, point: str, timeout: float) -> str:
    """Run until the process stops itself at ``point`` (SIGSTOP), then SIGKILL its process group."""
    proc = cli(args, {**env, KILLPOINT_ENV: point}, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, status = os.waitpid(proc.pid, os.WUNTRACED | os.WNOHANG)
        if pid and os.WIFSTOPPED(status):
            os.killpg(proc.pid, signal.SIGKILL)
            os.waitpid(proc.pid, 0)
            proc.returncode = -9
            return "killed"
        if pid:  # it exited without reaching the point
            proc.returncode = os.waitstatus_to_exitcode(status)
            return f"not reached (exit {proc.returncode})"
        time.sleep(0.02)
    _reap(proc, kill=True)
    return "not reached (timeout)"


def test_stage(stage: str, base: Path, work: Path, config: Path, env: dict[str, str], kills: int,
               points: tuple[str, ...], rng: random.Random, log: Path) -> StageReport:
    run = work / f"run-{stage}"
    shutil.copytree(base, run, symlinks=True)
    keep = protected(stage, run)
    args = stage_args(stage, run, config)
    code, seconds = run_to_end(args, env, log)
    report = StageReport(stage, round(seconds, 2))
    report.trials.append(Trial("rerun", None, f"exit {code}", problems(stage, run, keep, rerun=True)
                               + ([] if code in RERUN_OK else [f"exit {code}"])))
    landed = attempts = 0
    horizon = seconds
    while landed < kills and attempts < 3 * kills:  # ``kills`` kills that land (a run may finish first)
        attempts += 1
        at = rng.uniform(0, horizon)
        outcome, took = kill_after(args, env, log, at)
        if outcome == "killed":
            landed += 1
        else:  # it ran faster than the first time: draw later moments from the shorter span
            horizon = min(horizon, took)
        report.trials.append(Trial("random", round(at, 2), outcome, problems(stage, run, keep)))
    for point in points:
        outcome = kill_at_point(args, env, log, point, timeout=max(20 * seconds, 300))
        found = problems(stage, run, keep) + ([f"{point}: {outcome}"] if outcome != "killed" else [])
        report.trials.append(Trial(point, None, outcome, found))
        code, _ = run_to_end(args, env, log)
        report.trials.append(Trial("rerun", None, f"exit {code}", problems(stage, run, keep, rerun=True)
                                   + ([] if code in RERUN_OK else [f"rerun exit {code}"])))
    if not points:  # the random kills end with a rerun that must complete
        code, _ = run_to_end(args, env, log)
        report.trials.append(Trial("rerun", None, f"exit {code}", problems(stage, run, keep, rerun=True)
                                   + ([] if code in RERUN_OK else [f"rerun exit {code}"])))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="random SIGKILLs per stage")
    ap.add_argument("--points", default=",".join(COMMIT_POINTS), help="commit points to kill at (comma list)")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    ap.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "killtest.json")
    a = ap.parse_args(argv)
    points = tuple(p for p in a.points.split(",") if p)
    unknown = set(points) - set(COMMIT_POINTS) or set(a.stages.split(",")) - set(STAGES)
    if unknown:
        ap.error(f"unknown: {', '.join(sorted(unknown))}")
    rng = random.Random(a.seed)
    env = {**os.environ, "ANONBENCH_KEY": secrets.token_hex(32), "GX_ANALYTICS_ENABLED": "False",
           "PYTHONPATH": str(REPO)}
    env.pop(KILLPOINT_ENV, None)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="killtest-", dir=a.work) as tmp:
        work = Path(tmp)
        log = work / "cli.log"
        config = work / "killtest.yaml"
        config.write_text(config_text(a.events))
        base = work / "base"
        code, base_seconds = run_to_end(["run", "--config", str(config), "--out", str(base)], env, log)
        if code not in RERUN_OK or verify_run(base):
            print(f"killtest: the base run failed (exit {code}); log:\n{log.read_text()[-3000:]}", file=sys.stderr)
            return 2
        reports = [test_stage(s, base, work, config, env, a.kills, points, rng, log)
                   for s in a.stages.split(",")]
    total = sum(r.damaged for r in reports)
    rows = []
    print(f"{'stage':<10} {'T (s)':>6} {'random kills':>12} {'finished first':>14} {'commit-point kills':>18} "
          f"{'reruns ok':>9} {'damaged':>7}")
    for r in reports:
        rand = [t for t in r.trials if t.kind == "random"]
        pts = [t for t in r.trials if t.kind in COMMIT_POINTS]
        reruns = [t for t in r.trials if t.kind == "rerun"]
        row = {"stage": r.stage, "stage_seconds": r.stage_seconds,
               "random_kills": sum(1 for t in rand if t.outcome == "killed"), "random_attempts": len(rand),
               "finished_before_kill": sum(1 for t in rand if t.outcome != "killed"),
               "commit_point_kills": sum(1 for t in pts if t.outcome == "killed"),
               "reruns": len(reruns), "reruns_ok": sum(1 for t in reruns if not t.problems), "damaged": r.damaged}
        rows.append(row)
        print(f"{r.stage:<10} {r.stage_seconds:>6.1f} {row['random_kills']:>12} {row['finished_before_kill']:>14} "
              f"{row['commit_point_kills']:>18} {row['reruns_ok']:>4}/{len(reruns):<4} {r.damaged:>7}")
        for t in r.trials:
            for p in t.problems[:5]:
                print(f"  DAMAGED {r.stage} {t.kind} at {t.at}: {p}")
    result = {"events": a.events, "kills_per_stage": a.kills, "commit_points": list(points), "seed": a.seed,
              "base_run_seconds": round(base_seconds, 2), "seconds": round(time.perf_counter() - t0, 1),
              "damaged_runs": total, "stages": rows,
              "trials": {r.stage: [asdict(t) for t in r.trials] for r in reports}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{total} damaged runs; {result['seconds']:.0f} s; wrote {a.out}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
