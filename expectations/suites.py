"""The raw tables' suites: schema and types, not-null, value sets, ranges — and, across shards, key
uniqueness, referential integrity and plausible volumes.

Expectations are spent where they matter (issue 5: GX costs about 10 ms per expectation on a 250k-row
shard): keys and the columns downstream code groups by get not-null and value-set checks; free-text columns
only get their type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import pyarrow as pa

from expectations.engine import ExpectationSpec as E
from expectations.params import ValidationParams
from expectations.plan import PartialSpec, RunCheck, StagePlan, TableSuite, partial_specs
from generators.schema import RAW_TABLES
from runformat.layout import RAW, RAW_STAGE

# Value sets fixed by DESIGN.md (raw tables) and generators/schema.py.
PLANS = ["free", "standard", "premium", "enterprise"]
ACCOUNT_TYPES = ["atlassian", "app", "customer"]
ROLES = ["org_admin", "site_admin", "member", "viewer", "guest", "app"]
PRODUCTS = ["jira", "confluence", "bitbucket", "admin"]
AUTH_TYPES = ["sso", "password", "oauth", "api_token"]
OUTCOMES = ["success", "failure", "denied"]
OPT_OUT_PLANS = ["premium", "enterprise"]
SIZE_BANDS = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5001+"]

COUNTRY = r"^[A-Z]{2}$"
ACTION = r"^[a-z_]+\.[a-z_]+"  # no "$": on Arrow strings pandas then scans every value for newlines

NOT_NULL: dict[str, list[str]] = {
    "orgs": ["org_id", "plan", "data_residency", "country", "ai_training_opt_out", "created_at"],
    "users": ["account_id", "org_id", "email", "account_type", "role", "timezone", "created_at"],
    "events": ["event_id", "event_time", "org_id", "product", "action", "account_id", "auth_type", "outcome"],
    "config_changes": ["org_id", "product", "event_time", "setting_key"],
}
VALUE_SETS: dict[str, dict[str, list[str]]] = {
    "orgs": {"plan": PLANS, "size_band": SIZE_BANDS},
    "users": {"account_type": ACCOUNT_TYPES, "role": ROLES},
    "events": {"product": PRODUCTS, "auth_type": AUTH_TYPES, "outcome": OUTCOMES},
    "config_changes": {"product": PRODUCTS},
}
REGEX: dict[str, dict[str, str]] = {
    "orgs": {"country": COUNTRY},
    "users": {"country": COUNTRY},
    "events": {"action": ACTION},
}
KEYS = {"orgs": "org_id", "users": "account_id", "events": "event_id"}
REFERENCES = [("users", "org_id", "orgs", "org_id"), ("events", "org_id", "orgs", "org_id"),
              ("events", "account_id", "users", "account_id"), ("config_changes", "org_id", "orgs", "org_id"),
              ("config_changes", "account_id", "users", "account_id"),
              ("orgs", "org_id", "users", "org_id")]  # the last one: no org without accounts
# Columns holding times of activity inside the observed period.
PERIOD_COLUMNS = {"events": "event_time", "config_changes": "event_time"}


def gx_type(dtype: pa.DataType) -> str | None:
    """The type name GX reports for a pandas column converted from ``dtype`` (None: not checked)."""
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "str"
    if pa.types.is_timestamp(dtype):
        return "Timestamp" if dtype.tz else "datetime64"
    if pa.types.is_boolean(dtype):
        return "bool|object_"  # a boolean column with nulls becomes object in pandas
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype):
        return str(dtype.to_pandas_dtype().__name__)
    return None


def _iso(day: dt.date) -> str:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).isoformat()


def table_suite(table: str, schema: pa.Schema, expected: pa.Schema | None,
                period: tuple[dt.date, dt.date] | None, imported: Collection[str] | None = None) -> list[E]:
    """Per-shard expectations of one raw table (``expected``: its DESIGN schema, when it is a known table).

    ``imported``: the table comes from a user's own log (``anonbench import``) and only these columns were
    mapped from it; the others are null by construction, and the log has its own vocabulary, so the value
    sets and patterns of the generated data do not apply (the account types are normalized on import)."""
    specs: list[E] = []
    if expected is not None:
        specs.append(E("expect_table_columns_to_match_set", {"column_set": expected.names, "exact_match": False}))
        types = {f.name: gx_type(f.type) for f in expected if gx_type(f.type)}
        specs.append(E("expect_table_column_types_to_match", {"column_types": types}))
    present = set(schema.names) if imported is None else set(schema.names) & set(imported)
    value_sets = VALUE_SETS.get(table, {}) if imported is None else \
        {c: v for c, v in VALUE_SETS.get(table, {}).items() if c == "account_type"}
    specs += [E("expect_column_values_to_not_be_null", {"column": c})
              for c in NOT_NULL.get(table, []) if c in present]
    specs += [E("expect_column_values_to_be_in_set", {"column": c, "value_set": v})
              for c, v in value_sets.items() if c in present]
    specs += [E("expect_column_values_to_match_regex", {"column": c, "regex": r})
              for c, r in (REGEX.get(table, {}) if imported is None else {}).items() if c in present]
    col = PERIOD_COLUMNS.get(table)
    if period and col in present:
        specs.append(E("expect_column_values_to_be_between",
                       {"column": col, "min_value": _iso(period[0]), "max_value": _iso(period[1])}))
    if period and table in ("orgs", "users") and "created_at" in present:  # accounts exist before they act
        specs.append(E("expect_column_values_to_be_between", {"column": "created_at", "max_value": _iso(period[1])}))
    if table == "orgs" and "n_accounts" in present:
        specs.append(E("expect_column_values_to_be_between", {"column": "n_accounts", "min_value": 1}))
    if table == "orgs" and {"ai_training_opt_out", "plan"} <= present:
        # only the top plans may opt out of AI training (DESIGN.md: the story behind the data)
        pairs = [[False, p] for p in PLANS] + [[True, p] for p in OPT_OUT_PLANS]
        specs.append(E("expect_column_pair_values_to_be_in_set",
                       {"column_A": "ai_training_opt_out", "column_B": "plan", "value_pairs_set": pairs}))
    return specs


def raw_checks(tables: set[str], generate: Mapping[str, Any] | None, params: ValidationParams) -> list[RunCheck]:
    """Run-wide checks of the raw stage: unique keys, references between tables, plausible volumes."""
    checks = [RunCheck("unique", t, (c,)) for t, c in KEYS.items() if t in tables]
    checks += [RunCheck("references", t, (c,), {"to_table": tt, "to_column": tc})
               for t, c, tt, tc in REFERENCES if t in tables and tt in tables]
    min_users = int((generate or {}).get("org_size_min", 1))
    checks += [RunCheck("row_count_between", t, (), {"min_value": m})
               for t, m in (("orgs", 1), ("users", min_users)) if t in tables]
    events = (generate or {}).get("events")
    if "events" in tables and events:
        if params.events_tolerance == 0:
            checks.append(RunCheck("row_count_equal", "events", (), {"value": int(events), "of": "generate.events"}))
        else:
            tol = params.events_tolerance * events
            checks.append(RunCheck("row_count_between", "events", (),
                                   {"min_value": int(events - tol), "max_value": int(events + tol)}))
    return checks


def observed_period(generate: Mapping[str, Any] | None) -> tuple[dt.date, dt.date] | None:
    """[start, end] of the generated period from the run's ``generate`` config (None when unknown)."""
    if not generate or "start" not in generate:
        return None
    start = dt.date.fromisoformat(str(generate["start"]))
    return start, start + dt.timedelta(days=int(generate.get("days", 28)))


def raw_plan(schemas: Mapping[str, pa.Schema], generate: Mapping[str, Any] | None = None,
             params: ValidationParams | None = None, source: str = RAW,
             imported: Mapping[str, Collection[str]] | None = None) -> StagePlan:
    """The plan of stage ``raw`` for the tables present (``schemas``: table -> Arrow schema of its shards);
    ``imported``: table -> the columns mapped from a user's own log (``anonbench import``)."""
    params = params or ValidationParams()
    period = observed_period(generate)
    checks = tuple(raw_checks(set(schemas), generate, params))
    partials = partial_specs(checks)
    tables = {t: TableSuite(t, tuple(table_suite(t, s, RAW_TABLES.get(t), period,
                                                 None if imported is None else imported.get(t, ()))),
                            partials.get(t, _EMPTY))
              for t, s in sorted(schemas.items())}
    return StagePlan(stage=RAW_STAGE, role="raw", source=source, tables=tables, checks=checks)


_EMPTY = PartialSpec()
