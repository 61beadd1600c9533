"""Hypothesis fuzzes the run-config loader (``anonbench.config.load_run_config``, what ``generate`` and ``run``
call first): random YAML documents built from the real keys and from random ones, random values of every
kind (huge and negative numbers, NaN, unicode, nested lists and mappings), random text and bytes, and the
command line's ``--events``/``--seed`` overrides. The loader either returns a config or raises the
``InputError`` family (exit 2) with one line that names the file; never another exception.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonbench.config import RunConfig, load_run_config
from generators.errors import InputError
from generators.params import GenerationParams
from reid.params import AttackParams

FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-config-"))
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

KEYS = {"": sorted(RunConfig.model_fields), "generate": sorted(GenerationParams.model_fields),
        "attacks": sorted(AttackParams.model_fields)}
SCALARS = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, -1, 10**15, 2**63, -(2**63), 1000, 7, 366]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["", "none", "generalize", "1h", "env:ANONBENCH_KEY", "2026-03-02", "😀", "שלום", "off"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=10), st.sampled_from(KEYS["attacks"])), inner, max_size=4)),
    max_leaves=12)


def section(name: str) -> st.SearchStrategy:
    keys = st.one_of(st.sampled_from(KEYS[name]), st.text(max_size=12))
    return st.dictionaries(keys, VALUES, max_size=5)


DOCS = st.one_of(
    st.fixed_dictionaries({}, optional={"name": VALUES, "seed": VALUES, "chains": VALUES,
                                        "generate": st.one_of(section("generate"), VALUES),
                                        "attacks": st.one_of(section("attacks"), VALUES),
                                        "thresholds": VALUES, "runner": VALUES, "validation": VALUES}),
    section(""),
    VALUES,
)
OVERRIDES = st.fixed_dictionaries({}, optional={
    "generate.events": st.one_of(st.none(), st.integers(-5, 10**16)),
    "seed": st.one_of(st.none(), st.integers(-5, 2**64))})


def check(path: Path, overrides: dict) -> None:
    try:
        cfg = load_run_config(path, overrides)
    except InputError as e:
        lines = str(e).splitlines()
        assert len(lines) == 1, str(e)
        assert str(path) in lines[0], lines[0]
        return
    assert isinstance(cfg, RunConfig)
    assert cfg.generate.events > 0 and 7 <= cfg.generate.days <= 366
    assert all(not isinstance(v, float) or math.isfinite(v) for v in cfg.generate.plan_mix.values())


@SETTINGS
@given(doc=DOCS, overrides=OVERRIDES)
def test_random_documents(doc, overrides):
    path = FOLDER / "doc.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    check(path, overrides)


@SETTINGS
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))),
       raw=st.binary(max_size=100))
def test_random_text_and_bytes(text, raw):
    path = FOLDER / "text.yaml"
    path.write_text(text)
    check(path, {})
    path.write_bytes(raw)
    check(path, {"generate.events": 10})
