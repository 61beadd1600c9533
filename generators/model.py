"""A behaviour model that replaces the generator's built-in constants: the hook for fitted models.

:func:`generators.behaviour.build_events` draws sessions, times, products, actions and gaps from tables that
are constants of the generator (the rhythm of :mod:`generators.rhythm`, ``PRODUCT_MIX``, the catalog's Markov chain, the session
parameters). A :class:`BehaviourModel` carries the same quantities as arrays, so that a model fitted elsewhere
(``anonymizers.dp_synthesize`` fits one under differential privacy) drives the *same* vectorized sampling
code. Without a model the generator uses its constants and its output is unchanged, byte for byte.

Indexing follows the generator: personas as in :data:`generators.catalog.PERSONAS`, products as in
``PRODUCTS``, action states as in :func:`generators.catalog.markov_chain` (one block per product), local
hour of week 0 = Monday 00:00.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from generators.catalog import PERSONAS, PRODUCTS, markov_chain
from generators.params import GROUPS, FittedBehaviour, SessionShape

HOURS_OF_WEEK = 168


@dataclass(frozen=True, eq=False)
class BehaviourModel:
    """Behaviour tables for :func:`generators.behaviour.build_events` (all weights >= 0, rows need not sum to 1).

    * ``hour_of_week`` (personas, 168): session-start weight per local hour of week; it already contains
      any personal shift of rhythm, so accounts built for a model get ``shift_h = 0``;
    * ``product_mix`` (personas, products): weight of a session's product;
    * ``transitions`` (personas, states, states) and ``entry`` (personas, products, states): Markov chain
      weights of the next action and of a session's first action;
    * ``mean_events``, ``gap_median_seconds``, ``gap_sigma`` (personas,): session length and lognormal gaps;
    * ``even_starts``: spread the session starts of each (persona, time zone) over the period's profile by
      systematic sampling (see :func:`even_quantiles`) instead of independently: the same distribution per
      session, but the realized hour-of-week profile follows the model's up to one session per slot, not up to
      the sampling noise of clustered, heavy-tailed sessions (a synthetic release's choice; off by default).
    """

    hour_of_week: np.ndarray
    product_mix: np.ndarray
    transitions: np.ndarray
    entry: np.ndarray
    mean_events: np.ndarray
    gap_median_seconds: np.ndarray
    gap_sigma: np.ndarray
    even_starts: bool = False

    def __post_init__(self) -> None:
        n_pers, n_prod, n_states = len(PERSONAS), len(PRODUCTS), len(markov_chain().states)
        shapes = {"hour_of_week": (n_pers, HOURS_OF_WEEK), "product_mix": (n_pers, n_prod),
                  "transitions": (n_pers, n_states, n_states), "entry": (n_pers, n_prod, n_states),
                  "mean_events": (n_pers,), "gap_median_seconds": (n_pers,), "gap_sigma": (n_pers,)}
        for name, shape in shapes.items():
            a = getattr(self, name)
            if a.shape != shape:
                raise ValueError(f"BehaviourModel.{name}: shape {a.shape}, expected {shape}")
            if not np.all(np.isfinite(a)) or np.any(a < 0):
                raise ValueError(f"BehaviourModel.{name}: weights must be finite and >= 0")
        if np.any(self.mean_events <= 1) or np.any(self.gap_median_seconds <= 0) or np.any(self.gap_sigma <= 0):
            raise ValueError("BehaviourModel: mean_events > 1, gap_median_seconds > 0 and gap_sigma > 0 required")
        if np.any(self.hour_of_week.sum(1) <= 0) or np.any(self.product_mix.sum(1) <= 0):
            raise ValueError("BehaviourModel: every persona needs positive hour-of-week and product weight")

    def period_cum(self, start: dt.date, days: int) -> np.ndarray:
        """(personas, days*24) cumulative session-start weights over the local hours of the period."""
        hours = np.arange(days * 24)
        how = (start.weekday() * 24 + hours) % HOURS_OF_WEEK
        return np.cumsum(self.hour_of_week[:, how], axis=1)

    def chain_cum(self) -> tuple[np.ndarray, np.ndarray]:
        """(cumulative transition rows, cumulative entry rows) in the layout of the catalog's chain: a row
        without weight stays in its state (transitions) or enters the product's first state (entry)."""
        ch = markov_chain()
        t = self.transitions.copy()
        n = t.shape[1]
        empty = t.sum(2) == 0
        t[empty] = 0.0
        pk, sk = np.nonzero(empty)
        t[pk, sk, sk] = 1.0
        cum = np.cumsum(t / t.sum(2, keepdims=True), axis=2)
        e = self.entry.copy()
        first = np.array([int(np.nonzero(ch.state_product == p)[0][0]) for p in range(len(PRODUCTS))])
        pe, pp = np.nonzero(e.sum(2) == 0)
        e[pe, pp, first[pp]] = 1.0
        entry_cum = np.cumsum(e / e.sum(2, keepdims=True), axis=2)
        assert cum.shape[1] == n
        return cum, entry_cum


def even_quantiles(u: np.ndarray, key: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Systematic sampling: within each ``key``, the items in the (random) order of their uniforms ``u`` laid
    end to end on [0, 1) with widths proportional to ``weight``; each gets the midpoint of its piece. The
    order is random, so each item's quantile is still uniform on [0, 1) (up to its own width), but the
    weight falling into any interval [a, b) is (b - a) times the key's total up to one item's weight."""
    n = len(u)
    if n == 0:
        return np.asarray(u, dtype=np.float64)
    order = np.lexsort((u, key))
    k = key[order]
    w = np.asarray(weight, dtype=np.float64)[order]
    _, inv, _ = np.unique(k, return_inverse=True, return_counts=True)
    total = np.bincount(inv, weights=w)
    before = np.r_[0.0, np.cumsum(total)[:-1]]
    mid = np.cumsum(w) - w / 2 - before[inv]
    out = np.empty(n, dtype=np.float64)
    out[order] = np.clip(mid / np.maximum(total[inv], 1e-300), 0.0, 1.0 - 1e-12)
    return out


# --- fitted behaviour: the config form (generators.params.FittedBehaviour) and count tables -------------------

GROUP_PERSONAS = ((0, 1), (2,), (3,), (4,))
"""Personas each group of :data:`generators.params.GROUPS` stands for (member: developer and business)."""
assert PERSONAS == ("developer", "business", "admin", "external", "bot") and len(GROUP_PERSONAS) == len(GROUPS)


@dataclass(frozen=True, eq=False)
class GroupCounts:
    """Counts observed in a log, per behaviour group (``GROUPS``): the sufficient statistics of the model.

    ``hour_of_week`` (groups, 168) session starts per local hour of week, divided by how often that hour
    occurs in the period; ``product`` (groups, products) sessions; ``entry`` (groups, products, states) first
    actions; ``transitions`` (groups, states, states) consecutive actions within sessions; ``sessions``,
    ``extra_events`` (groups,) sessions and events beyond each session's first (the binomial session model
    of :func:`generators.behaviour.build_events`: 1/mean_events = sessions beyond the first / events beyond
    the first, per account); ``gap_log_mean``, ``gap_log_sd`` (groups,) moments of the log in-session gaps."""

    hour_of_week: np.ndarray
    product: np.ndarray
    entry: np.ndarray
    transitions: np.ndarray
    sessions_beyond_first: np.ndarray
    events_beyond_first: np.ndarray
    gap_log_mean: np.ndarray
    gap_log_sd: np.ndarray
    events: np.ndarray


def from_counts(c: GroupCounts, min_events: int = 200) -> BehaviourModel:
    """The behaviour model of counted data (non-private maximum-likelihood estimates: normalized counts).

    A group with fewer than ``min_events`` events borrows the pooled tables of all human groups (bots: the
    generator's flat profile and defaults when they are absent); a transition row never observed takes the
    group's action mix within the product, so that no rare action becomes absorbing."""
    ch = markov_chain()
    n_groups = len(GROUPS)
    human = [g for g in range(n_groups) if GROUPS[g] != "bot"]

    def pooled(a: np.ndarray, g: int) -> np.ndarray:
        if c.events[g] >= min_events:
            return a[g]
        if GROUPS[g] == "bot":
            return np.zeros_like(a[g])
        return a[human].sum(0)

    how = np.stack([pooled(c.hour_of_week, g) for g in range(n_groups)])
    prod = np.stack([pooled(c.product, g) for g in range(n_groups)])
    entry = np.stack([pooled(c.entry, g) for g in range(n_groups)])
    trans = np.stack([pooled(c.transitions, g) for g in range(n_groups)])
    default_cum, default_entry = ch.cum, ch.entry_cum
    default_t = np.diff(np.concatenate([np.zeros((*default_cum.shape[:2], 1)), default_cum], 2), axis=2)
    default_e = np.diff(np.concatenate([np.zeros((*default_entry.shape[:2], 1)), default_entry], 2), axis=2)
    same_product = ch.state_product[:, None] == ch.state_product[None, :]
    out: dict[str, list[np.ndarray]] = {k: [] for k in ("how", "prod", "entry", "trans", "mean", "gmed", "gsd")}
    for g, personas in enumerate(GROUP_PERSONAS):
        k0 = personas[0]
        if how[g].sum() <= 0:  # no data at all: the generator's own behaviour for this persona
            how_g = np.ones(HOURS_OF_WEEK) if GROUPS[g] == "bot" else how[human].sum(0)
            how_g = how_g if how_g.sum() > 0 else np.ones(HOURS_OF_WEEK)
        else:
            how_g = how[g]
        prod_g = prod[g] if prod[g].sum() > 0 else np.ones(len(PRODUCTS))
        targets = trans[g].sum(0) + entry[g].sum(0)
        mix = np.where(same_product, targets[None, :], 0.0)  # the group's action mix within each product
        t = trans[g].copy()
        empty = t.sum(1) == 0
        t[empty] = np.where(mix[empty].sum(1, keepdims=True) > 0, mix[empty], default_t[k0][empty])
        e = entry[g].copy()
        e_empty = e.sum(1) == 0
        e[e_empty] = default_e[k0][e_empty]
        sb, eb = c.sessions_beyond_first[g], c.events_beyond_first[g]
        mean = float(np.clip(eb / sb, 1.05, 1e4)) if sb > 0 and c.events[g] >= min_events else \
            (40.0 if GROUPS[g] == "bot" else 14.0)
        ok = c.events[g] >= min_events and np.isfinite(c.gap_log_mean[g]) and c.gap_log_sd[g] > 0
        gmed = float(np.exp(c.gap_log_mean[g])) if ok else (2.0 if GROUPS[g] == "bot" else 35.0)
        gsd = float(np.clip(c.gap_log_sd[g], 0.05, 4.0)) if ok else 1.1
        for _ in personas:
            out["how"].append(how_g)
            out["prod"].append(prod_g)
            out["entry"].append(e)
            out["trans"].append(t)
            out["mean"].append(np.array(mean))
            out["gmed"].append(np.array(gmed))
            out["gsd"].append(np.array(gsd))
    a = {k: np.stack(v).astype(np.float64) for k, v in out.items()}
    return BehaviourModel(hour_of_week=a["how"], product_mix=a["prod"], transitions=a["trans"], entry=a["entry"],
                          mean_events=a["mean"], gap_median_seconds=a["gmed"], gap_sigma=a["gsd"])


def to_fitted(m: BehaviourModel, digits: int = 5) -> FittedBehaviour:
    """The config form of a model (one table per group; zero weights left out), rounded to ``digits``
    significant digits so that the YAML stays readable."""
    ch = markov_chain()
    names = ch.states

    def r(x: float) -> float:
        return float(f"{x:.{digits}g}")

    how, prod, entry, trans, sess = {}, {}, {}, {}, {}
    for g, personas in enumerate(GROUP_PERSONAS):
        k = personas[0]
        name = GROUPS[g]
        how[name] = [r(v) for v in self_norm(m.hour_of_week[k]) * HOURS_OF_WEEK]
        prod[name] = {p: r(v) for p, v in zip(PRODUCTS, self_norm(m.product_mix[k]), strict=True)}
        entry[name] = {p: {names[j]: r(v) for j, v in enumerate(self_norm(m.entry[k, pi])) if v > 0}
                       for pi, p in enumerate(PRODUCTS)}
        trans[name] = {p: {names[i]: {names[j]: r(v) for j, v in enumerate(self_norm(m.transitions[k, i])) if v > 0}
                           for i in np.nonzero(ch.state_product == pi)[0] if m.transitions[k, i].sum() > 0}
                       for pi, p in enumerate(PRODUCTS)}
        sess[name] = SessionShape(mean_events=r(float(m.mean_events[k])),
                                  gap_median_seconds=r(float(m.gap_median_seconds[k])),
                                  gap_sigma=r(float(m.gap_sigma[k])))
    return FittedBehaviour(hour_of_week=how, product_mix=prod, entry=entry, transitions=trans, sessions=sess)


def self_norm(v: np.ndarray) -> np.ndarray:
    s = float(np.sum(v))
    return v / s if s > 0 else v


def from_fitted(b: FittedBehaviour) -> BehaviourModel:
    """The model of a config's ``behaviour:`` section (a group left out takes ``member``'s tables).

    Raises ``ValueError`` naming the key for a table of the wrong length or an unknown product or action."""
    ch = markov_chain()
    n_states = len(ch.states)
    index = {(int(p), a): i for i, (p, a) in enumerate(zip(ch.state_product, ch.states, strict=True))}

    def state(product: str, action: str, where: str) -> int:
        if product not in PRODUCTS:
            raise ValueError(f"behaviour.{where}: unknown product {product!r} (products: {', '.join(PRODUCTS)})")
        key = (PRODUCTS.index(product), action)
        if key not in index:
            raise ValueError(f"behaviour.{where}: unknown action {action!r} of product {product!r}")
        return index[key]

    n_pers = len(PERSONAS)
    how = np.zeros((n_pers, HOURS_OF_WEEK))
    prod = np.zeros((n_pers, len(PRODUCTS)))
    entry = np.zeros((n_pers, len(PRODUCTS), n_states))
    trans = np.zeros((n_pers, n_states, n_states))
    mean, gmed, gsd = np.zeros(n_pers), np.zeros(n_pers), np.zeros(n_pers)
    for g, personas in enumerate(GROUP_PERSONAS):
        name = GROUPS[g]
        h = b.hour_of_week.get(name, b.hour_of_week["member"])
        if len(h) != HOURS_OF_WEEK:
            raise ValueError(f"behaviour.hour_of_week.{name}: {len(h)} values, expected {HOURS_OF_WEEK}")
        s = b.sessions.get(name, b.sessions["member"])
        for k in personas:
            how[k] = h
            for p, w in b.product_mix.get(name, b.product_mix["member"]).items():
                if p not in PRODUCTS:
                    raise ValueError(f"behaviour.product_mix.{name}: unknown product {p!r}")
                prod[k, PRODUCTS.index(p)] = w
            for p, row in b.entry.get(name, b.entry["member"]).items():
                for a, w in row.items():
                    entry[k, PRODUCTS.index(p) if p in PRODUCTS else -1, state(p, a, f"entry.{name}")] = w
            for p, rows in b.transitions.get(name, b.transitions["member"]).items():
                for a, row in rows.items():
                    i = state(p, a, f"transitions.{name}")
                    for a2, w in row.items():
                        trans[k, i, state(p, a2, f"transitions.{name}")] = w
            mean[k], gmed[k], gsd[k] = s.mean_events, s.gap_median_seconds, s.gap_sigma
    return BehaviourModel(how, prod, trans, entry, mean, gmed, gsd)
