"""A small hand-made run directory for report/check/publish tests (no generator, no Beam).

``make_run(root)`` writes raw and anonymized events with recognisable identifiers (so a test can scan output
for them), a manifest, risk files in the DESIGN risk schema (via ``reid.result``) and validation results.
The default run *passes*: the candidate ``generalize`` stays under every default threshold and the controls
``none`` and ``naive-hash`` are caught. Keyword arguments bend it to fail in one chosen way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.manifest import list_files, package_versions
from pipelines.runio import write_json_atomic, write_parquet_atomic
from reid.result import Metric, to_table
from runformat import layout
from runformat import manifest as keys
from runformat.layout import RAW_STAGE, RunDir, shard_name, stage_name

N_USERS = 40
N_EVENTS = 2400
ACTIONS = ("issue.viewed", "page.viewed", "issue.updated", "page.updated", "user.logged_in", "api_token.used",
           "comment.created", "config.changed", "search.performed", "attachment.downloaded", "issue.created",
           "space.viewed")
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)

CHAINS: dict[str, dict[str, Any]] = {
    "generalize": {"role": "candidate", "steps": [
        {"use": "pseudonymize.hmac", "columns": {"events": ["account_id", "actor_email", "session_id"]},
         "with": {"key": "env:ANONBENCH_KEY"}},
        {"use": "generalize.ip_prefix", "columns": {"events": ["client_ip"]}, "with": {"ipv4_prefix": 24}},
        {"use": "generalize.time_bucket", "columns": {"events": ["event_time"]}, "with": {"every": "1h"}}]},
    "none": {"role": "control", "steps": []},
    "naive-hash": {"role": "control", "steps": [
        {"use": "hash.sha256", "columns": {"events": ["account_id", "actor_email"]}}]},
}

# The utility figures of a release that keeps every query exact (their declared best values).
IDENTITY_UTILITY = [("utility", m, 1.0 if m == "hourly_profile_correlation" else 0.0, N_EVENTS, {}) for m in (
    "workload_1way_error", "workload_2way_error", "workload_3way_error", "weekly_product_counts_rel_error",
    "hourly_profile_correlation", "action_tv_distance", "events_per_account_ks", "session_length_ks")]

# Figures per chain: (check, metric, value, n, params). Proportions get a Wilson interval.
FIGURES: dict[str, list[tuple[str, str, float, int, dict[str, Any]]]] = {
    "generalize": [
        ("quasi_identifiers", "k", 12, N_USERS, {}), ("quasi_identifiers", "prosecutor_risk_avg", 0.05, N_USERS, {}),
        ("quasi_identifiers", "prosecutor_risk_max", 0.083, N_USERS, {}),
        ("unicity", "unique_share", 0.02, 200, {"p": 1}), ("unicity", "unique_share", 0.05, 200, {"p": 2}),
        ("unicity", "unique_share", 0.06, 200, {"p": 4}),
        ("unicity", "reidentified_share", 0.01, 200, {"p": 1}), ("unicity", "reidentified_share", 0.03, 200, {"p": 2}),
        ("unicity", "reidentified_share", 0.04, 200, {"p": 4}),
        ("dictionary", "reversed_share", 0.0, N_USERS, {"column": "actor_email"}),
        ("leak_scan", "leaked_values", 0.0, N_EVENTS, {}),
        *[("utility", m, v, N_EVENTS, {}) for m, v in (
            ("workload_1way_error", 0.05), ("workload_2way_error", 0.1), ("workload_3way_error", 0.2),
            ("weekly_product_counts_rel_error", 0.0), ("hourly_profile_correlation", 0.96),
            ("action_tv_distance", 0.01), ("events_per_account_ks", 0.0), ("session_length_ks", 0.0))],
    ],
    "none": [
        ("quasi_identifiers", "k", 1, N_USERS, {}), ("quasi_identifiers", "prosecutor_risk_avg", 0.9, N_USERS, {}),
        ("unicity", "unique_share", 0.7, 200, {"p": 1}), ("unicity", "unique_share", 0.97, 200, {"p": 4}),
        ("unicity", "reidentified_share", 0.6, 200, {"p": 1}), ("unicity", "reidentified_share", 0.95, 200, {"p": 4}),
        ("dictionary", "reversed_share", 0.0, N_USERS, {"column": "actor_email"}),
        ("leak_scan", "leaked_values", 5200.0, N_EVENTS, {}),
        *IDENTITY_UTILITY,
    ],
    "naive-hash": [
        ("quasi_identifiers", "k", 1, N_USERS, {}), ("quasi_identifiers", "prosecutor_risk_avg", 0.9, N_USERS, {}),
        ("unicity", "unique_share", 0.7, 200, {"p": 1}), ("unicity", "unique_share", 0.97, 200, {"p": 4}),
        ("unicity", "reidentified_share", 0.55, 200, {"p": 1}), ("unicity", "reidentified_share", 0.93, 200, {"p": 4}),
        ("dictionary", "reversed_share", 0.97, N_USERS, {"column": "actor_email"}),
        ("leak_scan", "leaked_values", 0.0, N_EVENTS, {}),
        *IDENTITY_UTILITY,
    ],
}


def raw_identifiers() -> list[str]:
    """Every identifier value of the fixture's raw data (what must never appear in a report or bundle)."""
    out = []
    for i in range(N_USERS):
        out += [f"acc-7f3a{i:04d}", f"jane.doe{i:03d}@zorblax-corp.example", f"Jane Doe-Zorblax {i:03d}",
                f"203.0.113.{10 + i}"]
    return out


def _events() -> pa.Table:
    ids = [f"acc-7f3a{i % N_USERS:04d}" for i in range(N_EVENTS)]
    # Office hours on workdays, a little at weekends: day (i*5 mod 7), hour 8..18 shifted per user.
    times = [START + dt.timedelta(days=(i * 5) % 7 if i % 9 else 5 + i % 2,
                                  hours=8 + (i * 7 + i % N_USERS) % 11 - (i % 3 == 0), minutes=(13 * i) % 60)
             for i in range(N_EVENTS)]
    return pa.table({
        "event_id": [f"ev-{i:06d}" for i in range(N_EVENTS)],
        "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
        "action": [ACTIONS[(i * i + i // 7) % len(ACTIONS)] for i in range(N_EVENTS)],
        "account_id": ids,
        "actor_email": [f"jane.doe{i % N_USERS:03d}@zorblax-corp.example" for i in range(N_EVENTS)],
        "client_ip": [f"203.0.113.{10 + i % N_USERS}" for i in range(N_EVENTS)],
        "session_id": [f"sess-{i // 9:05d}" for i in range(N_EVENTS)],
    })


def _users() -> pa.Table:
    return pa.table({"account_id": [f"acc-7f3a{i:04d}" for i in range(N_USERS)],
                     "email": [f"jane.doe{i:03d}@zorblax-corp.example" for i in range(N_USERS)],
                     "display_name": [f"Jane Doe-Zorblax {i:03d}" for i in range(N_USERS)],
                     "account_type": ["atlassian"] * N_USERS})


def _h(values: pa.ChunkedArray, salt: str) -> list[str]:
    return [hashlib.sha256((salt + v).encode()).hexdigest()[:16] for v in values.to_pylist()]


def _anon_events(chain: str, raw: pa.Table) -> pa.Table:
    if chain == "none":
        return raw
    salt = "secret-salt" if chain == "generalize" else ""
    t = raw
    for col in ("account_id", "actor_email", "session_id", "event_id"):
        t = t.set_column(t.schema.get_field_index(col), col, pa.array(_h(t[col], salt)))
    if chain == "generalize":
        bucket = pa.array([x.replace(minute=0) for x in t["event_time"].to_pylist()], pa.timestamp("us", tz="UTC"))
        t = t.set_column(t.schema.get_field_index("event_time"), "event_time", bucket)
        t = t.set_column(t.schema.get_field_index("client_ip"), "client_ip",
                         pa.array(["203.0.113.0/24"] * t.num_rows))
    return t


def _validation(stage: str, failed: int = 0) -> pa.Table:
    names = ["expect_column_values_to_not_be_null", "expect_column_values_to_be_unique",
             "expect_column_values_to_not_be_emails", "expect_table_row_count_to_be_between"]
    return pa.table({"stage": [stage] * len(names), "table": ["events"] * len(names), "expectation": names,
                     "column": ["account_id", "event_id", "actor_email", None],
                     "kwargs": [json.dumps({"mostly": 1.0})] * len(names),
                     "success": [i >= failed for i in range(len(names))],
                     "unexpected_count": pa.array([7 if i < failed else 0 for i in range(len(names))], pa.int64())})


def make_run(root: Path, *, chains: tuple[str, ...] = ("generalize", "none", "naive-hash"),
             figures: Mapping[str, list[tuple[str, str, float, int, dict[str, Any]]]] | None = None,
             drop_checks: Mapping[str, tuple[str, ...]] | None = None,
             override: Mapping[tuple[str, str, str], float] | None = None,
             validation_failures: Mapping[str, int] | None = None,
             config_thresholds: Mapping[str, Any] | None = None, name: str = "fixture") -> Path:
    """Write a complete fixture run under ``root``; ``override[(chain, check, metric)] = value`` changes a
    figure (all its rows), ``drop_checks[chain]`` leaves checks out as if their attack were disabled."""
    root.mkdir(parents=True, exist_ok=True)
    rd = RunDir(root)
    raw = _events()
    write_parquet_atomic(raw, rd.raw("events") / shard_name(0))
    write_parquet_atomic(_users(), rd.raw("users") / shard_name(0))
    write_parquet_atomic(pa.table({"account_id": _users()["account_id"],
                                   "person_id": [f"person-{i:04d}" for i in range(N_USERS)]}),
                         rd.truth_accounts)
    write_parquet_atomic(_validation(RAW_STAGE, (validation_failures or {}).get(RAW_STAGE, 0)),
                         rd.validation(RAW_STAGE))
    figures = figures or FIGURES
    for chain in chains:
        write_parquet_atomic(_anon_events(chain, raw), rd.anon(chain, "events") / shard_name(0))
        failed = (validation_failures or {}).get(chain, 3 if chain == "none" else 0)
        write_parquet_atomic(_validation(stage_name(chain), failed), rd.validation(stage_name(chain)))
        by_check: dict[str, list[Metric]] = {}
        for check, metric, value, n, params in figures[chain]:
            if check in (drop_checks or {}).get(chain, ()):
                continue
            value = (override or {}).get((chain, check, metric), value)
            if metric.endswith(("_share", "_accuracy", "risk")) and 0 <= value <= 1:
                m = Metric.proportion(check, metric, round(value * n), n, params=params, seconds=0.01)
                m = Metric(**{**m.__dict__, "value": float(value)})
            else:
                m = Metric(check, metric, float(value), n, params=params, seconds=0.01)
            by_check.setdefault(check, []).append(m)
        for check, metrics in by_check.items():
            write_parquet_atomic(to_table(metrics, chain), rd.risk(chain, check))
    manifest = {
        keys.NAME: name, keys.SEED: 7,
        keys.CONFIG: {"name": name, "seed": 7, "chains": list(chains), "thresholds": dict(config_thresholds or {}),
                      "generate": {"events": N_EVENTS, "days": 7, "start": "2026-03-02"}},
        keys.CHAINS: {c: {"name": c, "role": CHAINS[c]["role"], "steps": CHAINS[c]["steps"]} for c in chains},
        keys.VERSIONS: package_versions(),
    }
    manifest[keys.FILES] = list_files(root, layout.RAW, layout.TRUTH, layout.ANON, layout.RISK, layout.VALIDATION)
    write_json_atomic(manifest, rd.manifest)
    return root
