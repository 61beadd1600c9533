"""``anonbench fit``: parameters estimated from a log; ``generate`` with them reproduces the log's figures.

The round trip (issue 10, "Done when" 3) fits a generated log of 1M events and generates 8M events from the
fitted config in process; every realism figure must be within 10% (relative) of the source's. Why these
sizes (measured, default config): the lunch dip (1 - events at 12 h / 11 h) and the peak/trough ratio are
ratios of single hour bins of events that come in sessions (about 12 events each, mostly in one hour; the
variance of an hour's count is about 23 times its Poisson variance). Over 24 seeds of a 200k-event run the
lunch dip is 0.19 with a seed-to-seed SD of 0.03 (0.077 over 20 seeds at 50k; the SD from independent
sessions alone, 0.040, accounts for it; a bootstrap of single events gives 0.010, of people no more than of
sessions; the ten busiest people hold ~8% of the 11 h events); peak/trough 15.2 +- 1.7 at 200k (17.9 +- 3.6
at 50k: max/min of noisy bins is biased upwards at small sizes). The fit copies the source's realized hour
profile (a source whose dip was 0.135 by chance, against the generator's 0.19, gave 0.137 back at 4M events),
so the source's own noise matters little; the generated run's does: the SD from sessions is 0.018 at 1M
events, so about 0.006 at 8M (3.4% of the dip: 10% is three SDs). Measured margins of the round trip (1M -> 4M,
source seeds 5, 1, 2): lunch dip -4.8%, -1.2%, +9.0%; peak/trough +0.9%, +0.5%, -3.4%; the interpolated median
active hours -7.3%, -2.5%, +0.7% (a misfit, not noise: the same -7.9% at 8M; it was mostly the seat count, see
``fit._match_seats``; after that fix seed 5 reads +6.0% at 4M: the activity mixture's fit, not the hours). The 1M-event source keeps the night bins' noise (which the non-negative fit of the
start profile cannot copy) small enough for peak/trough.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from anonbench.config import load_run_config
from generators import realism
from generators.fit import fit, local_hour_of_week, realism_users, sample, start_profile
from generators.model import from_fitted, to_fitted
from generators.params import GenerationParams
from tests.conftest import run_cli

SOURCE_EVENTS = 1_000_000
GENERATED_EVENTS = 8_000_000
# Issue 10's criterion: every realism figure within 10% (relative) of the source's.
REL_TOL = 0.10
FIT_COLUMNS = {"events": ("account_id", "event_time", "action", "product", "session_id", "org_id")}
REALISM_COLUMNS = {"events": ("account_id", "event_time")}


def off_by_more_than(src: dict[str, float], new: dict[str, float], rel: float = REL_TOL
                     ) -> dict[str, tuple[float, float]]:
    """The realism figures of ``new`` not within ``rel`` (relative) of ``src``'s: (source, generated)."""
    return {k: (round(src[k], 4), round(new[k], 4)) for k in realism.TARGETS
            if not (math.isfinite(src[k]) and math.isfinite(new[k]) and abs(new[k] - src[k]) <= rel * abs(src[k]))}


@pytest.fixture(scope="module")
def source() -> dict[str, pl.DataFrame]:
    return sample(GenerationParams(events=SOURCE_EVENTS), 5, FIT_COLUMNS)


@pytest.fixture(scope="module")
def fitted(source: dict[str, pl.DataFrame]) -> GenerationParams:
    return fit(source["events"], source["users"], source["accounts"]).params


@pytest.fixture(scope="module")
def source_figures(source: dict[str, pl.DataFrame]) -> dict[str, float]:
    return realism.measure(source["events"], source["users"], source["accounts"])


@pytest.mark.slow
def test_fitted_parameters_recover_the_generators(fitted: GenerationParams) -> None:
    a, d = fitted.activity, GenerationParams().activity
    assert abs(a.unused_share - d.unused_share) < 0.03
    assert abs(a.occasional_single - d.occasional_single) < 0.15
    assert abs(a.sigma - d.sigma) < 0.25
    # seats: the plan adds multi-org persons' accounts to events / (events per seat-day x days); a plain
    # ratio gave 2.79 (7% more, sparser seats generated again); matched to the plan's seats it is recovered
    assert a.events_per_seat_day == pytest.approx(d.events_per_seat_day, rel=0.03)
    assert fitted.behaviour is not None
    member = fitted.behaviour.sessions["member"]
    assert member.mean_events == pytest.approx(14.0, rel=0.1)
    assert member.gap_median_seconds == pytest.approx(35.0, rel=0.1)
    assert member.gap_sigma == pytest.approx(1.1, rel=0.1)
    assert (fitted.start, fitted.days, fitted.events) == (GenerationParams().start, 28, SOURCE_EVENTS)


@pytest.mark.slow
def test_generate_with_fitted_config_reproduces_realism_figures(source_figures: dict[str, float],
                                                                 fitted: GenerationParams) -> None:
    new_run = sample(fitted.model_copy(update={"events": GENERATED_EVENTS}), 5, REALISM_COLUMNS)
    new = realism.measure(new_run["events"], new_run["users"], new_run["accounts"])
    off = off_by_more_than(source_figures, new)
    assert not off, f"realism figures off by more than 10% (source, generated): {off}"


@pytest.mark.slow
def test_round_trip_comparison_catches_a_misfit(source_figures: dict[str, float], fitted: GenerationParams) -> None:
    # the fitted tables with the lunch hour filled in (12 h as busy as 11 h on every day): the comparison of the
    # round trip must catch it (the lunch dip goes), while the other figures barely move
    assert fitted.behaviour is not None
    how = {g: list(v) for g, v in fitted.behaviour.hour_of_week.items()}
    for v in how.values():
        for day in range(7):
            v[day * 24 + 12] = v[day * 24 + 11]
    beh = fitted.behaviour.model_copy(update={"hour_of_week": how})
    bad = sample(fitted.model_copy(update={"events": 500_000, "behaviour": beh}), 5, REALISM_COLUMNS)
    off = off_by_more_than(source_figures, realism.measure(bad["events"], bad["users"], bad["accounts"]))
    assert "lunch_dip" in off, off


def test_behaviour_section_round_trips_and_is_validated() -> None:
    from generators.catalog import markov_chain

    p = GenerationParams(events=30_000, events_per_chunk=10_000)
    src = sample(p, 1)
    res = fit(src["events"], src["users"], src["accounts"])
    assert res.params.behaviour is not None
    m = from_fitted(res.params.behaviour)
    again = from_fitted(to_fitted(m))
    assert np.allclose(again.hour_of_week / again.hour_of_week.sum(1, keepdims=True),
                       m.hour_of_week / m.hour_of_week.sum(1, keepdims=True), atol=1e-4)
    assert m.transitions.shape[1] == len(markov_chain().states)
    bad = res.params.behaviour.model_dump()
    bad["transitions"]["member"]["jira"]["board.viewed"]["no.such.action"] = 1.0
    with pytest.raises(ValidationError, match=r"no\.such\.action"):
        GenerationParams.model_validate({**res.params.model_dump(), "behaviour": bad})
    # generate reads it: a fitted config generates, and the default output does not depend on the new knobs
    out = sample(res.params.model_copy(update={"events": 5_000}), 2)
    assert out["events"].height == 5_000


def test_realism_users_from_offsets() -> None:
    ev = pl.DataFrame({"account_id": ["a", "a", "b"], "utc_offset_minutes": [120, 120, -300]})
    tz = dict(realism_users(ev, None).select("account_id", "timezone").iter_rows())
    assert tz == {"a": "Etc/GMT-2", "b": "Etc/GMT+5"}


def test_local_time_from_zone_else_offset_else_utc() -> None:
    t = pl.Series([dt.datetime(2026, 3, 2, 10, 0)] * 3).dt.replace_time_zone("UTC")  # Monday 10:00 UTC
    ev = pl.DataFrame({"account_id": ["tz", "off", "utc"], "event_time": t,
                       "utc_offset_minutes": pl.Series([None, -300, None], dtype=pl.Int16)})
    users = pl.DataFrame({"account_id": ["tz", "off", "utc"], "timezone": ["Asia/Tokyo", None, None]})
    assert local_hour_of_week(ev, users).to_list() == [19, 5, 10]
    assert local_hour_of_week(ev, None).to_list() == [10, 5, 10]


def test_start_profile_undoes_the_spill_of_sessions() -> None:
    # two-event sessions starting at hour 10: half of their events fall in hour 11; the profile starts them at 10
    how = np.array([10, 11] * 50)
    first = np.array([True, False] * 50)
    prof = start_profile(how, first, np.zeros(100, dtype=np.int64), 1)[0]
    assert prof.argmax() == 10 and prof[11] < 1e-6 * prof[10]


@pytest.mark.e2e
def test_fit_cli_writes_a_config_generate_reads_and_names_mapping_mistakes(tmp_path: Path) -> None:
    src = sample(GenerationParams(events=20_000, events_per_chunk=10_000), 3)
    log = src["events"].select(pl.col("account_id").alias("who"),
                               pl.col("event_time").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").alias("ts"),
                               pl.col("action").alias("what"), pl.col("product").alias("app"),
                               pl.col("session_id").alias("sess"))
    log.write_csv(tmp_path / "log.csv")
    users = src["users"].select(pl.col("account_id").alias("who"), pl.col("timezone").alias("zone"),
                                pl.col("account_type").alias("kind"))
    users.write_parquet(tmp_path / "people.parquet")
    out = tmp_path / "my.yaml"
    r = run_cli("fit", "--events", str(tmp_path / "log.csv"), "--map", "person=who,time=ts,action=what,product=app,"
                "session=sess", "--accounts", str(tmp_path / "people.parquet"), "--map-accounts",
                "person=who,timezone=zone,type=kind", "--out", str(out), "--compare-events", "20000")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "| share of events on local weekends |" in r.stdout
    cfg = load_run_config(out)
    assert cfg.generate.behaviour is not None and cfg.generate.events == 20_000
    assert "who" not in out.read_text() and yaml.safe_load(out.read_text())["generate"]["days"] >= 7
    # mapping mistakes: exit 2, one line naming the column, nothing written
    bad = tmp_path / "bad.yaml"
    for mapping, column in (("person=nobody,time=ts,action=what", "nobody"), ("person=who,time=what,action=what",
                                                                            "what")):
        r = run_cli("fit", "--events", str(tmp_path / "log.csv"), "--map", mapping, "--out", str(bad))
        assert r.returncode == 2, r.stderr
        assert column in r.stderr and "Traceback" not in r.stderr
        assert not bad.exists()
