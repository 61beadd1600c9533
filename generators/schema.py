"""Arrow schemas of the raw and truth tables (columns fixed by DESIGN.md; a few more are welcome)."""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

ORGS = pa.schema([
    ("org_id", pa.string()),
    ("name", pa.string()),
    ("plan", pa.string()),                 # free | standard | premium | enterprise
    ("data_residency", pa.string()),       # us, eu, de, au, jp, ...
    ("country", pa.string()),              # ISO 3166-1 alpha-2
    ("industry", pa.string()),
    ("size_band", pa.string()),            # 1-10, 11-50, 51-200, 201-1000, 1001-5000, 5001+
    ("default_locale", pa.string()),       # e.g. en_US
    ("default_timezone", pa.string()),     # IANA name
    ("ai_training_opt_out", pa.bool_()),
    ("created_at", TS),
    ("domain", pa.string()),               # the org's e-mail domain
    ("n_accounts", pa.int32()),
])

USERS = pa.schema([
    ("account_id", pa.string()),
    ("org_id", pa.string()),
    ("email", pa.string()),
    ("display_name", pa.string()),
    ("account_type", pa.string()),         # atlassian (human) | app (integration/bot) | customer (external)
    ("role", pa.string()),                 # org_admin | site_admin | member | viewer | guest | app
    ("locale", pa.string()),
    ("timezone", pa.string()),
    ("country", pa.string()),
    ("created_at", TS),
    ("team_id", pa.string()),              # null for bots
])

EVENTS = pa.schema([
    ("event_id", pa.string()),
    ("event_time", TS),
    ("org_id", pa.string()),
    ("product", pa.string()),              # jira | confluence | bitbucket | admin
    ("action", pa.string()),               # category.verb
    ("account_id", pa.string()),
    ("actor_email", pa.string()),
    ("auth_type", pa.string()),            # sso | password | oauth | api_token
    ("session_id", pa.string()),
    ("object_id", pa.string()),
    ("container_id", pa.string()),
    ("client_ip", pa.string()),
    ("user_agent", pa.string()),
    ("geo_country", pa.string()),
    ("outcome", pa.string()),              # success | failure | denied
])

CONFIG_CHANGES = pa.schema([
    ("org_id", pa.string()),
    ("product", pa.string()),
    ("event_time", TS),
    ("account_id", pa.string()),
    ("setting_key", pa.string()),
    ("old_value", pa.string()),
    ("new_value", pa.string()),
])

ACCOUNTS_TRUTH = pa.schema([
    ("account_id", pa.string()),
    ("person_id", pa.string()),
    ("org_id", pa.string()),
])

RAW_TABLES: dict[str, pa.Schema] = {
    "orgs": ORGS,
    "users": USERS,
    "events": EVENTS,
    "config_changes": CONFIG_CHANGES,
}

# Columns that identify a person directly: the leak scan and the dictionary attack start from these.
IDENTIFIER_COLUMNS: dict[str, list[str]] = {
    "users": ["account_id", "email", "display_name"],
    "events": ["account_id", "actor_email", "session_id", "client_ip", "event_id"],
    "config_changes": ["account_id"],
}

# Raw ids of what people worked on: not a person's, but what an attacker's knowledge of containers and objects
# is matched on, and a key back into the tenant's systems. A release keeps them only pseudonymized: the leak
# scan looks for these too (ids of one tenant, 10 characters or more: an id several tenants share, or a short
# one such as "cfg-450", names nothing).
OBJECT_ID_COLUMNS: dict[str, list[str]] = {"events": ["object_id", "container_id"]}
LEAK_SCAN_COLUMNS: dict[str, list[str]] = {
    t: IDENTIFIER_COLUMNS.get(t, []) + OBJECT_ID_COLUMNS.get(t, []) for t in {**IDENTIFIER_COLUMNS, **OBJECT_ID_COLUMNS}}
