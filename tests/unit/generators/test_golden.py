"""Golden digest: the generator's default output is byte-identical across refactors.

``dp.synthesize`` threads a fitted behaviour model into ``generators.behaviour``; without a model the output
must not change by a single byte. The digests below were recorded before that change (a small run: 20,000
events, two chunks per scope). A deliberate change of the generator updates them in the same commit.
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.ipc as ipc

from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams

GOLDEN = {
    "accounts": "99428f4d9dbbf575980edae303f5de8d13e5d2b5bd62322a2477fd6149cc5438",
    "config_changes": "6762d339caf3e50aa81515b3666cbcec2369bbb4db3932e52382ecd4bd22add8",
    "events": "2db230f04ec8f5d7144eb1355f1182a0f8bacb6731d660fb8b33870a276f3a7d",
    "orgs": "0734388c90405394717176a7c38b78c72d20dd98fde321a9083e6079398965a5",
    "users": "e9fe782b8762640618efc9a3c968f80b09d567189dda9aacb620743d7fa3664c",
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
