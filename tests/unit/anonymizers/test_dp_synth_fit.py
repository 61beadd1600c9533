"""dp.synthesize utility fixes (issue 8): activity bounded by the contribution bound, bots' action model,
the shrunk week profile and the bots' two measurements of their action mix. Small data, no Beam."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from anon_testdata import make_tables

from anonymizers.base import BatchContext
from anonymizers.dp_fit import Activity, _rank1_week, _shrink_week, fit
from anonymizers.dp_measure import (
    ACTIVITY_EDGES,
    RESOLUTIONS,
    Measured,
    activity_edges,
    activity_resolution,
    activity_top_bin,
    exact,
    measure_all,
    rho_from,
    spec_map,
    transition_cells,
)
from anonymizers.dp_sample import activity_counts, bin_decay, in_bin, population, stratified
from anonymizers.dp_stats import GROUPS, AccountStats
from anonymizers.dp_synthesize import DpSynthesize, DpSynthesizeParams
from generators.catalog import markov_chain
from generators.chunk import chunk_specs, generate_chunk
from generators.params import GenerationParams
from generators.population import P_BOT


def synth(**kw: object) -> DpSynthesize:
    return DpSynthesize(DpSynthesizeParams(**kw))  # type: ignore[arg-type]


def stats_of(a: DpSynthesize, tables: dict[str, pa.Table]) -> AccountStats:
    return a.finalize({t: a.partial(tab, BatchContext(t, ())) for t, tab in tables.items()})


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return make_tables(n_users=40, n_events=1200)


def test_activity_top_bin_is_the_bin_of_the_bound() -> None:
    for bound in (1, 7, 1000, 2000, 4096):
        b = activity_top_bin(bound)
        assert 2 ** b <= bound < 2 ** (b + 1)        # bin b (from 1 event) holds [2^b, 2^(b+1))
    assert activity_top_bin(None) == len(ACTIVITY_EDGES) - 2


def test_activity_counts_events_up_to_the_bound(tables: dict[str, pa.Table]) -> None:
    a = synth(max_events_per_account=10, max_session_events=8)
    stats = stats_of(a, tables)
    assert stats.max_events == 10 and int(stats.attrs["events"].to_numpy().max()) > 10   # some accounts are heavier
    h = exact(spec_map()["activity.group_events_bin"], stats).reshape(len(GROUPS), -1)
    top = activity_top_bin(10) + 1                  # + the bin of accounts without events
    assert h[:, top + 1:].sum() == 0 and h[:, top].sum() > 0
    assert h.sum() == stats.n_accounts              # still one-hot: every account in exactly one cell


def _measured(values: dict[str, np.ndarray], epsilon: float = 1.0) -> dict[str, Measured]:
    """Exact measurements of a small table with some cells overwritten (a stand-in for noise)."""
    a = synth(epsilon=epsilon, max_events_per_account=10, max_session_events=8)
    stats = stats_of(a, make_tables(n_users=40, n_events=1200))
    ms = measure_all(stats, rho_from(epsilon, 1e-6), noise=False)
    return {k: Measured(m.name, values.get(k, m.values), m.sigma, m.rho) for k, m in ms.items()}


def test_a_noise_spike_above_the_bound_never_reaches_the_release() -> None:
    base = _measured({})
    act = base["activity.group_events_bin"].values.copy().reshape(len(GROUPS), -1)
    act[:, activity_top_bin(10) + 2:] = 1e4          # huge "accounts" in every bin above the bound's
    ms = _measured({"activity.group_events_bin": act.ravel()})
    model = fit(ms, 10)
    for a in model.activity:
        assert a.max_events == 10 and a.bins[activity_top_bin(10) + 1:].sum() == 0
    pop = population(model, 0, dt.date(2026, 3, 2), 28, 10_000)
    assert 0 < pop.acc_events.max() <= 10


def test_bots_draw_each_action_from_their_product_mix() -> None:
    model = fit(_measured({}), 10).behaviour
    ch = markov_chain()
    bot = model.transitions[P_BOT]
    for p in range(4):
        rows = np.nonzero(ch.state_product == p)[0]
        block = bot[np.ix_(rows, rows)]
        # every row of a product is the same mix (the previous action does not matter) ...
        assert np.allclose(block, block[:1]), p
        # ... and no weight leaves the product
        assert bot[np.ix_(rows, np.nonzero(ch.state_product != p)[0])].sum() == 0


def test_bots_contribute_only_to_their_own_block_of_the_transition_measurement() -> None:
    params = GenerationParams(events=8_000, events_per_chunk=8_000)
    parts = [generate_chunk(spec) for spec in chunk_specs(5, params) if spec.scope == "main"]
    tables = {t: pa.concat_tables([p[t] for p in parts]) for t in ("orgs", "users", "events")}
    a = synth(max_events_per_account=200, max_session_events=50)
    stats = stats_of(a, tables)
    spec = spec_map()["steps.transition"]
    rows, cell, _ = spec.contributions(stats)
    group = stats.attrs["group"].to_numpy()[rows]
    n_tr = len(transition_cells())
    assert len(spec.cells) == n_tr + len(markov_chain().states)
    assert (group == 3).any() and (group != 3).any()
    assert (cell[group == 3] >= n_tr).all() and (cell[group != 3] < n_tr).all()
    assert all(c[0] == "bot" for c in spec.cells[n_tr:]) and all(c[0] == "human" for c in spec.cells[:n_tr])


@pytest.mark.parametrize("gone", ["acct-00007", "acct-00009"])   # a person and a bot
def test_removing_one_account_moves_each_measurement_by_at_most_l2_one(tables: dict[str, pa.Table],
                                                                      gone: str) -> None:
    a = synth(max_events_per_account=10, max_session_events=8)
    full = {m.name: m for m in a.dp_measure(tables, noise=False)}
    without = {k: v.filter(pa.compute.invert(pa.compute.equal(v["account_id"], gone)))
               if "account_id" in v.column_names else v for k, v in tables.items()}
    less = {m.name: m for m in a.dp_measure(without, noise=False)}
    moved = 0.0
    for name, m in full.items():
        d = np.array([m.values[c] - less[name].values[c] for c in m.values])
        assert np.sqrt((d * d).sum()) <= 1.0 + 1e-9, name
        moved += float(np.abs(d).sum())
    assert moved > 0                                  # the account was there


def test_shrunk_week_flattens_noise_and_keeps_a_strong_profile() -> None:
    rng = np.random.default_rng(0)
    sigma = 10.0
    day = np.r_[np.full(8, 1.0), np.full(10, 6.0), np.full(6, 2.0)]
    week = np.outer([1, 1, 1, 1, 1, 0.3, 0.2], day).ravel() * 200
    strong = _shrink_week(_rank1_week(week + rng.normal(0, sigma, 168)), sigma)
    assert np.corrcoef(strong, week)[0, 1] > 0.99
    flat = np.full(168, 8.0)
    noisy = [_shrink_week(_rank1_week(flat + rng.normal(0, sigma, 168)), sigma) for _ in range(20)]
    raw = [_rank1_week(flat + rng.normal(0, sigma, 168)) for _ in range(20)]
    cv = [x.std() / x.mean() for x in noisy]
    cv_raw = [x.std() / x.mean() for x in raw]
    assert np.mean(cv) < 0.5 * np.mean(cv_raw)          # the noise of a flat profile is mostly removed


def test_events_within_a_bin_follow_the_measured_decay() -> None:
    w = np.array([0.0, 0.1, 0.4, 0.2, 0.05, 0.0])
    octaves = 2.0 ** np.arange(len(w))
    alpha = bin_decay(w, octaves, 2 * octaves)            # octave bins [2^b, 2^(b+1))
    assert alpha[0] == 0 and alpha[-1] == 0               # empty bins
    assert alpha[1] < 0 < alpha[3] < alpha[4]             # rising, then falling faster and faster
    u = np.random.default_rng(0).random(20_000)
    lo, hi = np.full(u.size, 512.0), np.full(u.size, 1024.0)
    means = [in_bin(u, lo, hi, np.full(u.size, a)).mean() for a in (-2.0, 0.0, 3.0)]
    assert means[0] > means[1] > means[2]                 # a falling tail puts the mass low in the bin
    assert abs(means[1] - 512 / np.log(2)) < 3            # alpha 0: log-uniform, mean (hi - lo) / ln 2
    for a in (-4.0, 0.0, 6.0):
        x = in_bin(u, lo, hi, np.full(u.size, a))
        assert x.min() >= 512 and x.max() < 1024


def test_a_two_shape_week_keeps_rank_two_and_noise_only_rank_one() -> None:
    """Weekdays and weekends have different daily curves (rank 2): a rank-1 fit cannot hold both, the
    Gavish–Donoho rank keeps the second pair when it rises above the noise, and nothing but the first
    when the table is noise."""
    from anonymizers.dp_fit import _lowrank_week

    day = np.r_[np.full(8, 0.2), np.full(10, 6.0), np.full(6, 1.0)]
    weekend = np.r_[np.full(9, 0.5), np.full(12, 2.0), np.full(3, 3.0)]
    week = np.concatenate([np.tile(day, 5), np.tile(weekend, 2)]) * 100
    exact_fit, r = _lowrank_week(week, 0.0)
    assert r == 2 and np.allclose(exact_fit, week)
    assert np.corrcoef(_rank1_week(week), week)[0, 1] < np.corrcoef(exact_fit, week)[0, 1]
    rng = np.random.default_rng(1)
    noisy, r = _lowrank_week(week + rng.normal(0, 10.0, 168), 10.0)
    assert r == 2 and np.corrcoef(noisy, week)[0, 1] > 0.995
    _, r = _lowrank_week(np.full(168, 8.0) + rng.normal(0, 10.0, 168), 10.0)
    assert r == 1


def test_split_rate_recovers_the_mean_session_length() -> None:
    """Each account adds (sessions - 1) / (events - 1) in [0, 1] to its human/bot cell (one cell: L2
    sensitivity 1); without noise the fit recovers the generator's mean session lengths (14 and 40 events:
    its defaults, which made this data), where the old lognormal fit of a length histogram said ~17 and ~50."""
    from anonymizers.dp_fit import session_lengths

    params = GenerationParams(events=60_000, events_per_chunk=60_000)
    parts = [generate_chunk(spec) for spec in chunk_specs(5, params) if spec.scope == "main"]
    tables = {t: pa.concat_tables([p[t] for p in parts]) for t in ("orgs", "users", "events")}
    a = synth()
    stats = stats_of(a, tables)
    spec = spec_map()["sessions.split_rate"]
    rows, cell, v = spec.contributions(stats)
    assert len(np.unique(rows)) == len(rows) and ((v >= 0) & (v <= 1)).all() and set(cell) <= {0, 1}
    assert spec.max_cells_per_account == 1 and not spec.clipped
    ms = a.measure(stats, noise=False)
    people, bots = session_lengths(ms["sessions.split_rate"], ms["activity.group_events_bin"])
    assert people == pytest.approx(14.0, rel=0.1)
    assert bots == pytest.approx(40.0, rel=0.25)
    # With (much) noise and no signal the public prior holds; a negative noisy sum never gives a negative length.
    weak = Measured("sessions.split_rate", np.array([-50.0, -50.0]), 1e4, 1e-9)
    assert session_lengths(weak, ms["activity.group_events_bin"]) == pytest.approx((14.0, 40.0), rel=0.01)


def test_activity_resolution_grows_with_epsilon() -> None:
    """Finer activity bins only where the budget's known noise allows it (never chosen from the data)."""
    res = [activity_resolution(rho_from(e, 1e-6)) for e in (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 20.0)]
    assert res == sorted(res) and res[0] == 1 and res[2] == 1 and res[-2] == max(RESOLUTIONS) > 1
    for r in RESOLUTIONS:
        e = activity_edges(r)
        assert set(ACTIVITY_EDGES) <= set(e) and np.all(np.diff(e) > 0)       # finer bins nest in octaves
        assert e[-1] == ACTIVITY_EDGES[-1] and all(x == int(x) for x in e[1:])
        b = activity_top_bin(2000, r)
        assert e[b + 1] <= 2000 < e[b + 2]                                     # the bound's bin


def test_stratified_draws_follow_the_histogram_up_to_rounding() -> None:
    p = np.array([0.0, 0.5, 0.25, 0.125, 0.125])
    cat, u = stratified(np.random.default_rng(1), p, 1001)
    k = np.bincount(cat, minlength=len(p))
    assert k.sum() == 1001 and np.all(np.abs(k - p * 1001) < 1) and k[0] == 0
    for c in np.nonzero(k)[0]:                      # one quantile in each of the k strata of the bin
        assert np.array_equal(np.floor(np.sort(u[cat == c]) * k[c]), np.arange(k[c]))


def _ks(a: np.ndarray, b: np.ndarray) -> float:
    grid = np.union1d(a, b)
    return float(np.abs(np.searchsorted(np.sort(a), grid, side="right") / a.size
                        - np.searchsorted(np.sort(b), grid, side="right") / b.size).max())


def test_activity_drawn_from_an_exact_histogram_has_a_small_ks_floor() -> None:
    """Events per account drawn from the exact histogram of 12,000 heavy-tailed accounts (one-off visitors
    and lognormal regulars, as the generator): the KS distance to the accounts themselves is far below the
    ~0.011 of a multinomial draw of the bins, and falls again with half-octave bins."""
    rng = np.random.default_rng(7)
    few = np.where(rng.random(3000) < 0.6, 1, 1 + rng.geometric(0.4, 3000))
    raw = np.minimum(np.r_[few, np.ceil(rng.lognormal(4.0, 1.3, 9000))].astype(np.int64), 2000)
    ks = {}
    for r in RESOLUTIONS:
        e = activity_edges(r)
        h = np.bincount(np.searchsorted(e, raw, side="right") - 1, minlength=len(e))[1:].astype(np.float64)
        act = Activity(len(raw), 0, h / h.sum(), 2000, r)
        ks[r] = max(_ks(raw, activity_counts(np.random.default_rng(s), act)) for s in range(3))
    assert ks[1] < 0.008 and ks[max(RESOLUTIONS)] < 0.005 and ks[max(RESOLUTIONS)] < ks[1]


def test_pooled_product_shares_beat_either_measurement_alone() -> None:
    """The bots' product mix measured twice (sessions per product; actions, summed per product): the pooled
    shares are closer to the truth than either alone, and a side without signal is left out."""
    from anonymizers.dp_fit import pooled_shares

    sp = markov_chain().state_product
    truth = np.array([0.6, 0.2, 0.15, 0.05])
    within = np.ones(len(sp)) / np.bincount(sp)[sp]                       # flat mix within each product
    rng = np.random.default_rng(3)                                          # a test stand-in for the noise
    err: dict[str, list[float]] = {"sessions": [], "actions": [], "pooled": []}
    for _ in range(300):
        s = 300 * truth + rng.normal(0, 17, 4)
        a = 700 * truth[sp] * within + rng.normal(0, 10, len(sp))
        a_shares = np.bincount(sp, weights=np.maximum(a, 0), minlength=4)
        for k, est in (("sessions", np.maximum(s, 0) / np.maximum(s, 0).sum()),
                       ("actions", a_shares / a_shares.sum()), ("pooled", pooled_shares(s, 17, a, 10, sp))):
            err[k].append(0.5 * float(np.abs(est - truth).sum()))
    assert np.mean(err["pooled"]) < 0.85 * min(np.mean(err["sessions"]), np.mean(err["actions"]))
    only = pooled_shares(300 * truth, 17, np.full(len(sp), -5.0), 10, sp)   # actions: no positive total
    np.testing.assert_allclose(only, truth)
    assert pooled_shares(np.zeros(4), 17, np.zeros(len(sp)), 10, sp).tolist() == [0.25] * 4
