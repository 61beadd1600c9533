"""``anonbench import``: a user's own event log (and optionally a release made elsewhere) as a run directory.

See :mod:`pipelines.importlog`. Mapping and input mistakes (unknown field or column, wrong type, unparseable
times, duplicate keys) are exit 2 with one line naming the file and the column; no raw value is ever printed.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.importlog import import_log


def main(events: Path, mapping: str, out: Path, accounts: Path | None = None, map_accounts: str | None = None,
         anonymized: Path | None = None, key: str | None = None, same_order: bool = False,
         map_anonymized: str | None = None, name: str = "external", overwrite: bool = False,
         control_share: float = 0.0) -> int:
    # ImportError_ belongs to the InputError family: exit 2 with its one line.
    section = import_log(events, mapping, out, accounts=accounts, map_accounts=map_accounts,
                         anonymized=anonymized, key=key, same_order=same_order,
                         map_anonymized=map_anonymized, name=name, overwrite=overwrite,
                         control_share=control_share)
    typer.echo(f"imported {section['rows']:,} events of {section['accounts']:,} accounts from {events.name} "
               f"in {section['seconds']:.1f} s -> {out}"
               + (f"; release {anonymized.name} as anon/{name}" if anonymized else "")
               + (f"; {section['control']['accounts']:,} accounts ({section['control']['rows']:,} events) held out "
                  "as the control in truth/control" if section.get("control") else ""))
    return 0
