"""One logical chunk: (seed, scope, chunk, params) -> Arrow tables. The unit of work and of output shards."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from generators import schema
from generators.behaviour import build_events
from generators.config_changes import build_config_changes
from generators.model import BehaviourModel, from_fitted
from generators.params import GenerationParams
from generators.plan import SCOPES, plan_for
from generators.pools import build_pools
from generators.population import build_accounts
from generators.rng import stream


@dataclass(frozen=True)
class ChunkSpec:
    """A chunk descriptor: all a worker needs (it rebuilds the small plan and the pools itself)."""

    seed: int
    scope: str
    chunk: int
    params_json: str


def chunk_specs(seed: int, params: GenerationParams) -> list[ChunkSpec]:
    """Every chunk of a run, main population first, then the control population."""
    js = params.model_dump_json()
    out = []
    for scope in SCOPES:
        plan = plan_for(seed, scope, params)
        out += [ChunkSpec(seed, scope, c, js) for c in range(plan.n_chunks)]
    return out


@functools.lru_cache(maxsize=4)
def _model(params_json: str) -> BehaviourModel:
    """The behaviour model of a config's fitted ``behaviour:`` section (cached: chunks of a run share it)."""
    behaviour = GenerationParams.model_validate_json(params_json).behaviour
    assert behaviour is not None
    return from_fitted(behaviour)


def generate_chunk(spec: ChunkSpec) -> dict[str, pa.Table]:
    """The tables of one chunk: orgs, users, events, config_changes and the truth ``accounts``."""
    p = GenerationParams.model_validate_json(spec.params_json)
    plan = plan_for(spec.seed, spec.scope, p)
    pools = build_pools(spec.seed)
    users, truth, acc = build_accounts(plan, spec.chunk, p, pools)
    rng = stream(spec.seed, f"{spec.scope}/events", spec.chunk)
    model = _model(spec.params_json) if p.behaviour is not None else None
    if model is not None:  # a fitted hour-of-week profile already holds people's shifts of rhythm
        acc = dataclasses.replace(acc, shift_h=np.zeros_like(acc.shift_h))
    events, extras = build_events(rng, acc, p, model)
    crng = stream(spec.seed, f"{spec.scope}/config", spec.chunk)
    config = build_config_changes(crng, acc, p, extras["cfg_time"], extras["cfg_acc"])
    lo, hi = plan.chunks[spec.chunk]
    orgs = plan.orgs.slice(lo, hi - lo).select(schema.ORGS.names)
    return {
        "orgs": orgs.cast(schema.ORGS),
        "users": users.cast(schema.USERS),
        "events": events.cast(schema.EVENTS),
        "config_changes": config.cast(schema.CONFIG_CHANGES),
        "accounts": truth.cast(schema.ACCOUNTS_TRUTH),
    }
