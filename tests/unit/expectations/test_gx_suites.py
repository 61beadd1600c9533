from __future__ import annotations

import datetime as dt

import gx_fakes as fakes
import pytest

from expectations.params import ValidationParams
from expectations.suites import gx_type, raw_plan
from generators.schema import RAW_TABLES


def test_raw_plan_covers_every_table_and_the_run_wide_checks():
    plan = raw_plan(RAW_TABLES, {**fakes.GENERATE, "events": 100})
    assert set(plan.tables) == set(RAW_TABLES) and plan.role == "raw"
    kinds = {(c.kind, c.table) for c in plan.checks}
    assert {("unique", "events"), ("unique", "users"), ("unique", "orgs"), ("references", "events"),
            ("row_count_equal", "events")} <= kinds
    types = {e.type for e in plan.tables["events"].expectations}
    assert {"expect_table_column_types_to_match", "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_in_set", "expect_column_values_to_be_between"} <= types
    assert plan.tables["events"].partial.key_hashes == ("event_id",)


def test_budget_events_suite_stays_small():
    plan = raw_plan(RAW_TABLES, fakes.GENERATE)
    assert len(plan.tables["events"].expectations) <= 16


def test_tolerance_turns_the_exact_count_into_a_range():
    plan = raw_plan(RAW_TABLES, {**fakes.GENERATE, "events": 1000}, ValidationParams(events_tolerance=0.1))
    (c,) = [c for c in plan.checks if c.table == "events" and c.kind.startswith("row_count")]
    assert c.kind == "row_count_between" and c.params == {"min_value": 900, "max_value": 1100}


def test_gx_types():
    assert {f.name: gx_type(f.type) for f in RAW_TABLES["orgs"]}["ai_training_opt_out"] == "bool|object_"
    assert gx_type(RAW_TABLES["events"].field("event_time").type) == "Timestamp"


@pytest.mark.parametrize(("table", "column", "value", "expectation"), [
    ("events", "product", "trello", "expect_column_values_to_be_in_set"),
    ("events", "event_time", dt.datetime(2027, 1, 1, tzinfo=dt.UTC), "expect_column_values_to_be_between"),
    ("orgs", "ai_training_opt_out", True, "expect_column_pair_values_to_be_in_set"),  # free plans cannot opt out
    ("users", "account_type", "robot", "expect_column_values_to_be_in_set"),
])
def test_raw_suite_passes_on_good_data_and_catches_bad(tmp_path, gx_validator, table, column, value, expectation):
    import pyarrow as pa

    from expectations.stage import validate_stage

    tables = fakes.make_run(tmp_path)
    plan = raw_plan(RAW_TABLES, {**fakes.GENERATE, "events": tables["events"].num_rows})
    assert all(o.success for o in validate_stage(plan, tmp_path, gx_validator))
    t = tables[table]
    i = t.schema.get_field_index(column)
    bad = t.set_column(i, column, pa.array([value] * t.num_rows, t.schema.field(i).type))
    fakes.write_tables(tmp_path, "raw", {table: bad})
    failed = {(o.table, o.expectation) for o in validate_stage(plan, tmp_path, gx_validator) if not o.success}
    assert failed == {(table, expectation)}
