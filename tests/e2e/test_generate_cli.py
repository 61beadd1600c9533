"""Bad input and faults of `anonbench generate`: exit 2, one line naming the problem, nothing half-written."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ANONBENCH, REPO, run_cli, write_config

pytestmark = pytest.mark.e2e


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("anonbench: error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


@pytest.mark.parametrize(("body", "needle"), [
    ("seed: 1\ngenerate:\n  events: 1000\n  colour: blue\n", "generate.colour"),
    ("seed: 1\ngenerate:\n  events: -5\n", "generate.events"),
    ("seed: 1\ngenerate:\n  plan_mix: {gold: 1.0}\n", "generate.plan_mix"),
    ("seed: 1\nunknown_section: 3\n", "unknown_section"),
    ("seed: [1\n", "not valid YAML"),
])
def test_bad_config_names_file_and_key(tmp_path: Path, body: str, needle: str) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(body)
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(tmp_path / "run")))
    assert str(cfg) in line and needle in line
    assert not (tmp_path / "run").exists()


def test_missing_config(tmp_path: Path) -> None:
    line = one_line_error(run_cli("generate", "--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r")))
    assert "nope.yaml" in line


@pytest.mark.parametrize("events", ["0", "-3"])
def test_non_positive_events(tmp_path: Path, events: str) -> None:
    cfg = write_config(tmp_path / "c.yaml")
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(tmp_path / "r"), "--events", events))
    assert "--events" in line


def test_existing_complete_run_needs_overwrite(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", events=5_000, chunk=5_000)
    out = tmp_path / "run"
    assert run_cli("generate", "--config", str(cfg), "--out", str(out)).returncode == 0
    before = (out / "manifest.json").read_bytes()
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(out)))
    assert "--overwrite" in line
    assert (out / "manifest.json").read_bytes() == before
    r = run_cli("generate", "--config", str(cfg), "--out", str(out), "--overwrite", "--seed", "9")
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").read_bytes() != before


def test_foreign_folder_is_refused(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", events=5_000, chunk=5_000)
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(out), "--overwrite"))
    assert "thesis.tex" in line and (out / "thesis.tex").read_text() == "precious"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; checked through a file in the way")
def test_unwritable_folder(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(ro / "run")))
    assert "cannot write" in line


def test_output_path_blocked_by_a_file(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(blocker / "run")))
    assert "cannot write" in line or "not a directory" in line


def test_killed_run_leaves_no_manifest(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.yaml", events=400_000, chunk=20_000)
    out = tmp_path / "run"
    proc = subprocess.Popen([*ANONBENCH, "generate", "--config", str(cfg), "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    staged = f".{out.name}.stage-*/raw/events/part-*.parquet"  # the run is built beside `out` (pipelines.commit)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(staged)):
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.glob(staged)), "the run was killed before it wrote anything"
    assert not (out / "manifest.json").exists() and not (out / "raw").exists()
    # ...and the next attempt (without --overwrite: the folder is incomplete, not a complete run) completes.
    r = run_cli("generate", "--config", str(cfg), "--out", str(out), "--events", "20000")
    assert r.returncode == 0, r.stderr
    assert (out / "manifest.json").exists()
    assert not list(out.rglob(".tmp-*"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the killed attempt's leftovers


def test_bad_thresholds_section_is_refused_before_any_work(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("seed: 1\ngenerate:\n  events: 1000\nthresholds:\n  unicity.reidentified_share: {maxx: 3}\n")
    line = one_line_error(run_cli("generate", "--config", str(cfg), "--out", str(tmp_path / "run")))
    assert str(cfg) in line and "maxx" in line
    assert not (tmp_path / "run").exists()
