"""Leak scan: counts of raw identifiers found verbatim, never the values."""

from __future__ import annotations

import polars as pl
import pytest
from event_fixtures import population, pseudonymize
from hypothesis import given, settings
from hypothesis import strategies as st

from generators.schema import IDENTIFIER_COLUMNS
from reid.leak_scan import leak_scan, raw_identifier_values
from reid.result import to_table


@pytest.fixture(scope="module")
def raw() -> dict[str, pl.LazyFrame]:
    pop = population(n_persons=30, events_per_account=10)
    return {"users": pop["users"].lazy(), "events": pop["events"].lazy()}


def _total(metrics) -> float:
    return next(m.value for m in metrics if m.metric == "leaked_values")


def test_identity_release_leaks_every_identifier(raw):
    metrics = leak_scan(raw, raw, IDENTIFIER_COLUMNS)
    expected = raw_identifier_values(raw, IDENTIFIER_COLUMNS).height
    assert _total(metrics) == expected
    assert metrics[0].n == expected


@pytest.mark.parametrize(("table", "column", "dropped", "leaks"), [
    ("events", "client_ip", [], True),            # IPs left in clear
    ("events", "client_ip", ["client_ip"], False),
    ("users", "display_name", [], True),
    ("users", "display_name", ["display_name"], False),
])
def test_each_unprotected_column_is_caught(raw, table, column, dropped, leaks):
    ids = {"users": ["account_id", "email", "display_name"],
           "events": ["account_id", "actor_email", "session_id", "event_id"]}
    # everything else protected: keyed pseudonyms, the clear-text-only columns dropped
    gone = [*dropped, *({"client_ip", "display_name"} - {column})]
    anon = {t: pseudonymize(lf.collect(), [c for c in ids[t] if c != column]).drop(gone, strict=False).lazy()
            for t, lf in raw.items()}
    metrics = leak_scan(raw, anon, IDENTIFIER_COLUMNS)
    per_col = {(m.params["table"], m.params["column"]): m.value for m in metrics[1:]}
    assert (per_col.get((table, column), 0) > 0) is leaks
    assert (_total(metrics) > 0) is leaks


def test_embedded_values_are_found_and_can_be_switched_off(raw):
    email = raw["users"].collect()["email"][0]
    anon = {"notes": pl.LazyFrame({"note": [f"ping {email} about it", "nothing here", None]})}
    assert _total(leak_scan(raw, anon, IDENTIFIER_COLUMNS)) == 1
    assert _total(leak_scan(raw, anon, IDENTIFIER_COLUMNS, extract_embedded=False)) == 0


def test_results_never_hold_raw_values(raw):
    table = to_table(leak_scan(raw, raw, IDENTIFIER_COLUMNS), "none")
    text = " ".join(str(v) for col in table.columns for v in col.to_pylist())
    values = raw_identifier_values(raw, IDENTIFIER_COLUMNS)["value"].to_list()
    assert not [v for v in values if v in text]


@settings(max_examples=40, deadline=None)
@given(ids=st.sets(st.text(alphabet="abcdef0123456789@.-", min_size=1, max_size=12), min_size=1, max_size=30),
       other=st.sets(st.text(alphabet="ghijklmnop", min_size=1, max_size=12), max_size=30),
       data=st.data())
def test_count_is_exactly_the_released_identifiers(ids, other, data):
    kept = data.draw(st.sets(st.sampled_from(sorted(ids))))
    raw = {"users": pl.LazyFrame({"account_id": sorted(ids)}, schema={"account_id": pl.String})}
    anon = {"users": pl.LazyFrame({"x": sorted(kept | other) or [None]}, schema={"x": pl.String})}
    got = leak_scan(raw, anon, {"users": ["account_id"]}, extract_embedded=False)
    assert got[0].value == len(kept) and got[0].n == len(ids)


@pytest.mark.parametrize("many", [0, 10**9])
def test_wholesale_and_verified_paths_agree(raw, monkeypatch, many):
    import reid.leak_scan as module

    monkeypatch.setattr(module, "MANY", many)
    metrics = leak_scan(raw, raw, IDENTIFIER_COLUMNS)
    assert _total(metrics) == raw_identifier_values(raw, IDENTIFIER_COLUMNS).height
