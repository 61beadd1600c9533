"""Preparing a run directory safely: never clobber a complete run without ``--overwrite``, never delete
anything that anonbench did not write, and make sure the folder beside which the run is staged is writable
before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from anonbench.errors import UsageError
from pipelines import commit, manifest
from runformat.layout import ENTRIES


def prepare_run_dir(out: Path, overwrite: bool) -> Path:
    """Check that a new run may be generated at ``out``. Exit 2 (UsageError) when that would be unsafe.

    Nothing is deleted here: ``generate`` writes the new run beside ``out`` and swaps it in with one rename
    once it is complete (``pipelines.commit``), so an earlier run survives until then, even a killed attempt.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")
    try:
        if out.resolve().parent.is_dir():
            commit.cleanup(out)  # leftovers of a killed attempt beside the run (may restore the earlier run)
        if out.is_dir():
            entries = {p.name for p in out.iterdir() if not p.name.startswith(".")}
            if manifest.is_complete(out) and not overwrite:
                raise UsageError(f"{out}: a complete run is already there (use --overwrite to replace it)")
            foreign = entries - ENTRIES
            if foreign:
                raise UsageError(f"{out}: exists and holds files that are not an anonbench run "
                                 f"(e.g. {sorted(foreign)[0]!r}); choose an empty or new folder")
        parent = out.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{out.resolve().name}.probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{out}: cannot write there ({e.strerror})") from None
    return out
