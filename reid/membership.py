"""Membership inference: can an attacker tell an account that was in the data from one that was not, by the
closest released record?

The attacker holds candidate accounts — half of them *targets* (raw accounts the release was made from), half
*controls* (``truth/control/``: accounts generated alike and never released) — and for each computes its
distance to the closest released record (DCR), the full black-box attack on generative models of Chen, Yu,
Zhang & Fritz ("GAN-Leaks", CCS 2020). Three distances (``mode`` in ``params``):

* ``trace`` — the account's behaviour: hour-of-week, action and product histograms (per block cosine, as in
  ``profile_linkage``) and its activity level (events, active days, sessions; ``exp(-|Δ log(1+x)|)``), at the
  release's time resolution; ``1 - mean similarity`` over the blocks, 0 for a verbatim copy;
* ``attributes`` — the account's row (user and org attributes): the share of columns that differ;
* ``joint`` — both, against the same released account (its trace and its users row).

Without the truth, the attacker flags as members the ``flag_share`` of the pooled candidates closest to the
release (ties at the cut-off broken uniformly at random; the rates are the expectation over that tie-break,
see :func:`flag_closest`). With as many targets as controls the member share is one half, and flagging
the closest half is the attack of Hayes, Melis, Danezis & De Cristofaro ("LOGAN", PoPETs 2019: the attacker
knows how many candidates are members and picks the top ones).

Metrics per mode: ``attack_rate`` (targets flagged: the true positive rate), ``control_rate`` (controls
flagged: the false positive rate), ``baseline_rate`` (a coin with the same share), ``risk`` =
(attack − control)/(1 − control) as anonymeter computes it (Giomi et al., PoPETs 2023), and ``advantage`` =
TPR − FPR (Yeom, Giacomelli, Fredrikson & Jha, CSF 2018) with Newcombe's hybrid score interval (Stat. Med.
1998). Where the chain declares (ε, δ)-DP with an account-level unit, ``params.cap`` is the most any attacker
can achieve: advantage ≤ (e^ε − 1 + 2δ)/(e^ε + 1), the corner of the DP privacy region (Kairouz, Oh &
Viswanath, ICML 2015; Humphries et al., CSF 2023, who also show that dependent records can exceed it), and
``params.risk_cap`` the same for the risk (≤ 1 − e^−ε(1 − δ/(1 − FPR))). ``advantage_over_cap`` (advantage −
cap, with the advantage's interval) is positive when the measurement contradicts the claim.

The controls are held-out accounts *of the same orgs* (``generators.plan``: as many per org as the org's own
accounts), so an account's org row is no tell: every mode asks whether *this account* was in the data, the
question an account-level ε bounds, and every mode is gated. (With controls from other orgs, as before issue
8, the attribute and joint modes told which orgs are in the data — 0.66 attribute advantage for a release of
the raw orgs with fresh accounts — which no account-level guarantee covers: records of one org are dependent,
Humphries et al. 2023.) Measured on the default run (1M events): ``dp-synthetic`` at ε = 1 scored trace
0.006, attributes 0.012, joint −0.028; the raw release (``none``) 0.81, 0.12, 1.00.

How to read it: 0 — members are no closer to the release than anyone else; 1 — every member has a copy in
the release. On an event-level release (pseudonymized traces) the members' own traces are released, so the
advantage is close to 1 by construction. Every distance is a blocked sparse/dense matrix product; no
per-pair Python loop.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp

from reid import profiles
from reid.anonymeter_stats import AttackCounts, attack_metrics
from reid.arrays import distinct
from reid.params import MembershipParams
from reid.profile_linkage import (
    MAX_BLOCK_CELLS,
    events_profile_matrix,
    hour_of_week_expr,
    rows_per_block,
)
from reid.result import Metric, wilson_interval
from reid.unicity import detect_resolution, duration_text, rng_for, sample_targets

CHECK = "membership"
MODES = ("trace", "attributes", "joint")
METRICS = ("risk", "attack_rate", "control_rate", "baseline_rate", "advantage")
ACCOUNT_UNITS = frozenset({"account_id", "account", "person_id", "person", "user_id", "user", "email",
                           "actor_email"})
"""Privacy units at least as coarse as an account: a bound per unit bounds an account's membership."""


def dp_cap(epsilon: float, delta: float = 0.0) -> float:
    """The largest membership advantage (TPR − FPR) any test achieves against (ε, δ)-DP (Kairouz et al. 2015)."""
    return min(1.0, (math.expm1(epsilon) + 2 * delta) / (math.exp(epsilon) + 1))


def declared_budget(steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ε and δ a chain declares, summed over its DP steps (basic sequential composition, Dwork & Roth 2014,
    Thm 3.16), read from the manifest's chain steps (``flags``, ``report.budget``); ``cap`` is None with a
    ``cap_reason`` when no ε is declared or the privacy unit is finer than an account."""
    dp = [s for s in steps if (s.get("flags") or {}).get("differentially_private")]
    if not dp:
        return {"epsilon": None, "cap": None, "cap_reason": "no differentially private step declared"}
    eps, delta, units = 0.0, 0.0, []
    for s in dp:
        budget = (s.get("report") or {}).get("budget") or {}
        e = budget.get("epsilon")
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e) or e < 0:
            return {"epsilon": None, "cap": None,
                    "cap_reason": f"DP step {s.get('index', '?')} records no epsilon in the manifest"}
        eps += float(e)
        delta += float(budget.get("delta") or 0.0)
        units.append(str(budget.get("privacy_unit") or budget.get("unit") or ""))
    out: dict[str, Any] = {"epsilon": eps, "delta": delta, "privacy_unit": sorted(set(units)),
                           "accounting": "sum over DP steps (basic composition)"}
    coarse = [u for u in units if u not in ACCOUNT_UNITS]
    if coarse:
        return {**out, "cap": None, "cap_reason": f"privacy unit {sorted(set(coarse))} is not an account"}
    return {**out, "cap": dp_cap(eps, delta)}


def advantage_interval(tp: float, n_t: int, fp: float, n_c: int) -> tuple[float, float, float]:
    """TPR − FPR and Newcombe's hybrid score 95% interval for a difference of two proportions (the counts may be
    expected counts, see :func:`flag_closest`)."""
    p1, p2 = tp / n_t, fp / n_c
    l1, u1 = wilson_interval(tp, n_t)
    l2, u2 = wilson_interval(fp, n_c)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def flag_closest(d_targets: np.ndarray, d_controls: np.ndarray, share: float) -> tuple[float, float, float]:
    """Flag the ``share`` of the pooled candidates with the smallest distance, ties at the cut-off broken
    uniformly at random, and return the *expected* (targets flagged, controls flagged) over that tie-break,
    with the distance cut-off.

    The candidates strictly closer than the cut-off are flagged; the ``s`` slots left go to the ``a`` candidates
    at the cut-off, of which ``a_t`` are targets, so a uniform tie-break flags ``s·a_t/a`` of those targets in
    expectation. Taking that expectation instead of one random draw (Rao–Blackwell: the conditional
    expectation given the distances) keeps the attack's expected rates and removes the tie-break's variance,
    a hypergeometric term that dominates where the distances are discrete (the attribute mode's share of
    differing columns ties by the hundred). The counts may therefore be fractional."""
    pool = np.concatenate([d_targets, d_controls])
    k = round(share * pool.size)
    if k == 0:
        return 0.0, 0.0, float("nan")
    cut = float(np.partition(pool, k - 1)[k - 1])
    below_t, below = int((d_targets < cut).sum()), int((pool < cut).sum())
    at_t, at = int((d_targets == cut).sum()), int((pool == cut).sum())
    tp = below_t + (k - below) * at_t / at
    return tp, k - tp, cut


def _na(reason: str, **params: Any) -> list[Metric]:
    return [Metric(CHECK, m, float("nan"), 0, params={**params, "applicable": False, "reason": reason})
            for m in METRICS]


def _unmeasured(reason: str, **params: Any) -> list[Metric]:
    """The attack applies but has no controls to measure chance against: not measured (fails the gate)."""
    return [Metric(CHECK, m, float("nan"), 0, params={**params, "measured": False, "reason": reason})
            for m in METRICS]


def eligible(tables: Mapping[str, pl.LazyFrame], account_types: list[str], min_events: int) -> pl.DataFrame:
    """Accounts (``account_id``) of the given types with at least ``min_events`` events."""
    events = tables["events"]
    active = (events.group_by(pl.col("account_id").cast(pl.String)).agg(pl.len().alias("n"))
              .filter(pl.col("n") >= min_events).select("account_id"))
    users = tables.get("users")
    if users is not None and "account_type" in users.collect_schema().names():
        persons = users.filter(pl.col("account_type").is_in(account_types)) \
            .select(pl.col("account_id").cast(pl.String))
        active = active.join(persons, on="account_id", how="semi")
    return active.collect(engine="streaming").sort("account_id")


@dataclass(frozen=True)
class Traces:
    """Trace profiles of some entities (rows in a fixed order): the sparse block matrix (per block
    L2-normalized counts, so a dot product sums per-block cosines) and the log(1 + x) activity columns."""

    matrix: sp.csr_matrix
    activity: np.ndarray

    @classmethod
    def of(cls, events: pl.LazyFrame, key: str, entities: pl.Series, blocks: list[str], activity: list[str],
           resolution: str, buckets: int) -> Traces:
        lf = events.filter(pl.col(key).cast(pl.String).is_in(entities.implode()))
        exprs = {"hour_of_week": hour_of_week_expr(resolution), "action": pl.col("action"),
                 "product": pl.col("product")}
        matrix = events_profile_matrix(lf, key, entities, {b: exprs[b] for b in blocks}, {b: 1.0 for b in blocks},
                                       buckets)
        aggs = {"events": pl.len(), "days": pl.col("event_time").dt.truncate("1d").n_unique(),
                "sessions": pl.col("session_id").n_unique()}
        act = (lf.group_by(pl.col(key).cast(pl.String).alias("entity")).agg([aggs[a].alias(a) for a in activity])
               .collect(engine="streaming"))
        act = pl.DataFrame({"entity": entities}).join(act, on="entity", how="left", maintain_order="left")
        return cls(matrix, np.log1p(act.select(activity).fill_null(0).to_numpy().astype(np.float64)))

    def stack(self, other: Traces) -> Traces:
        return Traces(sp.vstack([self.matrix, other.matrix]).tocsr(), np.vstack([self.activity, other.activity]))


def _codes(frames: list[pl.DataFrame], columns: list[str]) -> list[np.ndarray]:
    """Integer codes of each frame's attribute columns over a shared vocabulary (null = -1, equal to null)."""
    out = [np.empty((f.height, len(columns)), dtype=np.int32) for f in frames]
    for j, c in enumerate(columns):
        both = pl.concat([f[c].cast(pl.String) for f in frames]).rank("dense").fill_null(0).cast(pl.Int32) - 1
        start = 0
        for f, arr in zip(frames, out, strict=True):
            arr[:, j] = both.slice(start, f.height).to_numpy()
            start += f.height
    return out


def _attributes(tables: Mapping[str, pl.LazyFrame], key: str) -> pl.DataFrame | None:
    return profiles.build(tables.get("users"), tables.get("orgs"), None, None, users_key=key)


@dataclass(frozen=True)
class Features:
    """What the distances are computed from, for the query accounts (targets then controls) or for the
    release: ``traces`` (None: no traces), ``attrs`` (attribute codes per row; for the release, its users rows)
    and, for the release only, ``joint_attrs`` (the users row of each trace candidate, in trace order)."""

    traces: Traces | None = None
    attrs: np.ndarray | None = None
    joint_attrs: np.ndarray | None = None


def nearest(queries: Features, release: Features, n_blocks: int, block_size: int) -> dict[str, np.ndarray]:
    """Distance from each query row to its closest released record, per mode, in blocks of query rows and
    chunks of released records (a running minimum over the chunks: memory follows one chunk, not the
    release; every distance is computed as without chunks, so the minimum is the same).

    trace: ``1 - (Σ block cosines + Σ exp(-|Δ log(1+activity)|)) / (blocks + activity columns)``;
    attributes: share of differing columns; joint: the mean of the two against the same released account."""
    qt, rt, qa = queries.traces, release.traces, queries.attrs
    with_traces = qt is not None and rt is not None and rt.matrix.shape[0] > 0
    with_attrs = qa is not None and qa.shape[1] > 0
    n = qt.matrix.shape[0] if qt is not None else qa.shape[0] if qa is not None else 0
    out: dict[str, np.ndarray] = {}
    if with_traces and qt is not None and rt is not None:
        used = distinct(qt.matrix.indices)              # only features some query has can add to a score
        q_mat = qt.matrix[:, used].tocsr()
        r_used = rt.matrix[:, used].tocsr()
        q_act, r_act_all = qt.activity.astype(np.float32), rt.activity.astype(np.float32)
        joint = with_attrs and release.joint_attrs is not None
        step = max(1, MAX_BLOCK_CELLS // max(used.size, 1))
        for c0 in range(0, r_used.shape[0], step):
            c1 = min(c0 + step, r_used.shape[0])
            r_dense = np.asarray(r_used[c0:c1].T.toarray(), dtype=np.float32)   # features x candidates
            r_act = r_act_all[c0:c1]
            rows = rows_per_block(block_size, c1 - c0)
            for lo in range(0, n, rows):
                hi = min(lo + rows, n)
                sim = np.asarray(q_mat[lo:hi] @ r_dense, dtype=np.float32)
                for k in range(q_act.shape[1]):
                    sim += np.exp(-np.abs(q_act[lo:hi, k, None] - r_act[None, :, k]))
                d_trace = 1.0 - sim / np.float32(n_blocks + q_act.shape[1])
                _running_min(out, "trace", n, lo, hi, d_trace.min(axis=1))
                if joint and qa is not None and release.joint_attrs is not None:
                    d_joint = (d_trace + _mismatch(qa[lo:hi], release.joint_attrs[c0:c1])) / 2
                    _running_min(out, "joint", n, lo, hi, d_joint.min(axis=1))
    if with_attrs and qa is not None and release.attrs is not None and release.attrs.shape[0]:
        step = max(1, MAX_BLOCK_CELLS // max(qa.shape[1], 1))
        for c0 in range(0, release.attrs.shape[0], step):
            c1 = min(c0 + step, release.attrs.shape[0])
            rows = rows_per_block(block_size, c1 - c0)
            for lo in range(0, n, rows):
                hi = min(lo + rows, n)
                _running_min(out, "attributes", n, lo, hi, _mismatch(qa[lo:hi], release.attrs[c0:c1]).min(axis=1))
    return out


def _running_min(out: dict[str, np.ndarray], mode: str, n: int, lo: int, hi: int, values: np.ndarray) -> None:
    """``out[mode][lo:hi]`` = the smaller of itself and ``values`` (first chunk: ``values``)."""
    acc = out.setdefault(mode, np.full(n, np.inf))
    np.minimum(acc[lo:hi], values, out=acc[lo:hi])


def _mismatch(q: np.ndarray, c: np.ndarray) -> np.ndarray:
    miss = np.zeros((q.shape[0], c.shape[0]), dtype=np.float32)
    for j in range(q.shape[1]):
        miss += q[:, j, None] != c[None, :, j]
    return miss / np.float32(q.shape[1])


def _with_attributes(queries: Features, release: Features, ids: pl.Series, actors: pl.Series | None,
                     sides: list[pl.DataFrame | None], rel: pl.DataFrame | None,
                     wanted: list[str]) -> tuple[Features, Features, list[str]]:
    """Add attribute codes: ``sides`` are the raw and control attribute tables (key + columns), ``rel`` the
    released one; only columns present on every side are compared."""
    tables = [t for t in (*sides, rel) if t is not None]
    if rel is None or len(tables) < 3:
        return queries, release, []
    columns = [c for c in wanted if all(c in t.columns for t in tables)]
    if not columns:
        return queries, release, []
    known = pl.concat([t.select("key", *columns) for t in sides if t is not None]).unique("key", keep="first")
    frames = [pl.DataFrame({"key": ids}).join(known, on="key", how="left", maintain_order="left"), rel]
    if actors is not None:
        frames.append(pl.DataFrame({"key": actors}).join(rel.select("key", *columns).unique("key"), on="key",
                                                         how="left", maintain_order="left"))
    codes = _codes(frames, columns)
    joint = None
    if actors is not None:
        has_row = frames[2].select(pl.any_horizontal(pl.col(columns).is_not_null())).to_series().to_numpy()
        joint = codes[2]
        joint[~has_row] = -2                 # an actor without a users row matches no attribute
    return (Features(queries.traces, codes[0]), Features(release.traces, codes[1], joint), columns)


def membership(raw: Mapping[str, pl.LazyFrame], control: Mapping[str, pl.LazyFrame],
               release: Mapping[str, pl.LazyFrame], *, actor_column: str | None, users_key: str = "account_id",
               account_types: list[str], params: MembershipParams, budget: Mapping[str, Any] | None = None,
               seed: int = 0, synthetic: bool = False) -> list[Metric]:
    """``risk``, ``attack_rate``, ``control_rate``, ``baseline_rate``, ``advantage`` (and, where ε is
    declared, ``advantage_over_cap``) per mode. ``raw``/``control``/``release``: events, users, orgs tables;
    ``actor_column``: the released events' actor column; ``users_key``: the released users' column that
    names the same actor; ``budget``: :func:`declared_budget` of the chain."""
    t0 = time.perf_counter()
    budget = dict(budget or declared_budget([]))
    base: dict[str, Any] = {"flag_share": params.flag_share, "seed": seed, "synthetic": synthetic,
                            **{k: budget.get(k) for k in ("epsilon", "delta", "cap", "cap_reason") if k in budget}}
    if "events" not in raw:
        return _na("no raw events", **base)
    if "events" not in control:
        return _unmeasured("no control population in truth/control", **base)
    pools = [eligible(raw, account_types, params.min_events), eligible(control, account_types, params.min_events)]
    if pools[0].height == 0:
        return _na("no eligible target accounts", **base)
    if pools[1].height == 0:
        return _unmeasured("no eligible control accounts in truth/control", **base)
    n = min(params.targets, *(p.height for p in pools))
    targets, controls = (sample_targets(p, n, seed, f"membership.{who}")["account_id"]
                         for p, who in zip(pools, ("targets", "controls"), strict=True))
    ev = release.get("events")
    names = ev.collect_schema().names() if ev is not None else []
    raw_names = raw["events"].collect_schema().names()
    blocks = ["hour_of_week", *[b for b in ("action", "product") if b in names and b in raw_names]]
    activity = ["events", "days", *(["sessions"] if "session_id" in names and "session_id" in raw_names else [])]
    res, actors = "1s", None
    queries, rel = Features(), Features()
    timed = ev is not None and "event_time" in names and isinstance(ev.collect_schema()["event_time"], pl.Datetime)
    if ev is not None and actor_column in names and timed:
        assert actor_column is not None
        res = duration_text(max(detect_resolution(ev) or dt.timedelta(seconds=1), dt.timedelta(seconds=1)))
        actors = ev.select(pl.col(actor_column).cast(pl.String).alias("a")).drop_nulls().unique() \
            .collect(engine="streaming")["a"].sort()

        def traces(events: pl.LazyFrame, key: str, ids: pl.Series) -> Traces:
            return Traces.of(events, key, ids, blocks, activity, res, params.hash_buckets)
        rel = Features(traces(ev, actor_column, actors))
        queries = Features(traces(raw["events"], "account_id", targets).stack(
            traces(control["events"], "account_id", controls)))
    queries, rel, columns = _with_attributes(
        queries, rel, pl.concat([targets, controls]), actors,
        [_attributes(raw, "account_id"), _attributes(control, "account_id")], _attributes(release, users_key),
        params.attribute_columns)
    dist = nearest(queries, rel, len(blocks), params.block_size)
    why = {"trace": "no released events with actors and timestamps",
           "attributes": f"no released users with attribute columns {params.attribute_columns}",
           "joint": "no released users rows that name the released actors"}
    out: list[Metric] = []
    for mode in params.modes:
        mode_params = {**base, "mode": mode, "n_control": n,
                       **({"resolution": res, "blocks": blocks, "activity": activity} if mode != "attributes"
                          else {}), **({"columns": columns} if mode != "trace" else {})}
        if mode not in dist:
            out += _na(why[mode], **mode_params)
            continue
        out += _score(dist[mode][:n], dist[mode][n:], mode_params, params.flag_share, budget,
                      rng_for(seed, f"membership.{mode}"), time.perf_counter() - t0)
    return out


def _score(d_t: np.ndarray, d_c: np.ndarray, params: dict[str, Any], share: float, budget: Mapping[str, Any],
           rng: np.random.Generator, seconds: float) -> list[Metric]:
    n = d_t.size
    tp, fp, cut = flag_closest(d_t, d_c, share)
    coin = int((rng.permutation(2 * n)[:round(share * 2 * n)] < n).sum())
    params = {**params, "distance_cutoff": cut, "exact_copies_targets": int((d_t <= 1e-6).sum()),
              "exact_copies_controls": int((d_c <= 1e-6).sum())}
    counts = AttackCounts(n_attacks=n, n_success=tp, n_baseline=coin, n_attacks_baseline=n, n_control=fp,
                          n_attacks_control=n)
    fpr = fp / n
    cap = budget.get("cap")
    eps = budget.get("epsilon")
    if cap is not None and eps is not None:
        delta = float(budget.get("delta") or 0.0)
        params["risk_cap"] = min(1.0, 1 - math.exp(-eps) * (1 - delta / max(1 - fpr, 1e-12)))
    out = attack_metrics(CHECK, counts, params, seconds)
    adv, lo, hi = advantage_interval(tp, n, fp, n)
    out.append(Metric(CHECK, "advantage", adv, n, ci_low=lo, ci_high=hi, params=params, seconds=seconds))
    if cap is not None:
        out.append(Metric(CHECK, "advantage_over_cap", adv - cap, n, ci_low=lo - cap, ci_high=hi - cap,
                          params={**params, "what": "advantage minus the cap that the declared epsilon implies"},
                          seconds=seconds))
    return out
