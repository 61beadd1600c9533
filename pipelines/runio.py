"""Run-directory IO: atomic Parquet shards, checksummed pages and file listings.

Every file is written under a temporary name in its destination folder and renamed into place, so a reader
never sees a half-written file; stages write into a staging area beside the run and commit it with one rename
(``pipelines.commit``). Parquet pages carry CRC32 checksums (``write_page_checksum``) and the pyarrow readers
here verify them (``page_checksum_verification``): a flipped bit fails the read instead of changing a figure.
Polars does not verify page checksums; data it reads (the attacks) is verified against the manifest's sha256
first (``pipelines.integrity``). Shards are named ``part-NNNNN.parquet`` after the logical chunk that produced
them, never after a worker, so the layout is the same on every runner; the names (``shard_name``, ``shards``,
``TMP_PREFIX``) belong to ``runformat.layout`` and are re-exported here.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from runformat.layout import TMP_PREFIX, shard_name, shards

PARQUET_OPTS: dict[str, Any] = {"compression": "zstd", "compression_level": 1, "write_statistics": True,
                                "write_page_checksum": True}
VERIFY: dict[str, Any] = {"page_checksum_verification": True}
"""Keyword arguments of every pyarrow Parquet reader: verify the page checksums written with PARQUET_OPTS."""


def _tmp_path(path: Path) -> Path:
    # Deterministic temp name (no uuid): one writer per final path by construction of the chunk layout.
    return path.with_name(f"{TMP_PREFIX}{path.name}.{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_parquet_atomic(table: pa.Table, path: str | Path, row_group_size: int | None = 1 << 20) -> Path:
    """Write ``table`` to ``path`` (zstd) via a temporary name and an atomic rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, row_group_size=row_group_size, **PARQUET_OPTS)
    return path


def write_bytes_atomic(data: bytes, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_json_atomic(obj: Any, path: str | Path) -> Path:
    return write_bytes_atomic((json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n").encode(), path)


def parquet_file(path: str | Path) -> pq.ParquetFile:
    """A Parquet file opened for reading with page checksum verification."""
    return pq.ParquetFile(path, **VERIFY)


def read_parquet(path: str | Path, **kwargs: Any) -> pa.Table:
    """``pq.read_table`` with page checksum verification."""
    return pq.read_table(path, **VERIFY, **kwargs)


def read_table(folder: str | Path, columns: list[str] | None = None) -> pa.Table:
    """All shards of one table folder as one Arrow table (small tables only; big ones go chunk by chunk)."""
    parts = shards(folder)
    if not parts:
        raise FileNotFoundError(f"{folder}: no part-*.parquet shards")
    return pa.concat_tables([read_parquet(p, columns=columns) for p in parts])


def sha256_file(path: str | Path, bufsize: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(bufsize):
            h.update(block)
    return h.hexdigest()


def file_entry(root: Path, path: Path) -> dict[str, Any]:
    """Manifest entry of one file: relative path, rows (Parquet only), bytes and sha256."""
    entry: dict[str, Any] = {"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size,
                             "sha256": sha256_file(path)}
    if path.suffix == ".parquet":
        entry["rows"] = pq.ParquetFile(path).metadata.num_rows
    return entry


def remove_tmp_files(folder: str | Path) -> None:
    """Remove leftovers of an interrupted writer under ``folder``."""
    for p in Path(folder).rglob(f"{TMP_PREFIX}*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


__all__ = ["PARQUET_OPTS", "TMP_PREFIX", "VERIFY", "atomic_path", "file_entry", "parquet_file", "read_parquet",
           "read_table", "remove_tmp_files", "sha256_file", "shard_name", "shards", "write_bytes_atomic",
           "write_json_atomic", "write_parquet_atomic"]
