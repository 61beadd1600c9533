"""``anonbench run``: generate, then anonymize, validate and attack every chain of the config; report; check.

The exit code is ``check``'s: 0 when candidates pass and controls are caught, 1 otherwise. Wall time per
stage is recorded in the manifest (``run.stages``) so benchmarks can report where the time goes.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from anonbench.config import load_run_config
from anonbench.errors import UsageError
from pipelines import manifest
from runformat import manifest as keys

console = Console(stderr=True)


class _Stages:
    """Times each stage and prints one progress line per stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.t0 = time.perf_counter()

    @contextlib.contextmanager
    def stage(self, name: str, what: str):
        start = time.perf_counter()
        with console.status(f"[bold]{name}[/]: {what}"):
            yield
        took = time.perf_counter() - start
        self.seconds[name] = self.seconds.get(name, 0.0) + took
        console.print(f"[green]✓[/] {name:<28} {took:6.1f} s  {what}")

    @property
    def total(self) -> float:
        return time.perf_counter() - self.t0


def _quietly(fn, *args: Any, **kw: Any) -> Any:
    """Run a command body whose own table output would drown the progress lines."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        return fn(*args, **kw)


def main(config: Path, out: Path, runner: str | None, overwrite: bool, beam_args: list[str]) -> int:
    from anonbench.commands import attack as attack_cmd
    from anonbench.commands.anonymize import run_chain
    from anonbench.commands.generate import generate
    from anonbench.commands.validate import validate
    from anonbench.report import check_run, write_report
    from anonbench.report.summary import verdict_word

    cfg = load_run_config(config)
    if not cfg.chains:
        raise UsageError(f"{config}: chains: the run config lists no chains")
    runner = runner or cfg.runner.name
    beam_args = list(cfg.runner.options) + list(beam_args)
    stages = _Stages()
    ephemeral: bytes | None = None
    if cfg.allow_ephemeral_key and not os.environ.get("ANONBENCH_KEY"):
        ephemeral = secrets.token_bytes(32)
        console.print("[yellow]ANONBENCH_KEY is not set: using a random key held in memory for this run only "
                      "(allow_ephemeral_key: true); pseudonyms will not match any other run.[/]")
    # Every chain is checked before any data moves: a bad chain or key fails in seconds, not after generation.
    from anonymizers.chain import ChainError
    from anonymizers.registry import PluginError
    from anonymizers.secrets import SecretError
    from pipelines.anonymize import check_chain

    for chain in cfg.chains:
        try:
            check_chain(chain, ephemeral_key=ephemeral)
        except (ChainError, SecretError, PluginError) as e:
            raise UsageError(f"{config}: chains: {e}") from None
    console.print(f"[bold]anonbench run[/] {cfg.name}: {cfg.generate.events:,} events, "
                  f"{len(cfg.chains)} chains -> {out}")
    with stages.stage("generate", f"{cfg.generate.events:,} events"):
        generate(cfg, out, runner, beam_args, overwrite, quiet=True)
    run = Path(out)
    names: list[str] = []
    for chain in cfg.chains:
        with stages.stage(f"anonymize {Path(chain).stem}", "shard by shard"):
            section = run_chain(run, chain, runner, beam_args, ephemeral_key=ephemeral)
        names.append(section["name"] if "name" in section else Path(chain).stem)
    if cfg.validation.enabled:
        with stages.stage("validate", "GX, raw + chains"):
            # A failed expectation is a finding, not a crash: `check` judges it below.
            validate(run, None, runner, beam_args, quiet=True)
    else:
        console.print("[yellow]validation disabled in the run config (validation.enabled: false)[/]")
    for name in names:
        with stages.stage(f"attack {name}", "attacks scored on the truth"):
            _quietly(attack_cmd.main, run, name, None)
    with stages.stage("check + report", "thresholds, report"):
        result = check_run(run, None)
        paths = write_report(run, result)
    man = manifest.load(run)
    man[keys.RUN] = {"stages": {k: round(v, 3) for k, v in stages.seconds.items()},
                  "total_seconds": round(stages.total, 3), "passed": result.passed}
    manifest.write(run, man)

    table = Table(title=f"anonbench run {cfg.name}: {stages.total:.0f} s")
    for col in ("chain", "role", "verdict", "breaches"):
        table.add_column(col)
    for v in result.chains:
        word = verdict_word(v)
        table.add_row(v.chain.name, v.chain.role, f"[green]{word}[/]" if v.passed else f"[red]{word}[/]",
                      str(len(v.breaches)))
    console.print(table)
    for line in result.problems:
        console.print(f"[red]BREACH[/] {line}")
    console.print(f"report: {paths.html.resolve()}")
    return 0 if result.passed else 1
