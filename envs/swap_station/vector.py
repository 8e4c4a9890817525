"""Native batched ``swapgym/SwapStation-v0``: N stations stepped with array operations.

``gym.make_vec("swapgym/SwapStation-v0", num_envs=N, vectorization_mode="vector_entry_point")``
returns :class:`SwapStationVectorEnv`. Sub-env i behaves exactly like
``gym.make("swapgym/SwapStation-v0")`` seeded with ``seed + i`` (observations, rewards,
terminations, truncations and infos are equal to a ``SyncVectorEnv`` of those envs, bit for
bit): the physics is the same :func:`~swapgym.envs.swap_station.dynamics.hour` and
:func:`~swapgym.envs.swap_station.dynamics.hour_money` the single env runs per type on Python
numbers, here on (K, N) arrays of all types and sub-envs, and episodes come from the same
:class:`~swapgym.envs.swap_station.instance.EpisodeSampler`, each sub-env drawing its
uniforms from its own generator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from swapgym.envs.core.vector import check_vector_args, reset_indices, sub_env_seeds
from swapgym.envs.swap_station.dynamics import (
    action_bounds,
    array_min,
    hour,
    hour_money,
    profit,
    step_info,
    stock_value_change,
    total,
)
from swapgym.envs.swap_station.env import (
    ARRIVAL_BOUND,
    METRIC_NAMES,
    RECENT_HOURS,
    SwapStationEnv,
)
from swapgym.envs.swap_station.instance import iso_at

_METRIC = {name: i for i, name in enumerate(METRIC_NAMES)}


class SwapStationVectorEnv(VectorEnv):
    """N independent swap stations in one process, stepped as arrays.

    Spaces are the single env's batched: ``action_space`` is ``MultiDiscrete`` with nvec
    (N, D); observations are a dict of (N, ...) float32 arrays. Masks, ``info``, autoreset,
    partial resets, truncation and the arguments follow the conventions of
    :mod:`swapgym.envs.core.vector`.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, config: Any = None, max_episode_steps: int | None = None,
                 render_mode: str | None = None, autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
                 **overrides: Any) -> None:
        check_vector_args("SwapStation", num_envs, max_episode_steps, render_mode, autoreset_mode)
        # one template env: config validation, data, station, spaces and sampler, shared by all
        self._template = SwapStationEnv(config, **overrides)
        env = self._template
        self.config, self.station, self.data = env.config, env.station, env.data
        self._tables, self._sampler = env._tables, env._sampler
        self.num_envs = N = int(num_envs)
        self.max_episode_steps = None if max_episode_steps is None else int(max_episode_steps)
        self.render_mode = None
        self.single_action_space = env.action_space
        self.single_observation_space = env.observation_space
        self.action_space = batch_space(env.action_space, N)
        self.observation_space = batch_space(env.observation_space, N)
        c, st = self.config, self.station
        K, L = st.n_types, st.n_levels
        T, W = c.episode_hours, c.price_lookahead_hours
        self._T, self._W = T, W
        self._nvec = env._nvec
        self._nvec_u64, self._nvec_min = env._nvec_u64, env._nvec_min
        rows = np.ascontiguousarray(env._mask_index[None, :] <= env._mask_index[:, None])  # [b]: 0..b allowed
        self._mask_rows = rows.view(np.dtype((np.void, rows.shape[1]))).ravel()  # one item per row
        self._mask_select = None if env._mask_select.all() else env._mask_select
        self._rngs: list[np.random.Generator | None] = [None] * N  # sub-env i's np_random
        self._draws: list = [None] * N  # its bound ``random`` method
        self._arange = np.arange(N)
        # per-env episode data and state (rows are overwritten on reset)
        # Batch-innermost memory: levels are stored (K, L + 1, N) and seen as (N, K, L + 1), so
        # dynamics.hour works on (K, N) rows of each level (runs of N) and per-type constants
        # broadcast along them (numpy then loops over runs of N, not over 3 or 4), and the
        # observation's "stock" is one 2-D transpose.
        # Counts are int32 inside (half the memory traffic of int64, same values; sums and the
        # observation come out as the single env's int64 / float32).
        self._lv = np.zeros((K, L + 1, N), dtype=np.int32)  # self._levels is its (N, K, L + 1) view
        self._rows: list[np.ndarray] | None = None  # the same levels as L + 1 (K, N) rows, or None
        self._charge = np.zeros((L, K, N), dtype=np.int32)  # requests per level
        self._discharge = np.zeros((L, K, N), dtype=np.int32)
        self._initial_lv = np.zeros((K, L + 1, N), dtype=np.int32)  # levels at the episode start
        self._bays = self._tables.bays_col.astype(np.int32)
        self._t = np.zeros(N, dtype=np.int64)
        self._arrivals = np.zeros((T, K, N), dtype=np.int32).transpose(0, 2, 1)  # [t] is (N, K), batch-innermost
        self._seen = np.zeros((N, K, RECENT_HOURS + T), dtype=np.float32)
        self._stock_value = np.zeros((K, N))
        self._metrics = np.zeros((len(METRIC_NAMES), N))  # row per metric, as in METRIC_NAMES
        self._zeros = np.zeros(N)
        self._ahead = np.empty((N, self._AHEAD, self._sampler.n_uniforms))  # episodes drawn ahead
        self._ahead_pos = np.full(N, self._AHEAD)  # next unused row per sub-env (AHEAD: none)
        self._start_index = np.zeros(N, dtype=np.int64)  # episode starts in the arrival / price series
        # per-day tables the steps read from (shared with the template env / sampler)
        self._time_rows = env._time_by_start.reshape(-1, 3)  # row s * (T + 1) + t: the "time" of start s, hour t
        self._time_row0 = np.zeros(N, dtype=np.int64)  # s * (T + 1) of each sub-env's start
        self._prices_kwh = self._sampler.prices_kwh
        self._price32 = np.zeros((N, T + W - 1), dtype=np.float32)  # the observation's price window
        self._price_start_index = np.zeros(N, dtype=np.int64)
        self._autoreset = np.zeros(N, dtype=bool)
        self._started = False
        # ISO-8601 times of every possible episode start (reset infos without datetime work)
        data = self.data
        self._start_iso = np.full(len(data.arrivals), None, dtype=object)
        self._start_iso[data.arrival_starts] = [iso_at(data.arrivals, int(i)) for i in data.arrival_starts]
        price_starts = np.unique(np.concatenate(data.price_starts_by_weekday))
        self._price_start_iso = np.full(len(data.prices), None, dtype=object)
        self._price_start_iso[price_starts] = [iso_at(data.prices, int(i)) for i in price_starts]

    # --- gymnasium API ---------------------------------------------------------------

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict | None = None):
        N = self.num_envs
        idx, mask = reset_indices(N, options, self._started)
        seeds = sub_env_seeds(seed, N)
        for i in idx:
            if seeds[i] is not None or self._rngs[i] is None:
                rng, _ = seeding.np_random(seeds[i])
                self._rngs[i], self._draws[i] = rng, rng.random
                self._ahead_pos[i] = self._AHEAD  # rows drawn from the old generator are void
        self._reset_rows(idx)
        self._autoreset[idx] = False
        self._started = True
        info = self._reset_info(idx) if mask is None else self._reset_info(idx, mask)
        return self._obs(), info

    def step(self, actions):
        if not self._started:
            raise RuntimeError("SwapStationVectorEnv: call reset() before step()")
        st, N = self.station, self.num_envs
        K, L = st.n_types, st.n_levels
        auto = self._autoreset
        n_auto = int(np.count_nonzero(auto))
        if n_auto == N:  # every sub-env finished last step: reset them all
            idx = self._arange
            self._reset_rows(idx)
            auto[:] = False
            zeros = np.zeros(N, dtype=bool)
            return self._obs(), np.zeros(N), zeros, zeros.copy(), self._reset_info(idx, np.ones(N, dtype=bool))
        a = self._check_actions(actions, None if n_auto == 0 else ~auto)
        t = self._t
        t0 = int(t[0])
        synced = n_auto == 0 and bool((t == t0).all())
        if synced:
            arrivals, price = self._arrivals[t0], self._prices_kwh[self._price_start_index + t0]
        else:
            tc = np.minimum(t, self._T - 1)  # finished rows compute garbage, overwritten below
            arrivals, price = self._arrivals[tc, self._arange], self._prices_kwh[self._price_start_index + tc]
        # the physics: dynamics.hour on (K, N) rows of every level (all types and sub-envs at once)
        charge = self._charge
        charge[...] = a[:, : K * L].reshape(N, K, L).transpose(2, 1, 0)
        discharge = None
        if st.allow_discharge:
            discharge = self._discharge
            discharge[...] = a[:, K * L :].reshape(N, K, L).transpose(2, 1, 0)
        tb = self._tables
        rows = self._rows if self._rows is not None else list(self._lv.transpose(1, 0, 2))
        new, _, _, gained, dropped, swaps, lost = hour(rows, charge, discharge, arrivals.T, self._bays, tb.moves,
                                                       array_min)
        stored, _, bought, sold, revenue, penalty, energy, degradation = hour_money(
            tb, price, gained, dropped, swaps, lost, discharge is not None)
        stepping = None if n_auto == 0 else ~auto
        if stepping is None:
            self._lv = np.stack(new, axis=1)
            self._rows = new  # contiguous rows for the next step (hour never modifies its inputs)
            t += 1
        else:
            self._lv[:, :, stepping] = np.stack(new, axis=1)[:, :, stepping]
            self._rows = None
            t[stepping] += 1
        T = self._T
        terminated = t >= T
        truncated = t >= self.max_episode_steps if self.max_episode_steps is not None else np.zeros(N, bool)
        if terminated.any():
            stock_value = np.where(terminated, stock_value_change(st, self._stock_value, self._initial_lv, self._lv,
                                                                  batch_last=True), 0.0)
        else:
            stock_value = np.zeros(N)
        reward = profit(revenue, penalty, energy, degradation, stock_value)
        served, lost = swaps.sum(0), lost.sum(0)
        arrivals, grid = served + lost, bought - sold
        # episode metrics, a row per name: the running sums (METRIC_NAMES up to the charged energy)
        # advanced at once, as in the single env, then the peak
        m = self._metrics
        keep = None if stepping is None else stepping  # sub-envs whose metrics this step counts
        inc = np.stack([reward, revenue, penalty, energy, degradation, stock_value, arrivals, served, lost, served,
                        self._zeros, bought, sold, total(stored)])
        m[: len(inc)] += inc if keep is None else np.where(keep, inc, 0.0)
        peak = m[_METRIC["peak_grid_power_kw"]]
        np.maximum(peak, grid if keep is None else np.where(keep, grid, peak), out=peak)
        done = terminated | truncated
        info = step_info(revenue, penalty, energy, degradation, stock_value, reward.copy(), served, lost, arrivals,
                         self._lv[:, L].sum(0), bought, sold, grid, price.copy())  # (not the returned reward / views)
        if stepping is not None:
            idx = np.flatnonzero(auto)
            self._reset_rows(idx)
            auto_copy = auto.copy()
            reward = np.where(auto_copy, 0.0, reward)
            terminated = terminated & stepping
            truncated = truncated & stepping
            done = done & stepping
            info = _masked(info, stepping)
            info.update(self._reset_info(idx, auto_copy))
        else:
            info = _masked(info, None)
        if terminated.any():
            info["episode_metrics"] = self._episode_metrics(terminated)
            info["_episode_metrics"] = terminated.copy()
        self._autoreset = done
        return self._obs(), reward, terminated, truncated, info

    # --- masks, metrics -----------------------------------------------------------------

    def action_masks(self) -> np.ndarray:
        """(N, sum(nvec)) MaskablePPO masks, row i = sub-env i's ``action_masks()``."""
        if not self._started:
            raise RuntimeError("SwapStationVectorEnv: call reset() before action_masks()")
        N, D = self.num_envs, len(self._nvec)
        bounds = action_bounds(self._tables, self._lv, batch_last=True)  # (D, N)
        # row b of the table is the mask of "at most b" over 0..max(nvec)-1: one row gather
        # per entry instead of a comparison broadcast over a tiny axis
        rows = self._mask_rows.take(bounds.T).view(bool).reshape(N, D, -1)  # (N, D, max nvec)
        return rows.reshape(N, -1) if self._mask_select is None else rows[:, self._mask_select]

    def episode_metrics(self) -> dict[str, np.ndarray]:
        """The running episode metrics of every sub-env, (N,) arrays (cf. the single env)."""
        return self._episode_metrics(None)

    # --- internals ------------------------------------------------------------------------

    @property
    def _levels(self) -> np.ndarray:
        """(N, K, L + 1) packs per level: a view of the (K, L + 1, N) state."""
        return self._lv.transpose(2, 0, 1)

    def _out_of_range(self, a: np.ndarray) -> bool:
        if a.dtype != np.int64:
            return bool(a.min() < 0 or (a >= self._nvec).any())
        as_u64 = a.view(np.uint64)  # negatives are huge
        if self._nvec_min:  # every entry has the same range: one reduction
            return bool(as_u64.max() >= self._nvec_min)
        return bool((as_u64 >= self._nvec_u64).any())

    def _check_actions(self, actions, rows: np.ndarray | None) -> np.ndarray:
        a = np.asarray(actions)
        shape = (self.num_envs, len(self._nvec))
        if a.shape != shape:
            raise ValueError(f"actions: expected shape {shape} (one MultiDiscrete{self._nvec.tolist()} row per "
                             f"sub-env), got {a.shape}")
        if a.dtype.kind not in "iu":
            if a.dtype.kind != "f" or not np.all(a == np.round(a)):
                raise ValueError(f"actions: expected integers, got dtype {a.dtype}")
            a = a.astype(np.int64)
        check = a if rows is None else a[rows]
        if check.size and self._out_of_range(check):
            bad = int(np.flatnonzero(((a < 0) | (a >= self._nvec)).any(1) & (True if rows is None else rows))[0])
            raise ValueError(f"actions: row {bad} has an entry outside 0..nvec-1 = {(self._nvec - 1).tolist()}: "
                             f"{a[bad].tolist()}")
        if rows is not None:  # ignored rows of resetting sub-envs: make them harmless
            a = np.where(rows[:, None], a, 0)
        return a

    _RESET_CHUNK = 128  # sub-envs drawn at once: keeps the temporaries small (cache, no page faults)
    _AHEAD = 8  # episodes' uniforms drawn per sub-env generator call

    def _reset_rows(self, idx: np.ndarray) -> None:
        """Draw new episodes for the sub-envs ``idx`` (same draws as the single env's reset)."""
        # Each sub-env draws the single env's row of uniforms from its own generator. Rows
        # come from a per-sub-env block drawn ahead: a generator yields the same numbers in
        # one call of (k, n) as in k calls of (n,), so episodes are unchanged while the Python
        # loop over sub-envs runs once every _AHEAD resets.
        pos, draws, ahead = self._ahead_pos, self._draws, self._ahead
        at = pos[idx]
        empty = idx[at >= self._AHEAD]
        if len(empty):
            for i in empty.tolist():
                draws[i](out=ahead[i])
            pos[empty] = 0
            at = pos[idx]
        pos[idx] = at + 1
        synced = bool((at == at[0]).all())
        for lo in range(0, len(idx), self._RESET_CHUNK):
            part = idx[lo : lo + self._RESET_CHUNK]
            contiguous = part[-1] - part[0] == len(part) - 1
            rows = slice(int(part[0]), int(part[-1]) + 1) if contiguous else part
            if contiguous and synced:
                u = ahead[rows, int(at[0])]  # a view
            else:
                u = ahead[part, at[lo : lo + self._RESET_CHUNK]]
            self._reset_chunk(rows, u)

    def _reset_chunk(self, rows: slice | np.ndarray, u: np.ndarray) -> None:
        """New episodes for the sub-envs ``rows`` from their rows of uniforms ``u``."""
        sampler = self._sampler
        d = sampler.draw(u, recent_only=True)
        pick, p0 = d["start_pick"], d["price_start"]
        self._levels[rows] = d["levels"]
        self._rows = None
        self._initial_lv[..., rows] = d["levels"].transpose(1, 2, 0)
        self._t[rows] = 0
        self._arrivals[:, rows] = d["arrivals"][:, RECENT_HOURS:].transpose(1, 0, 2)  # (T, n, K)
        seen = d["arrivals"]
        if seen.max() > ARRIVAL_BOUND:  # (never with real data: skip the pass)
            seen = np.minimum(seen, ARRIVAL_BOUND)
        self._seen[rows] = seen.transpose(0, 2, 1)
        self._stock_value[:, rows] = sampler.stock_value(p0).T
        self._metrics[:, rows] = 0.0
        self._start_index[rows] = d["arrival_start"]
        self._time_row0[rows] = pick * (self._T + 1)
        self._price32[rows] = self._sampler._windows(self._template._prices32_series, self._T + self._W - 1)[p0]
        self._price_start_index[rows] = d["price_start"]

    def _reset_info(self, idx: np.ndarray, mask: np.ndarray | None = None) -> dict[str, Any]:
        N = self.num_envs
        a0, p0 = self._start_index[idx], self._price_start_index[idx]
        start = np.full(N, None, dtype=object)
        price_start = np.full(N, None, dtype=object)
        start[idx] = self._start_iso[a0]
        price_start[idx] = self._price_start_iso[p0]
        m = np.ones(N, dtype=bool) if mask is None else mask.copy()
        return {"start": start, "_start": m, "price_start": price_start, "_price_start": m.copy()}

    def _obs(self) -> dict[str, np.ndarray]:
        N, K = self.num_envs, self.station.n_types
        t = self._t
        t0 = int(t[0])
        if (t == t0).all():
            tw = min(t0, self._T - 1)
            return {
                "time": self._time_rows.take(self._time_row0 + t0, axis=0),
                "price": self._price32[:, tw : tw + self._W].copy(),
                "stock": self._stock_obs(),
                "recent_arrivals": self._seen[:, :, t0 : t0 + RECENT_HOURS].reshape(N, K * RECENT_HOURS, copy=True),
            }
        rows = self._arange[:, None]
        tw = np.minimum(t, self._T - 1)[:, None] + np.arange(self._W)
        hours = t[:, None, None] + np.arange(RECENT_HOURS)
        return {
            "time": self._time_rows.take(self._time_row0 + t, axis=0),
            "price": self._price32[rows, tw],
            "stock": self._stock_obs(),
            "recent_arrivals": self._seen[rows[:, :, None], np.arange(K)[:, None], hours].reshape(N, -1),
        }

    def _stock_obs(self) -> np.ndarray:
        return self._lv.reshape(-1, self.num_envs).T.astype(np.float32, order="C")

    def _episode_metrics(self, mask: np.ndarray | None) -> dict[str, np.ndarray]:
        block = self._metrics.copy()  # each metric a row of its own
        out = dict(zip(METRIC_NAMES, block, strict=True))
        arrivals = out["arrivals"]
        out["service_level"] = np.divide(out["swaps_served"], arrivals, out=np.ones_like(arrivals),
                                         where=arrivals > 0)
        if mask is not None:
            off = ~mask
            if off.any():
                block[:, off] = 0.0
                out["service_level"][off] = 0.0
            out.update(zip([f"_{name}" for name in out], np.repeat(mask[None], len(out), axis=0), strict=True))
        return out


def _masked(info: dict[str, Any], mask: np.ndarray | None, ones: list | None = None) -> dict[str, Any]:
    """Gymnasium's vector info layout: values zeroed where ``mask`` is False, plus ``_key``
    (with no mask: rows of one all-True block, each its own memory)."""
    out: dict[str, Any] = {}
    if mask is None and ones is None:
        ones = list(np.ones((_count_keys(info), _batch_len(info)), dtype=bool))
    for key, value in info.items():
        if isinstance(value, dict):
            out[key] = _masked(value, mask, ones)
        else:
            value = np.asarray(value)
            if mask is not None:
                value = np.where(mask, value, np.zeros((), value.dtype))
            out[key] = value
        out[f"_{key}"] = ones.pop() if mask is None else mask.copy()
    return out


def _count_keys(info: dict[str, Any]) -> int:
    return sum(1 + (_count_keys(v) if isinstance(v, dict) else 0) for v in info.values())


def _batch_len(info: dict[str, Any]) -> int:
    value = next(iter(info.values()))
    return _batch_len(value) if isinstance(value, dict) else len(value)

