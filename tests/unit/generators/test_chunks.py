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


def test_chunks_hold_whole_orgs() -> None:
    params = GenerationParams(events=100_000, events_per_chunk=20_000)
    plan = plan_for(1, "main", params)
    covered = [i for lo, hi in plan.chunks for i in range(lo, hi)]
    assert covered == list(range(plan.orgs.num_rows))  # every org in exactly one chunk, in order
    # an org's events all sit in the chunk that holds the org
    for spec in chunk_specs(1, params)[:2]:
        t = generate_chunk(spec)
        assert set(t["events"]["org_id"].to_pylist()) <= set(t["orgs"]["org_id"].to_pylist())


@pytest.mark.parametrize("share", [1.0, 0.25])
def test_control_holds_other_accounts_of_the_same_orgs(share: float) -> None:
    """anonymeter's control: held-out accounts of the main population's own orgs, never its accounts or
    persons, with as many events per account; ``control_share`` sets their number per org."""
    params = GenerationParams(events=100_000, events_per_chunk=20_000, control_share=share)
    main, control = run_all(1, params), run_all(1, params, "control")
    assert control["orgs"].equals(main["orgs"])              # the same org rows (ids, plan, size band, ...)
    assert set(control["users"]["org_id"].to_pylist()) <= set(main["orgs"]["org_id"].to_pylist())
    assert set(main["accounts"]["account_id"].to_pylist()).isdisjoint(control["accounts"]["account_id"].to_pylist())
    assert set(main["accounts"]["person_id"].to_pylist()).isdisjoint(control["accounts"]["person_id"].to_pylist())
    n_main, n_ctl = main["users"].num_rows, control["users"].num_rows
    assert abs(n_ctl - share * n_main) <= 0.05 * share * n_main + 5
    per_account = control["events"].num_rows / n_ctl
    assert abs(per_account - main["events"].num_rows / n_main) <= 0.05 * per_account
    if share == 1.0:  # each org holds as many own accounts in both scopes (multi-org persons drawn apart)
        own = {s: pa.table({"o": t["users"]["org_id"]}).group_by("o").aggregate([("o", "count")]).to_pylist()
               for s, t in (("main", main), ("control", control))}
        m, c = ({r["o"]: r["o_count"] for r in own[s]} for s in ("main", "control"))
        assert m.keys() == c.keys()
        assert sum(abs(m[o] - c[o]) for o in m) <= 0.1 * n_main


def test_control_share_zero_means_no_control_chunks() -> None:
    params = GenerationParams(events=20_000, events_per_chunk=10_000, control_share=0.0)
    assert not [s for s in chunk_specs(1, params) if s.scope == "control"]


@pytest.mark.parametrize("field,value", [("events", 0), ("days", 3), ("plan_mix", {"gold": 1.0}),
                                         ("remote_share", 1.5)])
def test_bad_parameters_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        GenerationParams.model_validate({field: value})
