"""``dp.synthesize``: synthetic orgs, users and events from a behaviour model fitted under account-level DP.

The step consumes ``orgs``, ``users`` and ``events`` and releases synthetic tables of the same names (the raw
schema minus direct identifiers: no names, e-mail addresses, domains or IP addresses; every id synthetic).
How it works, in the order the data flows:

1. **Pre-aggregation** (``partial``/``merge``, per batch, vectorized): integer-coded projections of the three
   tables (:func:`anonymizers.dp_stats.project`).
2. **Contribution bounding** (``finalize``): per account at most ``max_events_per_account`` events in the
   period, as whole sessions chosen by a seeded hash of the session id, each cut to
   ``max_session_events`` (:func:`anonymizers.dp_stats.account_stats`). The pipeline does it bucket by
   bucket (the bucketed contract of :mod:`anonymizers.base`): each shard's projected events are cut by the
   hash of their account into buckets of about ``EVENTS_PER_BUCKET`` events, and each bucket — its events
   from every shard, its accounts of ``users``, every org — is bounded and measured exactly on its own
   (``summarize``); the statistics are per account, so the buckets' exact sums add up to those of the whole
   table (``combine``), and the noise is added once, to the total.
3. **Measurement** (the DP core, :meth:`DpSynthesize.dp_measure`): a fixed workload of 1-/2-way attribute
   marginals, activity histograms, hour-of-week profiles in local time (humans and bots), product mixes,
   action transitions, per-account session split rates, gap and auth/user-agent histograms, each with L2
   sensitivity 1 per account, Gaussian noise from python-dp, zCDP accounting (:mod:`anonymizers.dp_measure`).
4. **Fitting and sampling** (post-processing, seeded): the noisy measurements become a
   :class:`anonymizers.dp_fit.SynthModel`; a synthetic population is drawn from it and its events generated,
   shard by shard, by the generator's own code (:mod:`anonymizers.dp_sample`).

The release is (epsilon, delta)-DP for the account (the privacy unit): a person with accounts in several
orgs counts as several units. ``config_changes`` is not modelled; a chain drops it (``dp-synthetic`` does).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from anonymizers.base import Anonymizer, BatchContext, DPMeasurement, PrivacyBudget
from anonymizers.dp_fit import SynthModel, fit
from anonymizers.dp_measure import (
    ExactSums,
    activity_resolution,
    epsilon_from,
    exact_all,
    measure_all,
    rho_from,
    spec_map,
    specs,
    split,
    total,
)
from anonymizers.dp_sample import Population, group_sizes, population, shard
from anonymizers.dp_stats import PROJECTED, AccountStats, account_stats, bucket_pieces, project
from generators.plan import epoch_us

NEEDS = {"events": ("event_time", "product", "action", "account_id", "session_id", "event_id", "auth_type",
                    "user_agent", "org_id", "object_id", "container_id", "geo_country", "outcome"),
         "users": ("account_id", "org_id", "account_type", "role", "country", "timezone", "locale", "created_at",
                   "team_id"),
         "orgs": ("org_id", "plan", "size_band", "country", "industry", "ai_training_opt_out", "data_residency",
                  "default_locale", "default_timezone", "created_at")}
EVENTS_PER_BUCKET = 500_000
"""The pipeline bounds and measures the accounts in buckets of about this many events (memory per worker)."""
NOT_RELEASED = {"events": ("actor_email", "client_ip"), "users": ("email", "display_name"),
                "orgs": ("name", "domain")}
"""Columns of the raw schema that the synthetic release leaves out (direct identifiers)."""


class DpSynthesizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epsilon: float = Field(1.0, gt=0, le=20, description="Privacy budget epsilon of the whole release.")
    delta: float = Field(1e-6, gt=0, lt=1e-2, description="Privacy budget delta of the whole release.")
    start: dt.date = Field(dt.date(2026, 3, 2), description="First day (UTC) of the period modelled.")
    days: int = Field(28, ge=7, le=366, description="Length of the period; events outside it are left out.")
    max_events_per_account: int = Field(2000, ge=1, description="Contribution bound: events per account and "
                                                                "period (whole sessions).")
    max_session_events: int = Field(200, ge=2, description="Contribution bound: events per session.")
    bounding_seed: int = Field(0, ge=0, description="Seed of the hash that picks the sessions an account keeps.")
    seed: int = Field(0, ge=0, description="Seed of the sampling (post-processing; the noise is never seeded).")
    events_per_shard: int = Field(250_000, ge=1000, description="Synthetic events per output shard (about).")


@dataclass(frozen=True, eq=False)
class SynthRelease:
    """What the DP core hands to the sampling: the fitted model and the population drawn from it."""

    model: SynthModel
    population: Population


class DpSynthesize(Anonymizer):
    """``columns: {events: ["*"], users: ["*"], orgs: ["*"]}``: the three tables it models and replaces."""

    name = "dp.synthesize"
    Params = DpSynthesizeParams
    params: DpSynthesizeParams
    row_preserving = False
    deterministic = False
    stateful = True
    releases = ("orgs", "users", "events")
    differentially_private = True
    synthetic = True

    # --- validation -------------------------------------------------------------------------------------------
    def check_table(self, table: str, columns: list[str], schema: pa.Schema) -> str | None:
        if table not in NEEDS:
            return f"dp.synthesize models only {sorted(NEEDS)}; drop {table!r} in another step"
        missing = [c for c in NEEDS[table] if c not in schema.names]
        return f"table {table!r} has no column {missing[0]!r} (dp.synthesize needs it)" if missing else None

    def output_schema(self, table: str, columns: list[str], schema: pa.Schema) -> None:
        return None

    def released_schemas(self, columns: Mapping[str, list[str]], schemas: Mapping[str, pa.Schema]
                         ) -> dict[str, pa.Schema]:
        missing = [t for t in NEEDS if t not in columns]
        if missing:
            raise ValueError(f"columns: dp.synthesize needs the tables {sorted(NEEDS)} (missing {missing[0]!r})")
        return {t: pa.schema([f for f in schemas[t] if f.name not in NOT_RELEASED[t]])
                for t in self.released_tables()}

    def apply(self, batch: pa.Table, ctx: BatchContext) -> None:
        return None  # the input tables are replaced by the synthetic release

    # --- pre-aggregation and bounding --------------------------------------------------------------------
    def _window(self) -> tuple[int, int]:
        p = self.params
        start = epoch_us(p.start)
        return start, start + p.days * 86_400 * 1_000_000

    def partial(self, batch: pa.Table, ctx: BatchContext) -> list[pa.Table]:
        out = project(ctx.table, batch, self.params.bounding_seed, *self._window())
        return [] if out is None or out.num_rows == 0 else [out]

    def merge(self, a: list[pa.Table], b: list[pa.Table]) -> list[pa.Table]:
        return [*a, *b]

    def finalize(self, partials: Mapping[str, list[pa.Table]]) -> AccountStats:
        p = self.params
        return account_stats({t: list(v) for t, v in partials.items()}, seed=p.bounding_seed, start=p.start,
                             days=p.days, max_events=p.max_events_per_account,
                             max_session_events=p.max_session_events)

    # --- the same, bucket by bucket (the pipeline; see the bucketed contract in anonymizers.base) ------
    bucketed_tables = ("events",)

    def input_columns(self, table: str) -> tuple[str, ...] | None:
        return PROJECTED.get(table)

    def buckets(self, rows: int) -> int:
        return max(1, min(4096, math.ceil(rows / EVENTS_PER_BUCKET)))

    def bucket(self, table: str, partial: list[pa.Table], buckets: int) -> list[tuple[int, list[pa.Table]]]:
        parts = [t for t in partial if t.num_rows]
        if not parts:
            return []
        return [(b, [piece]) for b, piece in bucket_pieces(pa.concat_tables(parts), buckets)]

    def context(self, partials: Mapping[str, list[pa.Table]]) -> dict[str, pa.Table]:
        return {t: pa.concat_tables(v) for t, v in partials.items() if v}

    def summarize(self, context: Mapping[str, pa.Table], bucket: int, buckets: int,
                  pieces: list[list[pa.Table]]) -> ExactSums:
        """Bounding and exact measurements of the accounts of one bucket: its events (all shards) and the
        accounts of ``users`` in the same bucket (with every org, for their attributes)."""
        parts: dict[str, list[pa.Table]] = {"events": [t for piece in pieces for t in piece]}
        if "users" in context:
            users = context["users"]
            mine = dict(bucket_pieces(users, buckets)).get(bucket)
            parts["users"] = [mine if mine is not None else users.slice(0, 0)]
        if "orgs" in context:
            parts["orgs"] = [context["orgs"]]
        return exact_all(self.finalize(parts), self.resolution())

    def combine(self, summaries: list[ExactSums]) -> ExactSums:
        return total(summaries, self.resolution())

    # --- the DP contract ------------------------------------------------------------------------------------
    def rho(self) -> float:
        return rho_from(self.params.epsilon, self.params.delta)

    def resolution(self) -> int:
        """Bins per octave of the activity histogram, from the budget (public): see
        :func:`anonymizers.dp_measure.activity_resolution`."""
        return activity_resolution(self.rho())

    def privacy_budget(self) -> PrivacyBudget:
        p = self.params
        return PrivacyBudget(
            epsilon=p.epsilon, delta=p.delta, unit="account_id", accounting="zCDP",
            split=split(self.rho(), specs(self.resolution())),
            bounds={"max_events_per_account": p.max_events_per_account,
                    "max_session_events": p.max_session_events, "l2_norm_per_account_and_measurement": 1.0,
                    "period_start": p.start.isoformat(), "days": p.days},
            mechanism="Gaussian noise (python-dp) on one-hot or L2-clipped per-account contributions; "
                      "rho-zCDP (Bun & Steinke 2016), rho split over the measurements (split = rho_i)")

    def measure(self, stats: AccountStats | ExactSums, *, noise: bool = True) -> dict[str, Any]:
        return measure_all(stats, self.rho(), noise=noise)

    def dp_measure(self, tables: Mapping[str, pa.Table], *, noise: bool = True) -> list[DPMeasurement]:
        parts = {t: self.partial(tab, BatchContext(t, tuple(tab.column_names))) for t, tab in tables.items()
                 if t in NEEDS}
        stats = self.finalize(parts)
        measured = self.measure(stats, noise=noise)
        sm = spec_map(self.resolution())
        out = []
        for name, m in measured.items():
            spec = sm[name]
            out.append(DPMeasurement(
                name=name, values=dict(zip(spec.cells, m.values.tolist(), strict=True)),
                l1_sensitivity=math.sqrt(spec.max_cells_per_account) if spec.clipped else 1.0,
                epsilon=epsilon_from(m.rho, self.params.delta), delta=self.params.delta,
                l0_sensitivity=spec.max_cells_per_account))
        return out

    # --- the release (post-processing of the measurements) ----------------------------------------------
    def fit_release(self, state: AccountStats | ExactSums) -> SynthRelease:
        """Measure (with noise), fit, and draw the synthetic population (from the statistics of all accounts
        at once, or from the sums of their buckets' exact measurements)."""
        p = self.params
        model = fit(self.measure(state, noise=True), p.max_events_per_account)
        return SynthRelease(model, population(model, p.seed, p.start, p.days, p.events_per_shard))

    def release_from_model(self, model: SynthModel) -> SynthRelease:
        p = self.params
        return SynthRelease(model, population(model, p.seed, p.start, p.days, p.events_per_shard))

    def release_shards(self, release: SynthRelease) -> int:
        return len(release.population.shards)

    def release_shard(self, release: SynthRelease, i: int) -> dict[str, pa.Table]:
        p = self.params
        return shard(release.model, release.population, p.seed, i, p.start, p.days)

    def report(self, state: Any) -> dict[str, Any]:
        if isinstance(state, SynthRelease):
            pop = state.population
            return {"synthetic_orgs": pop.orgs.num_rows, "synthetic_accounts": len(pop.acc_group),
                    "synthetic_accounts_per_group": group_sizes(pop), "shards": len(pop.shards)}
        return {}
