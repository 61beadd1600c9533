"""generalize.ip_prefix: IPv4 and IPv6 prefixes, nulls kept, unparsable -> null."""

from __future__ import annotations

import ipaddress

import pyarrow as pa
import pytest
from anon_testdata import apply, build
from hypothesis import given, settings
from hypothesis import strategies as st


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


octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "007", "", "a", "1a", "٣"]))


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(octet, min_size=3, max_size=5), v4=st.integers(0, 32), with_length=st.booleans())
def test_fast_ipv4_path_agrees_with_ipaddress(parts, v4, with_length) -> None:
    from anonymizers.ip_prefix import _slow, prefixes

    v = ".".join(parts)
    assert prefixes([v], v4, 48, with_length) == [_slow(v, v4, 48, with_length)]
