"""``RUN/manifest.json``: its sections (top-level keys), who writes each, and reading it.

``generate`` (or ``import``) writes the first manifest; each later stage replaces its own section and the
file-index entries under the folders it wrote (``pipelines.commit``). Every writer and reader names a section
through the constants here; :data:`SECTIONS` is the whole schema of the top level: a key not in it is
written by nobody (a test checks every manifest a real run writes against it). Writing, and the file
index's entries, live in ``pipelines.manifest`` (they need pyarrow and the package versions).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from generators.errors import InputError
from runformat.layout import MANIFEST

# --- top-level sections ---------------------------------------------------------------------------------
FORMAT = "anonbench_run"   # generate: the format version (1)
NAME = "name"              # generate, import: the run's name
SEED = "seed"              # generate: the master seed
KIND = "kind"              # import: "import" (absent for a generated run)
CONFIG = "config"          # generate, import: the validated run configuration (import: name and period)
CONFIG_SOURCE = "config_source"  # generate: where the configuration came from
GENERATE = "generate"      # generate: events, seconds, runner, ...
IMPORT = "import"          # import: the imported files, their mapping and columns
FILES = "files"            # every stage: [{path, bytes, sha256, rows}] of every file of the run
VERSIONS = "versions"      # every manifest write: package versions
PYTHON = "argv_python"     # every manifest write: the Python executable's name
CHAINS = "chains"          # anonymize (and import --anonymized): CHAINS[<chain>] = the chain's record
VALIDATION = "validation"  # validate: VALIDATION[<stage>] = that stage's summary
RISK = "risk"              # attack: RISK[<chain>] = checks run, seconds
REPORT = "report"          # report: the report's files and headline
CHECK = "check"            # check: the gate's verdict (and its baseline)
RUN = "run"                # run: seconds per stage

SECTIONS: dict[str, str] = {
    FORMAT: "generate", NAME: "generate, import", SEED: "generate", KIND: "import", CONFIG: "generate, import",
    CONFIG_SOURCE: "generate", GENERATE: "generate", IMPORT: "import", FILES: "every stage",
    VERSIONS: "every stage", PYTHON: "every stage", CHAINS: "anonymize, import", VALIDATION: "validate",
    RISK: "attack", REPORT: "report", CHECK: "check", RUN: "run",
}
"""Every top-level key a manifest may hold -> the stage(s) that write it."""

IMPORT_KIND = "import"
"""``manifest[KIND]`` of a run made by ``anonbench import``."""

# --- keys inside a chain's record (CHAINS[<chain>]) -----------------------------------------------------
CHAIN_ROLE = "role"        # "candidate" or "control"
CHAIN_STEPS = "steps"      # [{use, columns, with, flags, rows_dropped, report: {budget, ...}}]
STEP_FLAGS = "flags"
STEP_REPORT = "report"
STEP_BUDGET = "budget"     # PrivacyBudget.as_dict() of a DP step, under STEP_REPORT


class RunError(InputError):
    """The run directory cannot be used (missing, incomplete, damaged, no such chain); exit 2."""


def manifest_path(run: str | Path) -> Path:
    return Path(run) / MANIFEST


def is_complete(run: str | Path) -> bool:
    """A run is complete once its manifest is there (it is written last)."""
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
    files = man.get(FILES, [])
    if not isinstance(files, list) or not all(isinstance(f, dict) and isinstance(f.get("path"), str)
                                              for f in files):
        raise RunError(f"{path}: {FILES}: expected a list of entries with a path")
    return man


def section(man: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``man[key]`` when it is a mapping, else an empty dict (a section the run's stages have not written)."""
    value = man.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def chain_record(man: Mapping[str, Any], chain: str) -> dict[str, Any] | None:
    """``man[CHAINS][chain]``: what ``anonymize`` (or ``import``) recorded of a chain; None when it did not."""
    record = section(man, CHAINS).get(chain)
    return dict(record) if isinstance(record, Mapping) else None


def chain_steps(man: Mapping[str, Any], chain: str) -> list[dict[str, Any]]:
    """The steps of a chain's record (flags, DP budget); [] when the chain was not recorded."""
    steps = (chain_record(man, chain) or {}).get(CHAIN_STEPS)
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def unknown_sections(man: Mapping[str, Any]) -> list[str]:
    """Top-level keys that no stage writes (see :data:`SECTIONS`)."""
    return sorted(k for k in man if k not in SECTIONS)


__all__ = ["CHAINS", "CONFIG", "FILES", "SECTIONS", "RunError", "chain_record", "chain_steps", "is_complete",
           "load", "manifest_path", "section", "unknown_sections"]
