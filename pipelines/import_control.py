"""A control population held out of an imported log (``anonbench import --control-share S``).

A generated run has a control population (``truth/control/``: accounts of the same orgs, generated alike and
never anonymized or published; :func:`generators.plan._control_plan`), which anonymeter-style checks and the
membership check use to measure chance. An imported log has none, so those checks read "not measured". With a
control share, a share ``S`` of the log's accounts is held out: their events (and accounts-list rows) go to
``truth/control/`` in the layout of a generated run's control — ``events/``, ``users/`` and
``accounts.parquet`` — and never to ``raw/``, so ``anonymize`` never sees them and no release can contain them.

Which accounts: those whose keyed hash ``sha256("anonbench-control\\0" + account_id)`` falls below ``S``
(the first 8 bytes as a fraction of 2^64): a function of the account id alone, so the split does not depend on
row order, file format or other accounts, and a re-import holds out the same accounts. A person is an account
in an imported log (``truth/accounts.parquet`` maps each account to itself), so a person is never on both
sides. The held-out accounts are a random sample of the log's accounts (of all its orgs) — the same kind of
control as anonymeter's (Giomi et al., PoPETs 2023) — not a stratified one.

A release imported with ``--anonymized`` was made from every account, the held-out ones included: its
"controls" would have shaped the release, so the combination is refused (it would understate the risk).
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

SALT = b"anonbench-control\x00"


def held_out(account_ids: pl.Series, share: float) -> pl.Series:
    """Boolean per account id: held out as a control (keyed hash below ``share``). One hash per distinct
    account (not per event)."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"control share {share} is outside [0, 1)")
    ids = account_ids.cast(pl.String)
    uniq = ids.unique(maintain_order=True)
    frac = np.fromiter((int.from_bytes(hashlib.sha256(SALT + a.encode()).digest()[:8], "big") / 2.0**64
                        for a in uniq.to_list()), dtype=np.float64, count=len(uniq))
    table = pl.DataFrame({"account_id": uniq, "held": frac < share})
    return ids.to_frame("account_id").join(table, on="account_id", how="left", maintain_order="left")["held"]


def split(events: pl.DataFrame, users: pl.DataFrame | None, share: float
          ) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame, pl.DataFrame | None]:
    """(main events, main users, control events, control users); the accounts list's accounts without events
    are split by the same rule. Raises ``ValueError`` when either side would be empty."""
    ids = events["account_id"] if users is None else pl.concat([events["account_id"], users["account_id"]])
    ids = ids.unique(maintain_order=True)
    controls = ids.filter(held_out(ids, share))
    n_ctl, n_all = len(controls), len(ids)
    if n_ctl == 0 or n_ctl == n_all:
        raise ValueError(f"{n_ctl} of {n_all} accounts held out: both the released and the control population "
                         "need accounts")
    in_ctl = pl.col("account_id").is_in(controls.implode())
    ev_ctl, ev_main = events.filter(in_ctl), events.filter(~in_ctl)
    if ev_ctl.height == 0 or ev_main.height == 0:
        raise ValueError("every event falls on one side: both the released and the control population need events")
    if users is None:
        return ev_main, None, ev_ctl, None
    return ev_main, users.filter(~in_ctl), ev_ctl, users.filter(in_ctl)
