from __future__ import annotations

import ipaddress

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.custom.ip_prefix import prefix_ok_mask


@pytest.mark.parametrize(("value", "v4", "v6", "ok"), [
    ("10.1.2.0", 24, 48, True),
    ("10.1.2.3", 24, 48, False),
    ("10.1.2.0/24", 24, 48, True),
    ("10.1.0.0/16", 24, 48, True),       # coarser than declared is fine
    ("10.1.2.0/25", 24, 48, False),      # finer than declared
    ("10.1.2.128/24", 24, 48, False),    # host bits set
    ("10.1.2.3", 32, 48, True),
    ("300.1.2.0", 24, 48, False),
    ("2001:db8:1::/48", 24, 48, True),
    ("2001:db8:1::", 24, 48, True),
    ("2001:db8:1:2::", 24, 48, False),
    ("2001:db8:1:2::/64", 24, 48, False),
    ("not an ip", 24, 48, False),
    ("ann@example.com", 24, 48, False),
])
def test_values(value, v4, v6, ok):
    assert prefix_ok_mask(pd.Series([value], dtype="str"), v4, v6).tolist() == [ok]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 32), st.integers(0, 32))
def test_matches_ipaddress(addr, prefix, declared):
    net = str(ipaddress.ip_network((addr, prefix), strict=False))
    host = str(ipaddress.ip_address(addr))
    got = prefix_ok_mask(pd.Series([net, host], dtype="str"), declared, 48).tolist()
    assert got == [prefix <= declared, addr & ((1 << (32 - declared)) - 1) == 0]


def test_expectation_counts_rows_not_distinct_values(check):
    o = check(pa.table({"ip": ["10.0.0.1", "10.0.0.1", "10.0.0.0/24", None]}),
              "expect_column_values_to_be_ip_prefixes", column="ip", ipv4_prefix=24)
    assert (o.success, o.unexpected_count, o.missing_count) == (False, 2, 1)
