from __future__ import annotations

import pytest

from expectations.results import RESULT_SCHEMA, Outcome, columns_of, merge_all, merge_shards, to_table


def o(success=True, unexpected=0, element=10, missing=0, mostly=1.0, expectation="expect_column_values_to_x",
      observed=None, error=None):
    return Outcome("t", expectation, "c", "{}", success, unexpected, element, missing, observed, error, 0.5,
                   mostly=mostly)


@pytest.mark.parametrize(("parts", "mostly", "success", "unexpected"), [
    ([(0, 10, 0), (0, 10, 0)], 1.0, True, 0),
    ([(0, 10, 0), (1, 10, 0)], 1.0, False, 1),
    ([(1, 10, 0), (1, 10, 0)], 0.9, True, 2),      # 18 of 20 non-null values: exactly `mostly`
    ([(2, 10, 0), (1, 10, 0)], 0.9, False, 3),
    ([(2, 10, 5), (0, 10, 5)], 0.9, False, 2),     # 8 of 10 non-null
])
def test_map_expectations_are_redecided_on_summed_counts(parts, mostly, success, unexpected):
    shards = [o(u == 0, u, e, m, mostly) for u, e, m in parts]
    merged = merge_shards(shards)
    assert (merged.success, merged.unexpected_count, merged.shards) == (success, unexpected, len(parts))
    assert merged.seconds == pytest.approx(0.5 * len(parts))


def test_other_expectations_need_every_shard_and_errors_fail():
    table = "expect_table_columns_to_be_within_set"
    assert not merge_shards([o(True, expectation=table), o(False, expectation=table)]).success
    merged = merge_shards([o(True, error="ValueError"), o(True)])
    assert not merged.success and merged.error == "ValueError"


def test_observations_sum_row_counts_else_take_the_minimum():
    rows = "expect_table_row_count_to_be_between"
    assert merge_shards([o(expectation=rows, observed=3.0), o(expectation=rows, observed=4.0)]).observed == 7
    k = "expect_column_combination_to_be_k_anonymous"
    assert merge_shards([o(expectation=k, observed=3.0), o(expectation=k, observed=4.0)]).observed == 3


def test_table_has_the_schema_and_one_row_per_expectation():
    merged = merge_all([o(), o(), o(expectation="expect_other")])
    t = to_table("raw", merged)
    assert t.schema == RESULT_SCHEMA and t.num_rows == 2 and set(t["stage"].to_pylist()) == {"raw"}


@pytest.mark.parametrize(("kwargs", "cols"), [({"column": "a"}, "a"), ({"column_list": ["a", "b"]}, "a,b"),
                                              ({"column_set": ["a"]}, ""), ({}, "")])
def test_columns_of(kwargs, cols):
    assert columns_of(kwargs) == cols
