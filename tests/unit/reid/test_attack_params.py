"""The ``attacks:`` section of a run config: defaults, and errors that name the key."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from reid.params import CHECKS, AttackParams, parse_duration


def test_defaults_run_every_check_with_the_papers_settings():
    p = AttackParams.model_validate({})
    assert p.checks == list(CHECKS)
    assert p.unicity.points == [1, 2, 4, 8] and p.unicity.time_bucket == "1h"
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
