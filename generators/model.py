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

HOURS_OF_WEEK = 168


@dataclass(frozen=True, eq=False)
class BehaviourModel:
    """Behaviour tables for :func:`generators.behaviour.build_events` (all weights >= 0, rows need not sum to 1).

    * ``hour_of_week`` (personas, 168): session-start weight per local hour of week; it already contains
      any personal shift of rhythm, so accounts built for a model get ``shift_h = 0``;
    * ``product_mix`` (personas, products): weight of a session's product;
    * ``transitions`` (personas, states, states) and ``entry`` (personas, products, states): Markov chain
      weights of the next action and of a session's first action;
    * ``mean_events``, ``gap_median_seconds``, ``gap_sigma`` (personas,): session length and lognormal gaps.
    """

    hour_of_week: np.ndarray
    product_mix: np.ndarray
    transitions: np.ndarray
    entry: np.ndarray
    mean_events: np.ndarray
    gap_median_seconds: np.ndarray
    gap_sigma: np.ndarray

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
