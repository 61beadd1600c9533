from __future__ import annotations

import os

import pyarrow as pa

from expectations.engine import ExpectationSpec as E
from expectations.engine import arrow_to_pandas

SECRET = "ann.secret@example.com"
TABLE = pa.table({"a": [SECRET, "b", None], "n": [1, 2, 3]})


def test_analytics_off():
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"


def test_outcomes_hold_counts_never_values(gx_validator):
    specs = [E("expect_column_values_to_be_in_set", {"column": "a", "value_set": ["b"]}),
             E("expect_column_values_to_match_regex", {"column": "a", "regex": "^b"}),
             E("expect_column_distinct_values_to_be_in_set", {"column": "a", "value_set": ["b"]}),
             E("expect_column_max_to_be_between", {"column": "n", "max_value": 2})]
    outcomes = gx_validator.validate(TABLE, specs, "t")
    assert [o.success for o in outcomes] == [False, False, False, False]
    assert outcomes[0].unexpected_count == 1 and outcomes[0].missing_count == 1
    assert outcomes[3].observed == 3  # numeric observations are kept
    assert SECRET not in repr(outcomes)  # the distinct values GX observed are not


def test_equal_specs_share_one_answer_and_order_is_kept(gx_validator):
    spec = E("expect_column_values_to_not_be_null", {"column": "a"})
    other = E("expect_column_values_to_not_be_null", {"column": "n"})
    outcomes = gx_validator.validate(TABLE, [spec, other, spec], "t", suite_name="dups")
    assert [(o.columns, o.success) for o in outcomes] == [("a", False), ("n", True), ("a", False)]


def test_suite_cache_is_per_specs(gx_validator):
    a = gx_validator.validate(TABLE, [E("expect_column_values_to_not_be_null", {"column": "n"})], "t", "same")
    b = gx_validator.validate(TABLE, [E("expect_column_values_to_not_be_null", {"column": "a"})], "t", "same")
    assert (a[0].columns, a[0].success, b[0].columns, b[0].success) == ("n", True, "a", False)


def test_an_expectation_that_cannot_run_fails_with_its_error_type_only(gx_validator):
    (o,) = gx_validator.validate(TABLE, [E("expect_column_values_to_not_be_null", {"column": "missing"})], "t")
    assert not o.success and o.error and " " not in o.error


def test_arrow_to_pandas_decodes_dictionaries():
    df = arrow_to_pandas(pa.table({"d": pa.array(["x", "y"]).dictionary_encode()}))
    assert str(df["d"].dtype) == "str"
