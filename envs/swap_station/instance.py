"""Problem data of the swap station: the static station parameters and, per episode,
the prices, arrivals and initial stock drawn at ``reset``.

``StationParams`` is everything a planner needs to model a transition (it is built
once from the config); ``SwapStationInstance`` adds one episode's data. Fields marked
*oracle* hold the future: only policies labelled ``oracle=True`` may read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

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
    knows price_per_kwh[t : t + W]. arrival_history (a property): (H, K) observed arrivals
    of the H hours before the episode. arrivals: (T, K) *oracle* — the riders who will
    arrive. expected_arrivals: (T, K) *oracle* — the scaled data counts they were drawn
    around. initial_levels: (K, L + 1) packs per SoC level at the start.
    stock_value_per_kwh: (K,) EUR/kWh credited for the stored energy gained over the
    episode (see the config). history: the (H, K) arrival history, or what draws it on
    first use (``EpisodeSampler.instance``: only planners read the older hours, so a reset
    does not draw them).
    """

    station: StationParams
    episode_hours: int
    price_lookahead_hours: int
    start: str
    price_start: str
    hour_of_day: np.ndarray
    weekday: np.ndarray
    price_per_kwh: np.ndarray
    history: np.ndarray | tuple
    arrivals: np.ndarray
    expected_arrivals: np.ndarray
    initial_levels: np.ndarray
    stock_value_per_kwh: np.ndarray

    @property
    def arrival_history(self) -> np.ndarray:
        """(H, K) observed arrivals of the H hours before the episode, oldest first."""
        h = self.history
        if not isinstance(h, np.ndarray):  # (sampler, arrival start, seed uniform, recent hours)
            h = h[0].full_history(*h[1:])
            object.__setattr__(self, "history", h)
        return h

    def __getstate__(self) -> dict:
        self.arrival_history  # noqa: B018 - a pickle holds the numbers, not the sampler
        return self.__dict__

    def known_prices(self, t: int, hours: int | None = None) -> np.ndarray:
        """Prices (EUR/kWh) known at hour t: hours t .. t + W - 1 (fewer near the episode end
        if ``hours`` asks for less)."""
        w = self.price_lookahead_hours if hours is None else min(hours, self.price_lookahead_hours)
        return self.price_per_kwh[t : t + w]

    def observed_arrivals(self, t: int, hours: int) -> np.ndarray:
        """(hours, K) arrivals observed before hour t (history, then the episode's hours < t)."""
        past = np.concatenate([self.arrival_history, self.arrivals[:t]], axis=0)
        return past[-hours:]


class EpisodeSampler:
    """Draws episodes from uniforms, for one env or a batch of them.

    Every random quantity of an episode is a fixed function of ``n_uniforms`` numbers drawn
    uniformly in [0, 1) (``rng.random(n_uniforms)``), so the single env and the vectorised
    env (``swap_station/vector.py``) draw identical episodes for the same seed, and the
    vectorised env turns a whole batch of resets into array operations. Layout of one row:

    - ``[0]`` arrival day (uniform over the split's midnights); ``[1]`` price day (uniform
      over the price series' midnights of the same weekday);
    - ``[2 : 2 + B]`` one per pack (B = all packs, type by type): with f =
      ``initial_full_fraction``, u >= 1 - f is full, else level floor(u L / (1 - f)) —
      full with probability f, else uniform over 0..L-1;
    - then ``C + S`` per hour of the last ``RECENT_HOURS`` of history and the episode (what
      an observation shows). ``C`` for the count noise (1 for a total series, K for per-type
      columns): "round" adds 1 to the floor of the scaled count when the uniform is below its
      fractional part, "poisson" takes the Poisson quantile. ``S`` = K - 1 for a total series
      (0 for per-type columns) split the total across the types: a multinomial drawn as
      conditional binomials by inverse CDF;
    - last, the seed of the older history: its hours' uniforms come from
      ``history_uniforms``, a generator seeded from this number, so an env, which never
      shows them, skips them at no cost (the single env's instance draws them when a
      planner first reads ``arrival_history``).

    Everything that depends only on the arrival day or the price day (calendar, price window,
    stock value, ISO times) is tabulated per candidate day at construction.
    """

    RECENT_HOURS = 24

    def __init__(self, config: SwapStationConfig, station: StationParams, data: StationData) -> None:
        self.config, self.station, self.data = config, station, data
        T, H, W = config.episode_hours, config.arrival_history_hours, config.price_lookahead_hours
        K, L = station.n_types, station.n_levels
        self.n_packs = int(station.n_batteries.sum())
        self.pack_type = np.repeat(np.arange(K), station.n_batteries)
        f = float(config.initial_full_fraction)
        self._level_scale = None if f >= 1.0 else L / (1.0 - f)
        values = data.arrivals.values
        self.per_type = values.ndim == 2
        self.noise_cols = K if self.per_type else 1
        self.split_cols = 0 if self.per_type else K - 1
        self.hours = H + T
        self._hours_at = 2 + self.n_packs
        per_hour = self.noise_cols + self.split_cols
        self._old_hours = H - self.RECENT_HOURS  # history hours no observation shows
        self.n_uniforms = self._hours_at + (self.RECENT_HOURS + T) * per_hour + 1
        self.raw = values * config.arrival_scale  # scaled counts of the whole series
        self.raw_floor = np.floor(self.raw)
        self.raw_frac = self.raw - self.raw_floor
        self._raw_floor_int = self.raw_floor.astype(np.int64)
        # type-major copies ((K, hours) for per-type columns) for the draws
        self._raw_t, self._raw_frac_t = np.ascontiguousarray(self.raw.T), np.ascontiguousarray(self.raw_frac.T)
        self._raw_floor_int_t = np.ascontiguousarray(self._raw_floor_int.T)
        starts = data.price_starts_by_weekday
        self.price_start_count = np.array([len(p) for p in starts])
        self.price_start_table = np.zeros((7, self.price_start_count.max()), dtype=np.int64)
        for d, p in enumerate(starts):
            self.price_start_table[d, : len(p)] = p
        # per candidate arrival day (index into data.arrival_starts): weekday, calendar
        a_starts = data.arrival_starts
        self._start_weekday = data.arrivals.weekday[a_starts]
        days = a_starts[:, None] + np.arange(T)
        self.hour_of_day_by_start = data.arrivals.hour_of_day[days]  # (n_starts, T)
        self.weekday_by_start = data.arrivals.weekday[days]
        # per price hour: EUR/kWh, and the stock value of an episode whose prices start there
        self.prices_kwh = data.prices.values / 1000.0
        self._price_hours = np.arange(T + W - 1)
        self._recent_hours = np.arange(H - self.RECENT_HOURS, H + T) - H  # relative to the start
        self._all_hours = np.arange(H + T) - H
        self._value_by_price = self._value_constant = None
        if config.stock_value_per_kwh is None:
            self._value_by_price = np.zeros((len(self.prices_kwh), K))
            candidates = np.unique(self.price_start_table)
            self._value_by_price[candidates] = self._stock_value(self.prices_kwh[candidates[:, None] + self._price_hours])
        else:
            self._value_constant = np.full(K, float(config.stock_value_per_kwh))
        expected = self.raw[days]  # (n_starts, T[, K]): the scaled counts riders are drawn around
        self._expected_by_start = expected if self.per_type else expected[..., None] * station.type_shares
        for table in (self.hour_of_day_by_start, self.weekday_by_start, self.prices_kwh, self._value_by_price,
                      self._value_constant, self._expected_by_start):
            if table is not None:  # episodes hold read-only views of these
                table.flags.writeable = False
        self._iso: dict[tuple[int, int], str] = {}
        self._window_views: dict[tuple[int, int], np.ndarray] = {}
        # conditional share of each split stage: type s among types s..K-1
        shares = station.type_shares
        rest = np.cumsum(shares[::-1])[::-1]
        self.stage_p = np.clip(np.divide(shares, rest, out=np.zeros(K), where=rest > 0), 0.0, 1.0)[: K - 1]
        self._cdf_n = -1
        self._grow_split_table(int(self.raw_floor.max()) + 1)

    _GUIDE = 2048  # guide-table cells per total (a power of two: u * G is exact)

    def _stock_value(self, prices: np.ndarray) -> np.ndarray:
        """(N, K) EUR/kWh credited for stored energy: the episode's mean price / charge
        efficiency + the degradation cost, for price windows (N, T + W - 1)."""
        st, T = self.station, self.config.episode_hours
        return prices[:, :T].mean(-1)[:, None] / st.charge_efficiency + st.degradation_eur_per_kwh

    def iso(self, series: int, index: int) -> str:
        """ISO-8601 time of hour ``index`` of the arrival (series 0) or price (1) series."""
        key = (series, index)
        text = self._iso.get(key)
        if text is None:
            text = self._iso[key] = iso_at(self.data.prices if series else self.data.arrivals, index)
        return text

    def _pack_cells(self, N: int) -> np.ndarray:
        """(N, B) offset of each pack's (env, type) block in the flat (N, K, L + 1) counts."""
        if getattr(self, "_cells_n", None) != N:
            K, L = self.station.n_types, self.station.n_levels
            self._cells = (np.arange(N)[:, None] * K + self.pack_type) * (L + 1)
            self._cells_n = N
        return self._cells

    def _grow_split_table(self, n_max: int) -> None:
        """Binomial CDF tables of the split stages for totals 0..n_max, and a guide table:
        for each total and cell g of [g / G, (g + 1) / G), the quantile of every uniform in
        the cell if they all share one, else -1 - (the quantile at g / G), where the search
        starts. Entries are computed one by one with ``math`` (no SIMD), so a table grown to
        any size holds the same numbers and every env inverts identically."""
        if n_max <= self._cdf_n:
            return
        n_max = max(n_max, 2 * self._cdf_n)
        self._cdf_n = n_max
        width, G = n_max + 1, self._GUIDE
        grid = np.arange(G + 1) / G
        self._cdf_flat, self._guide_flat = [], []
        for p in self.stage_p.tolist():
            table = np.ones((width, width))
            guide = np.empty((width, G), dtype=np.int16 if width < 2**15 else np.int32)
            for n in range(width):
                table[n, : n + 1] = _binomial_cdf_row(n, p)
                q = np.searchsorted(table[n], grid)  # quantile at each cell edge
                lo, hi = q[:-1], np.minimum(q[1:], n)
                guide[n] = np.where(lo == hi, lo, -1 - lo)
            self._cdf_flat.append(table.ravel())
            self._guide_flat.append(guide.ravel())

    def _binomial_quantile(self, stage: int, total: np.ndarray, cell: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Smallest x with P(Binomial(total, p_stage) <= x) >= u, elementwise; ``cell`` is
        floor(u * G)."""
        width = self._cdf_n + 1
        cell = cell + total * self._GUIDE
        x = self._guide_flat[stage].take(cell)
        todo = np.flatnonzero(x < 0)  # cells with a step of the CDF inside (rare)
        if len(todo):
            # walk up from the quantile at the cell's left edge while the CDF is below u
            # (at most the steps inside the cell, usually one)
            row = total.take(todo) * width
            at = row - 1 - x.take(todo)
            uu, cdf = u.take(todo), self._cdf_flat[stage]
            below = cdf.take(at) < uu
            while below.any():
                at += below
                below = cdf.take(at) < uu
            x.put(todo, at - row)
        return x

    def history_uniforms(self, seed_uniform: float) -> np.ndarray:
        """The uniforms of the older history hours, from the row's last uniform."""
        per_hour = self.noise_cols + self.split_cols
        rng = np.random.Generator(np.random.PCG64(int(seed_uniform * 2.0**53)))
        return rng.random(self._old_hours * per_hour)

    def _split_types(self, totals: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Per-type counts (K, ...) of ``totals`` (...) split by the type shares, from K - 1
        uniforms (K - 1, ...): type s gets Binomial(what is left, its conditional share)."""
        K = self.station.n_types
        if self.config.arrival_noise == "poisson":  # rounded counts never pass the table's first size
            self._grow_split_table(int(totals.max(initial=0)))
        cells = (u * self._GUIDE).astype(np.int64)
        out = np.empty((K, *totals.shape), dtype=np.int64)
        left = totals
        for s in range(K - 1):
            x = self._binomial_quantile(s, left, cells[s], u[s])
            out[s] = x
            left = left - x
        out[K - 1] = left
        return out

    def _counts(self, first: np.ndarray | int, block: np.ndarray) -> np.ndarray:
        """Arrivals (K, ..., h) of the h arrival-series hours from ``first`` (...) on, from
        their uniforms ``block`` (C + S, ..., h): count noise, then the split across types.
        (Type- and stage-major: every numpy pass runs over contiguous memory.)"""
        h = block.shape[-1]
        noise = block[: self.noise_cols]
        if not self.per_type:
            noise = noise[0]
        if self.config.arrival_noise == "poisson":
            from scipy.stats import poisson

            raw = self._windows(self._raw_t, h)[..., first, :]
            counts = np.maximum(poisson.ppf(noise, raw), 0).astype(np.int64)  # ppf(0) is -1
        else:
            floor, frac = self._windows(self._raw_floor_int_t, h), self._windows(self._raw_frac_t, h)
            counts = floor[..., first, :] + (noise < frac[..., first, :])
        return counts if self.per_type else self._split_types(counts, block[self.noise_cols :])

    def _windows(self, series: np.ndarray, h: int) -> np.ndarray:
        """Read-only sliding windows of h hours of a (..., hours) table (a view, kept per h):
        row i is hours i .. i + h - 1, so an episode's hours are one row."""
        key = (id(series), h)
        view = self._window_views.get(key)
        if view is None:
            view = self._window_views[key] = sliding_window_view(series, h, axis=-1)
        return view

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_window_views"] = {}  # views: rebuilt on use, not pickled as copies
        return state

    def draw(self, u: np.ndarray, recent_only: bool = False) -> dict[str, np.ndarray]:
        """Episodes for the uniforms ``u`` (N, n_uniforms). With ``recent_only`` arrivals
        cover only the last RECENT_HOURS of history and the episode (what the envs need),
        else all H + T hours. Returns per-env arrays: arrival_start (N,), start_pick (N,)
        (its index in ``data.arrival_starts``), price_start (N,), levels (N, K, L+1),
        arrivals (N, h, K) int64 (h = H + T, or RECENT_HOURS + T). What depends only on the
        days is in the tables: ``hour_of_day_by_start[start_pick]``,
        ``weekday_by_start[start_pick]`` (T,), ``prices_kwh[price_start + t]`` (EUR/kWh, t <
        T + W - 1) and ``stock_value(price_start)`` (K,)."""
        st, data = self.station, self.data
        K, L = st.n_types, st.n_levels
        N = len(u)
        n_starts = len(data.arrival_starts)
        pick = np.minimum((u[:, 0] * n_starts).astype(np.int64), n_starts - 1)
        a0 = data.arrival_starts[pick]
        weekday0 = self._start_weekday[pick]
        n_p = self.price_start_count[weekday0]
        p0 = self.price_start_table[weekday0, np.minimum((u[:, 1] * n_p).astype(np.int64), n_p - 1)]
        # initial stock: per-pack level, counted per (env, type, level)
        B = self.n_packs
        if self._level_scale is None:
            level = np.full((N, B), L, dtype=np.int64)
        else:
            level = (u[:, 2 : 2 + B] * self._level_scale).astype(np.int64)
            np.minimum(level, L, out=level)
        level += self._pack_cells(N)
        levels = np.bincount(level.ravel(), minlength=N * K * (L + 1)).reshape(N, K, L + 1)
        # arrivals
        per_hour = self.noise_cols + self.split_cols
        block = u[:, self._hours_at : -1].reshape(N, -1, per_hour)
        if recent_only:
            hours = self._recent_hours
        else:
            hours = self._all_hours
            old = np.stack([self.history_uniforms(x) for x in u[:, -1]])
            block = np.concatenate([old.reshape(N, self._old_hours, per_hour), block], axis=1)
        block = np.ascontiguousarray(block.transpose(2, 0, 1))  # (C + S, N, h)
        arrivals = self._counts(a0 + hours[0], block).transpose(1, 2, 0)  # (N, h, K) view of (K, N, h)
        return {"arrival_start": a0, "start_pick": pick, "price_start": p0, "levels": levels, "arrivals": arrivals}

    def stock_value(self, price_start: np.ndarray | int) -> np.ndarray:
        """EUR/kWh credited for stored energy, (..., K), of episodes whose prices start at
        ``price_start`` (...) (read-only)."""
        if self._value_by_price is not None:
            return self._value_by_price[price_start]
        return np.broadcast_to(self._value_constant, (*np.shape(price_start), self.station.n_types))

    def full_history(self, a0: int, seed_uniform: float, recent: np.ndarray) -> np.ndarray:
        """(H, K) arrival history of an episode starting at ``a0``: the older hours drawn from
        ``seed_uniform`` (``history_uniforms``), then the ``recent`` (RECENT_HOURS, K) ones."""
        per_hour = self.noise_cols + self.split_cols
        block = self.history_uniforms(seed_uniform).reshape(self._old_hours, per_hour).T
        old = self._counts(a0 + self._all_hours[0], block)  # (K, old hours)
        return np.concatenate([old.T, recent], axis=0)

    def instance(self, u: np.ndarray, d: dict[str, np.ndarray] | None = None) -> SwapStationInstance:
        """The episode of one row of uniforms ``u`` (n_uniforms,); ``d``: its ``draw`` if
        already made (``draw(u[None], recent_only=True)``)."""
        c, st = self.config, self.station
        T, R = c.episode_hours, self.RECENT_HOURS
        if d is None:
            d = self.draw(u[None, :], recent_only=True)
        a0, p0, pick = int(d["arrival_start"][0]), int(d["price_start"][0]), int(d["start_pick"][0])
        counts = d["arrivals"][0]
        # the day's data: read-only views of the tables
        return SwapStationInstance(
            station=st, episode_hours=T, price_lookahead_hours=c.price_lookahead_hours,
            start=self.iso(0, a0), price_start=self.iso(1, p0),
            hour_of_day=self.hour_of_day_by_start[pick], weekday=self.weekday_by_start[pick],
            price_per_kwh=self.prices_kwh[p0 : p0 + T + c.price_lookahead_hours - 1],
            history=(self, a0, float(u[-1]), counts[:R]), arrivals=counts[R:],
            expected_arrivals=self._expected_by_start[pick], initial_levels=d["levels"][0],
            stock_value_per_kwh=self.stock_value(p0),
        )


def sample_instance(config: SwapStationConfig, station: StationParams, data: StationData,
                    rng: np.random.Generator, sampler: EpisodeSampler | None = None) -> SwapStationInstance:
    """Draw one episode: the arrival day (uniform over the split), a price day of the same
    weekday, the initial stock and the arrivals — from ``sampler.n_uniforms`` uniforms of
    ``rng`` (see :class:`EpisodeSampler`). Pass a ``sampler`` to reuse its tables."""
    sampler = EpisodeSampler(config, station, data) if sampler is None else sampler
    return sampler.instance(rng.random(sampler.n_uniforms))


def _binomial_cdf_row(n: int, p: float) -> list[float]:
    """P(X <= x) for x = 0..n, X ~ Binomial(n, p)."""
    if p <= 0.0:
        return [1.0] * (n + 1)
    if p >= 1.0:
        return [0.0] * n + [1.0]
    log_p, log_q, lf = math.log(p), math.log1p(-p), math.lgamma(n + 1)
    out, acc = [], 0.0
    for x in range(n + 1):
        acc += math.exp(lf - math.lgamma(x + 1) - math.lgamma(n - x + 1) + x * log_p + (n - x) * log_q)
        out.append(min(acc, 1.0))
    out[-1] = 1.0
    return out


def iso_at(series: HourlySeries, index: int) -> str:
    """ISO-8601 time of hour ``index`` of ``series``."""
    return (datetime.fromisoformat(series.start) + timedelta(hours=index)).isoformat()
