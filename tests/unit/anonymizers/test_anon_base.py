"""The contract's helpers: column replacement, schema retyping, public parameters, repr without secrets."""

from __future__ import annotations

import pyarrow as pa
from anon_testdata import KEY, build

from anonymizers.base import replace_column, with_type


def test_replace_column_keeps_position_and_nullability() -> None:
    schema = pa.schema([pa.field("a", pa.int64(), nullable=False), pa.field("b", pa.string())])
    t = pa.table({"a": [1, 2], "b": ["x", "y"]}, schema=schema)
    out = replace_column(t, "a", pa.array(["1", "2"]))
    assert out.column_names == ["a", "b"] and out.schema.field("a").type == pa.string()
    assert not out.schema.field("a").nullable
    assert with_type(schema, ["a"], pa.string()).field("a").type == pa.string()


def test_public_params_and_repr_never_hold_the_key() -> None:
    a = build("pseudonymize.hmac")
    assert a.public_params()["key"] == "env:ANONBENCH_KEY"
    assert KEY not in repr(a) and KEY not in str(a.public_params())
