"""Fixture runs for the report, gate and publish tests (see tests/fixtures_run.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fixtures_run import make_run


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A passing fixture run: candidate `generalize`, controls `none` and `naive-hash`."""
    return make_run(tmp_path / "run")


@pytest.fixture
def make(tmp_path: Path):
    """``make(**kwargs)``: a fixture run bent by ``make_run``'s keyword arguments."""
    counter = iter(range(1000))

    def _make(**kwargs):
        return make_run(tmp_path / f"run{next(counter)}", **kwargs)

    return _make
