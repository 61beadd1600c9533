"""generalize.time_bucket: floors to the bucket, keeps type and nulls; weeks start on Monday."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from anon_testdata import apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

TS = pa.timestamp("us", tz="UTC")


times = st.lists(st.one_of(st.none(), st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2040, 1, 1),
                                                     timezones=st.just(dt.UTC))), max_size=40)


@pytest.mark.parametrize("every, width", [("15m", dt.timedelta(minutes=15)), ("1h", dt.timedelta(hours=1)),
                                          ("1d", dt.timedelta(days=1)), ("1w", dt.timedelta(weeks=1))])
@settings(max_examples=25, deadline=None)
@given(vals=times)
def test_time_bucket_properties(every, width, vals) -> None:
    t = pa.table({"t": pa.array(vals, TS)})
    out = apply(build("generalize.time_bucket", every=every), t, ["t"]).column("t")
    assert out.type == TS
    for v, o in zip(vals, out.to_pylist(), strict=True):
        assert (o is None) == (v is None)
        if v is not None:
            assert o <= v < o + width
            if every == "1w":
                assert o.weekday() == 0 and o.time() == dt.time(0)
