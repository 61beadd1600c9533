"""The kill test, reduced for CI: every stage SIGKILLed at 3 random moments and at its commit point (new
version complete, not yet swapped in), then rerun; no run may be damaged. ``make killtest`` runs the full one
(20 random kills per stage and every commit point)."""

from __future__ import annotations

import json

import pytest

from scripts.killtest import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_no_kill_damages_a_run(tmp_path, capsys):
    out = tmp_path / "killtest.json"
    code = main(["--kills", "3", "--points", "commit-built", "--events", "4000", "--seed", "1",
                 "--work", str(tmp_path), "--out", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert code == 0, printed
    assert result["damaged_runs"] == 0
    assert [s["stage"] for s in result["stages"]] == ["generate", "anonymize", "validate", "attack"]
    for s in result["stages"]:
        assert s["random_kills"] == 3 and s["commit_point_kills"] == 1, s
        assert s["reruns_ok"] == s["reruns"] == 2, s
