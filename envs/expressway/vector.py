"""Native batched ``swapgym/Expressway-v0``: N days stepped with array operations.

``gym.make_vec("swapgym/Expressway-v0", num_envs=N, vectorization_mode="vector_entry_point")``
returns :class:`ExpresswayVectorEnv`. Sub-env i behaves exactly like
``gym.make("swapgym/Expressway-v0")`` seeded with ``seed + i`` (observations, rewards,
terminations, truncations, infos and masks equal those of a ``SyncVectorEnv`` of such envs,
bit for bit): the hour is the same :func:`~swapgym.envs.expressway.dynamics.step_batch` on a
leading batch axis, each day the same :func:`~swapgym.envs.expressway.instance.draw_day` from
the sub-env's own generator, and eq. (19)'s counterfactual days are the same
:class:`~swapgym.envs.expressway.dynamics.Counterfactuals`, with one played day per sub-env.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from swapgym.envs.core.vector import check_vector_args, reset_indices, sub_env_seeds
from swapgym.envs.expressway import dynamics
from swapgym.envs.expressway.dynamics import (
    B2B_KWH,
    BDC,
    DISPATCHED,
    GRID_KWH,
    PPC,
    SERVED,
    UNSERVED,
)
from swapgym.envs.expressway.env import (
    PLANNER_METRICS,
    ExpresswayEnv,
    _episode_rows,
    count_masks,
    station_sums,
)
from swapgym.envs.expressway.instance import draw_day, make_instance

# per-hour values kept for the episode metrics (summed in hour order, like the single env)
_HOURLY = ("bdc_driving_usd", "unserved_penalty_usd", "terminal_penalty_usd", "grid_kwh",
           "b2b_kwh", "served", "unserved", "released", "released_kwh")
_H = {name: i for i, name in enumerate(_HOURLY)}


class ExpresswayVectorEnv(VectorEnv):
    """N independent Expressway days in one process, stepped as arrays.

    Spaces are the single env's batched: ``action_space`` is ``MultiDiscrete`` with nvec
    (N, D), observations (N, n_obs) float32. Masks, ``info``, autoreset,
    partial resets, truncation and the arguments follow the conventions of
    :mod:`swapgym.envs.core.vector`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, config: Any = None, max_episode_steps: int | None = None,
                 render_mode: str | None = None, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 **overrides: Any) -> None:
        check_vector_args("Expressway", num_envs, max_episode_steps, render_mode, autoreset_mode)
        # one template env: config validation, spaces, price and mask tables, shared by all
        self._template = env = ExpresswayEnv(config, **overrides)
        self.config = c = env.config
        if c.action_mode != "moves":
            raise ValueError(f"action_mode: the vectorised Expressway supports 'moves' only, got "
                             f"{c.action_mode!r} (use gym.make per sub-env for 'station')")
        self.num_envs = N = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.render_mode = None
        self.single_action_space = env.action_space
        self.single_observation_space = env.observation_space
        self.action_space = batch_space(env.action_space, N)
        self.observation_space = batch_space(env.observation_space, N)
        S, L, T = c.n_stations, c.n_levels, c.horizon_h
        C, M = len(c.ev_soc_choices), len(c.release_soc_choices)
        self._layout = lay = env.layout
        self._nvec = lay.nvec
        self._moves_shape = (*lay.moves_shape,)
        # the cost tables follow from the config (the instance's levels come from it too)
        init = np.zeros((S, L), dtype=np.int64)
        init[:, 0] = c.batteries_per_station
        self.tables = dynamics.cost_tables(make_instance(c, init, np.zeros((T, C)), np.zeros((T, M))))
        self._price = np.asarray(env._prices, dtype=float)
        self._price_list = env._price_list
        self._hour_obs = env._hour_obs
        self._release_open = env._release_open
        self._rngs: list[np.random.Generator | None] = [None] * N
        self._arange = np.arange(N)
        self._stock = np.zeros((N, 2, S, L), dtype=np.int64)
        self._t = np.zeros(N, dtype=np.int64)
        self._arrivals = np.zeros((N, T, C), dtype=np.int64)
        self._candidates = np.zeros((N, T, M), dtype=np.int64)
        self._obs_hours = np.zeros((N, *env._obs_hours.shape))
        self._mask_hours = np.zeros((N, *env._mask_hours.shape), dtype=bool)
        self._mask_moves = env._mask_moves
        # what each hour did, for the episode metrics: station block, cost, other values
        self._station_hours = np.zeros((N, T, 4, S))
        self._cost_hours = np.zeros((N, T))
        self._hourly = np.zeros((N, T, len(_HOURLY)))
        self._cf = dynamics.Counterfactuals(c, N) if c.release_counterfactual else None
        self._autoreset = np.zeros(N, dtype=bool)
        self._started = False

    # --- gymnasium API ---------------------------------------------------------------

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        N = self.num_envs
        idx, mask = reset_indices(N, options, self._started)
        seeds = sub_env_seeds(seed, N)
        for i in idx.tolist():
            if seeds[i] is not None or self._rngs[i] is None:
                self._rngs[i], _ = seeding.np_random(seeds[i])
        self._reset_rows(idx)
        self._autoreset[idx] = False
        self._started = True
        return self._obs(), self._reset_info(idx, mask)

    def step(self, actions):
        if not self._started:
            raise RuntimeError("ExpresswayVectorEnv: call reset() before step()")
        c, N = self.config, self.num_envs
        auto = self._autoreset
        if auto.all():  # every sub-env finished last step: reset them all
            self._reset_rows(self._arange)
            auto[:] = False
            zeros = np.zeros(N, dtype=bool)
            return self._obs(), np.zeros(N), zeros, zeros.copy(), self._reset_info(self._arange, None)
        stepping = None if not auto.any() else ~auto
        a = self._check_actions(actions, stepping)
        rows = self._arange if stepping is None else np.flatnonzero(stepping)
        if stepping is not None:
            a = a[rows]
        E = len(rows)
        t = self._t[rows]
        t0 = int(t[0])
        synced = bool((t == t0).all())
        lay = self._layout
        dispatch = dynamics._clamp_dispatch(
            self.tables, self._arrivals[rows, t],
            a[:, lay.n_moves:lay.n_moves + lay.n_dispatch].reshape(E, *lay.dispatch_shape))
        release = None
        if c.n_stations > 1:
            release = np.minimum(a[:, lay.n_moves + lay.n_dispatch:], self._candidates[rows, t])
            if not synced or not self._release_open[t0]:
                release *= self._release_open[t][:, None]  # none in a day's last hour
        moves = a[:, : lay.n_moves].reshape(E, *self._moves_shape)
        hour, price = (t0, self._price_list[t0]) if synced else (t, self._price[t][:, None])
        stock = self._stock[rows]
        if self._cf is None:
            h = dynamics.step_batch(self.tables, c, hour, price, stock[:, 0], stock[:, 1], moves,
                                    dispatch, release)
        else:
            h = self._cf.step(self.tables, hour, stock, moves, dispatch, release, price,
                              None if stepping is None else rows)
        self._stock[rows] = h.stock[:E]
        self._t[rows] = t + 1
        # what the hour did, kept for the episode metrics
        self._station_hours[rows, t] = h.station[:E]
        self._cost_hours[rows, t] = h.cost[:E]
        ssum, esum = h.station_sum[:E], h.evs_sum[:E]
        short = h.terminal_shortfall_kwh
        penalty = np.zeros(E) if h.terminal_penalty is None else h.terminal_penalty[:E]
        hourly = (h.bdc_driving[:E], h.unserved_penalty[:E], penalty, ssum[:, GRID_KWH],
                  ssum[:, B2B_KWH], esum[:, SERVED], esum[:, UNSERVED], h.released[:E],
                  h.released_kwh[:E])
        self._hourly[rows, t] = np.stack(hourly, axis=1)
        breakdown = {"ppc": -ssum[:, PPC], "bdc_station": -ssum[:, BDC],
                     "bdc_driving": -h.bdc_driving[:E], "unserved_penalty": -h.unserved_penalty[:E],
                     "terminal_penalty": -penalty}
        reward = 0.0  # summed in the single env's order (Python's sum starts at 0)
        for value in breakdown.values():
            reward = reward + value
        station, evs = h.station[:E], h.evs[:E]
        info = {
            "hour": t.copy(),
            "grid_power_kw": ssum[:, GRID_KWH] / c.dt_h,
            "grid_power_kw_per_station": station[:, GRID_KWH] / c.dt_h,
            "ppc_usd_per_station": station[:, PPC].copy(),
            "bdc_usd_per_station": station[:, BDC].copy(),
            "b2b_kwh_per_station": station[:, B2B_KWH].copy(),
            "served_per_station": evs[:, SERVED].copy(),
            "unserved_per_station": evs[:, UNSERVED].copy(),
            "dispatched_per_station": evs[:, DISPATCHED].copy(),
            "ppc_usd": ssum[:, PPC].copy(),
            "bdc_usd": ssum[:, BDC].copy(),
            "bdc_driving_usd": h.bdc_driving[:E].copy(),
            "b2b_kwh": ssum[:, B2B_KWH].copy(),
            "served": esum[:, SERVED].copy(),
            "unserved": esum[:, UNSERVED].copy(),
            "released": h.released[:E].copy(),
            "released_kwh": h.released_kwh[:E].copy(),
            "price_per_kwh": self._price[t],
            "reward_breakdown": breakdown,
        }
        new_t = t + 1
        terminated = new_t >= c.horizon_h
        truncated = (new_t >= self.max_episode_steps if self.max_episode_steps is not None
                     else np.zeros(E, dtype=bool))
        info = _expand(info, rows, N)
        if terminated.any():
            ended = rows[terminated]
            saving = self._savings(ended)
            info.update(_expand({
                "terminal_shortfall_kwh": short[:E][terminated],
                "release_saving_usd_per_hour": saving,
                "release_payment_usd_per_hour": c.lambda_release * saving,
                "episode_metrics": self._episode_metrics(ended, saving)}, ended, N))
        reward_n, term_n, trunc_n = np.zeros(N), np.zeros(N, dtype=bool), np.zeros(N, dtype=bool)
        reward_n[rows], term_n[rows], trunc_n[rows] = reward, terminated, truncated
        if stepping is not None:  # the sub-envs that finished last step start a new day
            idx = np.flatnonzero(auto)
            self._reset_rows(idx)
            reset_info = self._reset_info(idx, auto.copy())
            info["hour"][idx] = 0
            info["_hour"][idx] = True
            del reset_info["hour"], reset_info["_hour"]
            info.update(reset_info)
        self._autoreset = term_n | trunc_n
        return self._obs(), reward_n, term_n, trunc_n, info

    def action_masks(self) -> np.ndarray:
        """(N, sum(nvec)) MaskablePPO masks, row i = sub-env i's ``action_masks()``."""
        if not self._started:
            raise RuntimeError("ExpresswayVectorEnv: call reset() before action_masks()")
        mask = np.empty((self.num_envs, int(self._nvec.sum())), dtype=bool)
        count_masks(self._stock[:, 0], self.tables.feasible, self._mask_hours,
                    np.minimum(self._t, self.config.horizon_h - 1), mask)
        return mask

    # --- internals ------------------------------------------------------------------------

    def _check_actions(self, actions, rows: np.ndarray | None) -> np.ndarray:
        a = np.asarray(actions)
        shape = (self.num_envs, len(self._nvec))
        if a.shape != shape:
            raise ValueError(f"actions: expected shape {shape} (one MultiDiscrete row of length "
                             f"{len(self._nvec)} per sub-env), got {a.shape}")
        if a.dtype.kind not in "iu" and (a.dtype.kind != "f" or not np.all(a == np.round(a))):
            raise ValueError(f"actions: expected integers, got dtype {a.dtype}")
        a = a.astype(np.int64)
        bad = ((a < 0) | (a >= self._nvec)).any(axis=1)
        if rows is not None:
            bad &= rows
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"actions: row {i} has an entry outside 0..nvec-1 (MultiDiscrete "
                             f"nvec {self._nvec.tolist()}): {a[i].tolist()}")
        return a

    def _reset_rows(self, idx: np.ndarray) -> None:
        """New days for the sub-envs ``idx`` (the single env's ``reset`` draws)."""
        if not len(idx):
            return
        c = self.config
        for i in idx.tolist():
            init, arrivals, candidates = draw_day(c, self._rngs[i])
            self._stock[i, 0] = init
            self._arrivals[i] = arrivals
            self._candidates[i] = candidates
        self._stock[idx, 1] = 0
        self._t[idx] = 0
        # the single env's per-episode tables (``env.episode_tables``), per sub-env
        obs_hours, mask_hours = self._obs_hours[idx], self._mask_hours[idx]
        _episode_rows(self._arrivals[idx], self._candidates[idx], self._release_open,
                      self.tables.reach, self._hour_obs, c.max_arrivals_per_class,
                      c.max_release_per_class, obs_hours, mask_hours)
        self._obs_hours[idx], self._mask_hours[idx] = obs_hours, mask_hours
        self._station_hours[idx] = 0.0
        self._cost_hours[idx] = 0.0
        self._hourly[idx] = 0.0
        if self._cf is not None:
            self._cf.clear(idx)

    def _reset_info(self, idx: np.ndarray, mask: np.ndarray | None) -> dict[str, Any]:
        N = self.num_envs
        m = np.ones(N, dtype=bool) if mask is None else mask.copy()
        return {"hour": np.zeros(N, dtype=np.int64), "_hour": m}

    def _obs(self) -> np.ndarray:
        N = self.num_envs
        stock = np.minimum(self._stock.reshape(N, -1) / self.config.batteries_per_station, 1.0)
        return np.concatenate([stock, self._obs_hours[self._arange, self._t]], axis=1).astype(np.float32)

    def _savings(self, ended: np.ndarray) -> np.ndarray:
        """(len(ended), T) eq. (19) R_BSS per hour of the sub-envs whose day just ended."""
        if self._cf is None:
            return np.full((len(ended), self.config.horizon_h), np.nan)
        return np.stack([self._cf.savings(i, self._cost_hours[i]) for i in ended.tolist()])

    def _episode_metrics(self, ended: np.ndarray, saving: np.ndarray) -> dict[str, np.ndarray]:
        """The single env's ``episode_metrics()`` of the sub-envs whose day just ended: sums
        over the hours in hour order (a running sum is what Python's ``sum`` does)."""
        c = self.config
        run = np.cumsum(self._hourly[ended], axis=1)[:, -1]
        out = {"total_cost_usd": np.cumsum(self._cost_hours[ended], axis=1)[:, -1]}
        per_station = np.zeros((len(ended), 2, c.n_stations))  # the single env's sums
        totals = np.zeros((len(ended), 2))
        for j, i in enumerate(ended.tolist()):
            station_sums(self._station_hours[i], c.horizon_h, per_station[j], totals[j])
        ppc, bdc = per_station[:, 0], per_station[:, 1]
        out["ppc_usd"], out["bdc_usd"] = totals[:, 0], totals[:, 1]
        for name in _HOURLY:
            out[name] = run[:, _H[name]]
        total_saving = np.array([sum(s.tolist()) for s in saving])  # in hour order
        out["release_saving_usd"] = total_saving
        out["release_payment_usd"] = c.lambda_release * total_saving
        for name, value in PLANNER_METRICS.items():
            out[name] = np.full(len(ended), value)
        for n in range(c.n_stations):
            out[f"ppc_usd_bss{n + 1}"] = ppc[:, n]
            out[f"bdc_usd_bss{n + 1}"] = bdc[:, n]
        return out


def _expand(info: dict[str, Any], rows: np.ndarray, n: int) -> dict[str, Any]:
    """Gymnasium's vector info layout for values of the sub-envs ``rows``: (n, ...) arrays,
    zero elsewhere, and ``_key`` marking ``rows``."""
    out: dict[str, Any] = {}
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    full = len(rows) == n
    for key, value in info.items():
        if isinstance(value, dict):
            out[key] = _expand(value, rows, n)
        elif full:
            out[key] = value
        else:
            arr = np.zeros((n, *value.shape[1:]), dtype=value.dtype)
            arr[rows] = value
            out[key] = arr
        out[f"_{key}"] = mask.copy()
    return out
