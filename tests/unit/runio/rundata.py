"""A tiny run directory without Beam (raw, truth, one chain, a manifest), and a page-flipping helper."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import manifest
from pipelines.runio import shard_name, write_parquet_atomic


def events(n: int, offset: int = 0) -> pa.Table:
    return pa.table({"event_id": pa.array(range(offset, offset + n), pa.int64()),
                     "action": [f"issue.viewed{i % 5}" for i in range(n)]})


def make_run(root: Path) -> Path:
    """RUN with raw/events (2 shards), truth/accounts.parquet and anon/a/events; manifest listing them all."""
    for i in range(2):
        write_parquet_atomic(events(500, 500 * i), root / "raw" / "events" / shard_name(i))
        write_parquet_atomic(events(400, 500 * i), root / "anon" / "a" / "events" / shard_name(i))
    write_parquet_atomic(pa.table({"account_id": ["x", "y"], "person_id": [1, 2]}), root / "truth" / "accounts.parquet")
    manifest.write(root, {"name": "tiny", "chains": {"a": {"role": "candidate"}},
                          "files": manifest.list_files(root, "raw", "truth", "anon")})
    return root


def flip_data_byte(path: Path, column: int = 0) -> None:
    """Flip one byte inside the first data page of ``column`` (near the page's end: a value, not a header)."""
    meta = pq.ParquetFile(path).metadata.row_group(0).column(column)
    data = bytearray(path.read_bytes())
    start = meta.dictionary_page_offset if meta.has_dictionary_page else meta.data_page_offset
    data[start + meta.total_compressed_size - 8] ^= 0x01
    path.write_bytes(bytes(data))
