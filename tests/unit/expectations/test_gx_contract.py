from __future__ import annotations

from pathlib import Path

import gx_fakes as fakes
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from expectations.contract import ChainSpec, contract_plan, declared_columns, pseudonym_form
from expectations.params import ValidationParams
from expectations.stage import validate_stage
from generators.schema import RAW_TABLES

BROKEN = yaml.safe_load((Path(__file__).parent / "chains" / "forgets-email.yaml").read_text())


def types(plan, table):
    return [(e.type, e.columns) for e in plan.tables[table].expectations]


def test_steps_become_expectations():
    chain = ChainSpec.from_mapping(fakes.GOOD_CHAIN)
    declared = declared_columns(chain, RAW_TABLES)
    assert "display_name" not in declared["users"]
    schemas = {t: s for t, s in RAW_TABLES.items()}
    plan = contract_plan(chain, schemas, RAW_TABLES, {t: 10 for t in RAW_TABLES})
    ev = types(plan, "events")
    assert ("expect_column_values_to_be_pseudonyms", "actor_email") in ev
    assert ("expect_column_values_to_be_ip_prefixes", "client_ip") in ev
    assert ("expect_column_values_to_be_on_time_bucket", "event_time") in ev
    (scan,) = [e for e in plan.tables["events"].expectations
               if e.type == "expect_table_values_to_not_be_email_addresses"]
    assert {"user_agent", "actor_email", "client_ip"} <= set(scan.kwargs["column_list"])
    assert "event_time" not in scan.kwargs["column_list"]  # strings only by default
    assert ("expect_table_columns_to_be_within_set", "") in ev
    assert {c.kind for c in plan.checks} == {"row_count_equal"} and plan.stage == "anon-good"


def test_non_row_preserving_chain_has_no_row_count_and_kanon_is_run_wide():
    chain = ChainSpec.from_mapping({"name": "k", "steps": [
        {"use": "kanon.mondrian", "columns": {"users": ["role", "country"]}, "with": {"k": 7}}]})
    plan = contract_plan(chain, RAW_TABLES, RAW_TABLES, {t: 10 for t in RAW_TABLES})
    (c,) = plan.checks
    assert (c.kind, c.table, c.columns, c.params) == ("k_anonymous", "users", ("role", "country"), {"k": 7})
    assert plan.tables["users"].partial.group_counts == (("role", "country"),)


@pytest.mark.parametrize(("use", "params", "form"), [
    ("pseudonymize.hmac", {"length": 32, "prefix": ""}, "[0-9a-f]{32}"),
    ("pseudonymize.hmac", {"length": 16, "prefix": "u_"}, "u_[0-9a-f]{16}"),
    ("pseudonymize.hmac", {}, "[0-9a-f]{16,64}"),
    ("hash.sha256", {}, "hex64"),
    ("drop", {}, None),
])
def test_pseudonym_form(use, params, form):
    from expectations.contract import StepSpec

    assert pseudonym_form(StepSpec(use, {}, params), ValidationParams()) == form


def test_week_buckets_start_on_monday():
    chain = ChainSpec.from_mapping({"name": "w", "steps": [
        {"use": "generalize.time_bucket", "columns": {"users": ["created_at"]}, "with": {"every": "1w"}}]})
    plan = contract_plan(chain, RAW_TABLES, RAW_TABLES, {})
    (spec,) = [e for e in plan.tables["users"].expectations if e.type.endswith("time_bucket")]
    assert spec.kwargs["offset"] == "4d"


def anon_schemas(run, chain):
    return {t.name: pq.read_schema(next(t.glob("part-*.parquet"))) for t in (run / "anon" / chain).iterdir()}


def contract_outcomes(run, chain_dict, raw, validator):
    fakes.write_chain(run, chain_dict, raw)
    chain = ChainSpec.from_mapping(chain_dict)
    plan = contract_plan(chain, anon_schemas(run, chain.name), RAW_TABLES, {t: v.num_rows for t, v in raw.items()})
    return validate_stage(plan, run, validator)


def test_good_chain_meets_its_contract(tmp_path, gx_validator):
    raw = fakes.make_run(tmp_path)
    assert all(o.success for o in contract_outcomes(tmp_path, fakes.GOOD_CHAIN, raw, gx_validator))


def test_broken_chain_fails_its_contract(tmp_path, gx_validator):
    raw = fakes.make_run(tmp_path)
    failed = {(o.table, o.expectation, o.columns)
              for o in contract_outcomes(tmp_path, BROKEN, raw, gx_validator) if not o.success}
    assert failed == {("events", "expect_column_values_to_not_be_email_addresses", "actor_email"),
                      ("users", "expect_column_values_to_not_be_email_addresses", "email")}


def test_dropping_rows_in_a_row_preserving_chain_is_caught(tmp_path, gx_validator):
    raw = fakes.make_run(tmp_path)
    fakes.write_chain(tmp_path, fakes.GOOD_CHAIN, raw)
    fakes.write_tables(tmp_path, "anon/good", {"orgs": raw["orgs"].slice(0, 1)}, shards=1)
    chain = ChainSpec.from_mapping(fakes.GOOD_CHAIN)
    plan = contract_plan(chain, anon_schemas(tmp_path, "good"), RAW_TABLES, {t: v.num_rows for t, v in raw.items()})
    failed = [o for o in validate_stage(plan, tmp_path, gx_validator) if not o.success]
    assert [(o.table, o.expectation) for o in failed] == [("orgs", "expect_table_row_count_to_equal")]


def test_email_scan_all_columns_and_extra_k_anonymity():
    params = ValidationParams(email_scan="all", k_anonymity=[{"table": "users", "columns": ["country"], "k": 3},
                                                              {"table": "nope", "columns": ["x"]}])
    chain = ChainSpec.from_mapping({"name": "c", "steps": []})
    plan = contract_plan(chain, RAW_TABLES, RAW_TABLES, {}, params)
    (scan,) = [e for e in plan.tables["orgs"].expectations
               if e.type == "expect_table_values_to_not_be_email_addresses"]
    assert set(scan.kwargs["column_list"]) == set(RAW_TABLES["orgs"].names)  # timestamps, numbers too
    assert [(c.kind, c.table, c.params) for c in plan.checks] == [("k_anonymous", "users", {"k": 3})]


def test_email_scan_reads_non_string_columns(check):
    import pyarrow as pa

    t = pa.table({"n": [1, 2], "t": pa.array([0, 1], pa.timestamp("us", tz="UTC")), "b": [True, None]})
    for c in t.column_names:
        assert check(t, "expect_column_values_to_not_be_email_addresses", column=c).success


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(["account_id", "session_id", "user_agent", "object_id", "container_id", "geo_country"]),
       st.integers(0, 239), st.from_regex(r"[a-z]{1,8}@[a-z]{2,8}\.(com|io|de)", fullmatch=True))
def test_an_address_left_anywhere_breaks_the_contract_on_that_column(tmp_path_factory, gx_validator, column, row,
                                                                     address):
    """Property: one e-mail address planted in any column of a good release is caught, on that column only."""
    import pyarrow as pa

    run = tmp_path_factory.mktemp("run")
    raw = fakes.make_run(run, shards=1)
    anon = fakes.anonymize(raw, fakes.GOOD_CHAIN)
    events = anon["events"]
    values = events[column].to_pylist()
    values[row] = f"x {address} y"
    anon["events"] = events.set_column(events.schema.get_field_index(column), column, pa.array(values))
    fakes.write_tables(run, "anon/good", anon, shards=1)
    chain = ChainSpec.from_mapping(fakes.GOOD_CHAIN)
    plan = contract_plan(chain, anon_schemas(run, "good"), RAW_TABLES, {t: v.num_rows for t, v in raw.items()})
    failed = {(o.table, o.expectation, o.columns, o.unexpected_count)
              for o in validate_stage(plan, run, gx_validator) if not o.success}
    email = "expect_column_values_to_not_be_email_addresses"
    if column in ("account_id", "session_id"):  # pseudonymized columns: the form check fails as well
        assert ("events", email, column, 1) in failed
        assert ("events", "expect_column_values_to_be_pseudonyms", column, 1) in failed
    else:
        assert failed == {("events", email, column, 1)}
