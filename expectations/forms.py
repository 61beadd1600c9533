"""Value forms the privacy contract speaks about, without importing GX (config loading stays fast).

* pseudonym forms: named full-match patterns (``hex64`` = HMAC-SHA256 or SHA-256 as lowercase hex);
* time buckets: ``<n><unit>`` widths (``1h``, ``15min``, ``1d``) in microseconds;
* the e-mail-shaped pattern searched for in released values.
"""

from __future__ import annotations

import re

from generators import duration

PSEUDONYM_FORMS: dict[str, str] = {
    "hex64": r"[0-9a-f]{64}",
    "hex40": r"[0-9a-f]{40}",
    "hex32": r"[0-9a-f]{32}",
    "hex16": r"[0-9a-f]{16}",
    "uuid": r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "base32": r"[A-Z2-7]{16,}",
    "base64url": r"[A-Za-z0-9_\-]{16,}",
}

EMAIL_REGEX = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"



def pseudonym_regex(form: str) -> str:
    """The full-match regex of a named form, or ``form`` itself when it is not a known name."""
    regex = PSEUDONYM_FORMS.get(form, form)
    re.compile(regex)  # a bad pattern fails here, naming the pattern (never data)
    return regex


def parse_every(every: str | int) -> int:
    """A bucket width in microseconds: ``"1h"`` -> 3_600_000_000; an int is taken as seconds."""
    if isinstance(every, int):
        if every <= 0:
            raise ValueError(f"bucket {every!r}: must be positive")
        return every * 1_000_000
    try:
        return duration.microseconds(str(every).lower(), duration.US_PER_UNIT)
    except ValueError as e:
        if str(e) == duration.NOT_POSITIVE:
            raise ValueError(f"bucket {every!r}: must be positive") from None
        raise ValueError(f"bucket {every!r}: expected <n><unit> with unit in {sorted(duration.US_PER_UNIT)}") \
            from None
