"""Generation parameters (the ``generate:`` section of a run config). Fixed dates, never "now"."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PLANS = ("free", "standard", "premium", "enterprise")


class ActivityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sigma: float = Field(1.0, gt=0, le=4, description="Lognormal sigma of regular accounts' activity weights.")
    bot_weight: float = Field(12.0, gt=0, description="Mean activity of a bot relative to a human.")
    external_weight: float = Field(0.3, gt=0, description="Mean activity of an external collaborator.")
    weekend_level: float = Field(0.35, ge=0, le=1, description=(
        "Mean personal weekend propensity (Beta across people): weekend intensity relative to the weekday."))
    evening_level: float = Field(0.25, ge=0, le=1, description=(
        "Mean personal evening propensity (Beta across people): weight of the 18-24 h evening part."))
    propensity_concentration: float = Field(2.0, gt=0, description=(
        "a+b of the propensity Beta distributions; below 2 they are U-shaped (never / often)."))
    night_level: float = Field(0.075, ge=0, le=1, description="Human night (0-6h local) activity level.")
    unused_share: float = Field(0.10, ge=0, lt=1, description=(
        "Human seats with no activity in the period (unused licences, invited but never came)."))
    occasional_share: float = Field(0.30, ge=0, lt=1, description=(
        "Active human seats with a handful of events (one-off visits); externals twice as often."))
    occasional_single: float = Field(0.5, ge=0, le=1, description="Occasional users with exactly one event.")
    occasional_mean_extra: float = Field(2.0, ge=0, description=(
        "Mean events beyond two of the other occasional users (geometric)."))
    events_per_seat_day: float = Field(3.0, gt=0, description=(
        "Mean events per seat and day over all seats (unused ones included): sets how many accounts a run "
        "holds for its events."))


class SessionParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean_events: float = Field(14.0, gt=1, description="Mean events per human session.")
    bot_mean_events: float = Field(40.0, gt=1, description="Mean events per bot burst.")
    gap_median_seconds: float = Field(35.0, gt=0, description="Median gap between events in a session.")
    gap_sigma: float = Field(1.1, gt=0, le=4, description="Lognormal sigma of in-session gaps.")


MAX_CHUNKS = 100_000
"""Shards are named ``part-NNNNN`` (five digits) and read in name order: at most this many per table."""
MAX_EVENTS_PER_CHUNK = 10_000_000
"""A chunk is generated in memory by one worker: beyond this it would not fit a worker of a few GB."""


GROUPS = ("member", "admin", "external", "bot")
"""Behaviour groups of a fitted model: what a log tells apart (members stand for developers and business
users; admins by role, externals and bots by account type)."""


class SessionShape(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean_events: float = Field(gt=1, description="Mean events per session.")
    gap_median_seconds: float = Field(gt=0, description="Median gap between events in a session.")
    gap_sigma: float = Field(gt=0, le=4, description="Lognormal sigma of in-session gaps.")


class FittedBehaviour(BaseModel):
    """Behaviour tables fitted to a log (``anonbench fit``); with them ``generate`` samples sessions, times,
    products and actions from the tables (:class:`generators.model.BehaviourModel`) instead of its built-in
    constants. Per group (see ``GROUPS``); a group left out takes ``member``'s tables. Weights need not sum
    to 1; products and actions are the catalog's (``generators.catalog``)."""

    model_config = ConfigDict(extra="forbid")
    hour_of_week: dict[str, list[float]] = Field(description=(
        "Session-start weight per local hour of week (168 values, Monday 00:00 first)."))
    product_mix: dict[str, dict[str, float]] = Field(description="Weight of a session's product.")
    entry: dict[str, dict[str, dict[str, float]]] = Field(description="Product -> first action -> weight.")
    transitions: dict[str, dict[str, dict[str, dict[str, float]]]] = Field(description=(
        "Product -> action -> next action -> weight (within a session)."))
    sessions: dict[str, SessionShape]

    @field_validator("hour_of_week", "product_mix", "entry", "transitions", "sessions")
    @classmethod
    def _groups(cls, v: dict[str, object]) -> dict[str, object]:
        unknown = set(v) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown group(s) {sorted(unknown)}; groups are {list(GROUPS)}")
        if "member" not in v:
            raise ValueError("the 'member' group is required (other groups default to it)")
        return v

    @model_validator(mode="after")
    def _tables(self) -> FittedBehaviour:
        from generators.model import from_fitted  # the tables' shapes, products and actions are checked there

        from_fitted(self)
        return self


class GenerationParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: int = Field(1_000_000, gt=0, description="Events to generate (exact).")
    start: dt.date = Field(dt.date(2026, 3, 2), description="First day (UTC) of the observed period.")
    days: int = Field(28, ge=7, le=366, description="Length of the observed period in days.")
    events_per_chunk: int = Field(250_000, ge=1000, le=MAX_EVENTS_PER_CHUNK,
                                  description="Target events per logical chunk (shard; held in memory).")
    plan_mix: dict[str, float] = Field(
        default_factory=lambda: {"free": 0.46, "standard": 0.34, "premium": 0.15, "enterprise": 0.05})
    org_size_alpha: float = Field(1.15, gt=0.5, le=4, description="Pareto tail index of accounts per org.")
    org_size_min: int = Field(3, ge=1)
    org_size_max: int = Field(4000, ge=2)
    team_size_mean: float = Field(7.0, ge=1)
    remote_share: float = Field(0.15, ge=0, le=1, description="Humans not at their team's office.")
    bot_share: float = Field(0.04, ge=0, le=0.5, description="Share of accounts that are integrations/bots.")
    external_share: float = Field(0.05, ge=0, le=0.5, description="Share of external collaborators.")
    admin_share: float = Field(0.04, ge=0, le=0.5)
    multi_org_persons: float = Field(0.03, ge=0, le=0.5,
                                     description="Persons holding accounts in several orgs, per human account.")
    shared_email_share: float = Field(0.5, ge=0, le=1,
                                      description="Multi-org persons who use one e-mail in all their orgs.")
    config_changes_per_org: float = Field(6.0, ge=0, description="Mean config changes per org besides admin events.")
    rare_config_share: float = Field(0.15, ge=0, le=1, description=(
        "Share of a numeric setting's changes to a less common value (free-form settings have their own tail)."))
    control_share: float = Field(1.0, ge=0, le=1, description=(
        "Held-out control accounts per org, relative to the org's own accounts (same orgs, never released). 1: "
        "as many controls as members, so anonymeter's control rates need no size correction."))
    activity: ActivityParams = Field(default_factory=lambda: ActivityParams())
    session: SessionParams = Field(default_factory=lambda: SessionParams())
    behaviour: FittedBehaviour | None = Field(None, description=(
        "Fitted behaviour tables (written by `anonbench fit`); none: the generator's built-in behaviour."))

    @field_validator("plan_mix")
    @classmethod
    def _plans(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = set(v) - set(PLANS)
        if unknown:
            raise ValueError(f"unknown plan(s) {sorted(unknown)}; plans are {list(PLANS)}")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("plan weights must be >= 0 and not all 0")
        return v

    @model_validator(mode="after")
    def _chunks(self) -> GenerationParams:
        chunks = -(-self.events // self.events_per_chunk)
        if chunks > MAX_CHUNKS:
            raise ValueError(f"events: {self.events} events in chunks of {self.events_per_chunk} make {chunks} "
                             f"shards, more than {MAX_CHUNKS} (raise events_per_chunk, or generate less)")
        return self

    @property
    def end(self) -> dt.date:
        return self.start + dt.timedelta(days=self.days)
