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
from runformat import layout
from runformat import manifest as keys

REPORT_DIR = layout.REPORT


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
    html, markdown, summary = layout.REPORT_FILES
    out = layout.RunDir(data.path).report()
    if not update_manifest:  # benchmarks: the files only
        write_bytes_atomic(page.encode(), out / html)
        write_bytes_atomic(md.encode(), out / markdown)
        write_json_atomic(js, out / summary)
    else:  # report/ and the manifest committed together with one rename
        with commit.staging(data.path) as area:
            staged = layout.RunDir(area).report()
            write_bytes_atomic(page.encode(), staged / html)
            write_bytes_atomic(md.encode(), staged / markdown)
            write_json_atomic(js, staged / summary)
            commit.commit(data.path, lambda m: {**m, keys.REPORT: section}, staged=area, replace=[REPORT_DIR])
    return ReportPaths(out / html, out / markdown, out / summary, result.passed)
