"""Reference generators for the generation benchmark, each run as its own process.

    python -m benchmarks.gen_references naive N OUT      # (a) naive Beam: one Faker call per field per event
    python -m benchmarks.gen_references bare N OUT       # (b) the same generator code, bare loop, pyarrow
    python -m benchmarks.gen_references sink N OUT       # (c) pyarrow writing already-generated tables only

Each prints one JSON line: {"events": n, "seconds": s} where seconds excludes interpreter start-up but includes
everything the variant does (for ``sink``: only the writing).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def naive(n: int, out: Path) -> float:
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from faker import Faker

    class FakeEvent(beam.DoFn):
        def setup(self) -> None:
            self.f = Faker()
            self.f.seed_instance(0)

        def process(self, i: int):
            f = self.f
            yield {"event_id": f.uuid4(), "event_time": f.date_time_between("-28d", "now").isoformat(),
                   "org_id": f.bothify("org-????????"), "product": f.random_element(["jira", "confluence"]),
                   "action": f.random_element(["issue.viewed", "page.updated", "user.logged_in"]),
                   "account_id": f.hexify("^" * 24), "actor_email": f.email(), "auth_type": f.random_element(
                       ["sso", "password"]), "session_id": f.uuid4(), "object_id": f.bothify("C-####"),
                   "container_id": f.bothify("C-##"), "client_ip": f.ipv4(), "user_agent": f.user_agent(),
                   "geo_country": f.country_code(), "outcome": f.random_element(["success", "failure"])}

    def write(rows: list[dict]) -> None:
        pq.write_table(pa.Table.from_pylist(rows), out / "naive.parquet", compression="zstd")

    t0 = time.perf_counter()
    with beam.Pipeline(runner=FnApiRunner()) as p:
        _ = (p | beam.Create(range(n)) | beam.ParDo(FakeEvent()) | beam.combiners.ToList() | beam.Map(write))
    return time.perf_counter() - t0


def bare(n: int, out: Path, params_json: str | None = None) -> float:
    from generators.chunk import chunk_specs, generate_chunk
    from generators.params import GenerationParams
    from pipelines.runio import PARQUET_OPTS

    p = GenerationParams.model_validate_json(params_json) if params_json else GenerationParams(
        events=n, events_per_chunk=500_000)
    t0 = time.perf_counter()
    for spec in chunk_specs(0, p):
        for name, table in generate_chunk(spec).items():
            d = out / spec.scope / name
            d.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, d / f"part-{spec.chunk:05d}.parquet", **PARQUET_OPTS)
    return time.perf_counter() - t0


def sink(n: int, out: Path) -> float:
    from generators.chunk import chunk_specs, generate_chunk
    from generators.params import GenerationParams
    from pipelines.runio import PARQUET_OPTS

    p = GenerationParams(events=n, events_per_chunk=500_000)
    tables = [generate_chunk(s)["events"] for s in chunk_specs(0, p) if s.scope == "main"]
    t0 = time.perf_counter()
    for i, t in enumerate(tables):
        pq.write_table(t, out / f"part-{i:05d}.parquet", row_group_size=1 << 20, **PARQUET_OPTS)
    return time.perf_counter() - t0


if __name__ == "__main__":
    kind, n, out = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    secs = {"naive": naive, "bare": bare, "sink": sink}[kind](n, out)
    print(json.dumps({"events": n, "seconds": secs}))
