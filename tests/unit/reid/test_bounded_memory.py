"""The streaming and chunked forms of the event-level checks give what the one-piece forms gave: profiles
from counts equal ``mode()`` profiles; scoring in chunks of candidates (or fewer rows per block) changes no
distance and no rank."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.sparse as sp
from event_fixtures import population

from reid import membership, profile_linkage, profiles


def _mode_reference(events: pl.LazyFrame, key: str) -> pl.DataFrame:
    """The profiles as computed before they streamed: ``mode()`` over every event of an actor."""
    t = pl.col("event_time")
    return (events.filter(pl.col(key).is_not_null())
            .group_by(pl.col(key).cast(pl.String).alias("key"))
            .agg(pl.len().log(2).floor().cast(pl.Int64).cast(pl.String).alias("activity_band"),
                 pl.col("product").mode().sort().first().cast(pl.String).alias("main_product"),
                 t.dt.hour().mode().sort().first().cast(pl.String).alias("peak_hour"),
                 ((t.dt.weekday() >= 6).mean() * 10).round(0).cast(pl.Int64).cast(pl.String)
                 .alias("weekend_share_band"))
            .collect().sort("key"))


def test_behaviour_from_counts_equals_mode_profiles():
    events = population(n_persons=30, events_per_account=25)["events"]
    # ties and nulls: an actor with two equally frequent products, one with a null product and time
    extra = events.head(4).with_columns(pl.lit("acct-tie").alias("account_id"),
                                        pl.Series("product", ["b", "a", "a", "b"]))
    nulls = events.head(3).with_columns(pl.lit("acct-null").alias("account_id"),
                                        pl.Series("product", [None, None, "a"], dtype=pl.String),
                                        pl.lit(None, dtype=events.schema["event_time"]).alias("event_time"))
    lf = pl.concat([events, extra, nulls]).lazy()
    got = profiles.behaviour(lf, "account_id").sort("key").select(_mode_reference(lf, "account_id").columns)
    assert got.equals(_mode_reference(lf, "account_id"))


def _profiles(rng: np.random.Generator, rows: int, width: int) -> sp.csr_matrix:
    m = sp.random(rows, width, density=0.2, random_state=np.random.RandomState(int(rng.integers(1 << 30))),
                  format="csr", dtype=np.float32)
    return m


@pytest.mark.parametrize("cells", [7, 50, 1 << 24])
def test_linkage_ranks_do_not_depend_on_the_block(monkeypatch, cells):
    rng = np.random.default_rng(3)
    targets, cands = _profiles(rng, 40, 30), _profiles(rng, 90, 30)
    tkeys, ckeys = rng.integers(0, 60, 40), rng.integers(0, 60, 90)
    groups = (rng.integers(0, 5, 40), rng.integers(0, 5, 90))
    want = profile_linkage.linkage_ranks(targets, cands, tkeys, ckeys, 256, np.random.default_rng(1), groups)
    monkeypatch.setattr(profile_linkage, "MAX_BLOCK_CELLS", cells)
    monkeypatch.setattr(profile_linkage.rows_per_block, "__defaults__", (cells,))
    got = profile_linkage.linkage_ranks(targets, cands, tkeys, ckeys, 256, np.random.default_rng(1), groups)
    assert np.array_equal(got, want)


def test_nearest_in_chunks_equals_one_piece(monkeypatch):
    rng = np.random.default_rng(5)
    qt = membership.Traces(_profiles(rng, 20, 40), rng.random((20, 3)))
    rt = membership.Traces(_profiles(rng, 70, 40), rng.random((70, 3)))
    qa, ra, ja = rng.integers(0, 3, (20, 4)), rng.integers(0, 3, (55, 4)), rng.integers(-2, 3, (70, 4))
    queries, release = membership.Features(qt, qa), membership.Features(rt, ra, ja)
    want = membership.nearest(queries, release, 3, 256)
    monkeypatch.setattr(membership, "MAX_BLOCK_CELLS", 9)          # chunks of 2-3 candidates
    monkeypatch.setattr(profile_linkage.rows_per_block, "__defaults__", (9,))
    got = membership.nearest(queries, release, 3, 256)
    assert set(got) == set(want) == {"trace", "attributes", "joint"}
    for mode in want:
        assert np.array_equal(got[mode], want[mode]), mode


def test_entropy_by_sorting_in_hash_ranges_equals_the_group_by():
    from reid.utility import entropy
    events = population(n_persons=30, events_per_account=25)["events"].lazy()
    events = pl.concat([events, events.head(40)])             # repeated values: counts above 1
    for column in ("event_time", "action", "account_id"):
        one = entropy(events, column)
        for sort_rows in (10**9, 97, 1):                      # one sort, several hash ranges, one row a range
            assert entropy(events, column, max_groups=7, sort_rows=sort_rows) == one
        assert one > 0


@pytest.mark.parametrize("sort_above", [0, None])      # 0: every released column made distinct by sorting
@pytest.mark.parametrize("groups", [13, 40, 1000])
def test_leak_scan_in_hash_ranges_equals_one_pass(monkeypatch, groups, sort_above):
    from event_fixtures import pseudonymize

    from generators.schema import IDENTIFIER_COLUMNS
    from reid import leak_scan as ls
    pop = population(n_persons=30, events_per_account=10)
    raw = {"users": pop["users"].lazy(), "events": pop["events"].lazy()}
    email = pop["users"]["email"][0]
    half = {"users": pseudonymize(pop["users"], ["account_id"]).lazy(),            # e-mails leak
            "events": pseudonymize(pop["events"], ["account_id", "event_id"]).lazy(),
            "notes": pl.LazyFrame({"note": [f"ping {email} about it", "nothing here", None]})}
    for anon in (raw, half):
        want = [(m.metric, m.value, m.n, m.params) for m in ls.leak_scan(raw, anon, IDENTIFIER_COLUMNS)]
        with monkeypatch.context() as mp:
            mp.setattr(ls, "KNOWN_GROUPS", groups)
            if sort_above is not None:
                mp.setattr(ls, "SORT_DISTINCT_ABOVE", sort_above)
            got = [(m.metric, m.value, m.n, m.params) for m in ls.leak_scan(raw, anon, IDENTIFIER_COLUMNS)]
        assert got == want
        assert want[0][1] > 0


def test_replayed_ties_do_not_depend_on_the_block(monkeypatch):
    from reid import neighbors
    rng = np.random.default_rng(5)
    cand = pl.DataFrame({"x": rng.integers(0, 3, 3000), "s": rng.choice(list("ab"), 3000)})
    qry = pl.DataFrame({"x": rng.integers(0, 3, 40), "s": rng.choice(list("ab"), 40)})
    c, q = neighbors.encode_pair(cand, qry, ["x", "s"])
    want = neighbors.kneighbors(c, q, 10)
    monkeypatch.setattr(neighbors, "REPLAY_CELLS", 3000)            # one row per replayed block
    got = neighbors.kneighbors(c, q, 10)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])


def test_workload_codes_by_enum_cast_equal_replace_strict():
    """Codes cast through an Enum equal ``replace_strict`` with an "other" default: nulls are a value of their
    own, a value the raw data never had is "other", and an empty code space codes everything as "other"."""
    from reid import workload as wl

    frame = pl.DataFrame({"x": ["b", None, "zz", "a", "\x00(null)", "b"]})
    for values in (["\x00(null)", "a", "b"], ["a", "b"], []):
        reference = pl.col("x").cast(pl.String).fill_null(wl.NULL).replace_strict(
            values, list(range(len(values))), default=len(values), return_dtype=pl.UInt32)
        assert frame.lazy().select(wl._code("x", values)).collect(engine="streaming")["x"].to_list() == \
            frame.select(reference)["x"].to_list()


def test_workload_day_counts_without_the_join_equal_the_joined_ones():
    """The (day, product) counts are read without the users/orgs joins: the same as grouping the joined
    events (left joins on unique keys keep each event once), also for ids without a match."""
    from reid import workload as wl

    tables = population(n_persons=30, events_per_account=25)
    events = pl.concat([tables["events"], tables["events"].head(5).with_columns(pl.lit("nobody").alias("account_id"))])
    users = pl.concat([tables["users"], tables["users"].head(3)])         # duplicate keys: first one wins
    cats = wl.categories(events.lazy(), users.lazy(), None)
    enc = wl.encode(events.lazy(), users.lazy(), None, cats)
    t = pl.col("event_time")
    joined = events.lazy().select(wl._code("product", cats["product"]), "account_id",
                                  t.dt.epoch("d").cast(pl.Int64).fill_null(wl.NO_DAY).alias("day")) \
        .join(users.lazy().select("account_id").unique(), on="account_id", how="left") \
        .group_by("day", "product").agg(pl.len().cast(pl.Float64).alias("n")).collect()
    assert enc.days is not None and enc.total == events.height
    assert enc.days.sort("day", "product").equals(joined.sort("day", "product").select(enc.days.columns))


def _tenant_events() -> pl.DataFrame:
    """Object and container ids of one tenant, of several, short ones, nulls (ids and tenants), and an id
    that is an object of one tenant and a container of two."""
    rows = [("obj-aaaaaaaa01", "box-aaaaaaa01", "org-1"), ("obj-aaaaaaaa01", "box-aaaaaaa01", "org-1"),
            ("obj-shared0001", "box-aaaaaaa01", "org-2"), ("obj-shared0001", "box-bbbbbbb01", "org-1"),
            ("short-1", "box-bbbbbbb01", "org-1"), ("short-1", None, "org-2"), (None, "box-ccccccc01", "org-3"),
            ("obj-nulltenant", "box-ccccccc01", None), ("obj-nulltenant", "box-ddddddd01", None),
            ("obj-halfnull01", "box-ddddddd01", None), ("obj-halfnull01", "obj-aaaaaaaa01", "org-4"),
            ("obj-aaaaaaaa01", "obj-aaaaaaaa01", "org-1"), ("obj-only-org-3", "box-eeeeeee01", "org-3")]
    extra = [(f"obj-{i:010d}", f"box-{i % 7:09d}", f"org-{i % 5}") for i in range(300)]
    return pl.DataFrame(rows + extra, schema=["object_id", "container_id", "org_id"], orient="row")


def _one_pass_object_ids(events: pl.LazyFrame) -> pl.LazyFrame:
    """The object-id source as it was built before it was hashed: a string group-by per column."""
    return pl.concat([events.group_by(c).agg(pl.col("org_id").n_unique().alias("orgs"))
                      .filter((pl.col("orgs") == 1) & (pl.col(c).cast(pl.String).str.len_chars() >= 10))
                      .select(pl.col(c).cast(pl.String).alias("id")) for c in ("container_id", "object_id")])


@pytest.mark.parametrize("groups", [40, 1_000_000])
def test_tenant_ids_by_hash_equal_the_string_group_by(monkeypatch, groups):
    from reid import leak_scan as ls
    events = _tenant_events()
    raw = {"events": events.lazy()}
    ids = ls.TenantIds("events.object_ids", "events", ("container_id", "object_id"), "org_id", 10)
    leaks = events.head(12).with_columns(pl.col("object_id").str.to_uppercase(), pl.col("org_id").alias("x"))
    anon = {"events": pl.concat([leaks, events.slice(100, 40).with_columns(pl.col("container_id").alias("x"))])
            .with_columns(pl.concat_str([pl.lit("see "), pl.col("object_id")]).alias("note")).lazy()}
    monkeypatch.setattr(ls, "KNOWN_GROUPS", groups)
    for release in (raw, anon):
        one = ls.leak_scan({**raw, "events.object_ids": _one_pass_object_ids(raw["events"])}, release,
                           {"events.object_ids": ["id"]})
        hashed = ls.leak_scan(raw, release, {}, tenant_ids=[ids])
        assert [(m.metric, m.value, m.n, m.params) for m in hashed] == \
            [(m.metric, m.value, m.n, m.params) for m in one]
        assert one[0].value > 0


def test_tenant_ids_sharing_a_hash_are_settled_on_their_strings(monkeypatch):
    from reid import leak_scan as ls
    raw = {"events": _tenant_events().lazy()}
    ids = ls.TenantIds("events.object_ids", "events", ("container_id", "object_id"), "org_id", 10)
    monkeypatch.setattr(ls, "_hash", lambda e: e.cast(pl.String).hash(ls.SEED) % 8)   # most ids collide
    want = _one_pass_object_ids(raw["events"]).select(ls._hash(pl.col("id"))).unique().collect()
    got = ls.tenant_id_hashes(raw, ids)
    assert got.tolist() == sorted(want.to_series().to_list())
    assert 0 < got.size <= 8
