"""The registry: built-ins, entry-point plugins, and broken plugins named by package."""

from __future__ import annotations

from importlib import metadata

import pytest

from anonymizers import registry
from anonymizers.base import Anonymizer

BUILTINS = {"drop", "pseudonymize.hmac", "hash.sha256", "tokenize.random", "generalize.ip_prefix",
            "generalize.time_bucket", "generalize.user_agent", "generalize.numeric_bins", "perturb.date_shift",
            "perturb.time_jitter", "suppress.rare", "kanon.mondrian", "sample.persons", "dp.aggregate",
            "dp.synthesize"}


class Good(Anonymizer):
    name = "test.good"

    def apply(self, batch, ctx):
        return batch


class _Dist:
    name = "anonbench-fake-plugin"
    version = "9.9"


def _ep(name: str, value: str) -> metadata.EntryPoint:
    ep = metadata.EntryPoint(name=name, value=value, group=registry.GROUP)
    ep._for(_Dist())  # type: ignore[attr-defined]
    return ep


@pytest.fixture
def fake_plugins(monkeypatch: pytest.MonkeyPatch):
    import sys
    import types

    mod = types.ModuleType("anonbench_fake_plugin_mod")
    mod.Good = Good  # type: ignore[attr-defined]
    mod.NotAClass = 42  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "anonbench_fake_plugin_mod", mod)
    eps = [_ep("test.good", "anonbench_fake_plugin_mod:Good"),
           _ep("test.missing", "anonbench_no_such_module_xyz:Thing"),
           _ep("test.notaclass", "anonbench_fake_plugin_mod:NotAClass"),
           _ep("test.misnamed", "anonbench_fake_plugin_mod:Good"),
           _ep("drop", "anonbench_fake_plugin_mod:Good")]
    monkeypatch.setattr(registry.metadata, "entry_points",
                        lambda group=None: [e for e in eps if e.group == group])
    return eps


def test_builtins_registered() -> None:
    reg = registry.load(include_plugins=False)
    assert set(reg.names()) == BUILTINS
    assert all(reg.entries[n].source == registry.BUILTIN_SOURCE for n in BUILTINS)


def test_good_plugin_usable(fake_plugins) -> None:
    reg = registry.load()
    assert reg.get("test.good") is Good
    assert reg.entries["test.good"].source == "anonbench-fake-plugin 9.9"


@pytest.mark.parametrize("name, fragment", [
    ("test.missing", "failed to import: ModuleNotFoundError"),
    ("test.notaclass", "is not a subclass"),
    ("test.misnamed", "declares name 'test.good'"),
])
def test_broken_plugin_named_by_package(fake_plugins, name: str, fragment: str) -> None:
    reg = registry.load()
    with pytest.raises(registry.PluginError) as e:
        reg.get(name)
    assert "anonbench-fake-plugin" in str(e.value) and fragment in str(e.value)
    assert name in {b.name for b in reg.broken()}


def test_plugin_cannot_replace_builtin(fake_plugins) -> None:
    reg = registry.load()
    assert reg.get("drop").__module__ == "anonymizers.drop"
    assert any("clashes with a built-in" in (b.error or "") for b in reg.broken())


def test_unknown_name() -> None:
    with pytest.raises(registry.UnknownAnonymizer, match="nope"):
        registry.load(include_plugins=False).get("nope")
