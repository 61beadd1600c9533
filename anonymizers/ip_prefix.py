"""``generalize.ip_prefix``: IP addresses -> their network prefix (``203.0.113.0/24``, ``2001:db8::/48``).

IPv4 and IPv6 are handled per distinct address of a batch. A value that is not an IP address becomes null
(counted in the step report as ``unparsable``) rather than passing through unchanged.
"""

from __future__ import annotations

import ipaddress

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string, replace_column
from anonymizers.distinct import map_distinct


class IpPrefixParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ipv4_prefix: int = Field(24, ge=0, le=32, description="Prefix length kept of IPv4 addresses.")
    ipv6_prefix: int = Field(48, ge=0, le=128, description="Prefix length kept of IPv6 addresses.")
    with_length: bool = Field(True, description="Write '/len' after the network address.")


def _slow(v: str, v4: int, v6: int, with_length: bool) -> str | None:
    try:
        ip = ipaddress.ip_address(v.strip())
    except ValueError:
        return None
    net = ipaddress.ip_network((ip, v4 if ip.version == 4 else v6), strict=False)
    return str(net) if with_length else str(net.network_address)


def prefixes(values: list[str], v4: int, v6: int, with_length: bool = True) -> list[str | None]:
    """Network prefix of each address; plain dotted IPv4 takes a fast path (the common case), anything
    else goes through :mod:`ipaddress` (a property test checks both agree)."""
    mask = (0xFFFFFFFF << (32 - v4)) & 0xFFFFFFFF
    suffix = f"/{v4}" if with_length else ""
    out: list[str | None] = []
    for v in values:
        parts = v.split(".")
        if (len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 and (p == "0" or p[0] != "0")
                                    for p in parts)):
            a, b, c, d = (int(p) for p in parts)
            if a < 256 and b < 256 and c < 256 and d < 256:
                n = ((a << 24) | (b << 16) | (c << 8) | d) & mask
                out.append(f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}{suffix}")
                continue
        out.append(_slow(v, v4, v6, with_length))
    return out


class IpPrefix(Anonymizer):
    name = "generalize.ip_prefix"
    Params = IpPrefixParams
    params: IpPrefixParams

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        p = self.params
        for c in ctx.columns:
            out = map_distinct(batch.column(c),
                               lambda vs: prefixes(vs, p.ipv4_prefix, p.ipv6_prefix, p.with_length),
                               pa.string())
            batch = replace_column(batch, c, out)
        return batch
