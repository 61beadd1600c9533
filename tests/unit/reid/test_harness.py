"""The harness and ``anonbench attack`` on a hand-built run directory with a ladder of chains."""

from __future__ import annotations

import json
import math

import polars as pl
import pytest
from event_fixtures import make_run

from anonbench.commands import attack as cmd
from anonbench.errors import UsageError
from reid.harness import RunData, run_checks
from reid.params import AttackParams
from reid.result import RISK_SCHEMA

FAST = AttackParams(checks=["leak_scan", "dictionary", "unicity", "profile_linkage", "cross_tenant", "utility"])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    make_run(root, n_persons=60, events_per_account=50)
    return root


def values(results, check, metric, **where) -> list[float]:
    return [m.value for m in results[check] if m.metric == metric
            and all(m.params.get(k) == v for k, v in where.items())]


@pytest.mark.parametrize(("chain", "mode"), [("pseudo", "positional"), ("dropped", "fingerprint")])
def test_scorer_alignment_recovers_accounts(run, chain, mode):
    data = RunData.open(run, chain)
    truth, got_mode = data.actor_truth("account_id")
    assert got_mode == mode
    assert truth["purity"].min() > 0.95
    # the released pseudonym of each account, by the fixture's own function
    from event_fixtures import pseudonymize
    expected = pseudonymize(data.raw["events"].select("account_id").unique().collect()
                            .with_columns(pl.col("account_id").alias("raw")), ["account_id"])
    joined = truth.join(expected, left_on="actor", right_on="account_id")
    assert joined.height == truth.height and (joined["raw"] == joined["account_id"]).all()


def test_fingerprint_uses_only_unchanged_columns(run):
    keys = RunData.open(run, "dropped")._fingerprint_keys("account_id")
    assert "org_id" not in keys and {"action", "product", "user_agent"} <= set(keys)


def test_ladder(run):
    res = {c: run_checks(run, c, FAST) for c in ("none", "pseudo", "hash", "coarse", "agg")}
    assert values(res["none"], "leak_scan", "leaked_values")[0] > 0
    assert values(res["coarse"], "leak_scan", "leaked_values")[0] == 0
    assert min(values(res["hash"], "dictionary", "reversed_share", column="actor_email", attack=None)) > 0.95
    assert max(values(res["pseudo"], "dictionary", "reversed_share", column="actor_email")) == 0.0
    # the weak-key pass: unsalted hashes are no HMAC under any key; the fixture's random key is no weak key
    assert values(res["hash"], "dictionary", "reversed_share", column="actor_email", attack="weak_key") == [0.0]
    u = {c: values(res[c], "unicity", "unique_share", p=2) for c in ("none", "pseudo", "coarse")}
    assert u["none"] == u["pseudo"] and u["pseudo"][0] > u["coarse"][0]
    assert all(math.isnan(v) for v in values(res["agg"], "unicity", "unique_share"))
    assert values(res["agg"], "utility", "events_per_day_product_rel_error")[0] == 0.0


def test_attack_command_writes_risk_tables_and_manifest(run, capsys):
    cfg = run / "cfg.yaml"
    cfg.write_text("attacks:\n  checks: [leak_scan, unicity, utility]\n  unicity: {points: [1, 4]}\n")
    assert cmd.main(run, "pseudo", cfg) == 0
    out = run / "risk" / "pseudo"
    assert sorted(p.stem for p in out.glob("*.parquet")) == ["leak_scan", "unicity", "utility"]
    table = pl.read_parquet(out / "unicity.parquet")
    assert table.schema.names() == RISK_SCHEMA.names
    assert sorted({json.loads(p).get("p") for p in table["params"]} - {None}) == [1, 4]
    man = json.loads((run / "manifest.json").read_text())
    assert man["risk"]["pseudo"]["checks"] == ["leak_scan", "unicity", "utility"]
    assert any(f["path"] == "risk/pseudo/unicity.parquet" for f in man["files"])
    cfg.write_text("attacks:\n  checks: [utility]\n")
    cmd.main(run, "pseudo", cfg)
    assert [p.stem for p in out.glob("*.parquet")] == ["utility"]     # stale results removed


@pytest.mark.parametrize(("chain", "config", "message"), [
    ("nope", None, "no such chain output"),
    ("pseudo", "bad", "attacks.unicity.points"),
])
def test_attack_command_errors(run, chain, config, message):
    path = None
    if config:
        path = run / "bad.yaml"
        path.write_text("attacks:\n  unicity: {points: [0]}\n")
    with pytest.raises(UsageError, match=message):
        cmd.main(run, chain, path)


def test_results_are_deterministic(run):
    a = run_checks(run, "coarse", FAST)
    b = run_checks(run, "coarse", FAST)
    def strip(res):
        return [(m.check, m.metric, None if math.isnan(m.value) else m.value, m.n, str(m.params))
                for ms in res.values() for m in ms]
    assert strip(a) == strip(b)


def test_a_check_that_raises_leaves_a_row_saying_so(run, monkeypatch):
    from reid import harness

    def broken(data, params):
        raise ZeroDivisionError("a message that could quote a value")

    monkeypatch.setitem(harness.CHECKS, "unicity", broken)
    res = run_checks(run, "pseudo", AttackParams(checks=["leak_scan", "unicity"]))
    assert res["leak_scan"] and res["leak_scan"][0].params.get("error") is None  # the others still ran
    (row,) = res["unicity"]
    assert (row.check, row.metric, row.n, math.isnan(row.value)) == ("unicity", "error", 0, True)
    assert row.params["error"] == "ZeroDivisionError" and row.params["measured"] is False
    assert "quote a value" not in json.dumps(row.params)


def test_every_check_is_in_the_catalog():
    from reid import catalog, harness
    from reid.params import CHECKS

    assert set(CHECKS) <= set(catalog.ATTACK_CHECKS) and set(harness.CHECKS) == set(CHECKS)
