"""A value computed once in a pipeline, handed to every worker that needs it, through the staging area.

Beam's way to give one computed value to many workers is a side input. It is the wrong tool for a value that
must be computed exactly once, such as a differentially private release (noisy measurements and what is fitted
to them): Beam's DaskRunner (2.77) materializes a side input inside every task that reads it by recomputing
the side input's whole upstream Dask graph there (``DaskBagWindowedIterator.__iter__`` calls ``list(bag)``),
and its ``OneReceiver`` never clears the outputs it has collected, so a recomputation can return the value
twice. ``dp.synthesize`` on Dask measured its noise three times in one run (once in the main graph, twice
more on a worker reading the side input) and failed with "PCollection of size 2 with more than one element
accessed as a singleton view"; had the draws not collided, the shard count, the shards and the manifest
report could have come from different noisy releases of the same data, each draw spending the budget again.

A hand-off instead pickles the value once into a file of the stage's staging area, named by the SHA-256 of
its bytes, and sends a small :class:`Ticket` (path and digest) down the main input; :func:`get` loads the
file once per process and refuses it if its bytes changed. Every stage already needs a file system that the
driver and all workers share (they read the raw shards and write their outputs into the staging area by
path), so this adds no requirement. A retried attempt writes its own file under its own digest; the tickets
downstream name the file of the attempt the runner kept, and the staging area goes away with the stage.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.runio import write_bytes_atomic


class HandoffError(RuntimeError):
    """A hand-off file is missing or its bytes are not those the ticket names."""


@dataclass(frozen=True)
class Ticket:
    """Where a handed-off value is and the SHA-256 of its pickled bytes (small: it travels in the elements)."""

    path: str
    sha256: str
    nbytes: int


def put(value: Any, folder: str | Path, name: str) -> Ticket:
    """Pickle ``value`` into ``folder/<name>-<sha256>.pickle`` (atomically) and return its ticket."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    digest = hashlib.sha256(data).hexdigest()
    path = write_bytes_atomic(data, Path(folder) / f"{name}-{digest}.pickle")
    return Ticket(str(path), digest, len(data))


def get(ticket: Ticket) -> Any:
    """The value behind ``ticket``, loaded once per process (the last four are kept)."""
    return _load(ticket.path, ticket.sha256)


def take(ticket: Ticket) -> Any:
    """The value behind ``ticket``, loaded now and not kept (for the many pieces each read by one worker)."""
    return _load.__wrapped__(ticket.path, ticket.sha256)


@functools.lru_cache(maxsize=4)
def _load(path: str, sha256: str) -> Any:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise HandoffError(f"{path}: hand-off file unreadable ({e.strerror}); do the workers share the "
                           "driver's file system?") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HandoffError(f"{path}: hand-off file changed since it was written")
    return pickle.loads(data)  # our own file, checked against the digest computed when it was written
