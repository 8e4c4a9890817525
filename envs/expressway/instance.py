"""Frozen problem data of one Expressway day and its generator (Table 2 draws)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from swapgym.envs.core.compiled import entry_point
from swapgym.envs.expressway.config import ExpresswayConfig


@dataclass(frozen=True, eq=False)
class ExpresswayInstance:
    """One day on the expressway. Arrays are read-only.

    config: the parameters. init_counts (N_B, L) int: batteries per station per SOC level
    at hour 0. arrivals (T, C) int: EVs requesting energy per hour and SOC class
    (``config.ev_soc_choices``). release_candidates (T, M) int: high-SOC EVs passing the
    release station per hour and class (``config.release_soc_choices``).
    price_per_kwh (T,) $/kWh. ev_levels (C,) int: SOC level of each arriving class at km 0.
    release_levels (M,) int. drive_steps (N_B,) int: SOC steps used driving to each station.
    """

    config: ExpresswayConfig
    init_counts: np.ndarray
    arrivals: np.ndarray
    release_candidates: np.ndarray
    price_per_kwh: np.ndarray
    ev_levels: np.ndarray
    release_levels: np.ndarray
    drive_steps: np.ndarray

    def __setstate__(self, state: dict) -> None:
        # numpy does not pickle the read-only flag: restore it (the contract above, and
        # the compiled step's argument types)
        self.__dict__.update(state)
        for value in state.values():
            if isinstance(value, np.ndarray):
                value.setflags(write=False)

    @property
    def n_stations(self) -> int:
        return self.config.n_stations

    @property
    def horizon(self) -> int:
        return self.config.horizon_h


def _freeze(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


def make_instance(config: ExpresswayConfig, init_counts: np.ndarray, arrivals: np.ndarray,
                  release_candidates: np.ndarray) -> ExpresswayInstance:
    """An instance from explicit data (toy instances in tests, hand-built cases)."""
    c = config
    init_counts = np.asarray(init_counts, dtype=np.int64).reshape(c.n_stations, c.n_levels)
    if np.any(init_counts < 0) or np.any(init_counts.sum(axis=1) != c.batteries_per_station):
        raise ValueError("init_counts: each station must hold batteries_per_station batteries")
    arrivals = np.asarray(arrivals, dtype=np.int64).reshape(c.horizon_h, len(c.ev_soc_choices))
    release_candidates = np.asarray(release_candidates, dtype=np.int64).reshape(
        c.horizon_h, len(c.release_soc_choices))
    price, ev_levels, release_levels, drive_steps = _config_arrays(c)
    return ExpresswayInstance(
        config=c,
        init_counts=_freeze(init_counts),
        arrivals=_freeze(np.minimum(arrivals, c.max_arrivals_per_class)),
        release_candidates=_freeze(np.minimum(release_candidates, c.max_release_per_class)),
        price_per_kwh=price, ev_levels=ev_levels, release_levels=release_levels,
        drive_steps=drive_steps,
    )


@functools.lru_cache(maxsize=32)
def _config_arrays(c: ExpresswayConfig) -> tuple[np.ndarray, ...]:
    """The instance arrays that follow from the config alone (read-only, shared by every
    instance of the config): prices, SOC levels of the EV classes, drive steps."""
    return (_freeze(np.asarray(c.hourly_price_per_kwh, dtype=float)),
            _freeze(np.array([c.level_of(s) for s in c.ev_soc_choices], dtype=np.int64)),
            _freeze(np.array([c.level_of(s) for s in c.release_soc_choices], dtype=np.int64)),
            _freeze(np.array([c.drive_steps(km) for km in c.station_km], dtype=np.int64)))


def generate(config: ExpresswayConfig, rng: np.random.Generator) -> ExpresswayInstance:
    """The paper's random day: Table 2 SOC draws, Poisson arrivals on the hourly profile."""
    init_counts, arrivals, candidates = draw_day(config, rng)
    price, ev_levels, release_levels, drive_steps = _config_arrays(config)
    return ExpresswayInstance(config, _freeze(init_counts), _freeze(arrivals), _freeze(candidates),
                              price, ev_levels, release_levels, drive_steps)


def draw_day(config: ExpresswayConfig, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """The random data of a day (``generate``; the vector env draws the same): initial
    counts (N_B, L), arrivals (T, C) and release candidates (T, M), capped like
    ``make_instance``.

    Draw order is fixed (initial SOC, arrivals, release candidates) so a day depends on the
    seed only, never on the actions taken. The draws are numpy's own, taken from ``rng``
    in compiled code (``_draw_day``; numba runs numpy's algorithms on the generator's bit
    stream): the same numbers as the numpy calls its comments name, a fifth of the time.
    """
    if type(rng) is not np.random.Generator:
        raise TypeError(f"rng: expected a numpy.random.Generator, got {type(rng).__name__}")
    c = config
    init_levels, arrival_rate, p_class, p_release = _draw_arrays(c)
    T = c.horizon_h
    init_counts = np.zeros((c.n_stations, c.n_levels), dtype=np.int64)
    arrivals = np.zeros((T, len(p_class)), dtype=np.int64)
    release = np.zeros((T, len(p_release)), dtype=np.int64)
    _draw_fn()(rng, init_levels, c.batteries_per_station, arrival_rate, p_class,
               float(c.release_candidates_per_h), p_release, c.max_arrivals_per_class,
               c.max_release_per_class, init_counts, arrivals, release)
    return init_counts, arrivals, release


@functools.cache
def _draw_fn() -> Any:
    """``_draw_day`` for ``draw_day``'s argument types, past numba's dispatch (which types
    a Generator on a slow path, ~4 µs a call); ``draw_day`` makes sure of the types."""
    ints, floats = np.zeros(1, dtype=np.int64), np.zeros(1)
    table = np.zeros((1, 1), dtype=np.int64)
    return entry_point(_draw_day, np.random.default_rng(0), ints, 1, floats, floats, 1.0, floats,
                       1, 1, table, table, table)


@njit(cache=True)
def _draw_day(rng, init_levels, per_station, arrival_rate, p_class, candidate_rate, p_release,
              max_arrivals, max_release, init_counts, arrivals, release):  # pragma: no cover
    """``draw_day`` into init_counts (N_B, L), arrivals (T, C), release (T, M) (zeros)."""
    n_st = init_counts.shape[0]
    # Table 2's SOC_b draw, ``rng.choice(init_soc_choices, (N_B, N_b))``: these indices
    # (one call of the size: numpy draws bounded integers two to a 64-bit word)
    picks = rng.integers(0, init_levels.shape[0], size=n_st * per_station)
    for i in range(picks.shape[0]):
        init_counts[i // per_station, init_levels[picks[i]]] += 1
    # ``rng.poisson(arrival_rate)``, then Table 2's SOC_l = 0.3 + round(rand)/10 — each
    # class equally likely: ``rng.multinomial(total, p_class)``
    total = np.empty(arrivals.shape[0], dtype=np.int64)
    for t in range(total.shape[0]):
        total[t] = rng.poisson(arrival_rate[t])
    for t in range(total.shape[0]):
        _multinomial(rng, total[t], p_class, max_arrivals, arrivals[t])
    # ``rng.poisson(release_candidates_per_h, T)``, ``rng.multinomial(total, p_release)``
    for t in range(total.shape[0]):
        total[t] = rng.poisson(candidate_rate)
    for t in range(total.shape[0]):
        _multinomial(rng, total[t], p_release, max_release, release[t])


@njit(cache=True)
def _multinomial(rng, n, p, cap, out):  # pragma: no cover
    """numpy's ``Generator.multinomial(n, p)`` (its C loop: a binomial per class but the
    last, of the draws left, with the class's share of the probability left) into
    ``out`` (zeros), each count capped at ``cap``."""
    left, p_left = n, 1.0
    for j in range(p.shape[0] - 1):
        k = rng.binomial(left, p[j] / p_left)
        out[j] = min(k, cap)
        left -= k
        if left <= 0:
            break
        p_left -= p[j]
    if left > 0:
        out[p.shape[0] - 1] = min(left, cap)


@functools.lru_cache(maxsize=32)
def _draw_arrays(c: ExpresswayConfig) -> tuple[np.ndarray, ...]:
    """``draw_day``'s constants: levels of the initial SOC choices, hourly arrival rates,
    class probabilities of the arriving and the releasing EVs."""
    return (np.array([c.level_of(s) for s in c.init_soc_choices], dtype=np.int64),
            np.asarray(c.arrival_rate_per_h, dtype=float),
            np.full(len(c.ev_soc_choices), 1.0 / len(c.ev_soc_choices)),
            np.full(len(c.release_soc_choices), 1.0 / len(c.release_soc_choices)))
