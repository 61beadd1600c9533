"""Anonymizer chains: the YAML model, and validation of a whole chain before any data moves.

A chain (``configs/chains/<name>.yaml``, see DESIGN.md) is a name, a role (``candidate`` or ``control``) and
a list of steps ``{use, columns: {table: [column, ...]}, with: {...}}``. :func:`resolve_chain` checks, in
order, for every step: the anonymizer exists (a broken plugin is named by package), its parameters are
valid, every table and column exists *at that point of the chain* (after earlier steps dropped or retyped
columns) and has a type the anonymizer accepts, and its secret reference resolves. The first problem raises
:class:`ChainError`, whose one-line message names the chain file and the step (``steps[2]
(pseudonymize.hmac)``). Messages never contain a key or a parameter value that could be one.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonymizers import registry as registry_mod
from anonymizers.base import ALL_COLUMNS, Anonymizer
from anonymizers.secrets import SecretError, resolve
from generators.errors import InputError
from generators.schema import RAW_TABLES

CHAIN_DIR = Path(__file__).resolve().parent.parent / "configs" / "chains"
_NAME = r"^[a-z0-9][a-z0-9_.-]*$"


class ChainError(InputError):
    """A chain that cannot run; one line naming the chain file and the step at fault."""


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    use: str = Field(description="Registry name of the anonymizer.")
    name: str | None = Field(None, description="Optional label of the step (defaults to `use`).")
    columns: dict[str, list[str]] = Field(default_factory=dict,
                                          description="Tables and their columns; `*` = all columns.")
    with_: dict[str, Any] = Field(default_factory=dict, alias="with", description="Parameters.")


class ChainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=_NAME, description="Chain name; outputs go to RUN/anon/<name>/.")
    role: Literal["candidate", "control"] = "candidate"
    description: str = ""
    steps: list[StepSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One validated step, bound to its parameters and key."""

    index: int
    label: str
    use: str
    anonymizer: Anonymizer
    columns: Mapping[str, tuple[str, ...]]
    tables: tuple[str, ...]

    @property
    def stateful(self) -> bool:
        return self.anonymizer.stateful

    @property
    def releases(self) -> str | tuple[str, ...] | None:
        return self.anonymizer.releases

    @property
    def released_tables(self) -> tuple[str, ...]:
        """Tables this (aggregating) step releases; empty for the others."""
        return self.anonymizer.released_tables()

    @property
    def shard_release(self) -> bool:
        """An aggregating step that releases through ``fit_release``/``release_shard`` (not PipelineDP)."""
        cls = type(self.anonymizer)
        return bool(self.released_tables) and cls.fit_release is not Anonymizer.fit_release


@dataclass(frozen=True)
class Chain:
    """A validated chain: its steps, and the schema of every table it releases."""

    name: str
    role: str
    description: str
    source: str
    steps: tuple[Step, ...]
    input_schemas: Mapping[str, pa.Schema]
    output_schemas: Mapping[str, pa.Schema]
    ephemeral: tuple[str, ...] = ()
    released_by: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Tables released by an aggregating step (table -> step index): not written by the main pass."""

    def manifest_section(self) -> dict[str, Any]:
        """Chain parameters for the manifest: references to keys, never keys."""
        return {
            "name": self.name,
            "role": self.role,
            "description": self.description,
            "source": self.source,
            "ephemeral_key": list(self.ephemeral),
            "steps": [{
                "index": s.index, "use": s.use, "label": s.label,
                "columns": {t: list(c) for t, c in s.columns.items()},
                "with": s.anonymizer.public_params(),
                "flags": flags(type(s.anonymizer)),
            } for s in self.steps],
        }


def flags(cls: type[Anonymizer]) -> dict[str, bool]:
    return {"row_preserving": cls.row_preserving, "deterministic": cls.deterministic,
            "needs_secret": cls.needs_secret, "stateful": cls.stateful,
            "differentially_private": cls.differentially_private, "synthetic": cls.synthetic}


def find_chain(name_or_path: str | Path, chain_dir: Path = CHAIN_DIR) -> Path:
    """A chain name (``generalize``) or a YAML path -> the chain file."""
    text = str(name_or_path)
    p = Path(text)
    if p.suffix in (".yaml", ".yml") or "/" in text or p.is_file():
        if not p.is_file():
            raise ChainError(f"{text}: no such chain file")
        return p
    if not re.match(_NAME, text):
        raise ChainError(f"{text!r}: not a chain name or a YAML path")
    path = chain_dir / f"{text}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(q.stem for q in chain_dir.glob("*.yaml"))) or "none"
        raise ChainError(f"chain {text!r}: no {path.name} in {chain_dir} (chains: {known})")
    return path


def load_spec(path: str | Path) -> ChainSpec:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as e:
        raise ChainError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        raise ChainError(f"{path}:{where} not valid YAML: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict):
        raise ChainError(f"{path}: a chain must be a mapping with name, role and steps")
    try:
        return ChainSpec.model_validate(data)
    except ValidationError as e:
        raise ChainError(f"{path}: {_first_error(e)}") from None


def _first_error(e: ValidationError, prefix: str = "") -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err.get("loc", ())) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
    return f"{prefix}{loc}: {msg}{more}"  # never err['input']: it could be an inline key


def secret_references(spec: ChainSpec, reg: registry_mod.Registry) -> list[str]:
    """The secret references a chain uses (to offer ephemeral keys for unset ``env:`` ones)."""
    refs = []
    for s in spec.steps:
        entry = reg.entries.get(s.use)
        if entry is None or entry.cls is None or not entry.cls.needs_secret:
            continue
        for f in entry.cls.secret_fields:
            v = s.with_.get(f)
            if isinstance(v, str) and v not in refs:
                refs.append(v)
    return refs


def _bind_step(i: int, s: StepSpec, where: str, reg: registry_mod.Registry,
               schemas: dict[str, pa.Schema], ephemeral: Mapping[str, bytes] | None,
               used_ephemeral: list[str]) -> Step:
    label = f"steps[{i}] ({s.name or s.use})"
    at = f"{where}: {label}"
    try:
        cls = reg.get(s.use)
    except (registry_mod.UnknownAnonymizer, registry_mod.PluginError) as e:
        raise ChainError(f"{at}: {e}") from None
    try:
        params = cls.Params.model_validate(s.with_)
    except ValidationError as e:
        raise ChainError(f"{at}: {_first_error(e, 'with.')}") from None
    secret = None
    if cls.needs_secret:
        ref = getattr(params, cls.secret_fields[0], None)
        if ref is None:
            raise ChainError(f"{at}: with.{cls.secret_fields[0]}: a key reference (env:NAME or file:PATH) "
                             "is required")
        try:
            secret = resolve(ref, dict(ephemeral or {}))
        except SecretError as e:
            raise ChainError(f"{at}: with.{cls.secret_fields[0]}: {e}") from None
        if (ephemeral and ref in ephemeral and ref not in used_ephemeral and ref.startswith("env:")
                and not os.environ.get(ref[4:])):
            used_ephemeral.append(ref)
    try:
        anonymizer = cls(params, secret)
    except ValueError as e:
        raise ChainError(f"{at}: {e}") from None
    if not s.columns:
        raise ChainError(f"{at}: columns: name at least one table and its columns")
    columns: dict[str, tuple[str, ...]] = {}
    for table, cols in s.columns.items():
        if table not in schemas:
            known = ", ".join(sorted(schemas)) or "none"
            raise ChainError(f"{at}: columns.{table}: unknown or no longer released table (tables: {known})")
        schema = schemas[table]
        expanded = list(schema.names) if cols == [ALL_COLUMNS] else list(cols)
        if not expanded:
            raise ChainError(f"{at}: columns.{table}: name at least one column (or '*')")
        for c in expanded:
            if c not in schema.names:
                raise ChainError(f"{at}: columns.{table}: table {table!r} has no column {c!r} at this step")
            reason = anonymizer.check_column(table, c, schema.field(c).type)
            if reason:
                raise ChainError(f"{at}: columns.{table}: {reason}")
        reason = anonymizer.check_table(table, expanded, schema)
        if reason:
            raise ChainError(f"{at}: columns.{table}: {reason}")
        columns[table] = tuple(expanded)
    tables = tuple(anonymizer.tables({t: list(c) for t, c in columns.items()}))
    for t in tables:
        if t not in schemas:
            raise ChainError(f"{at}: table {t!r} is unknown or no longer released")
    return Step(i, label, s.use, anonymizer, columns, tables)


def resolve_chain(name_or_path: str | Path, *, schemas: Mapping[str, pa.Schema] | None = None,
                  registry: registry_mod.Registry | None = None,
                  ephemeral_secrets: Mapping[str, bytes] | None = None,
                  chain_dir: Path = CHAIN_DIR) -> Chain:
    """Load and validate a whole chain against the raw table schemas; resolve its keys.

    ``ephemeral_secrets`` maps references (``env:ANONBENCH_KEY``) to in-memory keys used only when the
    variable is unset (``anonbench run`` with ``allow_ephemeral_key``). ``anonbench anonymize`` passes none.
    """
    path = find_chain(name_or_path, chain_dir)
    spec = load_spec(path)
    reg = registry or registry_mod.load()
    current: dict[str, pa.Schema] = dict(schemas or RAW_TABLES)
    inputs = dict(current)
    steps: list[Step] = []
    used: list[str] = []
    released: dict[str, pa.Schema] = {}
    released_by: dict[str, int] = {}
    for i, s in enumerate(spec.steps):
        step = _bind_step(i, s, str(path), reg, current, ephemeral_secrets, used)
        before = dict(current)
        for t in step.tables:
            cols = list(step.columns.get(t, ()))
            out = step.anonymizer.output_schema(t, cols, current[t])
            if out is None:
                del current[t]
            else:
                current[t] = out
        if step.released_tables:
            # Released after the chain has run over every batch, so later steps cannot touch it.
            for name in step.released_tables:
                if name in current or name in released:
                    raise ChainError(f"{path}: {step.label}: releases table {name!r}, which already exists")
            try:
                schemas_out = step.anonymizer.released_schemas(
                    {t: list(c) for t, c in step.columns.items()}, {t: before[t] for t in step.columns})
            except ValueError as e:
                raise ChainError(f"{path}: {step.label}: {e}") from None
            released.update(schemas_out)
            released_by.update({t: step.index for t in schemas_out})
        steps.append(step)
    return Chain(spec.name, spec.role, spec.description, str(path), tuple(steps), inputs,
                 {**current, **released}, tuple(used), released_by)
