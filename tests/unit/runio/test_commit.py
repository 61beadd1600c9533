"""``pipelines.commit``: stage beside the run, swap in with one rename, manifest last; leftovers cleaned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines import commit, manifest
from pipelines.integrity import verify_run
from pipelines.runio import shard_name, write_parquet_atomic
from tests.unit.runio.rundata import events, make_run


class Killed(Exception):
    """Stands in for SIGKILL at a kill point (nothing after it runs; no cleanup is attempted here)."""


def _kill_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def hook(name: str) -> None:
        if name == point:
            raise Killed(name)
    monkeypatch.setattr(commit, "killpoint", hook)


def _stage_chain(area: Path, rows: int) -> None:
    write_parquet_atomic(events(rows), area / "anon" / "a" / "events" / shard_name(0))


def _replace_chain(run: Path, rows: int) -> dict:
    with commit.staging(run) as area:
        _stage_chain(area, rows)
        return commit.commit(run, lambda m: {**m, "chains": {"a": {"rows": rows}}}, staged=area,
                             replace=["anon/a"])


def _leftovers(run: Path) -> list[str]:
    return sorted(p.name for p in run.parent.iterdir() if p.name.startswith(f".{run.name}."))


def test_commit_replaces_the_chain_and_links_the_rest(tmp_path):
    run = make_run(tmp_path / "run")
    raw_inode = (run / "raw" / "events" / shard_name(0)).stat().st_ino
    man = _replace_chain(run, 7)
    assert man["chains"] == {"a": {"rows": 7}}
    anon = [f for f in man["files"] if f["path"].startswith("anon/a/")]
    assert [(f["path"], f["rows"]) for f in anon] == [("anon/a/events/part-00000.parquet", 7)]
    assert not (run / "anon" / "a" / "events" / shard_name(1)).exists()  # the old chain's shard went with it
    assert (run / "raw" / "events" / shard_name(0)).stat().st_ino == raw_inode  # hard link, no copy
    assert verify_run(run) == []
    assert _leftovers(run) == []


@pytest.mark.parametrize("point", ["commit-begin", "commit-built"])
def test_a_kill_before_the_swap_leaves_the_earlier_run_as_it_was(tmp_path, monkeypatch, point):
    run = make_run(tmp_path / "run")
    before = manifest.load(run)
    _kill_at(monkeypatch, point)
    with pytest.raises(Killed):
        _replace_chain(run, 7)
    assert manifest.load(run) == before and verify_run(run) == []
    monkeypatch.undo()
    assert _replace_chain(run, 9)["chains"] == {"a": {"rows": 9}}  # the rerun completes
    assert verify_run(run) == [] and _leftovers(run) == []


def test_a_kill_after_the_swap_leaves_the_new_run_and_an_old_copy_that_the_next_stage_removes(tmp_path,
                                                                                               monkeypatch):
    run = make_run(tmp_path / "run")
    _kill_at(monkeypatch, "commit-swapped")
    with pytest.raises(Killed):
        _replace_chain(run, 7)
    assert manifest.load(run)["chains"] == {"a": {"rows": 7}} and verify_run(run) == []
    assert len(_leftovers(run)) == 1  # the old version, beside the run
    commit.cleanup(run)
    assert _leftovers(run) == [] and verify_run(run) == []


def test_without_exchange_a_kill_between_the_two_renames_is_rolled_back(tmp_path, monkeypatch):
    run = make_run(tmp_path / "run")
    before = manifest.load(run)
    monkeypatch.setenv("ANONBENCH_NO_EXCHANGE", "1")
    _kill_at(monkeypatch, "commit-gap")
    with pytest.raises(Killed):
        _replace_chain(run, 7)
    assert not run.exists()  # between the renames: no run at all, never a half one
    commit.cleanup(run)
    assert manifest.load(run) == before and verify_run(run) == [] and _leftovers(run) == []
    monkeypatch.setattr(commit, "killpoint", lambda name: None)
    assert _replace_chain(run, 3)["chains"] == {"a": {"rows": 3}} and verify_run(run) == []


def test_cleanup_spares_the_staging_area_of_a_running_stage(tmp_path):
    run = make_run(tmp_path / "run")
    with commit.staging(run) as area:
        stale = commit._sibling(commit._resolved(run), "stage")
        stale.mkdir()
        (stale / "half.parquet").write_bytes(b"PAR1")
        removed = commit.cleanup(run)
        assert removed == [stale] and area.is_dir()
    assert not area.exists() and _leftovers(run) == []


def test_fresh_commit_replaces_a_whole_run_only_when_the_new_one_is_complete(tmp_path):
    run = make_run(tmp_path / "run")
    with commit.staging(run) as area:
        write_parquet_atomic(events(3), area / "raw" / "events" / shard_name(0))
        assert manifest.load(run)["name"] == "tiny"  # still the earlier run
        commit.commit(run, lambda _: {"name": "new", "files": manifest.list_files(area, "raw")}, staged=area,
                      fresh=True)
    assert manifest.load(run)["name"] == "new" and not (run / "anon").exists()
    assert verify_run(run) == [] and _leftovers(run) == []
    assert os.listdir(tmp_path) == ["run"]
