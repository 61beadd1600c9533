"""What the driver ships to generate's workers (the plans) and the per-process offset table."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pyarrow as pa
import pytest

from generators import geo
from generators import plan as plan_mod
from generators.params import GenerationParams


def test_adopted_plan_replaces_building_only_for_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan_mod, "_ADOPTED", {})
    p = GenerationParams(events=20_000)
    sentinel = object()
    plan_mod.adopt_plans(7, p.model_dump_json(), {"main": sentinel})  # type: ignore[dict-item]
    assert plan_mod.plan_for(7, "main", p) is sentinel
    # another seed, scope or configuration is built, never served the adopted plan
    assert plan_mod.plan_for(8, "main", p) is not sentinel
    assert plan_mod.plan_for(7, "control", p) is not sentinel
    assert plan_mod.plan_for(7, "main", GenerationParams(events=30_000)) is not sentinel


def _hour_by_hour(start: dt.date, hours: int) -> np.ndarray:
    out = np.empty((len(geo.TIMEZONES), hours), dtype=np.int64)
    base = dt.datetime(start.year, start.month, start.day)
    for i, name in enumerate(geo.TIMEZONES):
        z = zoneinfo.ZoneInfo(name)
        for h in range(hours):
            off = (base + dt.timedelta(hours=h)).replace(tzinfo=z).utcoffset()
            out[i, h] = int(off.total_seconds()) if off is not None else 0
    return out


@pytest.mark.parametrize(("start", "days"), [(dt.date(2026, 3, 2), 28), (dt.date(2026, 10, 20), 14),
                                             (dt.date(2026, 3, 29), 1), (dt.date(2026, 4, 1), 60)])
def test_utc_offsets_equal_the_hour_by_hour_table(start: dt.date, days: int) -> None:
    """Spring and autumn DST changes on both hemispheres, a one-day period and one of two months."""
    got = geo.utc_offsets.__wrapped__(start, days * 24)
    assert np.array_equal(got, _hour_by_hour(start, days * 24))
    assert len(np.unique(got, axis=1)[0]) > 1 or days == 1  # the periods do hold changes of offset


def test_keep_heap_leaves_a_callers_process_alone() -> None:
    from pipelines.generate import keep_heap

    before = pa.default_memory_pool().backend_name
    keep_heap()  # pytest is not pipelines.beam_worker
    assert pa.default_memory_pool().backend_name == before
