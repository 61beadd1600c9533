"""generalize.user_agent: family, major version and OS of common agents and tools."""

from __future__ import annotations

import pyarrow as pa
import pytest
from anon_testdata import UAS, apply, build

from anonymizers.user_agent import parse


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
