from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.custom.time_bucket import on_bucket_mask
from expectations.forms import parse_every

TS = pa.timestamp("us", tz="UTC")


def col(*times):
    return pa.table({"t": pa.array(list(times), TS)}).to_pandas()["t"]


@pytest.mark.parametrize(("text", "us"), [("1h", 3_600_000_000), ("15min", 900_000_000), ("15m", 900_000_000),
                                          ("1d", 86_400_000_000), ("30s", 30_000_000), (60, 60_000_000)])
def test_parse_every(text, us):
    assert parse_every(text) == us


@pytest.mark.parametrize("bad", ["", "1", "h", "0h", "1 fortnight", "-1h"])
def test_parse_every_refuses(bad):
    with pytest.raises(ValueError):
        parse_every(bad)


def test_mask():
    t = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
    assert on_bucket_mask(col(t, t + dt.timedelta(seconds=1), None), "1h").tolist() == [True, False, True]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2_000_000_000_000_000), st.sampled_from(["1h", "15m", "1d", "1w"]))
def test_arrow_floor_is_on_bucket(us, every):
    """What the generalize.time_bucket anonymizer does (Arrow floor, weeks from Monday) passes."""
    n, unit = int(every[:-1]), {"h": "hour", "m": "minute", "d": "day", "w": "week"}[every[-1]]
    floored = pc.floor_temporal(pa.array([us], TS), multiple=n, unit=unit, week_starts_monday=True)
    series = pa.table({"t": floored}).to_pandas()["t"]
    assert on_bucket_mask(series, every, "4d" if unit == "week" else None).tolist() == [True]


def test_expectation_refuses_bad_bucket(check):
    o = check(pa.table({"t": pa.array([0], TS)}), "expect_column_values_to_be_on_time_bucket", column="t",
              every="1h")
    assert o.success
    with pytest.raises(Exception, match="bucket"):
        from expectations.custom import ExpectColumnValuesToBeOnTimeBucket
        ExpectColumnValuesToBeOnTimeBucket(column="t", every="hourly")
