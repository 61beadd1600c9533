"""The hour of the week of a timestamp column: the one expression behind every weekly profile.

The realism fit (``generators.fit``), the profile-linkage and membership attacks (``reid.profile_linkage``)
and the report's activity profiles (``anonbench.report.profiles``) bucket events by hour of the week with it.
"""

from __future__ import annotations

import polars as pl


def hour_of_week(t: pl.Expr, dtype: type[pl.DataType] = pl.Int32) -> pl.Expr:
    """0 (Monday 00h) .. 167 (Sunday 23h) of the timestamps ``t``, in their own time zone (convert first for
    another one); ``dtype`` is the integer type of the result."""
    return (t.dt.weekday().cast(dtype) - 1) * 24 + t.dt.hour().cast(dtype)


__all__ = ["hour_of_week"]
