"""``swapgym/GridResilience-v0`` — hour-by-hour emergency operation of the IEEE 33-bus
feeder after a disaster, with EV replaceable batteries and mobile storage."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from swapgym.envs.core.config import build_config
from swapgym.envs.grid_resilience import dynamics
from swapgym.envs.grid_resilience.config import GridResilienceConfig
from swapgym.envs.grid_resilience.instance import GridResilienceInstance, make_instance


class GridResilienceEnv(gym.Env):
    """Keep the loads of a storm-damaged distribution feeder supplied for a day.

    ## Description
    The IEEE 33-bus feeder (Baran & Wu; pandapower ``case33bw``, 3.7 MW peak) "improved"
    as in the paper: 2 gas turbines, 3 PV generators (forecast vs actual output), 2
    stationary storages (SESS), 5 candidate EV replaceable-battery (EV-RB) nodes whose
    packs are discharged through idle EVs and charging piles, and mobile energy storage
    (MESS, 3 types) that drive between 5 connection sites. A typical disaster scenario
    (k-means of a wind-fragility sample, probability κ_z) has cut some lines (hardened
    lines never fail); the feeder splits into islands. Each hour the agent dispatches
    EV-RB, SESS, MESS and gas turbines and moves MESS; the environment closes the
    balance of each island (grid import in the substation island, then load shedding in
    ascending priority δ_n), computes LinDistFlow flows/voltages and charges the paper's
    lower-level cost. Physics in ``dynamics.py``, data in ``instance.py``.

    ## Action Space
    ``Box(-1, 1, (S + G + M,), float32)`` with S = 5 EV-RB nodes + SESS + MESS units,
    G gas turbines, M MESS units (defaults: S = 10, G = 2, M = 3):

    | slice | meaning |
    |---|---|
    | storage s | power = a · P_s^max; > 0 discharge, < 0 charge (clipped to SoC limits) |
    | gas turbine i | output = (a + 1)/2 · capacity |
    | MESS target m | K + 1 equal bins of [-1, 1]: bin 0 stay, bin k drive to site k − 1 |

    ## Observation Space
    ``Box(0, 1, (3 + 2N + L + J + S + M(K + 2),), float32)`` (N = 33 buses, L = 32
    lines, J PV units, K sites):

    | entries | quantity | scale |
    |---|---|---|
    | 0 | hour t | ÷ horizon |
    | 1 | grid price λ_t | ÷ max price |
    | 2 | substation import headroom | ÷ substation limit (1 if unused) |
    | N | demand per bus this hour | ÷ (1.5 × largest peak bus load) |
    | N | bus connected to the substation | 0/1 |
    | L | line in service u_l | 0/1 |
    | J | PV forecast | ÷ PV capacity |
    | S | stored energy | ÷ E^max (0 if no capacity) |
    | M·K | MESS parked at site k | one-hot (all 0 while travelling) |
    | M | MESS hours to arrival | ÷ max travel time |
    | M | MESS moves left | ÷ move limit |

    ## Rewards
    ``−`` the paper's lower-level cost of the hour in CNY (shedding Σ δ_n PL^shed,
    PV curtailment χ, grid purchase λ_t P^grid, gas-turbine fuel α_i, EV-RB / MESS / SESS
    losses w·(P^c + P^d), network term β Σ|Pf_l|); ``info["reward_breakdown"]`` holds
    each term (negative).

    ## Starting State
    A typical scenario z drawn with probability κ_z (or ``scenario_index``), storages at
    their initial SoC, every MESS at the depot site.

    ## Episode End
    Terminated after ``horizon_h`` steps (24). ``info["episode_metrics"]`` on the last step:
    energy not served (total, critical), cost terms, voltage violations, line overloads.

    ## Arguments
    ``gym.make("swapgym/GridResilience-v0", **fields)`` with any field of
    ``GridResilienceConfig`` (resource allocation ``rb_counts``, ``mess_counts``,
    ``reinforced_lines`` default to the paper's Method 1), ``render_mode="rgb_array"``.
    ``reset(options={"scenario": z})`` plays scenario z.

    ## Reference
    "A Multi-Type Emergency Resource Optimization Strategy for Distribution Networks
    Considering the Involvement of Electric Vehicle Replaceable Batteries"
    (``shared/papers/grid_resilience_ev_rb.txt``); M. E. Baran, F. F. Wu, IEEE Trans.
    Power Delivery 4(2), 1989 (feeder and DistFlow).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: GridResilienceConfig | dict | None = None,
                 render_mode: str | None = None, **overrides: Any) -> None:
        self.config = build_config(GridResilienceConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        self.instance: GridResilienceInstance = make_instance(self.config)
        inst = self.instance
        n_act = dynamics.action_size(inst)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(n_act,), dtype=np.float32)
        fd = inst.feeder
        m, k = inst.n_mess, inst.n_sites
        n_obs = 3 + 2 * fd.n_bus + fd.n_line + len(inst.dg_bus) + inst.storage.n + m * (k + 2)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(n_obs,), dtype=np.float32)
        self.state: dynamics.GridResilienceState | None = None
        self.last_outcome: dynamics.StepOutcome | None = None
        # Constants of the observation, computed once.
        self._load_scale = 1.5 * max(fd.peak_p_kw.max(), 1e-9)
        self._price_scale = max(inst.price.max(), 1e-9)
        self._dg_scale = np.where(inst.dg_capacity_kw > 0, inst.dg_capacity_kw, 1.0)
        self._e_scale = np.where(inst.storage.energy_max_kwh > 0, inst.storage.energy_max_kwh, 1.0)
        self._travel_scale = max(int(inst.travel_h.max()), 1)
        self._move_scale = max(self.config.mess_move_limit, 1)
        self._static_topology = [
            (np.asarray(topo.island == topo.root_island, dtype=np.float32),
             np.asarray(topo.in_service, dtype=np.float32)) for topo in inst.topologies]
        self._probabilities = np.array([s.probability for s in inst.scenarios])
        self._probabilities = self._probabilities / self._probabilities.sum()
        # Inverse-CDF draw of the scenario: what Generator.choice(n, p=...) does, without
        # its per-call checks (the same draw from the same generator state).
        self._scenario_cdf = self._probabilities.cumsum()
        self._scenario_cdf /= self._scenario_cdf[-1]
        dynamics.step_tables(inst)  # built now, not in the first step
        # Observation rows per scenario and hour 0..horizon with every entry that depends
        # only on (z, t); the state's part (the tail, and the headroom) is filled per step.
        self._obs_rows = [np.stack([self._static_observation(z, t) for t in range(self.config.horizon_h + 1)])
                          for z in range(inst.n_scenarios)]
        self._n_tail = inst.storage.n + m * (k + 2)
        self._critical = np.flatnonzero(inst.critical)
        self._mess_obs: dict[tuple, np.ndarray] = {}  # see _mess_observation

    # -- gymnasium API ---------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        inst = self.instance
        scenario = (options or {}).get("scenario", self.config.scenario_index)
        if scenario is None:
            scenario = int(self._scenario_cdf.searchsorted(self.np_random.random(), side="right"))
        elif not (isinstance(scenario, int | np.integer) and 0 <= scenario < inst.n_scenarios):
            raise ValueError(f"options['scenario']: expected an int in [0, {inst.n_scenarios}), got {scenario!r}")
        self.state = dynamics.initial_state(inst, int(scenario))
        self.state.totals = {key: 0.0 for key in _TOTAL_KEYS}
        self.last_outcome = None
        return self._observation(), {"scenario": int(scenario), "load_served_kw": 0.0}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("GridResilienceEnv: call reset() before step()")
        if self.state.t >= self.config.horizon_h:
            raise RuntimeError("GridResilienceEnv: episode is over; call reset()")
        a = np.asarray(action, dtype=np.float64)
        # a·a is finite only if every entry is (inf and NaN propagate); check the slow way
        # only when it is not (it also overflows for huge finite entries).
        if a.shape != self.action_space.shape or (not math.isfinite(a.dot(a)) and not np.isfinite(a).all()):
            raise ValueError(f"action: expected a finite array of shape {self.action_space.shape} "
                             f"in [-1, 1] (Box), got shape {a.shape}")
        inst = self.instance
        out = dynamics.step(inst, self.state, dynamics.decode_action(inst, a))
        self.last_outcome = out
        breakdown = {key: -value for key, value in out.costs.items()}
        reward = float(sum(breakdown.values()))
        add = np.add.reduce
        shed = float(add(out.shed_kw))
        shed_critical = float(add(out.shed_kw[self._critical]))
        served = out.load_total_kw - shed
        tot = self.state.totals
        tot["energy_demand_kwh"] += out.load_total_kw
        tot["energy_not_served_kwh"] += shed
        tot["critical_energy_not_served_kwh"] += shed_critical
        tot["voltage_violation_bus_hours"] += out.voltage_violations
        tot["line_overload_hours"] += out.line_overloads
        tot["total_cost"] += -reward
        tot["grid_import_kwh"] += out.grid_kw
        tot["dg_curtailed_kwh"] += out.dg_curtailed_total_kw
        for key, value in out.costs.items():
            tot[_COST_TOTAL_KEYS[key]] += value
        terminated = self.state.t >= self.config.horizon_h
        imbalance = out.island_imbalance_kw.tolist()
        info = {
            "reward_breakdown": breakdown,
            "hour": self.state.t,
            "load_served_kw": served,
            "load_shed_kw": shed,
            "critical_load_shed_kw": shed_critical,
            "grid_import_kw": out.grid_kw,
            "gt_output_kw": float(add(out.gt_kw)),
            "dg_curtailed_kw": out.dg_curtailed_total_kw,
            "storage_discharge_kw": float(add(out.storage_kw)),
            "min_voltage_pu": out.min_voltage_pu,
            "voltage_violations": out.voltage_violations,
            "line_overloads": out.line_overloads,
            "island_imbalance_kw": max(max(imbalance), -min(imbalance)),  # max |·| over a few islands
        }
        if terminated:
            info["episode_metrics"] = self.episode_metrics()
        return self._observation(), reward, terminated, False, info

    def episode_metrics(self) -> dict[str, float]:
        tot = dict(self.state.totals) if self.state is not None else {}
        if not tot:
            return {}
        tot["load_served_fraction"] = 1.0 - tot["energy_not_served_kwh"] / max(tot["energy_demand_kwh"], 1e-9)
        tot["scenario"] = float(self.state.scenario)
        return {k: float(v) for k, v in tot.items()}

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from swapgym.envs.grid_resilience.render import render_rgb

        return render_rgb(self.instance, self.state, self.last_outcome)

    # -- helpers ---------------------------------------------------------------------
    def _static_observation(self, z: int, t_state: int) -> np.ndarray:
        """The observation entries fixed by scenario z and hour ``t_state`` (float32,
        clipped): 0 where the state's entries go, headroom 1 (no import yet)."""
        inst = self.instance
        t = min(t_state, self.config.horizon_h - 1)
        load_tab, _, dg_tab = inst.scenario_tables[z]
        connected, in_service = self._static_topology[z]
        obs = np.concatenate([
            [t_state / self.config.horizon_h, inst.price[t] / self._price_scale, 1.0],  # headroom 1 if unused
            load_tab[t] / self._load_scale, connected, in_service, dg_tab[t] / self._dg_scale,
            np.zeros(inst.storage.n + inst.n_mess * (inst.n_sites + 2)),
        ]).astype(np.float32)
        return np.minimum(np.maximum(obs, 0.0), 1.0)

    def _observation(self) -> np.ndarray:
        inst, st = self.instance, self.state
        obs = self._obs_rows[st.scenario][st.t].copy()
        if self.last_outcome is not None and self.config.substation_capacity_kw > 0:
            # Clipping before the float32 cast equals clipping after it (0 and 1 are exact).
            headroom = 1.0 - self.last_outcome.grid_kw / self.config.substation_capacity_kw
            obs[2] = min(max(headroom, 0.0), 1.0)
        start = len(obs) - self._n_tail
        s = inst.storage.n
        tail = obs[start:]
        tail[:s] = st.energy_kwh / self._e_scale  # (float64 → float32 like astype)
        if inst.n_mess:
            tail[s:] = self._mess_observation(st)
        np.minimum(np.maximum(tail, 0.0, out=tail), 1.0, out=tail)
        return obs

    def _mess_observation(self, st: dynamics.GridResilienceState) -> np.ndarray:
        """The MESS entries (one-hot site, hours to arrival, moves left) as float32,
        cached per MESS situation (it changes only when a MESS departs or arrives)."""
        site, moves = st.mess_site.tolist(), st.mess_moves.tolist()
        hours = None
        if min(site) < 0:
            t = st.t
            hours = tuple(max(a - t, 0) if s < 0 else 0 for s, a in zip(site, st.mess_arrive.tolist()))
        key = (tuple(site), tuple(moves), hours)
        seg = self._mess_obs.get(key)
        if seg is None:
            inst = self.instance
            m, k, limit = inst.n_mess, inst.n_sites, self.config.mess_move_limit
            mess = [0.0] * (m * (k + 2))
            for j in range(m):
                if site[j] >= 0:
                    mess[j * k + site[j]] = 1.0  # parked at site k (one-hot)
                else:  # hours to arrival
                    mess[m * k + j] = hours[j] / self._travel_scale
                mess[m * (k + 1) + j] = (limit - moves[j]) / self._move_scale
            if len(self._mess_obs) > 4096:
                self._mess_obs.clear()
            seg = self._mess_obs[key] = np.array(mess).astype(np.float32)
        return seg


_COST_TOTAL_KEYS = {k: f"cost_{k}" for k in dynamics.COST_KEYS}
_TOTAL_KEYS = ("energy_demand_kwh", "energy_not_served_kwh", "critical_energy_not_served_kwh", "voltage_violation_bus_hours", "line_overload_hours", "total_cost", "grid_import_kwh", "dg_curtailed_kwh", *tuple(f"cost_{k}" for k in dynamics.COST_KEYS))
