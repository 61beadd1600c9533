"""Shared test helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ANONBENCH = [sys.executable, "-m", "anonbench.cli"]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run the CLI as a user would, in a subprocess, from the repository root."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*ANONBENCH, *args], cwd=REPO, capture_output=True, text=True, env=full_env,
                          timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


def write_config(path: Path, events: int = 40_000, seed: int = 5, extra: str = "", chunk: int = 10_000) -> Path:
    path.write_text(f"name: test\nseed: {seed}\ngenerate:\n  events: {events}\n  events_per_chunk: {chunk}\n{extra}")
    return path
