"""Parameters of the event-level attacks (the ``attacks:`` section of a run config).

Every check has its own small model with defaults that follow the paper it implements, so a run config may
leave the whole section out. Durations are written as Polars duration strings (``30m``, ``1h``, ``1d``).

**What the attacker knows** is a parameter of the event-trace attacks (``unicity``, ``profile_linkage``):
``knowledge`` lists knowledge sets, each a time resolution and the event fields the attacker knows of each
event of a target (``{time: 1h, columns: [action]}``: "at some hour, the target did action X";
``{time: 1d, columns: [container]}``: "on some day, the target worked in space Y"). Each attack runs once per
set and every row carries the set's label (``knowledge: "1h:action"``), so results, thresholds
(``where: {knowledge: "1h:action"}``) and baseline comparisons stay per set. The defaults cover coarse and
fine knowledge, down to the 1 s resolution of the raw log. Fields are named as in ``anonbench import --map``.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator

from generators import duration
from reid.utility import DIRECTION

CHECKS = ("leak_scan", "dictionary", "unicity", "profile_linkage", "quasi_identifiers", "singling_out",
          "linkability", "inference", "membership", "cross_tenant", "utility", "dp_audit", "passthrough")

MAX_ATTACKS = 10_000_000
"""Attacks per evaluator at most: each attack holds a row of floats per column in memory (10^15 asked for
petabytes), and anonymeter's rates do not improve past the size of the tables anyway."""


def parse_duration(text: str) -> dt.timedelta:
    """``"1h"`` -> ``timedelta(hours=1)``; the units are s, m, h, d, w (``generators.duration``)."""
    try:
        n, unit = duration.split(text, inner_space=False)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h or 1d") from None
    return dt.timedelta(microseconds=n * duration.US_PER_UNIT[unit])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# An attacker's knowledge field -> the events column it reads (names as in `anonbench import --map`).
KNOWLEDGE_FIELDS: dict[str, str] = {
    "action": "action", "product": "product", "container": "container_id", "object": "object_id",
    "org": "org_id", "outcome": "outcome", "auth": "auth_type", "country": "geo_country",
    "user_agent": "user_agent", "ip": "client_ip"}
FIELD_OF_COLUMN = {c: f for f, c in KNOWLEDGE_FIELDS.items()}


class KnowledgeSet(_Model):
    """What an attacker knows of each known event of a target: its time, rounded to ``time``, and the
    ``columns`` (knowledge fields). Compared with a release at the coarser of the attacker's and the release's
    resolution; a field the release does not carry comparably (dropped, pseudonymized) is left out."""

    time: str = Field(description="The attacker's time resolution (1s, 15m, 1h, 1d, ...).")
    columns: list[str] = Field(default_factory=list,
                               description=f"Known fields of each event besides its time: {list(KNOWLEDGE_FIELDS)}.")

    @field_validator("time")
    @classmethod
    def _time(cls, v: str) -> str:
        parse_duration(v)
        return v.strip()

    @field_validator("columns")
    @classmethod
    def _columns(cls, v: list[str]) -> list[str]:
        unknown = [c for c in v if c not in KNOWLEDGE_FIELDS]
        if unknown:
            raise ValueError(f"unknown knowledge field(s) {unknown}; fields are {list(KNOWLEDGE_FIELDS)}")
        return list(dict.fromkeys(v))

    @property
    def label(self) -> str:
        """``1h:action``, ``1d:container+product``; ``1h`` when only the time is known."""
        return f"{self.time}:{'+'.join(self.columns)}" if self.columns else self.time

    @property
    def event_columns(self) -> list[str]:
        return [KNOWLEDGE_FIELDS[c] for c in self.columns]


def default_knowledge() -> list[KnowledgeSet]:
    """Coarse to fine: the hour and the action (de Montjoye et al.'s setting), the day and the space worked in,
    the hour and the object, a quarter-hour and the product, and the exact second (the raw log's resolution)
    with the action."""
    return [KnowledgeSet(time=t, columns=c) for t, c in (("1h", ["action"]), ("1d", ["container"]),
                                                          ("1h", ["object"]), ("15m", ["product"]),
                                                          ("1s", ["action"]))]


class LeakScanParams(_Model):
    extract_embedded: bool = Field(
        True, description="Also find e-mail addresses and IPv4 addresses embedded inside longer strings.")
    extra_columns: dict[str, list[str]] = Field(
        default_factory=lambda: {"users": ["team_id"], "orgs": ["name", "domain"]},
        description="Raw columns searched for besides the persons' identifiers (generators.schema."
                    "IDENTIFIER_COLUMNS): internal team ids, which join back to the source, and the tenant's "
                    "name and domain, which name the customer every row belongs to.")


class DictionaryParams(_Model):
    columns: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {
            "users": {"account_id": "account_id", "email": "email"},
            "events": {"account_id": "account_id", "actor_email": "email", "client_ip": "ipv4"},
        },
        description="Anonymized table -> column -> candidate domain (account_id | email | ipv4).")
    ipv4_prefix: int = Field(24, ge=16, le=32, description="The attacker enumerates these raw IPv4 prefixes.")
    max_prefixes: int = Field(4000, ge=1, description="At most this many prefixes (the busiest) are enumerated.")
    weak_keys: bool = Field(True, description="Also try HMAC pseudonyms under weak keys: empty, short, published "
                                              "defaults (reid.weak_keys).")
    weak_key_bytes: int = Field(1, ge=0, le=2, description="Every key of at most this many bytes is tried.")


class UnicityParams(_Model):
    points: list[int] = Field(default_factory=lambda: [1, 2, 4, 8], description="Numbers of known points p.")
    time_bucket: str | None = Field(None, description="Deprecated (runs recorded before `attacks.knowledge`): "
                                                      "with point_columns, one more knowledge set.")
    point_columns: list[str] | None = Field(None, description="Deprecated: see time_bucket.")
    targets: int = Field(1000, ge=1, description="Targets sampled (accounts with enough points).")

    @field_validator("points")
    @classmethod
    def _points(cls, v: list[int]) -> list[int]:
        if not v or any(p < 1 for p in v):
            raise ValueError("points must be a non-empty list of integers >= 1")
        return sorted(set(v))

    @field_validator("time_bucket")
    @classmethod
    def _bucket(cls, v: str | None) -> str | None:
        if v is not None:
            parse_duration(v)
        return v

    @field_validator("point_columns")
    @classmethod
    def _point_columns(cls, v: list[str] | None) -> list[str] | None:
        unknown = [c for c in v or () if c not in FIELD_OF_COLUMN and c not in KNOWLEDGE_FIELDS]
        if unknown:
            raise ValueError(f"unknown event column(s) {unknown}; columns are {list(FIELD_OF_COLUMN)}")
        return v

    def legacy_set(self) -> KnowledgeSet | None:
        """The knowledge set the deprecated ``time_bucket``/``point_columns`` describe, if either is given."""
        if self.time_bucket is None and self.point_columns is None:
            return None
        columns = [FIELD_OF_COLUMN.get(c, c) for c in (self.point_columns or ["action"])]
        return KnowledgeSet(time=self.time_bucket or "1h", columns=columns)


class ProfileLinkageParams(_Model):
    split: float = Field(0.5, gt=0.05, lt=0.95,
                         description="Share of the period the attacker knows (raw); the rest is searched.")
    targets: int = Field(1000, ge=1)
    min_events: int = Field(5, ge=1, description="Actors with fewer events in a period are not profiled.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"hour_of_week": 1.0, "action": 1.0, "user_agent": 1.0, "ip_prefix": 1.0},
        description="Weight of each feature block in the cosine similarity: hour_of_week (the time, at the "
                    "knowledge set's resolution), one block per known field (weight 1 unless given here), and "
                    "the devices and networks every profiling attacker holds (user_agent, ip_prefix).")
    ipv4_prefix: int = Field(24, ge=8, le=32)
    hash_buckets: int = Field(512, ge=16, description="Feature-hashing width of user agents and IP prefixes.")
    min_overlap: float = Field(0.3, ge=0, le=1,
                               description="A block is used only when this share of its anonymized values "
                                           "also occurs in the attacker's raw vocabulary.")
    block_size: int = Field(256, ge=1, description="Targets scored per matrix block.")
    near_copy: float = Field(0.9, gt=0, le=1,
                             description="Synthetic releases: a top-ranked synthetic actor counts as the target's "
                                         "only when its later-period profile has at least this weighted mean "
                                         "cosine with the target's own (a verbatim copy scores 1).")

    @field_validator("weights")
    @classmethod
    def _weights(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - {"hour_of_week", "user_agent", "ip_prefix", *KNOWLEDGE_FIELDS}
        if unknown:
            raise ValueError(f"unknown feature block(s) {sorted(unknown)}")
        return v


class QuasiIdentifierParams(_Model):
    sets: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "demographic": ["timezone", "locale", "country", "role", "account_type"],
            "with_org": ["timezone", "locale", "country", "role", "org_size_band", "org_plan"],
        },
        description="Named QI sets over the per-account profile columns.")
    sensitive: str | None = Field("main_product", description="Sensitive attribute for l-diversity/t-closeness.")


class AnonymeterParams(_Model):
    n_attacks: int = Field(500, ge=1, le=MAX_ATTACKS, description="Attacks per evaluator (anonymeter's n_attacks).")
    max_attempts: int = Field(200_000, ge=1, description="Singling out: query attempts before giving up.")
    columns: list[str] = Field(
        default_factory=lambda: ["timezone", "locale", "country", "role", "account_type", "org_size_band",
                                 "org_plan", "main_product", "activity_band", "peak_hour", "weekend_share_band"],
        description="Profile columns the evaluators see.")
    aux_a: list[str] = Field(default_factory=lambda: ["timezone", "locale", "country", "role", "org_plan"])
    aux_b: list[str] = Field(default_factory=lambda: ["main_product", "activity_band", "peak_hour",
                                                      "weekend_share_band", "org_size_band"])
    secret: str = Field("main_product", description="Inference target column.")


class MembershipParams(_Model):
    targets: int = Field(1000, ge=1, description="Target accounts sampled, and as many control accounts (fewer "
                                                 "when the control population is smaller).")
    min_events: int = Field(1, ge=1, description="Accounts with fewer events are not candidates.")
    flag_share: float = Field(0.5, gt=0, lt=1,
                              description="Share of the pooled candidates flagged as members (the closest ones); "
                                          "0.5 = the member share of the balanced pool (Hayes et al. 2019).")
    modes: list[str] = Field(default_factory=lambda: ["trace", "attributes", "joint"],
                             description="Distances: trace (behaviour), attributes (user and org row), joint. "
                                         "The controls are held-out accounts of the same orgs, so every mode "
                                         "asks the account-level question (none tells which orgs are in the "
                                         "data).")
    attribute_columns: list[str] = Field(
        default_factory=lambda: ["timezone", "locale", "country", "role", "account_type", "org_plan",
                                 "org_size_band", "org_country", "org_industry"],
        description="Per-account attribute columns compared (those present on every side are used).")
    hash_buckets: int = Field(512, ge=16, description="Feature-hashing width of the action and product blocks.")
    block_size: int = Field(256, ge=1, description="Targets and controls scored per matrix block.")

    @field_validator("modes")
    @classmethod
    def _modes(cls, v: list[str]) -> list[str]:
        unknown = set(v) - {"trace", "attributes", "joint"}
        if unknown or not v:
            raise ValueError(f"modes must be a non-empty subset of trace, attributes, joint (got {sorted(unknown)})")
        return list(dict.fromkeys(v))


class CrossTenantParams(_Model):
    link_columns: dict[str, list[str]] = Field(
        default_factory=lambda: {"events": ["actor_email"], "users": ["email"]},
        description="Identifier columns whose equal values link accounts across orgs.")
    max_group: int = Field(5, ge=2, description="A value shared by more actors than this links nothing.")
    behaviour: bool = Field(True, description="Also link by behavioural profile (nearest neighbour).")
    targets: int = Field(2000, ge=1,
                         description="Multi-org persons the behaviour attack profiles (a seeded sample when there "
                                     "are more; each is ranked against every released actor): linked_share and "
                                     "linked_share_behaviour are then proportions over that sample, "
                                     "linked_share_identifier stays over every multi-org person.")


class UtilityParams(_Model):
    enabled_metrics: list[str] | None = Field(None, description="Utility metrics to report (None: all).")
    entropy_columns: list[str] = Field(
        default_factory=lambda: ["event_time", "user_agent", "client_ip", "action", "account_id"],
        description="Event columns whose retained entropy is reported.")

    @field_validator("enabled_metrics")
    @classmethod
    def _metrics(cls, v: list[str] | None) -> list[str] | None:
        unknown = set(v or ()) - set(DIRECTION)
        if unknown:
            raise ValueError(f"unknown utility metric(s) {sorted(unknown)}; metrics are {list(DIRECTION)}")
        return v


class PassthroughParams(_Model):
    """Released columns compared with their raw values (see :mod:`reid.passthrough`)."""

    columns: dict[str, list[str]] = Field(
        default_factory=lambda: {"orgs": ["n_accounts", "created_at"], "users": ["created_at"],
                                 "config_changes": ["old_value", "new_value"]},
        description="Table -> quasi-identifying columns whose released precision is measured.")


class DpAuditParams(_Model):
    """How hard ``dp_audit`` looks at each DP step (see :mod:`reid.dp_audit`)."""

    accounts: int = Field(400, ge=10, description="Privacy units sampled from the raw data into D.")
    seconds: float = Field(12.0, gt=0, description="Time budget of the noisy releases of one DP step: slow ones get "
                                                  "fewer of them (less power, same confidence).")
    screen_runs: int = Field(20, ge=4, description="Noisy releases of D and of D' each that pick the "
                                                   "distinguishing event and screen for trouble.")
    runs: int = Field(100, ge=10, description="Fresh releases of each that estimate the event when the "
                                              "screening looks suspicious.")
    min_runs: int = Field(20, ge=4, description="Fresh releases of each that estimate it otherwise.")
    candidates: int = Field(3, ge=1, description="Busiest units tried as the heavy clone (noise off).")
    heavy_events: int = Field(10_000, ge=10, description="Rows of the heavy unit in each table the step reads.")
    alpha: float = Field(1e-3, gt=0, lt=0.5, description="Chance that a correct mechanism fails one test.")


class AttackParams(_Model):
    """The ``attacks:`` section of a run config."""

    seed: int = Field(0, ge=0, description="Seed of every sampling step in the attacks.")
    checks: list[str] = Field(default_factory=lambda: list(CHECKS), description="Checks to run.")
    actor_columns: list[str] = Field(
        default_factory=lambda: ["account_id", "actor_email"],
        description="Columns of the anonymized events that name an actor; the first present one is used.")
    target_account_types: list[str] = Field(
        default_factory=lambda: ["atlassian", "customer"],
        description="Account types attacked (persons; bots are not targets).")
    knowledge: list[KnowledgeSet] = Field(
        default_factory=default_knowledge,
        description="What the attacker knows of a target's events: unicity and profile linkage run once per "
                    "set, and each row names its set in params.knowledge.")
    leak_scan: LeakScanParams = Field(default_factory=lambda: LeakScanParams())
    dictionary: DictionaryParams = Field(default_factory=lambda: DictionaryParams())
    unicity: UnicityParams = Field(default_factory=lambda: UnicityParams())
    profile_linkage: ProfileLinkageParams = Field(default_factory=lambda: ProfileLinkageParams())
    quasi_identifiers: QuasiIdentifierParams = Field(default_factory=lambda: QuasiIdentifierParams())
    anonymeter: AnonymeterParams = Field(default_factory=lambda: AnonymeterParams())
    membership: MembershipParams = Field(default_factory=lambda: MembershipParams())
    cross_tenant: CrossTenantParams = Field(default_factory=lambda: CrossTenantParams())
    utility: UtilityParams = Field(default_factory=lambda: UtilityParams())
    dp_audit: DpAuditParams = Field(default_factory=lambda: DpAuditParams())
    passthrough: PassthroughParams = Field(default_factory=lambda: PassthroughParams())

    @field_validator("checks")
    @classmethod
    def _checks(cls, v: list[str]) -> list[str]:
        unknown = set(v) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown check(s) {sorted(unknown)}; checks are {list(CHECKS)}")
        return v

    @field_validator("knowledge")
    @classmethod
    def _knowledge(cls, v: list[KnowledgeSet]) -> list[KnowledgeSet]:
        if not v:
            raise ValueError("knowledge must list at least one knowledge set")
        labels = [k.label for k in v]
        twice = sorted({x for x in labels if labels.count(x) > 1})
        if twice:
            raise ValueError(f"knowledge set(s) given twice: {twice}")
        return v

    @property
    def knowledge_sets(self) -> list[KnowledgeSet]:
        """``knowledge``, plus the set of the deprecated ``unicity.time_bucket``/``point_columns`` (recorded by
        runs made before knowledge sets) when it is not among them."""
        legacy = self.unicity.legacy_set()
        if legacy is None or legacy.label in {k.label for k in self.knowledge}:
            return list(self.knowledge)
        return [*self.knowledge, legacy]
