"""What a run measured, read once: manifest, risk rows, validation rows and each chain's role.

The report, the gate and the publisher read only these aggregates (and, for the activity profiles, counts
computed from the shards): never a raw value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from anonbench.errors import UsageError
from reid.result import RISK_SCHEMA
from runformat import layout
from runformat import manifest as manifest_io
from runformat.manifest import CHAIN_ROLE, CHAIN_STEPS, STEP_BUDGET, STEP_FLAGS, STEP_REPORT, chain_record

VALIDATION_COLUMNS = {"stage": pl.Utf8, "table": pl.Utf8, "expectation": pl.Utf8, "column": pl.Utf8,
                      "kwargs": pl.Utf8, "success": pl.Boolean, "unexpected_count": pl.Int64}
_SECRET_KEY = re.compile(r"key|secret|salt|password|token|pepper", re.I)


@dataclass(frozen=True)
class ChainInfo:
    """A chain as the report shows it: name, role and its steps with secrets replaced by a note."""

    name: str
    role: str = "candidate"
    steps: tuple[Mapping[str, Any], ...] = ()
    description: str = ""

    @property
    def is_control(self) -> bool:
        return self.role == "control"

    @property
    def deterministic(self) -> bool:
        """Every step declares ``deterministic`` (a DP step's noise is not): the same input, the same release."""
        return all((s.get(STEP_FLAGS) or {}).get("deterministic", True) is not False for s in self.steps
                   if isinstance(s.get(STEP_FLAGS) or {}, Mapping))

    @property
    def epsilon(self) -> float | None:
        """The chain's ε: the sum over its steps of ``report.budget.epsilon`` in the manifest (sequential
        composition, an upper bound); None when no step declares a budget."""
        eps = []
        for step in self.steps:
            report = step.get(STEP_REPORT)
            budget = report.get(STEP_BUDGET) if isinstance(report, Mapping) else None
            value = budget.get("epsilon") if isinstance(budget, Mapping) else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
                eps.append(float(value))
        return sum(eps) if eps else None


@dataclass(frozen=True)
class RunData:
    """One run's results: ``risk`` in the DESIGN risk schema (all chains), ``validation`` one row per
    expectation result, ``chains`` in a stable order (controls last)."""

    path: Path
    manifest: Mapping[str, Any]
    risk: pl.DataFrame
    validation: pl.DataFrame
    chains: tuple[ChainInfo, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        cfg = self.manifest.get("config") or {}
        return str(cfg.get("name") or self.manifest.get("name") or self.path.name)

    def chain(self, name: str) -> ChainInfo:
        for c in self.chains:
            if c.name == name:
                return c
        raise UsageError(f"{self.path}: no chain named {name!r} in this run "
                         f"(have: {', '.join(c.name for c in self.chains) or 'none'})")

    def risk_of(self, chain: str) -> pl.DataFrame:
        return self.risk.filter(pl.col("chain") == chain)

    def validation_of(self, chain: str | None) -> pl.DataFrame:
        """Validation rows of a chain's stage (``anon-<chain>``); ``None`` = the raw stage."""
        stage = layout.RAW_STAGE if chain is None else layout.stage_name(chain)
        return self.validation.filter(pl.col("stage") == stage)


def redact(value: Any, key: str = "") -> Any:
    """Chain parameters without secrets: secret-like keys and env:/file: references become a note."""
    if isinstance(value, Mapping):
        return {str(k): redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and (value.startswith(("env:", "file:")) or _SECRET_KEY.search(key)):
        return "(secret, not included)"
    if _SECRET_KEY.search(key) and value is not None and not isinstance(value, (bool, int, float)):
        return "(secret, not included)"
    return value


def step_text(step: Mapping[str, Any]) -> str:
    """One chain step in a line: ``use — table: columns; ... — param=value, ...`` (secrets already redacted)."""
    cols = step.get("columns") or {}
    where = "; ".join(f"{t}: {', '.join(map(str, c)) if isinstance(c, (list, tuple)) else c}"
                      for t, c in cols.items()) if isinstance(cols, Mapping) else str(cols)
    params = step.get("with") or {}
    args = ", ".join(f"{k}={json.dumps(v, default=str) if isinstance(v, (dict, list)) else v}"
                     for k, v in params.items()) if isinstance(params, Mapping) else str(params)
    return " — ".join(x for x in (str(step.get("use", "?")), where, args) if x)


def _read_parquets(files: list[Path]) -> pl.DataFrame:
    frames: list[pl.DataFrame] = []
    for p in files:
        df = pl.from_arrow(pq.read_table(p, page_checksum_verification=True))
        if isinstance(df, pl.DataFrame) and df.height:
            frames.append(df)
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _complete(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if not layout.is_tmp(p.name)) if folder.is_dir() else []


def load_risk(run: Path) -> pl.DataFrame:
    """All ``risk/<chain>/<check>.parquet`` rows (the DESIGN risk schema), one frame."""
    risk_dir = layout.RunDir(run).risk()
    df = _read_parquets(_complete(risk_dir, "*/*.parquet"))
    if df.is_empty():
        return pl.from_arrow(RISK_SCHEMA.empty_table())  # type: ignore[return-value]
    for name in RISK_SCHEMA.names:
        if name not in df.columns:
            raise UsageError(f"{risk_dir}: column {name!r} missing from the risk results")
    return df.with_columns(pl.col("value", "ci_low", "ci_high", "threshold", "seconds").cast(pl.Float64),
                           pl.col("passed").cast(pl.Boolean), pl.col("n").cast(pl.Int64))


def load_validation(run: Path) -> pl.DataFrame:
    """All ``validation/<stage>.parquet`` rows; an empty frame with the expected columns when none ran.
    A file whose rows are not all of its own stage (``raw`` or ``anon-<chain>``, as named) is refused."""
    files = _complete(layout.RunDir(run).validation(), "*.parquet")
    for f in files:
        try:
            layout.stage_chain(f.stem)
        except ValueError as e:
            raise UsageError(f"{f}: {e}") from None
        if "stage" not in pq.read_schema(f).names:
            raise UsageError(f"{f}: column 'stage' missing from the validation results")
        stages = set(pq.read_table(f, columns=["stage"], page_checksum_verification=True)["stage"].to_pylist())
        if stages - {f.stem}:
            raise UsageError(f"{f}: rows of stage(s) {sorted(map(str, stages - {f.stem}))} in the file of stage "
                             f"{f.stem!r}")
    df = _read_parquets(files)
    if df.is_empty():
        return pl.DataFrame(schema=VALIDATION_COLUMNS)
    for name, dtype in VALIDATION_COLUMNS.items():
        if name not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(name))
    if df["kwargs"].dtype != pl.Utf8:
        df = df.with_columns(pl.col("kwargs").map_elements(lambda v: json.dumps(v, default=str),
                                                           return_dtype=pl.Utf8))
    return df.with_columns(pl.col("success").cast(pl.Boolean), pl.col("unexpected_count").cast(pl.Int64))


ROLES = ("candidate", "control")


def chain_info(name: str, manifest: Mapping[str, Any], where: str | Path = layout.MANIFEST) -> ChainInfo:
    """Role and steps of a chain as ``anonymize`` (or ``import``) recorded them in the manifest
    (``chains.<chain>``). A chain with results but no record, or a record without a known role, is a damaged
    run: :class:`UsageError` naming ``where`` (the manifest) and the key."""
    record = chain_record(manifest, name)
    if record is None:
        raise UsageError(f"{where}: {manifest_io.CHAINS}.{name}: no record of chain {name!r}, which has files "
                         "in the run (was it anonymized into this run?)")
    role = record.get(CHAIN_ROLE)
    if role not in ROLES:
        raise UsageError(f"{where}: {manifest_io.CHAINS}.{name}.{CHAIN_ROLE}: expected one of {ROLES}, "
                         f"got {role!r}")
    steps = tuple(redact(s) for s in record.get(CHAIN_STEPS) or () if isinstance(s, Mapping))
    return ChainInfo(name, str(role), steps, str(record.get("description") or ""))


def load_run(run: str | Path) -> RunData:
    """Read a run's results. A run without a manifest is incomplete: exit 2 naming it."""
    run = Path(run)
    if not run.is_dir():
        raise UsageError(f"{run}: no such run directory")
    rd = layout.RunDir(run)
    try:
        man = manifest_io.load(run)
    except FileNotFoundError:
        raise UsageError(f"{rd.manifest}: no manifest (the run is missing or incomplete)") from None
    # A manifest that is not JSON raises runformat.manifest.RunError (exit 2) itself.
    risk = load_risk(run)
    validation = load_validation(run)
    names = set(risk["chain"].unique().to_list())
    names |= {p.name for p in rd.subdirs(rd.risk())} | set(rd.chains())
    chains = [chain_info(n, man, rd.manifest) for n in names]
    chains.sort(key=lambda c: (c.is_control, c.name))
    return RunData(run, man, risk, validation, tuple(chains))
