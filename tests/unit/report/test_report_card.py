"""anonbench.report.card: a Datasheets-for-Datasets card without secrets or raw values."""

from __future__ import annotations

from fixtures_run import raw_identifiers

from anonbench.report.card import TableFacts, render_card
from anonbench.report.gate import evaluate
from anonbench.report.results import load_run

SECTIONS = ("## Motivation", "## Composition", "## Collection process", "## Preprocessing", "## Uses",
            "## Distribution", "## Maintenance", "## Re-identification risk", "## Utility", "## Validation")


def test_card(run_dir):
    data = load_run(run_dir)
    verdict = evaluate(data).verdict("generalize")
    card = render_card(data, verdict, [TableFacts("events", 2400, ("event_id", "event_time"), 1)],
                       {"total": 4, "passed": 4}, "defaults")
    positions = [card.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert "Gebru et al." in card and "seed `7`" in card and "**Licence:**" in card
    assert ("1. pseudonymize.hmac — events: account_id, actor_email, session_id — key=(secret, not included)"
            in card) and "env:" not in card
    assert "| unicity | reidentified_share[p=4] | 0.04 |" in card
    assert "| utility | hourly_profile_correlation | 0.96 |" in card
    assert "4 of 4 expectations hold" in card
    assert [v for v in raw_identifiers() if v in card] == []
