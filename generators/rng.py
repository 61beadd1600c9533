"""Random streams derived from (seed, purpose, keys): no global RNG, no wall clock.

Every stream is a fresh PCG64 seeded by a SeedSequence over the run seed, a stable hash of the purpose string
and integer keys (scope, chunk, ...), so each chunk's bytes depend only on (config, seed, chunk layout) and
not on which worker ran it or in which order.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa


def _purpose_key(purpose: str) -> int:
    return int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:8], "little")


def stream(seed: int, purpose: str, *keys: int) -> np.random.Generator:
    """A reproducible generator for one purpose, e.g. ``stream(seed, "main/events", chunk)``."""
    entropy = [int(seed), _purpose_key(purpose), *(int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def search_categorical(rng: np.random.Generator, cum: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws from a categorical distribution given by its cumulative weights ``cum``."""
    return np.searchsorted(cum, rng.random(n) * cum[-1], side="right").astype(np.int64)


def grouped_categorical(rng: np.random.Generator, weights: np.ndarray, group_of_item: np.ndarray,
                        group_of_draw: np.ndarray) -> np.ndarray:
    """For each draw, pick an item of its group with probability proportional to ``weights``.

    ``group_of_item`` must be sorted ascending; every group that draws must hold positive weight. Vectorized:
    items' weights are normalised within their group and laid end to end on [g, g+1) for group g, so one
    ``searchsorted`` serves all groups at once.
    """
    weights = np.asarray(weights, dtype=np.float64)
    totals = np.bincount(group_of_item, weights=weights)
    within = np.cumsum(weights) - np.repeat(np.cumsum(totals) - totals, np.bincount(group_of_item))
    pos = group_of_item + within / totals[group_of_item]
    u = group_of_draw + rng.random(len(group_of_draw)) * (1 - 1e-12)
    idx = np.searchsorted(pos, u, side="right")
    return np.minimum(idx, len(weights) - 1)


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> np.ndarray:
    """``n`` random ids of ``nbytes`` bytes as a (n, nbytes) uint8 array (format with ``to_hex``)."""
    return rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)


# Two ASCII hex digits per byte value, read as one uint16 so a (n, k) byte array maps to (n, 2k) characters.
_HEX_PAIRS = np.frombuffer("".join(f"{i:02x}" for i in range(256)).encode(), dtype=np.uint16)


def to_hex(raw: np.ndarray, prefix: str = "") -> pa.Array:
    """Lower-case hex strings (after ``prefix``) of the rows of a (n, k) uint8 array, as a ``large_string``
    array built directly from one fixed-width character buffer (vectorized, no per-row Python)."""
    n, k = raw.shape
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    width = len(head) + 2 * k
    chars = np.empty((n, width), dtype=np.uint8)
    chars[:, :len(head)] = head
    chars[:, len(head):] = _HEX_PAIRS[raw].view(np.uint8).reshape(n, 2 * k)
    offsets = np.arange(n + 1, dtype=np.int64) * width
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))
