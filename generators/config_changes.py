"""Configuration changes: every ``config.changed`` admin event records a setting change, plus background
changes (SCIM sync, API scripts) spread over the period.

Most orgs keep most settings at their defaults and pick among a few common values; a share of changes sets
a rare value (a custom SSO provider name, an odd timeout, a custom workflow) -- the long tail that makes
small tenants unique. ``old_value`` is the previous ``new_value`` of the same (org, key), or the default.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from generators.catalog import NUMERIC_SETTINGS, PRODUCTS, SETTING_KEYS, SETTINGS
from generators.params import GenerationParams
from generators.plan import epoch_us
from generators.population import P_ADMIN, Accounts
from generators.rng import hex_ids, to_hex

US = 1_000_000


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
    # Zipf popularity of keys; common values mostly, a rare tail otherwise.
    key = np.minimum(rng.zipf(1.6, n) - 1, len(SETTING_KEYS) - 1)
    key = rng.permutation(len(SETTING_KEYS))[key] if n else key
    keys = np.array(SETTING_KEYS, dtype=object)[key]
    commons = [SETTINGS[k][2] for k in SETTING_KEYS]
    ci = (rng.random(n) * np.array([len(commons[k]) for k in key])).astype(np.int64)
    common_val = np.array([commons[k][i] for k, i in zip(key.tolist(), ci.tolist(), strict=True)], dtype=object)
    rare = rng.random(n) < p.rare_config_share
    numeric = np.isin(keys, list(NUMERIC_SETTINGS))
    rare_num = (rng.lognormal(4, 1.5, n).astype(np.int64) + 1).astype(str)
    rare_txt = np.asarray(to_hex(hex_ids(rng, n, 3), "custom-").to_numpy(zero_copy_only=False), dtype=object)
    new_val = np.where(rare, np.where(numeric, rare_num, rare_txt), common_val)
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
