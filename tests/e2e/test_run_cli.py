"""`anonbench run`: the whole loop on a small config; a bad chain fails before any data moves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runformat.manifest import unknown_sections
from tests.conftest import run_cli

pytestmark = pytest.mark.e2e


def test_bad_chain_fails_before_generation(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 1\nallow_ephemeral_key: true\ngenerate:\n  events: 1000\nchains: [none, nosuchchain]\n")
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "run"))
    assert r.returncode == 2 and "nosuchchain" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_missing_key_without_ephemeral_permission_is_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 1\ngenerate:\n  events: 1000\nchains: [pseudonymize]\n")
    r = run_cli("run", "--config", str(cfg), "--out", str(tmp_path / "run"), env={"ANONBENCH_KEY": ""})
    assert r.returncode == 2 and "ANONBENCH_KEY" in r.stderr
    assert not (tmp_path / "run").exists()


def test_small_run_end_to_end(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: small\nseed: 3\nallow_ephemeral_key: true\ngenerate:\n  events: 20000\n"
                   "  events_per_chunk: 10000\nchains: [none, naive-hash, dp-aggregates]\n")
    out = tmp_path / "run"
    r = run_cli("run", "--config", str(cfg), "--out", str(out), env={"ANONBENCH_KEY": ""})
    assert r.returncode in (0, 1), r.stderr
    assert "ephemeral" in r.stderr or "random key" in r.stderr
    man = json.loads((out / "manifest.json").read_text())
    assert set(man["chains"]) == {"none", "naive-hash", "dp-aggregates"}
    assert set(man["run"]["stages"]) >= {"generate", "validate", "attack none", "check + report"}
    assert unknown_sections(man) == []  # every section a real run writes is in runformat.manifest.SECTIONS
    stages = {p.stem for p in (out / "validation").glob("*.parquet")}
    assert stages == {"raw", "anon-none", "anon-naive-hash", "anon-dp-aggregates"} == set(man["validation"])
    summary = json.loads((out / "report" / "summary.json").read_text())
    assert set(summary["chains"]) == {"none", "naive-hash", "dp-aggregates"}
    assert summary["passed"] == (r.returncode == 0)
    assert (out / "report" / "index.html").is_file()
    for chain in ("none", "naive-hash"):
        assert summary["chains"][chain]["passed"] is True  # controls are caught


def test_the_key_never_reaches_a_file_a_log_or_the_report(tmp_path: Path) -> None:
    """The key given in ANONBENCH_KEY appears nowhere — raw, hex or base64 — in any file of a run (raw, anon,
    validation, risk, report, manifest), in what the commands print, or in a published bundle."""
    import base64

    key = "k3y-Never-Written-0123456789abcdefXYZ"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("name: keyscan\nseed: 4\ngenerate:\n  events: 20000\n  events_per_chunk: 10000\n"
                   "chains: [none, pseudonymize, generalize, dp-aggregates]\n")
    out = tmp_path / "run"
    env = {"ANONBENCH_KEY": key}
    results = [run_cli("run", "--config", str(cfg), "--out", str(out), env=env),
               run_cli("report", "--run", str(out), env=env),
               run_cli("verify", "--run", str(out), env=env),
               run_cli("publish", "--run", str(out), "--chain", "dp-aggregates", "--to", str(tmp_path / "pub"),
                       env=env)]
    assert results[0].returncode in (0, 1), results[0].stderr
    raw = key.encode()
    forms = [raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
             base64.b64encode(raw).rstrip(b"="), base64.urlsafe_b64encode(raw).rstrip(b"=")]
    files = [p for root in (out, tmp_path / "pub") if root.exists() for p in root.rglob("*") if p.is_file()]
    assert len(files) > 30
    for p in files:
        data = p.read_bytes()
        assert not any(f in data for f in forms), f"the key appears in {p.relative_to(tmp_path)}"
    for r in results:
        printed = (r.stdout + r.stderr).encode()
        assert not any(f in printed for f in forms), "the key appears in the output of a command"
