"""``anonbench anonymize`` and ``anonbench anonymizers``.

``anonymize`` validates the whole chain against the run before any data moves and never falls back to an
ephemeral key: a key reference that does not resolve is exit 2. Errors of the Beam-free layer
(``ChainError``, ``RunError``, ...) belong to the ``InputError`` family, which the CLI maps to exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from anonymizers import registry as registry_mod
from anonymizers.base import Anonymizer
from anonymizers.chain import flags
from runformat.layout import RunDir


def run_chain(run: Path, chain: str, runner: str | None = None, beam_args: Sequence[str] = (),
              ephemeral_key: bytes | None = None, workers: int | None = None) -> dict[str, Any]:
    """``pipelines.anonymize.anonymize_run``; its input errors (``ChainError``, ``RunError``, ...) are exit 2."""
    from pipelines.anonymize import anonymize_run

    return anonymize_run(run, chain, runner=runner, beam_args=beam_args, ephemeral_key=ephemeral_key,
                         workers=workers)


def main(run: Path, chain: str, runner: str | None = None, beam_args: Sequence[str] = ()) -> int:
    console = Console(stderr=True)
    console.print(f"anonymize: applying chain [bold]{chain}[/bold] to {run}")
    section = run_chain(Path(run), chain, runner, beam_args)
    for table, st in section["tables"].items():
        dropped = sum(st["dropped_by_step"].values())
        rows_in = "-" if st["rows_in"] is None else f"{st['rows_in']:,}"
        note = f", {dropped:,} dropped" if dropped else ""
        console.print(f"  {table}: {rows_in} rows in, {st['rows_out']:,} out{note}")
    for step in section["steps"]:
        budget = (step.get("report") or {}).get("budget")
        if budget:
            console.print(f"  {step['label']}: epsilon={budget['epsilon']}, delta={budget['delta']} "
                          f"per {budget['privacy_unit']}")
    console.print(f"anonymize: wrote {RunDir(run).anon(section['name'])} in {section['seconds']:.1f}s "
                  f"(role: {section['role']})")
    return 0


def _params(cls: type[Anonymizer]) -> str:
    lines = []
    for fname, field in cls.Params.model_fields.items():
        default = "required" if field.is_required() else repr(field.get_default(call_default_factory=True))
        lines.append(f"{fname}={default}")
    return "\n".join(lines) or "-"


def list_anonymizers() -> int:
    """A table of installed anonymizers; exit 2 when a plugin is broken (each named by its package)."""
    reg = registry_mod.load()
    table = Table(title="anonbench anonymizers", show_lines=True)
    for col in ("name", "parameters (defaults)", "flags", "source"):
        table.add_column(col, overflow="fold")
    for name in reg.names():
        e = reg.entries[name]
        if e.cls is None:
            table.add_row(name, "-", "[red]broken[/red]", e.source)
            continue
        on = [k for k, v in flags(e.cls).items() if v]
        extra = [f"releases {e.cls.releases}"] if e.cls.releases else []
        table.add_row(name, _params(e.cls), "\n".join(on + extra) or "-", e.source)
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    broken = reg.broken()
    for e in broken:
        Console(stderr=True).print(f"anonbench: error: {e.error}", markup=False, highlight=False)
    return 2 if broken else 0
