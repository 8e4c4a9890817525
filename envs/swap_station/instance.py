"""Problem data of the swap station: the static station parameters and, per episode,
the prices, arrivals and initial stock drawn at ``reset``.

``StationParams`` is everything a planner needs to model a transition (it is built
once from the config); ``SwapStationInstance`` adds one episode's data. Fields marked
*oracle* hold the future: only policies labelled ``oracle=True`` may read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from swapgym.envs.core.battery import DegradationModel
from swapgym.envs.core.timeseries import (
    HourlySeries,
    load_arrivals_csv,
    load_price_csv,
    shipped_arrivals,
    shipped_prices,
    synthetic_arrivals,
    synthetic_prices,
)
from swapgym.envs.swap_station.config import SwapStationConfig


@dataclass(frozen=True, eq=False)
class StationParams:
    """Static station data. Shapes: K types, L + 1 SoC levels (0 = empty, L = full).

    level_kwh: (K,) energy of one SoC level, kWh. charge_to: (L,) level reached after one
    hour of charging from level l < L. discharge_to: (L,) level reached after one hour of
    discharging from level l + 1 (index j is level j + 1). swap_revenue_eur,
    lost_penalty_eur, degradation_eur_per_kwh: (K,) EUR per swap / per lost swap / per kWh
    charged into a pack.
    """

    n_types: int
    n_levels: int
    levels_per_hour: int
    return_level: int
    capacity_kwh: np.ndarray
    level_kwh: np.ndarray
    n_batteries: np.ndarray
    n_chargers: np.ndarray
    type_shares: np.ndarray
    swap_revenue_eur: np.ndarray
    lost_penalty_eur: np.ndarray
    degradation_eur_per_kwh: np.ndarray
    charge_efficiency: float
    discharge_efficiency: float
    allow_discharge: bool
    charge_to: np.ndarray
    discharge_to: np.ndarray

    @property
    def charge_gain(self) -> np.ndarray:
        """(L,) levels gained by one hour of charging from level l."""
        return self.charge_to - np.arange(self.n_levels)

    @property
    def discharge_loss(self) -> np.ndarray:
        """(L,) levels lost by one hour of discharging from level l + 1."""
        return np.arange(1, self.n_levels + 1) - self.discharge_to


def build_station(config: SwapStationConfig, type_shares: np.ndarray | None = None) -> StationParams:
    L = config.soc_levels
    cap = np.asarray(config.capacity_kwh, dtype=float)
    level_kwh = cap * config.full_soc / L
    return_level = round(config.return_soc / config.full_soc * L)
    delivered_kwh = (L - return_level) * level_kwh
    c_rate = config.levels_per_hour * config.full_soc / L
    if config.degradation_cost_per_kwh is None:
        deg = np.array([DegradationModel(config.replacement_cost_eur_per_kwh * c, c * config.full_soc, c_rate,
                                         config.battery_temperature_k, config.eol_capacity_loss_pct).cost_per_kwh
                        for c in cap])
    else:
        deg = np.full(len(cap), float(config.degradation_cost_per_kwh))
    shares = np.asarray(config.type_shares if type_shares is None else type_shares, dtype=float)
    levels = np.arange(L + 1)
    return StationParams(
        n_types=len(cap), n_levels=L, levels_per_hour=config.levels_per_hour, return_level=return_level,
        capacity_kwh=cap, level_kwh=level_kwh,
        n_batteries=np.asarray(config.n_batteries, dtype=np.int64),
        n_chargers=np.asarray(config.n_chargers, dtype=np.int64),
        type_shares=shares / shares.sum(),
        swap_revenue_eur=config.swap_price_per_kwh * delivered_kwh,
        lost_penalty_eur=np.full(len(cap), float(config.lost_swap_penalty_eur)),
        degradation_eur_per_kwh=deg,
        charge_efficiency=float(config.charge_efficiency),
        discharge_efficiency=float(config.discharge_efficiency),
        allow_discharge=bool(config.allow_discharge),
        charge_to=np.minimum(levels[:L] + config.levels_per_hour, L),
        discharge_to=np.maximum(levels[1:] - config.levels_per_hour, 0),
    )


@dataclass(frozen=True, eq=False)
class StationData:
    """The hourly series an env draws its episodes from (loaded once per env)."""

    prices: HourlySeries
    arrivals: HourlySeries
    arrival_starts: np.ndarray  # candidate episode starts (indices into arrivals), this split
    price_starts_by_weekday: tuple[np.ndarray, ...]  # 7 arrays of price start indices


def load_data(config: SwapStationConfig) -> StationData:
    if config.price_csv is not None:
        prices = load_price_csv(config.price_csv)
    elif config.price_source == "smard":
        prices = shipped_prices()
    else:
        prices = synthetic_prices(np.random.default_rng(config.synthetic_seed))
    if config.arrivals_csv is not None:
        arrivals = load_arrivals_csv(config.arrivals_csv)
        if arrivals.values.ndim == 2 and arrivals.values.shape[1] != config.n_types:
            raise ValueError(f"arrivals_csv: has {arrivals.values.shape[1]} per-type columns "
                             f"{list(arrivals.columns)}, the station has {config.n_types} types")
    elif config.arrival_source == "acn":
        arrivals = shipped_arrivals()
    else:
        arrivals = synthetic_arrivals(np.random.default_rng(config.synthetic_seed + 1))
    T, H = config.episode_hours, config.arrival_history_hours
    n = len(arrivals)
    idx = np.flatnonzero(arrivals.hour_of_day == 0)
    idx = idx[(idx >= H) & (idx + T <= n)]
    lo, hi = split_bounds(config, n)
    starts = idx[(idx >= lo) & (idx < hi)]
    if len(starts) == 0:
        raise ValueError(f"split: no episode of {T} h with {H} h of history starts at midnight in the "
                         f"{config.split!r} part of the arrival series ({n} h)")
    W = config.price_lookahead_hours
    pidx = np.flatnonzero(prices.hour_of_day == 0)
    pidx = pidx[pidx + T + W - 1 <= len(prices)]
    if len(pidx) == 0:
        name = "price_csv" if config.price_csv is not None else "price_source"
        raise ValueError(f"{name}: the price series ({len(prices)} h) is shorter than episode_hours + "
                         f"price_lookahead_hours - 1 = {T + W - 1} h from a midnight")
    by_weekday = []
    for d in range(7):
        same = pidx[prices.weekday[pidx] == d]
        by_weekday.append(same if len(same) else pidx)
    return StationData(prices, arrivals, starts, tuple(by_weekday))


def split_bounds(config: SwapStationConfig, n_hours: int) -> tuple[int, int]:
    """[lo, hi) hour indices of the configured chronological split of an arrival series."""
    a = round(config.train_fraction * n_hours)
    b = round((config.train_fraction + config.val_fraction) * n_hours)
    return {"all": (0, n_hours), "train": (0, a), "val": (a, b), "test": (b, n_hours)}[config.split]


@dataclass(frozen=True, eq=False)
class SwapStationInstance:
    """One episode's problem data. Shapes: T = episode_hours, W = price lookahead, K types.

    station: the static :class:`StationParams`. start / price_start: ISO-8601 time of the
    first hour in the arrival / price series. hour_of_day, weekday: (T,) calendar of the
    episode (the arrival series' local time). price_per_kwh: (T + W - 1,) EUR/kWh; hour t
    knows price_per_kwh[t : t + W]. arrival_history: (H, K) observed arrivals of the H
    hours before the episode. arrivals: (T, K) *oracle* — the riders who will arrive.
    expected_arrivals: (T, K) *oracle* — the scaled data counts they were drawn around.
    initial_levels: (K, L + 1) packs per SoC level at the start. stock_value_per_kwh: (K,)
    EUR/kWh credited for the stored energy gained over the episode (see the config).
    """

    station: StationParams
    episode_hours: int
    price_lookahead_hours: int
    start: str
    price_start: str
    hour_of_day: np.ndarray
    weekday: np.ndarray
    price_per_kwh: np.ndarray
    arrival_history: np.ndarray
    arrivals: np.ndarray
    expected_arrivals: np.ndarray
    initial_levels: np.ndarray
    stock_value_per_kwh: np.ndarray

    def known_prices(self, t: int, hours: int | None = None) -> np.ndarray:
        """Prices (EUR/kWh) known at hour t: hours t .. t + W - 1 (fewer near the episode end
        if ``hours`` asks for less)."""
        w = self.price_lookahead_hours if hours is None else min(hours, self.price_lookahead_hours)
        return self.price_per_kwh[t : t + w]

    def observed_arrivals(self, t: int, hours: int) -> np.ndarray:
        """(hours, K) arrivals observed before hour t (history, then the episode's hours < t)."""
        past = np.concatenate([self.arrival_history, self.arrivals[:t]], axis=0)
        return past[-hours:]


def _draw_counts(rng: np.random.Generator, lam: np.ndarray, noise: str) -> np.ndarray:
    if noise == "poisson":
        return rng.poisson(lam)
    base = np.floor(lam)
    return (base + (rng.random(lam.shape) < lam - base)).astype(np.int64)


def _split_types(rng: np.random.Generator, totals: np.ndarray, shares: np.ndarray) -> np.ndarray:
    return rng.multinomial(totals.astype(np.int64), shares)


def sample_instance(config: SwapStationConfig, station: StationParams, data: StationData,
                    rng: np.random.Generator) -> SwapStationInstance:
    """Draw one episode: the arrival day (uniform over the split), a price day of the same
    weekday, the initial stock and the arrivals. Every draw comes from ``rng``."""
    T, H, W = config.episode_hours, config.arrival_history_hours, config.price_lookahead_hours
    K, L = station.n_types, station.n_levels
    a0 = int(data.arrival_starts[rng.integers(len(data.arrival_starts))])
    weekday = int(data.arrivals.weekday[a0])
    price_choices = data.price_starts_by_weekday[weekday]
    p0 = int(price_choices[rng.integers(len(price_choices))])
    # initial stock: full with probability initial_full_fraction, else uniform in 0..L-1
    full = rng.binomial(station.n_batteries, config.initial_full_fraction)
    levels = np.zeros((K, L + 1), dtype=np.int64)
    levels[:, L] = full
    for k in range(K):
        levels[k, :L] = rng.multinomial(station.n_batteries[k] - full[k], np.full(L, 1.0 / L))
    raw = data.arrivals.values[a0 - H : a0 + T] * config.arrival_scale
    if raw.ndim == 1:
        counts = _split_types(rng, _draw_counts(rng, raw, config.arrival_noise), station.type_shares)
        expected = raw[:, None] * station.type_shares[None, :]
    else:
        counts = _draw_counts(rng, raw, config.arrival_noise)
        expected = raw
    prices = data.prices.values[p0 : p0 + T + W - 1] / 1000.0
    if config.stock_value_per_kwh is None:
        value = prices[:T].mean() / station.charge_efficiency + station.degradation_eur_per_kwh
    else:
        value = np.full(K, float(config.stock_value_per_kwh))
    return SwapStationInstance(
        station=station, episode_hours=T, price_lookahead_hours=W,
        start=_iso_at(data.arrivals, a0), price_start=_iso_at(data.prices, p0),
        hour_of_day=data.arrivals.hour_of_day[a0 : a0 + T].copy(),
        weekday=data.arrivals.weekday[a0 : a0 + T].copy(),
        price_per_kwh=prices.astype(np.float64),
        arrival_history=counts[:H].astype(np.int64), arrivals=counts[H:].astype(np.int64),
        expected_arrivals=np.asarray(expected[H:], dtype=np.float64), initial_levels=levels,
        stock_value_per_kwh=np.asarray(value, dtype=np.float64),
    )


def _iso_at(series: HourlySeries, index: int) -> str:
    return (datetime.fromisoformat(series.start) + timedelta(hours=index)).isoformat()
