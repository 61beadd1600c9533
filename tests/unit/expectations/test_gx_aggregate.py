from __future__ import annotations

import pandas as pd
import pytest

from expectations.aggregate import decide_stage, shard_partial
from expectations.plan import PartialSpec, RunCheck, StagePlan, partial_specs

USERS = [pd.DataFrame({"account_id": ["a1", "a2", None], "org_id": ["o1", "o1", "o2"], "k": ["x", "x", "y"]}),
         pd.DataFrame({"account_id": ["a3", "a1"], "org_id": ["o3", "o3"], "k": ["y", "y"]})]
EVENTS = [pd.DataFrame({"account_id": ["a1", "a9", "a9"]}), pd.DataFrame({"account_id": ["a3"]})]


def decide(*checks):
    checks = tuple(checks)
    specs = partial_specs(checks)
    empty = PartialSpec()
    parts = [shard_partial(df, "users", specs.get("users", empty)) for df in USERS]
    if "events" in specs:
        parts += [shard_partial(df, "events", specs["events"]) for df in EVENTS]
    plan = StagePlan("raw", "raw", "raw", {}, checks)
    return decide_stage(plan, parts)


def test_uniqueness_across_shards():
    (o,) = decide(RunCheck("unique", "users", ("account_id",)))
    # a1 is in both shards: both rows are unexpected (GX counts every duplicate); the null is missing
    assert (o.success, o.unexpected_count, o.missing_count, o.element_count, o.shards) == (False, 2, 1, 5, 2)
    assert o.scope == "run"


def test_references_count_orphan_rows():
    (o,) = decide(RunCheck("references", "events", ("account_id",), {"to_table": "users", "to_column": "account_id"}))
    assert (o.success, o.unexpected_count, o.element_count) == (False, 2, 4)


@pytest.mark.parametrize(("check", "ok", "observed"), [
    (RunCheck("row_count_equal", "users", (), {"value": 5}), True, 5),
    (RunCheck("row_count_equal", "users", (), {"value": 6}), False, 5),
    (RunCheck("row_count_between", "users", (), {"min_value": 6}), False, 5),
    (RunCheck("k_anonymous", "users", ("k",), {"k": 2}), True, 2),
    (RunCheck("k_anonymous", "users", ("k",), {"k": 3}), False, 2),
    (RunCheck("group_size_between", "users", ("org_id",), {"min_value": 2}), False, 1),
])
def test_counts(check, ok, observed):
    (o,) = decide(check)
    assert (o.success, o.observed) == (ok, observed)


def test_missing_table_or_column_fails_with_a_named_error():
    a, b = decide(RunCheck("unique", "users", ("nope",)), RunCheck("unique", "orgs", ("org_id",)))
    assert (a.success, a.error, b.success, b.error) == (False, "MissingColumn", False, "MissingTable")
