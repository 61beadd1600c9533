"""Where everything lives in a run directory (DESIGN.md, "A run directory").

```
RUN/
  manifest.json                         MANIFEST, written last
  raw/<table>/part-NNNNN.parquet        RunDir.raw(table)
  truth/accounts.parquet                RunDir.truth_accounts
  truth/control/<table>/..., accounts   RunDir.control(table), RunDir.control_accounts
  anon/<chain>/<table>/part-NNNNN...    RunDir.anon(chain, table)
  validation/<stage>.parquet, docs/     RunDir.validation(stage), RunDir.docs
  risk/<chain>/<check>.parquet          RunDir.risk(chain, check)
  report/index.html, summary.md/.json   RunDir.report(name)
```

Paths relative to the run (the manifest's file index, commit and verify prefixes) come from the ``*_rel``
functions; absolute ones from :class:`RunDir`. A validation *stage* is ``raw`` or ``anon-<chain>``
(:func:`stage_name`, :func:`stage_chain`). Files under a temporary name start with :data:`TMP_PREFIX`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
RAW = "raw"
TRUTH = "truth"
ANON = "anon"
RISK = "risk"
VALIDATION = "validation"
REPORT = "report"
CONTROL = f"{TRUTH}/control"
"""The held-out population: generated like the rest, never anonymized or published."""
DOCS = f"{VALIDATION}/docs"
"""The Great Expectations Data Docs (HTML)."""
ACCOUNTS_FILE = "accounts.parquet"
TRUTH_ACCOUNTS = f"{TRUTH}/{ACCOUNTS_FILE}"
CONTROL_ACCOUNTS = f"{CONTROL}/{ACCOUNTS_FILE}"
REPORT_FILES = ("index.html", "summary.md", "summary.json")
SUMMARY_JSON = "summary.json"

ENTRIES = frozenset({MANIFEST, RAW, TRUTH, ANON, RISK, VALIDATION, REPORT})
"""Everything a run directory may hold at its top level (dot-names aside)."""

TMP_PREFIX = ".tmp-"
"""Prefix of a file or folder still being written (renamed into place when complete)."""
SHARD_GLOB = "part-*.parquet"

SIBLING_KINDS = ("stage", "tmp", "old")
"""Folders beside ``RUN/`` while a stage works (``pipelines.commit``): ``.<run>.stage-<nonce>`` (a stage's
outputs), ``.<run>.tmp-<nonce>`` (the next version being built) and ``.<run>.old-<nonce>`` (the previous
version during a two-rename swap). ``<nonce>`` is 12 hex digits."""
_SIBLING = re.compile(rf"^\.(?P<run>.+)\.(?P<kind>{'|'.join(SIBLING_KINDS)})-[0-9a-f]{{12}}$")

RAW_STAGE = "raw"
"""The validation stage of the raw tables."""
CHAIN_STAGE_PREFIX = "anon-"


def shard_name(chunk: int) -> str:
    """The file name of the shard of logical chunk ``chunk``: ``part-NNNNN.parquet``."""
    return f"part-{chunk:05d}.parquet"


def shard_chunk(path: str | Path) -> int:
    """The logical chunk a shard holds: ``part-00042.parquet`` -> 42."""
    stem = Path(path).name.removesuffix(".parquet")
    if not stem.startswith("part-") or not stem[5:].isdigit():
        raise ValueError(f"{path}: not a shard name like {shard_name(0)}")
    return int(stem[5:])


def is_tmp(name: str) -> bool:
    """A name under which a writer has not finished (never read, never listed)."""
    return name.startswith(TMP_PREFIX)


def shards(folder: str | Path) -> list[Path]:
    """The complete shards of one table folder, in chunk order (temporary files are ignored)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(SHARD_GLOB) if not is_tmp(p.name))


def sibling_name(run_name: str, kind: str, nonce: str) -> str:
    """The name of a folder beside run ``run_name`` (see :data:`SIBLING_KINDS`)."""
    if kind not in SIBLING_KINDS or len(nonce) != 12:
        raise ValueError(f"sibling {kind!r}-{nonce!r}: expected one of {SIBLING_KINDS} and 12 hex digits")
    return f".{run_name}.{kind}-{nonce}"


def sibling_kind(run_name: str, name: str) -> str | None:
    """The kind of ``name`` when it is a folder beside run ``run_name``; None for anything else."""
    m = _SIBLING.match(name)
    return m.group("kind") if m and m.group("run") == run_name else None


def stage_name(chain: str) -> str:
    """The validation stage of an anonymized chain: ``anon-<chain>``."""
    return f"{CHAIN_STAGE_PREFIX}{chain}"


def stage_chain(stage: str) -> str | None:
    """The chain a validation stage belongs to; None for the raw stage. ValueError for any other name."""
    if stage == RAW_STAGE:
        return None
    if stage.startswith(CHAIN_STAGE_PREFIX) and len(stage) > len(CHAIN_STAGE_PREFIX):
        return stage[len(CHAIN_STAGE_PREFIX):]
    raise ValueError(f"validation stage {stage!r}: expected {RAW_STAGE!r} or '{CHAIN_STAGE_PREFIX}<chain>'")


def anon_rel(chain: str, table: str | None = None) -> str:
    return f"{ANON}/{chain}" if table is None else f"{ANON}/{chain}/{table}"


def risk_rel(chain: str, check: str | None = None) -> str:
    return f"{RISK}/{chain}" if check is None else f"{RISK}/{chain}/{check}.parquet"


def validation_rel(stage: str) -> str:
    return f"{VALIDATION}/{stage}.parquet"


@dataclass(frozen=True)
class RunDir:
    """The paths of one run directory (nothing is read or created here)."""

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST

    def raw(self, table: str | None = None) -> Path:
        return self.path / RAW if table is None else self.path / RAW / table

    @property
    def truth(self) -> Path:
        return self.path / TRUTH

    @property
    def truth_accounts(self) -> Path:
        return self.path / TRUTH_ACCOUNTS

    def control(self, table: str | None = None) -> Path:
        return self.path / CONTROL if table is None else self.path / CONTROL / table

    @property
    def control_accounts(self) -> Path:
        return self.path / CONTROL_ACCOUNTS

    def anon(self, chain: str | None = None, table: str | None = None) -> Path:
        if chain is None:
            return self.path / ANON
        return self.path / anon_rel(chain, table)

    def risk(self, chain: str | None = None, check: str | None = None) -> Path:
        if chain is None:
            return self.path / RISK
        return self.path / risk_rel(chain, check)

    def validation(self, stage: str | None = None) -> Path:
        return self.path / VALIDATION if stage is None else self.path / validation_rel(stage)

    @property
    def docs(self) -> Path:
        return self.path / DOCS

    def report(self, name: str | None = None) -> Path:
        return self.path / REPORT if name is None else self.path / REPORT / name

    def subdirs(self, folder: Path) -> list[Path]:
        """The sub-folders of ``folder`` (tables of a stage, chains of ``anon/``), by name; [] when absent;
        folders still being written are left out."""
        if not folder.is_dir():
            return []
        return sorted((p for p in folder.iterdir() if p.is_dir() and not is_tmp(p.name)), key=lambda p: p.name)

    def chains(self) -> list[str]:
        """The chains with an ``anon/<chain>`` folder."""
        return [p.name for p in self.subdirs(self.anon())]


__all__ = ["ACCOUNTS_FILE", "ANON", "CONTROL", "CONTROL_ACCOUNTS", "DOCS", "ENTRIES", "MANIFEST", "RAW",
           "RAW_STAGE", "REPORT", "REPORT_FILES", "RISK", "SHARD_GLOB", "SIBLING_KINDS", "SUMMARY_JSON", "TMP_PREFIX", "TRUTH",
           "TRUTH_ACCOUNTS", "VALIDATION", "RunDir", "anon_rel", "is_tmp", "risk_rel", "shard_chunk", "shard_name", "shards", "sibling_kind",
           "sibling_name",
           "stage_chain", "stage_name", "validation_rel"]
