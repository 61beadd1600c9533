"""Run configuration: YAML validated by pydantic. Errors name the file, the key and the reason (exit 2).

Each section's model lives with the package it configures (generation in ``generators.params``, attacks in
``reid.params``, validation in ``expectations.params``), so every package can be used alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from anonbench.errors import UsageError
from anonbench.thresholds import parse_document
from anonbench.yamlfile import format_validation_error, load_yaml
from expectations.params import ValidationParams
from generators.params import GenerationParams
from reid.params import AttackParams

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"


class RunnerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, description="Beam runner; None = the in-process runner.")
    options: list[str] = Field(default_factory=list, description="Extra Beam pipeline options.")


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "run"
    seed: int = Field(0, ge=0, lt=2**63)
    generate: GenerationParams = Field(default_factory=lambda: GenerationParams())
    chains: list[str] = Field(default_factory=list, description="Chain names or YAML paths.")
    allow_ephemeral_key: bool = Field(
        False, description="`anonbench run` may make a random in-memory key when the chain's secret is unset.")
    runner: RunnerConfig = Field(default_factory=lambda: RunnerConfig())
    attacks: AttackParams = Field(default_factory=lambda: AttackParams())
    validation: ValidationParams = Field(default_factory=lambda: ValidationParams())
    thresholds: dict[str, Any] | None = Field(
        None, description="Thresholds overriding the defaults (see `anonbench check`).")
    source: str | None = Field(None, description="Set by the loader: the file this config came from.")


def load_run_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Load and validate a run config; ``overrides`` are dotted keys (``generate.events``) set on top."""
    data = load_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a run config must be a mapping at the top level")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for i, p in enumerate(parents):
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise UsageError(f"{path}: {'.'.join(parents[:i + 1])}: must be a mapping (it gets {dotted})")
        node[leaf] = value
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as e:
        raise UsageError(format_validation_error(path, e)) from None
    if cfg.thresholds is not None:
        # Checked now, not after the whole run: a typo in a threshold or a chain name is a config error (exit 2).
        parse_document(cfg.thresholds, f"{path}: thresholds", chains=chain_names(cfg.chains) if cfg.chains else None)
    return cfg.model_copy(update={"source": str(path)})


def chain_names(chains: list[str]) -> list[str]:
    """The names of a config's chains: a registry name as is; a YAML path by its ``name:`` (else its stem)."""
    out = []
    for entry in chains:
        name = Path(entry).stem if entry.endswith((".yaml", ".yml")) else entry
        if name != entry and Path(entry).is_file():
            try:
                doc = yaml.safe_load(Path(entry).read_text())
            except (OSError, yaml.YAMLError):
                doc = None
            if isinstance(doc, dict) and isinstance(doc.get("name"), str):
                name = doc["name"]
        out.append(name)
    return out


__all__ = ["CONFIG_DIR", "REPO_ROOT", "RunConfig", "RunnerConfig", "chain_names", "format_validation_error",
           "load_run_config", "load_yaml"]
