"""Fixtures of the anonymizer tests; the data lives in ``anon_testdata`` (also used by pipeline tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from anon_testdata import KEY, OTHER_KEY, make_tables


@pytest.fixture
def tables() -> dict[str, pa.Table]:
    return make_tables()


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("ANONBENCH_KEY", KEY)
    monkeypatch.setenv("ANONBENCH_OTHER_KEY", OTHER_KEY)
    return KEY
