"""``anonbench import --control-share``: a share of the imported accounts held out as the control population
(``truth/control/``, as a generated run's), chosen by a hash of the account id; never in ``raw/``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from generators.fit import sample
from generators.params import GenerationParams
from pipelines import import_control, importlog
from reid.harness import RunData
from tests.conftest import run_cli

MAP = "person=who,time=ts,action=what,org=tenant,product=app,session=sess"


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("ctl")
    src = sample(GenerationParams(events=20_000, events_per_chunk=10_000), 4)
    src["events"].select(pl.col("account_id").alias("who"), pl.col("event_time").alias("ts"),
                         pl.col("action").alias("what"), pl.col("org_id").alias("tenant"),
                         pl.col("product").alias("app"), pl.col("session_id").alias("sess")
                         ).write_parquet(base / "log.parquet")
    src["users"].select(pl.col("account_id").alias("uid"), pl.col("timezone").alias("tz"),
                        pl.col("account_type").alias("kind")).write_parquet(base / "people.parquet")
    return base / "log.parquet", base / "people.parquet"


def _accounts(folder: Path) -> set[str]:
    return set(pl.read_parquet(folder / "*.parquet", columns=["account_id"])["account_id"].to_list())


def test_held_out_accounts_go_to_truth_control_only(log: tuple[Path, Path], tmp_path: Path) -> None:
    events, people = log
    run = tmp_path / "run"
    section = importlog.import_log(events, MAP, run, accounts=people, map_accounts="person=uid,timezone=tz,type=kind",
                                   control_share=0.5)
    raw, ctl = _accounts(run / "raw" / "events"), _accounts(run / "truth" / "control" / "events")
    everyone = set(pl.read_parquet(events, columns=["who"])["who"].to_list())
    assert raw.isdisjoint(ctl) and raw | ctl == everyone
    assert 0.4 < len(ctl) / len(everyone) < 0.6, len(ctl) / len(everyone)
    # the rule: a keyed hash of the account id, whatever the rows around it
    flags = import_control.held_out(pl.Series(sorted(everyone)), 0.5)
    assert {a for a, f in zip(sorted(everyone), flags, strict=True) if f} == ctl
    truth = pl.read_parquet(run / "truth" / "accounts.parquet")
    ctruth = pl.read_parquet(run / "truth" / "control" / "accounts.parquet")
    assert set(truth["account_id"]) == raw and set(ctruth["account_id"]) == ctl
    assert set(truth["person_id"]).isdisjoint(set(ctruth["person_id"]))
    # the accounts list is split by the same rule (accounts without events included)
    assert _accounts(run / "raw" / "users").isdisjoint(_accounts(run / "truth" / "control" / "users"))
    assert ctl <= _accounts(run / "truth" / "control" / "users")
    n_ctl_rows = pl.read_parquet(run / "truth" / "control" / "events" / "*.parquet").height
    assert section["control"] == {"share": 0.5, "rule": "sha256 of the account id below the share",
                                  "accounts": len(ctl), "rows": n_ctl_rows}
    assert section["rows"] + n_ctl_rows == pl.read_parquet(events).height
    # the harness sees it as a generated run's control; the manifest lists (and verify checks) its files
    data = RunData.open(run, "none")
    assert "events" in data.control and data.control_accounts is not None
    assert data.control_accounts.height == len(ctl)
    files = {f["path"] for f in json.loads((run / "manifest.json").read_text())["files"]}
    assert "truth/control/accounts.parquet" in files
    r = run_cli("verify", "--run", str(run))
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_split_does_not_depend_on_row_order(log: tuple[Path, Path], tmp_path: Path) -> None:
    events, _ = log
    shuffled = tmp_path / "shuffled.parquet"
    pl.read_parquet(events).sample(fraction=1.0, shuffle=True, seed=1).write_parquet(shuffled)
    importlog.import_log(events, MAP, tmp_path / "a", control_share=0.3)
    importlog.import_log(shuffled, MAP, tmp_path / "b", control_share=0.3)
    assert _accounts(tmp_path / "a" / "truth" / "control" / "events") == \
        _accounts(tmp_path / "b" / "truth" / "control" / "events")
    assert not (tmp_path / "a" / "truth" / "control" / "users").exists()  # no accounts list, no control users


def test_without_a_share_there_is_no_control(log: tuple[Path, Path], tmp_path: Path) -> None:
    section = importlog.import_log(log[0], MAP, tmp_path / "run")
    assert section["control"] is None and not (tmp_path / "run" / "truth" / "control").exists()


@pytest.mark.parametrize(("extra", "message"), [
    (["--control-share", "1"], "--control-share: 1.0 is not in [0, 1)"),
    (["--control-share", "-0.1"], "--control-share: -0.1 is not in [0, 1)"),
    (["--control-share", "0.000001"], "accounts held out"),
    (["--control-share", "0.5", "--anonymized", "LOG", "--same-order"], "not with --anonymized"),
])
def test_bad_control_shares_are_exit_2_and_write_nothing(log: tuple[Path, Path], tmp_path: Path,
                                                         extra: list[str], message: str) -> None:
    out = tmp_path / "run"
    args = [str(log[0]) if a == "LOG" else a for a in extra]
    r = run_cli("import", "--events", str(log[0]), "--map", MAP, "--out", str(out), *args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.e2e
def test_an_imported_log_with_a_control_is_attacked_like_a_generated_run(log: tuple[Path, Path],
                                                                        tmp_path: Path) -> None:
    # without a control, anonymeter's singling out and the membership check cannot measure chance; with one they do
    env = {"ANONBENCH_KEY": "import-control-test-key-0123456789abcdef01"}
    run = tmp_path / "run"
    for args in (("import", "--events", str(log[0]), "--map", MAP, "--accounts", str(log[1]), "--map-accounts",
                  "person=uid,timezone=tz,type=kind", "--out", str(run), "--control-share", "0.5"),
                 ("anonymize", "--run", str(run), "--chain", "none"), ("attack", "--run", str(run), "--chain", "none")):
        r = run_cli(*args, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
    for check in ("membership", "singling_out"):
        risk = pl.read_parquet(run / "risk" / "none" / f"{check}.parquet").filter(pl.col("metric") == "risk").row(
            0, named=True)
        params = json.loads(risk["params"])
        assert params.get("control") is True and params.get("measured", True), (check, params)
        assert risk["value"] is not None and risk["value"] > 0.5 and risk["n"] > 0, (check, risk)
