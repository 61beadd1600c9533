"""``anonbench fit``: the generator's parameters estimated from a log (see :mod:`generators.fit`).

The log is read exactly as ``anonbench import`` reads it (:mod:`pipelines.importlog`: the same ``--map`` and
``--map-accounts``, the same errors, exit 2 naming the column), or taken from a run directory (``--run``). The
result is a run config whose ``generate:`` section ``anonbench generate --config`` reads; a side-by-side table
compares the realism figures (:mod:`generators.realism`) of the log with those of a quick in-process
generation from the fitted config. Only parameters and aggregate figures are written: no raw value.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import polars as pl
import typer
import yaml

from anonbench.errors import UsageError
from generators import realism
from generators.fit import Fit, fit, hour_ratio_sd, realism_users, sample
from pipelines.importlog import (
    ACCOUNT_FIELDS,
    EVENT_FIELDS,
    REQUIRED_EVENT_FIELDS,
    ImportError_,
    Mapping_,
    events_frame,
    users_frame,
)
from runformat.layout import RAW, RunDir

RUN_EVENT_COLUMNS = ("account_id", "event_time", "action", "product", "session_id", "org_id", "utc_offset_minutes")
RUN_USER_COLUMNS = ("account_id", "account_type", "role", "timezone", "team_id", "org_id")


def read_log(events: Path, mapping: str, accounts: Path | None, map_accounts: str | None
             ) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(events, accounts) of a user's log, mapped and checked as ``anonbench import`` does."""
    emap = Mapping_.parse(mapping, EVENT_FIELDS, REQUIRED_EVENT_FIELDS, "--map")
    if accounts is None and map_accounts:
        raise ImportError_("--map-accounts: given without --accounts FILE")
    amap = Mapping_.parse(map_accounts or "", ACCOUNT_FIELDS, ("person",), "--map-accounts") \
        if accounts is not None else None
    ev = events_frame(events, emap)
    users = users_frame(accounts, amap, ev["account_id"]) if accounts is not None and amap is not None else None
    return ev, users


def read_run(run: Path) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """(events, users or None, truth persons or None) of a run directory (generated or imported)."""
    rd = RunDir(run)
    folder = rd.raw("events")
    if not folder.is_dir() or not any(folder.glob("*.parquet")):
        raise UsageError(f"{run}: not a run directory (no {RAW}/events)")
    lf = pl.scan_parquet(folder / "*.parquet")
    names = lf.collect_schema().names()
    ev = lf.select([c for c in RUN_EVENT_COLUMNS if c in names]).collect()
    users = None
    if rd.raw("users").is_dir() and any(rd.raw("users").glob("*.parquet")):
        ul = pl.scan_parquet(rd.raw("users") / "*.parquet")
        users = ul.select([c for c in RUN_USER_COLUMNS if c in ul.collect_schema().names()]).collect()
    truth = rd.truth_accounts
    persons = pl.read_parquet(truth, columns=["account_id", "person_id"]) if truth.is_file() else None
    return ev, users, persons


def comparison(source: dict[str, float], generated: dict[str, float], noise: dict[str, float]) -> str:
    """A Markdown table of the realism figures: log, generated from the fitted config, relative difference,
    and for the hour ratios the sampling noise of the difference (two standard deviations)."""
    rows = ["| figure (humans) | log | generated | difference | noise (2 SD) |", "|---|---|---|---|---|"]
    for key, t in realism.TARGETS.items():
        a, b = source[key], generated[key]
        rel = f"{b / a - 1:+.1%}" if a != 0 and math.isfinite(a) and math.isfinite(b) else "n/a"
        sd = f"±{noise[key]:.3f}" if key in noise and math.isfinite(noise[key]) else ""
        rows.append(f"| {t.label} | {a:.3f} | {b:.3f} | {rel} | {sd} |")
    return "\n".join(rows)


def write_config(result: Fit, out: Path, name: str, seed: int, source: str) -> None:
    doc: dict[str, Any] = {"name": name, "seed": seed, "generate": result.params.model_dump(mode="json")}
    head = (f"# Generation config fitted by `anonbench fit` to {source}.\n"
            "# Use: anonbench generate --config THIS_FILE --out RUN\n"
            + "".join(f"# note: {n}\n" for n in result.notes))
    tmp = out.with_name(f".{out.name}.tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(head + yaml.safe_dump(doc, sort_keys=False, width=120))
    os.replace(tmp, out)


def main(out: Path, events: Path | None = None, mapping: str | None = None, accounts: Path | None = None,
         map_accounts: str | None = None, run: Path | None = None, seed: int = 0, compare_events: int = 200_000,
         compare: bool = True) -> int:
    if (events is None) == (run is None):
        raise UsageError("give exactly one of --events FILE (with --map) or --run RUN")
    if compare_events <= 0:
        raise UsageError(f"--compare-events: must be a positive number of events, got {compare_events}")
    persons = None
    try:
        if events is not None:
            if not mapping:
                raise UsageError("--events: needs --map person=COL,time=COL,action=COL[,...]")
            ev, users = read_log(events, mapping, accounts, map_accounts)
        else:
            if mapping or accounts or map_accounts:
                raise UsageError("--run: --map, --accounts and --map-accounts apply to --events only")
            assert run is not None
            ev, users, persons = read_run(run)
    except ImportError_ as e:
        raise UsageError(str(e)) from None
    try:
        result = fit(ev, users, persons, seed=seed)
    except ValueError as e:
        raise UsageError(f"{events or run}: {e}") from None
    source = (events or run).name  # type: ignore[union-attr]
    write_config(result, out, f"fitted-{Path(source).stem}", seed, source)
    typer.echo(f"fitted {ev.height:,} events of {ev['account_id'].n_unique():,} accounts -> {out}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    if compare:
        quick = result.params.model_copy(update={"events": min(result.params.events, compare_events)})
        gen = sample(quick, seed, {"events": ("account_id", "event_time")})
        ru = realism_users(ev, users)
        src = realism.measure(ev, ru, persons)
        new = realism.measure(gen["events"], gen["users"], gen["accounts"])
        sd_a, sd_b = hour_ratio_sd(ev, ru, persons), hour_ratio_sd(gen["events"], gen["users"], gen["accounts"])
        noise = {k: 2 * math.hypot(sd_a[k], sd_b[k]) for k in sd_a}
        typer.echo(f"\nrealism figures: the log vs {quick.events:,} events generated from {out.name} (seed {seed})")
        typer.echo(comparison(src, new, noise))
        typer.echo("(noise: two standard deviations of the difference over a bootstrap of people; a difference "
                   "inside it is sampling noise of a log this size)")
    return 0
