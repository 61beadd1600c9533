"""The `make mutants` runner's bookkeeping: run copies, batches, the score."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.mutants import worker
from benchmarks.mutants.corpus import CORPUS
from benchmarks.mutants.runner import Prepared, batches, copy_run, failing_chains, score


def _touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_run_copy_links_inputs_and_copies_what_may_change(tmp_path: Path) -> None:
    base = tmp_path / "baseline"
    raw = _touch(base / "raw" / "events" / "part-00000.parquet")
    other = _touch(base / "anon" / "generalize" / "events" / "part-00000.parquet")
    mutated = _touch(base / "anon" / "kanon" / "events" / "part-00000.parquet")
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
    # the mutated chain's outputs are copies (its commands rewrite them); until they do, the gate sees the
    # baseline's figures of every chain
    copied = dest / "anon" / "kanon" / "events" / "part-00000.parquet"
    assert copied.is_file() and copied.stat().st_ino != mutated.stat().st_ino
    assert (dest / "risk" / "kanon" / "unicity.parquet").is_file()
    assert (dest / "risk" / "generalize" / "unicity.parquet").is_file()
    assert (dest / "validation" / "raw.parquet").is_file() and (dest / "validation" / "anon-kanon.parquet").is_file()
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


def test_the_gate_flags_a_chain_by_its_problems_and_a_failing_baseline_chain_is_set_aside(tmp_path: Path) -> None:
    problems = ["chain kanon: check leak_scan, metric leaked_values = 3, threshold <= 0 (n=9)",
                "REGRESSION chain generalize: passthrough.exact_share[...] risk got worse: ...",
                "chain dp-synthetic: check singling_out, metric risk = 0.23, threshold <= 0.09 (n=500)"]
    _touch(tmp_path / "report" / "summary.json", json.dumps({"problems": problems}))
    got = worker.flagged(tmp_path, ["kanon", "generalize", "pseudonymize", "kanon-x"])
    assert got == {"kanon": problems[:1], "generalize": problems[1:2]}
    summary = {"chains": {"kanon": {"passed": True}, "dp-synthetic": {"passed": False}, "none": {"passed": True}}}
    assert failing_chains(summary) == ["dp-synthetic"]


def test_a_weakening_mutant_stops_at_the_first_flagged_chain_and_skips_its_validation(tmp_path: Path,
                                                                                      monkeypatch) -> None:
    calls: list[tuple[str, ...]] = []

    _touch(tmp_path / "manifest.json", json.dumps({"config": {"attacks": {"checks": ["leak_scan", "membership"]}}}))

    def cli(args: list[str]) -> tuple[int, str]:
        calls.append(tuple(args[:1] + args[-1:]))
        if args[0] == "check":
            bad = ["chain a: check leak_scan, metric leaked_values = 1, threshold <= 0 (n=1)"]
            _touch(tmp_path / "report" / "summary.json", json.dumps({"problems": bad}))
            return 1, ""
        return 0, ""

    monkeypatch.setattr(worker, "cli", cli)
    out = worker.run(tmp_path, ["a", "b"], None, stop_early=True)
    assert out["chains_run"] == ["a"] and out["flagged"] == {"a": [
        "chain a: check leak_scan, metric leaked_values = 1, threshold <= 0 (n=1)"]}
    assert [c[0] for c in calls] == ["anonymize", "attack", "check"]      # no validate, chain b never run
    assert calls[1][-1].endswith("fast-attack.yaml")                      # the cheap checks only
    assert calls[0][-1] == "--direct_num_workers=1"
    calls.clear()
    out = worker.run(tmp_path, ["b", "c"], None, stop_early=False)        # harmless: every chain, in full
    assert [c[0] for c in calls] == ["anonymize", "validate", "attack", "anonymize", "validate", "attack", "check"]
    assert out["chains_run"] == ["b", "c"] and out["flagged"] == {}
