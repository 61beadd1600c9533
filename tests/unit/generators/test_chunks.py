"""Chunk generation: schemas, exact totals, determinism, chunk layout by whole orgs."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generators import schema
from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams
from generators.plan import plan_for


def run_all(seed: int, params: GenerationParams, scope: str = "main") -> dict[str, pa.Table]:
    parts: dict[str, list[pa.Table]] = {}
    for spec in chunk_specs(seed, params):
        if spec.scope == scope:
            for k, t in generate_chunk(spec).items():
                parts.setdefault(k, []).append(t)
    return {k: pa.concat_tables(v) for k, v in parts.items()}


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31), events=st.integers(1, 20_000))
def test_any_seed_and_size_gives_exact_counts_and_schemas(seed: int, events: int) -> None:
    params = GenerationParams(events=events, events_per_chunk=5_000)
    out = run_all(seed, params)
    assert out["events"].num_rows == events
    for name, sch in schema.RAW_TABLES.items():
        assert out[name].schema == sch
    assert out["accounts"].schema == schema.ACCOUNTS_TRUTH
    assert out["users"].num_rows == out["accounts"].num_rows
    assert out["events"].column("event_time").null_count == 0


def test_same_inputs_same_tables_other_seed_other_tables() -> None:
    params = GenerationParams(events=30_000, events_per_chunk=10_000)
    a, b, c = run_all(3, params), run_all(3, params), run_all(4, params)
    for k in a:
        assert a[k].equals(b[k])
    assert not a["events"].equals(c["events"])


def test_chunks_hold_whole_orgs_and_control_is_disjoint() -> None:
    params = GenerationParams(events=100_000, events_per_chunk=20_000)
    plan = plan_for(1, "main", params)
    covered = [i for lo, hi in plan.chunks for i in range(lo, hi)]
    assert covered == list(range(plan.orgs.num_rows))  # every org in exactly one chunk, in order
    main = run_all(1, params)
    control = run_all(1, params, "control")
    assert control["events"].num_rows == round(100_000 * params.control_share)
    assert set(main["accounts"]["person_id"].to_pylist()).isdisjoint(control["accounts"]["person_id"].to_pylist())
    assert set(main["orgs"]["org_id"].to_pylist()).isdisjoint(control["orgs"]["org_id"].to_pylist())
    # an org's events all sit in the chunk that holds the org
    for spec in chunk_specs(1, params)[:2]:
        t = generate_chunk(spec)
        assert set(t["events"]["org_id"].to_pylist()) <= set(t["orgs"]["org_id"].to_pylist())


@pytest.mark.parametrize("field,value", [("events", 0), ("days", 3), ("plan_mix", {"gold": 1.0}),
                                         ("remote_share", 1.5)])
def test_bad_parameters_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        GenerationParams.model_validate({field: value})
