"""Configuration changes: every ``config.changed`` admin event records a setting change, plus background
changes (SCIM sync, API scripts) spread over the period.

Every setting keeps its type: a boolean takes its two values, an enumeration its members, a number one of
its common values or (``rare_config_share`` of its changes) a less common one. Only free-form settings
(allow-listed domains and IP ranges, custom field and workflow names) have a long tail: their values follow a
Zipf law over one vocabulary shared by all orgs (a few names are common, most are set by one org only) --
the tail that makes small tenants unique. ``old_value`` is the previous ``new_value`` of the same (org, key), or the default.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from generators.catalog import FREE_FORM_SETTINGS, NUMERIC_SETTINGS, PRODUCTS, SETTING_KEYS, SETTINGS
from generators.params import GenerationParams
from generators.plan import epoch_us
from generators.population import P_ADMIN, Accounts
from generators.rng import to_hex

US = 1_000_000
FREE_FORM_ZIPF = 1.4  # popularity exponent of free-form values (rank r chosen with probability ~ r^-1.4)
FREE_FORM_SHARE = 0.3  # changes to free-form settings (custom fields and workflows, allow-lists)


def _values(rng: np.random.Generator, key: np.ndarray, rare_share: float) -> np.ndarray:
    """A typed new value for each change of setting ``key`` (index into SETTING_KEYS)."""
    n = len(key)
    commons = [SETTINGS[k][2] for k in SETTING_KEYS]
    others = [NUMERIC_SETTINGS.get(k, ()) for k in SETTING_KEYS]
    free = np.array([k in FREE_FORM_SETTINGS for k in SETTING_KEYS])[key]
    n_common = np.array([len(c) for c in commons])[key]
    n_other = np.array([len(o) for o in others])[key]
    u = rng.random(n)
    rare = (rng.random(n) < rare_share) & (n_other > 0)
    # Booleans, enumerations, numbers: a member, uniformly; numbers sometimes a less common value.
    i = (u * np.where(rare, n_other, np.maximum(n_common, 1))).astype(np.int64)
    table = np.array([v for k in range(len(SETTING_KEYS)) for v in (*commons[k], *others[k], "")], dtype=object)
    base = np.cumsum([0] + [len(commons[k]) + len(others[k]) + 1 for k in range(len(SETTING_KEYS))])[:-1]
    typed = table[base[key] + np.where(rare, n_common + i, i)]
    # Free-form: Zipf rank over the key's vocabulary, the catalog's common names first, then custom-<hex>
    # names fixed per (key, rank), so a popular custom value recurs across orgs.
    rank = np.minimum(rng.zipf(FREE_FORM_ZIPF, n), 1 << 30).astype(np.uint64) - 1
    named = free & (rank < n_common)
    typed = np.where(named, table[base[key] + np.minimum(rank, np.maximum(n_common, 1) - 1).astype(np.int64)],
                     typed)
    tail = free & ~named
    h = (rank * np.uint64(0x9E3779B97F4A7C15) + key.astype(np.uint64) * np.uint64(0xBF58476D1CE4E5B9))
    h ^= h >> np.uint64(29)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(32)
    low = (h[tail] & np.uint64(0xFFFFFF)).astype(">u4").view(np.uint8).reshape(-1, 4)[:, 1:]
    tail_names = np.asarray(to_hex(low, "custom-").to_numpy(zero_copy_only=False), dtype=object)
    out = typed.copy()
    out[tail] = tail_names
    return out


def build_config_changes(rng: np.random.Generator, acc: Accounts, p: GenerationParams,
                         cfg_time: np.ndarray, cfg_acc: np.ndarray) -> pa.Table:
    n_org = len(acc.org_ids)
    # Background changes by an admin of the org (the first admin account is the org's owner).
    admins = np.nonzero(acc.persona == P_ADMIN)[0]
    admin_org = acc.org[admins]
    first_admin = np.full(n_org, -1)
    first_admin[admin_org[::-1]] = admins[::-1]
    n_bg = rng.poisson(p.config_changes_per_org, n_org) * (first_admin >= 0)
    bg_org = np.repeat(np.arange(n_org), n_bg)
    bg_acc = first_admin[bg_org]
    bg_time = epoch_us(p.start) + (rng.random(len(bg_org)) * p.days * 86_400 * US).astype(np.int64)
    times = np.concatenate([cfg_time, bg_time])
    accs = np.concatenate([cfg_acc, bg_acc]).astype(np.int64)
    n = len(times)
    # Free-form settings (custom fields, workflows, allow-lists) take a fixed share of the changes; the typed
    # ones a Zipf popularity. Each key's values keep its type (see _values).
    free_keys = np.array([i for i, k in enumerate(SETTING_KEYS) if k in FREE_FORM_SETTINGS])
    typed_keys = np.array([i for i, k in enumerate(SETTING_KEYS) if k not in FREE_FORM_SETTINGS])
    key = np.minimum(rng.zipf(1.6, n) - 1, len(typed_keys) - 1)
    key = typed_keys[rng.permutation(len(typed_keys))[key]] if n else key
    key = np.where(rng.random(n) < FREE_FORM_SHARE, free_keys[rng.integers(0, len(free_keys), n)], key)
    keys = np.array(SETTING_KEYS, dtype=object)[key]
    new_val = _values(rng, key, p.rare_config_share)
    product = np.array([PRODUCTS[SETTINGS[k][0]] for k in SETTING_KEYS], dtype=object)[key]
    default = np.array([SETTINGS[k][1] for k in SETTING_KEYS], dtype=object)[key]
    df = pl.DataFrame({
        "org": acc.org[accs] if n else np.zeros(0, np.int64), "acc": accs, "t": times,
        "product": product.astype(str), "setting_key": keys.astype(str),
        "new_value": new_val.astype(str), "default": default.astype(str),
    }).sort(["t", "org", "setting_key", "acc"])
    df = df.with_columns(old_value=pl.col("new_value").shift(1).over(["org", "setting_key"], order_by="t")
                         .fill_null(pl.col("default")))
    org = df["org"].to_numpy()
    a = df["acc"].to_numpy()
    return pa.table({
        "org_id": acc.org_ids.take(pa.array(org)),
        "product": df["product"].to_arrow(),
        "event_time": pa.array(df["t"].to_numpy(), pa.timestamp("us", tz="UTC")),
        "account_id": acc.account_id.take(pa.array(a)),
        "setting_key": df["setting_key"].to_arrow(),
        "old_value": df["old_value"].to_arrow(),
        "new_value": df["new_value"].to_arrow(),
    })
