"""The Beam anonymize pipeline on a tiny hand-made run: same result as the local loop, same shard numbers,
manifest section, key never written."""

from __future__ import annotations

import base64
import json
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "anonymizers"))

from anon_testdata import KEY, make_tables

from anonymizers.chain import ChainError, resolve_chain
from anonymizers.local import run_chain
from pipelines import manifest
from pipelines.anonymize import RunError, anonymize_run
from pipelines.runio import read_table, shard_name, write_parquet_atomic

pytestmark = pytest.mark.pipeline
SHARDS = {"orgs": [0, 1], "users": [0, 1], "events": [0, 1, 2], "config_changes": [0, 1]}


def make_run(root: Path) -> tuple[Path, dict[str, list[pa.Table]]]:
    tabs = make_tables(60, 1500)
    parts: dict[str, list[pa.Table]] = {}
    for name, t in tabs.items():
        n = len(SHARDS[name])
        size = -(-t.num_rows // n)
        parts[name] = [t.slice(i * size, size) for i in range(n)]
        for i, p in zip(SHARDS[name], parts[name], strict=True):
            write_parquet_atomic(p, root / "raw" / name / shard_name(i))
    manifest.write(root, {"name": "tiny", "files": manifest.list_files(root, "raw")})
    return root, parts


@pytest.fixture(scope="module")
def run(tmp_path_factory, ) -> tuple[Path, dict[str, list[pa.Table]]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("ANONBENCH_KEY", KEY)
    root, parts = make_run(tmp_path_factory.mktemp("anonrun") / "run")
    for chain in ("generalize", "kanon", "dp-aggregates"):
        anonymize_run(root, chain)
    yield root, parts
    mp.undo()


@pytest.mark.parametrize("chain", ["generalize", "kanon"])
def test_same_as_local_loop_with_same_shards(run, chain) -> None:
    root, parts = run
    local = run_chain(resolve_chain(chain), parts)
    for table, expected in local.tables.items():
        folder = root / "anon" / chain / table
        assert sorted(p.name for p in folder.glob("part-*.parquet")) == [shard_name(i) for i in SHARDS[table]]
        assert read_table(folder).equals(expected), table


def test_manifest_section(run) -> None:
    root, _ = run
    man = manifest.load(root)
    sec = man["chains"]["generalize"]
    assert sec["role"] == "candidate"
    assert sec["tables"]["events"] == {"rows_in": 1500, "rows_out": 1500, "dropped_by_step": {}}
    assert sec["steps"][0]["with"]["key"] == "env:ANONBENCH_KEY"
    assert "suppressed_distinct_values" in sec["steps"][6]["report"]
    files = {f["path"] for f in man["files"]}
    assert f"anon/generalize/events/{shard_name(2)}" in files
    assert not any(".tmp-" in p for p in files)
    kanon = man["chains"]["kanon"]
    assert kanon["steps"][-1]["report"]["users"]["min_class"] >= 10
    dp = man["chains"]["dp-aggregates"]
    assert dp["steps"][1]["report"]["budget"]["epsilon"] == 1.0
    assert dp["tables"]["users"]["dropped_by_step"] == {"steps[2] (drop)": 60}
    assert dp["tables"]["event_counts"]["rows_out"] == pq.ParquetFile(
        root / "anon" / "dp-aggregates" / "event_counts" / shard_name(0)).metadata.num_rows


def test_kanon_output_k_anonymous(run) -> None:
    root, _ = run
    users = read_table(root / "anon" / "kanon" / "users")
    qis = ["account_type", "role", "locale", "timezone", "country", "created_at"]
    assert min(Counter(zip(*(users.column(c).to_pylist() for c in qis), strict=True)).values()) >= 10


def test_dp_chain_layout(run) -> None:
    root, _ = run
    assert sorted(p.name for p in (root / "anon" / "dp-aggregates").iterdir()) == ["event_counts", "orgs"]


def test_key_never_written(run) -> None:
    root, _ = run
    k = KEY.encode()
    needles = [k, k.hex().encode(), base64.b64encode(k), base64.urlsafe_b64encode(k)]
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            assert not any(n in data for n in needles), p
    assert not list(root.rglob(".tmp-*"))


def test_missing_key_fails_before_data_moves(run, monkeypatch) -> None:
    root, _ = run
    monkeypatch.delenv("ANONBENCH_KEY", raising=False)
    before = json.loads((root / "manifest.json").read_text())
    with pytest.raises(ChainError, match="ANONBENCH_KEY"):
        anonymize_run(root, "pseudonymize")
    assert not (root / "anon" / "pseudonymize").exists()
    assert json.loads((root / "manifest.json").read_text()) == before


def test_ephemeral_key(run, monkeypatch) -> None:
    root, _ = run
    monkeypatch.delenv("ANONBENCH_KEY", raising=False)
    sec = anonymize_run(root, "pseudonymize", ephemeral_key=b"e" * 32)
    assert sec["ephemeral_key"] == ["env:ANONBENCH_KEY"]
    assert read_table(root / "anon" / "pseudonymize" / "users").num_rows == 60


def test_not_a_run(tmp_path) -> None:
    with pytest.raises(RunError, match="no manifest"):
        anonymize_run(tmp_path, "none")


def test_two_workers_give_the_same_bytes(run, tmp_path, monkeypatch) -> None:
    """Worker processes get the chain (and its key) by pickling in memory; the output does not change."""
    root, _ = run
    monkeypatch.setenv("ANONBENCH_KEY", KEY)
    before = {p.relative_to(root): p.read_bytes() for p in (root / "anon" / "kanon").rglob("*.parquet")}
    anonymize_run(root, "kanon", workers=2)
    after = {p.relative_to(root): p.read_bytes() for p in (root / "anon" / "kanon").rglob("*.parquet")}
    assert before == after
