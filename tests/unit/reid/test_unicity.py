"""Unicity (de Montjoye et al. 2013) on hand-built traces whose unicity is known."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from event_fixtures import T0, population, pseudonymize

from reid.unicity import detect_resolution, match_resolution, unicity


def traces(spec: dict[str, list[tuple[float, str]]]) -> pl.DataFrame:
    """account -> [(hours after T0, action)], one event per point."""
    rows = [(acc, T0 + dt.timedelta(hours=h), a) for acc, pts in spec.items() for h, a in pts]
    return pl.DataFrame(rows, schema=["account_id", "event_time", "action"], orient="row")


def run(raw: pl.DataFrame, anon: pl.DataFrame, points: list[int], truth: dict[str, str] | None = None, **kw):
    accounts = raw["account_id"].unique().sort()
    targets = pl.DataFrame({"account_id": accounts, "person_id": [f"p-{a}" for a in accounts]})
    truth = truth or {a.upper(): f"p-{a}" for a in accounts}
    actor_truth = pl.DataFrame({"actor": list(truth), "person_id": list(truth.values())})
    metrics = unicity(raw.lazy(), anon.lazy(), actor_column="account_id", actor_truth=actor_truth,
                      targets=targets, points=points, **kw)
    return {(m.metric, m.params.get("p")): m for m in metrics}


def upper(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("account_id").str.to_uppercase())


# a and b hold the same three points; c, d and e each hold three points nobody else has.
TWINS = {"a": [(1, "x"), (2, "y"), (3, "z")], "b": [(1, "x"), (2, "y"), (3, "z")],
         "c": [(4, "x"), (5, "y"), (6, "z")], "d": [(7, "x"), (8, "y"), (9, "z")],
         "e": [(10, "x"), (11, "y"), (12, "z")]}


@pytest.mark.parametrize("p", [1, 2, 3])
def test_known_unicity(p):
    raw = traces(TWINS)
    got = run(raw, upper(raw), [p])
    assert got[("unique_share", p)].value == pytest.approx(3 / 5)
    assert got[("reidentified_share", p)].value == pytest.approx(3 / 5)
    assert got[("unique_share", p)].n == 5
    assert got[("baseline", None)].value == pytest.approx(1 / 5)


def test_targets_without_enough_points_are_left_out():
    raw = traces({"a": [(1, "x")], "b": [(2, "x"), (3, "y")]})
    got = run(raw, upper(raw), [1, 2])
    assert got[("unique_share", 1)].n == 2 and got[("unique_share", 2)].n == 1


def test_unique_but_wrong_trace_is_not_reidentified():
    raw = traces({"a": [(1, "x")], "b": [(2, "y")]})
    got = run(raw, upper(raw), [1], truth={"A": "p-b", "B": "p-a"})   # the scorer's truth says: swapped
    assert got[("unique_share", 1)].value == 1.0
    assert got[("reidentified_share", 1)].value == 0.0


def test_coarser_release_is_matched_at_its_resolution():
    # all five accounts act within the same day, at different hours: unique hourly, indistinct daily
    raw = traces({k: [(h, "x")] for k, h in zip("abcde", (25, 27, 29, 31, 33), strict=True)})  # a Tuesday
    daily = upper(raw).with_columns(pl.col("event_time").dt.truncate("1d"))
    res = detect_resolution(daily.lazy())
    assert match_resolution("1h", res) == "1d"
    assert run(raw, upper(raw), [1])[("unique_share", 1)].value == 1.0
    got = run(raw, daily, [1], release_resolution=res)
    assert got[("unique_share", 1)].value == 0.0
    assert got[("unique_share", 1)].params["match_resolution"] == "1d"


@pytest.mark.parametrize(("bucket", "expected"), [("1h", dt.timedelta(hours=1)), ("1d", dt.timedelta(days=1)),
                                                  ("15m", dt.timedelta(minutes=15))])
def test_detect_resolution(bucket, expected):
    times = pl.LazyFrame({"event_time": [T0 + dt.timedelta(minutes=17 + 61 * i, days=i % 3, seconds=i % 7 + 1) for i in range(50)]})
    assert detect_resolution(times) is None or detect_resolution(times) < dt.timedelta(minutes=1)
    floored = times.with_columns(pl.col("event_time").dt.truncate(bucket))
    assert detect_resolution(floored) == expected


def test_more_points_never_lower_unicity_and_sampling_is_seeded():
    pop = population(n_persons=60, events_per_account=40)
    raw = pop["events"]
    anon = pseudonymize(raw, ["account_id"])
    truth = pl.concat([anon.select(pl.col("account_id").alias("actor")), raw.select("account_id")],
                      how="horizontal").unique().join(pop["accounts"], on="account_id")
    kw = dict(actor_column="account_id", actor_truth=truth, targets=pop["accounts"], points=[1, 2, 4, 8])
    a = unicity(raw.lazy(), anon.lazy(), **kw)
    b = unicity(raw.lazy(), anon.lazy(), **kw)
    shares = [m.value for m in a if m.metric == "unique_share"]
    assert shares == sorted(shares) and shares[-1] > 0.9
    assert [m.value for m in a] == [m.value for m in b]
    # each share carries how much it moves with the population (reid.unicity_bootstrap), reproducibly
    se = [m.params["population_se"] for m in a if m.metric in ("unique_share", "reidentified_share")]
    assert len(se) == 8 and all(0.0 <= s < 0.5 for s in se)
    assert se == [m.params["population_se"] for m in b if m.metric in ("unique_share", "reidentified_share")]


def test_synthetic_reading_counts_copies_beyond_chance():
    """On a synthetic release a unique match is a copy: targets copied into the release are singled out,
    control persons (never released) only by chance, and the excess is the re-identified share."""
    from reid.synthetic import unicity_synthetic

    raw = population(n_persons=40, events_per_account=30, seed=1)["events"]
    ctl = population(n_persons=40, events_per_account=30, seed=2)["events"] \
        .with_columns(pl.concat_str([pl.lit("c"), pl.col("account_id")]).alias("account_id"))
    other = population(n_persons=40, events_per_account=30, seed=3)["events"]
    copied = raw["account_id"].unique().sort().head(20)
    release = pl.concat([other.select("account_id", "event_time", "action"),
                         raw.filter(pl.col("account_id").is_in(copied.implode()))
                         .select(pl.concat_str([pl.lit("syn-"), pl.col("account_id")]).alias("account_id"),
                                 "event_time", "action")])
    ids = lambda df: df.select("account_id").unique()                              # noqa: E731
    got = {(m.metric, m.params.get("p")): m for m in unicity_synthetic(
        raw.lazy(), ctl.lazy(), release.lazy(), actor_column="account_id", targets=ids(raw),
        control_targets=ids(ctl), points=[4])}
    assert got[("unique_share", 4)].value == pytest.approx(20 / raw["account_id"].n_unique(), abs=0.05)  # copies
    assert got[("control_unique_share", 4)].value < 0.1
    excess = got[("reidentified_share", 4)]
    assert 0.35 < excess.value < 0.6 and excess.ci_low < excess.value < excess.ci_high
    assert excess.params["synthetic"] is True and excess.params["n_control"] == ctl["account_id"].n_unique()


@pytest.mark.parametrize("cells", [1, 37, 5_000])
def test_point_matches_in_blocks_of_targets_equal_the_whole_product(monkeypatch, cells):
    """The target x actor product is computed in blocks (MAX_PRODUCT_CELLS): the same matches, the same
    matching actor and the same lists of few, in the same order, as in one product."""
    from reid import unicity as u

    pop = population(n_persons=40, events_per_account=30)
    anon = pseudonymize(pop["events"], ["account_id"]).lazy()
    chosen = pop["events"].select("account_id").unique().sort("account_id")

    def run() -> dict[int, pl.DataFrame]:
        return u.point_matches(pop["events"].lazy(), anon, chosen, actor_column="account_id", points=[1, 2, 4],
                               res="6h", point_columns=[], seed=5, few=6)

    def canonical(df: pl.DataFrame) -> pl.DataFrame:
        # the row order, and which of several matching actors is named, follow Polars' unordered group-bys
        return df.sort("account_id").with_columns(
            pl.when(pl.col("matches") == 1).then(pl.col("actor")).alias("actor"), pl.col("few").list.sort())

    whole = run()
    monkeypatch.setattr(u, "MAX_PRODUCT_CELLS", cells)
    blocks = run()
    for p, df in whole.items():
        assert df.height > 0 and canonical(df).equals(canonical(blocks[p]))
    assert (whole[4]["matches"] == 1).any() and whole[4]["few"].drop_nulls().len() > 0
    assert whole[1]["matches"].max() > 6           # coarse knowledge: many actors hold a target's point
