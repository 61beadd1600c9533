"""IP addresses carry at most the declared prefix (IPv4 ``/24``, IPv6 ``/48`` by default).

Truncating addresses to a network prefix is the usual generalization of IP addresses (e.g. Google Analytics'
IP anonymization drops the last IPv4 octet and the last 80 IPv6 bits; ISO/IEC 20889 §8.3 generalization).
A value passes when the bits past the prefix are all zero; a value written as a network (``10.1.2.0/24``)
passes when its own prefix is not longer than the declared one. Anything that does not parse as an address
fails — a raw identifier in the IP column is exactly what the check is for.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from great_expectations.compatibility import pydantic
from great_expectations.execution_engine import PandasExecutionEngine
from great_expectations.expectations.expectation import ColumnMapExpectation
from great_expectations.expectations.metrics.map_metric_provider import (
    ColumnMapMetricProvider,
    column_condition_partial,
)

_V4 = r"^(?P<a>\d{1,3})\.(?P<b>\d{1,3})\.(?P<c>\d{1,3})\.(?P<d>\d{1,3})(?:/(?P<n>\d{1,2}))?$"


def _ipv4_ok(values: pa.Array, prefix: int) -> np.ndarray:
    """Vectorized check of IPv4 strings (or networks); False where a value is not IPv4."""
    parts = pc.extract_regex(values, _V4)
    matched = np.asarray(parts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    ok = np.zeros(len(values), dtype=bool)
    if not matched.any():
        return ok
    parts = parts.filter(pa.array(matched))
    octets = np.stack([pc.cast(parts.field(k), pa.int64()).to_numpy() for k in "abcd"])
    n_raw = parts.field("n")
    has_n = np.asarray(pc.not_equal(n_raw, "").to_numpy(zero_copy_only=False), dtype=bool)
    n = np.where(has_n, pc.cast(pc.if_else(has_n, n_raw, "0"), pa.int64()).to_numpy(), prefix)
    value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
    host_mask = (np.int64(1) << (32 - np.clip(n, 0, 32))) - 1
    good = (octets <= 255).all(axis=0) & (n <= prefix) & ((value & host_mask) == 0)
    ok[matched] = good
    return ok


def _ipv6_ok(value: str, prefix: int) -> bool:
    """One distinct IPv6 value (called once per distinct value, never per row)."""
    try:
        if "/" in value:
            net = ipaddress.ip_network(value, strict=True)
            return net.version == 6 and net.prefixlen <= prefix
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    return addr.version == 6 and int(addr) & ((1 << (128 - prefix)) - 1) == 0


def prefix_ok_mask(column: pd.Series, ipv4_prefix: int, ipv6_prefix: int) -> pd.Series:
    """True where a non-null value is an address (or network) with at most the declared prefix."""
    codes, uniques = pd.factorize(column)
    distinct = pa.array(np.asarray(uniques, dtype=object), type=pa.string())
    ok = _ipv4_ok(distinct, ipv4_prefix)
    is_v6 = np.asarray(pc.match_substring(distinct, ":").to_numpy(zero_copy_only=False), dtype=bool)
    for i in np.flatnonzero(is_v6):
        ok[i] = _ipv6_ok(distinct[i].as_py(), ipv6_prefix)
    out = np.where(codes >= 0, ok[np.maximum(codes, 0)], True)  # nulls pass
    return pd.Series(out, index=column.index)


class ColumnValuesIpPrefix(ColumnMapMetricProvider):
    condition_metric_name = "column_values.anonbench_ip_prefix"
    condition_value_keys = ("ipv4_prefix", "ipv6_prefix")
    filter_column_isnull = False  # nulls pass (factorize codes them -1)

    @column_condition_partial(engine=PandasExecutionEngine)
    def _pandas(cls, column: pd.Series, ipv4_prefix: int = 24, ipv6_prefix: int = 48,
                **kwargs: object) -> pd.Series:
        return prefix_ok_mask(column, ipv4_prefix, ipv6_prefix)


class ExpectColumnValuesToBeIpPrefixes(ColumnMapExpectation):
    """Expect every non-null value to be an IP address (or network) with at most the declared prefix.

    Args:
        column: the IP column.
        ipv4_prefix: the longest IPv4 prefix allowed (0-32; 24 keeps three octets).
        ipv6_prefix: the longest IPv6 prefix allowed (0-128).
        mostly: share of non-null values that must pass (default 1).

    How to read it: ``unexpected_count`` values carry more of the address than declared (or are not
    addresses at all) — a full address often singles out a household or a device.
    """

    ipv4_prefix: int = pydantic.Field(24, ge=0, le=32, description="Longest IPv4 prefix allowed.")
    ipv6_prefix: int = pydantic.Field(48, ge=0, le=128, description="Longest IPv6 prefix allowed.")
    map_metric = "column_values.anonbench_ip_prefix"
    success_keys = ("ipv4_prefix", "ipv6_prefix", "mostly")
    args_keys = ("column", "ipv4_prefix", "ipv6_prefix")
    library_metadata: ClassVar[dict] = {"tags": ["privacy", "anonbench"], "contributors": ["anonbench"]}
