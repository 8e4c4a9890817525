"""V2CS, STLCSS-V2V and the rollout oracle for FleetV2V.

Policies read ``env.unwrapped.config / instance / state`` and the public functions of
``dynamics`` (``decision_context`` recomputes the env's mask and rendezvous plan), never
the env's private attributes.
"""

from __future__ import annotations

import numpy as np

from swapgym.baselines.fleet_v2v.speed import (
    DEFAULT_PSO,
    SpeedPlan,
    exhaustive_speed_plan,
    max_speed_plan,
    pso_speed_plan,
)
from swapgym.baselines.fleet_v2v.stlcss import (
    DELTA_D_KM,
    DELTA_T_H,
    planned_trajectory,
    stlcss_similarity,
)
from swapgym.baselines.optim.pso import PSOConfig
from swapgym.baselines.protocol import BasePolicy
from swapgym.envs.fleet_v2v import dynamics as dyn

Decision = tuple[int, int]  # (choice, level)


def _nearest_feasible_level(row: np.ndarray, level: int) -> int | None:
    ok = np.flatnonzero(row)
    if len(ok) == 0:
        return None
    return int(ok[np.argmin(np.abs(ok - level))])


class FleetPolicy(BasePolicy):
    """Common plumbing: a speed plan per van (``speed``: "max", "pso" or "exhaustive")
    and ``decide(config, instance, state, plan, mask) -> (choice, level)``, which the
    rollout oracle also calls on copied states. Subclasses choose the replenishment."""

    name = "fleet"

    def __init__(self, speed: str = "max", pso: PSOConfig = DEFAULT_PSO, seed_offset: int = 0):
        super().__init__()
        if speed not in ("max", "pso", "exhaustive"):
            raise ValueError(f"speed: must be 'max', 'pso' or 'exhaustive', got {speed!r}")
        self.speed, self.pso, self.seed_offset = speed, pso, seed_offset
        self.speed_plan: SpeedPlan | None = None

    def reset(self, env) -> None:
        super().reset(env)
        self.config = self.env.config
        seed = getattr(self.env, "np_random_seed", None)
        rng = np.random.default_rng((seed if isinstance(seed, int) and seed >= 0 else 0)
                                    + 104729 + self.seed_offset)
        cfg, inst, st = self.config, self.instance, self.state
        if self.speed == "max":
            self.speed_plan = max_speed_plan(cfg, inst, st)
        elif self.speed == "pso":
            self.speed_plan = pso_speed_plan(cfg, inst, st, rng, self.pso)
        else:
            self.speed_plan = exhaustive_speed_plan(cfg, inst, st, rng)

    def act(self, observation):
        cfg, inst, st = self.config, self.instance, self.state
        plan, mask = dyn.decision_context(cfg, inst, st)
        choice, level = self.decide(cfg, inst, st, plan, mask)
        return np.int64(choice * mask.shape[1] + level)

    # -- decisions -----------------------------------------------------------------------
    def planned_level(self, instance, state, v: int) -> int:
        lv = self.speed_plan.level(v, int(state.route_idx[v])) if self.speed_plan else -1
        return len(instance.speed_levels_kmh) - 1 if lv < 0 else lv

    def decide(self, config, instance, state, plan, mask) -> Decision:
        c = state.deciding
        level = self.planned_level(instance, state, c)
        if mask[1:].any():
            choice = self.replenish(config, instance, state, plan, mask, level)
            if choice is not None:
                lv = _nearest_feasible_level(mask[choice], level)
                if lv is not None:
                    return choice, lv
        lv = _nearest_feasible_level(mask[0], level)
        if lv is not None:
            return 0, lv
        return dyn.fallback(mask, level)

    def replenish(self, config, instance, state, plan, mask, level) -> int | None:
        return best_station(instance, state, mask)


def best_station(instance, state, mask) -> int | None:
    """V2CS: the reachable station with the least detour to the next route node."""
    c = state.deciding
    s_n = instance.n_stations
    ok = mask[1: 1 + s_n].any(axis=1)
    if not ok.any():
        return None
    nxt = dyn.next_route_node(instance, state, c)
    d = state.origin_dist_km[c, instance.station_nodes] + instance.dist_km[instance.station_nodes, nxt]
    d = np.where(ok, d, np.inf)
    return 1 + int(np.argmin(d))


class V2CSPolicy(FleetPolicy):
    """Charging station only (the paper's V2CS comparison, reference): at or below the
    10.5 % threshold, drive to the reachable station with the least detour and top up."""

    name = "v2cs"


class STLCSSPolicy(FleetPolicy):
    """V2V with STLCSS matching (Algorithm 1, section 4.3.1): among providers with spare
    energy and a feasible rendezvous, the one whose planned trajectory is most similar to
    the consumer's (STLCSS length / shorter length; ties: least detour) — if any
    trajectory point matches at all; otherwise the best station (V2CS)."""

    name = "v2v_stlcss"

    def __init__(self, speed: str = "max", pso: PSOConfig = DEFAULT_PSO, seed_offset: int = 0,
                 delta_d_km: float = DELTA_D_KM, delta_t_h: float = DELTA_T_H,
                 min_transfer_kwh: float = 0.5):
        super().__init__(speed, pso, seed_offset)
        self.delta_d_km, self.delta_t_h = delta_d_km, delta_t_h
        self.min_transfer_kwh = min_transfer_kwh

    def replenish(self, config, instance, state, plan, mask, level) -> int | None:
        c = state.deciding
        s_n = instance.n_stations
        best, best_key = None, None
        if plan is not None:
            # energy-state classification (section 4.3.1): a provider must cover the
            # consumer's whole top-up, so consumers never turn providers of their margin
            cand = [p for p in range(instance.n_vans) if mask[1 + s_n + p].any()
                    and plan.deliver_kwh[p] >= max(self.min_transfer_kwh,
                                                   plan.need_kwh[p] - 1e-6)]
            if cand:
                traj_c = planned_trajectory(config, instance, state, c)
                for p in cand:
                    traj_p = planned_trajectory(config, instance, state, p, from_free_point=True)
                    sim = stlcss_similarity(traj_c, traj_p, self.delta_d_km, self.delta_t_h)
                    key = (-sim, plan.detour_km[p])
                    if sim > 0 and (best_key is None or key < best_key):
                        best, best_key = 1 + s_n + p, key
        return best if best is not None else best_station(instance, state, mask)


class RolloutOracle(FleetPolicy):
    """Fortified rollout with exact simulation (Bertsekas' rollout with two base
    heuristics, V2CS and STLCSS-V2V, both on the exhaustive per-van speed plan).

    At each replenishment decision it tries every feasible option (go on, each station,
    each provider) at the planned level, completes the episode with each base heuristic
    on a copy of the state, and keeps the cheapest complete trajectory found so far —
    so its cost never exceeds either base heuristic's. It reads every van's realised
    consumption and simulates the future exactly, hence ``oracle``. It is a strong upper
    bound on the optimal cost, *not* a proven optimum: the joint problem (9 vans × when /
    where / whom to replenish × 11 speeds per leg) is too large to enumerate.
    """

    name = "oracle"
    oracle = True

    def __init__(self, **kwargs):
        super().__init__(speed="exhaustive", **kwargs)
        self.bases: list[FleetPolicy] = []
        self.best_seq: list[Decision] = []
        self.best_cost = np.inf

    def reset(self, env) -> None:
        super().reset(env)
        self.bases = [V2CSPolicy(speed="exhaustive"), STLCSSPolicy(speed="exhaustive")]
        for b in self.bases:
            b.speed_plan = self.speed_plan
        self.best_seq, self.best_cost = [], np.inf
        cfg, inst, st = self.config, self.instance, self.state
        for b in self.bases:
            cost, seq = self._rollout(cfg, inst, st, b, None)
            if cost < self.best_cost:
                self.best_cost, self.best_seq = cost, seq

    def _rollout(self, cfg, inst, state, base: FleetPolicy, first: Decision | None):
        st = state.copy()
        plan, mask = dyn.decision_context(cfg, inst, st)
        seq: list[Decision] = []
        if first is not None:
            seq.append(first)
            plan, mask = dyn.step(cfg, inst, st, *first, plan, mask)
        while not st.terminated and st.n_decisions < cfg.max_decisions:
            a = base.decide(cfg, inst, st, plan, mask)
            seq.append(a)
            plan, mask = dyn.step(cfg, inst, st, *a, plan, mask)
        return st.total_cost, seq

    def decide(self, config, instance, state, plan, mask) -> Decision:
        if mask[1:].any():
            level = self.planned_level(instance, state, state.deciding)
            for choice in np.flatnonzero(mask.any(axis=1)):
                lv = _nearest_feasible_level(mask[choice], level)
                for b in self.bases:
                    cost, seq = self._rollout(config, instance, state, b, (int(choice), lv))
                    if cost < self.best_cost - 1e-9:
                        self.best_cost, self.best_seq = cost, seq
        if self.best_seq:
            choice, lv = self.best_seq.pop(0)
            if mask[choice, lv]:
                return choice, lv
        return self.bases[1].decide(config, instance, state, plan, mask)
