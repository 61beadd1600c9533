"""Small hand-made raw tables in the schemas of ``generators.schema`` (no generator, no Beam)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from generators.schema import CONFIG_CHANGES, EVENTS, ORGS, USERS

KEY = "k3y-for-tests-0123456789abcdef"
OTHER_KEY = "another-key-for-tests-fedcba9876"
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 "
    "Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 AtlassianMobileApp",
    "python-requests/2.31.0",
]


def make_tables(n_users: int = 30, n_events: int = 600, n_orgs: int = 3) -> dict[str, pa.Table]:
    """Deterministic raw tables with recognisable identifiers (``acct-00007``, ``user7@org1.example``)."""
    orgs = pa.table({
        "org_id": [f"org-{i}" for i in range(n_orgs)], "name": [f"Zorblax {i} Ltd" for i in range(n_orgs)],
        "plan": ["free", "standard", "enterprise"] * (n_orgs // 3) + ["free"] * (n_orgs % 3),
        "data_residency": ["eu"] * n_orgs, "country": ["DE"] * n_orgs, "industry": ["software"] * n_orgs,
        "size_band": ["11-50"] * n_orgs, "default_locale": ["de_DE"] * n_orgs,
        "default_timezone": ["Europe/Berlin"] * n_orgs, "ai_training_opt_out": [i % 2 == 0 for i in range(n_orgs)],
        "created_at": [START - dt.timedelta(days=400 + 17 * i) for i in range(n_orgs)],
        "domain": [f"org{i}.example" for i in range(n_orgs)], "n_accounts": [n_users // n_orgs + i for i in range(n_orgs)],
    }, schema=ORGS)
    users = pa.table({
        "account_id": [f"acct-{i:05d}" for i in range(n_users)],
        "org_id": [f"org-{i % n_orgs}" for i in range(n_users)],
        "email": [f"user{i}@org{i % n_orgs}.example" for i in range(n_users)],
        "display_name": [f"Person Number {i}" for i in range(n_users)],
        "account_type": ["app" if i % 10 == 9 else ("customer" if i % 10 == 8 else "atlassian")
                         for i in range(n_users)],
        "role": ["org_admin" if i % 11 == 0 else "member" for i in range(n_users)],
        "locale": ["de_DE", "en_US", "fr_FR"][0:1] * (n_users // 2) + ["en_US"] * (n_users - n_users // 2),
        "timezone": ["Europe/Berlin" if i % 3 else "America/New_York" for i in range(n_users)],
        "country": ["DE" if i % 3 else "US" for i in range(n_users)],
        "created_at": [START - dt.timedelta(days=3 * i, hours=i) for i in range(n_users)],
        "team_id": [None if i % 10 == 9 else f"team-{i // 5}" for i in range(n_users)],
    }, schema=USERS)
    acc = [(i * 7) % n_users for i in range(n_events)]
    events = pa.table({
        "event_id": [f"ev-{i:07d}" for i in range(n_events)],
        "event_time": [START + dt.timedelta(minutes=37 * i, seconds=i % 60) for i in range(n_events)],
        "org_id": [f"org-{a % n_orgs}" for a in acc],
        "product": ["jira", "confluence", "bitbucket"][0:2] * (n_events // 2) + ["admin"] * (n_events % 2),
        "action": ["issue.viewed", "page.updated", "user.logged_in", "config.changed"][0:3] * (n_events // 3)
        + ["api_token.used"] * (n_events % 3),
        "account_id": [None if i % 50 == 49 else f"acct-{a:05d}" for i, a in enumerate(acc)],
        "actor_email": [None if i % 50 == 49 else f"user{a}@org{a % n_orgs}.example" for i, a in enumerate(acc)],
        "auth_type": ["sso"] * n_events,
        "session_id": [f"sess-{i // 8:05d}" for i in range(n_events)],
        "object_id": [f"obj-{i % 97}" for i in range(n_events)],
        "container_id": [f"space-{i % 7}" for i in range(n_events)],
        "client_ip": [f"198.51.{a % 4}.{a}" if a % 5 else f"2001:db8:{a:x}::{a + 1:x}" for a in acc],
        "user_agent": [UAS[a % len(UAS)] for a in acc],
        "geo_country": ["DE"] * n_events,
        "outcome": ["success"] * n_events,
    }, schema=EVENTS)
    n_cc = max(4, n_events // 15)
    config = pa.table({
        "org_id": [f"org-{i % n_orgs}" for i in range(n_cc)],
        "product": ["jira"] * n_cc,
        "event_time": [START + dt.timedelta(hours=5 * i) for i in range(n_cc)],
        "account_id": [f"acct-{(i * 3) % n_users:05d}" for i in range(n_cc)],
        "setting_key": ["theme"] * n_cc,
        "old_value": ["light"] * n_cc,
        "new_value": [f"rare-{i}" if i % 6 == 0 else "dark" for i in range(n_cc)],
    }, schema=CONFIG_CHANGES)
    return {"orgs": orgs, "users": users, "events": events, "config_changes": config}


def build(name: str, key: str | None = KEY, **params):
    """An anonymizer instance from the registry, bound to ``params`` and (if it needs one) ``key``."""
    from anonymizers import registry
    from anonymizers.secrets import Secret

    cls = registry.load(include_plugins=False).get(name)
    if cls.needs_secret:
        params.setdefault("key", "env:ANONBENCH_KEY")
    secret = Secret(key.encode(), "env:ANONBENCH_KEY") if cls.needs_secret and key else None
    return cls(cls.Params.model_validate(params), secret)


def apply(anonymizer, table: pa.Table, columns: list[str], table_name: str = "events", state=None,
          shard: int = 0, batch: int = 0) -> pa.Table:
    from anonymizers.base import BatchContext

    return anonymizer.apply(table, BatchContext(table_name, tuple(columns), shard, batch, state))


def check_token_properties(anonymizer, vals: list) -> list:
    """Shared properties of value -> token anonymizers (HMAC, SHA-256, random tokens): rows and nulls kept,
    no raw value left, equal values -> equal tokens, different values -> different tokens, and the same
    result whether the column comes in one batch or two. Returns the tokens."""
    def run(v: list) -> list:
        return apply(anonymizer, pa.table({"v": pa.array(v, type=pa.string())}), ["v"]).column("v").to_pylist()

    out = run(vals)
    assert len(out) == len(vals)
    assert [o is None for o in out] == [v is None for v in vals]
    assert not {v for v in vals if v is not None} & {o for o in out if o is not None}
    mapping: dict[str, str] = {}
    for v, o in zip(vals, out, strict=True):
        if v is not None:
            assert mapping.setdefault(v, o) == o
    assert len(set(mapping.values())) == len(mapping)
    half = len(vals) // 2
    assert run(vals[:half]) + run(vals[half:]) == out
    return out
