"""``anonbench check --run RUN [--thresholds T] [--baseline B]``: the CI gate.

Exit 0 when every candidate chain stays within its thresholds and every control chain is caught; exit 1
otherwise, after naming each breach (chain, check, metric, value, threshold) and each escaped control on
stderr; exit 2 for a missing run or a bad thresholds file (naming the file and key). The verdict is written
into the run (risk ``threshold``/``passed`` columns, the manifest) and the report is re-rendered, so
``summary.md`` and ``summary.json`` say what ``check`` said. With ``--baseline`` (a run directory or its
``summary.json``) a candidate figure that got significantly and materially worse fails too (exit 1, each
regressed cell named with both figures, their intervals and the p-value); a bad baseline exits 2. Several
``--baseline`` options (runs of other populations, e.g. seeds) are pooled per figure, each figure's test
carrying the spread between them (``anonbench.report.baseline.pool``).
"""

from __future__ import annotations

from pathlib import Path

import typer

from anonbench.report import check_run, write_report
from anonbench.report.summary import verdict_word


def main(run: Path, thresholds: Path | None = None, baseline: Path | list[Path] | None = None) -> int:
    result = check_run(run, thresholds, baseline=baseline or None)
    write_report(run, result)
    regressed = [c.new.chain for c in result.baseline.regressions] if result.baseline is not None else []
    for v in result.chains:
        worse = regressed.count(v.chain.name)
        typer.echo(f"{verdict_word(v):12s} {v.chain.name} ({v.chain.role}): "
                   f"{len(v.outcomes)} figures, {len(v.breaches)} breaching"
                   + (f", {len(v.not_measured)} not measured" if v.not_measured else "")
                   + (f", {worse} worse than the baseline" if worse else ""))
    if result.baseline is not None:
        b = result.baseline
        typer.echo(f"baseline {b.source}: {len(b.cells)} figures compared, {len(b.regressions)} regressed"
                   + (f", {b.untested} without a sampling interval not comparable across different data"
                      if b.untested else ""))
    if result.passed:
        typer.echo(f"check passed ({' + '.join(result.thresholds.origins)})")
        return 0
    for line in result.problems:
        typer.echo(line if line.startswith("REGRESSION ") else f"BREACH {line}", err=True)
    typer.echo(f"check FAILED: {len(result.problems)} problem(s); see {Path(run) / 'report' / 'summary.md'}",
               err=True)
    return 1
