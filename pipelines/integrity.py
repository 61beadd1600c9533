"""Integrity at rest: every file of a run directory against its manifest (bytes, sha256, Parquet rows).

``anonbench verify`` reports what :func:`verify_run` finds, one line per file: ``missing``, ``truncated``
(shorter than listed), ``changed`` (other bytes, or other rows) or ``extra`` (in the run, not in the manifest).
``attack`` verifies the files it reads first, because Polars does not check Parquet page checksums: the
manifest's sha256 stands in for them (pyarrow readers check the page checksums themselves).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines import manifest
from pipelines.manifest import RunError
from pipelines.runio import sha256_file
from runformat.layout import MANIFEST


@dataclass(frozen=True)
class Problem:
    """One file that does not match the manifest: ``kind`` is missing, truncated, changed or extra."""

    kind: str
    path: str
    detail: str = ""

    def line(self) -> str:
        return f"{self.kind}: {self.path}" + (f" ({self.detail})" if self.detail else "")


def check_entry(run: Path, entry: dict[str, Any]) -> Problem | None:
    """The problem with one listed file, or None when its bytes, sha256 and rows match."""
    rel = entry["path"]
    path = run / rel
    if not path.is_file():
        return Problem("missing", rel)
    size = path.stat().st_size
    listed = entry.get("bytes")
    if listed is not None and size < listed:
        return Problem("truncated", rel, f"{size} of {listed} bytes")
    if listed is not None and size != listed:
        return Problem("changed", rel, f"{size} bytes, manifest {listed}")
    if sha256_file(path) != entry.get("sha256"):
        return Problem("changed", rel, "sha256 differs")
    if "rows" in entry:
        try:
            rows = pq.ParquetFile(path).metadata.num_rows
        except Exception:
            return Problem("changed", rel, "not a readable Parquet file")
        if rows != entry["rows"]:
            return Problem("changed", rel, f"{rows} rows, manifest {entry['rows']}")
    return None


def run_files(run: Path) -> Iterable[str]:
    """Every file under ``run`` (relative posix paths), the manifest itself left out."""
    for folder, dirs, files in os.walk(run):
        dirs.sort()
        rel = Path(folder).relative_to(run).as_posix()
        for name in sorted(files):
            p = name if rel == "." else f"{rel}/{name}"
            if p != MANIFEST:
                yield p


def verify_run(run: str | Path, prefixes: Sequence[str] | None = None, extras: bool = True) -> list[Problem]:
    """Check the files the manifest lists (only those under ``prefixes`` when given) and, with ``extras``,
    report files that it does not list. Raises ``FileNotFoundError`` when the run has no manifest."""
    run = Path(run)
    man = manifest.load(run)
    entries = man.get("files") or []

    def wanted(p: str) -> bool:
        return prefixes is None or any(p == x or p.startswith(x.rstrip("/") + "/") for x in prefixes)

    problems = [pr for e in entries if wanted(e["path"]) and (pr := check_entry(run, e)) is not None]
    if extras:
        listed = {e["path"] for e in entries}
        problems += [Problem("extra", p) for p in sorted(run_files(run)) if p not in listed and wanted(p)]
    return problems


def require_intact(run: str | Path, prefixes: Sequence[str]) -> None:
    """Raise :class:`RunError` naming the first file under ``prefixes`` that does not match the manifest, so a
    stage refuses a damaged input (flipped, truncated, emptied, replaced or missing file) before any work,
    instead of failing half-way inside a pipeline or computing figures from other bytes."""
    run = Path(run)
    if not manifest.is_complete(run):
        raise RunError(f"{run}: no manifest.json (not a run directory, or the run is incomplete)")
    damaged = verify_run(run, prefixes=prefixes, extras=False)  # RunError for a manifest that is not one
    if damaged:
        raise RunError(f"{run / damaged[0].path}: {damaged[0].kind}"
                       + (f" ({damaged[0].detail})" if damaged[0].detail else "")
                       + f" — the run does not match its manifest ({len(damaged)} file(s); "
                       f"see `anonbench verify --run {run}`)")


__all__ = ["Problem", "RunError", "check_entry", "require_intact", "run_files", "verify_run"]
