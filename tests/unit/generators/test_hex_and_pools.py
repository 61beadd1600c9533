"""``to_hex`` (numpy, one character buffer) against Python's ``bytes.hex``; adopted pools are used as given."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from generators import pools as pools_mod
from generators.rng import to_hex


@pytest.mark.parametrize("prefix", ["", "org-", "ü-"])
@pytest.mark.parametrize("shape", [(0, 4), (1, 1), (257, 12)])
def test_to_hex_matches_bytes_hex(prefix: str, shape: tuple[int, int]) -> None:
    raw = np.random.default_rng(3).integers(0, 256, size=shape, dtype=np.uint8)
    got = to_hex(raw, prefix)
    got.validate(full=True)
    assert got.type == pa.large_string()
    assert got.to_pylist() == [prefix + bytes(r).hex() for r in raw]


def test_to_hex_of_a_strided_view() -> None:
    raw = np.random.default_rng(4).integers(0, 256, size=(50, 16), dtype=np.uint8)[::2, 3:9]
    assert to_hex(raw).to_pylist() == [bytes(r).hex() for r in raw]


def test_adopted_pools_replace_building(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pools_mod, "_ADOPTED", {})
    sentinel = object()
    pools_mod.adopt_pools(123456, sentinel)  # type: ignore[arg-type]
    assert pools_mod.build_pools(123456) is sentinel


def test_cached_weights_draw_what_faker_draws() -> None:
    """The pools' one-element weighted draw is Faker's own: same names, same state of its random afterwards."""
    from faker import Faker

    plain = Faker("de_DE", providers=list(pools_mod.FAKER_PROVIDERS))
    plain.seed_instance(99)
    fast = pools_mod._faker("de_DE", 99)
    assert [plain.first_name() for _ in range(300)] == [fast.first_name() for _ in range(300)]
    assert [plain.company() for _ in range(100)] == [fast.company() for _ in range(100)]
    assert plain.random.random() == fast.random.random()
