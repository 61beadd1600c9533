"""anonbench.report.results: reading a run, chain roles, stage names, secret redaction."""

from __future__ import annotations

import json

import pytest

from anonbench.errors import InputError, UsageError
from anonbench.report.results import chain_info, load_run, redact, step_text


@pytest.mark.parametrize(("value", "key", "expected"), [
    ("env:ANONBENCH_KEY", "key", "(secret, not included)"),
    ("file:/etc/k", "whatever", "(secret, not included)"),
    ("hunter2", "salt", "(secret, not included)"),
    (24, "ipv4_prefix", 24),
    ("1h", "every", "1h"),
    ({"with": {"key": "abc", "k": 5}}, "", {"with": {"key": "(secret, not included)", "k": 5}}),
])
def test_redact(value, key, expected):
    assert redact(value, key) == expected


@pytest.mark.parametrize(("manifest", "name", "role"), [
    ({"chains": {"x": {"role": "control", "steps": []}}}, "x", "control"),
    ({"chains": {"none": {"role": "candidate", "steps": []}}}, "none", "candidate"),  # the record, not the name
])
def test_chain_role(manifest, name, role):
    assert chain_info(name, manifest).role == role


@pytest.mark.parametrize("manifest", [
    {},                                                        # no record: the report does not guess a role
    {"anon": {"x": {"role": "control", "steps": []}}},         # another key than chains
    {"chains": {"x": {"chain": {"role": "control"}}}},         # a nested record
    {"chains": {"x": {"role": "adversary", "steps": []}}},     # an unknown role
])
def test_chain_without_a_valid_record_is_an_error(manifest):
    with pytest.raises(UsageError, match=r"chains\.x"):
        chain_info("x", manifest)


def test_validation_stage_must_match_its_file(run_dir):
    import pyarrow.parquet as pq

    f = run_dir / "validation" / "anon-generalize.parquet"
    t = pq.read_table(f)
    pq.write_table(t.set_column(0, "stage", [["anon/generalize"] * t.num_rows]), f)
    with pytest.raises(UsageError, match=r"anon-generalize\.parquet"):
        load_run(run_dir)
    f.rename(run_dir / "validation" / "generalize.parquet")
    with pytest.raises(UsageError, match=r"generalize\.parquet: validation stage"):
        load_run(run_dir)


def test_load_run(run_dir):
    data = load_run(run_dir)
    assert [c.name for c in data.chains] == ["generalize", "naive-hash", "none"]  # candidates first
    assert set(data.risk["chain"].unique()) == {"generalize", "none", "naive-hash"}
    assert data.validation_of(None).height == 4
    assert data.validation_of("generalize").height == 4
    steps = json.dumps(data.chain("generalize").steps)
    assert "env:" not in steps and "(secret, not included)" in steps


@pytest.mark.parametrize("breakage", ["no_dir", "no_manifest", "bad_json"])
def test_incomplete_runs_are_usage_errors(run_dir, tmp_path, breakage):
    if breakage == "no_dir":
        target = tmp_path / "nothing"
    else:
        target = run_dir
        if breakage == "no_manifest":
            (run_dir / "manifest.json").unlink()
        else:
            (run_dir / "manifest.json").write_text("{")
    with pytest.raises(InputError, match=str(target)):  # the family that exits 2
        load_run(target)


def test_unknown_chain_is_named(run_dir):
    with pytest.raises(UsageError, match="no chain named 'nope'"):
        load_run(run_dir).chain("nope")


def test_step_text():
    step = {"use": "generalize.ip_prefix", "columns": {"events": ["client_ip"]}, "with": {"ipv4_prefix": 24},
            "flags": {"deterministic": True}, "index": 1}
    assert step_text(step) == "generalize.ip_prefix — events: client_ip — ipv4_prefix=24"
    assert step_text({"use": "drop"}) == "drop"
