"""The validate pipeline on Beam: hand-made runs (fast) and one small generated run with the real anonymizers."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "unit" / "expectations"))
import gx_fakes as fakes

from anonbench.errors import CheckFailed, InputError, UsageError
from expectations.results import RESULT_SCHEMA
from pipelines import commit, manifest
from pipelines.validate import validate_run
from runformat.manifest import CHAINS, section

pytestmark = pytest.mark.pipeline
BROKEN_YAML = Path(__file__).resolve().parent.parent / "unit" / "expectations" / "chains" / "forgets-email.yaml"
BROKEN = yaml.safe_load(BROKEN_YAML.read_text())


def record_chain(run: Path, chain: dict, role: str = "candidate") -> None:
    """What `anonymize` records in the manifest, for a chain written by the toy interpreter."""
    schemas = {t.name: pq.read_schema(next(t.glob("part-*.parquet"))) for t in (run / "anon" / chain["name"]).iterdir()}
    steps = [{"use": s["use"], "columns": s["columns"], "with": s.get("with", {}),
              "flags": {"row_preserving": True}} for s in chain["steps"]]
    record = {"role": role, "steps": steps,
              "output_schemas": {t: [f"{f.name}: {f.type}" for f in s] for t, s in schemas.items()}}
    commit.commit(run, lambda m: {**m, CHAINS: {**section(m, CHAINS), chain["name"]: record}})


def identifiers(raw: dict) -> set[str]:
    """Every raw identifier value of a run: account ids, e-mails, IPs, session and event ids, org names."""
    values = set()
    for table, cols in {"users": ["account_id", "email", "display_name"],
                        "events": ["account_id", "actor_email", "client_ip", "session_id", "event_id"],
                        "orgs": ["name", "domain"]}.items():
        for c in cols:
            values.update(v for v in raw[table][c].to_pylist() if v)
    return values


def assert_no_raw_values(run: Path, values: set[str]) -> None:
    texts = []
    for f in (run / "validation").rglob("*"):
        if f.suffix == ".parquet":
            texts.append(str(pq.read_table(f).to_pylist()))
        elif f.is_file():
            texts.append(f.read_text())
    texts.append(str(manifest.load(run).get("validation")))
    blob = "\n".join(texts)
    leaked = [v for v in values if v in blob]
    assert not leaked, f"{len(leaked)} raw values in validation outputs"


@pytest.fixture
def fake_run(tmp_path):
    raw = fakes.make_run(tmp_path, shards=2)
    for chain in (fakes.GOOD_CHAIN, BROKEN):
        fakes.write_chain(tmp_path, chain, raw)
        record_chain(tmp_path, chain)
    fakes.write_chain(tmp_path, {"name": "none", "steps": []}, raw)
    record_chain(tmp_path, {"name": "none", "steps": []}, role="control")
    return tmp_path, raw


def test_stages_results_docs_and_manifest(fake_run):
    run, raw = fake_run
    result = validate_run(run, workers=1)
    stages = result["stages"]
    assert set(stages) == {"raw", "anon-good", "anon-forgets-email", "anon-none"}
    assert stages["raw"]["passed"] and stages["anon-good"]["passed"]
    assert not stages["anon-forgets-email"]["passed"]
    assert not stages["anon-none"]["passed"] and stages["anon-none"]["role"] == "control"  # caught
    assert result["passed"] is False  # the broken candidate
    for stage in stages:
        table = pq.read_table(run / "validation" / f"{stage}.parquet")
        assert table.schema == RESULT_SCHEMA and table.num_rows == stages[stage]["expectations"]
    events = pq.read_table(run / "validation" / "raw.parquet").to_pylist()
    unique = [r for r in events if r["table"] == "events" and r["expectation"] == "expect_column_values_to_be_unique"]
    assert unique[0]["shards"] == 2 and unique[0]["scope"] == "run" and unique[0]["success"]
    man = manifest.load(run)
    assert set(man["validation"]) == set(stages)
    assert any(f["path"] == "validation/docs/index.html" for f in man["files"])
    assert (run / "validation" / "docs" / "anon-forgets-email.html").is_file()
    assert_no_raw_values(run, identifiers(raw))


def test_a_full_validation_drops_results_of_chains_that_are_gone(fake_run):
    import shutil

    run, _ = fake_run
    validate_run(run, workers=1)
    shutil.rmtree(run / "anon" / "forgets-email")
    validate_run(run, workers=1)
    assert not (run / "validation" / "anon-forgets-email.parquet").exists()
    assert not (run / "validation" / "docs" / "anon-forgets-email.html").exists()
    man = manifest.load(run)
    assert "anon-forgets-email" not in man["validation"]
    assert not any("forgets-email" in f["path"] for f in man["files"] if f["path"].startswith("validation/"))


def test_one_chain_and_exit_codes(fake_run):
    from anonbench.commands.validate import main

    run, _ = fake_run
    assert main(run, chain="good") == 0
    assert not (run / "validation" / "raw.parquet").exists()
    with pytest.raises(CheckFailed, match="anon-forgets-email"):
        main(run, chain="forgets-email")
    with pytest.raises(CheckFailed, match="anon-forgets-email"):
        main(run, chain=str(BROKEN_YAML))  # the chain file works as well as its name
    assert main(run, chain="none") == 0  # a control that is caught is not a failure
    with pytest.raises(InputError, match="nope"):  # RunError, of the family that exits 2
        main(run, chain="nope")
    with pytest.raises(UsageError, match="no such run"):
        main(run / "missing")
    (run / "manifest.json").unlink()
    with pytest.raises(UsageError, match="manifest"):
        main(run)


def test_two_workers_give_the_same_results(fake_run):
    run, _ = fake_run
    validate_run(run, chain="good", workers=1)
    one = pq.read_table(run / "validation" / "anon-good.parquet").drop_columns(["seconds"])
    validate_run(run, chain="good", workers=2)
    two = pq.read_table(run / "validation" / "anon-good.parquet").drop_columns(["seconds"])
    assert one.equals(two)


def test_generated_run_with_real_anonymizers(tmp_path, monkeypatch):
    """Done-when 4 of issue 5 on a generated run: no raw identifier in results or Data Docs, and a chain that
    forgets to pseudonymize e-mails fails its contract."""
    from anonbench.commands.anonymize import run_chain
    from anonbench.commands.generate import generate
    from anonbench.commands.validate import main
    from anonbench.config import load_run_config
    from pipelines.runio import read_table

    monkeypatch.setenv("ANONBENCH_KEY", "k" * 32)
    cfg = load_run_config("configs/ci.yaml", {"generate.events": 6000, "generate.events_per_chunk": 3000})
    run = tmp_path / "run"
    generate(cfg, run, None, [], overwrite=False, quiet=True)
    for chain in ("generalize", "none", str(BROKEN_YAML)):
        run_chain(run, chain)
    with pytest.raises(CheckFailed, match="forgets-email"):
        main(run)
    stages = manifest.load(run)["validation"]
    assert stages["raw"]["passed"] and stages["anon-generalize"]["passed"]
    assert stages["anon-forgets-email"]["failures"] == [
        "events: expect_column_values_to_not_be_email_addresses(actor_email)",
        "users: expect_column_values_to_not_be_email_addresses(email)"]
    raw = {t: read_table(run / "raw" / t) for t in ("users", "events", "orgs")}
    assert_no_raw_values(run, identifiers(raw))
