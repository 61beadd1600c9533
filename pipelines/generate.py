"""``generate``: chunk descriptors -> Arrow tables per chunk -> one Parquet shard per table and chunk.

    specs | 'GenerateChunks' >> GenerateChunks(run_dir)

Each chunk is one Beam element; its DoFn generates the chunk's tables with the Beam-free ``generators``
package and writes each as ``part-NNNNN.parquet`` (temporary name, then rename). Shards are named after the
logical chunk, never the worker, so the bytes are the same on every runner and worker count. The driver then
gathers the small truth tables and writes ``manifest.json`` last.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa

from generators.chunk import ChunkSpec, chunk_specs, generate_chunk
from generators.params import GenerationParams
from generators.pools import Pools, adopt_pools, build_pools
from pipelines.options import converge, make_pipeline_options
from pipelines.runio import read_parquet, remove_tmp_files, shard_name, shards, write_parquet_atomic
from runformat.layout import ACCOUNTS_FILE, RunDir

PARTS = "_parts"


def shard_path(run: Path, scope: str, table: str, chunk: int) -> Path:
    if table == "accounts":
        base = RunDir(run).truth if scope == "main" else RunDir(run).control()
        return base / PARTS / "accounts" / shard_name(chunk)
    base = RunDir(run).raw() if scope == "main" else RunDir(run).control()
    return base / table / shard_name(chunk)


class GenerateChunkFn(beam.DoFn):
    """Generate one chunk and write its shards; emit (scope, table, chunk, rows) per shard.

    ``pools`` = (seed, the driver's :func:`build_pools` result) travels with the DoFn, so a worker adopts them
    instead of spending seconds of Faker calls rebuilding the same values."""

    def __init__(self, run_dir: str, pools: tuple[int, Pools] | None = None):
        self.run_dir = run_dir
        self.pools = pools

    def setup(self) -> None:
        if self.pools is not None:
            adopt_pools(*self.pools)

    def process(self, spec: ChunkSpec) -> Iterator[tuple[str, str, int, int]]:
        run = Path(self.run_dir)
        tables = generate_chunk(spec)
        for table, data in tables.items():
            write_parquet_atomic(data, shard_path(run, spec.scope, table, spec.chunk))
            yield (spec.scope, table, spec.chunk, data.num_rows)
        del tables, data
        # Hand the chunk's buffers back to the OS: the allocator would otherwise keep its high-water mark.
        pa.default_memory_pool().release_unused()


class GenerateChunks(beam.PTransform):
    """Chunk descriptors in, shard records out."""

    def __init__(self, run_dir: str, pools: tuple[int, Pools] | None = None):
        super().__init__()
        self.run_dir = run_dir
        self.pools = pools

    def expand(self, specs: beam.PCollection) -> beam.PCollection:
        return (specs
                | "Spread" >> beam.Reshuffle()
                | "GenerateAndWrite" >> beam.ParDo(GenerateChunkFn(self.run_dir, self.pools)))


def _gather_truth(run: Path) -> None:
    """Concatenate the per-chunk truth parts into ``accounts.parquet`` (small: one row per account)."""
    for base in (RunDir(run).truth, RunDir(run).control()):
        parts = shards(base / PARTS / "accounts")
        if not parts:
            continue
        table = pa.concat_tables([read_parquet(p) for p in parts])
        write_parquet_atomic(table, base / ACCOUNTS_FILE)
        shutil.rmtree(base / PARTS)


def run_generation(run: Path, seed: int, params: GenerationParams, runner: str | None = None,
                   beam_args: Sequence[str] = (), workers: int | None = None) -> dict[str, Any]:
    """Generate every chunk into ``run`` (an empty folder: the staging area of the new run). Returns stats."""
    specs = chunk_specs(seed, params)
    t0 = time.perf_counter()
    n_workers = workers if workers is not None else min(2, len(specs))
    runner_obj, options = make_pipeline_options(runner, beam_args, workers=n_workers)
    # in_memory + several workers is what we want (our own subprocess environment): silence the advice.
    logging.getLogger("apache_beam.runners.portability.fn_api_runner.fn_runner").setLevel(logging.ERROR)
    with beam.Pipeline(runner=runner_obj, options=options) as p:
        _ = (p
             | "ChunkSpecs" >> beam.Create(specs, reshuffle=False)
             | "GenerateChunks" >> GenerateChunks(str(run), (seed, build_pools(seed))))
        converge(p)
    _gather_truth(run)
    remove_tmp_files(run)
    seconds = time.perf_counter() - t0
    main_chunks = sum(1 for s in specs if s.scope == "main")
    return {"chunks": {"main": main_chunks, "control": len(specs) - main_chunks}, "seconds": round(seconds, 3)}
