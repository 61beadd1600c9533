"""Durations written ``<n><unit>`` (``30s``, ``15m``, ``1h``, ``1d``, ``1w``): the one parser.

The time-bucket anonymizer (``anonymizers.time_bucket``), the attacker's knowledge resolution (``reid.params``)
and the bucket expectation (``expectations.forms``) all read a duration through :func:`split`; each keeps its
own result type and error message. It lives in ``generators`` because that package is the root of the
package graph (see ``generators.errors``): every Beam-free package may import it.
"""

from __future__ import annotations

import re
from collections.abc import Collection

US_PER_UNIT = {"us": 1, "ms": 1_000, "s": 1_000_000, "sec": 1_000_000, "m": 60_000_000, "min": 60_000_000,
               "h": 3_600_000_000, "d": 86_400_000_000, "w": 7 * 86_400_000_000}
"""Microseconds per unit, for every unit any reader accepts."""
UNITS = ("s", "m", "h", "d", "w")
"""The units of a configuration (seconds to weeks)."""
UNIT_NAMES = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}
NOT_POSITIVE = "not positive"
_DURATION = re.compile(r"^\s*(\d+)\s*([a-z]+)\s*$")


def split(text: str, units: Collection[str] = UNITS, *, inner_space: bool = True) -> tuple[int, str]:
    """``"15m"`` -> ``(15, "m")``: a positive count and one of ``units``. Surrounding blanks are ignored, and
    blanks between count and unit unless ``inner_space`` is False. ValueError otherwise, whose message is
    :data:`NOT_POSITIVE` for a well-formed zero (callers word their own errors)."""
    m = _DURATION.match(text)
    if not m or m.group(2) not in units or (not inner_space and any(c.isspace() for c in text.strip())):
        raise ValueError("not <n><unit>")
    if int(m.group(1)) < 1:
        raise ValueError(NOT_POSITIVE)
    return int(m.group(1)), m.group(2)


def microseconds(text: str, units: Collection[str] = UNITS) -> int:
    """``"1h"`` -> 3_600_000_000."""
    n, unit = split(text, units)
    return n * US_PER_UNIT[unit]


__all__ = ["NOT_POSITIVE", "UNITS", "UNIT_NAMES", "US_PER_UNIT", "microseconds", "split"]
