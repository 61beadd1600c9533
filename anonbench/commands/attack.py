"""``anonbench attack --run RUN --chain NAME``: the re-identification checks of ``reid.harness`` on one chain.

First checks the files it reads (raw, truth, the chain) against the manifest's sha256 (exit 2 naming the first
damaged file). Writes ``RUN/risk/<chain>/<check>.parquet`` (one row per metric, DESIGN's risk schema) beside
the run and commits the folder with the manifest's ``risk.<chain>`` section in one rename (results of checks
no longer run go), and prints the figures. The attack parameters come from ``--config`` (its ``attacks:`` section) or else from the config
recorded in the run's manifest. Raw values never reach the output: the checks report counts and shares only.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from anonbench.config import format_validation_error, load_run_config
from anonbench.errors import UsageError
from pipelines import commit, manifest
from pipelines.integrity import verify_run
from pipelines.runio import write_parquet_atomic
from reid.harness import run_checks
from reid.params import AttackParams
from reid.result import Metric, to_table
from runformat import layout
from runformat import manifest as keys
from runformat.layout import RunDir

SHOWN_PARAMS = ("p", "table", "column", "qi_set", "mode", "reason")


def load_params(run: Path, config: Path | None) -> AttackParams:
    """The ``attacks:`` section of ``config``, else of the config recorded in the manifest, else defaults."""
    if config is not None:
        return load_run_config(config).attacks
    section = keys.section(manifest.load(run), keys.CONFIG).get("attacks")
    try:
        return AttackParams.model_validate(section or {})
    except ValidationError as e:
        raise UsageError(format_validation_error(f"{run / manifest.MANIFEST} (config.attacks)", e)) from None


def _fmt(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"


def render(results: dict[str, list[Metric]], chain: str, console: Console) -> None:
    table = Table(title=f"risk and utility: {chain}")
    for col in ("check", "metric", "where", "value", "95% CI", "n"):
        table.add_column(col, justify="right" if col in ("value", "n") else "left")
    for check, metrics in results.items():
        for m in metrics:
            where = ", ".join(f"{k}={m.params[k]}" for k in SHOWN_PARAMS if k in m.params)
            ci = f"[{_fmt(m.ci_low)}, {_fmt(m.ci_high)}]" if m.ci_low is not None else ""
            table.add_row(check, m.metric, where, _fmt(m.value), ci, str(m.n))
    console.print(table)


def main(run: Path, chain: str, config: Path | None = None) -> int:
    run = Path(run)
    rd = RunDir(run)
    if not manifest.is_complete(run):
        raise UsageError(f"{run}: no {layout.MANIFEST} (not a run directory, or the run is incomplete)")
    if not rd.anon(chain).is_dir():
        raise UsageError(f"{rd.anon(chain)}: no such chain output (run `anonbench anonymize` first)")
    params = load_params(run, config)
    # Polars does not check Parquet page checksums: the files the attacks read are checked against the manifest.
    damaged = verify_run(run, prefixes=[layout.RAW, layout.TRUTH, layout.anon_rel(chain)], extras=False)
    if damaged:
        raise UsageError(f"{run}: {damaged[0].line()} — the run does not match its manifest "
                         f"({len(damaged)} file(s); see `anonbench verify --run {run}`)")
    console = Console(stderr=True)
    t0 = time.perf_counter()
    try:
        with console.status(f"attacking {chain}") as status:
            results = run_checks(run, chain, params, progress=lambda c: status.update(f"{chain}: {c}"))
    except FileNotFoundError as e:
        raise UsageError(str(e)) from None
    seconds = time.perf_counter() - t0
    raised = {c: str(ms[0].params["error"]) for c, ms in results.items() if ms and ms[0].params.get("error")}
    section: dict[str, Any] = {
        "checks": list(results), "seconds": round(seconds, 3), "params": params.model_dump(mode="json"),
        "rows": {check: len(metrics) for check, metrics in results.items()},
        "raised": raised,
        "truth_alignment": sorted({str(m.params["truth_alignment"]) for ms in results.values() for m in ms
                                   if "truth_alignment" in m.params}),
    }
    # risk/<chain>/ is staged and committed as a whole, so results of checks no longer run go with it.
    with commit.staging(run) as area:
        for check, metrics in results.items():
            write_parquet_atomic(to_table(metrics, chain), RunDir(area).risk(chain, check))
        commit.commit(run, lambda m: {**m, keys.RISK: {**keys.section(m, keys.RISK), chain: section}},
                      staged=area, replace=[layout.risk_rel(chain)])
    render(results, chain, Console(width=max(140, Console().width)))
    for check, error in raised.items():
        console.print(f"[red]check {check} raised {error}[/]: its row says so and the gate counts it as not "
                      "measured (re-run with --debug for the traceback)")
    console.print(f"wrote {rd.risk(chain)} ({len(results)} checks, {seconds:.1f} s)")
    return 0
