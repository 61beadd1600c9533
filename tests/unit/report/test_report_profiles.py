"""anonbench.report.profiles: hour-of-week and action shares from shards, and the TVD."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anonbench.report.profiles import HOURS_OF_WEEK, activity_profiles, profile, top_actions, tvd
from pipelines.runio import shard_name, write_parquet_atomic


def _write(folder, times, actions):
    t = pa.table({"event_time": pa.array(times, pa.timestamp("us", tz="UTC")), "action": actions})
    write_parquet_atomic(t.slice(0, len(times) // 2), folder / shard_name(0))
    write_parquet_atomic(t.slice(len(times) // 2), folder / shard_name(1))


def test_hour_of_week_and_actions(tmp_path):
    monday = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    times = [monday + dt.timedelta(hours=9)] * 3 + [monday + dt.timedelta(days=6, hours=23)]
    _write(tmp_path / "events", times, ["a.x", "a.x", "b.y", "a.x"])
    p = profile("raw", tmp_path / "events")
    assert p.events == 4 and len(p.hour_of_week) == HOURS_OF_WEEK
    assert p.hour_of_week[9] == 0.75 and p.hour_of_week[167] == 0.25
    assert p.actions == {"a.x": 0.75, "b.y": 0.25}
    assert top_actions(p, 1) == ["a.x"]


@pytest.mark.parametrize(("table", "note"), [
    (pa.table({"event_time": pa.array(["2026-03-02"]), "action": ["a"]}), "no usable timestamps"),
    (pa.table({"org_id": ["o1"]}), "no usable timestamps or actions"),
])
def test_missing_columns_give_a_note(tmp_path, table, note):
    write_parquet_atomic(table, tmp_path / "events" / shard_name(0))
    p = profile("c", tmp_path / "events")
    assert p.hour_of_week is None and p.note.startswith(note)


def test_absent_table(tmp_path):
    assert profile("c", tmp_path / "nothing").note == "no event-level table"


def test_activity_profiles_of_fixture(run_dir):
    profs = activity_profiles(run_dir, ["generalize", "none"])
    assert profs["none"].hour_of_week == profs["raw"].hour_of_week
    assert abs(sum(profs["generalize"].hour_of_week) - 1) < 1e-9
    assert tvd(profs["raw"].actions, profs["none"].actions) == 0


shares = st.lists(st.floats(0, 1), min_size=3, max_size=3).filter(lambda v: sum(v) > 0).map(
    lambda v: tuple(x / sum(v) for x in v))


@given(shares, shares)
def test_tvd_is_a_bounded_symmetric_distance(p, q):
    assert 0 <= tvd(p, q) <= 1 + 1e-9
    assert tvd(p, q) == pytest.approx(tvd(q, p))
    assert tvd(p, p) == 0
