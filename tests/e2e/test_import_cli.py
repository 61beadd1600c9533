"""``anonbench import``: a log in a foreign schema gives the same unicity and linkage figures as the run it came
from; a release made elsewhere, imported with ``--anonymized``, is attacked like a chain; mapping mistakes are
exit 2 naming the column, never a raw value."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import run_cli, write_config

pytestmark = pytest.mark.e2e
KEY = {"ANONBENCH_KEY": "import-test-key-0123456789abcdef0123456789"}
MAP = ("person=who,time=ts,action=what,org=tenant,product=app,user_agent=ua,ip=addr,object=obj,"
       "container=space,session=sess")


def _ok(*args: str) -> None:
    r = run_cli(*args, env=KEY)
    assert r.returncode == 0, r.stderr[-2000:]


def _offset_text(t: pl.Expr, minutes: pl.Expr) -> pl.Expr:
    """ISO 8601 local time with its UTC offset (``2026-03-02T16:28:02.000000+02:00``)."""
    local = (t + pl.duration(minutes=minutes)).dt.replace_time_zone(None).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
    sign = pl.when(minutes < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    hh = (minutes.abs() // 60).cast(pl.String).str.zfill(2)
    mm = (minutes.abs() % 60).cast(pl.String).str.zfill(2)
    return pl.concat_str([local, sign, hh, pl.lit(":"), mm])


def _foreign(ev: pl.DataFrame) -> pl.DataFrame:
    minutes = (pl.col("event_time").dt.epoch("s") % 5).cast(pl.Int32) * 90 - 180   # -3h .. +3h
    return ev.select(
        pl.col("event_id").alias("rowkey"), _offset_text(pl.col("event_time"), minutes).alias("ts"),
        pl.col("account_id").alias("who"), pl.col("action").alias("what"), pl.col("org_id").alias("tenant"),
        pl.col("product").alias("app"), pl.col("user_agent").alias("ua"), pl.col("client_ip").alias("addr"),
        pl.col("object_id").alias("obj"), pl.col("container_id").alias("space"), pl.col("session_id").alias("sess"),
        pl.int_range(pl.len()).alias("noise")).sample(fraction=1.0, shuffle=True, seed=3)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("import")
    cfg = write_config(base / "c.yaml", events=60_000, seed=11, chunk=20_000)
    orig = base / "orig"
    _ok("generate", "--config", str(cfg), "--out", str(orig))
    for chain in ("none", "generalize"):
        _ok("anonymize", "--run", str(orig), "--chain", chain)
        _ok("attack", "--run", str(orig), "--chain", chain)
    ev = pl.read_parquet(orig / "raw" / "events" / "*.parquet")
    _foreign(ev).write_csv(base / "log.csv")
    users = pl.read_parquet(orig / "raw" / "users" / "*.parquet")
    users.select(pl.col("account_id").alias("uid"), pl.col("timezone").alias("tz"),
                 pl.col("account_type").replace({"atlassian": "Human", "app": "Bot", "customer": "External"})
                 .alias("kind"), pl.col("role").alias("r")).write_parquet(base / "people.parquet")
    rel = pl.read_parquet(orig / "anon" / "generalize" / "events" / "*.parquet").with_columns(rowkey=ev["event_id"])
    rel.select(pl.col("rowkey"), pl.col("event_time").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias("ts"),
               pl.col("account_id").alias("who"), pl.col("action").alias("what"), pl.col("org_id").alias("tenant"),
               pl.col("product").alias("app"), pl.col("user_agent").alias("ua"), pl.col("client_ip").alias("addr"),
               pl.col("object_id").alias("obj"), pl.col("container_id").alias("space"),
               pl.col("session_id").alias("sess")).sample(fraction=1.0, shuffle=True, seed=4) \
        .write_parquet(base / "released.parquet")
    imp = base / "imp"
    _ok("import", "--events", str(base / "log.csv"), "--map", MAP, "--out", str(imp),
        "--accounts", str(base / "people.parquet"), "--map-accounts", "person=uid,timezone=tz,type=kind,role=r",
        "--anonymized", str(base / "released.parquet"), "--key", "rowkey", "--name", "generalize")
    _ok("anonymize", "--run", str(imp), "--chain", "none")
    _ok("validate", "--run", str(imp))   # the raw suite holds the mapped columns of a foreign log
    for chain in ("none", "generalize"):
        _ok("attack", "--run", str(imp), "--chain", chain)
    return orig, imp


def _figures(run: Path, chain: str, check: str) -> pl.DataFrame:
    return pl.read_parquet(run / "risk" / chain / f"{check}.parquet").select("metric", "params", "value", "n")


@pytest.mark.parametrize("chain", ["none", "generalize"])
@pytest.mark.parametrize(("check", "metrics"), [("unicity", ("reidentified_share", "unique_share")),
                                                ("profile_linkage", ("top1_accuracy", "top10_accuracy"))])
def test_imported_log_gives_the_same_figures(runs: tuple[Path, Path], chain: str, check: str,
                                             metrics: tuple[str, ...]) -> None:
    orig, imp = runs
    a, b = _figures(orig, chain, check), _figures(imp, chain, check)
    both = a.join(b, on=["metric", "params"], suffix="_imp").filter(pl.col("metric").is_in(metrics))
    assert both.height >= len(metrics)
    for row in both.iter_rows(named=True):
        # Two estimates (each run draws its own attack split): the same figure when their difference lies
        # within the 95% interval of a difference of two proportions (each alone within the other's CI is
        # too strict: two estimates of one proportion miss each other's CI ~17% of the time).
        p1, n1, p2, n2 = row["value"], row["n"], row["value_imp"], row["n_imp"]
        half = 1.96 * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
        assert abs(p1 - p2) <= half + 1e-9, row


def test_run_directory_keeps_offsets_and_records_the_import(runs: tuple[Path, Path]) -> None:
    _, imp = runs
    man = json.loads((imp / "manifest.json").read_text())
    assert man["kind"] == "import" and man["import"]["offsets_kept"] is True
    assert man["chains"]["generalize"]["imported"]["aligned_by"] == "key rowkey"
    ev = pl.read_parquet(imp / "raw" / "events" / "*.parquet")
    assert set(ev["utc_offset_minutes"].unique().to_list()) == {-180, -90, 0, 90, 180}
    users = pl.read_parquet(imp / "raw" / "users" / "*.parquet")
    assert set(users["account_type"].unique().to_list()) <= {"atlassian", "app", "customer"}
    assert "noise" not in ev.columns


@pytest.mark.parametrize(("mapping", "needle"), [
    ("person=who,time=when,action=what", "no column 'when'"),
    ("person=who,time=ts,action=what,colour=app", "unknown field 'colour'"),
    ("person=who,time=app,action=what", "column 'app'"),
    ("person=who,action=what", "missing required field(s) time"),
])
def test_mapping_mistakes_are_exit_2_naming_the_column(runs: tuple[Path, Path], tmp_path: Path, mapping: str,
                                                       needle: str) -> None:
    orig, _ = runs
    log = orig.parent / "log.csv"
    r = run_cli("import", "--events", str(log), "--map", mapping, "--out", str(tmp_path / "x"))
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "@" not in r.stderr
    assert not (tmp_path / "x").exists()


def test_duplicate_keys_are_exit_2(runs: tuple[Path, Path], tmp_path: Path) -> None:
    orig, _ = runs
    log = pl.read_csv(orig.parent / "log.csv", infer_schema=False)
    dup = pl.concat([log, log.head(3)])
    dup.write_csv(tmp_path / "dup.csv")
    r = run_cli("import", "--events", str(tmp_path / "dup.csv"), "--map", MAP, "--out", str(tmp_path / "x"),
                "--anonymized", str(orig.parent / "released.parquet"), "--key", "rowkey")
    assert r.returncode == 2 and "duplicate" in r.stderr and "rowkey" in r.stderr, r.stderr
    assert not (tmp_path / "x").exists()
