"""Golden digest: the generator's default output is byte-identical across refactors.

``dp.synthesize`` threads a fitted behaviour model into ``generators.behaviour``; without a model the output
must not change by a single byte. The digests below are of a small run (20,000 events, two chunks per scope);
a deliberate change of the generator updates them in the same commit, saying why (last: issue 10's realism
-- personal rhythms, unused and occasional seats, typed settings).
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.ipc as ipc

from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams

GOLDEN = {
    "accounts": "daed320be8dec62f7b167fb0ea48308b1267387cf1885d9473e6dac1dc572c33",
    "config_changes": "6d86deaf96da05ca3fb07916df16d5adb34384cfd63d916ec8d109fa3a4b9efe",
    "events": "cff89ba44e407bdd29d744d35a938942dbf4e34b3aa007e8ec481a1253f72d94",
    "orgs": "e093f9fd73d86969a501d4e97d2892b7b789284f87da8a9b5df30f4b0749ff93",
    "users": "2304b410c761537538deb4e24ad070a5907a09862c8ce0505e7f5402636ff77b",
}


def table_digest(t: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, t.schema) as w:
        w.write_table(t.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def digests() -> dict[str, str]:
    params = GenerationParams(events=20_000, events_per_chunk=10_000)
    parts: dict[str, list[pa.Table]] = {}
    for spec in chunk_specs(7, params):
        for k, t in generate_chunk(spec).items():
            parts.setdefault(k, []).append(t)
    return {k: table_digest(pa.concat_tables(v)) for k, v in sorted(parts.items())}


def test_default_generator_output_matches_golden_digest() -> None:
    assert digests() == GOLDEN
