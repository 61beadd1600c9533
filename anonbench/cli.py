"""The ``anonbench`` command line (typer).

Exit codes (DESIGN.md): 0 all went well; 1 a check or threshold failed (the work completed); 2 usage, config
or input error, reported as one line naming the file, key or column, without a traceback unless ``--debug``.
Each command's work lives in ``anonbench.commands.<name>``; this module only parses and maps errors.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no telemetry, ever

import typer

from anonbench.errors import classify

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Can this 'anonymized' usage metadata be re-identified, and how much use is left in it?")
_STATE = {"debug": False}
PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors.")) -> None:
    _STATE["debug"] = debug
    # Libraries (Beam, GX) log chatter at WARNING/INFO; progress is printed by the commands themselves.
    logging.basicConfig(level=logging.INFO if debug else logging.ERROR, format="%(levelname)s %(name)s: %(message)s",
                        force=True)


def _err(msg: str) -> None:
    typer.echo(f"anonbench: error: {msg}", err=True)


def _call(fn: Callable[..., Any], **kwargs: Any) -> None:
    """Run a command body and map its outcome onto the exit codes."""
    try:
        code = fn(**kwargs)
    except KeyboardInterrupt:
        _err("interrupted; nothing complete-looking was left behind")
        raise typer.Exit(130) from None
    except Exception as e:
        # The one place where outcomes become exit codes (anonbench.errors.classify): the InputError family
        # is 2, CheckFailed 1, anything else a bug (3). One line; --debug for the traceback.
        if _STATE["debug"]:
            traceback.print_exc()
        exit_code, message = classify(e)
        _err(message)
        raise typer.Exit(exit_code) from None
    raise typer.Exit(int(code or 0))


@app.command(context_settings=PASSTHROUGH)
def generate(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Run config YAML."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to create."),
    events: int | None = typer.Option(None, "--events", help="Target number of events (overrides config)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed (overrides config)."),
    runner: str | None = typer.Option(None, "--runner", help="Beam runner (default: in-process)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing complete run."),
) -> None:
    """Generate synthetic raw tables and their ground truth. Beam options may follow `--`."""
    from anonbench.commands import generate as cmd

    _call(cmd.main, config=config, out=out, events=events, seed=seed, runner=runner, overwrite=overwrite,
          beam_args=list(ctx.args))


@app.command(context_settings=PASSTHROUGH)
def anonymize(
    ctx: typer.Context,
    run: Path = typer.Option(..., "--run", help="Run directory."),
    chain: str = typer.Option(..., "--chain", help="Chain name (configs/chains/NAME.yaml) or a YAML path."),
    runner: str | None = typer.Option(None, "--runner", help="Beam runner (default: in-process)."),
) -> None:
    """Apply one anonymizer chain to a run: RUN/anon/<chain>/."""
    from anonbench.commands import anonymize as cmd

    _call(cmd.main, run=run, chain=chain, runner=runner, beam_args=list(ctx.args))


@app.command()
def anonymizers() -> None:
    """List installed anonymizers (built-in and third-party) with their parameters and properties."""
    from anonbench.commands import anonymize as cmd

    _call(cmd.list_anonymizers)


@app.command(context_settings=PASSTHROUGH)
def validate(
    ctx: typer.Context,
    run: Path = typer.Option(..., "--run", help="Run directory."),
    chain: str | None = typer.Option(None, "--chain", help="Validate this chain only (default: raw and all)."),
    runner: str | None = typer.Option(None, "--runner", help="Beam runner (default: in-process)."),
) -> None:
    """Great Expectations suites on raw and/or anonymized tables: RUN/validation/."""
    from anonbench.commands import validate as cmd

    _call(cmd.main, run=run, chain=chain, runner=runner, beam_args=list(ctx.args))


@app.command()
def attack(
    run: Path = typer.Option(..., "--run", help="Run directory."),
    chain: str = typer.Option(..., "--chain", help="Chain to attack."),
    config: Path | None = typer.Option(None, "--config", help="Run config with attack parameters "
                                       "(default: the one recorded in the run)."),
) -> None:
    """Re-identification checks scored against the ground truth: RUN/risk/<chain>/."""
    from anonbench.commands import attack as cmd

    _call(cmd.main, run=run, chain=chain, config=config)


@app.command("import")
def import_(
    events: Path = typer.Option(..., "--events", help="The event log (Parquet, CSV or TSV), any column names."),
    mapping: str = typer.Option(..., "--map", help="person=COL,time=COL,action=COL[,org=,product=,ip=,"
                                "user_agent=,object=,container=,session=,outcome=,country=,auth=,event_id=]"),
    out: Path = typer.Option(..., "--out", help="Run directory to write."),
    accounts: Path | None = typer.Option(None, "--accounts", help="Per-person attributes (Parquet/CSV)."),
    map_accounts: str | None = typer.Option(None, "--map-accounts", help="person=COL[,timezone=,type=,role=,"
                                            "org=,country=,locale=,created=,team=]"),
    anonymized: Path | None = typer.Option(None, "--anonymized", help="A release of the same log made "
                                           "elsewhere, imported as anon/NAME/events."),
    key: str | None = typer.Option(None, "--key", help="Row key present in both files (with --anonymized)."),
    same_order: bool = typer.Option(False, "--same-order", help="The release keeps the log's rows in order."),
    map_anonymized: str | None = typer.Option(None, "--map-anonymized", help="Mapping of the release "
                                              "(default: --map)."),
    name: str = typer.Option("external", "--name", help="Chain name of the imported release."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing run directory."),
    control_share: float = typer.Option(0.0, "--control-share", help="Share of the accounts held out as the "
                                        "control population (truth/control; by a hash of the account id), so "
                                        "anonymeter-style and membership checks can measure chance."),
) -> None:
    """A user's own event log (and optionally a release made elsewhere) as a run directory."""
    from anonbench.commands import import_ as cmd

    _call(cmd.main, events=events, mapping=mapping, out=out, accounts=accounts, map_accounts=map_accounts,
          anonymized=anonymized, key=key, same_order=same_order, map_anonymized=map_anonymized, name=name,
          overwrite=overwrite, control_share=control_share)


@app.command()
def fit(
    out: Path = typer.Option(..., "--out", "-o", help="Generation config (YAML) to write."),
    events: Path | None = typer.Option(None, "--events", help="The event log (Parquet, CSV or TSV), as for import."),
    mapping: str | None = typer.Option(None, "--map", help="person=COL,time=COL,action=COL[,...] (as for import)."),
    accounts: Path | None = typer.Option(None, "--accounts", help="Per-person attributes (Parquet/CSV)."),
    map_accounts: str | None = typer.Option(None, "--map-accounts", help="person=COL[,timezone=,type=,role=,"
                                            "org=,team=,...] (as for import)."),
    run: Path | None = typer.Option(None, "--run", help="A run directory instead of --events."),
    seed: int = typer.Option(0, "--seed", help="Seed written to the config and used by the comparison."),
    compare_events: int = typer.Option(200_000, "--compare-events", help="Events of the quick generation."),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Print log vs generated realism figures."),
) -> None:
    """Estimate the generator's parameters from a log; write a config that `generate` reads."""
    from anonbench.commands import fit as cmd

    _call(cmd.main, out=out, events=events, mapping=mapping, accounts=accounts, map_accounts=map_accounts,
          run=run, seed=seed, compare_events=compare_events, compare=compare)


@app.command()
def evaluate(
    original: Path = typer.Option(..., "--original", help="CSV/Parquet, one row per person."),
    anonymized: Path = typer.Option(..., "--anonymized", help="The released table (CSV/Parquet)."),
    control: Path | None = typer.Option(None, "--control", help="Held-out rows of the same population."),
    quasi_identifiers: str = typer.Option(..., "--quasi-identifiers", "-q", help="Comma-separated columns."),
    sensitive: str | None = typer.Option(None, "--sensitive", "-s", help="Sensitive (secret) column."),
    aux_a: str | None = typer.Option(None, "--aux-a", help="Linkability: columns of the first source."),
    aux_b: str | None = typer.Option(None, "--aux-b", help="Linkability: columns of the second source."),
    n_attacks: int = typer.Option(2000, "--n-attacks", help="Attacks per evaluator (anonymeter-style)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the attack sampling."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the risk Parquet files."),
) -> None:
    """Table mode: the same risk metrics on any table with one row per person."""
    from anonbench.commands import evaluate as cmd

    _call(cmd.main, original=original, anonymized=anonymized, control=control,
          quasi_identifiers=quasi_identifiers, sensitive=sensitive, aux_a=aux_a, aux_b=aux_b,
          n_attacks=n_attacks, seed=seed, out=out)


@app.command(name="run", context_settings=PASSTHROUGH)
def run_(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Run config YAML."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory."),
    runner: str | None = typer.Option(None, "--runner", help="Beam runner (default: in-process)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing complete run."),
) -> None:
    """Generate, then anonymize, validate and attack every chain of the config; report; check."""
    from anonbench.commands import run as cmd

    _call(cmd.main, config=config, out=out, runner=runner, overwrite=overwrite, beam_args=list(ctx.args))


@app.command()
def report(run: Path = typer.Option(..., "--run", help="Run directory.")) -> None:
    """Write RUN/report/index.html, summary.md and summary.json."""
    from anonbench.commands import report as cmd

    _call(cmd.main, run=run)


@app.command()
def check(
    run: Path = typer.Option(..., "--run", help="Run directory."),
    thresholds: Path | None = typer.Option(None, "--thresholds", help="Thresholds YAML (overrides the run's)."),
    baseline: list[Path] | None = typer.Option(None, "--baseline", help="A baseline run directory or its "
                                               "summary.json: also fail a candidate figure that got significantly "
                                               "worse. Repeat it for several baselines of other populations (e.g. "
                                               "seeds): pooled per figure, with the spread between them."),
) -> None:
    """Compare results with thresholds (and a baseline); exit 1 on a breach, a regression or an escaped control."""
    from anonbench.commands import check as cmd

    _call(cmd.main, run=run, thresholds=thresholds, baseline=baseline)


@app.command()
def publish(
    run: Path = typer.Option(..., "--run", help="Run directory."),
    chain: str = typer.Option(..., "--chain", help="Chain to publish."),
    to: Path = typer.Option(..., "--to", help="Bundle folder to create."),
) -> None:
    """Researcher bundle: anonymized tables, dataset card, validation and risk; never raw or truth."""
    from anonbench.commands import publish as cmd

    _call(cmd.main, run=run, chain=chain, to=to)


@app.command()
def verify(run: Path = typer.Option(..., "--run", help="Run directory.")) -> None:
    """Check every file of a run against its manifest (rows, sha256); exit 1 naming each damaged file."""
    from anonbench.commands import verify as cmd

    _call(cmd.main, run=run)


def main() -> None:
    try:
        app()
    except SystemExit as e:
        sys.exit(e.code)


if __name__ == "__main__":
    main()
