"""kanon.mondrian: the output is k-anonymous on its quasi-identifiers, checked independently."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

import numpy as np
import pyarrow as pa
import pytest
from anon_testdata import START, apply, build, make_tables
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizers.base import BatchContext
from anonymizers.mondrian import partition

QIS = ["account_type", "role", "locale", "timezone", "country", "created_at"]


def min_class_size(t: pa.Table, qis: list[str]) -> int:
    """Independent check: the smallest number of rows sharing one quasi-identifier tuple."""
    counts = Counter(zip(*(t.column(c).to_pylist() for c in qis), strict=True))
    return min(counts.values()) if counts else 0


def run(m, users: pa.Table, qis: list[str], batches: int = 1, extra: dict | None = None):
    ctx = BatchContext("users", tuple(qis))
    n = users.num_rows
    bounds = np.linspace(0, n, batches + 1).astype(int)
    merged = None
    for a, b in reversed(list(itertools.pairwise(bounds))):
        part = m.partial(users.slice(a, b - a), ctx)
        merged = part if merged is None else m.merge(merged, part)
    state = m.finalize({"users": merged})
    out = apply(m, users, qis, "users", state=state)
    others = {t: apply(m, d, [], t, state=state) for t, d in (extra or {}).items()}
    return out, state, others


@pytest.mark.parametrize("k", [2, 5, 10, 25])
def test_output_is_k_anonymous(k) -> None:
    users = make_tables(300, 600)["users"]
    out, state, _ = run(build("kanon.mondrian", k=k), users, QIS)
    assert out.num_rows == users.num_rows
    assert min_class_size(out, QIS) >= k
    assert out.column("account_id").to_pylist() == users.column("account_id").to_pylist()
    assert state["report"]["users"]["classes"] > 1
    assert min_class_size(users, QIS) < k  # the input was not already k-anonymous


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["DE", "US", "FR", "JP"]), st.integers(0, 400),
                               st.sampled_from(["a", "b", None])), min_size=1, max_size=120),
       k=st.integers(2, 8), batches=st.integers(1, 4))
def test_k_anonymous_property(rows, k, batches) -> None:
    users = pa.table({"account_id": [f"u{i}" for i in range(len(rows))],
                      "country": [r[0] for r in rows],
                      "created_at": pa.array([START - dt.timedelta(days=r[1]) for r in rows],
                                             pa.timestamp("us", tz="UTC")),
                      "role": pa.array([r[2] for r in rows], pa.string())})
    qis = ["country", "created_at", "role"]
    out, state, _ = run(build("kanon.mondrian", k=k), users, qis, batches)
    if len(rows) < k:
        assert out.num_rows == 0 and state["report"]["users"]["suppressed_records"] == len(rows)
    else:
        assert out.num_rows == len(rows) and min_class_size(out, qis) >= k
        # generalized values cover the originals
        for orig, gen in zip(users.column("country").to_pylist(), out.column("country").to_pylist(), strict=True):
            assert gen == "*" or orig in gen.split("|")


def test_batch_order_does_not_matter() -> None:
    users = make_tables(120, 10)["users"]
    a, _, _ = run(build("kanon.mondrian", k=5), users, QIS, batches=1)
    b, _, _ = run(build("kanon.mondrian", k=5), users, QIS, batches=4)
    assert a.equals(b)


def test_suppressed_users_lose_their_events() -> None:
    tabs = make_tables(40, 400)
    users = tabs["users"]
    # a null numeric quasi-identifier cannot be generalized: that user is suppressed
    created = users.column("created_at").to_pylist()
    created[7] = None
    users = users.set_column(users.schema.get_field_index("created_at"), "created_at",
                             pa.array(created, users.schema.field("created_at").type))
    out, state, others = run(build("kanon.mondrian", k=5), users, QIS, extra={"events": tabs["events"]})
    assert state["report"]["users"]["suppressed_records"] == 1
    assert "acct-00007" not in out.column("account_id").to_pylist()
    ev = others["events"]
    assert "acct-00007" not in ev.column("account_id").to_pylist()
    dropped = tabs["events"].num_rows - ev.num_rows
    assert dropped == tabs["events"].column("account_id").to_pylist().count("acct-00007") > 0
    assert min_class_size(out, QIS) >= 5


def test_partition_cuts_at_median() -> None:
    codes = np.arange(40, dtype=float).reshape(-1, 1)
    labels = partition(codes, 10)
    assert sorted(Counter(labels).values()) == [10, 10, 10, 10]
    assert len(set(partition(codes, 21))) == 1
