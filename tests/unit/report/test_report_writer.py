"""anonbench.report.writer: the three report files, atomically, listed in the manifest."""

from __future__ import annotations

import json

from fixtures_run import raw_identifiers

from anonbench.report import check_run, write_report
from pipelines.manifest import load


def test_write_report(run_dir):
    paths = write_report(run_dir)
    assert paths.passed is True
    assert {p.name for p in (run_dir / "report").iterdir()} == {"index.html", "summary.md", "summary.json"}
    assert json.loads(paths.json.read_text())["passed"] is True
    listed = {f["path"] for f in load(run_dir)["files"]}
    assert {"report/index.html", "report/summary.md", "report/summary.json"} <= listed
    for path in (paths.html, paths.markdown, paths.json):
        text = path.read_text()
        assert [v for v in raw_identifiers() if v in text] == [], path


def test_report_says_what_check_said(make, tmp_path):
    run = make()
    strict = tmp_path / "strict.yaml"
    strict.write_text("unicity.reidentified_share: 0.02\n")
    result = check_run(run, strict)
    write_report(run)  # a later `anonbench report` keeps the recorded thresholds
    doc = json.loads((run / "report" / "summary.json").read_text())
    assert doc["passed"] is result.passed is False
    assert doc["problems"] == list(result.problems)
    assert doc["thresholds"] == ["defaults", str(strict)]
