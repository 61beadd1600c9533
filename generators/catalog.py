"""What the product records: products, actions and their Markov chains, personas, integrations, settings.

Modelled on what real audit and usage logs record (Atlassian organization audit log and Jira/Confluence audit
records, Google Workspace Reports, GitHub and Slack audit logs): an action is ``category.verb``; a session's
actions follow a first-order Markov chain per product, biased per persona, so consecutive actions are
dependent (a search is followed by views, a create by edits) as in real clickstreams.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

PRODUCTS = ("jira", "confluence", "bitbucket", "admin")
PERSONAS = ("developer", "business", "admin", "external", "bot")
ACCOUNT_TYPE = {"developer": "atlassian", "business": "atlassian", "admin": "atlassian",
                "external": "customer", "bot": "app"}

# Per product: actions (the first is the session entry for humans) and next-action weights.
_FLOWS: dict[str, dict[str, dict[str, float]]] = {
    "jira": {
        "user.logged_in": {"board.viewed": 4, "issue.viewed": 3, "search.performed": 2, "filter.viewed": 1},
        "board.viewed": {"issue.viewed": 6, "issue.transitioned": 2, "board.viewed": 1, "search.performed": 1},
        "issue.viewed": {"issue.viewed": 5, "issue.commented": 2, "issue.updated": 2, "issue.transitioned": 1.5,
                         "board.viewed": 1.5, "issue.assigned": 0.7, "attachment.uploaded": 0.3},
        "issue.created": {"issue.viewed": 4, "issue.updated": 3, "attachment.uploaded": 1, "issue.assigned": 1},
        "issue.updated": {"issue.viewed": 4, "issue.updated": 2, "issue.transitioned": 2, "board.viewed": 1},
        "issue.commented": {"issue.viewed": 4, "issue.transitioned": 1, "board.viewed": 1.5, "issue.commented": 0.5},
        "issue.transitioned": {"board.viewed": 4, "issue.viewed": 3, "issue.commented": 1},
        "issue.assigned": {"issue.viewed": 3, "issue.transitioned": 1, "board.viewed": 1},
        "search.performed": {"issue.viewed": 8, "search.performed": 2, "issue.created": 1},
        "filter.viewed": {"issue.viewed": 6, "filter.viewed": 1, "search.performed": 1},
        "attachment.uploaded": {"issue.viewed": 2, "issue.updated": 2, "issue.commented": 1},
    },
    "confluence": {
        "user.logged_in": {"space.viewed": 3, "page.viewed": 4, "search.performed": 2},
        "space.viewed": {"page.viewed": 7, "page.created": 1, "space.viewed": 1},
        "page.viewed": {"page.viewed": 6, "page.updated": 1.5, "page.commented": 1, "space.viewed": 1,
                        "attachment.downloaded": 0.7, "page.exported": 0.2, "search.performed": 1},
        "page.created": {"page.updated": 5, "page.viewed": 2, "page.restricted": 0.5},
        "page.updated": {"page.updated": 3, "page.viewed": 3, "page.commented": 0.5, "space.viewed": 1},
        "page.commented": {"page.viewed": 4, "page.commented": 1},
        "search.performed": {"page.viewed": 8, "search.performed": 2},
        "attachment.downloaded": {"page.viewed": 4, "attachment.downloaded": 1},
        "page.exported": {"page.viewed": 3, "space.viewed": 1},
        "page.restricted": {"page.viewed": 2, "page.updated": 2},
    },
    "bitbucket": {
        "user.logged_in": {"repo.viewed": 5, "pr.reviewed": 3, "pr.created": 1},
        "repo.viewed": {"repo.viewed": 3, "repo.cloned": 1, "pr.reviewed": 2, "pr.created": 1, "commit.pushed": 1},
        "repo.cloned": {"commit.pushed": 3, "repo.viewed": 2},
        "commit.pushed": {"commit.pushed": 3, "pr.created": 2, "pipeline.triggered": 2, "repo.viewed": 1},
        "pr.created": {"pipeline.triggered": 3, "pr.reviewed": 1, "repo.viewed": 1},
        "pr.reviewed": {"pr.reviewed": 2, "pr.approved": 3, "repo.viewed": 1, "commit.pushed": 0.5},
        "pr.approved": {"pr.merged": 3, "pr.reviewed": 2, "repo.viewed": 1},
        "pr.merged": {"repo.viewed": 2, "pipeline.triggered": 2, "pr.reviewed": 1},
        "pipeline.triggered": {"repo.viewed": 2, "commit.pushed": 1, "pr.reviewed": 1},
    },
    "admin": {
        "user.logged_in": {"admin_console.viewed": 6, "audit_log.viewed": 1},
        "admin_console.viewed": {"user.invited": 2, "group.updated": 2, "config.changed": 2.5,
                                 "admin_console.viewed": 2, "user.deactivated": 0.7, "api_token.created": 0.5,
                                 "audit_log.viewed": 1, "policy.updated": 0.5},
        "user.invited": {"user.invited": 2, "group.updated": 2, "admin_console.viewed": 2},
        "user.deactivated": {"admin_console.viewed": 2, "user.deactivated": 1, "group.updated": 1},
        "group.updated": {"admin_console.viewed": 3, "group.updated": 1, "user.invited": 1},
        "config.changed": {"config.changed": 2, "admin_console.viewed": 3, "policy.updated": 0.5},
        "policy.updated": {"config.changed": 1, "admin_console.viewed": 2},
        "api_token.created": {"admin_console.viewed": 2, "config.changed": 1},
        "audit_log.viewed": {"audit_log.exported": 1, "admin_console.viewed": 2, "audit_log.viewed": 1},
        "audit_log.exported": {"admin_console.viewed": 2},
    },
}

# Integrations (bots): a session is a burst of calls; the first event authenticates with the token.
_BOT_FLOWS: dict[str, dict[str, float]] = {
    "jira": {"issue.updated": 5, "issue.transitioned": 2, "issue.created": 1.5, "issue.viewed": 3,
             "search.performed": 2, "issue.commented": 1, "webhook.delivered": 2},
    "confluence": {"page.viewed": 3, "page.updated": 3, "page.created": 1, "search.performed": 1,
                   "webhook.delivered": 1},
    "bitbucket": {"pipeline.triggered": 3, "repo.viewed": 2, "commit.pushed": 1, "pr.reviewed": 1,
                  "webhook.delivered": 2},
    "admin": {"user.invited": 1, "group.updated": 2, "admin_console.viewed": 2, "audit_log.exported": 1},
}
BOT_ENTRY = "api_token.used"

# Persona bias on *target* actions (multiplies the column, then rows are renormalised).
_PERSONA_BIAS: dict[str, dict[str, float]] = {
    "developer": {"issue.transitioned": 1.6, "commit.pushed": 1.5, "pr.reviewed": 1.4, "issue.updated": 1.3},
    "business": {"page.updated": 1.6, "page.created": 1.8, "issue.commented": 1.5, "search.performed": 1.4},
    "admin": {"config.changed": 1.5, "user.invited": 1.3},
    "external": {"issue.commented": 2.0, "page.viewed": 1.5, "issue.viewed": 1.5, "issue.updated": 0.4,
                 "page.updated": 0.4},
    "bot": {},
}
# Which product a persona's session is in.
PRODUCT_MIX: dict[str, tuple[float, float, float, float]] = {
    "developer": (0.55, 0.15, 0.30, 0.0),
    "business": (0.45, 0.55, 0.0, 0.0),
    "admin": (0.35, 0.25, 0.05, 0.35),
    "external": (0.6, 0.4, 0.0, 0.0),
    "bot": (0.55, 0.2, 0.2, 0.05),
}
NO_OBJECT_ACTIONS = {"user.logged_in", "search.performed", "api_token.used", "admin_console.viewed",
                     "audit_log.viewed", "audit_log.exported", "board.viewed", "filter.viewed"}
ADMIN_OBJECT_PREFIX = {"user.invited": "inv", "user.deactivated": "usr", "group.updated": "grp",
                       "config.changed": "cfg", "policy.updated": "pol", "api_token.created": "tok"}


@dataclass(frozen=True)
class Chain:
    """The global action state space: one block per product; row-cumulative transitions per persona."""

    states: tuple[str, ...]          # action name per state
    state_product: np.ndarray        # product id per state
    cum: np.ndarray                  # (personas, states, states) cumulative transition rows
    entry_cum: np.ndarray            # (personas, products, states) cumulative initial distribution
    entry_state_bot: np.ndarray      # (products,) the bot entry state per product


@functools.lru_cache(maxsize=1)
def markov_chain() -> Chain:
    states: list[tuple[int, str]] = []
    for p, product in enumerate(PRODUCTS):
        names = set(_FLOWS[product]) | {a for row in _FLOWS[product].values() for a in row}
        names |= set(_BOT_FLOWS[product]) | {BOT_ENTRY}
        states += [(p, a) for a in sorted(names)]
    index = {s: i for i, s in enumerate(states)}
    n, npers, nprod = len(states), len(PERSONAS), len(PRODUCTS)
    cum = np.zeros((npers, n, n))
    entry = np.zeros((npers, nprod, n))
    bot_entry = np.zeros(nprod, dtype=np.int64)
    for k, persona in enumerate(PERSONAS):
        bias = _PERSONA_BIAS[persona]
        for p, product in enumerate(PRODUCTS):
            flows = _FLOWS[product]
            if persona == "bot":
                row = np.zeros(n)
                for a, w in _BOT_FLOWS[product].items():
                    row[index[(p, a)]] = w
                for (sp, _), i in index.items():
                    if sp == p:
                        # Bots wander within their API mix regardless of the previous call, with some stickiness.
                        r = row.copy()
                        r[i] += row.sum() * 0.5 if row[i] > 0 else 0
                        cum[k, i] = r
                bot_entry[p] = index[(p, BOT_ENTRY)]
                entry[k, p, bot_entry[p]] = 1
                continue
            for (sp, a), i in index.items():
                if sp != p:
                    continue
                nxt = flows.get(a) or {"user.logged_in": 0.0, **{b: 1.0 for b in flows["user.logged_in"]}}
                for b, w in nxt.items():
                    cum[k, i, index[(p, b)]] = w * bias.get(b, 1.0)
            first = flows["user.logged_in"]
            entry[k, p, index[(p, "user.logged_in")]] = 0.35
            for b, w in first.items():
                entry[k, p, index[(p, b)]] += 0.65 * w / sum(first.values()) * bias.get(b, 1.0)
    for k in range(npers):
        for i in range(n):
            if cum[k, i].sum() == 0:
                cum[k, i, i] = 1.0
        cum[k] = np.cumsum(cum[k] / cum[k].sum(axis=1, keepdims=True), axis=1)
        for p in range(nprod):
            s = entry[k, p].sum()
            entry[k, p] = np.cumsum(entry[k, p] / s) if s > 0 else np.cumsum(np.eye(n)[bot_entry[p]])
    return Chain(tuple(a for _, a in states), np.array([p for p, _ in states]), cum, entry, bot_entry)


INDUSTRIES = (("software", 0.26), ("financial_services", 0.1), ("healthcare", 0.07), ("education", 0.08),
              ("retail", 0.07), ("manufacturing", 0.08), ("government", 0.04), ("media", 0.06),
              ("nonprofit", 0.05), ("telecom", 0.04), ("consulting", 0.1), ("energy", 0.05))

# Integrations: (display name, e-mail slug, product id, library user agent).
BOT_APPS = (
    ("Jira Automation", "automation", 0, "Apache-HttpClient/4.5.14 (Java/17.0.9)"),
    ("Slack for Jira Cloud", "slack-jira", 0, "node-fetch/2.7.0"),
    ("GitHub for Jira", "github-jira", 0, "Go-http-client/1.1"),
    ("Zapier", "zapier", 0, "python-requests/2.31.0"),
    ("Tempo Timesheets", "tempo", 0, "okhttp/4.12.0"),
    ("ScriptRunner", "scriptrunner", 0, "Apache-HttpClient/4.5.13 (Java/11.0.21)"),
    ("Confluence Backup Manager", "backup", 1, "python-requests/2.28.2"),
    ("Draw.io Diagrams", "drawio", 1, "node-fetch/2.6.12"),
    ("Bitbucket Pipelines Runner", "pipelines", 2, "Go-http-client/2.0"),
    ("Jenkins", "jenkins", 2, "Jenkins/2.440.3 (Java/17.0.10)"),
    ("Opsgenie", "opsgenie", 0, "okhttp/4.11.0"),
    ("Internal sync script", "sync", 0, "curl/8.5.0"),
    ("User provisioning (SCIM)", "scim", 3, "python-requests/2.32.3"),
)

# Settings: key -> (product id, default, common values). A setting keeps its type: a boolean takes its two
# values, an enumeration its members, a number one of its common or (rarely) less common values
# (NUMERIC_SETTINGS); only free-form settings (FREE_FORM_SETTINGS: allow-listed domains and IP ranges, custom
# field and workflow names) have a long tail of org-specific values, ``custom-<hex>``, with Zipf popularity.
SETTINGS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "security.two_factor": (3, "optional", ("off", "optional", "required")),
    "security.session_timeout_minutes": (3, "480", ("30", "60", "240", "480", "1440")),
    "security.password_policy": (3, "basic", ("basic", "strong")),
    "sso.provider": (3, "none", ("none", "okta", "azure_ad", "google", "onelogin")),
    "ip_allowlist.enabled": (3, "false", ("false", "true")),
    "ip_allowlist.ranges": (3, "", ()),
    "security.allowed_email_domains": (3, "", ()),
    "data.export_enabled": (3, "true", ("true", "false")),
    "ai.features_enabled": (3, "true", ("true", "false")),
    "audit.retention_days": (3, "180", ("90", "180", "365")),
    "mobile.app_policy": (3, "allow", ("allow", "managed_only", "block")),
    "jira.time_tracking": (0, "on", ("on", "off")),
    "jira.default_workflow": (0, "simplified", ("simplified", "classic", "kanban")),
    "jira.custom_workflow_name": (0, "", ("Software Simplified Workflow", "Bug Workflow", "Support Workflow")),
    "jira.custom_field_name": (0, "", ("Story Points", "Team", "Customer", "Severity", "Epic Link")),
    "jira.attachment_max_mb": (0, "100", ("10", "50", "100")),
    "jira.voting_enabled": (0, "true", ("true", "false")),
    "jira.time_format": (0, "pretty", ("pretty", "days", "hours")),
    "confluence.theme": (1, "default", ("default", "documentation", "dark")),
    "confluence.anonymous_access": (1, "false", ("false", "true")),
    "confluence.page_restrictions_default": (1, "none", ("none", "edit", "view")),
    "bitbucket.merge_strategy": (2, "merge", ("merge", "squash", "fast_forward")),
    "bitbucket.required_approvals": (2, "1", ("0", "1", "2")),
    "bitbucket.branch_protection": (2, "false", ("false", "true")),
}
SETTING_KEYS = tuple(SETTINGS)
# Numbers: the less common values an admin may set (bounded: a number is not a fingerprint by itself).
NUMERIC_SETTINGS: dict[str, tuple[str, ...]] = {
    "security.session_timeout_minutes": ("15", "45", "90", "120", "720", "2880", "10080"),
    "jira.attachment_max_mb": ("5", "20", "25", "200", "250", "500", "1000"),
    "audit.retention_days": ("30", "60", "730", "1095", "2555"),
    "bitbucket.required_approvals": ("3", "4", "5"),
}
FREE_FORM_SETTINGS = frozenset({"ip_allowlist.ranges", "security.allowed_email_domains",
                                "jira.custom_workflow_name", "jira.custom_field_name"})
