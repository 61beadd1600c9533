"""generators.duration and generators.weektime: the one duration parser and the one hour-of-week expression."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from generators import duration
from generators.weektime import hour_of_week


@pytest.mark.parametrize(("text", "units", "expected"), [
    ("15m", duration.UNITS, (15, "m")), (" 1h ", duration.UNITS, (1, "h")), ("2 d", duration.UNITS, (2, "d")),
    ("007w", duration.UNITS, (7, "w")), ("15min", duration.US_PER_UNIT, (15, "min")),
])
def test_split(text, units, expected):
    assert duration.split(text, units) == expected


@pytest.mark.parametrize("text", ["", "h", "1", "1H", "-1h", "1 fortnight", "15min", "1.5h"])
def test_split_refuses(text):
    with pytest.raises(ValueError, match="not <n><unit>"):
        duration.split(text)


def test_zero_and_inner_space():
    with pytest.raises(ValueError, match=duration.NOT_POSITIVE):
        duration.split("0h")
    with pytest.raises(ValueError):
        duration.split("1 h", inner_space=False)
    assert duration.microseconds("1h") == 3_600_000_000


def test_hour_of_week():
    monday = dt.datetime(2026, 3, 2, 0, 30, tzinfo=dt.UTC)
    times = [monday, monday + dt.timedelta(hours=25), monday + dt.timedelta(days=6, hours=23)]
    df = pl.DataFrame({"t": times})
    assert df.select(hour_of_week(pl.col("t")))["t"].to_list() == [0, 25, 167]
    assert df.select(hour_of_week(pl.col("t"), pl.Int16))["t"].dtype == pl.Int16
