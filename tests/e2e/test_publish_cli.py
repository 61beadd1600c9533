"""`anonbench publish` end to end: a bundle without raw or truth data, with a card; refusals leave nothing."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from fixtures_run import make_run, raw_identifiers

from anonbench.cli import app
from anonbench.commands import publish as publish_cmd

pytestmark = pytest.mark.e2e


def publish(run: Path, chain: str, to: Path):
    return CliRunner().invoke(app, ["publish", "--run", str(run), "--chain", chain, "--to", str(to)])


def _strings_in_parquet(path: Path) -> set[str]:
    table = pq.read_table(path)
    return {str(v) for col in table.columns for v in col.to_pylist() if v is not None}


def test_bundle(tmp_path):
    run = make_run(tmp_path / "run")
    out = tmp_path / "pub" / "bundle"
    res = publish(run, "generalize", out)
    assert res.exit_code == 0, res.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == ["DATASET_CARD.md", "SHA256SUMS", "data/events/part-00000.parquet",
                     "risk/dictionary.parquet", "risk/leak_scan.parquet", "risk/quasi_identifiers.parquet",
                     "risk/unicity.parquet", "risk/utility.parquet", "validation/validation.parquet"]
    assert not any(f.startswith(("raw/", "truth/")) or "/raw/" in f or "truth" in f for f in files)
    sums = dict(reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines())
    assert set(sums) == set(files) - {"SHA256SUMS"}
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    raw = set(raw_identifiers())
    for f in out.rglob("*.parquet"):
        assert not (_strings_in_parquet(f) & raw), f
    card = (out / "DATASET_CARD.md").read_text()
    assert "Datasheets for Datasets" in card and not [v for v in raw if v in card]
    assert pq.read_table(out / "data/events/part-00000.parquet").num_rows == 2400
    assert [p.name for p in out.parent.iterdir()] == ["bundle"]  # no temp folder left behind


@pytest.mark.parametrize(("chain", "kwargs", "why"), [
    ("generalize", {"override": {("generalize", "leak_scan", "leaked_values"): 3}},
     "chain generalize: the leak scan found 3 raw identifier value(s)"),
    ("generalize", {"drop_checks": {"generalize": ("leak_scan",)}}, "chain generalize: the leak scan did not run"),
    ("generalize", {"override": {("generalize", "quasi_identifiers", "k"): 2}},
     "threshold failed: chain generalize: check quasi_identifiers, metric k = 2, threshold >= 5"),
    ("none", {}, "chain none is a control chain"),
    ("generalize", {"override": {("generalize", "unicity", "reidentified_share"): 0.5},
                    "config_thresholds": {"known_weak": {"generalize": "a baseline"}}},
     "chain generalize is listed as known weak (a baseline)"),
])
def test_refusals_leave_nothing(tmp_path, chain, kwargs, why):
    run = make_run(tmp_path / "run", **kwargs)
    out = tmp_path / "pub" / "bundle"
    res = publish(run, chain, out)
    assert res.exit_code == 1
    assert f"REFUSED {why}" in res.stderr
    assert not out.exists()
    assert not (tmp_path / "pub").exists() or list((tmp_path / "pub").iterdir()) == []


def test_crash_leaves_nothing(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    out = tmp_path / "pub" / "bundle"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(publish_cmd, "render_card", boom)
    with pytest.raises(OSError):
        publish_cmd.publish(run, "generalize", out)
    assert not out.exists() and list((tmp_path / "pub").iterdir()) == []


@pytest.mark.parametrize(("setup", "message"), [
    ("nonempty", "already exists and is not an empty folder"),
    ("inside", "may not be written inside the run directory"),
    ("nochain", "no chain named 'nope'"),
])
def test_usage_errors(tmp_path, setup, message):
    run = make_run(tmp_path / "run")
    out, chain = tmp_path / "bundle", "generalize"
    if setup == "nonempty":
        out.mkdir()
        (out / "x").write_text("x")
    elif setup == "inside":
        out = run / "bundle"
    else:
        chain = "nope"
    res = publish(run, chain, out)
    assert res.exit_code == 2 and message in res.stderr
