"""``generalize.user_agent``: a user-agent string -> its family (``Chrome``) or family and major version
(``Chrome 124``), optionally with the OS family (``Chrome 124 / Windows``).

Full user-agent strings carry build numbers and platform tokens that, combined, act as a device fingerprint
(Eckersley, "How Unique Is Your Web Browser?", PETS 2010). Parsing is done per distinct string with a small
ordered rule list (no external database); anything unrecognised becomes ``Other``.
"""

from __future__ import annotations

import re
from typing import Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, need_string, replace_column
from anonymizers.distinct import map_distinct

# (family, pattern whose group 1 is the major version, or None). Order matters: Edge and Opera also say
# "Chrome", Chrome also says "Safari".
_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("Atlassian Mobile", re.compile(r"AtlassianMobileApp(?:/(\d+))?")),
    ("Edge", re.compile(r"Edge?/(\d+)")),
    ("Opera", re.compile(r"OPR/(\d+)")),
    ("Chrome", re.compile(r"(?:Chrome|CriOS)/(\d+)")),
    ("Firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("Safari", re.compile(r"Version/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/")),
    ("Mobile Safari", re.compile(r"Mobile/\w+()")),
]
_TOOL = re.compile(r"^([A-Za-z][A-Za-z0-9_.+-]{0,40})/v?(\d+)")
_OS: list[tuple[str, re.Pattern[str]]] = [
    ("iOS", re.compile(r"iPhone|iPad|iPod|iOS")),
    ("Android", re.compile(r"Android")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
]


def parse(ua: str) -> tuple[str, str | None, str]:
    """(family, major version or None, OS family) of one user-agent string."""
    family, major = "Other", None
    for name, pat in _RULES:
        m = pat.search(ua)
        if m:
            family, major = name, (m.group(1) or None)
            break
    else:
        m = _TOOL.match(ua)
        if m and not ua.startswith("Mozilla/"):
            family, major = m.group(1), m.group(2)
    os_family = next((name for name, pat in _OS if pat.search(ua)), "Other")
    return family, major, os_family


class UserAgentParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Literal["family", "family_major"] = Field("family", description="Keep the family, or family + "
                                                                           "major version.")
    with_os: bool = Field(False, description="Append the OS family (' / Windows').")


def generalize(values: list[str], level: str, with_os: bool) -> list[str]:
    out = []
    for v in values:
        family, major, os_family = parse(v)
        text = f"{family} {major}" if level == "family_major" and major else family
        out.append(f"{text} / {os_family}" if with_os else text)
    return out


class UserAgent(Anonymizer):
    name = "generalize.user_agent"
    Params = UserAgentParams
    params: UserAgentParams

    def check_column(self, table: str, column: str, dtype: pa.DataType) -> str | None:
        return need_string(column, dtype)

    def apply(self, batch: pa.Table, ctx: BatchContext) -> pa.Table:
        p = self.params
        for c in ctx.columns:
            out = map_distinct(batch.column(c), lambda vs: generalize(vs, p.level, p.with_os), pa.string())
            batch = replace_column(batch, c, out)
        return batch
