"""Cross-tenant linkage of multi-org persons."""

from __future__ import annotations

import polars as pl
import pytest
from event_fixtures import population, pseudonymize

from reid.cross_tenant import cross_tenant, identifier_links, multi_org_persons
from reid.params import CrossTenantParams


@pytest.fixture(scope="module")
def pop():
    return population(n_persons=60, events_per_account=60, multi_org=8)


def attack(pop, anon_events: pl.DataFrame, **params):
    raw = pop["events"]
    truth = pl.concat([anon_events.select(pl.col("account_id").alias("actor")), raw.select("account_id")],
                      how="horizontal").unique().join(pop["accounts"], on="account_id")
    metrics = cross_tenant({"events": anon_events.lazy()}, accounts=pop["accounts"], actor_column="account_id",
                           actor_truth=truth, user_truth=None, params=CrossTenantParams(**params))
    return {m.metric: m for m in metrics}


def test_multi_org_persons(pop):
    assert multi_org_persons(pop["accounts"]).height == 8


def test_shared_pseudonymous_email_links_every_multi_org_person(pop):
    got = attack(pop, pseudonymize(pop["events"], ["account_id", "actor_email"]), behaviour=False)
    assert got["linked_share_identifier"].value == 1.0 and got["linked_share"].n == 8
    assert got["linked_share_behaviour"].value == 0.0


def test_per_org_pseudonyms_break_the_identifier_link(pop):
    ev = pseudonymize(pop["events"], ["account_id"])
    ev = ev.with_columns((pl.col("org_id") + pl.col("actor_email")).hash(3).cast(pl.String).alias("actor_email"))
    got = attack(pop, ev, behaviour=False)
    assert got["linked_share_identifier"].value == 0.0


def test_behaviour_links_persons_with_the_same_habits(pop):
    ev = pseudonymize(pop["events"], ["account_id"]).drop("actor_email")
    got = attack(pop, ev)
    assert got["linked_share_behaviour"].value >= 0.75
    assert got["linked_share"].value >= got["linked_share_behaviour"].value


@pytest.mark.parametrize(("max_group", "linked"), [(2, 0), (3, 1)])
def test_common_values_link_nothing(max_group, linked):
    records = pl.DataFrame({"entity": ["a", "b", "c"], "org": ["o1", "o2", "o3"], "value": ["v", "v", "v"],
                            "person_id": ["p", "p", "q"]})
    assert identifier_links(records, max_group).height == linked


def test_behaviour_attack_on_a_sample_of_persons(pop):
    """Beyond ``targets`` persons the behaviour attack profiles a seeded sample: linked_share and
    linked_share_behaviour are proportions over the sample, the identifier attack still over everyone."""
    ev = pseudonymize(pop["events"], ["account_id", "actor_email"])
    full = attack(pop, ev)
    part = attack(pop, ev, targets=3)
    assert full["linked_share"].n == 8 and not full["linked_share"].params["sampled"]
    assert part["linked_share"].n == part["linked_share_behaviour"].n == 3
    assert part["linked_share"].params["sampled"] and part["linked_share_identifier"].n == 8
    assert part["linked_share_identifier"].value == full["linked_share_identifier"].value == 1.0
    assert part["linked_share"].value == 1.0          # every sampled person is linked by the shared pseudonym
    assert attack(pop, ev, targets=3)["linked_share_behaviour"].value == part["linked_share_behaviour"].value
