"""``anonbench publish --run RUN --chain NAME --to DIR``: a researcher bundle of one anonymized chain.

The bundle holds ``data/<table>/part-*.parquet`` (the chain's anonymized tables), ``risk/`` (its risk files),
``validation/validation.parquet`` (its privacy-contract results), ``DATASET_CARD.md`` and ``SHA256SUMS``. It
never holds ``raw/`` or ``truth/``. Publishing is refused (exit 1, naming why) for a control chain, when the
chain's ``leak_scan`` did not run or found anything, or when any of its figures breaches a threshold (those
the last ``check`` recorded, else defaults + run config) — including breaches a ``known_weak`` entry accepts. The bundle is assembled in a temporary folder beside
``DIR`` and renamed into place: a refused or crashed publish leaves nothing at ``DIR``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import typer

from anonbench.errors import CheckFailed, UsageError
from anonbench.report.card import TableFacts, render_card
from anonbench.report.gate import ChainVerdict, evaluate
from anonbench.report.record import effective_thresholds
from anonbench.report.results import RunData, load_run
from pipelines.runio import TMP_PREFIX, sha256_file, shards, write_bytes_atomic, write_parquet_atomic
from runformat.layout import RunDir

CARD = "DATASET_CARD.md"
SUMS = "SHA256SUMS"


def refusals(data: RunData, verdict: ChainVerdict) -> list[str]:
    """Why this chain must not be published (empty: it may be)."""
    name = verdict.chain.name
    out = []
    if verdict.chain.is_control:
        out.append(f"chain {name} is a control chain: it exists to be caught, never to be published")
    risk = data.risk_of(name)
    leak = risk.filter((pl.col("check") == "leak_scan") & (pl.col("metric") == "leaked_values"))["value"]
    if leak.is_empty():
        out.append(f"chain {name}: the leak scan did not run, so the release cannot be shown free of raw "
                   "identifiers (run `anonbench attack` with leak_scan)")
    elif leak.null_count() or leak.is_nan().any():
        out.append(f"chain {name}: the leak scan has no value, so the release cannot be shown free of raw "
                   "identifiers")
    elif leak.sum() > 0:
        out.append(f"chain {name}: the leak scan found {leak.sum():g} raw identifier value(s) in the release")
    if not verdict.chain.is_control and not verdict.passed:
        out.extend(f"threshold failed: {p}" for p in verdict.problems)
    if verdict.accepted:
        out.append(f"chain {name} is listed as known weak ({verdict.known_weak}): its {len(verdict.accepted)} "
                   f"breaches are accepted in CI, never in a release; first: {verdict.accepted[0]}")
    return out


def _tables(run: Path, chain: str) -> dict[str, list[Path]]:
    rd = RunDir(run)
    tables = {p.name: shards(p) for p in rd.subdirs(rd.anon(chain))}
    return {t: s for t, s in tables.items() if s}


def _assemble(tmp: Path, data: RunData, verdict: ChainVerdict, tables: dict[str, list[Path]], origin: str) -> None:
    facts = []
    for table, parts in tables.items():
        rows = 0
        for part in parts:
            dest = tmp / "data" / table / part.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(part, dest)
            rows += pq.ParquetFile(dest).metadata.num_rows
        facts.append(TableFacts(table, rows, tuple(pq.read_schema(parts[0]).names), len(parts)))
    risk_dir = RunDir(data.path).risk(verdict.chain.name)
    for f in sorted(risk_dir.glob("*.parquet")):
        if not f.name.startswith(TMP_PREFIX):
            (tmp / "risk").mkdir(exist_ok=True)
            shutil.copyfile(f, tmp / "risk" / f.name)
    val = data.validation_of(verdict.chain.name)
    if val.height:
        write_parquet_atomic(val.to_arrow(), tmp / "validation" / "validation.parquet")
    passed = int(val["success"].fill_null(False).sum()) if val.height else 0
    card = render_card(data, verdict, facts, {"total": val.height, "passed": passed}, origin)
    write_bytes_atomic(card.encode(), tmp / CARD)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    sums = "".join(f"{sha256_file(p)}  {p.relative_to(tmp).as_posix()}\n" for p in files)
    write_bytes_atomic(sums.encode(), tmp / SUMS)


def publish(run: Path, chain: str, to: Path) -> Path:
    """Write the bundle of ``chain`` to ``to``; raises ``CheckFailed`` (refused) or ``UsageError``."""
    data = load_run(run)
    info = data.chain(chain)
    to = Path(to)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise UsageError(f"{to}: already exists and is not an empty folder; choose a new --to")
    if to.resolve().is_relative_to(data.path.resolve()):
        raise UsageError(f"{to}: a bundle may not be written inside the run directory")
    tables = _tables(data.path, chain)
    if not tables:
        raise UsageError(f"{RunDir(data.path).anon(chain)}: no anonymized tables for chain {chain}")
    ts = effective_thresholds(data, prefer_recorded=True)
    verdict = evaluate(data, ts).verdict(info.name)
    why = refusals(data, verdict)
    if why:
        for line in why:
            typer.echo(f"REFUSED {line}", err=True)
        raise CheckFailed(f"publish refused: {why[0]}" + (f" (and {len(why) - 1} more)" if len(why) > 1 else ""))
    to.parent.mkdir(parents=True, exist_ok=True)
    tmp = to.parent / f"{TMP_PREFIX}{to.name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        _assemble(tmp, data, verdict, tables, " → ".join(ts.origins))
        if to.exists():
            to.rmdir()  # empty by the check above
        os.replace(tmp, to)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return to


def main(run: Path, chain: str, to: Path) -> int:
    out = publish(run, chain, to)
    n = sum(1 for p in out.rglob("*") if p.is_file())
    typer.echo(f"published chain {chain}: {out} ({n} files; see {out / CARD})")
    return 0
