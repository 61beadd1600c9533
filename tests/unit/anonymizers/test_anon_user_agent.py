"""generalize.user_agent: family, major version and OS of common agents and tools."""

from __future__ import annotations

import pyarrow as pa
import pytest
from anon_testdata import UAS, apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

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


@settings(max_examples=60, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.sampled_from(UAS), st.text(max_size=60)), max_size=40),
       level=st.sampled_from(["family", "family_major"]), with_os=st.booleans())
def test_rows_nulls_kept_and_full_strings_gone(vals, level, with_os) -> None:
    t = pa.table({"ua": pa.array(vals, pa.string())})
    out = apply(build("generalize.user_agent", level=level, with_os=with_os), t, ["ua"]).column("ua").to_pylist()
    assert [o is None for o in out] == [v is None for v in vals]
    assert not set(UAS) & set(out)  # no full browser string survives
    assert len({o for o in out if o is not None}) <= len({v for v in vals if v is not None})
