"""The mutant corpus: each entry says what it mutates, why that weakens privacy (or, for a harmless one, why
every output byte stays the same), and which chains of ``configs/ci.yaml`` it affects.

Two kinds:

* ``chain`` — the chain's YAML edited (:attr:`Mutant.edit`, a function of the parsed chain) and written to a
  temporary folder; ``anonymize --chain /tmp/.../<chain>.yaml`` runs it. The chain keeps its ``name`` (and so
  its output folder ``anon/<name>/`` and its baseline cells).
* ``code`` — a monkeypatch of :mod:`benchmarks.mutants.patches` (:attr:`Mutant.patch`) loaded at start-up of
  the subprocess through a generated ``sitecustomize``; the chains are the unmodified ones.

``anonymizers`` names the registry entries a code mutant changes; its ``chains`` must be exactly the chains of
the config that use one of them (the corpus test checks it). A mutant that affects no chain of the config is
reported as *not covered* — a survivor: the gate cannot see a bug in code that it never runs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Spec = dict[str, Any]


@dataclass(frozen=True)
class Mutant:
    name: str
    kind: Literal["chain", "code"]
    chains: tuple[str, ...]
    mutates: str
    why: str
    harmless: bool = False
    edit: Callable[[Spec], None] | None = field(default=None, repr=False, compare=False)
    patch: str | None = None
    anonymizers: tuple[str, ...] = ()

    def edited(self, spec: Spec) -> Spec:
        """A mutated deep copy of a chain spec (chain mutants only); the name is kept."""
        assert self.edit is not None, f"{self.name} is not a chain mutant"
        out = copy.deepcopy(spec)
        self.edit(out)
        if out.get("name") != spec.get("name"):
            raise ValueError(f"mutant {self.name}: a chain mutant must keep the chain's name")
        return out


# --- chain-spec edits -----------------------------------------------------------------------------------
def _step(spec: Spec, use: str, label: str | None = None) -> Spec:
    hits = [s for s in spec["steps"] if s["use"] == use and s.get("name") == label]
    if len(hits) != 1:
        raise LookupError(f"chain {spec.get('name')}: {len(hits)} steps use {use!r} (label {label!r})")
    return hits[0]


def with_params(use: str, label: str | None = None, **params: Any) -> Callable[[Spec], None]:
    def edit(spec: Spec) -> None:
        step = _step(spec, use, label)
        step.setdefault("with", {}).update(params)
    return edit


def without_step(use: str, label: str | None = None) -> Callable[[Spec], None]:
    def edit(spec: Spec) -> None:
        spec["steps"].remove(_step(spec, use, label))
    return edit


def without_columns(use: str, table: str, *columns: str, label: str | None = None) -> Callable[[Spec], None]:
    def edit(spec: Spec) -> None:
        cols = _step(spec, use, label)["columns"]
        missing = [c for c in columns if c not in cols.get(table, [])]
        if missing:
            raise LookupError(f"chain {spec.get('name')}: step {use} has no {table}.{missing}")
        cols[table] = [c for c in cols[table] if c not in columns]
        if not cols[table]:
            del cols[table]
    return edit


def split_step(use: str, groups: list[list[str]]) -> Callable[[Spec], None]:
    """Harmless refactor: one step into several steps of the same anonymizer, one per group of tables."""
    def edit(spec: Spec) -> None:
        step = _step(spec, use)
        i = spec["steps"].index(step)
        parts = []
        for tables in groups:
            part = copy.deepcopy(step)
            part["columns"] = {t: step["columns"][t] for t in tables}
            parts.append(part)
        if sorted(t for g in groups for t in g) != sorted(step["columns"]):
            raise LookupError(f"chain {spec.get('name')}: groups do not cover the step's tables")
        spec["steps"][i:i + 1] = parts
    return edit


def labelled(spec: Spec) -> None:
    """Harmless refactor: every step gets an explicit label and the description is reworded."""
    for i, step in enumerate(spec["steps"]):
        step.setdefault("name", f"step-{i}-{step['use'].replace('.', '-')}")
    spec["description"] = "(refactored) " + spec.get("description", "")


# --- the corpus -----------------------------------------------------------------------------------------
KEYED = ("pseudonymize", "generalize", "kanon", "dp-aggregates", "perturb")  # chains with a pseudonymize.hmac step
_UNI = "unicity and profile linkage see finer points (de Montjoye et al. 2013)"


def _chain(name: str, chain: str, mutates: str, why: str, edit: Callable[[Spec], None],
           harmless: bool = False) -> Mutant:
    return Mutant(name, "chain", (chain,), mutates, why, harmless, edit=edit)


def _code(name: str, chains: tuple[str, ...], anonymizers: tuple[str, ...], mutates: str, why: str,
          harmless: bool = False, patch: str | None = None) -> Mutant:
    return Mutant(name, "code", chains, mutates, why, harmless, patch=patch or name.replace("-", "_"),
                  anonymizers=anonymizers)


CORPUS: tuple[Mutant, ...] = (
    # chain YAML: coarsening made finer, steps dropped, columns passed through raw
    _chain("generalize-ipv4-32", "generalize", "ip_prefix /24 -> /32 (IPv6 /48 -> /128)",
           "full client addresses are released: a home IP is a near-unique quasi-identifier",
           with_params("generalize.ip_prefix", ipv4_prefix=32, ipv6_prefix=128)),
    _chain("kanon-ipv4-32", "kanon", "ip_prefix /24 -> /32 (IPv6 /48 -> /128)",
           "full client addresses are released: a home IP is a near-unique quasi-identifier",
           with_params("generalize.ip_prefix", ipv4_prefix=32, ipv6_prefix=128)),
    _chain("generalize-time-1s", "generalize", "event times bucketed to 1 s instead of 1 h",
           "exact event times: " + _UNI, with_params("generalize.time_bucket", every="1s")),
    _chain("kanon-time-1s", "kanon", "event times bucketed to 1 s instead of 1 h",
           "exact event times: " + _UNI, with_params("generalize.time_bucket", every="1s")),
    _chain("generalize-suppress-skipped", "generalize", "suppress.rare step removed",
           "configuration values held by one or two accounts are released: a rare value points at them",
           without_step("suppress.rare")),
    _chain("kanon-suppress-skipped", "kanon", "suppress.rare step removed",
           "configuration values held by one or two accounts are released: a rare value points at them",
           without_step("suppress.rare")),
    _chain("kanon-k-minus-1", "kanon", "kanon.mondrian k: 10 -> 9",
           "classes of 9 users: the promised k = 10 no longer holds", with_params("kanon.mondrian", k=9)),
    _chain("kanon-mondrian-skipped", "kanon", "kanon.mondrian step removed",
           "users' role, locale, time zone, country and creation date are released exactly",
           without_step("kanon.mondrian")),
    _chain("generalize-drop-removed", "generalize", "drop step removed",
           "display names, org names and domains (direct identifiers) and event ids pass through raw",
           without_step("drop")),
    _chain("pseudonymize-drop-removed", "pseudonymize", "drop step removed",
           "display names, org names and domains (direct identifiers) pass through raw", without_step("drop")),
    _chain("kanon-team-id-kept", "kanon", "users.team_id no longer dropped (a raw column passed through)",
           "raw team ids: a small team is a quasi-identifier, and the raw id joins back to the source",
           without_columns("drop", "users", "team_id")),
    _chain("pseudonymize-client-ip-raw", "pseudonymize", "events.client_ip left out of the HMAC step",
           "raw client IP addresses are released", without_columns("pseudonymize.hmac", "events", "client_ip")),
    _chain("generalize-actor-email-raw", "generalize", "events.actor_email left out of the HMAC step",
           "raw e-mail addresses (direct identifiers) are released in events",
           without_columns("pseudonymize.hmac", "events", "actor_email")),
    _chain("generalize-user-agent-full", "generalize", "generalize.user_agent step removed",
           "full user-agent strings are a device fingerprint (Eckersley, PETS 2010)",
           without_step("generalize.user_agent")),
    _chain("generalize-org-size-exact", "generalize", "generalize.numeric_bins step removed",
           "exact org sizes single out small tenants", without_step("generalize.numeric_bins")),
    _chain("kanon-creation-dates-raw", "kanon", "creation-weeks step removed (orgs.created_at exact)",
           "an org's exact creation time singles the tenant out",
           without_step("generalize.time_bucket", "creation-weeks")),
    _chain("dp-epsilon-x10", "dp-aggregates", "dp.aggregate epsilon 1 -> 10",
           "ten times the privacy loss; e^10 bounds nothing useful",
           with_params("dp.aggregate", epsilon=10.0)),
    _chain("dp-users-released", "dp-aggregates", "the users table is no longer dropped",
           "raw users rows (e-mails, names, roles) are released next to the counts",
           without_columns("drop", "users", "*")),
    _chain("dp-org-names-released", "dp-aggregates", "orgs.name and orgs.domain no longer dropped",
           "tenant names and domains are released: every count is attributable to a named customer",
           without_columns("drop", "orgs", "name", "domain")),
    # code: keys and pseudonyms
    _code("hmac-plain-hash", KEYED, ("pseudonymize.hmac",), "HMAC-SHA256 -> unsalted SHA-256 (same length)",
          "anyone can hash candidate ids and e-mails: the pseudonyms reverse by dictionary"),
    _code("key-empty", KEYED, ("pseudonymize.hmac",), "every sub-key derived from an empty key",
          "the pseudonyms are recomputable by anyone from the source code"),
    _code("key-reused", KEYED, ("pseudonymize.hmac",),
          "every sub-key derived from the public example key of benchmarks/run.py",
          "a key reused from the repository: anyone who reads it recomputes the pseudonyms"),
    _code("key-truncated", KEYED, ("pseudonymize.hmac",), "sub-keys derived from the key's first byte",
          "256 possible keys: the attacker brute-forces the key, then the pseudonyms"),
    # code: generalization, suppression, k-anonymity
    _code("mondrian-k-minus-1", ("kanon",), ("kanon.mondrian",), "Mondrian partitions with k - 1 while "
          "declaring k", "classes one smaller than promised"),
    _code("ip-prefix-ignored", ("generalize", "kanon"), ("generalize.ip_prefix",),
          "ip_prefix ignores its prefix length (keeps /32 and /128)", "full client addresses are released"),
    _code("time-bucket-seconds", ("generalize", "kanon", "perturb"), ("generalize.time_bucket",),
          "time_bucket reads every unit as seconds (1h -> 1s, 1w -> 1s)", "exact times: " + _UNI),
    _code("suppress-rare-noop", ("generalize", "kanon"), ("suppress.rare",), "suppress.rare replaces nothing",
          "rare configuration values are released"),
    _code("drop-columns-noop", ("pseudonymize", "generalize", "kanon", "dp-aggregates", "dp-synthetic", "perturb"),
          ("drop",),
          "drop removes whole tables only, never single columns",
          "display names, org names and domains pass through raw"),
    _code("user-agent-passthrough", ("generalize", "kanon"), ("generalize.user_agent",),
          "generalize.user_agent returns its input", "full user-agent strings: a device fingerprint"),
    # code: differential privacy (dp.aggregate through PipelineDP / python-dp)
    _code("dp-noise-half", ("dp-aggregates",), ("dp.aggregate",), "Laplace/Gaussian noise scaled by 0.5",
          "the real epsilon is twice the declared one"),
    _code("dp-noise-tenth", ("dp-aggregates",), ("dp.aggregate",), "Laplace/Gaussian noise scaled by 0.1",
          "the real epsilon is ten times the declared one"),
    _code("dp-fixed-seed", ("dp-aggregates",), ("dp.aggregate",),
          "Laplace noise from numpy with a fixed seed (the right scale)",
          "the same noise in every run: two releases subtract it away; not a vetted sampler (Mironov 2012)"),
    _code("dp-partitions-from-raw-counts", ("dp-aggregates",), ("dp.aggregate",),
          "partitions kept when >= 2 accounts contribute (raw count, no noise)",
          "whether a partition appears reveals who contributed: no epsilon covers the selection"),
    _code("dp-budget-not-split", ("dp-aggregates",), ("dp.aggregate",),
          "each mechanism gets the whole epsilon and delta",
          "partition selection plus the noisy sum spend twice the declared budget"),
    _code("dp-no-contribution-bounding", ("dp-aggregates",), ("dp.aggregate",),
          "no L0 sampling and no Linf clamp; noise calibrated to the declared bounds",
          "a heavy account moves the counts far beyond the sensitivity the noise covers"),
    _code("dp-bounds-x10", ("dp-aggregates",), ("dp.aggregate",),
          "contributions bounded at 10x the declared L0 and Linf; noise for the declared ones",
          "the sensitivity is ten times what the noise is calibrated to"),
    # code: perturbation and sampling (the perturb chain)
    _code("date-shift-constant", ("perturb",), ("perturb.date_shift",), "date_shift moves everyone by the same 7 days",
          "a constant shift is undone by aligning one known event"),
    _code("jitter-zero", ("perturb",), ("perturb.time_jitter",), "time_jitter offsets are all 0",
          "exact event times are released"),
    _code("sampling-rate-1", ("perturb",), ("sample.persons",), "sample.persons keeps everyone",
          "no sampling uncertainty: every target is in the release"),
    # harmless refactors: every output byte stays the same
    _chain("generalize-drop-split", "generalize", "the drop step split in two (users+orgs, then events)",
           "the same columns are dropped, in the same tables", split_step("drop", [["users", "orgs"], ["events"]]),
           harmless=True),
    _chain("pseudonymize-hmac-split", "pseudonymize", "the HMAC step split in two (orgs+users, events+config)",
           "the same key and purpose give the same pseudonyms whatever the step",
           split_step("pseudonymize.hmac", [["orgs", "users"], ["events", "config_changes"]]), harmless=True),
    _chain("kanon-time-60m", "kanon", "event times bucketed every 60m instead of 1h",
           "60-minute buckets from the epoch are the hours", with_params("generalize.time_bucket", every="60m"),
           harmless=True),
    _chain("generalize-labelled", "generalize", "every step labelled, description reworded",
           "labels and descriptions reach the manifest only", labelled, harmless=True),
    _code("hmac-stdlib", KEYED, ("pseudonymize.hmac",), "HMAC-SHA256 via hmac.digest per value",
          "RFC 2104 HMAC either way (the pre-hashed pads are an optimisation)", harmless=True),
    _code("ip-prefix-slow-path", ("generalize", "kanon"), ("generalize.ip_prefix",),
          "every address through ipaddress instead of the dotted-quad fast path",
          "both paths give the same prefix (a property test checks)", harmless=True),
    _code("numeric-bins-digitize", ("generalize", "kanon"), ("generalize.numeric_bins",),
          "bins found with np.digitize instead of np.searchsorted", "the same bin index", harmless=True),
)


def by_name(names: list[str] | None = None) -> list[Mutant]:
    """The corpus, or the named mutants of it (a one-line error names an unknown one)."""
    if not names:
        return list(CORPUS)
    index = {m.name: m for m in CORPUS}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise KeyError(f"unknown mutant(s) {unknown}; known: {', '.join(sorted(index))}")
    return [index[n] for n in names]
