"""Neighbouring datasets for ``dp_audit``, built from a run's raw data and pushed through the chain.

D is a seeded sample of privacy units (every row of theirs in each raw table that has the unit column; tables
without it whole), transformed by the chain's steps before the DP step (their first-pass states computed on
D; any key a step needs is a fresh in-memory one — the audit never reads the run's keys). The heavy unit's rows
are built from D's raw rows and transformed with the same states, so D and D' differ by one unit exactly at
the DP step's input. See :mod:`reid.dp_audit` for the tests.
"""

from __future__ import annotations

import dataclasses
import math
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import yaml

from anonymizers import registry as registry_mod
from anonymizers.chain import Chain, Step, resolve_chain
from anonymizers.local import apply_steps, compute_states
from runformat import manifest as run_manifest
from runformat.layout import RunDir, shards

HEAVY = "dp-audit-heavy"
MARKER = "dp-audit-only-"
AUDIT_KEY = "env:ANONBENCH_DP_AUDIT_EPHEMERAL_KEY"
Tables = dict[str, pa.Table]


@dataclass
class Neighbours:
    """D and its neighbours, as the DP step's input tables (after the chain's earlier steps)."""

    base: Tables
    spread: Tables
    clones: list[Tables] = field(default_factory=list)
    units: int = 0          # units in D
    population: int = 0     # units in the raw data


def _set_unit(t: pa.Table, unit: str, value: Any) -> pa.Table:
    i = t.schema.get_field_index(unit)
    f = t.schema.field(i)
    return t.set_column(i, f, pa.array([value] * t.num_rows, f.type))


def heavy_id(t: pa.Table, unit: str) -> Any:
    dtype = t.schema.field(unit).type
    if pa.types.is_integer(dtype):
        top = pc.max(t.column(unit)).as_py()
        return (top or 0) + 1
    return HEAVY


def keyed_by(t: pa.Table, unit: str) -> bool:
    """One row per unit (a users table): the heavy unit gets one row there, not thousands."""
    return t.num_rows > 0 and pc.count_distinct(t.column(unit)).as_py() == t.num_rows


def spread_rows(tables: Mapping[str, pa.Table], unit: str, step_columns: Mapping[str, Sequence[str]],
                events: int, rng: np.random.Generator) -> Tables:
    """The heavy unit's rows: ``events`` rows drawn from D in each table the step reads (half with the step's
    string columns set to values nobody else has), one row in every other table with the unit column and in
    tables keyed by it."""
    out: Tables = {}
    for name, t in tables.items():
        if unit not in t.column_names or t.num_rows == 0:
            continue
        hid = heavy_id(t, unit)
        if name not in step_columns or keyed_by(t, unit):
            out[name] = _set_unit(t.slice(0, 1), unit, hid)
            continue
        rows = _set_unit(t.take(pa.array(rng.integers(0, t.num_rows, events))), unit, hid)
        half = events // 2
        for c in step_columns[name]:
            f = rows.schema.field(c)
            if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
                marks = [f"{MARKER}{i % 2}" for i in range(half)] + rows.column(c).to_pylist()[half:]
                rows = rows.set_column(rows.schema.get_field_index(c), f, pa.array(marks, f.type))
        out[name] = rows
    return out


def clone_rows(tables: Mapping[str, pa.Table], unit: str, source: Any, step_columns: Mapping[str, Sequence[str]],
               events: int) -> Tables:
    """The rows of unit ``source`` under the heavy unit's id, repeated to ``events`` rows in the step's tables."""
    out: Tables = {}
    for name, t in tables.items():
        if unit not in t.column_names:
            continue
        own = t.filter(pc.equal(t.column(unit), pa.scalar(source, t.schema.field(unit).type)))
        if own.num_rows == 0:
            continue
        if name in step_columns and not keyed_by(t, unit):
            own = own.take(pa.array(np.arange(events) % own.num_rows))
        out[name] = _set_unit(own, unit, heavy_id(t, unit))
    return out


def busiest(tables: Mapping[str, pa.Table], unit: str, step_columns: Mapping[str, Sequence[str]], k: int) -> list:
    """The ``k`` units with the most rows in the step's tables."""
    counts: dict[Any, int] = {}
    for name in step_columns:
        t = tables.get(name)
        if t is None or unit not in t.column_names:
            continue
        vc = pc.value_counts(t.column(unit).drop_null())
        for v, n in zip(vc.field("values").to_pylist(), vc.field("counts").to_pylist(), strict=True):
            counts[v] = counts.get(v, 0) + n
    return [u for u, _ in sorted(counts.items(), key=lambda x: (-x[1], str(x[0])))[:k]]


def union(a: Mapping[str, pa.Table], b: Mapping[str, pa.Table]) -> Tables:
    out = dict(a)
    for name, t in b.items():
        out[name] = pa.concat_tables([out[name], t.cast(out[name].schema)]) if name in out else t
    return out


def replicate(t: pa.Table, unit: str, copies: int) -> pa.Table:
    """``t`` and ``copies`` copies of its rows, each copy under new unit ids (``<id>#copy<c>``; integer ids
    offset by a multiple of the largest)."""
    if unit not in t.column_names or t.num_rows == 0:
        return t
    i = t.schema.get_field_index(unit)
    f = t.schema.field(i)
    col = t.column(unit)
    parts = [t]
    for c in range(1, copies + 1):
        if pa.types.is_integer(f.type):
            ids = pc.add(col, pa.scalar(c * ((pc.max(col).as_py() or 0) + 1), f.type))
        else:
            ids = pc.binary_join_element_wise(col.cast(pa.string()), pa.scalar(f"#copy{c}"), "").cast(f.type)
        parts.append(t.set_column(i, f, ids))
    return pa.concat_tables(parts)


# --- from a run directory ---------------------------------------------------------------------------------
def chain_of_run(run: Path, chain: str) -> Chain:
    """The chain as the manifest recorded it (names, columns, parameters), every key replaced by a fresh
    in-memory one."""
    path = RunDir(run).manifest
    section = run_manifest.chain_record(run_manifest.load(run), chain) if path.is_file() else None
    if not isinstance(section, dict) or not isinstance(section.get(run_manifest.CHAIN_STEPS), list):
        raise FileNotFoundError(f"{path}: no {run_manifest.CHAINS}.{chain}.steps (was the chain anonymized?)")
    reg = registry_mod.load()
    steps = []
    for s in section["steps"]:
        with_ = dict(s.get("with") or {})
        cls = reg.get(s["use"])
        if cls.needs_secret:
            with_.update({f: AUDIT_KEY for f in cls.secret_fields if f in with_ or f == cls.secret_fields[0]})
        steps.append({"use": s["use"], "columns": s["columns"], "with": with_})
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / f"{chain}.yaml"
        spec.write_text(yaml.safe_dump({"name": section.get("name", chain), "steps": steps}))
        return resolve_chain(spec, registry=reg, ephemeral_secrets={AUDIT_KEY: secrets.token_bytes(32)})


def _read(folder: Path, unit: str | None, keep: list | None, only_unit: bool = False) -> pa.Table | None:
    parts = shards(folder)
    if not parts:
        return None
    d = ds.dataset(parts, format="parquet")
    if only_unit:
        return d.to_table(columns=[unit]) if unit in d.schema.names else None
    if unit is not None and keep is not None and unit in d.schema.names:
        return d.to_table(filter=ds.field(unit).isin(pa.array(keep, d.schema.field(unit).type)))
    return d.to_table()


def run_neighbours(run: Path, chain: Chain, step: Step, unit: str, *, accounts: int, candidates: int,
                   heavy_events: int, seed: int) -> Neighbours:
    """D (``accounts`` units sampled from the raw tables the step reads) and its neighbours, at the step."""
    raw_dir = RunDir(run).raw()
    columns = {t: list(c) for t, c in step.columns.items()}
    units: set = set()
    for name in columns:
        t = _read(raw_dir / name, unit, None, only_unit=True)
        if t is not None:
            units.update(pc.unique(t.column(unit).drop_null()).to_pylist())
    if not units:
        raise ValueError(f"raw tables {sorted(columns)} have no privacy unit column {unit!r}")
    rng = np.random.default_rng(seed)
    pool = sorted(units, key=str)
    keep = [pool[i] for i in sorted(rng.choice(len(pool), min(accounts, len(pool)), replace=False))]
    raw = {p.name: t for p in sorted(raw_dir.iterdir()) if p.is_dir()
           for t in [_read(p, unit, keep)] if t is not None}
    copies = math.ceil(accounts / len(pool)) - 1
    if copies > 0:   # a population too small to release anything: D also holds copies of its units
        raw = {n: replicate(t, unit, copies) for n, t in raw.items()}
    prefix = dataclasses.replace(chain, steps=chain.steps[:step.index])
    states, _ = compute_states(prefix, {n: [(0, 0, t)] for n, t in raw.items()})

    def push(tables: Mapping[str, pa.Table]) -> Tables:
        out = {}
        for n, t in tables.items():
            res, _ = apply_steps(prefix, n, t, states)
            if res is not None:
                out[n] = res
        return out

    spread = spread_rows(raw, unit, columns, heavy_events, rng)
    clones = [clone_rows(raw, unit, u, columns, heavy_events) for u in busiest(raw, unit, columns, candidates)]
    return Neighbours(push(raw), push(spread), [push(c) for c in clones], len(keep) * (copies + 1), len(pool))
