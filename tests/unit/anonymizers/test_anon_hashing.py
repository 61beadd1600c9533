"""hash.sha256: the unsalted baseline — token properties hold, and anyone can recompute it."""

from __future__ import annotations

import hashlib

import pyarrow as pa
from anon_testdata import apply, build, check_token_properties
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(max_examples=40, deadline=None)
@given(vals=st.lists(st.one_of(st.none(), st.text(min_size=1, max_size=12)), max_size=60))
def test_token_properties(vals: list) -> None:
    check_token_properties(build("hash.sha256"), vals)


def test_reversible_by_dictionary() -> None:
    """The weak baseline: a dictionary of candidate values reverses it, which the harness must exploit."""
    candidates = [f"user{i}@example.com" for i in range(50)]
    table = {hashlib.sha256(c.encode()).hexdigest(): c for c in candidates}
    out = apply(build("hash.sha256"), pa.table({"v": candidates[::7]}), ["v"]).column("v").to_pylist()
    assert [table[h] for h in out] == candidates[::7]
