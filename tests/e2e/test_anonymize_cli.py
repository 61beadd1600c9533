"""`anonbench anonymize` and `anonbench anonymizers` end to end: every chain on a generated run, the key in
no file or message (raw, hex, base64), missing and inline keys refused with exit 2, a third-party plugin
installed with pip and used by name, a broken plugin named with exit 2."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import manifest
from pipelines.runio import read_table

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "anonbench"
KEY = "e2e-Secret-Key-7c1d9f0a2b4e6d8f"
CHAINS = ["none", "naive-hash", "pseudonymize", "generalize", "kanon", "dp-aggregates"]
ROW_PRESERVING = ["none", "naive-hash", "pseudonymize", "generalize"]
BUILTINS = ["drop", "pseudonymize.hmac", "hash.sha256", "tokenize.random", "generalize.ip_prefix",
            "generalize.time_bucket", "generalize.user_agent", "generalize.numeric_bins", "perturb.date_shift",
            "perturb.time_jitter", "suppress.rare", "kanon.mondrian", "sample.persons", "dp.aggregate"]
OUTPUTS: list[str] = []


def cli(*args: str, key: str | None = KEY, pythonpath: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ANONBENCH_KEY", "PYTHONPATH")}
    env["GX_ANALYTICS_ENABLED"] = "False"
    if key is not None:
        env["ANONBENCH_KEY"] = key
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    res = subprocess.run([str(BIN), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    OUTPUTS.append(res.stdout + res.stderr)
    return res


def needles(key: str = KEY) -> list[bytes]:
    k = key.encode()
    return [k, k.hex().encode(), k.hex().upper().encode(), base64.b64encode(k), base64.urlsafe_b64encode(k),
            base64.b64encode(k).rstrip(b"=")]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("anon-e2e")
    cfg = root / "tiny.yaml"
    cfg.write_text(yaml.safe_dump({"name": "tiny", "seed": 11, "generate": {
        "events": 12000, "days": 7, "events_per_chunk": 4000}}))
    res = cli("generate", "--config", str(cfg), "--out", str(root / "run"))
    assert res.returncode == 0, res.stderr
    for chain in CHAINS:
        res = cli("anonymize", "--run", str(root / "run"), "--chain", chain)
        assert res.returncode == 0, res.stderr
    return root / "run"


@pytest.mark.parametrize("chain", CHAINS)
def test_every_chain_written_and_in_manifest(run: Path, chain: str) -> None:
    sec = manifest.load(run)["chains"][chain]
    assert (run / "anon" / chain).is_dir()
    for table, st in sec["tables"].items():
        if st["rows_in"] is not None:
            assert st["rows_out"] + sum(st["dropped_by_step"].values()) == st["rows_in"]
        assert sum(pq.ParquetFile(p).metadata.num_rows
                   for p in (run / "anon" / chain / table).glob("part-*.parquet")) == st["rows_out"]


@pytest.mark.parametrize("chain", ROW_PRESERVING)
def test_row_preserving_chains_keep_rows_and_null_counts(run: Path, chain: str) -> None:
    for table_dir in sorted((run / "raw").iterdir()):
        raw = read_table(table_dir)
        anon = read_table(run / "anon" / chain / table_dir.name)
        assert anon.num_rows == raw.num_rows
        assert sorted(p.name for p in (run / "anon" / chain / table_dir.name).glob("part-*")) == \
            sorted(p.name for p in table_dir.glob("part-*"))
        for c in anon.column_names:
            assert anon.column(c).null_count == raw.column(c).null_count, (table_dir.name, c)


def test_kanon_users_k_anonymous_on_generated_data(run: Path) -> None:
    """Independent check on the generator's users: every quasi-identifier tuple is held by >= k rows."""
    from collections import Counter

    step = manifest.load(run)["chains"]["kanon"]["steps"][-1]
    qis, k = step["columns"]["users"], step["with"]["k"]
    users = read_table(run / "anon" / "kanon" / "users")
    assert users.num_rows > 0
    assert min(Counter(zip(*(users.column(c).to_pylist() for c in qis), strict=True)).values()) >= k
    raw = read_table(run / "raw" / "users")
    assert min(Counter(zip(*(raw.column(c).to_pylist() for c in qis), strict=True)).values()) < k


def test_key_never_in_any_file_or_output(run: Path) -> None:
    ns = needles()
    for p in run.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert not any(n in data for n in ns), p
    text = "\n".join(OUTPUTS).encode()
    assert OUTPUTS and not any(n in text for n in ns)


def test_missing_key_is_exit_2(run: Path) -> None:
    res = cli("anonymize", "--run", str(run), "--chain", "pseudonymize", key=None)
    assert res.returncode == 2
    assert "env:ANONBENCH_KEY" in res.stderr and "steps[0] (pseudonymize.hmac)" in res.stderr
    assert "Traceback" not in res.stderr


def test_inline_key_is_refused(run: Path, tmp_path: Path) -> None:
    chain = tmp_path / "inline.yaml"
    chain.write_text(yaml.safe_dump({"name": "inline", "steps": [
        {"use": "pseudonymize.hmac", "columns": {"users": ["email"]}, "with": {"key": KEY}}]}))
    res = cli("anonymize", "--run", str(run), "--chain", str(chain))
    assert res.returncode == 2 and "inline key is refused" in res.stderr
    assert not any(n.decode() in res.stdout + res.stderr for n in needles())
    assert not (run / "anon" / "inline").exists()


def test_unknown_column_is_exit_2(run: Path, tmp_path: Path) -> None:
    chain = tmp_path / "bad.yaml"
    chain.write_text(yaml.safe_dump({"name": "bad", "steps": [{"use": "drop", "columns": {"events": ["nope"]}}]}))
    res = cli("anonymize", "--run", str(run), "--chain", str(chain))
    assert res.returncode == 2 and str(chain) in res.stderr and "'nope'" in res.stderr


def test_anonymizers_lists_builtins() -> None:
    res = cli("anonymizers")
    assert res.returncode == 0, res.stderr
    for name in BUILTINS:
        assert name in res.stdout


def _pip_target(plugin: str, target: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--no-index", "--target", str(target), str(REPO / "tests" / "plugins" / plugin)],
                   check=True, capture_output=True, timeout=300)
    return target


def test_third_party_plugin_usable_by_name(run: Path, tmp_path: Path) -> None:
    site = _pip_target("anonbench-example-plugin", tmp_path / "site")
    listing = cli("anonymizers", pythonpath=str(site))
    assert listing.returncode == 0 and "example.mask" in listing.stdout
    assert "anonbench-example-plugin" in listing.stdout
    chain = tmp_path / "masked.yaml"
    chain.write_text(yaml.safe_dump({"name": "masked", "steps": [
        {"use": "example.mask", "columns": {"users": ["email", "display_name"]}, "with": {"keep": 3}}]}))
    res = cli("anonymize", "--run", str(run), "--chain", str(chain), pythonpath=str(site))
    assert res.returncode == 0, res.stderr
    raw = read_table(run / "raw" / "users").column("email").to_pylist()
    out = read_table(run / "anon" / "masked" / "users").column("email").to_pylist()
    assert out == [f"***{e[-3:]}" for e in raw]
    assert manifest.load(run)["chains"]["masked"]["steps"][0]["use"] == "example.mask"
    # without the plugin on the path, the same chain is an unknown anonymizer
    res = cli("anonymize", "--run", str(run), "--chain", str(chain))
    assert res.returncode == 2 and "unknown anonymizer 'example.mask'" in res.stderr


def test_broken_plugin_is_named_and_exit_2(run: Path, tmp_path: Path) -> None:
    site = _pip_target("anonbench-broken-plugin", tmp_path / "site")
    chain = tmp_path / "broken.yaml"
    chain.write_text(yaml.safe_dump({"name": "broken", "steps": [
        {"use": "broken.thing", "columns": {"users": ["email"]}}]}))
    res = cli("anonymize", "--run", str(run), "--chain", str(chain), pythonpath=str(site))
    assert res.returncode == 2
    assert "anonbench-broken-plugin" in res.stderr and "failed to import" in res.stderr
    assert "Traceback" not in res.stderr
    listing = cli("anonymizers", pythonpath=str(site))
    assert listing.returncode == 2 and "anonbench-broken-plugin" in listing.stderr
    assert "pseudonymize.hmac" in listing.stdout  # the rest is still listed
    # a chain that does not use the broken plugin still runs
    assert cli("anonymize", "--run", str(run), "--chain", "none", pythonpath=str(site)).returncode == 0
