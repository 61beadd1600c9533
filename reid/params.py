"""Parameters of the event-level attacks (the ``attacks:`` section of a run config).

Every check has its own small model with defaults that follow the paper it implements, so a run config may
leave the whole section out. Durations are written as Polars duration strings (``30m``, ``1h``, ``1d``).
"""

from __future__ import annotations

import datetime as dt
import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reid.utility import DIRECTION

CHECKS = ("leak_scan", "dictionary", "unicity", "profile_linkage", "quasi_identifiers", "singling_out",
          "linkability", "inference", "membership", "cross_tenant", "utility", "dp_audit", "passthrough")

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^(\d+)([smhdw])$")


def parse_duration(text: str) -> dt.timedelta:
    """``"1h"`` -> ``timedelta(hours=1)``; the units are s, m, h, d, w."""
    m = _DURATION.match(text.strip())
    if not m or int(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration like 30m, 1h or 1d")
    return dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    time_bucket: str = Field("1h", description="The attacker's time resolution.")
    point_columns: list[str] = Field(default_factory=lambda: ["action"],
                                     description="What the attacker knows of each point besides its time.")
    targets: int = Field(1000, ge=1, description="Targets sampled (accounts with enough points).")

    @field_validator("points")
    @classmethod
    def _points(cls, v: list[int]) -> list[int]:
        if not v or any(p < 1 for p in v):
            raise ValueError("points must be a non-empty list of integers >= 1")
        return sorted(set(v))

    @field_validator("time_bucket")
    @classmethod
    def _bucket(cls, v: str) -> str:
        parse_duration(v)
        return v


class ProfileLinkageParams(_Model):
    split: float = Field(0.5, gt=0.05, lt=0.95,
                         description="Share of the period the attacker knows (raw); the rest is searched.")
    targets: int = Field(1000, ge=1)
    min_events: int = Field(5, ge=1, description="Actors with fewer events in a period are not profiled.")
    weights: dict[str, float] = Field(
        default_factory=lambda: {"hour_of_week": 1.0, "action": 1.0, "user_agent": 1.0, "ip_prefix": 1.0},
        description="Weight of each feature block in the cosine similarity.")
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
        unknown = set(v) - {"hour_of_week", "action", "user_agent", "ip_prefix"}
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
    n_attacks: int = Field(500, ge=1, description="Attacks per evaluator (anonymeter's n_attacks).")
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
    modes: list[str] = Field(default_factory=lambda: ["trace"],
                             description="Distances: trace (behaviour), attributes (user and org row), joint. "
                                         "Default trace only: the control population lives in other tenants, so "
                                         "the attribute and joint modes also tell which tenants are in the data "
                                         "(measured: 0.66 advantage for a release of the raw orgs with fresh "
                                         "accounts), which an account-level epsilon does not bound; opt in to "
                                         "report them.")
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
