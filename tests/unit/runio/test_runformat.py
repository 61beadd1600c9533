"""runformat: the run-directory layout and the manifest's sections, as DESIGN.md spells them."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from fixtures_run import make_run

from runformat import layout
from runformat import manifest as keys
from runformat.layout import RunDir


def test_paths_are_the_design_layout(tmp_path):
    rd = RunDir(tmp_path)
    rel = {name: p.relative_to(tmp_path).as_posix() for name, p in {
        "manifest": rd.manifest, "raw": rd.raw("events"), "truth": rd.truth_accounts,
        "control": rd.control("events"), "control_accounts": rd.control_accounts,
        "anon": rd.anon("generalize", "events"), "validation": rd.validation("anon-generalize"),
        "docs": rd.docs, "risk": rd.risk("generalize", "unicity"), "report": rd.report("summary.json"),
    }.items()}
    assert rel == {"manifest": "manifest.json", "raw": "raw/events", "truth": "truth/accounts.parquet",
                   "control": "truth/control/events", "control_accounts": "truth/control/accounts.parquet",
                   "anon": "anon/generalize/events", "validation": "validation/anon-generalize.parquet",
                   "docs": "validation/docs", "risk": "risk/generalize/unicity.parquet",
                   "report": "report/summary.json"}
    assert {"manifest.json", "raw", "truth", "anon", "risk", "validation", "report"} == layout.ENTRIES


@pytest.mark.parametrize(("stage", "chain"), [("raw", None), ("anon-generalize", "generalize"),
                                              ("anon-anon-x", "anon-x")])
def test_stage_names_round_trip(stage, chain):
    assert layout.stage_chain(stage) == chain
    if chain is not None:
        assert layout.stage_name(chain) == stage


@pytest.mark.parametrize("stage", ["anon/generalize", "anon.kanon", "generalize", "anon-", "dp-aggregates"])
def test_other_stage_names_are_refused(stage):
    with pytest.raises(ValueError, match="validation stage"):
        layout.stage_chain(stage)


def test_shards_and_temporary_names(tmp_path):
    for name in (layout.shard_name(1), layout.shard_name(0), f"{layout.TMP_PREFIX}{layout.shard_name(2)}.7",
                 "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in layout.shards(tmp_path)] == ["part-00000.parquet", "part-00001.parquet"]
    assert layout.shard_chunk(tmp_path / "part-00042.parquet") == 42
    with pytest.raises(ValueError):
        layout.shard_chunk("part-x.parquet")
    assert layout.shards(tmp_path / "missing") == []


@pytest.mark.parametrize("kind", layout.SIBLING_KINDS)
def test_sibling_names(kind):
    name = layout.sibling_name("my.run", kind, "0123456789ab")
    assert name == f".my.run.{kind}-0123456789ab"
    assert layout.sibling_kind("my.run", name) == kind
    assert layout.sibling_kind("run", name) is None           # the sibling of another run
    assert layout.sibling_kind("my.run", name + "x") is None
    with pytest.raises(ValueError):
        layout.sibling_name("r", "junk", "0123456789ab")


def test_fixture_manifest_uses_only_known_sections(tmp_path):
    run = make_run(tmp_path / "run")
    man = keys.load(run)
    assert keys.unknown_sections(man) == []
    assert keys.chain_record(man, "generalize")["role"] == "candidate"
    assert keys.chain_steps(man, "missing") == []


def test_load_refuses_what_is_not_a_manifest(tmp_path):
    with pytest.raises(FileNotFoundError):
        keys.load(tmp_path)
    (tmp_path / layout.MANIFEST).write_text(json.dumps([1, 2]))
    with pytest.raises(keys.RunError, match="not a JSON object"):
        keys.load(tmp_path)
    (tmp_path / layout.MANIFEST).write_text(json.dumps({"files": [{"no": "path"}]}))
    with pytest.raises(keys.RunError, match="files"):
        keys.load(Path(tmp_path))
