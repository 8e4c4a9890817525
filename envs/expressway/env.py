"""``swapgym/Expressway-v0``: hourly battery-swap operation of several stations on an
expressway, with battery-to-battery exchange and EV energy release."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from numba import njit
from numba.core import types
from numba.experimental import structref

from swapgym.envs.core.compiled import entry_point
from swapgym.envs.core.config import build_config
from swapgym.envs.expressway import assign, dynamics
from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.dynamics import _clamp_dispatch_row, _counterfactual_days, _hour
from swapgym.envs.expressway.instance import ExpresswayInstance, generate

# Reported by planners through ``ExpresswayEnv.note_metric``; 0 when nothing is reported.
PLANNER_METRICS = {"planner_mip_gap": 0.0, "planner_time_limit_hit": 0.0,
                   "planner_solve_time_s": 0.0}


class ActionLayout:
    """Where each decision sits in the flat ``MultiDiscrete`` action.

    ``action_mode="moves"``: ``[moves (N_B·L·R) | dispatch (C·N_B) | release (M)]``;
    ``"station"``: ``[power level (N_B) | B2B level (N_B) | dispatch | release]`` — see the
    env docstring. ``mode`` overrides the config's (planners that write a moves plan use
    ``mode="moves"``). ``n_head`` is the length of the first block(s).
    """

    def __init__(self, config: ExpresswayConfig, mode: str | None = None) -> None:
        c = config
        self.mode = c.action_mode if mode is None else mode
        self.rates = dynamics.rates(c)
        self.moves_shape = (c.n_stations, c.n_levels, len(self.rates))
        self.dispatch_shape = (len(c.ev_soc_choices), c.n_stations)
        self.n_release = len(c.release_soc_choices)
        self.n_moves = int(np.prod(self.moves_shape))
        self.n_dispatch = int(np.prod(self.dispatch_shape))
        if self.mode == "moves":
            head = np.full(self.n_moves, c.batteries_per_station + 1)
        elif self.mode == "station":
            head = np.concatenate([np.full(c.n_stations, c.n_power_levels + 1),
                                   np.full(c.n_stations, c.n_b2b_levels + 1)])
        else:
            raise ValueError(f"action_mode: must be one of ('moves', 'station'), got {self.mode!r}")
        self.n_head = len(head)
        self.nvec = np.concatenate([
            head,
            np.full(self.n_dispatch, c.max_arrivals_per_class + 1),
            np.full(self.n_release, c.max_release_per_class + 1)]).astype(np.int64)

    def encode(self, moves: np.ndarray, dispatch: np.ndarray, release: np.ndarray) -> np.ndarray:
        """A moves-mode action (clipped into the space)."""
        if self.mode != "moves":
            raise ValueError("encode: a moves block is not an action of action_mode='station'; "
                             "use encode_station (or ActionLayout(config, mode='moves'))")
        return self._encode(moves, dispatch, release)

    def encode_station(self, power_level: np.ndarray, b2b_level: np.ndarray, dispatch: np.ndarray,
                       release: np.ndarray) -> np.ndarray:
        """A station-mode action: (N_B,) power levels, (N_B,) B2B levels (clipped)."""
        if self.mode != "station":
            raise ValueError("encode_station: needs action_mode='station'")
        head = np.concatenate([np.asarray(power_level, dtype=np.int64).ravel(),
                               np.asarray(b2b_level, dtype=np.int64).ravel()])
        return self._encode(head, dispatch, release)

    def _encode(self, head, dispatch, release) -> np.ndarray:
        a = np.concatenate([np.asarray(head, dtype=np.int64).ravel(),
                            np.asarray(dispatch, dtype=np.int64).ravel(),
                            np.asarray(release, dtype=np.int64).ravel()])
        return np.minimum(np.maximum(a, 0), self.nvec - 1)

    def decode(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(head, dispatch, release): head is the (N_B, L, R) moves in moves mode, the
        (2, N_B) power and B2B levels in station mode."""
        a = np.asarray(action, dtype=np.int64).ravel()
        h = a[: self.n_head]
        h = h.reshape(self.moves_shape) if self.mode == "moves" else h.reshape(2, -1)
        d = a[self.n_head : self.n_head + self.n_dispatch].reshape(self.dispatch_shape)
        r = a[self.n_head + self.n_dispatch :]
        return h, d, r


@structref.register
class _EpisodeType(types.StructRef):
    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Episode(structref.StructRefProxy):
    """The single env's episode as its compiled ``reset``/``step`` read and write it, one
    numba struct (``EPISODE_FIELDS``; built by ``ExpresswayEnv._new_episode``).

    Why a struct: numba unboxes each array argument of a call (~70 ns each; a named
    tuple costs more), and the step reads ~40 arrays; a struct crosses in one (~0.7 µs).

    tab: the instance's ``dynamics.HourTables``. nvec (A,): bounds of the moves-layout
    action. arrivals (T, C), candidates (T, M): the instance's. release_open (T,) bool:
    EVs may release in hour t. prices (T,) $/kWh. stock0 (2, N_B, L): counts and incoming
    at hour 0. obs_hours (T + 1, K), mask_hours (T, W): the observation's tail and the
    dispatch/release part of the mask per hour (``episode_tables``). actions (T, A) int:
    the requested actions (moves layout). out: ``dynamics._outputs`` of T + 1 days, row t
    = hour t, row T the counterfactual days' scratch. cf: ``Counterfactuals``' arrays
    (stock, cost, active, total, back, started). dispatch (C, N_B), release (M,): buffers
    of the executable requests. obs (n_obs,) float32: the observation. mask (sum(nvec),)
    bool: the moves-mode mask ((0,) in station mode). with_cf: step eq. (19)'s
    counterfactual days. scale: N_b (observation scale). hour_obs (T + 1, 3): hour,
    price, future price. max_arrivals, max_release: the config's caps. day_sums
    (len(_DAY_SUMS) + 2·N_B,), saving (T,): the day's ``_day_sums`` and R_BSS per hour,
    written after the last hour (``_end_of_day``).
    """


EPISODE_FIELDS = ("tab", "nvec", "arrivals", "candidates", "release_open", "prices", "stock0",
                  "obs_hours", "mask_hours", "actions", "out", "cf", "dispatch", "release", "obs",
                  "mask", "with_cf", "scale", "hour_obs", "max_arrivals", "max_release", "day_sums",
                  "saving")
structref.define_proxy(Episode, _EpisodeType, list(EPISODE_FIELDS))


@njit(cache=True)
def _make_episode(tab, nvec, arrivals, candidates, release_open, prices, stock0, obs_hours,
                  mask_hours, actions, out, cf, dispatch, release, obs, mask, with_cf, scale,
                  hour_obs, max_arrivals, max_release, day_sums, saving):  # pragma: no cover
    """An ``Episode`` built in compiled code: numba caches this on disk, while the proxy's
    own constructor is compiled anew in every process (~1.2 s)."""
    return Episode(tab, nvec, arrivals, candidates, release_open, prices, stock0, obs_hours,
                   mask_hours, actions, out, cf, dispatch, release, obs, mask, with_cf, scale,
                   hour_obs, max_arrivals, max_release, day_sums, saving)


@njit(cache=True)
def _allow_up_to(out, i, limit, width):  # pragma: no cover
    """One entry's block of a flat mask: values 0..limit of ``out[i:i + width]`` allowed,
    the rest not (slices: ~6x faster than a loop of bool stores). Returns the next block's
    start."""
    limit = min(limit, width - 1)
    out[i:i + limit + 1] = True
    out[i + limit + 1:i + width] = False
    return i + width


@njit(cache=True)
def _mask_row(counts, feasible, tail, out):  # pragma: no cover
    """Moves-mode mask of one state, counts (N_B, L), into ``out`` (sum(nvec),) bool:
    value k of entry (n, l, r) is allowed iff k ≤ counts[n, l] (only 0 where the move
    leaves the SOC range); the rest is ``tail`` (the dispatch and release part)."""
    n_st, n_lv = counts.shape
    n_r = feasible.shape[1]
    width = (out.shape[0] - tail.shape[0]) // (n_st * n_lv * n_r)
    i = 0
    for n in range(n_st):
        for lv in range(n_lv):
            for r in range(n_r):
                i = _allow_up_to(out, i, counts[n, lv] if feasible[lv, r] else 0, width)
    out[i:] = tail


@njit(cache=True)
def count_masks(counts, feasible, tail, t, out):  # pragma: no cover
    """``_mask_row`` of B states: counts (B, N_B, L); row b's tail is ``tail[b, t[b]]``
    (tail (B, T, W): each day's ``episode_tables`` mask part; t (B,) hours); out (B,
    sum(nvec))."""
    for b in range(counts.shape[0]):
        _mask_row(counts[b], feasible, tail[b, t[b]], out[b])


@njit(cache=True)
def episode_tables(arrivals, candidates, release_open, reach, hour_obs, max_arrivals,
                   max_release, obs_hours, mask_hours):  # pragma: no cover
    """A day's per-hour tables from its arrivals (T, C) and release candidates (T, M):
    the observation's tail ``obs_hours`` (T + 1, C + M + 3): arrivals / max_arrivals,
    candidates / max(max_release, 1), then ``hour_obs`` (T + 1, 3) (hour, price, future
    price), all in [0, 1]; and the dispatch/release part of the mask ``mask_hours`` (T,
    C·N_B·(max_arrivals + 1) + M·(max_release + 1)): dispatch value k to station n allowed
    iff k ≤ the class's arrivals and n is in reach (eq. 8), release value k iff k ≤ the
    candidates and ``release_open[t]``."""
    n_t, n_cls = arrivals.shape
    n_rel = candidates.shape[1]
    n_st = reach.shape[1]
    rel_scale = max(max_release, 1)
    for t in range(n_t + 1):
        row = obs_hours[t]
        for c in range(n_cls):
            row[c] = min(max(arrivals[t, c] / max_arrivals, 0.0), 1.0) if t < n_t else 0.0
        for j in range(n_rel):
            row[n_cls + j] = min(max(candidates[t, j] / rel_scale, 0.0), 1.0) if t < n_t else 0.0
        for k in range(hour_obs.shape[1]):
            row[n_cls + n_rel + k] = hour_obs[t, k]
    for t in range(n_t):
        mask = mask_hours[t]
        i = 0
        for c in range(n_cls):
            for n in range(n_st):
                i = _allow_up_to(mask, i, arrivals[t, c] if reach[c, n] else 0, max_arrivals + 1)
        for j in range(n_rel):
            i = _allow_up_to(mask, i, candidates[t, j] if release_open[t] else 0, max_release + 1)


@njit(cache=True)
def _episode_rows(arrivals, candidates, release_open, reach, hour_obs, max_arrivals, max_release,
                  obs_hours, mask_hours):  # pragma: no cover
    """``episode_tables`` of B days: arrivals (B, T, C), candidates (B, T, M), out (B, …)."""
    for b in range(arrivals.shape[0]):
        episode_tables(arrivals[b], candidates[b], release_open, reach, hour_obs, max_arrivals,
                       max_release, obs_hours[b], mask_hours[b])


@njit(cache=True)
def _write_obs(stock, tail, scale, obs):  # pragma: no cover
    """The observation: stock (2, N_B, L) / scale (at most 1: counts ≤ N_b, the min bites
    on incoming only), then ``tail`` (the hour's ``obs_hours`` row)."""
    flat = stock.ravel()
    for i in range(flat.shape[0]):
        obs[i] = min(flat[i] / scale, 1.0)
    for i in range(tail.shape[0]):
        obs[flat.shape[0] + i] = tail[i]


@njit(cache=True)
def _env_reset(ep, init_counts, arrivals, candidates):  # pragma: no cover
    """The start of an episode with the instance's init_counts (N_B, L), arrivals (T, C)
    and candidates (T, M): its tables, no counterfactual day yet (``Counterfactuals.
    clear``), the observation and mask of hour 0. The record (``ep.out``) is not cleared:
    each step writes its row whole (55 kB less to write, and to evict from the cache, a
    reset)."""
    tab = ep.tab
    ep.stock0[0] = init_counts
    ep.stock0[1] = 0
    ep.arrivals[:] = arrivals
    ep.candidates[:] = candidates
    _, _, active, total, back, started = ep.cf
    for s in range(total.shape[1]):
        total[0, s] = 0.0
        back[0, s] = -1
        started[0, s] = False
        active[0, s] = False
    episode_tables(ep.arrivals, ep.candidates, ep.release_open, tab.reach, ep.hour_obs,
                   ep.max_arrivals, ep.max_release, ep.obs_hours, ep.mask_hours)
    _write_obs(ep.stock0, ep.obs_hours[0], ep.scale, ep.obs)
    if ep.mask.shape[0]:
        _mask_row(ep.stock0[0], tab.feasible, ep.mask_hours[0], ep.mask)


@njit(cache=True)
def _requests(ep, t):  # pragma: no cover
    """Hour t's requests from its logged action ``ep.actions[t]``: the moves (N_B, L, R)
    (a view), and the dispatch and release requests clamped to the hour's arrivals and
    candidates (none when the hour is not open to releases) into ``ep.dispatch`` /
    ``ep.release``."""
    logged, tab = ep.actions[t], ep.tab
    n_st, n_lv, n_r = ep.out[0].shape[1:]
    dispatch, release = ep.dispatch, ep.release
    n_cls = dispatch.shape[0]
    at = n_st * n_lv * n_r
    moves = logged[:at].reshape(n_st, n_lv, n_r)
    requests = logged[at:at + n_cls * n_st].reshape(n_cls, n_st)
    _clamp_dispatch_row(ep.arrivals[t], requests, tab.reach, tab.nearest, dispatch)
    at += n_cls * n_st
    for j in range(release.shape[0]):
        release[j] = min(logged[at + j], ep.candidates[t, j]) if ep.release_open[t] else 0
    return moves


@njit(cache=True)
def _env_step(ep, t, action):  # pragma: no cover
    """The single env's hour ``t``: ``_hour_info`` of the hour, or of released −1 (and
    nothing changed) if ``action`` (moves layout) is not in the space (0 ≤ action < nvec).
    Then: the action into ``ep.actions[t]``; the hour (``dynamics._hour`` on
    ``_requests``) into row t of ``ep.out``; the next observation and (moves mode) mask;
    after the last hour, the day's sums and savings (``_end_of_day``)."""
    nvec = ep.nvec
    for i in range(action.shape[0]):
        if action[i] < 0 or action[i] >= nvec[i]:
            return _hour_info(ep, t, -1)
    logged = ep.actions[t]
    for i in range(action.shape[0]):
        logged[i] = action[i]
    m, out_stock, station, evs, ssum, esum, rel, released, day = ep.out
    horizon = out_stock.shape[0] - 1
    moves = _requests(ep, t)
    counts = ep.stock0[0] if t == 0 else out_stock[t - 1, 0]
    incoming = ep.stock0[1] if t == 0 else out_stock[t - 1, 1]
    # the row's entries the hour adds to or may leave alone (``_env_reset`` clears none)
    after = out_stock[t]
    for i in range(2):
        for n in range(after.shape[1]):
            for lv in range(after.shape[2]):
                after[i, n, lv] = 0
    day[t, dynamics.SHORTFALL_KWH] = 0.0
    day[t, dynamics.TERMINAL_PENALTY] = 0.0
    released[t] = _hour(counts, incoming, moves, ep.dispatch, ep.release, ep.prices[t],
                        t + 1 >= horizon, ep.tab, False, out_stock[t], station[t], evs[t],
                        m[t], out_stock[t], station[t], evs[t], ssum[t], esum[t], rel[t], day[t])
    _write_obs(out_stock[t], ep.obs_hours[t + 1], ep.scale, ep.obs)
    if ep.mask.shape[0]:
        _mask_row(out_stock[t, 0], ep.tab.feasible, ep.mask_hours[min(t + 1, horizon - 1)], ep.mask)
    if t + 1 == horizon:
        _end_of_day(ep)
    return _hour_info(ep, t, released[t])


@njit(cache=True)
def _hour_info(ep, t, released):  # pragma: no cover
    """Hour t's scalars for ``step``: released (given), PPC, BDC, B2B kWh, grid kWh, served,
    unserved, released kWh, driving BDC, unserved penalty, terminal shortfall kWh and
    penalty (one boxed tuple: cheaper than reading the arrays from Python)."""
    D = dynamics
    ssum, esum, day = ep.out[4][t], ep.out[5][t], ep.out[8][t]
    return (released, ssum[D.PPC], ssum[D.BDC], ssum[D.B2B_KWH], ssum[D.GRID_KWH],
            esum[D.SERVED], esum[D.UNSERVED], day[D.RELEASED_KWH], day[D.BDC_DRIVING],
            day[D.UNSERVED_PENALTY], day[D.SHORTFALL_KWH], day[D.TERMINAL_PENALTY])


@njit(cache=True)
def _end_of_day(ep):  # pragma: no cover
    """After the last hour: the day's sums into ``ep.day_sums`` (``_day_sums``) and R_BSS
    per hour into ``ep.saving`` (``dynamics._savings`` of eq. (19)'s counterfactual days,
    ``_day_counterfactuals``; NaN without them) — in the step's call, not in Python after
    it (the metrics' numpy calls had cost more than the sums)."""
    horizon = ep.saving.shape[0]
    ep.day_sums[:] = 0.0
    _day_sums(ep, horizon, ep.day_sums)
    if not ep.with_cf:
        ep.saving[:] = np.nan
        return
    _day_counterfactuals(ep)
    ep.saving[:] = 0.0
    _, _, _, total, back, started = ep.cf
    dynamics._savings(started[0], total[0], back[0], ep.out[8][:horizon, dynamics.COST],
                      ep.saving)


@njit(cache=True)
def _day_counterfactuals(ep):  # pragma: no cover
    """Eq. (19)'s counterfactual days of the day just played, into ``ep.cf`` (day 0): hour
    by hour, ``dynamics._counterfactual_days`` on the played hours' requests — what
    ``Counterfactuals`` does along with each hour, done once the day is known (one
    call, run while the code and data are in cache)."""
    out_stock, station, evs, released = ep.out[1], ep.out[2], ep.out[3], ep.out[7]
    horizon = out_stock.shape[0] - 1
    cf_stock, cf_cost, active, total, back, started = ep.cf
    for t in range(horizon):
        moves = _requests(ep, t)
        _counterfactual_days(
            t, 0, ep.stock0 if t == 0 else out_stock[t - 1], out_stock[t], station[t], evs[t],
            released[t] > 0, moves, ep.dispatch, ep.release, ep.prices[t], horizon, cf_stock,
            cf_cost, active, total, back, started, ep.tab, ep.out, horizon)


# ``episode_metrics``' sums over the hours played (``_day_sums``), in this order
_DAY_SUMS = ("total_cost_usd", "ppc_usd", "bdc_usd", "bdc_driving_usd", "unserved_penalty_usd",
             "terminal_penalty_usd", "grid_kwh", "b2b_kwh", "served", "unserved", "released",
             "released_kwh")
(_S_TOTAL, _S_PPC, _S_BDC, _S_DRIVING, _S_UNSERVED_PENALTY, _S_TERMINAL, _S_GRID, _S_B2B,
 _S_SERVED, _S_UNSERVED, _S_RELEASED, _S_RELEASED_KWH) = (_DAY_SUMS.index(k) for k in (
    "total_cost_usd", "ppc_usd", "bdc_usd", "bdc_driving_usd", "unserved_penalty_usd",
    "terminal_penalty_usd", "grid_kwh", "b2b_kwh", "served", "unserved", "released",
    "released_kwh"))


@njit(cache=True)
def _day_sums(ep, n, sums):  # pragma: no cover
    """The first ``n`` hours of an episode's outputs (``ep.out``) summed in hour
    order into ``sums`` (zeros): the ``_DAY_SUMS`` totals, then PPC and BDC per station
    (``station_sums``; the PPC and BDC totals are their sums in station order)."""
    _, _, station, _, ssum, esum, _, released, day = ep.out
    D = dynamics
    for t in range(n):
        sums[_S_TOTAL] += day[t, D.COST]
        sums[_S_DRIVING] += day[t, D.BDC_DRIVING]
        sums[_S_UNSERVED_PENALTY] += day[t, D.UNSERVED_PENALTY]
        sums[_S_TERMINAL] += day[t, D.TERMINAL_PENALTY]
        sums[_S_GRID] += ssum[t, D.GRID_KWH]
        sums[_S_B2B] += ssum[t, D.B2B_KWH]
        sums[_S_SERVED] += esum[t, D.SERVED]
        sums[_S_UNSERVED] += esum[t, D.UNSERVED]
        sums[_S_RELEASED] += released[t]
        sums[_S_RELEASED_KWH] += day[t, D.RELEASED_KWH]
    station_sums(station, n, sums[len(_DAY_SUMS):].reshape(2, -1), sums[_S_PPC:_S_BDC + 1])


@njit(cache=True)
def station_sums(station, n, out, totals):  # pragma: no cover
    """PPC and BDC per station of the first ``n`` hours of ``station`` (T, 4, N_B), summed
    in hour order into ``out`` (2, N_B), and their totals in station order into ``totals``
    (2,) (the single and the vector env's metrics; both zeros on entry)."""
    for t in range(n):
        for i in range(station.shape[2]):
            out[0, i] += station[t, dynamics.PPC, i]
            out[1, i] += station[t, dynamics.BDC, i]
    for i in range(out.shape[1]):
        totals[0] += out[0, i]
        totals[1] += out[1, i]


class ExpresswayEnv(gym.Env):
    """Battery-swap stations on an expressway (Zeng et al. 2023).

    ## Description
    EVs on an expressway request energy every hour. A control centre dispatches them to
    one of ``n_stations`` battery-swap stations (lower level, eqs. 4–8), each station
    charges its ``batteries_per_station`` batteries from the grid and between batteries
    (B2B, middle level, eqs. 9–17, 26), and high-SOC EVs passing the first station may be
    invited to release energy there and refill at the next station (upper level,
    eqs. 18–22). The transition rules are in ``dynamics.py`` (a count model on a SOC grid).

    ## Action Space
    ``MultiDiscrete``, flat (``ActionLayout`` encodes/decodes). ``action_mode="moves"``
    (default), three blocks:

    | block | shape | value | meaning |
    |---|---|---|---|
    | moves | (N_B, L, R) | 0..N_b | batteries at SOC level l of station n that move by ``RATES[r]`` steps this hour; RATES = (−1, 1, 2, 3): −1 = B2B donor (4 kW), 1 = charge at 4 kW, 2–3 = fast charging (8/12 kW, eq. 26) |
    | dispatch | (C, N_B) | 0..max_arrivals_per_class | arriving EVs of SOC class c sent to station n; honoured station by station up to the arrivals, the rest go to the nearest station |
    | release | (M,) | 0..max_release_per_class | high-SOC EVs of class m invited to release energy at the release station |

    Requests beyond what exists are clamped (more moves than batteries, donors beyond the
    charged energy, releases beyond the candidates or the batteries they can take).
    ``action_masks()`` (MaskablePPO format) masks counts above the batteries present,
    moves off the SOC range, unreachable stations (eq. 8) and counts above the arrivals.
    The paper's methods pick a station's total charging power and assign it to batteries
    with the Hungarian algorithm; that assignment *is* a ``moves`` block.

    ``action_mode="station"``: the paper's own decision variables, four blocks —

    | block | shape | value | meaning |
    |---|---|---|---|
    | power | (N_B,) | 0..n_power_levels | station n's grid charging this hour: level k = round(k / n_power_levels · N_b · max_charge_steps) SOC steps (4 kWh each; default 12 levels of 40 kW) |
    | b2b | (N_B,) | 0..n_b2b_levels | 0 = B2B off; level j = round(j / n_b2b_levels · N_b / 2) donor batteries giving one step each to the others |
    | dispatch | (C, N_B) | as above | as above |
    | release | (M,) | as above | as above |

    The env turns (power, donors) into each station's moves with the paper's Hungarian
    assignment (eqs. 23–25, ``assign.station_moves`` — the PSO baselines' own call) and
    steps them like a moves action. Masks: power levels above what the station's
    batteries can take this hour (``max_charge_steps`` each, up to SOC_max) except the
    first one reaching it, B2B levels > 0 when no battery can donate (or the config has no
    donor rate), dispatch and release as above. Why: learnability (2·N_B small choices
    instead of N_B·L·R counts). With n_power_levels = N_b·max_charge_steps and
    n_b2b_levels = N_b/2 every PSO plan is exactly one station action. Counterfactual
    days of eq. (19) replay the moves the station action gave in the played day. The
    vector env supports ``"moves"`` only. Planners whose plan is a moves block (the
    baselines) hand it to the env with ``plan_moves`` before the step, so their days, and
    the score's anchors, are those of moves mode.

    ## Observation Space
    ``Box(0, 1, float32)``, flat:

    | slice | size | meaning (normalised) |
    |---|---|---|
    | stock | N_B·L | batteries per station and SOC level / N_b |
    | incoming | N_B·L | released EVs arriving this hour per station and level / N_b |
    | arrivals | C | EVs requesting energy this hour per SOC class / max_arrivals_per_class |
    | candidates | M | high-SOC EVs that could release this hour / max_release_per_class |
    | hour | 1 | t / T |
    | price | 1 | this hour's price / the day's max price (negative prices clip to 0) |
    | future price | 1 | mean price of the remaining hours / the day's max price |

    ## Rewards
    Minus the hour's cost in $: power purchasing cost (PPC), station battery degradation
    (BDC, eq. 11/26), EVs' driving degradation (eq. 5), ``unserved_penalty_usd`` per EV
    left without a ready battery, and at the last hour the kWh below ``terminal_soc``
    priced at ``terminal_price_per_kwh`` (eq. 13). ``info["reward_breakdown"]`` splits it.
    Payments to released EVs (λ·R_BSS, eq. 18) are transfers and are reported, not charged:
    at the last step ``info["release_saving_usd_per_hour"]`` holds eq. (19)'s R_BSS of each
    hour (the day's cost without that hour's releases minus the day as played; those
    counterfactual days are stepped in one compiled call after the last hour) and
    ``info["release_payment_usd_per_hour"]`` λ times it; ``episode_metrics`` sums them
    (``release_counterfactual=False`` skips them and reports NaN; see ``ExpresswayConfig``
    for their cost).
    A planner may report its solve via ``note_metric`` (the oracle's MIP gap, time-limit
    hit and solve time: ``planner_*`` in the episode metrics, 0 otherwise).

    ## Starting State
    Battery SOC drawn per Table 2 (0.2 + round(6·rand)/10); arrivals Poisson on
    ``arrival_rate_per_h`` with SOC 0.3/0.4; release candidates Poisson with SOC 0.7/0.8.
    Grid price: the SMARD German day-ahead price of 2018-10-18 by default (shipped data,
    ``price_source``/``price_date``; ``price_source="tou"`` for the documented time-of-use
    day; see ``ExpresswayConfig``), the same every episode.

    ## Episode End
    ``terminated`` after ``horizon_h`` hours (24).

    ## Arguments
    ``gym.make("swapgym/Expressway-v0", **fields)`` with any ``ExpresswayConfig`` field.
    ``gym.make_vec("swapgym/Expressway-v0", num_envs=N, vectorization_mode=
    "vector_entry_point", **fields)``: N days stepped as arrays
    (:class:`~swapgym.envs.expressway.vector.ExpresswayVectorEnv`), equal to N of these envs.

    ## Reference
    L. Zeng, S.-Z. Chen, C. Zhong, T. Xiong, L. Tian, "Hierarchical transactive power
    exchange method on expressways for EV energy supplement", Front. Energy Res. 11 (2023).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: ExpresswayConfig | dict | None = None, render_mode: str | None = None,
                 **overrides: Any) -> None:
        self.config = build_config(ExpresswayConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        c = self.config
        self.layout = lay = ActionLayout(c)
        self.action_space = gym.spaces.MultiDiscrete(lay.nvec)
        self._action_shape = self.action_space.shape
        self._nvec = lay.nvec
        self._nvec_u = lay.nvec.astype(np.uint64)  # negative int64 actions view as huge uint64
        n_obs = 2 * c.n_stations * c.n_levels + len(c.ev_soc_choices) + len(c.release_soc_choices) + 3
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(n_obs,), dtype=np.float32)
        self._obs_buf = np.zeros(n_obs, dtype=np.float32)  # the compiled step writes it
        self._station_mode = c.action_mode == "station"
        self._mask_moves = int(lay.nvec[: lay.n_head].sum())  # mask length of the head block(s)
        self.moves_layout = ActionLayout(c, mode="moves") if self._station_mode else lay
        self._planned_moves: np.ndarray | None = None
        if self._station_mode:
            self.power_units = assign.power_level_units(c)  # (n_power_levels + 1,) SOC steps
            self.b2b_donors = assign.b2b_level_donors(c)     # (n_b2b_levels + 1,) donors
        # moves mode: the compiled step writes the next mask here; station mode: none
        self._mask_buf = np.zeros(0 if self._station_mode else int(lay.nvec.sum()), dtype=bool)
        self._set_prices(np.asarray(c.hourly_price_per_kwh, dtype=float))
        self._release_open = np.array([dynamics.release_open(c, t) for t in range(c.horizon_h)])
        self.instance: ExpresswayInstance | None = None
        self.tables: dynamics.CostTables | None = None
        self._tables_key: tuple | None = None
        # the episode, kept in arrays reused from episode to episode (``Episode``): the
        # day's arrivals and candidates, the stock at hour 0, the requested actions, and
        # what each hour did, row t of ``_day_out`` (``dynamics._outputs``), written by the
        # compiled step. ``_t``: the hour (−1 before the first reset); the state and the
        # history are read off these arrays when asked for
        T, C, M = c.horizon_h, len(c.ev_soc_choices), len(c.release_soc_choices)
        sizes = (c.n_stations, c.n_levels, len(dynamics.rates(c)), M)
        self._t = -1
        self._ep: Episode | None = None
        self._step_fn: Any = None  # _env_step for ``_ep`` (``_new_episode``)
        self._arrivals = np.zeros((T, C), dtype=np.int64)
        self._candidates = np.zeros((T, M), dtype=np.int64)
        self._stock0 = np.zeros((2, c.n_stations, c.n_levels), dtype=np.int64)
        self._actions_arr = np.zeros((T, len(self.moves_layout.nvec)), dtype=np.int64)
        self._day_out = dynamics._outputs(T + 1, *sizes)
        self._row_views()
        self._day_sums_buf = np.zeros(len(_DAY_SUMS) + 2 * c.n_stations)  # written by the last step
        self._saving_buf = np.zeros(T)  # R_BSS per hour, written by the last step
        self._planner_metrics = dict(PLANNER_METRICS)
        self._station_keys = [(f"ppc_usd_bss{n + 1}", f"bdc_usd_bss{n + 1}") for n in range(c.n_stations)]
        self._release_savings: np.ndarray | None = None
        # eq. (19)'s counterfactual days (their arrays are passed even when they are off)
        self._cf = dynamics.Counterfactuals(c)
        self._obs_hours = np.zeros((T + 1, C + M + 3))
        self._mask_hours = np.zeros((T, int(lay.nvec.sum()) - self._mask_moves), dtype=bool)
        self._dispatch_buf = np.zeros(lay.dispatch_shape, dtype=np.int64)
        self._release_buf = np.zeros(lay.n_release, dtype=np.int64)

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        c = self.config
        if options and "instance" in options:
            inst = options["instance"]
            self._check_instance(inst)  # before anything changes
        else:
            inst = generate(c, self.np_random)
        self.instance = inst
        if inst.price_per_kwh is not self._prices:
            self._set_prices(inst.price_per_kwh)
            self._ep = None
        # the cost tables depend on the config and the instance's SOC levels only
        key = (inst.config, inst.ev_levels.tobytes(), inst.release_levels.tobytes(),
               inst.drive_steps.tobytes())
        if key != self._tables_key:
            self.tables, self._tables_key = dynamics.cost_tables(inst), key
            self._ep = None
        if self._ep is None:
            self._new_episode()
        self._t = 0
        self._planned_moves = None
        self._release_savings = None
        self._planner_metrics = dict(PLANNER_METRICS)
        _env_reset(self._ep, inst.init_counts, inst.arrivals, inst.release_candidates)
        return self._obs_buf.copy(), {"hour": 0}

    def _check_instance(self, inst: ExpresswayInstance) -> None:
        """ValueError unless ``inst`` (``reset(options={"instance": ...})``) has the sizes
        of this env's arrays: the compiled step indexes them without bounds checks."""
        c, ic = self.config, getattr(inst, "config", None)
        if not isinstance(ic, ExpresswayConfig):
            raise ValueError(f"options['instance']: expected an ExpresswayInstance, got {type(inst).__name__}")
        T, C, M = c.horizon_h, len(c.ev_soc_choices), len(c.release_soc_choices)
        want = {"init_counts": (inst.init_counts, (c.n_stations, c.n_levels)),
                "arrivals": (inst.arrivals, (T, C)),
                "release_candidates": (inst.release_candidates, (T, M)),
                "price_per_kwh": (inst.price_per_kwh, (T,)),
                "ev_levels": (inst.ev_levels, (C,)), "release_levels": (inst.release_levels, (M,)),
                "drive_steps": (inst.drive_steps, (c.n_stations,))}
        for name, (x, shape) in want.items():
            if np.shape(x) != shape:
                raise ValueError(f"options['instance'].{name}: shape {np.shape(x)} does not fit "
                                 f"this env's config (expected {shape})")
        for name in ("max_charge_steps", "p_dis_max_kw", "step_kwh", "dt_h", "batteries_per_station",
                     "release_station"):
            if getattr(ic, name) != getattr(c, name):
                raise ValueError(f"options['instance'].config.{name}: {getattr(ic, name)!r} differs "
                                 f"from this env's {getattr(c, name)!r} (it sizes the moves and "
                                 f"the action space)")

    def step(self, action):
        hour = self._t
        c = self.config
        if hour < 0:
            raise RuntimeError("step() before reset()")
        if hour >= c.horizon_h:
            raise RuntimeError("step() after the episode ended; call reset()")
        if self._station_mode:
            a = self._station_action(action)
        elif (type(action) is np.ndarray and action.dtype == np.int64
              and action.shape == self._action_shape and action.flags.c_contiguous):
            a = action  # straight in: the compiled step checks the bounds first
        else:
            a = self._checked_action(action)
        # the hour (and eq. (19)'s counterfactual days) in one compiled call, into row
        # ``hour`` of the episode's outputs; it also writes the next observation and mask
        # (``a`` is a C-contiguous int64 vector here, as ``_step_fn`` needs)
        (released, ppc, bdc, b2b_kwh, grid_kwh, served, unserved, released_kwh, driving, penalty,
         shortfall, terminal) = self._step_fn(self._ep, hour, a)
        if released < 0:  # outside the space: say what is wrong (nothing has changed)
            if self._station_mode:
                raise ValueError(f"moves: a planned or assigned moves block outside 0..N_b "
                                 f"({self.config.batteries_per_station})")
            self._checked_action(a)
        self._t = hour + 1
        # the hour's per-station rows, copied (the episode's arrays are reused), indexed
        # (unpacking a 2-D array by iteration costs twice as much)
        station, evs = self._station_rows[hour].copy(), self._evs_rows[hour].copy()
        D = dynamics
        st_grid = station[D.GRID_KWH]
        terminated = hour + 1 >= c.horizon_h
        breakdown = {"ppc": -ppc, "bdc_station": -bdc, "bdc_driving": -driving,
                     "unserved_penalty": -penalty, "terminal_penalty": -terminal}
        reward = -ppc - bdc - driving - penalty - terminal  # = sum(breakdown.values()), in order
        dt = c.dt_h
        info = {
            "hour": hour,
            "grid_power_kw": grid_kwh / dt,
            "grid_power_kw_per_station": st_grid if dt == 1.0 else st_grid / dt,
            "ppc_usd_per_station": station[D.PPC],
            "bdc_usd_per_station": station[D.BDC],
            "b2b_kwh_per_station": station[D.B2B_KWH],
            "served_per_station": evs[D.SERVED],
            "unserved_per_station": evs[D.UNSERVED],
            "dispatched_per_station": evs[D.DISPATCHED],
            "ppc_usd": ppc,
            "bdc_usd": bdc,
            "bdc_driving_usd": driving,
            "b2b_kwh": b2b_kwh,
            "served": served,
            "unserved": unserved,
            "released": released,
            "released_kwh": released_kwh,
            "price_per_kwh": self._price_list[hour],
            "reward_breakdown": breakdown,
        }
        if terminated:
            info["terminal_shortfall_kwh"] = shortfall
            saving = self.release_savings()
            info["release_saving_usd_per_hour"] = saving
            info["release_payment_usd_per_hour"] = c.lambda_release * saving
            info["episode_metrics"] = self.episode_metrics()
        return self._obs_buf.copy(), reward, terminated, False, info

    def _station_action(self, action) -> np.ndarray:
        """A station-mode action as the moves-mode action it plays: the Hungarian moves of
        its power/B2B blocks (or the planner's, ``plan_moves``), then its dispatch and
        release (moves capped at N_b: the hour takes at most the batteries present)."""
        lay = self.layout
        a = self._checked_action(action)
        if self._planned_moves is not None:  # a planner's moves block (``plan_moves``)
            moves, self._planned_moves = self._planned_moves[0], None
        else:
            moves = self.station_moves(a[: lay.n_head])[0]
        moves = np.minimum(moves.ravel(), self.config.batteries_per_station)
        return np.concatenate([moves, a[lay.n_head:]])

    def _checked_action(self, action) -> np.ndarray:
        """The action as a fresh int64 vector, or a ValueError if it is not in the space."""
        a = np.asarray(action)
        # a cheap bounds test instead of MultiDiscrete.contains (which dominated ``step``)
        if a.dtype == np.int64 and a.shape == self._action_shape:
            if (a.view(np.uint64) < self._nvec_u).all():
                return a.copy()
        elif a.shape == self._action_shape and (
                np.issubdtype(a.dtype, np.integer) or np.array_equal(a, np.round(a))) and (
                (a >= 0).all() and (a < self._nvec).all()):
            return a.astype(np.int64)
        raise ValueError(
            f"action: expected a MultiDiscrete vector of shape {self.action_space.shape} with "
            f"0 <= a[i] < nvec[i] (layout: {self._head_doc()}, dispatch "
            f"{self.layout.dispatch_shape}, release ({self.layout.n_release},)), got shape "
            f"{a.shape}")

    def _head_doc(self) -> str:
        if self._station_mode:
            n = self.config.n_stations
            return f"power levels ({n},), B2B levels ({n},)"
        return f"moves {self.layout.moves_shape}"

    def station_moves(self, head: np.ndarray) -> np.ndarray:
        """(1, N_B, L, R) moves of a station-mode head ``[power levels | B2B levels]`` on
        the current state: the Hungarian assignment of each station's power (eqs. 23–25)."""
        n = self.config.n_stations
        head = np.asarray(head, dtype=np.int64)
        units, donors = self.power_units[head[:n]], self.b2b_donors[head[n:2 * n]]
        return assign.station_block_moves(self.config, self.tables, self.state.counts,
                                          units, donors)[None]

    def action_masks(self) -> np.ndarray:
        """Flat MaskablePPO mask (length ``sum(nvec)``): counts above the batteries present
        or moves off the SOC range (station mode: power levels beyond the first that
        reaches what the batteries can take, B2B without a donor), unreachable stations
        (eq. 8), counts above the hour's arrivals / release candidates."""
        if self._t < 0:
            raise RuntimeError("action_masks() before reset()")
        if not self._station_mode:
            return self._mask_buf.copy()  # written by the compiled step (and reset)
        mask = np.empty(int(self.layout.nvec.sum()), dtype=bool)
        self._station_mask(self.state.counts, mask[: self._mask_moves])
        mask[self._mask_moves:] = self._mask_hours[min(self._t, self.config.horizon_h - 1)]
        return mask

    def plan_moves(self, moves: np.ndarray) -> None:
        """Planner hook (station mode): play ``moves`` (N_B, L, R) at the next ``step``
        instead of the Hungarian moves of its power/B2B blocks (dispatch and release still
        come from the action). For planners whose plan is a moves block — the MILP oracle,
        greedy, the PSO baselines — so that their days in a station-mode run are their
        moves-mode days and the normalised score keeps its anchors (the problem is the
        same; only the agent's interface differs). Agents see the action space only."""
        if not self._station_mode:
            raise ValueError("plan_moves: only for action_mode='station' (moves mode: the action)")
        m = np.asarray(moves)
        if m.shape != self.layout.moves_shape:
            raise ValueError(f"moves: expected shape {self.layout.moves_shape}, got {m.shape}")
        self._planned_moves = np.maximum(m.astype(np.int64), 0)[None]

    def _station_mask(self, counts: np.ndarray, out: np.ndarray) -> None:
        """Station-mode head mask: level k allowed if k = 0 or level k − 1 is below the
        station's headroom (power) / donor capacity (B2B)."""
        c = self.config
        n_p = c.n_power_levels + 1
        power = out[: c.n_stations * n_p].reshape(c.n_stations, n_p)
        b2b = out[c.n_stations * n_p:].reshape(c.n_stations, -1)
        room = assign.headroom(c, counts)
        power[:, 0] = True
        power[:, 1:] = self.power_units[None, :-1] < room[:, None]
        b2b[:, 0] = True
        can = assign.donor_capacity(counts) if self.tables.donor_col >= 0 else np.zeros(c.n_stations)
        b2b[:, 1:] = self.b2b_donors[None, :-1] < can[:, None]

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from swapgym.envs.expressway.render import render_rgb

        return render_rgb(self.instance, self.state, self.history)

    # ------------------------------------------------------------------ helpers
    def _set_prices(self, prices: np.ndarray) -> None:
        # observation scaling: prices relative to the day's highest (clipped to [0, 1])
        self._prices = prices
        self._price_list = prices.tolist()
        price_max = max(float(np.max(prices)), 1e-12)
        future_price = np.array([prices[t:].mean() for t in range(len(prices))] + [0.0])
        # the observation's hour, price and future-price entries of each hour (and the end)
        T = len(prices)
        hours = np.zeros((T + 1, 3))
        hours[:, 0] = np.arange(T + 1) / self.config.horizon_h
        hours[:T, 1] = prices / price_max
        hours[:, 2] = future_price / price_max
        self._hour_obs = np.clip(hours, 0.0, 1.0)

    def _current_stock(self) -> np.ndarray:
        """(2, N_B, L): counts and incoming at the start of the current hour."""
        t = self._t
        return self._day_out[1][t - 1] if t else self._stock0

    @property
    def state(self) -> dynamics.ExpresswayState | None:
        """The state at the start of the current hour (None before the first reset), a
        copy: changing it changes nothing."""
        t = self._t
        if t < 0:
            return None
        stock = self._current_stock()
        esum = self._day_out[5][:t]
        return dynamics.ExpresswayState(
            t, stock[0].copy(), stock[1].copy(), int(esum[:, dynamics.SERVED].sum()),
            int(esum[:, dynamics.UNSERVED].sum()), int(self._day_out[7][:t].sum()))

    def _new_episode(self) -> None:
        """The compiled step's struct (``Episode``) over this env's arrays, and the step
        compiled for it, called past numba's dispatch (``core.compiled.entry_point``)."""
        self._ep = _make_episode(**self._episode_fields())
        self._step_fn = entry_point(_env_step, self._ep, 0, self._actions_arr[0])

    def _episode_fields(self) -> dict[str, Any]:
        """``EPISODE_FIELDS`` by name: this env's arrays and the config's constants."""
        c, cf = self.config, self._cf
        return dict(
            tab=self.tables.hour, nvec=self.moves_layout.nvec, arrivals=self._arrivals,
            candidates=self._candidates, release_open=self._release_open, prices=self._prices,
            stock0=self._stock0, obs_hours=self._obs_hours, mask_hours=self._mask_hours,
            actions=self._actions_arr, out=self._day_out,
            cf=(cf.stock, cf.cost, cf.active, cf.total, cf.back, cf.started),
            dispatch=self._dispatch_buf, release=self._release_buf, obs=self._obs_buf,
            mask=self._mask_buf, with_cf=c.release_counterfactual, scale=c.batteries_per_station,
            hour_obs=self._hour_obs, max_arrivals=c.max_arrivals_per_class,
            max_release=c.max_release_per_class, day_sums=self._day_sums_buf,
            saving=self._saving_buf)

    def _row_views(self) -> None:
        """Each hour's per-station rows of the record, as views made once (``step``)."""
        self._station_rows, self._evs_rows = list(self._day_out[2]), list(self._day_out[3])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        # a numba struct, compiled code and views (pickled as copies) are rebuilt from
        # the arrays
        state["_ep"] = state["_step_fn"] = state["_station_rows"] = state["_evs_rows"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._row_views()
        if self.tables is not None:
            self._new_episode()

    @property
    def history(self) -> tuple[dynamics.HourResult, ...]:
        """What each hour of the episode so far did (a copy of the episode's record)."""
        if self._t <= 0:
            return ()
        day = dynamics._batch_hour(*(x[: self._t].copy() for x in self._day_out), True)
        return tuple(day.result(t) for t in range(self._t))

    def _starts(self) -> list[dynamics.ExpresswayState]:
        """The state at the start of each hour played (counts and incoming only)."""
        return [dynamics.ExpresswayState(t, *(self._day_out[1][t - 1] if t else self._stock0))
                for t in range(self._t)]

    @property
    def _actions(self) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The requested actions of the episode so far as (moves, dispatch, release) (station
        mode: the moves its station actions gave)."""
        return [self.moves_layout.decode(a) for a in self._actions_arr[: self._t]]

    def note_metric(self, name: str, value: float) -> None:
        """Let a planner report on its solve in the episode metrics (``PLANNER_METRICS``):
        the oracle sets ``planner_mip_gap`` (relative, of its day plan),
        ``planner_time_limit_hit`` (1 if the MILP stopped at its time limit) and
        ``planner_solve_time_s``. They stay 0 for policies that solve no MILP."""
        if name not in self._planner_metrics:
            raise ValueError(f"name: not a planner metric of Expressway: {name!r} "
                             f"(one of {sorted(PLANNER_METRICS)})")
        self._planner_metrics[name] = float(value)

    def release_savings(self) -> np.ndarray:
        """(T,) eq. (19) R_BSS per hour of the day so far: the cost the releases of that
        hour saved, the episode's actions replayed without them (``dynamics.
        release_savings``; at the end of the day from the counterfactual days the last step
        ran). Released EVs are paid λ·R_BSS (eq. 18), split per EV."""
        T, n = self.config.horizon_h, self._t
        if n < 0:
            raise RuntimeError("release_savings() before reset()")
        if self._release_savings is None or n < T:
            self._release_savings = np.zeros(T)
            if not self.config.release_counterfactual:
                self._release_savings[:] = np.nan
            elif n == T:  # written by the last step (``_end_of_day``)
                self._release_savings = self._saving_buf.copy()
            elif self._day_out[7][:n].any():
                self._release_savings = dynamics.release_savings(
                    self.instance, self.tables, self._actions, list(zip(self._starts(), self.history)))
        return self._release_savings

    def episode_metrics(self) -> dict[str, float]:
        """Day totals ($, kWh, EV counts) and per-station PPC/BDC (the paper's Table 3)."""
        n = max(self._t, 0)
        if not n:
            return {}
        k, n_st = len(_DAY_SUMS), self.config.n_stations
        if n == self.config.horizon_h:
            sums = self._day_sums_buf  # written by the last step (``_end_of_day``)
        else:
            sums = np.zeros(k + 2 * n_st)
            _day_sums(self._ep, n, sums)
        values = sums.tolist()
        out = dict(zip(_DAY_SUMS, values))
        saving = sum(self.release_savings().tolist())  # in hour order, as the vector env
        out["release_saving_usd"] = saving
        out["release_payment_usd"] = self.config.lambda_release * saving
        out.update(self._planner_metrics)
        per_station = values[k:]  # PPC of each station, then BDC of each
        for n, (ppc_key, bdc_key) in enumerate(self._station_keys):
            out[ppc_key] = per_station[n]
            out[bdc_key] = per_station[n_st + n]
        return out
