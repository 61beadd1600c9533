"""Hand-built, seeded populations for the event-level attack tests (no generator needed).

Each account has a habit: a few preferred hours of the week, a skewed action mix, one user agent and an IP in
its org's office /24. Some persons hold an account in a second org with the same habits and e-mail. Small
enough for unit tests, vectorized so that benchmarks can scale it up.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
ACTIONS = [f"issue.{v}" for v in ("viewed", "created", "updated", "commented", "assigned", "closed")] + \
          [f"page.{v}" for v in ("viewed", "created", "updated", "commented")] + ["user.logged_in", "api_token.used"]


def population(n_persons: int = 60, events_per_account: int = 80, days: int = 28, n_orgs: int = 4,
               multi_org: int = 6, seed: int = 0) -> dict[str, pl.DataFrame]:
    """``users``, ``events``, ``accounts`` (truth) and ``orgs`` of a small synthetic population."""
    rng = np.random.default_rng(seed)
    person = np.arange(n_persons)
    org = rng.integers(0, n_orgs, n_persons)
    extra = person[:multi_org]                                   # persons with a second account
    acc_person = np.concatenate([person, extra])
    acc_org = np.concatenate([org, (org[:multi_org] + 1) % n_orgs])
    n_acc = acc_person.size
    account_id = np.array([f"acc-{i:05d}" for i in range(n_acc)])
    email = np.array([f"person{p}@org{o}.example" for p, o in zip(acc_person, acc_org, strict=True)])
    email[n_persons:] = email[:multi_org]                        # multi-org persons reuse their e-mail
    hours = rng.integers(0, 24 * 5, (n_persons, 3))               # habits belong to the person
    mix = rng.dirichlet(np.full(len(ACTIONS), 0.3), n_persons)
    ua = rng.integers(0, 50, n_persons)
    host = rng.integers(1, 255, n_persons)
    users = pl.DataFrame({
        "account_id": account_id, "org_id": [f"org-{o}" for o in acc_org], "email": email,
        "display_name": [f"Person {p}" for p in acc_person],
        "account_type": np.where(acc_person % 10 == 9, "customer", "atlassian"),
        "role": rng.choice(["member", "viewer", "org_admin"], n_acc, p=[0.8, 0.15, 0.05]),
        "locale": rng.choice(["en_US", "de_DE", "fr_FR"], n_acc),
        "timezone": rng.choice(["UTC", "Europe/Berlin", "America/New_York"], n_acc),
        "country": rng.choice(["US", "DE", "FR"], n_acc)})
    rows = np.repeat(np.arange(n_acc), events_per_account)
    p = acc_person[rows]
    week_hour = hours[p, rng.integers(0, 3, rows.size)]
    week = rng.integers(0, days // 7, rows.size)
    seconds = rng.integers(0, 3600, rows.size)
    t = [T0 + dt.timedelta(hours=int(h) + 168 * int(w), seconds=int(s))
         for h, w, s in zip(week_hour, week, seconds, strict=True)]
    cum = mix.cumsum(axis=1)
    action_idx = (rng.random(rows.size)[:, None] > cum[p]).sum(axis=1).clip(0, len(ACTIONS) - 1)
    events = pl.DataFrame({
        "event_id": [f"ev-{i:07d}" for i in range(rows.size)],
        "event_time": pl.Series(t, dtype=pl.Datetime("us", "UTC")),
        "org_id": [f"org-{o}" for o in acc_org[rows]],
        "product": np.where(action_idx < 6, "jira", "confluence"),
        "action": np.array(ACTIONS)[action_idx],
        "account_id": account_id[rows], "actor_email": email[rows],
        "session_id": [f"s-{r}-{w}-{h}" for r, w, h in zip(rows, week, week_hour, strict=True)],
        "client_ip": [f"10.{o}.{p_ % 200}.{h}" for o, p_, h in zip(acc_org[rows], p, host[p], strict=True)],
        "user_agent": [f"Mozilla/5.0 agent-{u}" for u in ua[p]],
    }).sort("event_time", maintain_order=True)
    accounts = pl.DataFrame({"account_id": account_id, "person_id": [f"person-{q}" for q in acc_person],
                             "org_id": users["org_id"]})
    orgs = pl.DataFrame({"org_id": [f"org-{o}" for o in range(n_orgs)],
                         "plan": ["free", "standard", "premium", "enterprise"][:n_orgs] * (n_orgs // 4 or 1),
                         "size_band": ["1-10"] * n_orgs})[:n_orgs]
    return {"users": users, "events": events, "accounts": accounts, "orgs": orgs}


def pseudonymize(df: pl.DataFrame, columns: list[str], salt: str = "k") -> pl.DataFrame:
    """A stand-in for keyed pseudonymization: a salted hash no dictionary can invert without the salt."""
    return df.with_columns([(pl.lit(salt) + pl.col(c)).hash(11).cast(pl.String).alias(c) for c in columns])


def sha256_hex(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Unsalted SHA-256 hex of each value (the naive-hash mistake)."""
    import hashlib

    def h(s: pl.Series) -> pl.Series:
        return pl.Series([hashlib.sha256(v.encode()).hexdigest() if v is not None else None for v in s.to_list()],
                         dtype=pl.String)
    return df.with_columns([h(df[c]).alias(c) for c in columns])


def _write(df: pl.DataFrame, folder, shards: int = 2) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    size = -(-df.height // shards)
    for i in range(shards):
        df.slice(i * size, size).write_parquet(folder / f"part-{i:05d}.parquet")


def make_run(root, n_persons: int = 80, events_per_account: int = 60, seed: int = 0) -> dict:
    """A complete-looking run directory with chains ``none``, ``pseudo`` (keyed), ``hash`` (sha256),
    ``coarse`` (keyed + daily buckets, no IP or UA), ``dropped`` (keyed, a quarter of the accounts removed)
    and ``agg`` (aggregates only)."""
    import json

    pop = population(n_persons=n_persons, events_per_account=events_per_account, seed=seed)
    ctl = population(n_persons=max(10, n_persons // 4), events_per_account=events_per_account, seed=seed + 1)
    ctl = {k: v.with_columns([pl.concat_str([pl.lit("c"), pl.col(c)]).alias(c) for c in v.columns
                              if c in ("account_id", "email", "person_id")]) for k, v in ctl.items()}
    raw = {k: pop[k] for k in ("users", "events", "orgs")}
    for table, df in raw.items():
        _write(df, root / "raw" / table)
    pop["accounts"].write_parquet(root / "truth" / "accounts.parquet") if (root / "truth").mkdir(
        parents=True, exist_ok=True) is None else None
    for table in ("users", "events", "orgs"):
        _write(ctl[table], root / "truth" / "control" / table, shards=1)
    ctl["accounts"].write_parquet(root / "truth" / "control" / "accounts.parquet")
    ids = {"users": ["account_id", "email"], "events": ["account_id", "actor_email", "session_id", "event_id"]}
    chains = {
        "none": raw,
        "pseudo": {t: pseudonymize(df, ids.get(t, [])).drop("display_name", strict=False) for t, df in raw.items()},
        "hash": {t: sha256_hex(df, ids.get(t, [])).drop("display_name", strict=False) for t, df in raw.items()},
    }
    coarse = {t: df for t, df in chains["pseudo"].items()}
    coarse["events"] = coarse["events"].with_columns(pl.col("event_time").dt.truncate("1d")) \
        .drop("client_ip", "user_agent")
    chains["coarse"] = coarse
    gone = pop["users"]["account_id"].sort().gather_every(4)
    with_org = {t: [*ids.get(t, []), "org_id"] for t in raw}              # org ids pseudonymized too
    chains["dropped"] = {t: pseudonymize(df.filter(~pl.col("account_id").is_in(gone.implode()))
                                         if "account_id" in df.columns else df, with_org[t])
                         .drop("display_name", strict=False) for t, df in raw.items()}
    agg = (pop["events"].group_by(pl.col("event_time").dt.date().alias("day"), "org_id", "product", "action")
           .agg(pl.len().cast(pl.Float64).alias("count")))
    chains["agg"] = {"aggregates": agg, "orgs": raw["orgs"]}
    for chain, tables in chains.items():
        for table, df in tables.items():
            _write(df, root / "anon" / chain / table)
    (root / "manifest.json").write_text(json.dumps({"config": {}, "files": []}))
    return pop
