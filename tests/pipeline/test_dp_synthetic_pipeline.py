"""dp-synthetic through the Beam pipeline on a tiny hand-made run: layout, schemas, manifest, no raw ids."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "anonymizers"))

from anon_testdata import make_tables

from anonymizers.chain import CHAIN_DIR, resolve_chain
from pipelines import manifest
from pipelines.anonymize import anonymize_run
from pipelines.runio import read_table, shard_name, write_parquet_atomic

pytestmark = pytest.mark.pipeline


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    root = tmp_path_factory.mktemp("dpsynth") / "run"
    tabs = make_tables(90, 3000)
    for name, t in tabs.items():
        half = -(-t.num_rows // 2)
        for i in range(2):
            write_parquet_atomic(t.slice(i * half, half), root / "raw" / name / shard_name(i))
    manifest.write(root, {"name": "tiny", "files": manifest.list_files(root, "raw")})
    # epsilon 8 so that 90 accounts leave some signal; otherwise the shipped chain
    chain = root.parent / "dp-synthetic-eps8.yaml"
    chain.write_text((CHAIN_DIR / "dp-synthetic.yaml").read_text().replace("name: dp-synthetic", "name: dps8")
                     .replace("epsilon: 1.0", "epsilon: 8.0"))
    anonymize_run(root, chain)
    return root, chain, tabs


def test_layout_schemas_and_manifest(run) -> None:
    root, chain, _ = run
    out = root / "anon" / "dps8"
    assert sorted(p.name for p in out.iterdir()) == ["events", "orgs", "users"]  # no config_changes
    resolved = resolve_chain(chain)
    sec = manifest.load(root)["chains"]["dps8"]
    step = sec["steps"][0]
    assert step["flags"]["differentially_private"] and step["flags"]["synthetic"]
    budget = step["report"]["budget"]
    assert (budget["epsilon"], budget["delta"], budget["privacy_unit"], budget["accounting"]) == \
        (8.0, 1e-6, "account_id", "zCDP")
    for t in ("orgs", "users", "events"):
        parts = sorted((out / t).glob("part-*.parquet"))
        assert parts and pq.read_schema(parts[0]) == resolved.output_schemas[t]
        rows = sum(pq.ParquetFile(p).metadata.num_rows for p in parts)
        assert sec["tables"][t]["rows_out"] == rows == step["report"]["rows_released"][t]
    assert sec["tables"]["events"]["rows_in"] == 3000
    assert sec["tables"]["events"]["rows_out"] > 0


def test_no_raw_identifier_in_the_release(run) -> None:
    root, _, tabs = run
    raw = set()
    for t, cols in {"orgs": ["org_id", "name", "domain"], "users": ["account_id", "email", "display_name"],
                    "events": ["event_id", "session_id", "object_id", "container_id", "client_ip"]}.items():
        for c in cols:
            raw |= {v for v in tabs[t][c].to_pylist() if v}
    for t in ("orgs", "users", "events"):
        rel = read_table(root / "anon" / "dps8" / t)
        for c in rel.column_names:
            if str(rel.schema.field(c).type) == "string":
                assert not {v for v in rel[c].to_pylist() if v} & raw, f"{t}.{c}"
