"""``anonbench verify --run RUN``: every file of a run against its manifest (bytes, sha256, Parquet rows).

Prints one line per file that does not match — ``missing``, ``truncated``, ``changed`` or ``extra`` (in the
run but not in the manifest) — and exits 1 when there is any; 0 when every listed file is there with its
checksum and nothing else is; 2 when the run or its manifest is missing or unreadable. Read only.
"""

from __future__ import annotations

from pathlib import Path

import typer

from anonbench.errors import CheckFailed, UsageError
from pipelines import manifest
from pipelines.integrity import verify_run


def main(run: Path) -> int:
    run = Path(run)
    if not run.is_dir():
        raise UsageError(f"{run}: no such run directory")
    path = manifest.manifest_path(run)
    if not path.is_file():
        raise UsageError(f"{path}: no manifest (the run is missing or incomplete)")
    files = manifest.load(run).get("files") or []  # RunError (exit 2) when it is not a manifest
    problems = verify_run(run)
    for p in problems:
        typer.echo(p.line())
    if problems:
        raise CheckFailed(f"{run}: {len(problems)} file(s) do not match the manifest")
    typer.echo(f"ok: {len(files)} files match the manifest (bytes, sha256, rows); nothing else in the run")
    return 0
