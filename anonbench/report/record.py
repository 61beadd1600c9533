"""The gate's public entry point: resolve thresholds, judge, and record the verdict in the run.

``check_run`` writes the ``threshold`` and ``passed`` columns of every ``risk/<chain>/<check>.parquet`` (atomic
rewrite) and a ``check`` section in the manifest holding the exact thresholds used, so ``report`` (and its
``summary.md`` / ``summary.json``) says what the last ``check`` said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from anonbench import thresholds as th
from anonbench.report.baseline import compare_with, load_baseline
from anonbench.report.gate import CheckResult, evaluate, outcome
from anonbench.report.results import RunData, load_run
from pipelines import commit
from pipelines.runio import write_parquet_atomic
from runformat import layout
from runformat import manifest as keys
from runformat.manifest import section

CHECK_SECTION = keys.CHECK


def config_thresholds(data: RunData) -> Mapping[str, Any] | None:
    return section(data.manifest, keys.CONFIG).get("thresholds")


def effective_thresholds(data: RunData, file: str | Path | None = None, *,
                         prefer_recorded: bool = False) -> th.ThresholdSet:
    """Defaults, then the run config's ``thresholds:``, then ``file``. With ``prefer_recorded`` (the report),
    the set the last ``check`` recorded in the manifest wins when no file is given."""
    recorded = data.manifest.get(CHECK_SECTION)
    if prefer_recorded and file is None and isinstance(recorded, dict) and isinstance(recorded.get("thresholds"),
                                                                                      dict):
        return th.from_recorded(recorded["thresholds"], tuple(recorded.get("origins") or ("recorded",)))
    source = data.manifest.get(keys.CONFIG_SOURCE)
    origin = f"{source}: thresholds" if isinstance(source, str) and source else "run config thresholds"
    return th.resolve(config_thresholds(data), file, config_origin=origin, chains=chain_names(data))


def chain_names(data: RunData) -> list[str]:
    """The chains ``known_weak``/``controls`` may name: the run's, and its config's."""
    from anonbench.config import chain_names as config_chain_names

    listed = section(data.manifest, keys.CONFIG).get("chains")
    names = config_chain_names([str(c) for c in listed]) if isinstance(listed, list) else []
    return sorted({c.name for c in data.chains} | set(names))


def annotate_table(table: pa.Table, ts: th.ThresholdSet) -> pa.Table:
    """The same rows with ``threshold`` and ``passed`` set from ``ts`` (None where no threshold applies)."""
    rows = table.to_pylist()
    bounds, verdicts = [], []
    for r in rows:
        o = outcome(ts, r)
        bounds.append(o.threshold.bound if o.threshold else None)
        verdicts.append(o.passed)
    table = table.set_column(table.schema.get_field_index("threshold"), "threshold",
                             pa.array(bounds, pa.float64()))
    return table.set_column(table.schema.get_field_index("passed"), "passed", pa.array(verdicts, pa.bool_()))


def write_back(run: Path, ts: th.ThresholdSet, out: Path | None = None) -> list[Path]:
    """Rewrite the risk files whose ``threshold``/``passed`` columns differ from ``ts`` (into ``out``, a
    staging area laid out like the run, when given); returns the paths written."""
    changed = []
    risk_dir = layout.RunDir(run).risk()
    for path in sorted(risk_dir.glob("*/*.parquet")) if risk_dir.is_dir() else []:
        if layout.is_tmp(path.name):
            continue
        table = pq.read_table(path, page_checksum_verification=True)
        if "threshold" not in table.column_names or "passed" not in table.column_names:
            continue
        new = annotate_table(table, ts)
        if not new.equals(table):  # only the two columns change; extra columns an attack wrote are kept
            changed.append(write_parquet_atomic(new, path if out is None else out / path.relative_to(run)))
    return changed


def check_run(run: str | Path, thresholds: str | Path | None = None, *, record: bool = True,
              baseline: str | Path | Sequence[str | Path] | None = None) -> CheckResult:
    """Judge a run against defaults + run config thresholds + ``thresholds`` (a YAML file), and with
    ``baseline`` (a run directory or its summary.json, or several: pooled per cell, see
    ``anonbench.report.baseline``) against those figures too.

    With ``record`` (the default) the verdict is written into the run: risk columns and the manifest's
    ``check`` section. Raises ``UsageError`` (exit 2) for a missing run, a bad thresholds file or a bad
    baseline — before anything is written.
    """
    data = load_run(run)
    ts = effective_thresholds(data, thresholds)
    paths = [] if baseline is None else [baseline] if isinstance(baseline, (str, Path)) else list(baseline)
    bases = [load_baseline(b) for b in paths]
    result = evaluate(data, ts)
    if bases:
        result = compare_with(result, bases)
    if record:
        section = {"thresholds": ts.to_dict(), "origins": list(ts.origins), "passed": result.passed,
                   "problems": list(result.problems),
                   "baseline": result.baseline.to_dict() if result.baseline is not None else None,
                   "chains": {v.chain.name: {"role": v.chain.role, "passed": v.passed} for v in result.chains}}
        with commit.staging(data.path) as area:  # rewritten risk files and the manifest: one rename
            written = write_back(data.path, ts, out=area)
            commit.commit(data.path, lambda m: {**m, CHECK_SECTION: section}, staged=area,
                          replace=[p.relative_to(area).as_posix() for p in written])
    return result


def judge(run: str | Path | RunData) -> tuple[RunData, CheckResult]:
    """The report's view: the thresholds last recorded by ``check`` (else defaults + run config), and the
    baseline comparison it made when that baseline file is still there."""
    data = run if isinstance(run, RunData) else load_run(run)
    result = evaluate(data, effective_thresholds(data, prefer_recorded=True))
    recorded = section(section(data.manifest, CHECK_SECTION), "baseline").get("source")
    if isinstance(recorded, str) and Path(recorded).is_file():
        result = compare_with(result, load_baseline(recorded))
    return data, result
