"""The `make mutants` runner's bookkeeping: run copies, batches, the score."""

from __future__ import annotations

from pathlib import Path

from benchmarks.mutants.corpus import CORPUS
from benchmarks.mutants.runner import Prepared, batches, copy_run, score


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_run_copy_links_inputs_copies_what_may_change_and_leaves_out_the_mutated_chain(tmp_path: Path) -> None:
    base = tmp_path / "baseline"
    raw = _touch(base / "raw" / "events" / "part-00000.parquet")
    other = _touch(base / "anon" / "generalize" / "events" / "part-00000.parquet")
    _touch(base / "anon" / "kanon" / "events" / "part-00000.parquet")
    _touch(base / "risk" / "kanon" / "unicity.parquet")
    _touch(base / "risk" / "generalize" / "unicity.parquet")
    _touch(base / "validation" / "raw.parquet")
    _touch(base / "validation" / "anon-kanon.parquet")
    _touch(base / "report" / "summary.json")
    manifest = _touch(base / "manifest.json", "{}")
    dest = tmp_path / "copy"
    copy_run(base, dest, ("kanon",))
    assert (dest / "raw" / "events" / "part-00000.parquet").stat().st_ino == raw.stat().st_ino
    assert (dest / "anon" / "generalize" / "events" / "part-00000.parquet").stat().st_ino == other.stat().st_ino
    assert not (dest / "anon" / "kanon").exists() and not (dest / "risk" / "kanon").exists()
    assert (dest / "risk" / "generalize" / "unicity.parquet").is_file()
    assert (dest / "validation" / "raw.parquet").is_file() and not (dest / "validation" / "anon-kanon.parquet").exists()
    assert not (dest / "report").exists()
    assert (dest / "manifest.json").stat().st_ino != manifest.stat().st_ino   # rewritten by the commands: a copy
    assert (base / "anon" / "kanon").is_dir() and (base / "report" / "summary.json").is_file()  # baseline intact


def test_code_mutants_get_a_worker_each_and_chain_mutants_share_enough_workers(tmp_path: Path) -> None:
    prepared = [Prepared(m, {}, tmp_path / m.name / "run", tmp_path / m.name / "worker.json", {}, {})
                for m in CORPUS if m.chains]
    out = batches(prepared, jobs=2)
    assert sorted(p.mutant.name for b in out for p in b) == sorted(p.mutant.name for p in prepared)
    assert all(len(b) == 1 for b in out if b[0].mutant.kind == "code")
    chain_batches = [b for b in out if b[0].mutant.kind == "chain"]
    assert len(chain_batches) >= 2 and all(p.mutant.kind == "chain" for b in chain_batches for p in b)


def test_the_score_counts_uncovered_mutants_as_survivors_and_harmless_ones_apart() -> None:
    def rec(name: str, status: str, harmless: bool = False) -> dict:
        return {"name": name, "status": status, "harmless": harmless}

    s = score([rec("a", "killed"), rec("b", "killed"), rec("c", "survived"), rec("d", "not covered"),
               rec("e", "error"), rec("h1", "kept", True), rec("h2", "flagged", True)])
    assert (s["killed"], s["valid"], s["score"]) == (2, 4, 0.5)
    assert (s["covered"], s["score_covered"]) == (3, 0.6667)
    assert s["survived"] == ["c"] and s["not_covered"] == ["d"] and s["errors"] == ["e"]
    assert s["harmless_flagged"] == ["h2"]
