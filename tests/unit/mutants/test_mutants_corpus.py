"""The mutant corpus of `make mutants` is well formed: big enough, every mutant declared, applied outside the
checkout, code patches hitting real targets, harmless mutants byte-identical and privacy mutants visible on a
tiny population."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.mutants.apply import REPO, chain_spec, chains_using, config_chains, materialize
from benchmarks.mutants.corpus import CORPUS, Mutant, by_name
from benchmarks.mutants.patches import PATCHES

KEY = "mutants-corpus-test-key-0123456789abcdef"
WEAKENING = [m for m in CORPUS if not m.harmless]
HARMLESS = [m for m in CORPUS if m.harmless]


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "ANONBENCH_KEY": KEY, "PYTHONPATH": str(REPO)}
    env.update(extra or {})
    return env


def _checkout_digest() -> str:
    h = hashlib.sha256()
    for folder in ("configs", "anonymizers", "benchmarks/mutants", "pipelines", "reid"):
        for p in sorted((REPO / folder).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                h.update(str(p.relative_to(REPO)).encode() + p.read_bytes())
    return h.hexdigest()


def _fingerprints(refs: list[str], env: dict[str, str]) -> dict[str, dict[str, str]]:
    p = subprocess.run([sys.executable, "-m", "benchmarks.mutants.fingerprint", *refs], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_the_corpus_is_big_enough_and_every_mutant_says_what_why_and_where() -> None:
    assert len(WEAKENING) >= 25 and len(HARMLESS) >= 5
    names = [m.name for m in CORPUS]
    assert len(names) == len(set(names))
    chains = set(config_chains())
    for m in CORPUS:
        assert m.mutates.strip() and m.why.strip(), m.name
        assert set(m.chains) <= chains, m.name
        if m.kind == "chain":
            assert m.edit is not None and m.patch is None and len(m.chains) == 1, m.name
        else:
            assert m.patch in PATCHES and m.anonymizers, m.name
    assert by_name(["kanon-k-minus-1"])[0].chains == ("kanon",)
    with pytest.raises(KeyError, match="unknown mutant"):
        by_name(["no-such-mutant"])


@pytest.mark.parametrize("m", [m for m in CORPUS if m.kind == "code"], ids=lambda m: m.name)
def test_a_code_mutant_declares_exactly_the_chains_that_run_what_it_patches(m: Mutant) -> None:
    assert set(m.chains) == set(chains_using(m.anonymizers))


def test_every_mutant_applies_in_a_temporary_folder_without_touching_the_checkout(tmp_path: Path) -> None:
    from anonymizers.chain import resolve_chain

    before = _checkout_digest()
    os.environ.setdefault("ANONBENCH_KEY", KEY)
    for m in CORPUS:
        applied = materialize(m, tmp_path / m.name)
        written = [p for p in (tmp_path / m.name).rglob("*") if p.is_file()]
        assert written and all(tmp_path in p.parents for p in written)
        if m.kind == "chain":
            (chain, ref), = applied.chains.items()
            assert Path(ref).is_file() and tmp_path in Path(ref).parents
            resolved = resolve_chain(ref)           # a valid chain, under its own name (same baseline cells)
            assert resolved.name == chain
            original = chain_spec(chain)
            assert m.edited(original) != original, f"{m.name} does not change the chain"
        else:
            site = Path(applied.env["PYTHONPATH"].split(os.pathsep)[0])
            assert (site / "sitecustomize.py").is_file() and tmp_path in site.parents
            assert applied.chains == {c: c for c in m.chains}
    assert _checkout_digest() == before


def test_every_code_patch_finds_its_target() -> None:
    code = "from benchmarks.mutants.patches import PATCHES\nfor f in PATCHES.values():\n    f()\nprint('ok')"
    p = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=_env(), capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0 and p.stdout.strip().endswith("ok"), p.stderr[-2000:]


def test_sitecustomize_applies_a_code_mutant_in_the_subprocess_only(tmp_path: Path) -> None:
    (m,) = by_name(["user-agent-passthrough"])
    applied = materialize(m, tmp_path)
    ua = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/124.0.0.0 Safari/537.36"
    code = f"from anonymizers.user_agent import generalize\nprint(generalize([{ua!r}], 'family', False)[0])"
    run = [sys.executable, "-c", code]
    mutated = subprocess.run(run, cwd=REPO, env=applied.environ(_env()), capture_output=True, text=True, timeout=300)
    clean = subprocess.run(run, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert mutated.stdout.strip() == ua
    assert clean.stdout.strip() == "Chrome"


def test_harmless_mutants_keep_every_output_byte(tmp_path: Path) -> None:
    chains = sorted({c for m in HARMLESS for c in m.chains})
    chain_refs = {m.name: materialize(m, tmp_path / m.name) for m in HARMLESS if m.kind == "chain"}
    # the unmutated chains and every harmless chain mutant need no patch: one subprocess
    plain = _fingerprints(chains + [next(iter(a.chains.values())) for a in chain_refs.values()], _env())
    for name, applied in chain_refs.items():
        (chain, ref), = applied.chains.items()
        assert plain[ref] == plain[chain], f"harmless chain mutant {name} changed {chain}'s output"
    for m in (m for m in HARMLESS if m.kind == "code"):
        applied = materialize(m, tmp_path / m.name)
        got = _fingerprints(list(m.chains), applied.environ(_env()))
        for chain in m.chains:
            assert got[chain] == plain[chain], f"harmless code mutant {m.name} changed {chain}'s output"


NOISE_ONLY = {"dp-epsilon-x10"}  # changes nothing but the noise scale: invisible in one noisy release


@pytest.mark.parametrize("m", [m for m in WEAKENING if m.kind == "chain" and m.name not in NOISE_ONLY],
                         ids=lambda m: m.name)
def test_a_chain_mutant_changes_the_release_on_a_tiny_population(m: Mutant, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.mutants.fingerprint import fingerprint

    monkeypatch.setenv("ANONBENCH_KEY", KEY)
    (chain, ref), = materialize(m, tmp_path).chains.items()
    assert fingerprint(ref) != fingerprint(chain), f"{m.name} is equivalent on the tiny population"
