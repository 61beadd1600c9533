"""``RUN/manifest.json``: what a run holds, written last and atomically.

``generate`` writes it after every shard is in place; later stages (``anonymize``, ``validate``, ``attack``,
``report``) extend it with a section of their own and the files they wrote. A run directory without a manifest
is incomplete. Secrets never enter it: stages pass only parameters that passed the secret filter.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from generators.errors import InputError
from pipelines.runio import file_entry, write_json_atomic

MANIFEST = "manifest.json"
VERSIONED_PACKAGES = ("anonbench", "apache-beam", "faker", "numpy", "pyarrow", "polars", "pandas",
                      "great-expectations", "pipeline-dp", "python-dp", "pydantic")


class RunError(InputError):
    """The run directory cannot be used (missing, incomplete, damaged, no such chain); exit 2."""


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def manifest_path(run: str | Path) -> Path:
    return Path(run) / MANIFEST


def is_complete(run: str | Path) -> bool:
    return manifest_path(run).is_file()


def load(run: str | Path) -> dict[str, Any]:
    """The manifest as a dict. ``FileNotFoundError`` when there is none; :class:`RunError` when it is not a
    JSON object (a damaged or foreign file)."""
    path = manifest_path(run)
    try:
        man = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise FileNotFoundError(f"{path}: no manifest (the run is missing or incomplete)") from e
    except UnicodeDecodeError:
        raise RunError(f"{path}: not valid JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if not isinstance(man, dict):
        raise RunError(f"{path}: not a JSON object")
    files = man.get("files", [])
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                                              for f in files):
        raise RunError(f"{path}: files: expected a list of entries with a path")
    return man


def list_files(run: Path, *subdirs: str) -> list[dict[str, Any]]:
    """Manifest entries for every complete file under the given sub-folders of ``run``."""
    entries = []
    for sub in subdirs:
        base = run / sub
        if base.is_file():
            entries.append(file_entry(run, base))
            continue
        for p in sorted(base.rglob("*")):
            if p.is_file() and not p.name.startswith(".tmp-"):
                entries.append(file_entry(run, p))
    return entries


def write(run: str | Path, manifest: dict[str, Any]) -> Path:
    manifest.setdefault("versions", package_versions())
    manifest.setdefault("argv_python", sys.executable and Path(sys.executable).name)
    return write_json_atomic(manifest, manifest_path(run))


def update_section(run: str | Path, key: str, name: str | None, section: dict[str, Any],
                   files_under: list[str] | None = None) -> dict[str, Any]:
    """Set ``manifest[key][name] = section`` (or ``manifest[key]`` when ``name`` is None), re-list the files
    under ``files_under`` (relative folders) in the file index, and rewrite the manifest atomically."""
    run = Path(run)
    man = load(run)
    if name is None:
        man[key] = section
    else:
        man.setdefault(key, {})[name] = section
    if files_under:
        prefixes = tuple(f.rstrip("/") + "/" for f in files_under)
        kept = [f for f in man.get("files", []) if not f["path"].startswith(prefixes)
                and f["path"] not in files_under]
        man["files"] = sorted(kept + list_files(run, *[f for f in files_under if (run / f).exists()]),
                              key=lambda f: f["path"])
    write(run, man)
    return man
