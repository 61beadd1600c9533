"""Write ``RUN/report/``: ``index.html``, ``summary.md`` and ``summary.json``, each atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from anonbench.report.gate import CheckResult
from anonbench.report.page import render
from anonbench.report.profiles import activity_profiles
from anonbench.report.record import judge
from anonbench.report.results import RunData, load_run
from anonbench.report.summary import summary_json, summary_md
from pipelines import manifest as manifest_io
from pipelines.runio import write_bytes_atomic, write_json_atomic

REPORT_DIR = "report"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    markdown: Path
    json: Path
    passed: bool


def write_report(run: str | Path | RunData, result: CheckResult | None = None, *,
                 update_manifest: bool = True) -> ReportPaths:
    """Render the report of ``run``. ``result`` is the verdict to show (by default: the thresholds the last
    ``check`` recorded, else defaults + run config). Returns the three paths and the verdict."""
    data = run if isinstance(run, RunData) else load_run(run)
    if result is None:
        data, result = judge(data)
    out = data.path / REPORT_DIR
    profiles = activity_profiles(data.path, [c.name for c in data.chains])
    html = write_bytes_atomic(render(data, result, profiles).encode(), out / "index.html")
    md = write_bytes_atomic(summary_md(result).encode(), out / "summary.md")
    js = write_json_atomic(summary_json(result), out / "summary.json")
    if update_manifest:
        manifest_io.update_section(data.path, "report", None, {"passed": result.passed,
                                                              "thresholds": list(result.thresholds.origins)},
                                   files_under=[REPORT_DIR])
    return ReportPaths(html, md, js, result.passed)
