"""Fingerprints of chain outputs on a tiny generated population, without Beam — the corpus test's way to see
that a harmless mutant keeps every output byte and that a privacy mutant changes something.

    python -m benchmarks.mutants.fingerprint REF [REF ...]    # prints {chain: {table: sha256}} as JSON

Run in a subprocess with a mutant's environment (its ``sitecustomize``) to fingerprint a code mutant. Tables
released by a differentially private step are noisy by design; they are fingerprinted by their schema only.
Needs ``ANONBENCH_KEY``.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from functools import cache

import pyarrow as pa
import pyarrow.ipc as ipc

TINY_EVENTS = 30000
"""Large enough that Mondrian's classes differ between k = 9 and k = 10 (117 users)."""
TINY_SEED = 7


@cache
def tiny_tables(events: int = TINY_EVENTS, seed: int = TINY_SEED) -> dict[str, pa.Table]:
    """The raw tables of a small population (main scope only), generated in-process."""
    from generators.chunk import chunk_specs, generate_chunk
    from generators.params import GenerationParams
    from generators.schema import RAW_TABLES

    params = GenerationParams(events=events, events_per_chunk=events)
    parts: dict[str, list[pa.Table]] = {}
    for spec in chunk_specs(seed, params):
        if spec.scope == "main":
            for name, t in generate_chunk(spec).items():
                if name in RAW_TABLES:
                    parts.setdefault(name, []).append(t)
    return {k: pa.concat_tables(v) for k, v in parts.items()}


def _digest(t: pa.Table) -> str:
    buf = io.BytesIO()
    with ipc.new_stream(buf, t.schema) as w:
        w.write_table(t)
    return hashlib.sha256(buf.getvalue()).hexdigest()


@cache
def fingerprint(ref: str) -> dict[str, str]:
    """{table: sha256 of its Arrow IPC bytes} of chain ``ref`` (a name or a YAML path) on the tiny tables
    (cached per reference: call it in a process whose key and patches do not change)."""
    from anonymizers.chain import resolve_chain
    from anonymizers.local import run_chain

    chain = resolve_chain(ref)
    noisy = {s.releases for s in chain.steps
             if s.releases and (s.anonymizer.differentially_private or not s.anonymizer.deterministic)}
    out = run_chain(chain, tiny_tables())
    return {name: ("schema:" + hashlib.sha256(str(t.schema).encode()).hexdigest()) if name in noisy
            else _digest(t) for name, t in sorted(out.tables.items())}


def main(argv: list[str] | None = None) -> int:
    refs = sys.argv[1:] if argv is None else argv
    print(json.dumps({ref: fingerprint(ref) for ref in refs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
