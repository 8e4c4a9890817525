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
            if isinstance(choice, tuple):  # (choice, level) chosen by the subclass
                return choice
            if choice is not None:
                lv = _nearest_feasible_level(mask[choice], level)
                if lv is not None:
                    return choice, lv
        lv = _nearest_feasible_level(mask[0], level)
        if lv is not None:
            return 0, lv
        return dyn.fallback(mask, level)

    def replenish(self, config, instance, state, plan, mask, level
                  ) -> int | Decision | None:
        """The replenishment choice (or (choice, level)); None: go on."""
        return best_station(instance, state, mask)

    # -- cost estimates (used by STLCSSPolicy's V2V-vs-station comparison) ---------------
    def route_tail(self, config, instance, state, v: int, k: int, dist_vec: np.ndarray,
                   t0: float) -> tuple[float, float, float]:
        """(kWh, end time h, time-window penalty ¥) of van ``v`` driving from the point
        with road distances ``dist_vec`` through ``route[k:]`` home at its planned levels,
        leaving at ``t0`` — the env's accounting (section 4.1.5) along the plan."""
        route = instance.routes[v]
        speeds = instance.speed_levels_kmh
        kpk = state.kwh_per_km[v]
        nodes = route[k:] if k < len(route) else (instance.depot,)
        t, kwh, pen = t0, 0.0, 0.0
        prev = -1
        for i, x in enumerate(nodes):
            d = float(dist_vec[x]) if i == 0 else float(instance.dist_km[prev, x])
            lv = self.planned_level(instance, state, v) if k >= len(route) else (
                self._leg_level(instance, v, k + i))
            t += d / float(speeds[lv])
            kwh += d * float(kpk[lv])
            if instance.node_kind[x] == 0:
                p, _, _ = dyn.window_penalty_kwh(config, t, instance.window_h[x])
                pen += config.electricity_price_per_kwh * float(p)
                t += config.service_time_h
            prev = x
        return kwh, t, pen

    def _leg_level(self, instance, v: int, route_idx: int) -> int:
        lv = self.speed_plan.level(v, route_idx) if self.speed_plan else -1
        return len(instance.speed_levels_kmh) - 1 if lv < 0 else lv

    def station_option_cost(self, config, instance, state, choice: int, level: int) -> float:
        """Estimated ¥ from now to the end of the deciding van's route if it replenishes
        at station ``choice`` (1..S) driving there at ``level``: energy at γ, aging,
        the station mark-up (price / η − γ per kWh delivered), ξ·time, window penalties."""
        c = state.deciding
        cap = instance.battery_kwh
        s_node = int(instance.station_nodes[choice - 1])
        d = float(state.origin_dist_km[c, s_node])
        e_go = d * float(state.kwh_per_km[c, level])
        t1 = state.time_h + d / float(instance.speed_levels_kmh[level])
        e1 = float(state.energy_kwh[c]) - e_go
        reserve = config.soc_station_threshold + config.replenish_margin_soc
        need = float(dyn.need_kwh(config, instance, state, c, instance.dist_km[s_node], reserve))
        deliver = min(max(need - e1, 0.0), cap - e1)
        t2 = t1 + deliver / config.charge_power_kw
        kwh, t_end, pen = self.route_tail(config, instance, state, c, int(state.route_idx[c]),
                                          instance.dist_km[s_node], t2)
        price = float(instance.station_price[choice - 1])
        gamma = config.electricity_price_per_kwh
        soc = float(state.energy_kwh[c]) / cap
        return (gamma * (e_go + kwh)
                + float(dyn.aging_cost(config, e_go + kwh + deliver, soc))
                + (price / config.efficiency - gamma) * deliver
                + config.time_cost_per_h * (t_end - state.time_h) + pen)

    def v2v_option_cost(self, config, instance, state, plan, p: int, level: int) -> float:
        """Estimated ¥ of the deciding van (consumer) meeting provider ``p`` at the plan's
        rendezvous, driving there at ``level``, *plus the change it causes to the
        provider's cost*: the provider's detour (legal maximum, as the env drives it),
        both vans waiting for each other and for the 30 kW transfer, the delay of the
        provider's later customers (window penalties, ξ) and the transfer loss."""
        c = state.deciding
        cap = instance.battery_kwh
        gamma = config.electricity_price_per_kwh
        r = int(plan.node[p])
        deliver = float(plan.deliver_kwh[p])
        drawn = deliver / config.efficiency
        speeds = instance.speed_levels_kmh
        top = len(speeds) - 1
        dc = float(state.origin_dist_km[c, r])
        e_c = dc * float(state.kwh_per_km[c, level])
        t_c = state.time_h + dc / float(speeds[level])
        dp_vec, tp, _, kp = dyn.free_point(config, instance, state, p)
        dp = float(dp_vec[r])
        e_p = dp * float(state.kwh_per_km[p, top])
        t_p = tp + dp / float(speeds[top])
        t_done = max(t_c, t_p) + drawn / config.v2v_power_kw
        kc, tc_end, pen_c = self.route_tail(config, instance, state, c, int(state.route_idx[c]),
                                            instance.dist_km[r], t_done)
        kpv, tp_end, pen_pv = self.route_tail(config, instance, state, p, kp,
                                              instance.dist_km[r], t_done)
        kpb, tp_base, pen_pb = self.route_tail(config, instance, state, p, kp, dp_vec, tp)
        soc_c = float(state.energy_kwh[c]) / cap
        soc_p = float(state.energy_kwh[p]) / cap
        consumer = (gamma * (e_c + kc) + float(dyn.aging_cost(config, e_c + kc + deliver, soc_c))
                    + config.time_cost_per_h * (tc_end - state.time_h) + pen_c)
        provider = (gamma * (e_p + kpv - kpb)
                    + float(dyn.aging_cost(config, max(e_p + kpv - kpb, 0.0) + drawn, soc_p))
                    + config.time_cost_per_h * (tp_end - tp_base) + pen_pv - pen_pb)
        return consumer + provider + gamma * (drawn - deliver)


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
    """V2V with STLCSS matching (section 4.3, Algorithm 1), else V2CS.

    When a van reaches the 10.5 % threshold:

    1. *Energy-state classification* (4.3.1): providers are vans with spare energy after
       their own route plus SOCmin (the env's mask) that can cover the consumer's whole
       deficit (``RendezvousPlan.deliver_kwh ≥ need_kwh``) — a consumer never becomes a
       provider of its own margin.
    2. *Matching* (Algorithm 1): providers are ranked by the STLCSS similarity of their
       planned trajectory to the consumer's (length / shorter length; ties: least
       detour); only providers with at least one matching point (similarity > 0) count.
    3. *Speed coordination* (4.3.2 (3)): the consumer drives to the rendezvous at the
       feasible level that minimises the option's cost — it does not hurry to wait for
       a provider that arrives later.
    4. *V2V vs V2CS* (section 5.3.2): the consumer takes the most similar provider whose
       V2V option (``v2v_option_cost``: its own detour, the provider's detour, waiting,
       the 30 kW transfer time, the delay of both vans' later customers) is cheaper than
       the station V2CS would pick (``station_option_cost``), both at their best feasible
       speed level; otherwise that station, driven as V2CS drives it (planned level).
       ``compare_costs=False`` restores the plain rule "most similar provider if any".
    5. *Provider reserve* (4.3.2 (4), energy conservation): a provider's spare energy
       was sized to finish its own route with SOCmin (10 %) left, below the 10.5 %
       decision threshold; a van that has given energy and can still finish its route at
       its planned levels with SOCmin left goes on when it crosses the threshold instead
       of buying back at a station what it just gave (``provider_reserve_rule``).
    """

    name = "v2v_stlcss"

    def __init__(self, speed: str = "max", pso: PSOConfig = DEFAULT_PSO, seed_offset: int = 0,
                 delta_d_km: float = DELTA_D_KM, delta_t_h: float = DELTA_T_H,
                 min_transfer_kwh: float = 0.5, compare_costs: bool = True,
                 provider_reserve_rule: bool = True):
        super().__init__(speed, pso, seed_offset)
        self.delta_d_km, self.delta_t_h = delta_d_km, delta_t_h
        self.min_transfer_kwh = min_transfer_kwh
        self.compare_costs = compare_costs
        self.provider_reserve_rule = provider_reserve_rule

    def _finishes_as_provider(self, config, instance, state, c: int) -> bool:
        if not any(p == c for *_, p, kwh in state.rendezvous_log if kwh > 0):
            return False
        kwh, _, _ = self.route_tail(config, instance, state, c, int(state.route_idx[c]),
                                    state.origin_dist_km[c], state.time_h)
        return (float(state.energy_kwh[c]) - kwh
                >= config.soc_v2v_threshold * instance.battery_kwh - 1e-9)

    def replenish(self, config, instance, state, plan, mask, level):
        c = state.deciding
        s_n = instance.n_stations
        if self.provider_reserve_rule and mask[0].any() and self._finishes_as_provider(
                config, instance, state, c):
            return None
        station = best_station(instance, state, mask)
        ranked: list[tuple[float, float, int]] = []
        if plan is not None:
            cand = [p for p in range(instance.n_vans) if mask[1 + s_n + p].any()
                    and plan.deliver_kwh[p] >= max(self.min_transfer_kwh,
                                                   plan.need_kwh[p] - 1e-6)]
            if cand:
                traj_c = planned_trajectory(config, instance, state, c)
                for p in cand:
                    traj_p = planned_trajectory(config, instance, state, p, from_free_point=True)
                    sim = stlcss_similarity(traj_c, traj_p, self.delta_d_km, self.delta_t_h)
                    if sim > 0:
                        ranked.append((-sim, float(plan.detour_km[p]), p))
        ranked.sort()
        if not self.compare_costs:
            return 1 + s_n + ranked[0][2] if ranked else station
        station_cost = np.inf
        if station is not None:  # at its best feasible level, as the V2V options below
            station_cost = min(self.station_option_cost(config, instance, state, station, int(lv))
                               for lv in np.flatnonzero(mask[station]))
        for _, _, p in ranked:
            choice = 1 + s_n + p
            levels = np.flatnonzero(mask[choice])
            costs = [self.v2v_option_cost(config, instance, state, plan, p, int(lv))
                     for lv in levels]
            k = int(np.argmin(costs))
            if costs[k] < station_cost:
                return choice, int(levels[k])
        return station


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
