"""``anonbench validate``: Great Expectations suites on the raw tables and each chain's privacy contract.

Exit 0 when the raw tables and every candidate chain meet their expectations (a control chain is expected
to break its contract, and is reported as caught); 1 when an expectation failed; 2 on bad input (a missing or
incomplete run, an unknown chain, bad Beam options).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from anonbench.config import format_validation_error
from anonbench.errors import CheckFailed, UsageError


def chain_name(chain: str | None) -> str | None:
    """``--chain`` takes a chain name, or the chain's YAML file (as ``anonymize`` does): its ``name``."""
    if chain is None or not (chain.endswith((".yaml", ".yml")) or "/" in chain):
        return chain
    from anonbench.yamlfile import load_yaml

    data = load_yaml(chain)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise UsageError(f"{chain}: name: a chain file needs a name")
    return data["name"]


def validate(run: Path, chain: str | None = None, runner: str | None = None, beam_args: Sequence[str] = (),
             params: Any = None, quiet: bool = False) -> dict[str, Any]:
    """Validate a run (see :func:`pipelines.validate.validate_run`), input errors mapped to exit 2."""
    from pipelines import manifest
    from pipelines.validate import validate_run

    run = Path(run)
    chain = chain_name(chain)
    if not run.is_dir():
        raise UsageError(f"{run}: no such run directory")
    if not manifest.is_complete(run):
        raise UsageError(f"{manifest.manifest_path(run)}: no manifest (the run is missing or incomplete)")
    try:  # an unknown chain or a damaged input is a RunError (exit 2) of validate_run itself
        result = validate_run(run, chain=chain, runner=runner, beam_args=beam_args, params=params)
    except ValidationError as e:
        raise UsageError(format_validation_error(f"{manifest.manifest_path(run)} (config.validation)", e)) from None
    if not quiet:
        _print(result)
    return result


def _print(result: dict[str, Any]) -> None:
    console = Console(stderr=True)
    for stage, s in result["stages"].items():
        if s["role"] == "control":
            verdict = "[green]caught[/]" if not s["passed"] else "[yellow]not caught by its contract[/]"
        else:
            verdict = "[green]pass[/]" if s["passed"] else "[red]FAIL[/]"
        console.print(f"  {stage} ({s['role']}): {verdict} — {s['expectations'] - s['failed']}/"
                      f"{s['expectations']} expectations hold")
        if s["role"] != "control":
            for line in s["failures"][:20]:
                console.print(f"    failed: {line}", markup=False, highlight=False)
    console.print(f"validate: {result['seconds']:.1f}s; results in validation/, Data Docs in "
                  f"{result['docs'] or '(disabled)'}")


def main(run: Path, chain: str | None = None, runner: str | None = None, beam_args: Sequence[str] = ()) -> int:
    Console(stderr=True).print(f"validate: {run}" + (f" (chain {chain})" if chain else " (raw and all chains)"))
    result = validate(Path(run), chain, runner, beam_args)
    if not result["passed"]:
        failed = [st for st, s in result["stages"].items() if not s["passed"] and s["role"] != "control"]
        raise CheckFailed(f"validation failed: {', '.join(failed)}")
    return 0
