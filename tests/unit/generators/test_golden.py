"""Golden digest: the generator's default output is byte-identical across refactors.

``dp.synthesize`` threads a fitted behaviour model into ``generators.behaviour``; without a model the output
must not change by a single byte. The digests below are of a small run (20,000 events, two chunks per scope),
per scope, so a change of the control population cannot hide a change of the raw tables. A deliberate change
of the generator updates them in the same commit, saying why (raw, last: issue 10's realism -- personal
rhythms, unused and occasional seats, typed settings; control, last: issue 8 -- held-out accounts of the
main population's own orgs, as many as its accounts, instead of a quarter-size population of other orgs; the
raw digests did not change).
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.ipc as ipc

from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams

GOLDEN = {
    "main": {
        "accounts": "3b603f66ced376ee9a9daaa067553bb28c964d071c518c52078ef1759d40e2cd",
        "config_changes": "8660f2cf413a17fca7e24cfa309ae3303a23c063a6a1da60714f23b4ea8c51e8",
        "events": "c5e148ac15d95903e906a23340cfd4e6361ef4bc9f43d848d629cc0bed3bf0b8",
        "orgs": "6f8cf2fe7bfad70f66b7edd9367c77a67f107381560223c4c0eaa3a9d4494ae9",
        "users": "19bbf9bdbcf83d202b7dc2764556e7d30127651894ce91a3fb3ff04a4e9a0da6",
    },
    "control": {
        "accounts": "6b2228f3f671c718a05f56b13ff4f0f06126c1859306e81aedc091e4f77a783d",
        "config_changes": "3346bf363a23c0e012080e2fa7d4b2dd0971afd1c3adddfcff1f3f594263c395",
        "events": "917a9541e5bfd2f6704a9aeeebe3a4a350120aee71f8fa13c1fd65b6d6817077",
        "orgs": "6f8cf2fe7bfad70f66b7edd9367c77a67f107381560223c4c0eaa3a9d4494ae9",  # the main orgs
        "users": "4f35d0514ba2c6a4e7bc0d4eb01d3d5dcd421f6f51811509203c09c343331f3b",
    },
}


def table_digest(t: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, t.schema) as w:
        w.write_table(t.combine_chunks())
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def digests() -> dict[str, dict[str, str]]:
    params = GenerationParams(events=20_000, events_per_chunk=10_000)
    parts: dict[str, dict[str, list[pa.Table]]] = {}
    for spec in chunk_specs(7, params):
        for k, t in generate_chunk(spec).items():
            parts.setdefault(spec.scope, {}).setdefault(k, []).append(t)
    return {s: {k: table_digest(pa.concat_tables(v)) for k, v in sorted(tables.items())}
            for s, tables in parts.items()}


def test_default_generator_output_matches_golden_digest() -> None:
    got = digests()
    assert got["main"] == GOLDEN["main"], "the raw tables changed"
    assert got["control"] == GOLDEN["control"], "the control population changed"
