"""Gymnasium environment: electric-van fleet with V2V energy sharing and time windows."""

from __future__ import annotations

from array import array
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from swapgym.envs.core.config import build_config
from swapgym.envs.fleet_v2v import dynamics as dyn
from swapgym.envs.fleet_v2v.config import FleetV2VConfig
from swapgym.envs.fleet_v2v.instance import FleetV2VInstance, make_instance

_INTEGER = (int, np.integer)
_OBS_AT = ("deciding_van", "soc", "position_km", "mode", "remaining_km", "next_window_h",
           "station_km", "provider_kwh", "rendezvous_km", "time_h")
_ONE_HOT = tuple(array("f", [1.0 if i == m else 0.0 for i in range(6)]) for m in range(6))


class FleetV2VEnv(gym.Env):
    """## Description
    A fleet of electric vans serves customers with soft time windows along assigned
    routes (Ye et al. 2025). When a van's SOC falls to the station-decision threshold
    (10.5 %) it may replenish at a charging station (V2CS) or meet a provider van with
    spare energy at a rendezvous point (V2V, 30 kW, 97 %). Each step is one *decision
    event* of one van — it reached a node, finished service / charging / a transfer, or
    its SOC crossed the threshold mid-road — and the agent picks what it does next and
    the speed of the next segment. Energy per km comes from a longitudinal-dynamics
    surrogate (U-shaped in speed), so speed trades energy against time and windows.

    ## Action Space
    ``Discrete((1 + S + V) · L)``; ``a = choice · L + level``. choice 0: go on to the
    next route node (the depot once the route is done); 1..S: drive to charging station
    j and top up to the need; 1+S+p: meet provider van p at the rendezvous point the
    dynamics choose (least combined detour + waiting) — the provider finishes its
    current task, drives there at the legal maximum, both transfer, both decide anew.
    level: index into ``speed_levels_kmh`` (10, 15, …, 60 km/h). ``action_masks()``
    (flat, length (1+S+V)·L) marks feasible pairs: reachable at that speed with the
    energy on board; stations and V2V only at or below the threshold; providers only
    with spare energy above their own route + 10 % reserve. A masked action is
    replaced by the first feasible one (go on first; ``info["action_replaced"]``).

    ## Observation Space
    ``Dict`` of 1-D float32 boxes (V vans, S stations; SB3's MultiInputPolicy takes it):

    | key | shape | unit | meaning |
    |---|---|---|---|
    | time_h | (1,) | h | clock time |
    | deciding_van | (V,) | one-hot | the van this decision is for |
    | soc | (V,) | fraction | state of charge now |
    | position_km | (2V,) | km | east, north of the depot per van (x0, y0, x1, …) |
    | mode | (6V,) | one-hot | per van: ready, moving, busy, waiting, done, stranded |
    | remaining_km | (V,) | km | road km left on the route (from the current point / move start) |
    | next_window_h | (2V,) | h | per van: window of its next route node (0, 0 if not a task) |
    | station_km | (S,) | km | deciding van's road distance to each station |
    | provider_kwh | (V,) | kWh | energy the deciding van would receive from each provider (0: not offered) |
    | rendezvous_km | (V,) | km | deciding van's distance to each provider's rendezvous (0: not offered) |

    ## Rewards
    Minus the cost (¥) accrued between two decisions; ``info["reward_breakdown"]`` splits
    it into charging (station purchases), battery_energy (γ × energy the batteries lost:
    driving costs, refills credit — over an episode charging + battery_energy = station
    cash + the value of the depot recharge), time (ξ per active van-hour), time_window
    (γ·(Pe·early + Pl·late)), aging (cycle-life wear) and stranding.

    ## Starting State
    Every van at the depot at ``depart_time_h`` with its initial SOC; the consumption of
    each van is scaled by a per-episode random factor (``consumption_noise_std``).
    ``instance="random"`` draws a new instance at every reset.

    ## Episode End
    Terminated when every van is back at the depot (or stranded) or at ``time_limit_h``
    (unserved tasks are then charged as late); truncated after ``max_decisions``.

    ## Arguments
    ``gym.make("swapgym/FleetV2V-v0", **FleetV2VConfig fields)``; see ``FleetV2VConfig``.

    ## Reference
    Z. Ye, Q. Han, K. Han, Y. Wang, C. Zhao, H. Yang, J. Du, "Coordinating V2V Energy
    Sharing for Electric Fleets via Multi-Granularity Modeling and Dynamic Spatiotemporal
    Matching", Sustainability 17(19):8783, 2025.

    ## Version History
    v0: first version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: FleetV2VConfig | dict | None = None, render_mode: str | None = None,
                 **overrides: Any) -> None:
        self.config: FleetV2VConfig = build_config(FleetV2VConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, "
                             f"got {render_mode!r}")
        self.render_mode = render_mode
        self.instance: FleetV2VInstance = make_instance(self.config, np.random.default_rng(0))
        inst = self.instance
        v_n, s_n, l_n = inst.n_vans, inst.n_stations, len(inst.speed_levels_kmh)
        self.n_choices, self.n_levels = 1 + s_n + v_n, l_n
        self.n_actions = self.n_choices * l_n
        self.action_space = spaces.Discrete(self.n_actions)
        f32 = np.float32
        big = 1e4
        self.observation_space = spaces.Dict({
            "time_h": spaces.Box(0.0, 24.0, (1,), f32),
            "deciding_van": spaces.Box(0.0, 1.0, (v_n,), f32),
            "soc": spaces.Box(0.0, 1.0, (v_n,), f32),
            "position_km": spaces.Box(-big, big, (2 * v_n,), f32),
            "mode": spaces.Box(0.0, 1.0, (6 * v_n,), f32),
            "remaining_km": spaces.Box(0.0, big, (v_n,), f32),
            "next_window_h": spaces.Box(0.0, 24.0, (2 * v_n,), f32),
            "station_km": spaces.Box(0.0, big, (s_n,), f32),
            "provider_kwh": spaces.Box(0.0, big, (v_n,), f32),
            "rendezvous_km": spaces.Box(0.0, big, (v_n,), f32),
        })
        self._shapes = {k: sp.shape for k, sp in self.observation_space.spaces.items()}
        offsets = np.cumsum([0] + [int(np.prod(s)) for s in self._shapes.values()])
        self._slices = {k: slice(int(a), int(b)) for k, a, b in
                        zip(self._shapes, offsets[:-1], offsets[1:])}
        self._buf = np.zeros(int(offsets[-1]), np.float32)
        self._energy_now = [0.0] * v_n
        self.state: dyn.FleetState | None = None
        self._plan: dyn.RendezvousPlan | None = None
        self._mask = np.ones((self.n_choices, l_n), dtype=bool)
        self._tables()

    def _tables(self) -> None:
        """Plain-Python lookup tables for ``_obs`` (rebuilt when the instance changes)."""
        inst = self.instance
        r_max = max(len(r) for r in inst.routes)
        tab = np.full((inst.n_vans, r_max + 1), inst.depot, dtype=np.int64)
        for v, r in enumerate(inst.routes):
            tab[v, : len(r)] = r
        self._route_table = tab.tolist()
        self._route_cols = r_max + 1
        self._suffix = inst.route_suffix_km.tolist()
        self._window = [array("f", w) for w in np.nan_to_num(inst.window_h, nan=0.0).tolist()]
        self._stations = inst.station_nodes
        # road km node -> node and node -> each station (a van standing at node n has
        # ``origin_dist_km[v] == dist_km[n]``)
        self._dist = inst.dist_km.tolist()
        self._station_km = [array("f", r) for r in inst.dist_km[:, inst.station_nodes].tolist()]
        # the observation as one flat float32 array in the Dict space's (alphabetical) key
        # order, kept between steps: ``_obs`` rewrites only what changed (an ``array``
        # item is set from a Python float with the same float32 rounding as numpy's)
        sl = self._slices
        self._vals = array("f", bytes(4 * len(self._buf)))
        self._at = tuple(sl[k].start for k in _OBS_AT)  # offsets of the keys in _OBS_AT
        self._views = list(sl.items())
        self._shown_dec = -1  # deciding van whose one-hot entry is set
        self._shown_plan = False  # provider_kwh / rendezvous_km hold a plan
        self._van_cache: list = [None] * inst.n_vans  # per van: see ``_obs``

    # -- gym API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.config.custom_instance is None and self.config.instance == "random":
            self.instance = make_instance(self.config, self.np_random)
            self._tables()
        self.state = dyn.new_state(self.config, self.instance, self.np_random)
        dyn.advance(self.config, self.instance, self.state)
        self._refresh()
        obs = self._obs()
        return obs, self._info(dict.fromkeys(dyn.COST_TERMS, 0.0), False)

    def step(self, action):
        st = self.state
        if st is None:
            raise RuntimeError("step() called before reset()")
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise ValueError(f"action: expected an integer in [0, {self.action_space.n}), "
                             f"got {action!r}") from None
        if not 0 <= a < self.n_actions or (not isinstance(action, _INTEGER) and (
                np.ndim(action) > 1 or np.size(action) != 1)):
            raise ValueError(f"action: expected an integer in [0, {self.n_actions}), got {action!r}")
        if st.terminated:
            raise RuntimeError("step() called after the episode ended; call reset()")
        choice, level = divmod(a, self.n_levels)
        replaced = not self._mask.item(choice, level)
        if replaced:
            choice, level = dyn.fallback(self._mask, level)
        cfg, inst, costs = self.config, self.instance, st.costs
        before = list(costs.values())  # in COST_TERMS order, as new_state made the dict
        dyn.apply_decision(cfg, inst, st, choice, level, self._plan)
        dyn.advance(cfg, inst, st)
        self._refresh()
        breakdown = {k: -(x - b) for (k, x), b in zip(costs.items(), before)}
        reward = float(sum(breakdown.values()))
        terminated = bool(st.terminated)
        truncated = (not terminated) and st.n_decisions >= cfg.max_decisions
        obs = self._obs()
        info = self._info(breakdown, replaced)
        if terminated or truncated:
            info["episode_metrics"] = self.episode_metrics()
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Flat (1+S+V)·L boolean mask, index = choice · L + level."""
        return self._mask.flatten()  # a copy

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from swapgym.envs.fleet_v2v.render import render_rgb

        return render_rgb(self.config, self.instance, self.state)

    # -- helpers -----------------------------------------------------------------------
    def _refresh(self) -> None:
        self._plan, self._mask = dyn.decision_context(self.config, self.instance, self.state)

    def _obs(self) -> dict[str, np.ndarray]:
        # ``self._vals`` holds the previous observation (float32); rewrite what changed,
        # copy it into a new numpy array and hand out views per key.
        st, inst = self.state, self.instance
        vals = self._vals
        o_dec, o_soc, o_pos, o_mode, o_rem, o_win, o_st, o_prov, o_rdv, o_time = self._at
        c = st.deciding
        if c != self._shown_dec:
            if self._shown_dec >= 0:
                vals[o_dec + self._shown_dec] = 0.0
            if c >= 0:
                vals[o_dec + c] = 1.0
            self._shown_dec = c
        # one pass over the vans (same formulas as dyn._move_fraction / _energy_now /
        # _xy_now, inlined: this is the hottest loop of the env)
        t = st.time_h
        cap = inst.battery_kwh
        xy_nodes = inst.tables.xy
        last = self._route_cols - 1
        table, suffix, window = self._route_table, self._suffix, self._window
        odist, at_node, dist = st.origin_dist_km, st.node, self._dist
        cache = self._van_cache
        moving = dyn.MOVING
        energy = []
        origins, targets, e_now = st.origin_xy_km, st.move_target, st.energy_kwh
        m_len, m_speed, m_start, m_kwh0, m_kwh = (st.move_len_km, st.move_speed_kmh,
                                                  st.move_start_h, st.move_start_kwh, st.move_kwh)
        for v, (m, k) in enumerate(zip(st.mode, st.route_idx)):
            origin, target = origins[v], targets[v]
            hit = cache[v]
            if m == moving:
                dur = m_len[v] / m_speed[v]
                f = (t - m_start[v]) / dur if dur > 0 else 1.0
                # min(max(f, 0.0), 1.0) and max(e, 0.0) written out (cheaper than the
                # builtins, same results)
                f = 0.0 if f < 0.0 else f
                f = 1.0 if f > 1.0 else f
                e = m_kwh0[v] - f * m_kwh[v]
                e = 0.0 if e < 0.0 else e
            else:
                e = e_now[v]
                # a van that is not moving shows the same as last time unless its mode,
                # route index, point, energy or move target changed
                if (hit is not None and hit[0] == m and hit[1] == k and hit[2] is origin
                        and hit[3] == e and hit[4] == target):
                    energy.append(e)
                    continue
                f = 0.0
            energy.append(e)
            (x0, y0), (x1, y1) = origin, xy_nodes[target]
            soc = e / cap
            vals[o_soc + v] = 1.0 if soc > 1.0 else soc
            i = o_pos + 2 * v
            vals[i] = x0 + f * (x1 - x0)
            vals[i + 1] = y0 + f * (y1 - y0)
            # mode, remaining km and next window change only with the van's mode, route
            # index or origin point (a new origin always comes as a new xy object)
            if hit is None or hit[0] != m or hit[1] != k or hit[2] is not origin:
                idx = k if k < last else last
                nxt = table[v][idx]
                if m < dyn.DONE:
                    n = at_node[v]
                    d = dist[n][nxt] if n >= 0 else float(odist[v, nxt])
                    d += suffix[v][idx]
                    vals[o_rem + v] = 1e4 if d > 1e4 else d
                else:
                    vals[o_rem + v] = 0.0
                i = o_win + 2 * v
                vals[i: i + 2] = window[nxt]
                i = o_mode + 6 * v
                vals[i: i + 6] = _ONE_HOT[m]
            cache[v] = (m, k, origin, e, target)
        self._energy_now = energy
        n_s = len(self._stations)
        if c >= 0:
            n = at_node[c]
            vals[o_st: o_st + n_s] = (self._station_km[n] if n >= 0
                                      else array("f", odist[c, self._stations].tolist()))
        else:
            vals[o_st: o_st + n_s] = array("f", bytes(4 * n_s))
        plan = self._plan if c >= 0 else None
        v_n = len(energy)
        if plan is not None:
            has = plan.node >= 0
            vals[o_prov: o_prov + v_n] = array("f", np.minimum(
                np.where(has, plan.deliver_kwh, 0.0), 1e4).tolist())
            vals[o_rdv: o_rdv + v_n] = array("f", np.where(has, plan.consumer_km, 0.0).tolist())
            self._shown_plan = True
        elif self._shown_plan:
            vals[o_prov: o_prov + v_n] = vals[o_rdv: o_rdv + v_n] = array("f", bytes(4 * v_n))
            self._shown_plan = False
        vals[o_time] = t
        buf = np.array(vals)
        return {k: buf[s_] for k, s_ in self._views}

    def _info(self, breakdown: dict[str, float], replaced: bool) -> dict[str, Any]:
        st = self.state
        t = st.totals
        c = st.costs
        return {
            "reward_breakdown": breakdown,
            "fleet_mean_soc": _numpy_sum(self._energy_now) / len(self._energy_now)
            / self.instance.battery_kwh,
            "total_cost": st.total_cost,
            "time_h": float(st.time_h),
            "deciding_van": int(st.deciding),
            "action_replaced": bool(replaced),
            "energy_v2v_kwh": float(t["v2v_delivered_kwh"]),
            "energy_station_kwh": float(t["station_grid_kwh"]),
            "charging_cost": float(c["charging"]),
            "time_cost": float(c["time"]),
            "time_window_cost": float(c["time_window"]),
            "aging_cost": float(c["aging"]),
        }

    def episode_metrics(self) -> dict[str, float]:
        """Flat episode summary: costs (¥) by term and in total, energies (kWh), times."""
        st = self.state
        out = {f"cost_{k}": float(v) for k, v in st.costs.items()}
        out["total_cost"] = st.total_cost
        out.update({k: float(v) for k, v in st.totals.items()})
        out["end_time_h"] = float(st.time_h)
        e, cap = st.energy_kwh, self.instance.battery_kwh
        out["final_mean_soc"] = float(_numpy_sum(e) / len(e) / cap)  # = np.mean(e) / cap
        out["min_soc"] = float(min(e) / cap)
        return out


def _numpy_sum(xs: list[float]) -> float:
    """Sum of floats in numpy's order (pairwise with 8 accumulators below 128 items), so
    the result is bit-identical to ``np.sum`` without building an array."""
    n = len(xs)
    if n < 8 or n > 128:
        return float(np.sum(xs)) if n > 128 else sum(xs, 0.0)
    if n < 16:  # one block of 8, then the rest in order (the paper fleet: 9 vans)
        res = ((xs[0] + xs[1]) + (xs[2] + xs[3])) + ((xs[4] + xs[5]) + (xs[6] + xs[7]))
        for i in range(8, n):
            res += xs[i]
        return res
    r = list(xs[:8])
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += xs[i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    for x in xs[i:]:
        res += x
    return res
