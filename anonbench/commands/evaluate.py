"""``anonbench evaluate``: table mode — the risk metrics on any CSV/Parquet table with one row per person.

Runs ``reid.tablemode.evaluate_tables`` (quasi-identifier metrics as pyCANON/ARX; anonymeter's singling out,
linkability and inference against the optional control table), prints the figures, and with ``--out DIR``
writes ``DIR/<check>.parquet`` in DESIGN's risk schema (chain ``table``). A missing file or column exits 2
with a message naming it; values of the tables are never printed.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from anonbench.errors import UsageError
from pipelines.runio import write_parquet_atomic
from reid.catalog import TABLE_CHECKS
from reid.params import MAX_ATTACKS
from reid.result import Metric, to_table
from reid.tablemode import evaluate_tables

CHAIN = "table"
CHECKS = TABLE_CHECKS


def _variant(m: Metric) -> str:
    p = m.params
    if m.check == "singling_out":
        return "univariate" if p.get("mode") == "univariate" else f"{p.get('n_cols')} columns"
    if m.check == "linkability":
        return f"{p.get('n_neighbors')} nearest"
    if m.check == "inference":
        return str(p.get("secret", ""))
    return str(p.get("sensitive", "")) if m.metric in ("l_distinct", "l_entropy", "t_closeness") else ""


def _fmt(x: float | None, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if float(x).is_integer() and abs(x) >= 1:
        return str(int(x))
    return f"{x:.{digits}f}"


def render(metrics: list[Metric], console: Console) -> None:
    """One line per metric: check, the parameters that tell rows apart, value, 95% CI and n."""
    table = Table(title="anonbench evaluate (table mode)", show_lines=False)
    for col in ("check", "variant", "metric"):
        table.add_column(col, overflow="fold")
    for col, width in (("value", 6), ("95% CI", 11), ("n", 5)):
        table.add_column(col, justify="right", no_wrap=True, min_width=width)
    for m in metrics:
        ci = "" if m.ci_low is None else f"{_fmt(m.ci_low, 3)}–{_fmt(m.ci_high, 3)}"
        table.add_row(m.check, _variant(m), m.metric, _fmt(m.value), ci, str(m.n))
    console.print(table)
    if any(m.metric == "control_rate" and m.n == 0 for m in metrics):
        console.print("note: without --control, a risk is the attack's raw success rate (anonymeter's convention): "
                      "it includes what the data teaches about anyone of the population, not only about its people.")
    for m in metrics:
        q = m.params.get("queries")
        if m.check == "singling_out" and m.metric == "risk" and q is not None and q < m.n:
            if m.params.get("ran_short"):
                console.print(f"note: singling_out {_variant(m)}: the search ran short ({q} queries built for "
                              f"{m.n} attacks, more may exist); the rates count the missing ones as failures, so "
                              "the risk is only a lower bound: treat it as not measured.")
            else:
                console.print(f"note: singling_out {_variant(m)}: the release allows only {q} singling-out "
                              f"queries, all built, for {m.n} attacks; as in anonymeter, the rates count the "
                              "attacks without a query as failures.")


def write(metrics: list[Metric], out: Path) -> list[Path]:
    """``out/<check>.parquet`` per check, atomically; results of checks not run this time are removed."""
    by_check: dict[str, list[Metric]] = defaultdict(list)
    for m in metrics:
        by_check[m.check].append(m)
    for check in CHECKS:
        if check not in by_check:
            (out / f"{check}.parquet").unlink(missing_ok=True)
    return [write_parquet_atomic(to_table(ms, chain=CHAIN), out / f"{check}.parquet")
            for check, ms in by_check.items()]


def main(original: Path, anonymized: Path, control: Path | None, quasi_identifiers: str,
         sensitive: str | None, aux_a: str | None, aux_b: str | None, n_attacks: int, seed: int,
         out: Path | None) -> int:
    if not 1 <= n_attacks <= MAX_ATTACKS:
        raise UsageError(f"--n-attacks: must be between 1 and {MAX_ATTACKS}, got {n_attacks}")
    if out is not None and out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    console = Console(stderr=False)
    # TableError belongs to the InputError family: exit 2 with its one line.
    metrics = evaluate_tables(original, anonymized, control, qis=quasi_identifiers, sensitive=sensitive,
                              aux_a=aux_a, aux_b=aux_b, n_attacks=n_attacks, seed=seed,
                              labels=(str(original), str(anonymized), str(control)))
    render(metrics, console)
    if out is not None:
        paths = write(metrics, out)
        console.print(f"wrote {len(paths)} files to {out}: " + json.dumps(sorted(p.name for p in paths)))
    return 0
