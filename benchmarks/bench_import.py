"""Benchmark of ``anonbench import``: a 1M-event log in a foreign schema (renamed columns, text times with UTC
offsets, an extra column), as Parquet and as CSV, against writing the same rows with pyarrow (read the file,
write zstd Parquet: the sink), both as whole processes in the same run.

Target (issue 10): import <= 2x the pyarrow sink on the same file.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks.measure import ROOT, anonbench, measure

MAP = ("person=who,time=ts,action=what,org=tenant,product=app,user_agent=ua,ip=addr,object=obj,"
       "container=space,session=sess")
SINK = """
import sys, pyarrow.csv as pc, pyarrow.parquet as pq
src, dst = sys.argv[1], sys.argv[2]
t = pq.read_table(src) if src.endswith(".parquet") else pc.read_csv(src)
pq.write_table(t, dst, compression="zstd", compression_level=1)
"""


def _log(run: Path, out: Path, events: int) -> None:
    ev = pl.scan_parquet(sorted((run / "raw" / "events").glob("part-*.parquet"))).head(events).collect()
    minutes = (pl.col("event_time").dt.epoch("s") % 5).cast(pl.Int32) * 90 - 180
    local = (pl.col("event_time") + pl.duration(minutes=minutes)).dt.replace_time_zone(None)
    sign = pl.when(minutes < 0).then(pl.lit("-")).otherwise(pl.lit("+"))
    ts = pl.concat_str([local.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"), sign,
                        (minutes.abs() // 60).cast(pl.String).str.zfill(2), pl.lit(":"),
                        (minutes.abs() % 60).cast(pl.String).str.zfill(2)])
    log = ev.select(pl.col("event_id").alias("rowkey"), ts.alias("ts"), pl.col("account_id").alias("who"),
                    pl.col("action").alias("what"), pl.col("org_id").alias("tenant"), pl.col("product").alias("app"),
                    pl.col("user_agent").alias("ua"), pl.col("client_ip").alias("addr"),
                    pl.col("object_id").alias("obj"), pl.col("container_id").alias("space"),
                    pl.col("session_id").alias("sess"), pl.int_range(pl.len()).alias("noise"))
    log.write_parquet(out / "log.parquet")
    log.write_csv(out / "log.csv")


def source_run(work: Path, events: int) -> Path:
    """A generated run of ``events`` events to export the foreign-schema log from (made once, then reused)."""
    src = work / f"import-src-{events}"
    if not (src / "manifest.json").is_file():
        subprocess.run([*anonbench("generate", "--config", "configs/default.yaml", "--events", str(events),
                                   "--out", str(src), "--overwrite")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return src


def run(work: Path, quick: bool) -> dict[str, Any]:
    events = 100_000 if quick else 1_000_000
    src = source_run(work, events)
    scratch = work / "import-bench"
    scratch.mkdir(parents=True, exist_ok=True)
    _log(src, scratch, events)
    out: dict[str, Any] = {"events": events}
    for fmt in ("parquet", "csv"):
        f = scratch / f"log.{fmt}"
        imp = measure(anonbench("import", "--events", str(f), "--map", MAP, "--out", str(scratch / f"run-{fmt}"),
                                "--overwrite"))
        sink = measure([sys.executable, "-c", SINK, str(f), str(scratch / f"sink-{fmt}.parquet")])
        ratio = imp["seconds"] / sink["seconds"] if sink["seconds"] else float("nan")
        out[fmt] = {"import": imp, "pyarrow_sink": sink, "ratio_import_to_sink": round(ratio, 2),
                    "target_max_ratio": 2.0, "met": bool(imp["returncode"] == 0 and ratio <= 2.0)}
    return out
