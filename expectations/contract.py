"""A chain's privacy contract: the expectations its anonymized tables must meet, derived from its steps.

Whatever the steps, a release holds no e-mail-shaped string in any column and no column outside the schema
the chain declares. Each step then adds what it promises:

=========================  ============================================================================
step                       expectation on its columns
=========================  ============================================================================
``pseudonymize.hmac``,     values have the declared pseudonym form: the step's ``prefix`` and ``length``
``tokenize.random``,       hex digits, else ``validation.pseudonym_forms`` (64 hex digits for
``hash.sha256``            ``hash.sha256``)
``generalize.ip_prefix``   addresses carry at most ``ipv4_prefix`` / ``ipv6_prefix`` bits
``generalize.time_bucket`` timestamps sit on the ``every`` bucket
``kanon.*``                k-anonymity over the step's quasi-identifiers, decided over all shards
``drop``                   the columns are gone (via the declared schema)
=========================  ============================================================================

and a chain whose steps all preserve rows keeps the raw row count of every table. Contracts are built from
plain data (:class:`ChainSpec`), so this module does not depend on the anonymizers package; the pipeline fills
in each step's ``row_preserving`` flag from the anonymizer registry when it has one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from expectations.engine import ExpectationSpec as E
from expectations.forms import pseudonym_regex
from expectations.params import ValidationParams
from expectations.plan import PartialSpec, RunCheck, StagePlan, TableSuite, partial_specs
from runformat.layout import RAW_STAGE, anon_rel, stage_name

ALL = "*"
ROW_PRESERVING = {"drop": True, "suppress.rare": True, "kanon.mondrian": False, "sample.persons": False,
                  "dp.aggregate": False}
ROW_PRESERVING_FAMILIES = ("pseudonymize.", "hash.", "tokenize.", "generalize.", "perturb.")


@dataclass(frozen=True)
class StepSpec:
    """One chain step as data: registry name, columns per table (``*`` = all) and its public parameters."""

    use: str
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    row_preserving: bool | None = None

    @property
    def keeps_rows(self) -> bool:
        if self.row_preserving is not None:
            return self.row_preserving
        if self.use in ROW_PRESERVING:
            return ROW_PRESERVING[self.use]
        return self.use.startswith(ROW_PRESERVING_FAMILIES)

    def columns_in(self, table: str, present: Sequence[str]) -> list[str]:
        cols = self.columns.get(table, ())
        return list(present) if ALL in cols else [c for c in cols if c in present]


@dataclass(frozen=True)
class ChainSpec:
    name: str
    steps: tuple[StepSpec, ...] = ()
    role: str = "candidate"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ChainSpec:
        """From the chain YAML's shape: ``{name, role?, steps: [{use, columns: {table: [col]}, with?}]}``."""
        steps = tuple(StepSpec(use=str(s["use"]),
                               columns={t: tuple([c] if isinstance(c, str) else c)
                                        for t, c in (s.get("columns") or {}).items()},
                               params=dict(s.get("with") or s.get("params") or {}),
                               row_preserving=s.get("row_preserving"))
                      for s in data.get("steps") or [])
        return cls(name=str(data["name"]), steps=steps, role=str(data.get("role") or "candidate"))

    @property
    def row_preserving(self) -> bool:
        return all(s.keeps_rows for s in self.steps)


def declared_columns(chain: ChainSpec, raw: Mapping[str, pa.Schema]) -> dict[str, list[str]]:
    """Raw columns minus those a ``drop`` step removes: what the chain declares it releases."""
    out = {t: list(s.names) for t, s in raw.items()}
    for step in chain.steps:
        if step.use == "drop":
            for t in out:
                gone = set(step.columns_in(t, out[t]))
                out[t] = [c for c in out[t] if c not in gone]
    return out


def step_expectations(step: StepSpec, table: str, present: Sequence[str], params: ValidationParams) -> list[E]:
    """The per-shard expectations one step promises for one table."""
    cols = step.columns_in(table, present)
    p = step.params
    form = pseudonym_form(step, params)
    if form is not None:
        return [E("expect_column_values_to_be_pseudonyms", {"column": c, "form": form}) for c in cols]
    if step.use == "generalize.ip_prefix":
        return [E("expect_column_values_to_be_ip_prefixes",
                  {"column": c, "ipv4_prefix": int(p.get("ipv4_prefix", 24)),
                   "ipv6_prefix": int(p.get("ipv6_prefix", 48))}) for c in cols]
    if step.use == "generalize.time_bucket":
        every = str(p.get("every", "1h"))
        # Week buckets start on Monday (1970-01-05), four days after the epoch (a Thursday).
        offset = p.get("offset") or ("4d" if every.strip().endswith("w") else None)
        return [E("expect_column_values_to_be_on_time_bucket", {"column": c, "every": every, "offset": offset})
                for c in cols]
    return []


def pseudonym_form(step: StepSpec, params: ValidationParams) -> str | None:
    """The full-match form of a pseudonymizing step's output: ``prefix`` + ``length`` hex digits when the
    step declares them (``pseudonymize.hmac``, ``tokenize.random``), else ``validation.pseudonym_forms``."""
    base = params.pseudonym_forms.get(step.use)
    if base is None:
        return None
    prefix = re.escape(str(step.params.get("prefix") or ""))
    length = step.params.get("length")
    if length:
        return f"{prefix}[0-9a-f]{{{int(length)}}}"
    return f"{prefix}{pseudonym_regex(base)}" if prefix else base


def contract_checks(chain: ChainSpec, schemas: Mapping[str, pa.Schema], raw_rows: Mapping[str, int],
                    params: ValidationParams) -> list[RunCheck]:
    checks: list[RunCheck] = []
    if chain.row_preserving:
        checks += [RunCheck("row_count_equal", t, (), {"value": int(raw_rows[t]), "of": RAW_STAGE})
                   for t in sorted(schemas) if t in raw_rows]
    for step in chain.steps:
        if step.use.startswith("kanon."):
            for t in sorted(schemas):
                qis = p_list(step.params.get("quasi_identifiers")) or step.columns_in(t, schemas[t].names)
                if qis and step.columns.get(t) is not None:
                    checks.append(RunCheck("k_anonymous", t, tuple(qis), {"k": int(step.params.get("k", 5))}))
    checks += [RunCheck("k_anonymous", c.table, tuple(c.columns), {"k": c.k})
               for c in params.k_anonymity if c.table in schemas]
    return checks


def p_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def contract_plan(chain: ChainSpec, schemas: Mapping[str, pa.Schema], raw_schemas: Mapping[str, pa.Schema],
                  raw_rows: Mapping[str, int], params: ValidationParams | None = None,
                  declared: Mapping[str, Sequence[str]] | None = None) -> StagePlan:
    """The plan of stage ``anon-<chain>``.

    ``schemas``: the anonymized tables present; ``raw_schemas``/``raw_rows``: the raw tables and their row
    counts; ``declared``: the released columns per table when the chain model knows them (default: raw
    columns minus dropped ones).
    """
    params = params or ValidationParams()
    declared = dict(declared) if declared is not None else declared_columns(chain, raw_schemas)
    checks = tuple(contract_checks(chain, schemas, raw_rows, params))
    partials = partial_specs(checks)
    tables = {}
    for t, schema in sorted(schemas.items()):
        specs: list[E] = []
        if t in declared:
            specs.append(E("expect_table_columns_to_be_within_set", {"column_set": sorted(declared[t])}))
        scan = [f.name for f in schema if params.email_scan == "all" or _is_text(f.type)]
        if scan:  # one pass over every scanned column, reported per column (see engine.PER_COLUMN)
            specs.append(E("expect_table_values_to_not_be_email_addresses", {"column_list": scan}))
        for step in chain.steps:
            specs += step_expectations(step, t, schema.names, params)
        tables[t] = TableSuite(t, tuple(specs), partials.get(t, PartialSpec()))
    return StagePlan(stage=stage_name(chain.name), role=chain.role, source=anon_rel(chain.name), tables=tables,
                     checks=checks)


def _is_text(dtype: pa.DataType) -> bool:
    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)
