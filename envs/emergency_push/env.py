"""``swapgym/EmergencyPush-v0`` — the second-level response of the emergency-push paper."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from swapgym.envs.core.config import build_config
from swapgym.envs.emergency_push import dynamics
from swapgym.envs.emergency_push.config import EmergencyPushConfig
from swapgym.envs.emergency_push.instance import (
    EmergencyPushInstance,
    check_instance_config,
    make_instance,
)

N_GLOBAL = 8
N_SLOT_FEATURES = 4


class EmergencyPushEnv(gym.Env):
    """Push battery-swap requests to nearby EVs so a community battery-swap station keeps
    supplying a blacked-out community.

    ## Description
    A battery swap station at the centre of a 26×26-cell street grid (0.3 km cells)
    powers its community (W_4 = 33 kWh/h) from its battery stock during a blackout
    (first-level response). Once the stock falls to E_low = 66 kWh the second-level
    response starts: every hour the online platform pushes swap requests to EVs inside a
    4 km circle. A user who agrees drives to the station; it swaps its battery for one
    holding θ5 (the safe return energy), so the station gains C_2 − d·W_3 − θ5. The
    station can swap one vehicle every 5 minutes (N_t = 12 per hour, eq. 5), and
    vehicles arriving within 5 minutes of the previous one are filtered out.
    Dynamics in ``dynamics.py``; static models (push range, θ5) in ``static.py``.

    ## Action Space
    ``MultiBinary(4·K)`` (K = ``candidate_slots``, default 12): one push flag per slot of
    four candidate blocks listed in the observation:

    | block | ranking (route the vehicle takes) | filter |
    |---|---|---|
    | 0 time-first | arrival time, ties by distance (Scheme A; time-optimal path) | valid (eq. 6), one per swap window |
    | 1 distance-first | path distance, ties by time (Scheme B; distance-optimal path) | valid, one per swap window |
    | 2 energy-first | net energy brought, most first (distance-optimal path) | valid, one per swap window |
    | 3 nearest | path distance (control group 2; distance-optimal path) | none |

    The hour has N_t = 12 swap windows of 5 min; blocks 0–2 are the push lists the
    platform builds by walking a ranking and keeping the best-ranked valid vehicle of
    each window (section 3.3.2's conflict filter). A vehicle selected in several slots
    is pushed once, with the route of its first selected block; at most
    ``max_push_per_round`` (24) pushes, extra ones dropped in slot order. Scheme A is
    "the first 12 slots of block 0", Scheme B "the first 12 of block 1"; an agent may
    push any subset. ``action_masks()`` (MaskablePPO format, two entries per slot)
    forbids empty slots and any push before the second-level response starts.

    ## Observation Space
    ``Box(-1, 10, (8 + 4·K·4,), float32)``:

    | index | quantity | unit / scale |
    |---|---|---|
    | 0 | station energy E | ÷ capacity |
    | 1 | hour of the blackout | ÷ blackout_hours |
    | 2 | second-level response active | 0/1 |
    | 3 | E < E_low | 0/1 |
    | 4 | E ≥ E_high | 0/1 |
    | 5 | community demand this round | ÷ E_low |
    | 6 | consent probability | – |
    | 7 | N_t | ÷ max_push_per_round |
    | 8 + 4·(b·K + k) + 0..3 | slot k of block b: present, arrival time, path distance, net energy the battery would add (C_2 − d·W_3 − θ5) | 0/1, ÷ push cycle, ÷ push radius, ÷ Q_e clipped to [−1, 1] |

    ## Rewards
    ``−(10·unmet kWh + 0.05·max(0, E_high − E) + 0.05·km driven)`` per round, split in
    ``info["reward_breakdown"]`` as ``unmet_energy``, ``below_target``, ``travel``.

    ## Starting State
    Speed limits per segment U(20, 60) km/h and the 411 vehicle intersections drawn per
    episode; E = ``initial_energy_kwh`` (E_low, as the paper's Figure 3); each round a
    fresh snapshot of charges U{15..100} kWh, congestion U(0.5, 1) and consents.

    ## Episode End
    Terminated after ``blackout_hours`` rounds (24). No truncation inside the env.

    ## Arguments
    ``gym.make("swapgym/EmergencyPush-v0", **fields)`` with any field of
    ``EmergencyPushConfig`` (or ``config=EmergencyPushConfig(...)``), ``render_mode="rgb_array"``.
    ``reset(options={"instance": inst})`` plays a hand-built ``EmergencyPushInstance``.

    ## Reference
    C. Li, J. Li, Z. Yang, "Research on Vehicle Scheduling of Battery Swap Stations Based on
    Online Information Platforms" (``shared/papers/emergency_push_online_platform.txt``).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: EmergencyPushConfig | dict | None = None,
                 render_mode: str | None = None, **overrides: Any) -> None:
        self.config = build_config(EmergencyPushConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        check_instance_config(self.config)
        k = self.config.candidate_slots
        n_blocks = len(dynamics.BLOCKS)
        self.action_space = gym.spaces.MultiBinary(n_blocks * k)
        size = N_GLOBAL + n_blocks * k * N_SLOT_FEATURES
        self.observation_space = gym.spaces.Box(-1.0, 10.0, shape=(size,), dtype=np.float32)
        self.instance: EmergencyPushInstance | None = None
        self.state: dynamics.EmergencyPushState | None = None
        self.last_round: dynamics.RoundResult | None = None

    # -- gymnasium API ---------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        inst = (options or {}).get("instance")
        if inst is not None and not isinstance(inst, EmergencyPushInstance):
            raise ValueError("options['instance']: expected an EmergencyPushInstance")
        self.instance = inst if inst is not None else make_instance(self.config, self.np_random)
        self.state = dynamics.initial_state(self.instance, self.np_random)
        self.last_round = None

        return self._observation(), {"station_energy_kwh": self.state.energy_kwh, "hour": 0}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("EmergencyPushEnv: call reset() before step()")
        if self.state.hour >= self.config.blackout_hours:
            raise RuntimeError("EmergencyPushEnv: episode is over; call reset()")
        selection = np.asarray(action)
        if selection.shape != self.action_space.shape:  # 0/1 entries: checked while decoding
            raise ValueError(f"action: expected a 0/1 array of shape {self.action_space.shape} "
                             f"(MultiBinary), got shape {selection.shape}")
        vehicles, routes = dynamics.selection_to_pushes(self.instance, self.state, selection)
        result = dynamics.step(self.instance, self.state, vehicles, routes)
        self.last_round = result
        breakdown = dynamics.reward_terms(self.instance, result)
        reward = breakdown["unmet_energy"] + breakdown["below_target"] + breakdown["travel"]
        terminated = self.state.hour >= self.config.blackout_hours
        info = {
            "reward_breakdown": breakdown,
            "hour": self.state.hour,
            "station_energy_kwh": result.energy_end_kwh,
            "unmet_kwh": result.unmet_kwh,
            "delivered_kwh": result.delivered_kwh,
            "km_driven": result.km_driven,
            "vehicles_pushed": len(result.pushed),
            "vehicles_accepted": len(result.consented),
            "vehicles_arrived": len(result.swapped),
        }
        if terminated:
            info["episode_metrics"] = self.episode_metrics()
        return self._observation(), reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Two entries per slot (off, on): 'on' only for a filled slot once the
        second-level response is active."""
        mask = np.zeros(2 * self.state.candidates.size, dtype=bool)
        mask[0::2] = True
        if self.state.second_level:
            mask[1::2] = self.state.candidates.ravel() >= 0
        return mask

    def episode_metrics(self) -> dict[str, float]:
        tot = self.state.totals
        hist = np.asarray(self.state.energy_history)
        return {
            "unmet_kwh": tot["unmet_kwh"], "served_kwh": tot["served_kwh"],
            "delivered_kwh": tot["delivered_kwh"], "km_driven": tot["km_driven"],
            "vehicles_pushed": tot["vehicles_pushed"], "vehicles_accepted": tot["vehicles_accepted"],
            "vehicles_arrived": tot["vehicles_arrived"],
            "hours_below_e_low": tot["hours_below_e_low"],
            "first_hour_e_high": tot["first_hour_e_high"],
            "final_energy_kwh": float(hist[-1]), "min_energy_kwh": float(hist[1:].min()),
            "mean_energy_kwh": float(hist[1:].mean()), "peak_energy_kwh": tot["peak_energy_kwh"],
        }

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from swapgym.envs.emergency_push.render import render_rgb

        return render_rgb(self.instance, self.state, self.last_round)

    # -- helpers ----------------------------------------------------------------------
    def _observation(self) -> np.ndarray:
        cfg, inst, st = self.config, self.instance, self.state
        obs = np.empty(self.observation_space.shape, dtype=np.float32)
        e = st.energy_kwh
        obs[0] = e / cfg.station_capacity_kwh
        obs[1] = st.hour / cfg.blackout_hours
        obs[2] = st.second_level
        obs[3] = e < cfg.e_low_kwh
        obs[4] = e >= cfg.e_high_kwh
        hour = min(st.hour, cfg.blackout_hours - 1)
        obs[5] = inst.demand_kwh[hour] / cfg.e_low_kwh if cfg.e_low_kwh > 0 else 0.0
        obs[6] = inst.consent_probability
        obs[7] = inst.n_push_max / cfg.max_push_per_round
        obs[N_GLOBAL:] = st.slots.ravel()
        return obs
