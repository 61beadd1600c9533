"""generalize.ip_prefix, generalize.time_bucket, generalize.user_agent, generalize.numeric_bins."""

from __future__ import annotations

import datetime as dt
import ipaddress

import pyarrow as pa
import pytest
from anon_testdata import UAS, apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.user_agent import parse

TS = pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize("ip, v4, v6, expected", [
    ("203.0.113.77", 24, 48, "203.0.113.0/24"),
    ("203.0.113.77", 16, 48, "203.0.0.0/16"),
    ("2001:db8:abcd:1234::1", 24, 48, "2001:db8:abcd::/48"),
    ("2001:db8:abcd:1234::1", 24, 32, "2001:db8::/32"),
    (" 10.1.2.3", 8, 48, "10.0.0.0/8"),
    ("not-an-ip", 24, 48, None),
    (None, 24, 48, None),
])
def test_ip_prefix_table(ip, v4, v6, expected) -> None:
    t = pa.table({"ip": pa.array([ip], pa.string())})
    out = apply(build("generalize.ip_prefix", ipv4_prefix=v4, ipv6_prefix=v6), t, ["ip"]).column("ip")[0].as_py()
    assert out == expected


ips = st.one_of(st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(str), st.none())


@settings(max_examples=50, deadline=None)
@given(vals=st.lists(ips, max_size=40))
def test_ip_prefix_properties(vals) -> None:
    t = pa.table({"ip": pa.array(vals, pa.string())})
    out = apply(build("generalize.ip_prefix"), t, ["ip"]).column("ip").to_pylist()
    assert len(out) == len(vals)
    for v, o in zip(vals, out, strict=True):
        assert (o is None) == (v is None)
        if v is not None:
            net = ipaddress.ip_network(o)
            assert ipaddress.ip_address(v) in net
            assert net.prefixlen == (24 if net.version == 4 else 48)


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


@pytest.mark.parametrize("ua, family, major, os_family", [
    (UAS[0], "Chrome", "124", "Windows"),
    (UAS[1], "Firefox", "125", "Linux"),
    (UAS[2], "Safari", "17", "macOS"),
    (UAS[3], "Atlassian Mobile", None, "iOS"),
    (UAS[4], "python-requests", "2", "Other"),
    ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
     "Edge", "120", "Windows"),
    ("Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/121.0 Mobile Safari/537.36 OPR/80.1",
     "Opera", "80", "Android"),
    ("curl/8.4.0", "curl", "8", "Other"),
    ("something odd", "Other", None, "Other"),
])
def test_user_agent_parse(ua, family, major, os_family) -> None:
    assert parse(ua) == (family, major, os_family)


@pytest.mark.parametrize("params, expected", [
    ({"level": "family"}, ["Chrome", "Firefox", None]),
    ({"level": "family_major"}, ["Chrome 124", "Firefox 125", None]),
    ({"level": "family", "with_os": True}, ["Chrome / Windows", "Firefox / Linux", None]),
])
def test_user_agent_generalize(params, expected) -> None:
    t = pa.table({"ua": pa.array([UAS[0], UAS[1], None], pa.string())})
    assert apply(build("generalize.user_agent", **params), t, ["ua"]).column("ua").to_pylist() == expected


@pytest.mark.parametrize("params, vals, expected", [
    ({"width": 10}, [0, 9, 10, 25, None], [0, 0, 10, 20, None]),
    ({"edges": [1, 11, 51]}, [0, 1, 10, 11, 50, 51, 9000], [1, 1, 1, 11, 11, 51, 51]),
    ({"edges": [1, 11, 51], "labels": True}, [1, 10, 11, 60, None], ["1-11", "1-11", "11-51", "51+", None]),
    ({"width": 2.5}, [0.1, 2.5, 7.4], [0.0, 2.5, 5.0]),
])
def test_numeric_bins_table(params, vals, expected) -> None:
    typ = pa.float64() if any(isinstance(v, float) for v in vals) else pa.int32()
    t = pa.table({"n": pa.array(vals, typ)})
    out = apply(build("generalize.numeric_bins", **params), t, ["n"]).column("n")
    assert out.to_pylist() == expected
    if not params.get("labels"):
        assert out.type == typ


@settings(max_examples=50, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.integers(-10_000, 10_000)), max_size=50),
       width=st.integers(1, 500))
def test_numeric_bins_properties(vals, width) -> None:
    t = pa.table({"n": pa.array(vals, pa.int64())})
    out = apply(build("generalize.numeric_bins", width=width), t, ["n"]).column("n").to_pylist()
    for v, o in zip(vals, out, strict=True):
        assert (o is None) == (v is None)
        if v is not None:
            assert o <= v < o + width and o % width == 0


def test_numeric_bins_needs_one_of_width_or_edges() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        build("generalize.numeric_bins")
