from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.custom.not_email import not_email_mask


@pytest.mark.parametrize(("value", "ok"), [
    ("ann@example.com", False),
    ("Ann Lee <ann.lee+x@mail.example.co.uk>", False),
    ("contact: BOB@EXAMPLE.ORG.", False),
    ("user@localhost", True),          # no top-level domain: not an address that can be mailed
    ("@example.com", True),
    ("a@b", True),
    ("f3a9c0e1", True),
    ("10.1.2.0/24", True),
    ("", True),
])
def test_mask_values(value, ok):
    assert not_email_mask(pd.Series([value], dtype="str")).tolist() == [ok]


def test_nulls_pass_and_non_strings_are_scanned():
    s = pa.table({"a": pa.array(["x@y.io", None, "z"])}).to_pandas()["a"]
    assert not_email_mask(s).tolist() == [False, True, True]
    assert not_email_mask(pd.Series([1, 2])).tolist() == [True, True]


@settings(max_examples=50, deadline=None)
@given(st.from_regex(r"[a-z0-9._]{1,12}@[a-z0-9]{1,10}\.(com|io|de|co\.uk)", fullmatch=True),
       st.text(alphabet=st.characters(blacklist_characters="@", blacklist_categories=("Cs",)), max_size=20))
def test_any_address_anywhere_is_caught(address, around):
    values = pd.Series([around + " " + address + " " + around, around], dtype="str")
    assert not_email_mask(values).tolist() == [False, True]


@pytest.mark.parametrize(("values", "success", "unexpected"), [
    (["a", "b", None], True, 0),
    (["a@b.com", "b", None], False, 1),
])
def test_expectation(check, values, success, unexpected):
    o = check(pa.table({"c": values}), "expect_column_values_to_not_be_email_addresses", column="c")
    assert (o.success, o.unexpected_count, o.element_count, o.missing_count) == (success, unexpected, 3, 1)


def test_many_columns_in_one_pass_are_reported_per_column(gx_validator):
    from expectations.engine import ExpectationSpec

    t = pa.table({"a": ["x@y.io", None, "z"], "b": ["q", "r", "s"], "n": [1, 2, 3]})
    spec = ExpectationSpec("expect_table_values_to_not_be_email_addresses", {"column_list": ["a", "b", "gone"]})
    rows = {o.columns: o for o in gx_validator.validate(t, [spec], "t")}
    assert set(rows) == {"a", "b", "gone"}
    assert {o.expectation for o in rows.values()} == {"expect_column_values_to_not_be_email_addresses"}
    assert (rows["a"].success, rows["a"].unexpected_count, rows["a"].missing_count) == (False, 1, 1)
    assert (rows["b"].success, rows["b"].unexpected_count, rows["b"].element_count) == (True, 0, 3)
    assert (rows["gone"].success, rows["gone"].error) == (False, "MissingColumn")
    assert rows["a"].kwargs == '{"column": "a"}'
