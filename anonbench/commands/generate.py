"""``anonbench generate``: synthetic raw tables and their ground truth, on Beam."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console

from anonbench.config import RunConfig, load_run_config
from anonbench.errors import UsageError
from anonbench.rundir import prepare_run_dir
from pipelines import commit, manifest
from pipelines.generate import run_generation
from runformat import layout
from runformat import manifest as keys

console = Console(stderr=True)


def generate(cfg: RunConfig, out: Path, runner: str | None, beam_args: list[str], overwrite: bool,
             quiet: bool = False) -> dict[str, Any]:
    """Generate a run for a validated config; write the manifest last. Returns the manifest."""
    run = prepare_run_dir(out, overwrite)
    runner = runner or cfg.runner.name
    beam_args = list(cfg.runner.options) + list(beam_args)
    if not quiet:
        console.print(f"[bold]generate[/]: {cfg.generate.events:,} events, seed {cfg.seed} -> {run}")
    with commit.staging(run) as tree:  # the new run is built beside the old one and swapped in when complete
        # Bad runner names and Beam options raise pipelines.options.OptionsError (exit 2) before any work.
        stats = run_generation(tree, cfg.seed, cfg.generate, runner=runner, beam_args=beam_args)
        man = _manifest(cfg, runner, stats, manifest.list_files(tree, layout.RAW, layout.TRUTH))
        commit.commit(run, lambda _: man, staged=tree, fresh=True)
    if not quiet:
        console.print(f"[green]generated[/] {man['generate']['events']:,} events in {stats['seconds']:.1f} s "
                      f"({man['generate']['events'] / max(stats['seconds'], 1e-9):,.0f} events/s); "
                      "manifest written")
    return man


def _manifest(cfg: RunConfig, runner: str | None, stats: dict[str, Any], files: list[dict[str, Any]]
              ) -> dict[str, Any]:
    events = sum(f.get("rows", 0) for f in files if f["path"].startswith(f"{layout.RAW}/events/"))
    return {
        keys.FORMAT: 1,
        keys.NAME: cfg.name,
        keys.SEED: cfg.seed,
        keys.CONFIG: cfg.model_dump(mode="json", exclude={"source"}),
        keys.CONFIG_SOURCE: cfg.source,
        keys.GENERATE: {**stats, "events": events, "runner": runner or "InProcess"},
        keys.FILES: files,
        keys.VERSIONS: manifest.package_versions(),
    }


def main(config: Path, out: Path, events: int | None, seed: int | None, runner: str | None, overwrite: bool,
         beam_args: list[str]) -> int:
    if events is not None and events <= 0:
        raise UsageError(f"--events: must be a positive number of events, got {events}")
    if seed is not None and seed < 0:
        raise UsageError(f"--seed: must be >= 0, got {seed}")
    cfg = load_run_config(config, {"generate.events": events, "seed": seed})
    generate(cfg, out, runner, beam_args, overwrite)
    return 0
