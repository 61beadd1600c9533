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
from pipelines import commit
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
    profiles = activity_profiles(data.path, [c.name for c in data.chains])
    page, md, js = render(data, result, profiles), summary_md(result), summary_json(result)
    section = {"passed": result.passed, "thresholds": list(result.thresholds.origins)}
    out = data.path / REPORT_DIR
    if not update_manifest:  # benchmarks: the files only
        write_bytes_atomic(page.encode(), out / "index.html")
        write_bytes_atomic(md.encode(), out / "summary.md")
        write_json_atomic(js, out / "summary.json")
    else:  # report/ and the manifest committed together with one rename
        with commit.staging(data.path) as area:
            write_bytes_atomic(page.encode(), area / REPORT_DIR / "index.html")
            write_bytes_atomic(md.encode(), area / REPORT_DIR / "summary.md")
            write_json_atomic(js, area / REPORT_DIR / "summary.json")
            commit.commit(data.path, lambda m: {**m, "report": section}, staged=area, replace=[REPORT_DIR])
    return ReportPaths(out / "index.html", out / "summary.md", out / "summary.json", result.passed)
