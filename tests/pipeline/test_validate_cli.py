"""`anonbench validate` as a user runs it: exit codes 0 / 1 / 2 and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit" / "expectations"))
import gx_fakes as fakes

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_validate import BROKEN, record_chain

pytestmark = pytest.mark.pipeline


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "anonbench.cli", "validate", *args], capture_output=True,
                          text=True, timeout=300)


def test_exit_codes(tmp_path):
    raw = fakes.make_run(tmp_path)
    for chain in (fakes.GOOD_CHAIN, BROKEN):
        fakes.write_chain(tmp_path, chain, raw)
        record_chain(tmp_path, chain)
    ok = cli("--run", str(tmp_path), "--chain", "good")
    assert ok.returncode == 0, ok.stderr
    bad = cli("--run", str(tmp_path))
    assert bad.returncode == 1
    assert "actor_email" in bad.stderr and "anon-forgets-email" in bad.stderr
    assert "user" + "0.0@c0.example" not in bad.stderr + bad.stdout  # a raw e-mail of the fake run
    unknown = cli("--run", str(tmp_path), "--chain", "nope")
    assert unknown.returncode == 2 and unknown.stderr.count("\n") <= 2 and "Traceback" not in unknown.stderr
