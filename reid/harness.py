"""The event-level attack harness: every check on one run directory and one chain, scored with ``truth/``.

It reads the shards as Polars lazy scans (``raw/``, ``anon/<chain>/``, ``truth/``), works out — for the
scorer only — which raw account each released actor is, runs the checks of ``AttackParams.checks`` and
returns their metrics per check. A check that does not apply to a release (a chain that publishes aggregates
instead of events has no traces to single out) yields rows with ``applicable: false`` in ``params`` and
``n`` 0, never a crash and never a made-up figure.

**How the scorer knows whose trace is whose.** The attacker never sees the truth. The scorer joins released
rows back to raw rows:

* *positionally* when the chain is row-preserving (every shard has the raw shard's name and row count; chains
  keep shard and row order), which is exact;
* otherwise by a *fingerprint* — the released columns that the chain left unchanged (object, container,
  action, outcome…, and the time floored to the release's resolution) — joined shard by shard, each released
  actor taking the raw account most of its rows match (majority vote; ``purity`` records how clear it was).

Released actor -> raw account -> person (``truth/accounts.parquet``). Nothing here uses the chain's key.

A check that raises leaves one row that says so (``metric`` ``error``, ``params.error`` = the exception type,
value NaN): the gate reads it as *not measured*, never as a missing file it could overlook. The message itself
is not stored (it could quote a raw value); the traceback goes to the ``reid.harness`` logger (``--debug``).

**Synthetic releases.** When a step of the chain declares ``synthetic`` (the manifest's
``chains.<chain>.steps[i].flags``), no released actor is anybody's account: the alignment returns an empty map
(mode ``synthetic``) instead of crediting synthetic actors to the raw accounts they resemble. Unicity and
profile linkage then count only copies, against control persons (:mod:`reid.synthetic`); quasi-identifiers
and cross-tenant linkage decline with a reason; ``membership`` reads the chain's declared ε from the same
steps (``report.budget``). Every row of such a chain carries ``synthetic: true`` in ``params``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from generators.schema import LEAK_SCAN_COLUMNS, OBJECT_ID_COLUMNS
from reid import profiles
from reid.cross_tenant import cross_tenant
from reid.dictionary import candidate_domains, dictionary_attack
from reid.dp_audit import AuditSettings, dp_audit
from reid.leak_scan import TenantIds, leak_scan
from reid.membership import declared_budget, membership
from reid.params import AttackParams, KnowledgeSet
from reid.passthrough import passthrough
from reid.profile_linkage import profile_linkage, profile_resolution
from reid.result import Metric
from reid.synthetic import profile_linkage_synthetic, unicity_synthetic
from reid.unicity import comparable_columns, detect_resolution, unicity
from reid.utility import utility
from reid.weak_keys import candidate_keys, weak_key_attack
from runformat import manifest as run_manifest
from runformat.layout import RunDir, shards

log = logging.getLogger(__name__)
_OBJECT_IDS = {(t, c) for t, cs in OBJECT_ID_COLUMNS.items() for c in cs}
MIN_ID_CHARS = 10  # the leak scan's object and container ids: shorter ones recur by chance
OBJECT_IDS_SOURCE = "events.object_ids"  # how the leak scan's results name them
ERROR_METRIC = "error"

FINGERPRINT = ("object_id", "container_id", "action", "product", "outcome", "auth_type", "geo_country",
               "user_agent", "org_id")


def _shards(folder: Path) -> list[Path]:
    return shards(folder)


def _scan(folder: Path) -> pl.LazyFrame | None:
    parts = _shards(folder)
    return pl.scan_parquet(parts) if parts else None


def _rows(paths: list[Path]) -> list[tuple[str, int]]:
    return [(p.name, pq.ParquetFile(p).metadata.num_rows) for p in paths]


@dataclass
class RunData:
    """Lazy views of one run and one chain, and the scorer's truth maps (built once, on demand)."""

    run: Path
    chain: str
    raw: dict[str, pl.LazyFrame] = field(default_factory=dict)
    anon: dict[str, pl.LazyFrame] = field(default_factory=dict)
    control: dict[str, pl.LazyFrame] = field(default_factory=dict)
    accounts: pl.DataFrame | None = None
    control_accounts: pl.DataFrame | None = None
    steps: list[dict] = field(default_factory=list)          # the chain's steps as the manifest records them
    _truth: dict[str, tuple[pl.DataFrame, str]] = field(default_factory=dict)
    cache: dict[str, object] = field(default_factory=dict)   # derived tables shared by checks (profiles)

    @classmethod
    def open(cls, run: str | Path, chain: str) -> RunData:
        run = Path(run)
        data = cls(run=run, chain=chain)
        rd = RunDir(run)
        for kind, base in (("raw", rd.raw()), ("anon", rd.anon(chain)), ("control", rd.control())):
            if base.is_dir():
                for sub in sorted(base.iterdir()):
                    lf = _scan(sub)
                    if lf is not None:
                        getattr(data, kind)[sub.name] = lf
        if rd.truth_accounts.is_file():
            data.accounts = pl.read_parquet(rd.truth_accounts)
        if rd.control_accounts.is_file():
            data.control_accounts = pl.read_parquet(rd.control_accounts)
        data.steps = _chain_steps(run, chain)
        return data

    @property
    def synthetic(self) -> bool:
        """A step of the chain declares ``synthetic``: no released record belongs to a real account."""
        return any((s.get("flags") or {}).get("synthetic") for s in self.steps)

    def row_preserving(self, table: str) -> bool:
        raw = _shards(RunDir(self.run).raw(table))
        anon = _shards(RunDir(self.run).anon(self.chain, table))
        return bool(raw) and _rows(raw) == _rows(anon)

    def actor_column(self, candidates: list[str]) -> str | None:
        ev = self.anon.get("events")
        if ev is None:
            return None
        names = ev.collect_schema().names()
        return next((c for c in candidates if c in names), None)

    def actor_truth(self, column: str) -> tuple[pl.DataFrame, str]:
        """(actor -> account_id, person_id, purity; alignment mode) for an anonymized events column."""
        if column not in self._truth:
            self._truth[column] = self._align(column)
        return self._truth[column]

    def _align(self, column: str) -> tuple[pl.DataFrame, str]:
        if self.synthetic:
            # a synthetic actor is nobody: a fingerprint or positional join would credit it to a real account
            return pl.DataFrame(schema={"actor": pl.String, "account_id": pl.String, "purity": pl.Float64,
                                        "person_id": pl.String}), "synthetic"
        raw, anon = self.raw["events"], self.anon["events"]
        if self.row_preserving("events"):
            mode = "positional"
            pairs = pl.concat([anon.select(pl.col(column).cast(pl.String).alias("actor")),
                               raw.select("account_id")], how="horizontal")
        else:
            mode = "fingerprint"
            pairs = self._fingerprint_pairs(column)
        counts = pairs.drop_nulls().group_by("actor", "account_id").agg(pl.len().alias("n")) \
            .collect(engine="streaming")
        best = (counts.sort(["actor", "n", "account_id"], descending=[False, True, False])
                .group_by("actor", maintain_order=True)
                .agg(pl.col("account_id").first(), (pl.col("n").first() / pl.col("n").sum()).alias("purity")))
        accounts = self.accounts if self.accounts is not None else pl.DataFrame(
            schema={"account_id": pl.String, "person_id": pl.String})
        return best.join(accounts.select("account_id", "person_id"), on="account_id", how="left"), mode

    def _fingerprint_keys(self, column: str) -> list[str]:
        """Released columns the chain left unchanged: same type, and (in the first shard) nearly every
        distinct released value also occurs raw."""
        anon_schema = self.anon["events"].collect_schema()
        raw_schema = self.raw["events"].collect_schema()
        first_anon = _shards(RunDir(self.run).anon(self.chain, "events"))[:1]
        first_raw = _shards(RunDir(self.run).raw("events"))[:1]
        keys = []
        for c in FINGERPRINT:
            if c == column or c not in anon_schema or raw_schema.get(c) != anon_schema[c] or not first_anon:
                continue
            released = pl.scan_parquet(first_anon).select(pl.col(c)).unique()
            seen = released.join(pl.scan_parquet(first_raw).select(pl.col(c)).unique(), on=c, how="semi")
            n_rel, n_seen = pl.collect_all([released.select(pl.len()), seen.select(pl.len())])
            if n_rel.item() and n_seen.item() >= 0.9 * n_rel.item():
                keys.append(c)
        return keys

    def _fingerprint_pairs(self, column: str) -> pl.LazyFrame:
        """(actor, raw account) pairs, shard by shard: positional where the shard kept its rows, else joined
        on the unchanged columns and the time floored to the release's resolution."""
        raw_dir, anon_dir = RunDir(self.run).raw("events"), RunDir(self.run).anon(self.chain, "events")
        keys = self._fingerprint_keys(column)
        timed = "event_time" in self.anon["events"].collect_schema()
        res = _dur(detect_resolution(self.anon["events"])) if timed else None
        frames = []
        for shard in _shards(anon_dir):
            a = pl.scan_parquet(shard)
            r = pl.scan_parquet(raw_dir / shard.name)
            if _rows([shard]) == [(shard.name, pq.ParquetFile(raw_dir / shard.name).metadata.num_rows)]:
                frames.append(pl.concat([a.select(pl.col(column).cast(pl.String).alias("actor")),
                                         r.select("account_id")], how="horizontal"))
                continue
            t_expr = [pl.col("event_time").dt.truncate(res).alias("t")] if res is not None else []
            on = keys + (["t"] if t_expr else [])
            if not on:
                continue
            frames.append(a.select(pl.col(column).cast(pl.String).alias("actor"), *keys, *t_expr)
                          .join(r.select("account_id", *keys, *t_expr), on=on, how="inner")
                          .select("actor", "account_id"))
        return pl.concat(frames) if frames else pl.LazyFrame(schema={"actor": pl.String, "account_id": pl.String})

    def targets(self, account_types: list[str]) -> pl.DataFrame:
        """Eligible target accounts (account_id, person_id): persons of the listed account types."""
        users = self.raw.get("users")
        accounts = self.accounts if self.accounts is not None else pl.DataFrame(
            schema={"account_id": pl.String, "person_id": pl.String})
        if users is None:
            return accounts.select("account_id", "person_id")
        kept = users.filter(pl.col("account_type").is_in(account_types)).select("account_id").collect()
        return accounts.join(kept, on="account_id", how="semi").select("account_id", "person_id")

    def control_targets(self, account_types: list[str]) -> pl.DataFrame:
        """Control accounts (``account_id``) of the listed account types, with events."""
        users, events = self.control.get("users"), self.control.get("events")
        if events is None:
            return pl.DataFrame(schema={"account_id": pl.String})
        ids = events.select(pl.col("account_id").cast(pl.String)).unique()
        if users is not None and "account_type" in users.collect_schema().names():
            ids = ids.join(users.filter(pl.col("account_type").is_in(account_types))
                           .select(pl.col("account_id").cast(pl.String)), on="account_id", how="semi")
        return ids.collect().sort("account_id")


def _chain_steps(run: Path, chain: str) -> list[dict]:
    """The chain's steps from ``manifest.json`` (``chains.<chain>.steps``: flags, DP budget); [] if absent."""
    try:
        return run_manifest.chain_steps(run_manifest.load(run), chain)
    except (OSError, ValueError):
        return []


def _dur(res: dt.timedelta | None) -> str:
    secs = int(res.total_seconds()) if res else 1
    return f"{max(secs, 1)}s"


def not_applicable(check: str, metrics: tuple[str, ...], reason: str) -> list[Metric]:
    return [Metric(check, m, float("nan"), 0, params={"applicable": False, "reason": reason}) for m in metrics]


def not_measured(check: str, metrics: tuple[str, ...], reason: str) -> list[Metric]:
    """Rows of a check that applies but could not be measured (e.g. no control population): a failure."""
    return [Metric(check, m, float("nan"), 0, params={"measured": False, "reason": reason}) for m in metrics]


def raised(check: str, error: BaseException) -> list[Metric]:
    """The row of a check that raised: not measured, and saying so (the exception type only)."""
    return [Metric(check, ERROR_METRIC, float("nan"), 0,
                   params={"error": type(error).__name__, "measured": False,
                           "reason": f"the check raised {type(error).__name__}"})]


def run_checks(run: str | Path, chain: str, params: AttackParams | None = None,
               progress: Callable[[str], None] | None = None) -> dict[str, list[Metric]]:
    """Every enabled check on ``RUN/anon/<chain>``; metrics per check name. A check that raises yields its
    ``raised`` row instead of stopping the others."""
    params = params or AttackParams.model_validate({})
    data = RunData.open(run, chain)
    if "events" not in data.raw or data.accounts is None:
        raise FileNotFoundError(f"{run}: raw/events or truth/accounts.parquet missing (not a complete run)")
    out: dict[str, list[Metric]] = {}
    for check in params.checks:
        if progress:
            progress(check)
        t0 = time.perf_counter()
        try:
            metrics = CHECKS[check](data, params)
        except Exception as e:  # any failure of one attack is recorded as "not measured"
            log.info("check %s on chain %s raised %s", check, chain, type(e).__name__, exc_info=True)
            metrics = raised(check, e)
        seconds = time.perf_counter() - t0
        # wall time of the whole check, including shared work it triggered first (alignment, profiles)
        out[check] = [dataclasses.replace(m, seconds=seconds,
                                          params={**m.params, "synthetic": True} if data.synthetic else m.params)
                      for m in metrics]
    return out


def _event_context(data: RunData, params: AttackParams):
    column = data.actor_column(params.actor_columns)
    if column is None:
        return None
    truth, mode = data.actor_truth(column)
    return column, truth, mode, detect_resolution(data.anon["events"])


def _with(metrics: list[Metric], **extra: object) -> list[Metric]:
    return [dataclasses.replace(m, params={**m.params, **extra}) for m in metrics]


def _leak_scan(data: RunData, p: AttackParams) -> list[Metric]:
    raw = dict(data.raw)
    if "users" in raw and "account_type" in raw["users"].collect_schema().names():
        # an integration's display name is its product's ("Jenkins"), not a person's: persons' rows only
        raw["users"] = raw["users"].filter(pl.col("account_type").is_in(p.target_account_types))
    columns = {t: [c for c in cs if (t, c) not in _OBJECT_IDS] for t, cs in LEAK_SCAN_COLUMNS.items()}
    for t, cs in p.leak_scan.extra_columns.items():
        columns[t] = list(dict.fromkeys([*columns.get(t, []), *cs]))
    events = raw.get("events")
    tenant_ids: list[TenantIds] = []
    if events is not None and "org_id" in events.collect_schema().names():
        # object and container ids of one tenant, of at least MIN_ID_CHARS characters: an id several tenants
        # hold, or a short one such as "cfg-450", names nothing (independent data holds it by chance)
        kept = sorted(c for t, c in _OBJECT_IDS if t == "events" and c in events.collect_schema().names())
        if kept:
            tenant_ids.append(TenantIds(OBJECT_IDS_SOURCE, "events", tuple(kept), "org_id", MIN_ID_CHARS))
    return leak_scan(raw, data.anon, columns, extract_embedded=p.leak_scan.extract_embedded,
                     tenant_ids=tenant_ids)


def _dictionary(data: RunData, p: AttackParams) -> list[Metric]:
    d = p.dictionary
    rows = dictionary_attack(data.raw, data.anon, d.columns, ipv4_prefix=d.ipv4_prefix,
                             max_prefixes=d.max_prefixes, seed=p.seed)
    if d.weak_keys:
        domains, _ = candidate_domains(data.raw, d.ipv4_prefix, d.max_prefixes, p.seed)
        rows += weak_key_attack(data.anon, domains, d.columns, candidate_keys(short_bytes=d.weak_key_bytes))
    return rows


def _unicity_na(points: list[int], reason: str, sets: list[KnowledgeSet]) -> list[Metric]:
    """Not applicable, still one row per knowledge set, metric and p (reports plot unicity against p)."""
    out: list[Metric] = []
    for ks in sets:
        rows = [Metric("unicity", m, float("nan"), 0, params={"p": k, "applicable": False, "reason": reason})
                for k in points for m in ("unique_share", "reidentified_share")]
        out += _with([*rows, *not_applicable("unicity", ("baseline",), reason)], knowledge=ks.label)
    return out


def _known_columns(data: RunData, ks: KnowledgeSet) -> tuple[list[str], dict[str, object]]:
    """The columns of ``ks`` the release carries comparably, and the params that name the set (and what of it
    the release does not carry)."""
    cache = data.cache.setdefault("comparable_columns", {})
    assert isinstance(cache, dict)
    for c in ks.event_columns:
        if c not in cache:
            kept, _ = comparable_columns(data.raw["events"], data.anon["events"], [c])
            cache[c] = bool(kept)
    kept = [c for c in ks.event_columns if cache[c]]
    left_out = [c for c in ks.event_columns if not cache[c]]
    return kept, {"knowledge": ks.label, **({"left_out": left_out} if left_out else {})}


def _unicity_unmeasured(points: list[int], reason: str) -> list[Metric]:
    rows = [Metric("unicity", m, float("nan"), 0, params={"p": k, "measured": False, "reason": reason})
            for k in points for m in ("unique_share", "reidentified_share")]
    return [*rows, *not_measured("unicity", ("baseline",), reason)]


def _unicity(data: RunData, p: AttackParams) -> list[Metric]:
    u = p.unicity
    sets = p.knowledge_sets
    ctx = _event_context(data, p)
    if ctx is None:
        return _unicity_na(u.points, "no event-level actors released", sets)
    column, truth, mode, res = ctx
    if "event_time" not in data.anon["events"].collect_schema().names():
        return _unicity_na(u.points, "released events lack ['event_time']", sets)
    if data.synthetic and "events" not in data.control:
        reason = "synthetic release: copies are told from chance by control persons, and truth/control has no events"
        return [m for ks in sets for m in _with(_unicity_unmeasured(u.points, reason), knowledge=ks.label)]
    out: list[Metric] = []
    for ks in sets:
        columns, named = _known_columns(data, ks)
        if data.synthetic:
            rows = unicity_synthetic(data.raw["events"], data.control["events"], data.anon["events"],
                                     actor_column=column, targets=data.targets(p.target_account_types),
                                     control_targets=data.control_targets(p.target_account_types), points=u.points,
                                     time_bucket=ks.time, point_columns=columns, n_targets=u.targets,
                                     seed=p.seed, release_resolution=res)
        else:
            rows = _with(unicity(data.raw["events"], data.anon["events"], actor_column=column, actor_truth=truth,
                                 targets=data.targets(p.target_account_types), points=u.points,
                                 time_bucket=ks.time, point_columns=columns, n_targets=u.targets, seed=p.seed,
                                 release_resolution=res), truth_alignment=mode)
        out += _with(rows, **named)
    return out


def _profile_linkage(data: RunData, p: AttackParams) -> list[Metric]:
    ctx = _event_context(data, p)
    names = ("top1_accuracy", "top10_accuracy", "baseline", "baseline_top10")
    sets = p.knowledge_sets

    def na(reason: str) -> list[Metric]:
        return [m for ks in sets for m in _with(not_applicable("profile_linkage", names, reason), knowledge=ks.label)]
    if ctx is None or "event_time" not in data.anon["events"].collect_schema().names():
        return na("no event-level actors with times released")
    column, truth, mode, res = ctx
    if data.synthetic and "events" not in data.control:
        return [m for ks in sets for m in _with(not_measured(
            "profile_linkage", names, "synthetic release: copies are told from chance by control persons, and "
            "truth/control has no events"), knowledge=ks.label)]
    out: list[Metric] = []
    done: dict[tuple[str, tuple[str, ...]], list[Metric]] = {}
    for ks in sets:
        columns, named = _known_columns(data, ks)
        # hour-of-week profiles cannot tell times finer than an hour apart: 1 s, 15 m and 1 h knowledge of the
        # same columns give one profile, computed once
        same = (profile_resolution(ks.time, res), tuple(columns))
        if same not in done:
            if data.synthetic:
                done[same] = profile_linkage_synthetic(
                    data.raw["events"], data.control["events"], data.anon["events"], actor_column=column,
                    targets=data.targets(p.target_account_types),
                    control_targets=data.control_targets(p.target_account_types), params=p.profile_linkage,
                    seed=p.seed, release_resolution=res, knowledge_time=ks.time, known_columns=columns)
            else:
                done[same] = _with(profile_linkage(
                    data.raw["events"], data.anon["events"], actor_column=column, actor_truth=truth,
                    targets=data.targets(p.target_account_types), params=p.profile_linkage, seed=p.seed,
                    release_resolution=res, knowledge_time=ks.time, known_columns=columns), truth_alignment=mode)
        out += _with(done[same], **named)
    return out


def _cross_tenant(data: RunData, p: AttackParams) -> list[Metric]:
    if data.synthetic:
        return not_applicable("cross_tenant", ("linked_share", "linked_share_identifier", "linked_share_behaviour",
                                               "baseline"),
                              "synthetic release: no released account belongs to a person, so none can be linked "
                              "to another account of the same person; copied accounts are measured by membership")
    ctx = _event_context(data, p)
    column, truth, res = (ctx[0], ctx[1], ctx[3]) if ctx else (None, None, None)
    assert data.accounts is not None          # checked by run_checks
    accounts = data.accounts.join(data.targets(p.target_account_types), on="account_id", how="semi")
    return cross_tenant(data.anon, accounts=accounts, actor_column=column, actor_truth=truth,
                        user_truth=profiles.user_truth(data, p), params=p.cross_tenant, seed=p.seed,
                        release_resolution=res)


def _membership(data: RunData, p: AttackParams) -> list[Metric]:
    column = data.actor_column(p.actor_columns)
    return membership(data.raw, data.control, data.anon, actor_column=column,
                      users_key="email" if column == "actor_email" else "account_id",
                      account_types=p.target_account_types, params=p.membership,
                      budget=declared_budget(data.steps), seed=p.seed, synthetic=data.synthetic)


def _utility(data: RunData, p: AttackParams) -> list[Metric]:
    return utility(data.raw, data.anon, p.utility.enabled_metrics, p.utility.entropy_columns)


def _dp_audit(data: RunData, p: AttackParams) -> list[Metric]:
    a = p.dp_audit
    settings = AuditSettings(accounts=a.accounts, seconds=a.seconds, screen_runs=a.screen_runs, runs=a.runs,
                             min_runs=a.min_runs, candidates=a.candidates, heavy_events=a.heavy_events,
                             alpha=a.alpha, seed=p.seed)
    return dp_audit(data.run, data.chain, settings)


def _passthrough(data: RunData, p: AttackParams) -> list[Metric]:
    return passthrough(data, p.passthrough.columns, seed=p.seed)


CHECKS: dict[str, Callable[[RunData, AttackParams], list[Metric]]] = {
    "leak_scan": _leak_scan,
    "dictionary": _dictionary,
    "unicity": _unicity,
    "profile_linkage": _profile_linkage,
    "quasi_identifiers": profiles.quasi_identifier_check,
    "singling_out": profiles.singling_out_check,
    "linkability": profiles.linkability_check,
    "inference": profiles.inference_check,
    "membership": _membership,
    "cross_tenant": _cross_tenant,
    "utility": _utility,
    "dp_audit": _dp_audit,
    "passthrough": _passthrough,
}
