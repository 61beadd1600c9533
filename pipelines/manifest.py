"""``RUN/manifest.json``: what a run holds, written last and atomically.

``generate`` writes it after every shard is in place; later stages (``anonymize``, ``validate``, ``attack``,
``report``) extend it with a section of their own and the files they wrote. A run directory without a manifest
is incomplete. Secrets never enter it: stages pass only parameters that passed the secret filter. The
sections, their keys and reading a manifest belong to ``runformat.manifest`` (re-exported here); this module
adds what needs pyarrow and the installed packages: the file index and writing.
"""

from __future__ import annotations

import os
import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.runio import file_entry, write_json_atomic
from runformat.layout import MANIFEST, is_tmp
from runformat.manifest import PYTHON, VERSIONS, RunError, is_complete, load, manifest_path

HASH_THREADS = max(2, min(4, os.cpu_count() or 1))
VERSIONED_PACKAGES = ("anonbench", "apache-beam", "faker", "numpy", "pyarrow", "polars", "pandas",
                      "great-expectations", "pipeline-dp", "python-dp", "pydantic")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def list_files(run: Path, *subdirs: str) -> list[dict[str, Any]]:
    """Manifest entries for every complete file under the given sub-folders of ``run``.

    The files are hashed by a few threads (sha256 and file reads release the GIL): at 100M events a run holds
    ~4.5 GB, which one thread hashed in seconds of otherwise single-core time at the end of a stage."""
    paths: list[Path] = []
    for sub in subdirs:
        base = run / sub
        if base.is_file():
            paths.append(base)
            continue
        paths += [p for p in sorted(base.rglob("*")) if p.is_file() and not is_tmp(p.name)]
    if len(paths) < 2:
        return [file_entry(run, p) for p in paths]
    with ThreadPoolExecutor(max_workers=min(HASH_THREADS, len(paths))) as pool:
        return list(pool.map(lambda p: file_entry(run, p), paths))


def write(run: str | Path, manifest: dict[str, Any]) -> Path:
    manifest.setdefault(VERSIONS, package_versions())
    manifest.setdefault(PYTHON, sys.executable and Path(sys.executable).name)
    return write_json_atomic(manifest, manifest_path(run))


__all__ = ["MANIFEST", "RunError", "is_complete", "list_files", "load", "manifest_path", "package_versions",
           "write"]
