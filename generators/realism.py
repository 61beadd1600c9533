"""How human the generated humans are: the realism figures of issue 10, measured on event data.

Each figure is compared with the public activity logs of a large open-source project family (about 130,000
authoring events by 2,938 people, each with their own UTC offset; 28-day windows). Only humans count
(``account_type`` atlassian or customer); local time comes from ``users.timezone``; a person is the truth
``person_id`` (a contractor's accounts in several orgs are one person), or the account when no truth is given.

* ``weekend_share`` -- share of events on local Saturdays and Sundays;
* ``evening_share`` -- share of events at 19:00-23:59 local;
* ``early_share`` -- share of events at 07:00-08:59 local (real people start late);
* ``lunch_dip`` -- 1 - events at 12 h / events at 11 h local (positive: fewer at lunch);
* ``peak_trough`` -- max / min of the 24-bin local hour-of-day histogram (how deep the night is);
* ``single_event_share`` -- share of active people with exactly one event in the period (one-off users);
* ``median_active_hours`` -- median over active people of their distinct (person, hour) pairs, interpolated
  within the median's integer value (:func:`interpolated_median`: the plain median of these small integers
  jumps between 3 and 4 from seed to seed, a 33% step from a change of a few people);
* ``gini_events`` -- Gini coefficient of events per active person (0 equal, 1 one person does all).

``python -m generators.realism RUN`` prints the table for a run directory (``raw/events``, ``raw/users``,
``truth/accounts.parquet``), with each figure's target range and whether it is met.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from runformat.layout import RunDir

HUMAN_TYPES = ("atlassian", "customer")


@dataclass(frozen=True)
class Target:
    label: str
    real: str
    lo: float
    hi: float

    def holds(self, value: float) -> bool:
        return bool(np.isfinite(value)) and self.lo <= value <= self.hi


# Issue 10's table: the real logs' range and the target range of each figure.
TARGETS: dict[str, Target] = {
    "weekend_share": Target("share of events on local weekends", "0.105-0.125", 0.08, 0.15),
    "evening_share": Target("share of events 19-24 h local", "0.147-0.173", 0.12, 0.19),
    "early_share": Target("share of events 07:00-08:59 local", "0.042-0.045", 0.0, 0.06),
    "lunch_dip": Target("lunch dip: 1 - events at 12 h / 11 h local", "about 0.15", 0.10, 1.0),
    "peak_trough": Target("peak/trough of the local hour-of-day histogram", "16-18", 12.0, 22.0),
    "single_event_share": Target("share of people with a single event in the period", "0.28-0.31", 0.10, 1.0),
    "median_active_hours": Target("median active hours (distinct person x hour) per person", "2-3", 2.0, 6.0),
    "gini_events": Target("Gini of events per person", "0.64", 0.55, 0.75),
}


def gini(x: np.ndarray) -> float:
    """Gini coefficient of non-negative values (0 = all equal)."""
    x = np.sort(np.asarray(x, dtype=np.float64))
    n = len(x)
    if n == 0 or x.sum() == 0:
        return float("nan")
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


def interpolated_median(x: np.ndarray) -> float:
    """Median of integer counts, interpolated within the median's value (grouped-data median): with ``m`` the
    plain median, ``F`` the share below ``m`` and ``f`` the share at ``m``, ``m - 0.5 + (0.5 - F) / f``. It
    agrees with the plain median to within half a unit but moves continuously with the distribution, where the
    plain median of small integers (active hours: 2, 3, 4) steps by a whole unit on a small change."""
    x = np.asarray(x, dtype=np.int64)
    if len(x) == 0:
        return float("nan")
    m = float(np.median(x))
    if m != np.floor(m):  # an even count split between two values: halfway, as the plain median
        return m
    below, at = float((x < m).mean()), float((x == m).mean())
    return m if at == 0 else m - 0.5 + (0.5 - below) / at


def human_events(events: pl.DataFrame, users: pl.DataFrame, accounts: pl.DataFrame | None = None) -> pl.DataFrame:
    """Humans' events with ``person``, UTC ``hour`` index and local ``lt`` (naive local datetime)."""
    u = users.filter(pl.col("account_type").is_in(HUMAN_TYPES)).select("account_id", "timezone")
    if accounts is not None:
        u = u.join(accounts.select("account_id", person=pl.col("person_id")), on="account_id", how="left")
    else:
        u = u.with_columns(person=pl.col("account_id"))
    ev = events.select("account_id", "event_time").join(u, on="account_id", how="inner")
    parts = [g.with_columns(lt=pl.col("event_time").dt.convert_time_zone(str(tz)).dt.replace_time_zone(None))
             for (tz,), g in ev.group_by("timezone")]
    if not parts:
        return ev.with_columns(lt=pl.col("event_time").dt.replace_time_zone(None), hour=pl.lit(0, pl.Int64))
    out = pl.concat(parts)
    return out.with_columns(hour=pl.col("event_time").dt.epoch("s") // 3600)


def measure(events: pl.DataFrame, users: pl.DataFrame, accounts: pl.DataFrame | None = None) -> dict[str, float]:
    """The realism figures (see the module docstring) of the humans in ``events``; NaN when not measurable."""
    h = human_events(events, users, accounts)
    n = h.height
    if n == 0:
        return {k: float("nan") for k in TARGETS}
    hod = h["lt"].dt.hour().to_numpy()
    wd = h["lt"].dt.weekday().to_numpy()  # 1 = Monday .. 7 = Sunday
    hist = np.bincount(hod, minlength=24).astype(np.float64)
    per = h.group_by("person").agg(n=pl.len(), hours=pl.col("hour").n_unique())
    counts = per["n"].to_numpy()
    return {
        "weekend_share": float((wd >= 6).mean()),
        "evening_share": float((hod >= 19).mean()),
        "early_share": float(((hod >= 7) & (hod < 9)).mean()),
        "lunch_dip": float(1 - hist[12] / hist[11]) if hist[11] > 0 else float("nan"),
        "peak_trough": float(hist.max() / hist.min()) if hist.min() > 0 else float("inf"),
        "single_event_share": float((counts == 1).mean()),
        "median_active_hours": interpolated_median(per["hours"].to_numpy()),
        "gini_events": gini(counts),
    }


def read_run(run: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame | None]:
    """(events, users, truth accounts or None) of a run directory."""
    events = pl.read_parquet(RunDir(run).raw("events"), columns=["account_id", "event_time"])
    users = pl.read_parquet(RunDir(run).raw("users"), columns=["account_id", "account_type", "timezone"])
    truth = RunDir(run).truth_accounts
    accounts = pl.read_parquet(truth, columns=["account_id", "person_id"]) if truth.exists() else None
    return events, users, accounts


def format_table(figures: dict[str, float]) -> str:
    """A Markdown table: figure, real logs, this run, target range, met."""
    rows = ["| figure (humans) | real logs | this run | target | met |", "|---|---|---|---|---|"]
    for key, t in TARGETS.items():
        v = figures[key]
        rng = f"<= {t.hi:g}" if t.lo == 0 else f">= {t.lo:g}" if t.hi == 1.0 else f"{t.lo:g}-{t.hi:g}"
        rows.append(f"| {t.label} | {t.real} | {v:.3f} | {rng} | {'yes' if t.holds(v) else 'NO'} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m generators.realism RUN_DIR", file=sys.stderr)
        return 2
    run = Path(args[0])
    if not RunDir(run).raw("events").exists() or not RunDir(run).raw("users").exists():
        print(f"{run}: not a run directory (raw/events and raw/users needed)", file=sys.stderr)
        return 2
    figures = measure(*read_run(run))
    print(format_table(figures))
    return 0 if all(t.holds(figures[k]) for k, t in TARGETS.items()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
