"""suppress.rare: values held by fewer than k persons replaced; first pass independent of batch order."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from anon_testdata import apply, build
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.base import BatchContext


def _suppress(pairs, k, replacement="other", splits=1, seed=0):
    t = pa.table({"account_id": pa.array([a for a, _ in pairs], pa.string()),
                  "v": pa.array([v for _, v in pairs], pa.string())})
    s = build("suppress.rare", k=k, replacement=replacement)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, max(2, t.num_rows)), min(splits - 1, max(0, t.num_rows - 1))))
    parts = [t.slice(a, b - a) for a, b in zip([0, *cuts], [*cuts, t.num_rows], strict=True)]
    rng.shuffle(parts)
    ctx = BatchContext("events", ("v",))
    merged = None
    for p in parts:
        part = s.partial(p, ctx)
        merged = part if merged is None else s.merge(merged, part)
    state = s.finalize({"events": merged} if merged is not None else {})
    return t, apply(s, t, ["v"], state=state), state


pairs = st.lists(st.tuples(st.one_of(st.none(), st.sampled_from([f"a{i}" for i in range(12)])),
                           st.one_of(st.none(), st.sampled_from(list("pqrstu")))), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None)
@given(pairs=pairs, k=st.integers(2, 6), splits=st.integers(1, 5), seed=st.integers(0, 99))
def test_suppress_rare_properties(pairs, k, splits, seed) -> None:
    t, out, _ = _suppress(pairs, k, splits=splits, seed=seed)
    holders: dict[str, set] = {}
    for a, v in pairs:
        if a is not None and v is not None:
            holders.setdefault(v, set()).add(a)
    assert out.num_rows == t.num_rows
    for (_, v), o in zip(pairs, out.column("v").to_pylist(), strict=True):
        if v is None:
            assert o is None
        elif len(holders.get(v, ())) >= k:
            assert o == v
        else:
            assert o == "other"


def test_suppress_rare_to_null_and_report() -> None:
    pairs = [(f"a{i}", "common") for i in range(5)] + [("a1", "rare"), ("a2", "rare")]
    _, out, state = _suppress(pairs, 3, replacement=None)
    assert out.column("v").to_pylist()[-2:] == [None, None]
    assert build("suppress.rare", k=3).report(state) == {"suppressed_distinct_values": {"events": {"v": 1}}}


def test_suppress_rare_refuses_text_replacement_on_numbers() -> None:
    assert build("suppress.rare").check_column("t", "n", pa.int64()) is not None
    assert build("suppress.rare", replacement=None).check_column("t", "n", pa.int64()) is None


@pytest.mark.parametrize("name", ["sample.persons", "suppress.rare"])
def test_flags(name) -> None:
    a = build(name)
    assert a.row_preserving == (name == "suppress.rare") and a.stateful == (name == "suppress.rare")
