"""``swapgym/SwapStation-v0``: a motorcycle battery-swap station under real-time prices."""

from __future__ import annotations

from operator import add
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from swapgym.envs.core.config import build_config
from swapgym.envs.swap_station.config import SwapStationConfig
from swapgym.envs.swap_station.dynamics import (
    SwapStationState,
    Transition,
    TransitionTables,
    action_bounds,
    hour_money,
    hour_of_types,
    profit,
    step_info,
    stock_value_of_types,
)
from swapgym.envs.swap_station.instance import (
    EpisodeSampler,
    StationData,
    SwapStationInstance,
    build_station,
    load_data,
)

RECENT_HOURS = 24
PRICE_BOUND = 10.0  # EUR/kWh; observed prices are clipped to +-this
ARRIVAL_BOUND = 1.0e4

METRIC_NAMES = (
    "profit_eur", "swap_revenue_eur", "lost_swap_penalty_eur", "energy_cost_eur", "degradation_cost_eur",
    "stock_value_change_eur",
    "arrivals", "swaps_served", "swaps_lost", "batteries_provided", "service_level",
    "energy_bought_kwh", "energy_sold_kwh", "energy_charged_kwh", "peak_grid_power_kw", "solver_fallbacks",
)
_METRIC_INDEX = {name: i for i, name in enumerate(METRIC_NAMES)}
_PEAK = _METRIC_INDEX["peak_grid_power_kw"]
_FLOAT32 = np.dtype(np.float32)


class SwapStationEnv(gym.Env):
    """Battery-swap station for electric motorcycles with heterogeneous battery types.

    ## Description
    One station owns ``n_batteries[k]`` packs of each of K types (different capacities).
    Every hour riders of each type arrive and swap their depleted pack for a full one of
    their type; with no full pack of that type the swap is lost. The operator decides each
    hour how many packs of each type to charge (and, with ``allow_discharge``, to discharge
    to the grid), paying the hourly day-ahead price and a battery degradation cost. The
    goal is maximum profit. Defaults use real data: SMARD German day-ahead prices (2018)
    and hourly EV arrivals from ACN-Data (Caltech + JPL, 2019). The physics — order of
    events, which packs are charged, money — is in ``swap_station/dynamics.py``.

    ## Action Space
    ``MultiDiscrete`` with K * L entries, entry ``k * L + l`` = packs of type k at SoC level
    l < L to charge this hour, each in 0..n_chargers[k]. With ``allow_discharge`` another
    K * L entries follow: entry ``K * L + k * L + j`` = packs of type k at level j + 1 to
    discharge. Choosing levels (not just counts) lets a planner keep low packs for cheap
    hours; the MILP baselines use the same action, so their plans replay exactly.
    ``action_masks()`` (sb3-contrib format) allows at most the packs at each level (and the
    bays); requests of a type beyond its bays are cut from the lowest levels (discharge
    gets the bays left after charging). An action outside the space raises ValueError.
    ``env.unwrapped.action_from_counts(charge, discharge)`` builds an action from (K, L)
    arrays.

    ## Observation Space
    ``Dict``:

    | key | shape | unit / meaning |
    |---|---|---|
    | time | (3,) | hour of day / 24, weekday / 7 (Monday = 0), hours elapsed / episode_hours |
    | price | (W,) | EUR/kWh known day-ahead prices for hours t .. t+W-1 (W = price_lookahead_hours) |
    | stock | (K*(L+1),) | packs of type k at SoC level l at index k*(L+1)+l (level l = l/L of full_soc) |
    | recent_arrivals | (K*24,) | riders of type k in each of the last 24 hours at k*24.., oldest first |

    (Flat vectors so SB3's MultiInputPolicy takes them as they are.)

    A forecaster wrapper (``swapgym.baselines.forecasting.ForecastObservation``) adds
    ``forecast`` (K, H): predicted arrivals for the next H hours.

    ## Rewards
    Profit of the hour in EUR: swap revenue − lost-swap penalty − energy cost −
    degradation cost; on the last hour also the value of the stored energy gained over the
    episode (``stock_value_per_kwh``; keeps a finite episode from rewarding a drained
    stock). ``info["reward_breakdown"]`` has the five terms (signed, summing to the reward).

    ## Starting State
    A random midnight in the configured ``split`` of the arrival series, a price day of the
    same weekday, and packs full with probability ``initial_full_fraction`` (else at a
    uniform lower level). All drawn from ``reset(seed=...)``; arrivals are drawn at reset
    too, so every policy sees the same riders for a seed. Every draw is a fixed function of
    one row of uniforms from ``np_random`` (``instance.EpisodeSampler``), shared with the
    vectorised env.

    ## Vectorised
    ``gym.make_vec("swapgym/SwapStation-v0", num_envs=N)`` (or with
    ``vectorization_mode="vector_entry_point"``) returns the native batched
    :class:`~swapgym.envs.swap_station.vector.SwapStationVectorEnv`: N stations stepped with
    array operations by the same ``dynamics.hour`` / ``hour_money``; sub-env i equals this env seeded
    ``seed + i``. Use ``vectorization_mode="sync"`` for wrappers around the single env.

    ## Episode End
    ``terminated`` after ``episode_hours`` (default 24) steps. No truncation.

    ## Info
    Every step: ``reward_breakdown``, ``profit_eur`` (the registry's key quantity),
    ``swaps_served``, ``swaps_lost``, ``arrivals``, ``full_batteries``,
    ``energy_bought_kwh``, ``energy_sold_kwh``, ``grid_power_kw``, ``price_per_kwh``.
    The last step adds ``episode_metrics`` (same as ``episode_metrics()``).

    ## Arguments
    ``gym.make("swapgym/SwapStation-v0", **fields)`` with any field of
    :class:`SwapStationConfig` (e.g. ``price_csv=PATH, arrivals_csv=PATH``).

    ## Reference
    N. E. Fauziah, M. Z. Romdlony, A. Muharam, F. Yakub, "RHO–LSTM-based optimal scheduling
    at the motorcycle battery swapping station under battery heterogeneity" (2025);
    A. Shalaby et al., IEEE T-ITS 23 (9) (2022); J. Wang et al., J. Power Sources 196 (8) (2011).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: SwapStationConfig | dict | None = None, render_mode: str | None = None,
                 **overrides: Any) -> None:
        self.config: SwapStationConfig = build_config(SwapStationConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.data: StationData = load_data(self.config)
        shares = None
        if self.data.arrivals.values.ndim == 2:  # per-type columns: shares from the data
            totals = self.data.arrivals.values.sum(0)
            shares = totals / totals.sum() if totals.sum() > 0 else None
        self.station = build_station(self.config, shares)
        self._tables = TransitionTables(self.station)
        c, st = self.config, self.station
        K, L = st.n_types, st.n_levels
        nvec = [int(n) + 1 for n in st.n_chargers for _ in range(L)]
        if st.allow_discharge:
            nvec = nvec + nvec
        self.action_space = spaces.MultiDiscrete(np.array(nvec, dtype=np.int64))
        self._nvec = self.action_space.nvec
        self.observation_space = spaces.Dict({
            "time": spaces.Box(0.0, 1.0, (3,), np.float32),
            "price": spaces.Box(-PRICE_BOUND, PRICE_BOUND, (c.price_lookahead_hours,), np.float32),
            "stock": spaces.Box(0.0, float(st.n_batteries.max()), (K * (L + 1),), np.float32),
            "recent_arrivals": spaces.Box(0.0, ARRIVAL_BOUND, (K * RECENT_HOURS,), np.float32),
        })
        self._mask_index = np.arange(int(self._nvec.max()))
        self._mask_select = self._mask_index[None, :] < self._nvec[:, None]  # (D, max nvec)
        self._mask_all = bool(self._mask_select.all())
        # row b of this table is the mask "0..b allowed"; one void item per row, so a mask is one take
        rows = np.ascontiguousarray(self._mask_index[None, :] <= self._mask_index[:, None])
        self._mask_rows = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
        self._nvec_u64 = self._nvec.astype(np.uint64)
        # equal caps (all bays the same): the caps are the table's last row, so a "clip" take applies them
        self._mask_clip = bool((self._tables.bound_cap == len(rows) - 1).all())
        self._nvec_list = self._nvec.tolist()
        self._sampler = EpisodeSampler(self.config, self.station, self.data)
        # hour_of_types' outputs: the new levels, and per type (columns) charged, discharged and the
        # counts (rows 2 L ..: levels gained, levels lost, swaps, lost swaps, full packs)
        self._levels_shape, self._out_shape, self._out_counts = (K, L + 1), (2 * L + 5, K), slice(2 * L, None)
        self._action_shape = self._nvec.shape
        # the observation tables of every start day
        T = c.episode_hours
        self._time_by_start = episode_time(self._sampler.hour_of_day_by_start, self._sampler.weekday_by_start, T)
        self._prices32_series = np.clip(self._sampler.prices_kwh, -PRICE_BOUND, PRICE_BOUND).astype(np.float32)
        W = c.price_lookahead_hours
        self._price_shape, self._price_strides = (T, W), (4, 4)  # windows of the float32 price series
        self._recent_shape = (T + 1, K, RECENT_HOURS)  # windows of a (K, 24 + T) float32 array
        self._recent_strides = (4, 4 * (RECENT_HOURS + T), 4)
        self._obs_time, self._obs_price = slice(0, 3), slice(3, 3 + W)  # columns of the table ("stock"
        self._obs_recent = slice(3 + W, 3 + W + K * RECENT_HOURS)  # is not in it)
        self._obs_width = 3 + W + K * RECENT_HOURS
        self._int64 = np.dtype(np.int64)
        self._nvec_min = int(self._nvec.min()) if len(set(self._nvec_list)) == 1 else 0  # 0: not all equal
        self.instance: SwapStationInstance | None = None
        self.state: SwapStationState | None = None
        self._acc: list[float] = [0.0] * len(METRIC_NAMES)  # running episode metrics, METRIC_NAMES order
        self._profit_trace: list[float] = []

    # --- gymnasium API ---------------------------------------------------------------

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        u = self.np_random.random(self._sampler.n_uniforms)
        d = self._sampler.draw(u[None, :], recent_only=True)
        inst = self.instance = self._sampler.instance(u, d)
        self.state = SwapStationState(t=0, levels=inst.initial_levels.copy())
        T = inst.episode_hours
        # what the steps read, built once per episode: prices and arrivals as Python lists, and
        # the observation's "time", "price" and "recent_arrivals" of every hour t as row t of
        # one float32 table (a step copies the row once)
        self._price_list = inst.price_per_kwh[:T].tolist()
        self._arrivals = np.ascontiguousarray(inst.arrivals, dtype=np.int64)  # (T, K)
        table = self._obs_table = np.empty((T + 1, self._obs_width), dtype=np.float32)
        table[:, self._obs_time] = self._time_by_start[int(d["start_pick"][0])]
        prices = self._prices32_series  # hour t < T shows t .. t + W - 1, hour T the same as T - 1
        table[:T, self._obs_price] = np.ndarray(self._price_shape, np.float32, prices, 4 * int(d["price_start"][0]),
                                                self._price_strides)
        table[T, self._obs_price] = table[T - 1, self._obs_price]
        seen = d["arrivals"][0].T.astype(np.float32, order="C")  # recent history and episode, (K, 24 + T)
        np.minimum(seen, ARRIVAL_BOUND, out=seen)  # (exact: counts below 2**24 are exact in float32)
        # hour t shows seen[:, t : t + 24]: a strided view of every hour's window
        table[:, self._obs_recent].reshape(self._recent_shape)[...] = np.ndarray(
            self._recent_shape, np.float32, seen, 0, self._recent_strides)
        self._acc = [0.0] * len(METRIC_NAMES)
        self._profit_trace = []
        self._last = None
        return self._obs(0, self.state.levels), {"start": inst.start, "price_start": inst.price_start}

    def step(self, action):
        state = self.state
        if state is None:
            raise RuntimeError("SwapStationEnv: call reset() before step()")
        t = state.t
        prices = self._price_list
        if t >= len(prices):
            raise RuntimeError("SwapStationEnv: episode is over; call reset()")
        a, lv, tb = self._action_array(action), state.levels, self._tables
        if type(lv) is not np.ndarray or lv.dtype != self._int64 or lv.shape != self._levels_shape:
            lv = self._levels_array(lv)  # (levels set from outside)
        # the physics: dynamics.hour of every type (compiled; checks the action's range), then
        # the money of the hour on Python numbers
        levels, out = np.empty(self._levels_shape, self._int64), np.empty(self._out_shape, self._int64)
        if hour_of_types(lv, a, self._arrivals[t], tb.compiled_params, levels, out):
            self._check_action(action)  # raises: an entry outside the space
        gained, dropped, swaps, lost, full = out[self._out_counts].tolist()
        price = prices[t]
        money = hour_money(tb, price, gained, dropped, swaps, lost, tb.discharging)
        stored, _, bought, sold, revenue, penalty, energy, degradation = money
        state.levels = levels
        state.t = t = t + 1
        terminated = t >= len(prices)
        stock_value = 0.0
        if terminated:  # dynamics.stock_value_change, on the Python numbers
            inst = self.instance
            stock_value = stock_value_of_types(tb.level_kwh_list, inst.stock_value_per_kwh.tolist(),
                                               inst.initial_levels.tolist(), levels.tolist())
        reward = profit(revenue, penalty, energy, degradation, stock_value)
        served, n_lost = sum(swaps), sum(lost)
        arrivals, grid = served + n_lost, bought - sold
        # episode metrics: every running sum advanced at once (in METRIC_NAMES order; the same
        # float additions as one "+=" per metric), then the peak
        acc = self._acc = list(map(add, self._acc, (
            reward, revenue, penalty, energy, degradation, stock_value, arrivals, served, n_lost, served,
            0, bought, sold, sum(stored), 0, 0)))
        if grid > acc[_PEAK]:
            acc[_PEAK] = grid
        self._profit_trace.append(reward)
        self._last = (levels, out, swaps, lost, money)
        info = step_info(revenue, penalty, energy, degradation, stock_value, reward, served, n_lost, arrivals,
                         sum(full), bought, sold, grid, price)
        if terminated:
            info["episode_metrics"] = self.episode_metrics()
        return self._obs(t, levels), reward, terminated, False, info

    def _action_array(self, action) -> np.ndarray:
        """The action as a contiguous int64 (D,) array. The common case (already one) is
        returned as it is and its range checked by ``hour_of_types``; anything else is
        checked here."""
        if type(action) is np.ndarray and action.shape == self._action_shape \
                and (action.dtype is self._int64 or action.dtype == self._int64) and action.flags.c_contiguous:
            return action
        return np.ascontiguousarray(self._check_action(action), dtype=self._int64)

    def _levels_array(self, levels) -> np.ndarray:
        lv = np.asarray(levels, dtype=self._int64)
        if lv.shape != self._levels_shape:  # (the compiled hour does not check its indices)
            raise ValueError(f"state.levels: expected shape {self._levels_shape}, got {lv.shape}")
        return lv

    def _check_action(self, action) -> np.ndarray:
        a = np.asarray(action)
        if a.shape != self._nvec.shape:
            raise ValueError(f"action: expected shape {self._nvec.shape} (MultiDiscrete{self._nvec.tolist()}), "
                             f"got {a.shape}")
        if a.dtype.kind not in "iu":
            if a.dtype.kind != "f" or not np.all(a == np.round(a)):
                raise ValueError(f"action: expected integers, got {action!r}")
            a = a.astype(np.int64)
        bad = (a.view(np.uint64) >= self._nvec_u64).any() if a.dtype == np.int64 \
            else (a.min() < 0 or (a >= self._nvec).any())  # as uint64, negatives are huge
        if bad:
            raise ValueError(f"action: each entry must be in 0..nvec-1 = {(self._nvec - 1).tolist()}, got {a.tolist()}")
        return a

    def _obs(self, t: int, levels: np.ndarray) -> dict[str, np.ndarray]:
        """The observation of hour t with the stock ``levels`` (K, L + 1)."""
        row = self._obs_table[t].copy()  # "time", "price" and "recent_arrivals" are views of it
        return {"time": row[self._obs_time], "price": row[self._obs_price],
                "stock": levels.ravel().astype(_FLOAT32), "recent_arrivals": row[self._obs_recent]}

    # --- masks, metrics, rendering ----------------------------------------------------

    def action_masks(self) -> np.ndarray:
        """Flat MaskablePPO mask: for each action entry, which counts are allowed."""
        if self._mask_clip:  # every cap is the last row: take's "clip" is the cap of action_bounds
            return self._mask_rows.take(self.state.levels.take(self._tables.bound_index), mode="clip").view(bool)
        rows = self._mask_rows.take(action_bounds(self._tables, self.state.levels)).view(bool)
        return rows if self._mask_all else rows.reshape(len(self._nvec), -1)[self._mask_select]

    def last_transition(self) -> Transition | None:
        """What the last step did, as a :class:`~swapgym.envs.swap_station.dynamics.Transition`
        of (K, ...) arrays (None right after a reset)."""
        if self._last is None:
            return None
        levels, out, swaps, lost, money = self._last
        stored, removed, bought, sold, revenue, penalty, energy, degradation = money
        L = self.station.n_levels
        charged = out[:L].T.copy()  # (K, L)
        return Transition(
            levels=levels.copy(), charged_from=charged,
            discharged_from=np.zeros_like(charged) if removed is None else out[L : 2 * L].T.copy(),
            swaps=np.array(swaps, dtype=np.int64), lost=np.array(lost, dtype=np.int64),
            stored_kwh=np.array(stored), removed_kwh=np.zeros(len(stored)) if removed is None else np.array(removed),
            grid_import_kwh=bought, grid_export_kwh=sold, swap_revenue=revenue, lost_swap_penalty=penalty,
            energy_cost=energy, degradation_cost=degradation)

    def action_from_counts(self, charge: np.ndarray, discharge: np.ndarray | None = None) -> np.ndarray:
        """The flat action for per-level requests ``charge`` (K, L) and ``discharge`` (K, L)."""
        st = self.station
        parts = [np.asarray(charge, dtype=np.int64).reshape(st.n_types * st.n_levels)]
        if st.allow_discharge:
            d = np.zeros((st.n_types, st.n_levels), np.int64) if discharge is None else discharge
            parts.append(np.asarray(d, dtype=np.int64).reshape(-1))
        return np.minimum(np.concatenate(parts), self._nvec - 1)

    def episode_metrics(self) -> dict[str, float]:
        m = dict(zip(METRIC_NAMES, self._acc, strict=True))
        m["service_level"] = m["swaps_served"] / m["arrivals"] if m["arrivals"] > 0 else 1.0
        return {k: float(v) for k, v in m.items()}

    def note_metric(self, name: str, increment: float = 1.0) -> None:
        """Let a planner report an event in the episode metrics (e.g. ``solver_fallbacks``)."""
        if name not in _METRIC_INDEX:
            raise ValueError(f"name: not an episode metric of SwapStation: {name!r}")
        self._acc[_METRIC_INDEX[name]] += increment

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return None
        from swapgym.envs.swap_station.render import render_rgb

        return render_rgb(self)


def episode_time(hour_of_day: np.ndarray, weekday: np.ndarray, T: int) -> np.ndarray:
    """The observation's "time" rows of episodes with calendars (..., T): (..., T + 1, 3)
    float32, row t = (hour of day / 24, weekday / 7, t / T); row T is the hour after the end."""
    time = np.empty((*hour_of_day.shape[:-1], T + 1, 3), dtype=np.float32)
    time[..., :T, 0] = hour_of_day / 24.0
    time[..., :T, 1] = weekday / 7.0
    time[..., :T, 2] = np.arange(T) / T
    time[..., T, 0] = ((hour_of_day[..., -1] + 1) % 24) / 24.0
    time[..., T, 1] = weekday[..., -1] / 7.0
    time[..., T, 2] = 1.0
    return time
