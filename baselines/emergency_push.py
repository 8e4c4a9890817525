"""Baselines of the emergency-push paper (section 2.7, 2.8, 3.3.2) and a full-information
oracle. The paper's groups act on the observation alone (the push lists are in it); the
oracle reads ``env.unwrapped.state`` (who will consent) and is labelled as such.

| name | paper | rule |
|---|---|---|
| scheme_a | Scheme A | push the time-first list (12 slots) every round |
| scheme_b | Scheme B | push the distance-first list every round |
| dual_scheme | experimental group | A until E reaches E_high, then B until E falls below E_low (hysteresis; the paper's rule between the thresholds is unstated) |
| control_1 | control group 1 | dual scheme, 3 vehicles a round |
| control_2 | control group 2 | the 12 nearest vehicles, no strategy |
| oracle | — | knows consent; the most energetic consenting vehicle of each swap window while below E_high, then only the least travel that keeps E at E_high |
"""

from __future__ import annotations

import numpy as np

from swapgym.baselines.protocol import BasePolicy, register
from swapgym.envs.emergency_push import dynamics
from swapgym.envs.emergency_push.env import N_GLOBAL, N_SLOT_FEATURES

ENV_ID = "swapgym/EmergencyPush-v0"
TIME_FIRST, DISTANCE_FIRST, ENERGY_FIRST, NEAREST = range(4)


def _slots(observation: np.ndarray) -> int:
    return (len(observation) - N_GLOBAL) // (len(dynamics.BLOCKS) * N_SLOT_FEATURES)


def push_block(observation: np.ndarray, block: int, count: int) -> np.ndarray:
    """The action that pushes the first ``count`` slots of ``block``."""
    k = _slots(observation)
    action = np.zeros(len(dynamics.BLOCKS) * k, dtype=np.int8)
    action[block * k : block * k + min(count, k)] = 1
    return action


class BlockPolicy(BasePolicy):
    """Push the first ``count`` slots of one block every round (Schemes A/B, control 2)."""

    def __init__(self, block: int, count: int = 12, name: str = "block") -> None:
        super().__init__()
        self.block, self.count, self.name = block, count, name

    def act(self, observation):
        return push_block(np.asarray(observation), self.block, self.count)


class DualScheme(BasePolicy):
    """The experimental group: Scheme A while the station is low, Scheme B once E has
    reached E_high; back to A when E falls below E_low. The paper states A below E_low
    and B above E_high only; between them we keep the current scheme (hysteresis),
    which is what its Figure 3 describes ("rose steadily until it reached E_high, at
    which point it switched to Plan B")."""

    name = "dual_scheme"

    def __init__(self, count: int = 12) -> None:
        super().__init__()
        self.count = count
        self.scheme = TIME_FIRST

    def reset(self, env) -> None:
        super().reset(env)
        self.scheme = TIME_FIRST

    def act(self, observation):
        obs = np.asarray(observation)
        below_low, above_high = obs[3] > 0.5, obs[4] > 0.5
        if below_low:
            self.scheme = TIME_FIRST
        elif above_high:
            self.scheme = DISTANCE_FIRST
        return push_block(obs, self.scheme, self.count)

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        if episode_start is not None and np.any(episode_start):
            self.scheme = TIME_FIRST
        return self.act(observation), state


class ConsentOracle(BasePolicy):
    """Full information: knows which users will consent this round.

    Among the vehicles of the three push lists, it pushes only consenting vehicles the
    station will admit: under the "window" rule the most energetic consenting vehicle
    of each window (windows are independent, so that set has the most energy); under
    "queue" the N_t most energetic ones the queue can serve. It pushes that set while
    it does not overshoot E_high plus the round's demand, otherwise the
    shortest-travel part of it that covers the gap.
    It never overfills the station. An upper reference, not a proven bound: it is
    greedy across rounds.
    """

    name = "oracle"
    oracle = True

    def act(self, observation):
        inst, st = self.instance, self.state
        cfg = inst.config
        k = cfg.candidate_slots
        action = np.zeros(len(dynamics.BLOCKS) * k, dtype=np.int8)
        if not st.second_level:
            return action
        per_km = cfg.consumption_kwh_per_100km / 100.0
        # (net kWh, km, arrival h, window, flat slot) of each consenting candidate
        items, seen = [], set()
        for block in (TIME_FIRST, DISTANCE_FIRST, ENERGY_FIRST):
            route = dynamics.BLOCK_ROUTES[block]
            for slot, v in enumerate(st.candidates[block]):
                if v < 0 or v in seen or st.consent_draw[v] >= inst.consent_probability:
                    continue
                seen.add(v)
                net = st.charge_kwh[v] - st.dist_km[route, v] * per_km - inst.theta5_kwh
                items.append((net, float(st.dist_km[route, v]), float(st.time_h[route, v]),
                              int(st.window[route, v]), block * k + slot))
        if cfg.conflict_rule == "window":  # windows are independent: best of each
            best: dict[int, tuple] = {}
            for it in items:
                if it[3] >= 0 and (it[3] not in best or it[0] > best[it[3]][0]):
                    best[it[3]] = it
            feasible = list(best.values())
        else:  # queue: the N_t most energetic that the queue can serve this cycle
            top = sorted(items, key=lambda it: -it[0])[: inst.n_push_max]
            adm, _ = dynamics.queue_admission(
                np.array([it[2] for it in top]), np.array([it[0] for it in top]),
                cfg.swap_minutes / 60.0, cfg.push_cycle_h, inst.n_push_max)
            feasible = [top[i] for i in adm]
        demand = float(inst.demand_kwh[min(st.hour, len(inst.demand_kwh) - 1)])
        need = cfg.e_high_kwh + demand - st.energy_kwh
        room = cfg.station_capacity_kwh - st.energy_kwh + demand
        if need <= 0 or not feasible:
            return action
        chosen = feasible
        if sum(it[0] for it in feasible) > need:  # cover the gap with the least travel
            chosen, covered = [], 0.0
            for it in sorted(feasible, key=lambda it: (it[1], -it[0])):
                if covered >= need:
                    break
                chosen.append(it)
                covered += it[0]
        added = 0.0
        for it in sorted(chosen, key=lambda it: -it[0]):
            if added + it[0] <= room:
                action[it[4]] = 1
                added += it[0]
        return action


register(ENV_ID, "scheme_a", lambda: BlockPolicy(TIME_FIRST, 12, "scheme_a"),
         description="Scheme A: time priority, distance secondary, 12 a round")
register(ENV_ID, "scheme_b", lambda: BlockPolicy(DISTANCE_FIRST, 12, "scheme_b"),
         description="Scheme B: distance priority, time secondary, 12 a round")
register(ENV_ID, "dual_scheme", DualScheme, reference=True,
         description="experimental group: A below E_low, B from E_high (hysteresis)")
register(ENV_ID, "control_1", lambda: _named(DualScheme(count=3), "control_1"),
         description="control group 1: the same strategy, 3 vehicles a round")
register(ENV_ID, "control_2", lambda: BlockPolicy(NEAREST, 12, "control_2"),
         description="control group 2: the 12 nearest vehicles, no strategy")
register(ENV_ID, "oracle", ConsentOracle, oracle=True,
         description="full information on consent, one vehicle per window, max energy")


def _named(policy: BasePolicy, name: str) -> BasePolicy:
    policy.name = name
    return policy
