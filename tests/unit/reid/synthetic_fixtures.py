"""A small real run (the project's own generator, Beam-free) with two synthetic-release stand-ins.

* ``leaky-synth`` — a "synthesizer" that copies every real trace into the release under fresh random ids
  (``tokenize.random`` plus dropped direct identifiers) and claims account-level ε = 1: what the membership
  check must catch;
* ``private-synth`` — an independently generated population (another seed) copied into ``anon/``: nothing in
  it depends on the raw data, so no attack can do better than chance;
* ``orgs-synth`` — the raw run's orgs with fresh accounts and traces: a synthesizer that learned the org mix
  (as account-level DP allows) and nothing about any account. The controls (``truth/control/``) are held-out
  accounts of the same orgs, so this is no membership signal.

Both chains' manifest sections carry the step flags (``synthetic``, ``differentially_private``) and the DP
budget where the contract puts them (``chains.<name>.steps[i].report.budget``). ``control_share`` 1 gives as
many control accounts as raw ones, so the membership figures have a usable sample on a 7-day run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pyarrow as pa

from anonymizers import registry as registry_mod
from anonymizers.base import PrivacyBudget
from anonymizers.chain import flags, resolve_chain
from anonymizers.local import run_chain
from anonymizers.tokenize import RandomTokens
from generators import schema
from generators.behaviour import build_events
from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams
from generators.plan import plan_for
from generators.pools import build_pools
from generators.population import build_accounts
from generators.rng import stream
from pipelines.manifest import list_files
from pipelines.runio import shard_name, write_json_atomic, write_parquet_atomic
from reid.params import CHECKS

TABLES = ("orgs", "users", "events", "config_changes")
ORGS = {"org_size_alpha": 2.0, "org_size_max": 40}
"""Many small orgs: accounts of one org share time zone, country and plan, so with the default heavy tail a
few big orgs would make raw and control differ by chance far more than the accounts' number suggests (the
DP cap assumes independent records; Humphries et al., CSF 2023)."""
DIRECT = {"users": ["email", "display_name"], "events": ["actor_email", "client_ip"], "orgs": ["name", "domain"]}


class LeakySynthesizer(RandomTokens):
    """Claims to be an ε = 1 synthesizer; in fact re-keys the real records with fresh random ids."""

    name = "test.leaky_synth"
    synthetic = True
    differentially_private = True
    row_preserving = True

    def privacy_budget(self) -> PrivacyBudget:
        return PrivacyBudget(epsilon=1.0, delta=0.0, unit="account_id", accounting="basic",
                             mechanism="none: a leaky stand-in that copies the records")


LEAKY_CHAIN = """name: leaky-synth
role: candidate
description: copies real traces under fresh random ids and claims epsilon = 1 (a test stand-in)
steps:
  - use: test.leaky_synth
    columns: {users: [account_id, org_id], events: [account_id, org_id, session_id, event_id],
              orgs: [org_id], config_changes: [account_id, org_id]}
  - use: drop
    columns: {users: [email, display_name], events: [actor_email, client_ip], orgs: [name, domain]}
"""


def generate(seed: int, events: int, days: int = 7, scopes: tuple[str, ...] = ("main", "control")
             ) -> dict[str, dict[str, pa.Table]]:
    """scope -> table -> table, straight from ``generators`` (no Beam)."""
    params = GenerationParams.model_validate({"events": events, "days": days, "control_share": 1.0,
                                              "events_per_chunk": max(events // 2, 1000), **ORGS})
    parts: dict[str, dict[str, list[pa.Table]]] = {}
    for spec in chunk_specs(seed, params):
        if spec.scope in scopes:
            for table, data in generate_chunk(spec).items():
                parts.setdefault(spec.scope, {}).setdefault(table, []).append(data)
    return {s: {t: pa.concat_tables(v) for t, v in tables.items()} for s, tables in parts.items()}


def same_orgs(seed: int, events: int, days: int = 7) -> dict[str, pa.Table]:
    """A population with the raw run's orgs (same plan: sizes, countries, plans, industries) but fresh accounts
    and traces: what a synthesizer that learned the org mix and nothing about any account would release."""
    params = GenerationParams.model_validate({"events": events, "days": days, "control_share": 1.0,
                                              "events_per_chunk": max(events // 2, 1000), **ORGS})
    plan = dataclasses.replace(plan_for(seed, "main", params), seed=seed + 2000)   # accounts drawn afresh
    pools = build_pools(seed)
    parts: dict[str, list[pa.Table]] = {}
    for chunk in range(plan.n_chunks):
        users, _, acc = build_accounts(plan, chunk, params, pools)
        ev, _ = build_events(stream(seed + 2000, "main/events", chunk), acc, params)
        lo, hi = plan.chunks[chunk]
        for table, data in (("users", users.cast(schema.USERS)), ("events", ev.cast(schema.EVENTS)),
                            ("orgs", plan.orgs.slice(lo, hi - lo).select(schema.ORGS.names).cast(schema.ORGS))):
            parts.setdefault(table, []).append(data)
    return {t: pa.concat_tables(v) for t, v in parts.items()}


def _write(table: pa.Table, folder: Path) -> None:
    write_parquet_atomic(table, folder / shard_name(0))


def _registry() -> registry_mod.Registry:
    reg = registry_mod.load(include_plugins=False)
    return registry_mod.Registry({**reg.entries, LeakySynthesizer.name: registry_mod.Entry(
        LeakySynthesizer.name, LeakySynthesizer, "tests")})


class _Independent(RandomTokens):
    name = "test.independent_population"
    synthetic = True
    differentially_private = True


def make_synthetic_run(root: Path, *, seed: int = 11, events: int = 50_000) -> Path:
    """Raw, truth, control, ``anon/leaky-synth``, ``anon/private-synth`` and a manifest."""
    pops = generate(seed, events)
    for table in TABLES:
        _write(pops["main"][table], root / "raw" / table)
        _write(pops["control"][table], root / "truth" / "control" / table)
    write_parquet_atomic(pops["main"]["accounts"], root / "truth" / "accounts.parquet")
    write_parquet_atomic(pops["control"]["accounts"], root / "truth" / "control" / "accounts.parquet")
    chains: dict[str, Any] = {}

    chain_file = root / "leaky-synth.yaml"
    chain_file.write_text(LEAKY_CHAIN)
    chain = resolve_chain(chain_file, schemas={t: pops["main"][t].schema for t in TABLES}, registry=_registry())
    out = run_chain(chain, {t: pops["main"][t] for t in TABLES})
    for table, data in out.tables.items():
        _write(data, root / "anon" / "leaky-synth" / table)
    section = chain.manifest_section()
    for s, step in zip(section["steps"], chain.steps, strict=True):
        if step.anonymizer.differentially_private:
            s["report"] = {"budget": step.anonymizer.privacy_budget().as_dict()}
    chains["leaky-synth"] = section

    other = generate(seed + 1000, events, scopes=("main",))["main"]
    for table in TABLES:
        data = other[table]
        _write(data.drop_columns([c for c in DIRECT.get(table, []) if c in data.column_names]),
               root / "anon" / "private-synth" / table)
    budget = PrivacyBudget(epsilon=1.0, delta=0.0, unit="account_id", accounting="basic",
                           mechanism="none needed: independent of the data").as_dict()
    chains["private-synth"] = {"name": "private-synth", "role": "candidate",
                               "description": "an independently generated population (a test stand-in)",
                               "steps": [{"index": 0, "use": _Independent.name, "label": "steps[0]",
                                          "columns": {}, "with": {}, "flags": flags(_Independent),
                                          "report": {"budget": budget}}]}
    for table, data in same_orgs(seed, events).items():
        _write(data.drop_columns([c for c in DIRECT.get(table, []) if c in data.column_names]),
               root / "anon" / "orgs-synth" / table)
    chains["orgs-synth"] = {**chains["private-synth"], "name": "orgs-synth",
                            "description": "the raw orgs, fresh accounts and traces (a test stand-in)"}
    manifest = {"name": "synthetic-fixture", "seed": seed,
                "config": {"name": "synthetic-fixture", "seed": seed, "chains": list(chains),
                           "generate": {"events": events, "days": 7},
                           # the stand-ins are not registered anonymizers, so dp_audit cannot rebuild their DP
                           # steps (it would fail them as not measured): it is switched off here, explicitly
                           "attacks": {"membership": {"modes": ["trace", "attributes", "joint"]},
                                       "checks": [c for c in CHECKS if c != "dp_audit"]},
                           "thresholds": {"dp_audit": "off"}},
                "chains": chains}
    manifest["files"] = list_files(root, "raw", "truth", "anon")
    write_json_atomic(json.loads(json.dumps(manifest, default=str)), root / "manifest.json")
    return root
