"""``anonbench report --run RUN``: ``RUN/report/index.html``, ``summary.md`` and ``summary.json``."""

from __future__ import annotations

from pathlib import Path

import typer

from anonbench.report import write_report


def main(run: Path) -> int:
    """Render the report with the thresholds the last ``check`` recorded (else defaults + run config).
    Exit 0 whatever the verdict: judging is ``check``'s job."""
    paths = write_report(run)
    typer.echo(f"report: {paths.html}")
    typer.echo(f"summary: {paths.markdown} and {paths.json.name} ({'passed' if paths.passed else 'FAILED'})")
    return 0
