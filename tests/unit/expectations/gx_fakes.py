"""Small hand-made runs in the raw schemas of generators/schema.py, and a toy anonymizer for chain specs.

Test helpers only: values are built with numpy and small Python loops over a few hundred rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generators.schema import RAW_TABLES
from pipelines import manifest
from pipelines.runio import shard_name, write_parquet_atomic

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
GENERATE = {"start": "2026-03-02", "days": 28, "org_size_min": 3}


def raw_tables(n_orgs: int = 4, users_per_org: int = 5, events_per_user: int = 12, seed: int = 0) -> dict[str, pa.Table]:
    rng = np.random.default_rng(seed)
    orgs = [f"org-{i:04d}" for i in range(n_orgs)]
    org_tbl = pa.table({
        "org_id": orgs, "name": [f"Company {i}" for i in range(n_orgs)],
        "plan": [["free", "standard", "premium", "enterprise"][i % 4] for i in range(n_orgs)],
        "data_residency": ["us"] * n_orgs, "country": ["US"] * n_orgs, "industry": ["software"] * n_orgs,
        "size_band": ["1-10"] * n_orgs, "default_locale": ["en_US"] * n_orgs,
        "default_timezone": ["America/New_York"] * n_orgs, "ai_training_opt_out": [False] * n_orgs,
        "created_at": pa.array([START - dt.timedelta(days=400)] * n_orgs, pa.timestamp("us", tz="UTC")),
        "domain": [f"c{i}.example" for i in range(n_orgs)], "n_accounts": pa.array([users_per_org] * n_orgs, pa.int32()),
    }, schema=RAW_TABLES["orgs"])
    acc = [f"acc-{o}-{u:03d}" for o in range(n_orgs) for u in range(users_per_org)]
    acc_org = [orgs[o] for o in range(n_orgs) for _ in range(users_per_org)]
    emails = [f"user{o}.{u}@c{o}.example" for o in range(n_orgs) for u in range(users_per_org)]
    n_users = len(acc)
    users = pa.table({
        "account_id": acc, "org_id": acc_org, "email": emails, "display_name": [f"User {i}" for i in range(n_users)],
        "account_type": ["atlassian"] * (n_users - 1) + ["app"], "role": ["member"] * n_users,
        "locale": ["en_US"] * n_users, "timezone": ["America/New_York"] * n_users, "country": ["US"] * n_users,
        "created_at": pa.array([START - dt.timedelta(days=100)] * n_users, pa.timestamp("us", tz="UTC")),
        "team_id": [f"team-{i % 3}" for i in range(n_users)],
    }, schema=RAW_TABLES["users"])
    n_ev = n_users * events_per_user
    who = np.repeat(np.arange(n_users), events_per_user)
    secs = np.sort(rng.integers(0, 27 * 86400, n_ev))
    events = pa.table({
        "event_id": [f"ev-{i:07d}" for i in range(n_ev)],
        "event_time": pa.array([START + dt.timedelta(seconds=int(s)) for s in secs], pa.timestamp("us", tz="UTC")),
        "org_id": [acc_org[w] for w in who], "product": rng.choice(["jira", "confluence"], n_ev).tolist(),
        "action": rng.choice(["issue.viewed", "page.updated", "user.logged_in"], n_ev).tolist(),
        "account_id": [acc[w] for w in who], "actor_email": [emails[w] for w in who],
        "auth_type": ["sso"] * n_ev, "session_id": [f"s-{w}-{i // 4}" for i, w in enumerate(who)],
        "object_id": [f"obj-{i % 17}" for i in range(n_ev)], "container_id": [f"c-{w % 3}" for w in who],
        "client_ip": [f"10.{w % 250}.{(w * 7) % 250}.{(w * 13) % 250 + 1}" for w in who],
        "user_agent": ["Mozilla/5.0"] * n_ev, "geo_country": ["US"] * n_ev,
        "outcome": rng.choice(["success", "failure"], n_ev).tolist(),
    }, schema=RAW_TABLES["events"])
    cc = pa.table({
        "org_id": orgs, "product": ["jira"] * n_orgs,
        "event_time": pa.array([START + dt.timedelta(hours=5)] * n_orgs, pa.timestamp("us", tz="UTC")),
        "account_id": [acc[o * users_per_org] for o in range(n_orgs)], "setting_key": ["jira.theme"] * n_orgs,
        "old_value": ["light"] * n_orgs, "new_value": ["dark"] * n_orgs,
    }, schema=RAW_TABLES["config_changes"])
    return {"orgs": org_tbl, "users": users, "events": events, "config_changes": cc}


def _split(table: pa.Table, shards: int) -> list[pa.Table]:
    """Shards by org (all of an org's rows in one shard), like the generator."""
    org_ix = pc.cast(pc.utf8_slice_codeunits(table["org_id"], 4), pa.int64()).to_numpy() % shards
    return [table.filter(pa.array(org_ix == s)) for s in range(shards)]


def write_tables(run: Path, folder: str, tables: Mapping[str, pa.Table], shards: int = 2) -> None:
    for name, t in tables.items():
        parts = _split(t, shards) if "org_id" in t.column_names else [t]
        for i, part in enumerate(parts):
            write_parquet_atomic(part, run / folder / name / shard_name(i))


def make_run(run: Path, shards: int = 2, **kw: Any) -> dict[str, pa.Table]:
    tables = raw_tables(**kw)
    write_tables(run, "raw", tables, shards)
    events = tables["events"].num_rows
    manifest.write(run, {"config": {"generate": {**GENERATE, "events": events}}, "seed": 0, "files": []})
    return tables


def _hmac(values: pa.ChunkedArray, key: bytes = b"k") -> pa.Array:
    enc = values.combine_chunks().dictionary_encode()
    hashed = [hashlib.sha256(key + v.encode()).hexdigest() for v in enc.dictionary.to_pylist()]
    return pa.array(hashed).take(enc.indices)


def anonymize(tables: Mapping[str, pa.Table], chain: Mapping[str, Any]) -> dict[str, pa.Table]:
    """A toy interpreter of chain steps, enough for the contract tests (not the real anonymizers)."""
    out = dict(tables)
    for step in chain.get("steps", []):
        for t, cols in step.get("columns", {}).items():
            tbl = out[t]
            for c in cols:
                col = tbl[c]
                if step["use"] in ("pseudonymize.hmac", "hash.sha256"):
                    new = _hmac(col)
                elif step["use"] == "generalize.ip_prefix":
                    octs = pc.split_pattern(col, ".")
                    new = pc.binary_join_element_wise(pc.list_element(octs, 0), pc.list_element(octs, 1),
                                                      pc.list_element(octs, 2), "0", ".")
                elif step["use"] == "generalize.time_bucket":
                    new = pc.floor_temporal(col, 1, "hour")
                elif step["use"] == "drop":
                    tbl = tbl.drop_columns([c])
                    continue
                else:
                    raise ValueError(step["use"])
                tbl = tbl.set_column(tbl.schema.get_field_index(c), c, new)
            out[t] = tbl
    return out


GOOD_CHAIN = {
    "name": "good", "steps": [
        {"use": "pseudonymize.hmac", "columns": {"events": ["account_id", "actor_email", "session_id"],
                                                 "users": ["account_id", "email"],
                                                 "config_changes": ["account_id"]},
         "with": {"key": "env:ANONBENCH_KEY"}},
        {"use": "generalize.ip_prefix", "columns": {"events": ["client_ip"]}, "with": {"ipv4_prefix": 24}},
        {"use": "generalize.time_bucket", "columns": {"events": ["event_time"]}, "with": {"every": "1h"}},
        {"use": "drop", "columns": {"users": ["display_name"]}},
    ]}


def write_chain(run: Path, chain: Mapping[str, Any], raw: Mapping[str, pa.Table], shards: int = 2) -> None:
    write_tables(run, f"anon/{chain['name']}", anonymize(raw, chain), shards)


def dump(chain: Mapping[str, Any]) -> str:
    return json.dumps(chain)
