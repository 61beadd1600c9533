"""The ``attacks:`` section of a run config: defaults, and errors that name the key."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from reid.params import CHECKS, AttackParams, parse_duration


def test_defaults_run_every_check_with_the_papers_settings():
    p = AttackParams.model_validate({})
    assert p.checks == list(CHECKS)
    assert p.unicity.points == [1, 2, 4, 8]
    labels = [k.label for k in p.knowledge_sets]
    assert labels[0] == "1h:action" and "1s:action" in labels      # the classic set first; the raw resolution too
    assert {"1d:container", "1h:object", "15m:product"} <= set(labels)
    assert p.profile_linkage.split == 0.5
    assert "app" not in p.target_account_types


@pytest.mark.parametrize(("text", "delta"), [("30m", dt.timedelta(minutes=30)), ("1h", dt.timedelta(hours=1)),
                                             ("2d", dt.timedelta(days=2)), ("1w", dt.timedelta(weeks=1))])
def test_parse_duration(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize(("data", "where"), [
    ({"checks": ["unicity", "telepathy"]}, "checks"),
    ({"unicity": {"points": [0, 2]}}, "unicity.points"),
    ({"unicity": {"time_bucket": "an hour"}}, "unicity.time_bucket"),
    ({"knowledge": [{"time": "an hour", "columns": ["action"]}]}, "knowledge.0.time"),
    ({"knowledge": [{"time": "1h", "columns": ["shoe_size"]}]}, "knowledge.0.columns"),
    ({"knowledge": [{"time": "1h", "columns": ["action"], "extra": 1}]}, "knowledge.0.extra"),
    ({"knowledge": []}, "knowledge"),
    ({"knowledge": [{"time": "1h", "columns": ["action"]}, {"time": "1h", "columns": ["action"]}]}, "knowledge"),
    ({"profile_linkage": {"weights": {"shoe_size": 1}}}, "profile_linkage.weights"),
    ({"profile_linkage": {"split": 1.5}}, "profile_linkage.split"),
    ({"unicty": {}}, "unicty"),
])
def test_bad_values_name_their_key(data, where):
    with pytest.raises(ValidationError) as e:
        AttackParams.model_validate(data)
    assert ".".join(str(x) for x in e.value.errors()[0]["loc"]).startswith(where)


def test_points_are_sorted_and_deduplicated():
    assert AttackParams.model_validate({"unicity": {"points": [8, 1, 4, 4]}}).unicity.points == [1, 4, 8]


def test_knowledge_sets_are_labelled_and_map_fields_to_columns():
    p = AttackParams.model_validate({"knowledge": [{"time": "1d", "columns": ["container", "product"]},
                                                   {"time": "30m"}]})
    assert [k.label for k in p.knowledge_sets] == ["1d:container+product", "30m"]
    assert p.knowledge_sets[0].event_columns == ["container_id", "product"]


def test_runs_recorded_before_knowledge_sets_still_load():
    """A manifest of an older run records unicity.time_bucket/point_columns: read as one more set."""
    old = AttackParams.model_validate({"unicity": {"time_bucket": "1h", "point_columns": ["action"]}})
    assert [k.label for k in old.knowledge_sets] == [k.label for k in AttackParams().knowledge_sets]
    other = AttackParams.model_validate({"unicity": {"time_bucket": "30m", "point_columns": ["container_id"]}})
    assert other.knowledge_sets[-1].label == "30m:container"
