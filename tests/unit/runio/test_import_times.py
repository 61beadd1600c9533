"""``pipelines.importlog``: the fast offset reader agrees with the general parser; a small import keeps times,
offsets, time order and the raw schema (the string-view fast path reads back as plain strings)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from generators.schema import EVENTS
from pipelines import importlog

TEXTS = ["2026-03-02T10:00:00Z", "2026-03-02T10:00:00+02:00", "2026-03-02T10:00:00-0330",
         "2026-03-02T10:00:00.123456-05:00", "2026-03-02T10:00:00", "2026-03-02", "2026-03-02 10:00",
         "2026-03-02T10:00:00+1:00", "2026-03-02T10:00:00+0a:00", "2026-03-02T10:00:00-+1:00", "x", "",
         "2026-03-02T10:00:00 +02:00", "2026-03-02T10:00:00+00:00", "2026-03-02T23:59:59.5-11:45"]


@pytest.mark.parametrize("text", TEXTS)
def test_fast_offset_equals_general(text: str) -> None:
    df = pl.DataFrame({"t": [text]})
    _, general = importlog._text_times(pl.col("t"), fast=False)
    got = df.select(importlog._offset_minutes(pl.col("t")).alias("fast"), general.alias("general")).row(0)
    assert got[0] == got[1]


def test_import_keeps_times_offsets_order_and_schema(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("who,ts,what\n"
                   "a,2026-03-02T12:00:00+02:00,page.viewed\n"
                   "b,2026-03-02T09:30:00Z,issue.viewed\n"
                   "a,2026-03-02T08:00:00-0130 ,issue.created\n"   # a trailing blank: the general parser
                   "c,2026-03-02 11:00:00,page.updated\n")         # naive: UTC, no offset
    importlog.import_log(log, "person=who,time=ts,action=what", tmp_path / "run")
    shards = sorted((tmp_path / "run" / "raw" / "events").glob("part-*.parquet"))
    schema = pq.read_schema(shards[0])
    assert schema.remove_metadata().equals(EVENTS.append(schema.field("utc_offset_minutes")).remove_metadata())
    ev = pl.read_parquet(shards)
    utc = dt.UTC
    assert ev["event_time"].to_list() == [dt.datetime(2026, 3, 2, h, m, tzinfo=utc)
                                          for h, m in ((9, 30), (9, 30), (10, 0), (11, 0))]
    assert ev["account_id"].to_list() == ["b", "a", "a", "c"]   # equal times keep the log's order
    assert ev["utc_offset_minutes"].to_list() == [0, -90, 120, None]


def test_offsets_by_distinct_tail_equal_the_direct_reading() -> None:
    text = pl.Series([*TEXTS, None, *TEXTS])
    direct = pl.select(importlog._offset_minutes(pl.lit(text))).to_series()
    assert importlog._offsets_by_tail(text).to_list() == direct.to_list()
