"""Report, CI gate and their shared reading of a run.

``write_report(run) -> ReportPaths`` renders ``RUN/report/``; ``check_run(run, thresholds=None) -> CheckResult``
judges a run against its thresholds and records the verdict in it.
"""

from anonbench.report.gate import ChainVerdict, CheckResult, Outcome
from anonbench.report.record import check_run
from anonbench.report.writer import ReportPaths, write_report

__all__ = ["ChainVerdict", "CheckResult", "Outcome", "ReportPaths", "check_run", "write_report"]
