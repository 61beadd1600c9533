"""`anonbench verify` end to end: exit 0 for an intact run, 1 naming each damaged file, 2 without a run."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli
from tests.unit.runio.rundata import flip_data_byte, make_run

pytestmark = pytest.mark.e2e


def test_verify_exit_codes(tmp_path):
    run = make_run(tmp_path / "run")
    ok = run_cli("verify", "--run", str(run))
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 5 files"), ok.stderr
    flip_data_byte(run / "raw" / "events" / "part-00000.parquet")
    (run / "truth" / "accounts.parquet").unlink()
    bad = run_cli("verify", "--run", str(run))
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == ["changed: raw/events/part-00000.parquet (sha256 differs)",
                                       "missing: truth/accounts.parquet"]
    assert bad.stderr.strip() == f"anonbench: error: {run}: 2 file(s) do not match the manifest"
    gone = run_cli("verify", "--run", str(tmp_path / "nope"))
    assert gone.returncode == 2 and gone.stderr.strip() == f"anonbench: error: {tmp_path / 'nope'}: no such run directory"
