"""The anonymizer registry: built-ins plus third-party packages found through the entry-point group
``anonbench.anonymizers``.

A third-party package declares, in its ``pyproject.toml``::

    [project.entry-points."anonbench.anonymizers"]
    "example.reverse" = "anonbench_example_plugin:Reverse"

The entry-point name is the registry name used in chains; it must equal the class's ``name``. A plugin that
fails to import, or whose object is not an anonymizer, is kept as a *broken* entry that names its package and
entry point, so that listing still works and a chain using it fails with a one-line reason instead of a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from pydantic import BaseModel

from anonymizers.base import Anonymizer
from generators.errors import InputError

GROUP = "anonbench.anonymizers"
BUILTIN_SOURCE = "anonbench (built-in)"


class PluginError(InputError):
    """A registered plugin that cannot be used; the message names its package and entry point."""


class UnknownAnonymizer(InputError):
    """No anonymizer is registered under that name."""


@dataclass(frozen=True)
class Entry:
    """One registered name: its class (``None`` when broken), where it comes from, and why it is broken."""

    name: str
    cls: type[Anonymizer] | None
    source: str
    error: str | None = None

    @property
    def broken(self) -> bool:
        return self.cls is None


def builtin_classes() -> list[type[Anonymizer]]:
    from anonymizers import (
        date_shift,
        dp_aggregate,
        dp_synthesize,
        drop,
        hashing,
        ip_prefix,
        mondrian,
        numeric_bins,
        pseudonymize,
        sample_persons,
        suppress_rare,
        time_bucket,
        time_jitter,
        tokenize,
        user_agent,
    )

    return [drop.Drop, pseudonymize.HmacPseudonymizer, hashing.Sha256, tokenize.RandomTokens,
            ip_prefix.IpPrefix, time_bucket.TimeBucket, user_agent.UserAgent, numeric_bins.NumericBins,
            date_shift.DateShift, time_jitter.TimeJitter, suppress_rare.SuppressRare,
            mondrian.Mondrian, sample_persons.SamplePersons, dp_aggregate.DpAggregate,
            dp_synthesize.DpSynthesize]


def _contract_problem(obj: object, name: str) -> str | None:
    if not (isinstance(obj, type) and issubclass(obj, Anonymizer)):
        return "is not a subclass of anonymizers.base.Anonymizer"
    if obj.name != name:
        return f"declares name {obj.name!r}, but its entry point is {name!r}"
    if not (isinstance(obj.Params, type) and issubclass(obj.Params, BaseModel)):
        return "has no pydantic Params model"
    return None


def _plugin_entry(ep: metadata.EntryPoint) -> Entry:
    dist = getattr(ep, "dist", None)
    package = dist.name if dist is not None else ep.value.split(":")[0].split(".")[0]
    source = f"{package} {dist.version}" if dist is not None else package
    where = f"plugin package {package!r} (entry point {ep.name!r})"
    try:
        obj = ep.load()
    except Exception as e:  # any import-time failure of third-party code is reported, not raised
        first = str(e).splitlines()[0] if str(e) else ""
        return Entry(ep.name, None, source, f"{where} failed to import: {type(e).__name__}: {first}")
    problem = _contract_problem(obj, ep.name)
    if problem:
        return Entry(ep.name, None, source, f"{where}: {ep.value} {problem}")
    return Entry(ep.name, obj, source)


class Registry:
    """A snapshot of the installed anonymizers (build one with :func:`load`; no global state)."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries

    def names(self) -> list[str]:
        return sorted(self.entries)

    def broken(self) -> list[Entry]:
        return [e for e in self.entries.values() if e.broken]

    def get(self, name: str) -> type[Anonymizer]:
        entry = self.entries.get(name)
        if entry is None:
            raise UnknownAnonymizer(f"unknown anonymizer {name!r} (see `anonbench anonymizers`)")
        if entry.cls is None:
            raise PluginError(entry.error or f"plugin {name!r} is broken")
        return entry.cls


def load(include_plugins: bool = True) -> Registry:
    """Built-ins first; a plugin cannot replace a built-in name (it is reported as broken instead)."""
    entries = {cls.name: Entry(cls.name, cls, BUILTIN_SOURCE) for cls in builtin_classes()}
    if include_plugins:
        for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
            if ep.name in entries:
                if entries[ep.name].source == BUILTIN_SOURCE:
                    dist = getattr(ep, "dist", None)
                    pkg = dist.name if dist is not None else ep.value
                    entries[f"{ep.name} ({pkg})"] = Entry(
                        ep.name, None, pkg,
                        f"plugin package {pkg!r} (entry point {ep.name!r}) clashes with a built-in name")
                continue
            entries[ep.name] = _plugin_entry(ep)
    return Registry(entries)
