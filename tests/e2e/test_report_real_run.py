"""Report, check and publish on a real (small) run: generate -> anonymize -> validate -> attack via the CLI.

Four chains: the controls `none` and `naive-hash`, the candidate `pseudonymize` (pseudonyms only, which the
attacks see through) and `dp-aggregates` (no per-person rows). Checks the DESIGN contracts end to end:
controls caught, a known-weak candidate accepted only when declared, strict thresholds and a disabled attack
turning the gate red, summaries agreeing with `check`, no raw identifier in report or bundle.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from anonbench.cli import app
from anonbench.config import CONFIG_DIR

pytestmark = pytest.mark.e2e
CHAINS = ["none", "naive-hash", "pseudonymize", "dp-aggregates"]
CONFIG = {"name": "e2e-report", "seed": 11, "allow_ephemeral_key": True,
          "generate": {"events": 12000, "days": 14, "events_per_chunk": 6000}, "chains": CHAINS}
KNOWN_WEAK = {"known_weak": {"pseudonymize": "pseudonyms only: behaviour still singles people out"}}


class Done:
    """What a CLI call left: exit code, stdout, stderr."""

    def __init__(self, result) -> None:
        self.returncode, self.stdout, self.stderr = result.exit_code, result.stdout, result.stderr


def cli(*args: str, check: bool = True) -> Done:
    """One `anonbench` command, in process (Beam's in-process runner; saves an interpreter start per call)."""
    env = {"GX_ANALYTICS_ENABLED": "False", "ANONBENCH_KEY": "e2e-test-key-0123456789abcdef0123"}
    done = Done(CliRunner().invoke(app, list(args), env=env))
    if check:
        assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return done


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("real")
    cfg = root / "config.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    run = root / "run"
    cli("generate", "--config", str(cfg), "--out", str(run))
    for chain in CHAINS:
        cli("anonymize", "--run", str(run), "--chain", chain)
    cli("validate", "--run", str(run))
    for chain in CHAINS:
        cli("attack", "--run", str(run), "--chain", chain)
    weak = root / "weak.yaml"
    weak.write_text(yaml.safe_dump(KNOWN_WEAK))
    return {"root": root, "run": run, "config": cfg, "weak": weak}


def raw_identifiers(run: Path) -> set[str]:
    users = pl.read_parquet(run / "raw" / "users" / "*.parquet")
    events = pl.read_parquet(run / "raw" / "events" / "*.parquet", columns=["client_ip", "session_id"])
    values = set(users["email"].to_list()) | set(users["account_id"].to_list())
    values |= {v for v in users["display_name"].to_list() if v and len(v) > 8}
    values |= set(events["client_ip"].unique().head(500).to_list()) | set(events["session_id"].head(500).to_list())
    return {v for v in values if v}


def summary(run: Path) -> tuple[dict, str]:
    return (json.loads((run / "report" / "summary.json").read_text()),
            (run / "report" / "summary.md").read_text())


def test_default_thresholds_fail_the_weak_candidate_only(real):
    proc = cli("check", "--run", str(real["run"]), check=False)
    assert proc.returncode == 1
    breaches = [line.removeprefix("BREACH ") for line in proc.stderr.splitlines() if line.startswith("BREACH ")]
    assert breaches and all(b.startswith("chain pseudonymize: check ") for b in breaches)
    assert any("check unicity, metric reidentified_share[p=" in b for b in breaches)
    doc, md = summary(real["run"])
    assert doc["problems"] == breaches and doc["passed"] is False
    assert doc["chains"]["none"]["caught"] is True and doc["chains"]["naive-hash"]["caught"] is True
    assert doc["chains"]["dp-aggregates"]["passed"] is True
    assert "| `pseudonymize` | candidate | ❌ fail |" in md


def test_known_weak_declared_passes_and_strict_fails(real):
    ok = cli("check", "--run", str(real["run"]), "--thresholds", str(real["weak"]), check=False)
    assert ok.returncode == 0, ok.stderr
    assert summary(real["run"])[0]["passed"] is True
    strict = real["root"] / "strict-weak.yaml"
    strict.write_text((CONFIG_DIR / "thresholds" / "strict.yaml").read_text() + "\n" + yaml.safe_dump(KNOWN_WEAK))
    bad = cli("check", "--run", str(real["run"]), "--thresholds", str(strict), check=False)
    assert bad.returncode == 1
    assert "BREACH chain dp-aggregates: check utility" in bad.stderr
    assert summary(real["run"])[0]["passed"] is False


def test_disabled_attack_lets_none_escape(real):
    run = real["root"] / "escaped"
    shutil.copytree(real["run"], run)
    cfg = {**CONFIG, "attacks": {"checks": ["dictionary", "unicity", "utility"]}}  # no leak_scan
    (real["root"] / "noleak.yaml").write_text(yaml.safe_dump(cfg))
    cli("attack", "--run", str(run), "--chain", "none", "--config", str(real["root"] / "noleak.yaml"))
    proc = cli("check", "--run", str(run), "--thresholds", str(real["weak"]), check=False)
    assert proc.returncode == 1
    assert "BREACH control chain none escaped: check leak_scan did not run" in proc.stderr
    doc, md = summary(run)
    assert doc["chains"]["none"]["passed"] is False and "| `none` | control | ❌ escaped |" in md


def test_report_has_no_raw_value(real):
    cli("report", "--run", str(real["run"]))
    secrets = raw_identifiers(real["run"])
    assert len(secrets) > 100
    for name in ("index.html", "summary.md", "summary.json"):
        text = (real["run"] / "report" / name).read_text()
        assert not [v for v in secrets if v in text], name
    html = (real["run"] / "report" / "index.html").read_text()
    assert html.count("<svg") >= 1 + 2 + 4 + 1


def test_publish_real_chains(real):
    out = real["root"] / "bundle"
    cli("check", "--run", str(real["run"]), "--thresholds", str(real["weak"]))  # green, pseudonymize accepted
    refused = cli("publish", "--run", str(real["run"]), "--chain", "pseudonymize", "--to", str(out), check=False)
    assert refused.returncode == 1 and "REFUSED chain pseudonymize is listed as known weak" in refused.stderr
    assert not out.exists()
    cli("check", "--run", str(real["run"]), check=False)  # defaults: pseudonymize fails outright
    refused = cli("publish", "--run", str(real["run"]), "--chain", "pseudonymize", "--to", str(out), check=False)
    assert refused.returncode == 1 and "REFUSED threshold failed: chain pseudonymize" in refused.stderr
    assert not out.exists()
    leaking = cli("publish", "--run", str(real["run"]), "--chain", "none", "--to", str(out), check=False)
    assert leaking.returncode == 1 and "the leak scan found" in leaking.stderr and not out.exists()
    cli("publish", "--run", str(real["run"]), "--chain", "dp-aggregates", "--to", str(out))
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert {"DATASET_CARD.md", "SHA256SUMS"} <= files and any(f.startswith("data/orgs/") for f in files)
    assert not any(f.startswith(("raw/", "truth/")) for f in files)
    secrets = raw_identifiers(real["run"])
    for f in out.rglob("*.parquet"):
        df = pl.read_parquet(f)
        strings = {v for c in df.columns if df[c].dtype == pl.Utf8 for v in df[c].drop_nulls().to_list()}
        assert not strings & secrets, f


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs Debian's chromium: apt-get install -y chromium")
def test_real_report_in_the_browser(real, tmp_path):
    from test_report_browser import chromium, page_requests  # same folder: the browser helpers

    cli("report", "--run", str(real["run"]))
    dom, requests = chromium(tmp_path, (real["run"] / "report" / "index.html").as_uri(), "--dump-dom")
    assert page_requests(requests) == []
    assert dom.count("<svg") >= 8 and "<polyline" in dom
    assert not [v for v in raw_identifiers(real["run"]) if v in dom]
