"""``generate``: chunk descriptors -> Arrow tables per chunk -> one Parquet shard per table and chunk.

    specs | 'GenerateChunks' >> GenerateChunks(run_dir)

Each chunk is one Beam element; its DoFn generates the chunk's tables with the Beam-free ``generators``
package and writes each as ``part-NNNNN.parquet`` (temporary name, then rename). Shards are named after the
logical chunk, never the worker, so the bytes are the same on every runner and worker count. The driver then
gathers the small truth tables and writes ``manifest.json`` last.
"""

from __future__ import annotations

import ctypes
import logging
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa

from generators.chunk import ChunkSpec, chunk_specs, generate_chunk
from generators.params import GenerationParams
from generators.plan import SCOPES, Plan, adopt_plans, plan_for
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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc ``mallopt`` parameters (malloc.h)."""


def keep_heap() -> None:
    """Let this process reuse its freed heap from chunk to chunk instead of returning it to the OS and
    faulting it in again: numpy arrays up to 32 MB come from the heap (not one mmap each), the heap is not
    trimmed, and Arrow allocates from the same malloc (its default mimalloc pool purges freed pages).
    Every chunk has about the same size, so the process's peak is one chunk's, as before; what goes is the
    kernel time of page faults (a fifth of a worker's CPU time, measured at 2M events). glibc only; a no-op
    elsewhere, and only in the in-process runner's worker subprocesses (``pipelines.beam_worker``), never in a
    caller's own process."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if not sys.platform.startswith("linux") or getattr(spec, "name", None) != "pipelines.beam_worker":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)
    except (OSError, AttributeError):  # not glibc
        return
    pa.set_memory_pool(pa.system_memory_pool())


class GenerateChunkFn(beam.DoFn):
    """Generate one chunk and write its shards; emit (scope, table, chunk, rows) per shard.

    ``shared`` = (seed, the driver's :func:`build_pools` result, its plans per scope) travels with the DoFn,
    so a worker adopts them instead of spending seconds of Faker calls and plan building on the same values."""

    def __init__(self, run_dir: str, shared: tuple[int, Pools, str, dict[str, Plan]] | None = None):
        self.run_dir = run_dir
        self.shared = shared

    def setup(self) -> None:
        keep_heap()
        if self.shared is not None:
            seed, pools, params_json, plans = self.shared
            adopt_pools(seed, pools)
            adopt_plans(seed, params_json, plans)

    def process(self, spec: ChunkSpec) -> Iterator[tuple[str, str, int, int]]:
        run = Path(self.run_dir)
        tables = generate_chunk(spec)
        for table, data in tables.items():
            write_parquet_atomic(data, shard_path(run, spec.scope, table, spec.chunk))
            yield (spec.scope, table, spec.chunk, data.num_rows)
        del tables, data


class GenerateChunks(beam.PTransform):
    """Chunk descriptors in, shard records out."""

    def __init__(self, run_dir: str, shared: tuple[int, Pools, str, dict[str, Plan]] | None = None):
        super().__init__()
        self.run_dir = run_dir
        self.shared = shared

    def expand(self, specs: beam.PCollection) -> beam.PCollection:
        return (specs
                | "Spread" >> beam.Reshuffle()
                | "GenerateAndWrite" >> beam.ParDo(GenerateChunkFn(self.run_dir, self.shared)))


def _gather_truth(run: Path) -> None:
    """Concatenate the per-chunk truth parts into ``accounts.parquet`` (small: one row per account)."""
    for base in (RunDir(run).truth, RunDir(run).control()):
        parts = shards(base / PARTS / "accounts")
        if not parts:
            continue
        table = pa.concat_tables([read_parquet(p) for p in parts])
        write_parquet_atomic(table, base / ACCOUNTS_FILE)
        shutil.rmtree(base / PARTS)


def _shared(seed: int, params: GenerationParams) -> tuple[int, Pools, str, dict[str, Plan]]:
    """What every worker would otherwise rebuild: the pools and the plan of each scope (already built here
    by :func:`chunk_specs`)."""
    return seed, build_pools(seed), params.model_dump_json(), {s: plan_for(seed, s, params) for s in SCOPES}


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
             | "GenerateChunks" >> GenerateChunks(str(run), _shared(seed, params)))
        converge(p)
    _gather_truth(run)
    remove_tmp_files(run)
    seconds = time.perf_counter() - t0
    main_chunks = sum(1 for s in specs if s.scope == "main")
    return {"chunks": {"main": main_chunks, "control": len(specs) - main_chunks}, "seconds": round(seconds, 3)}
