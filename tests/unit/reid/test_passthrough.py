"""``passthrough``: raw precision kept, suppression skipped and shared date shifts show up as shares."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from reid.harness import RunData
from reid.passthrough import passthrough

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
N = 120


def _write(root: Path, tables: dict[str, pl.DataFrame]) -> None:
    for name, df in tables.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        df.write_parquet(root / name / "part-00000.parquet")


def _run(tmp_path: Path, anon: dict[str, pl.DataFrame]) -> RunData:
    orgs = pl.DataFrame({"org_id": [f"o{i}" for i in range(N)], "n_accounts": [(i * 7) % 300 + 1 for i in range(N)],
                         "created_at": [T0 + dt.timedelta(days=i, seconds=37 * i) for i in range(N)]})
    accounts = [f"a{i // 3}" for i in range(3 * N)]
    values = [f"v{i % 7}" if i % 5 else f"rare{i}" for i in range(3 * N)]   # every 5th row a value nobody shares
    config = pl.DataFrame({"account_id": accounts, "new_value": values})
    _write(tmp_path / "raw", {"orgs": orgs, "config_changes": config})
    full = {"orgs": orgs, "config_changes": config}
    _write(tmp_path / "anon" / "c", {k: anon.get(k, v) for k, v in full.items() if anon.get(k, v) is not None})
    return RunData.open(tmp_path, "c")


def _rows(data: RunData) -> dict[tuple[str, str, str], object]:
    cols = {"orgs": ["n_accounts", "created_at"], "config_changes": ["new_value"]}
    return {(m.params["table"], m.params["column"], m.metric): m for m in passthrough(data, cols, seed=1)}


def test_a_raw_release_is_exact_everywhere_and_its_offsets_are_all_shared(tmp_path):
    rows = _rows(_run(tmp_path, {}))
    assert all(m.value == 1.0 and m.successes == m.n for m in rows.values())
    assert rows[("orgs", "n_accounts", "exact_share")].n == N
    assert rows[("config_changes", "new_value", "exact_share")].n == N      # the unit is the account


def test_coarsened_suppressed_and_per_unit_shifted_columns_are_not_exact(tmp_path):
    orgs = pl.DataFrame({"org_id": [f"o{i}" for i in range(N)],
                         "n_accounts": [((i * 7) % 300 + 1) // 50 * 50 + 1 for i in range(N)],   # bands
                         "created_at": [T0 + dt.timedelta(days=i + (i * 13) % 61 - 30, seconds=37 * i)
                                        for i in range(N)]})                                      # shifted per org
    accounts = [f"a{i // 3}" for i in range(3 * N)]
    values = [f"v{i % 7}" if i % 5 else "other" for i in range(3 * N)]
    rows = _rows(_run(tmp_path, {"orgs": orgs, "config_changes": pl.DataFrame({"account_id": accounts,
                                                                                 "new_value": values})}))
    assert rows[("orgs", "n_accounts", "exact_share")].value < 0.1
    shift = rows[("orgs", "created_at", "shared_offset")]
    assert shift.value < 0.1 and shift.ci_high < 0.2 and shift.n == N
    # accounts whose three rows hold no suppressed value: rows 3a..3a+2 contain a multiple of 5 for 3 of 5 a's
    assert abs(rows[("config_changes", "new_value", "exact_share")].value - 2 / 5) < 0.05


def test_a_constant_shift_is_shared_and_a_dropped_column_is_not_applicable(tmp_path):
    orgs = pl.DataFrame({"org_id": [f"o{i}" for i in range(N)],
                         "created_at": [T0 + dt.timedelta(days=i + 7, seconds=37 * i) for i in range(N)]})
    rows = _rows(_run(tmp_path, {"orgs": orgs}))
    assert rows[("orgs", "created_at", "exact_share")].value == 0.0
    assert rows[("orgs", "created_at", "shared_offset")].value == 1.0
    na = rows[("orgs", "n_accounts", "exact_share")]
    assert na.params["applicable"] is False and na.params["reason"] == "column not released" and na.n == 0
