"""drop: columns removed; all columns = the table is not released."""

from __future__ import annotations

import pytest
from anon_testdata import apply, build, make_tables


@pytest.mark.parametrize("columns, kept", [
    (["display_name"], 10), (["display_name", "email"], 9), (["*"], None),
])
def test_drop(columns, kept) -> None:
    users = make_tables()["users"]
    d = build("drop")
    cols = users.column_names if columns == ["*"] else columns
    out = apply(d, users, cols, "users")
    schema = d.output_schema("users", cols, users.schema)
    if kept is None:
        assert out is None and schema is None
    else:
        assert out.num_columns == kept and out.num_rows == users.num_rows
        assert out.schema.equals(schema) and not set(columns) & set(out.column_names)
