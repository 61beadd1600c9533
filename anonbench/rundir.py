"""Preparing a run directory safely: never clobber a complete run without ``--overwrite``, never delete
anything that anonbench did not write, and make sure the folder is writable before any work starts."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from anonbench.errors import UsageError
from pipelines import manifest

RUN_ENTRIES = {"manifest.json", "raw", "truth", "anon", "risk", "validation", "report"}


def prepare_run_dir(out: Path, overwrite: bool) -> Path:
    """Create or empty ``out`` for a new run. Exit 2 (UsageError) when that would be unsafe."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")
    if out.is_dir():
        entries = {p.name for p in out.iterdir() if not p.name.startswith(".tmp-")}
        if manifest.is_complete(out) and not overwrite:
            raise UsageError(f"{out}: a complete run is already there (use --overwrite to replace it)")
        foreign = entries - RUN_ENTRIES
        if foreign:
            raise UsageError(f"{out}: exists and holds files that are not an anonbench run "
                             f"(e.g. {sorted(foreign)[0]!r}); choose an empty or new folder")
        # The manifest goes first: from here on the folder is an incomplete run, never a stale complete one.
        with contextlib.suppress(FileNotFoundError):
            (out / "manifest.json").unlink()
        for name in entries - {"manifest.json"}:
            shutil.rmtree(out / name, ignore_errors=True)
        for p in out.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".tmp-write-probe.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{out}: cannot write there ({e.strerror})") from None
    return out

