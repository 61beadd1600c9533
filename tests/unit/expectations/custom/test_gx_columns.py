from __future__ import annotations

import pyarrow as pa
import pytest

TABLE = pa.table({"a": ["x"], "b": pa.array([1], pa.int32()), "t": pa.array([0], pa.timestamp("us", tz="UTC"))})


@pytest.mark.parametrize(("declared", "ok", "extra"), [
    (["a", "b", "t"], True, 0),
    (["a", "b", "t", "gone"], True, 0),   # a declared column may be absent
    (["a"], False, 2),
])
def test_within_set(check, declared, ok, extra):
    o = check(TABLE, "expect_table_columns_to_be_within_set", column_set=declared)
    assert (o.success, o.unexpected_count) == (ok, extra)


@pytest.mark.parametrize(("types", "ok", "wrong"), [
    ({"a": "str", "b": "int32", "t": "Timestamp"}, True, 0),
    ({"a": "str", "b": "int64", "t": "Timestamp"}, False, 1),
    ({"a": "int32|str", "missing": "str"}, True, 0),
])
def test_column_types(check, types, ok, wrong):
    o = check(TABLE, "expect_table_column_types_to_match", column_types=types)
    assert (o.success, o.unexpected_count) == (ok, wrong)
