"""Physics and event rules of the FleetV2V environment — written once.

The env, the heuristics, the PSO speed planner and the oracle all call these functions:
``energy_per_km`` (longitudinal dynamics, section 3.1.1), ``aging_cost`` (section 4.1.4),
``route_cost`` (the single-van speed-plan cost of section 4.1.5, vectorised over
candidate plans), ``new_state`` / ``apply_decision`` / ``advance`` (the event-driven
fleet simulation) and ``action_mask`` / ``rendezvous`` (what is feasible now).

Event-driven time: each van has its next event time; ``advance`` processes events in
time order (arrivals, end of service / charging / transfer, SOC-threshold crossings,
running empty) until a van needs a decision, accruing costs on the way. A decision is
(choice, speed level): choice 0 = go on to the next route node, 1..S = detour to charging
station j, 1+S..S+V = meet provider van p at the rendezvous point ``rendezvous`` picks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from swapgym.envs.fleet_v2v.config import FleetV2VConfig
    from swapgym.envs.fleet_v2v.instance import FleetV2VInstance

G = 9.81
READY, MOVING, BUSY, WAITING, DONE, STRANDED = range(6)
MODE_NAMES = ("ready", "moving", "busy", "waiting", "done", "stranded")
ROUTE, TO_STATION, TO_RDV = range(3)  # purpose of a move
ARRIVE, THRESHOLD, EMPTY = range(3)  # what ends a move
CONSUMER, PROVIDER = 1, 2  # rdv_role
COST_TERMS = ("charging", "battery_energy", "time", "time_window", "aging", "reserve",
              "stranding")
EPS = 1e-9


# ---------------------------------------------------------------------------------------
# Energy (section 3.1.1) and aging (section 4.1.4)
# ---------------------------------------------------------------------------------------
def energy_per_km(config: FleetV2VConfig, speed_kmh) -> np.ndarray:
    """Battery energy per km, kWh/km, of a van cruising at ``speed_kmh`` on urban roads.

    Longitudinal dynamics: traction force m·g·(f·cos α + sin α) + ½·ρ·Cd·A·v² through
    the drivetrain (ηm·ηT); ``stops_per_km`` stops per km each re-accelerate the van
    (δ·½·m·v², of which ηregen·ηm·ηT comes back when braking); auxiliary power over the
    time per km. A negative (downhill) traction force is recuperated with ηregen.
    """
    c = config
    v = np.asarray(speed_kmh, dtype=float) / 3.6
    eta = c.motor_efficiency * c.transmission_efficiency
    alpha = math.atan(c.road_grade)
    force = (c.vehicle_mass_kg * G * (c.rolling_resistance * math.cos(alpha) + math.sin(alpha))
             + 0.5 * c.air_density_kg_m3 * c.drag_coefficient * c.frontal_area_m2 * v**2)
    traction_j = np.where(force >= 0, force / eta, force * c.regen_efficiency * eta) * 1000.0
    kinetic = c.rotating_mass_factor * 0.5 * c.vehicle_mass_kg * v**2
    stops_j = c.stops_per_km * kinetic * (1.0 / eta - c.regen_efficiency * eta)
    aux_j = c.aux_power_kw * 1000.0 * 1000.0 / np.maximum(v, 1e-6)
    return (traction_j + stops_j + aux_j) / 3.6e6


def soc_stress(config: FleetV2VConfig, soc) -> np.ndarray:
    """1 + αsoc·(2·SOC − 1)²: throughput far from mid-SOC ages the cell faster."""
    return 1.0 + config.soc_stress_factor * (2.0 * np.asarray(soc) - 1.0) ** 2


def aging_cost(config: FleetV2VConfig, throughput_kwh, mean_soc) -> np.ndarray:
    """¥ of battery wear for ``throughput_kwh`` (charge or discharge) around ``mean_soc``:
    β·E·stress, β = pack cost / (2·cycle life·DoD) (cycle-life model, section 4.1.4)."""
    return config.aging_cost_per_kwh * np.asarray(throughput_kwh) * soc_stress(config, mean_soc)


def window_penalty_kwh(config: FleetV2VConfig, arrival_h, window_h) -> tuple:
    """(penalty kWh, early h, late h): Pe·early + Pl·late for a soft window (section 4.1.5)."""
    early = np.maximum(window_h[..., 0] - arrival_h, 0.0)
    late = np.maximum(arrival_h - window_h[..., 1], 0.0)
    return (config.early_penalty_kwh_per_h * early + config.late_penalty_kwh_per_h * late,
            early, late)


def route_cost(config: FleetV2VConfig, instance: FleetV2VInstance, van: int,
               speeds_kmh: np.ndarray, kwh_factor: float = 1.0,
               start_h: float | None = None) -> np.ndarray:
    """Cost (¥) of van ``van`` driving its whole route with one speed per leg, no
    replenishment — the single-vehicle speed-planning objective of section 4.1.6.

    ``speeds_kmh``: (P, n_legs) candidate plans (any speed in the level range; the
    surrogate is interpolated). Returns (P,) costs: energy valued at γ, ξ·time,
    time-window penalties and aging, exactly as ``advance`` charges them.
    """
    speeds = np.atleast_2d(np.asarray(speeds_kmh, dtype=float))
    route = instance.routes[van]
    t0 = float(instance.depart_h[van]) if start_h is None else start_h
    t = np.full(len(speeds), t0)
    e = np.full(len(speeds), instance.initial_soc[van] * instance.battery_kwh)
    cost = np.zeros(len(speeds))
    scale = config.consumption_scale * kwh_factor
    for k in range(len(route) - 1):
        a, b = route[k], route[k + 1]
        d = instance.dist_km[a, b]
        v = speeds[:, k]
        used = d * np.interp(v, instance.surrogate_speed_kmh, instance.surrogate_kwh_per_km) * scale
        cost += config.electricity_price_per_kwh * used
        cost += aging_cost(config, used, (e - 0.5 * used) / instance.battery_kwh)
        e = e - used
        t = t + d / v
        if instance.node_kind[b] == 0:
            pen, _, _ = window_penalty_kwh(config, t, instance.window_h[b])
            cost += config.electricity_price_per_kwh * pen
            t = t + config.service_time_h
    cost += config.time_cost_per_h * (t - t0)
    return cost


def _aging(config: FleetV2VConfig, kwh: float, soc: float) -> float:
    """``aging_cost`` for one float (same operations, no numpy)."""
    q = 2.0 * soc - 1.0
    return config.aging_cost_per_kwh * kwh * (1.0 + config.soc_stress_factor * (q * q))


def _window_pen(config: FleetV2VConfig, arrival_h: float, window: tuple) -> tuple:
    """``window_penalty_kwh`` for one arrival (same operations, no numpy)."""
    # max(x, 0.0) written out: the hot loop's two-argument min / max are conditional
    # expressions with the builtins' exact semantics (they cost several times more)
    early = window[0] - arrival_h
    early = 0.0 if early < 0.0 else early
    late = arrival_h - window[1]
    late = 0.0 if late < 0.0 else late
    return (config.early_penalty_kwh_per_h * early + config.late_penalty_kwh_per_h * late,
            early, late)


# ---------------------------------------------------------------------------------------
# State
# ---------------------------------------------------------------------------------------
@dataclass
class FleetState:
    """Per-event state. V vans, N nodes. Times in clock hours, energies in kWh.

    Per-van quantities are plain Python lists of length V (the event loop reads and
    writes them one number at a time; ``np.asarray`` them for vector work).

    time_h: simulation clock. deciding: van awaiting a decision (-1: none / episode over).
    energy_kwh: [V] battery energy. mode: [V] READY/MOVING/BUSY/WAITING/DONE/STRANDED.
    event_h: [V] time of each van's next event (inf: none).
    started: [V] the van has left the depot (time cost runs from then until it is home).
    route_idx: [V] index in the van's route of the next route node to visit.
    node: [V] node the van stands at (-1 while moving or at a mid-road point).
    origin_dist_km: (V, N) array, road km from the van's current point (or its move's
        start point while moving) to every node. origin_xy_km: [V] (x, y) of that point.
    move_*: [V] the current move: target node, purpose (ROUTE/TO_STATION/TO_RDV), start
        time, length km, speed km/h, energy of the whole move kWh, energy at its start,
        what ends it (ARRIVE/THRESHOLD/EMPTY).
    partner: [V] V2V partner van (-1 none); rdv_node: [V] rendezvous node;
        rdv_pending: [V] the van still has to be sent to the rendezvous;
        rdv_role: [V] 0 none, CONSUMER 1, PROVIDER 2.
    kwh_per_km: (V, L) array, each van's consumption per level this episode (noise
        included).
    crossed: [V] the SOC-threshold event was raised since the last replenishment.
    costs: cumulative ¥ per cost term (COST_TERMS). totals: cumulative physical
        quantities (kWh bought / transferred / driven, km, early and late hours, counts).
    rendezvous_log: (time_h, node, consumer, provider, kWh delivered) per transfer.
    """

    time_h: float
    deciding: int
    energy_kwh: list
    mode: list
    event_h: list
    started: list
    route_idx: list
    node: list
    origin_dist_km: np.ndarray
    origin_xy_km: list
    move_target: list
    move_purpose: list
    move_start_h: list
    move_len_km: list
    move_speed_kmh: list
    move_kwh: list
    move_start_kwh: list
    move_end: list
    partner: list
    rdv_node: list
    rdv_pending: list
    rdv_role: list
    kwh_per_km: np.ndarray
    crossed: list
    costs: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    rendezvous_log: list = field(default_factory=list)
    n_decisions: int = 0
    terminated: bool = False

    def copy(self) -> FleetState:
        out = FleetState(**{k: (v.copy() if isinstance(v, np.ndarray | dict | list) else v)
                            for k, v in self.__dict__.items()})
        return out

    @property
    def total_cost(self) -> float:
        return float(sum(self.costs.values()))


TOTAL_KEYS = ("below_reserve_kwh", "station_grid_kwh", "station_delivered_kwh", "v2v_drawn_kwh",
              "v2v_delivered_kwh", "drive_kwh", "distance_km", "early_h", "late_h",
              "station_visits", "v2v_transfers", "stranded_vans", "missed_tasks")


def new_state(config: FleetV2VConfig, instance: FleetV2VInstance,
              rng: np.random.Generator) -> FleetState:
    """All vans at the depot at ``depart_time_h``, ready to leave (not yet advanced)."""
    v_n = instance.n_vans
    tabs = instance.tables
    factor = tabs.ones
    if config.consumption_noise_std > 0:  # = np.clip(..., 0.5, 1.5), in plain floats
        std = config.consumption_noise_std
        factor = [1.0 + std * z for z in rng.standard_normal(v_n).tolist()]
        factor = np.array([1.5 if f > 1.5 else (0.5 if f < 0.5 else f) for f in factor])
    # = kwh_per_km[None, :] * scale * factor[:, None]
    kwh = np.multiply.outer(factor, instance.kwh_per_km * config.consumption_scale)
    d = instance.depot
    xy = tabs.xy[d]
    return FleetState(
        time_h=tabs.start_h, deciding=-1,
        energy_kwh=list(tabs.start_kwh),
        mode=[READY] * v_n, event_h=list(tabs.depart_h),
        started=[False] * v_n, route_idx=[1] * v_n, node=[d] * v_n,
        origin_dist_km=tabs.depot_dist.copy(), origin_xy_km=[xy] * v_n,
        move_target=[d] * v_n, move_purpose=[ROUTE] * v_n, move_start_h=[0.0] * v_n,
        move_len_km=[0.0] * v_n, move_speed_kmh=[1.0] * v_n, move_kwh=[0.0] * v_n,
        move_start_kwh=[0.0] * v_n, move_end=[ARRIVE] * v_n, partner=[-1] * v_n,
        rdv_node=[-1] * v_n, rdv_pending=[False] * v_n, rdv_role=[0] * v_n,
        kwh_per_km=kwh, crossed=[False] * v_n,
        costs=dict.fromkeys(COST_TERMS, 0.0), totals=dict.fromkeys(TOTAL_KEYS, 0.0),
        rendezvous_log=[], n_decisions=0, terminated=False)


# ---------------------------------------------------------------------------------------
# Helpers shared by masks, planners and events
# ---------------------------------------------------------------------------------------
def next_route_node(instance: FleetV2VInstance, state: FleetState, v: int) -> int:
    """The node "go on" heads to: the next route node, or the depot when the route is done."""
    r = instance.routes[v]
    k = state.route_idx[v]
    return r[k] if k < len(r) else instance.depot


def remaining_km(instance: FleetV2VInstance, state: FleetState, v: int, dist_vec: np.ndarray):
    """Road km from the point with distances ``dist_vec`` (N,) — or (..., N) — through the
    van's remaining route nodes back to the depot."""
    return _route_km_from(instance, v, int(state.route_idx[v]), dist_vec)


def need_kwh(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState, v: int,
             dist_vec: np.ndarray, reserve_soc: float):
    """Energy van ``v`` needs at a point to finish its route at the most consuming level
    and arrive with ``reserve_soc`` left."""
    return (remaining_km(instance, state, v, dist_vec) * state.kwh_per_km[v].max()
            + reserve_soc * instance.battery_kwh)


def replenish_allowed(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState,
                      v: int) -> bool:
    if config.replenish_only_below_threshold:
        return state.energy_kwh[v] <= config.soc_station_threshold * instance.battery_kwh + 1e-6
    reserve = config.soc_station_threshold + config.replenish_margin_soc
    return bool(need_kwh(config, instance, state, v, state.origin_dist_km[v], reserve)
                > state.energy_kwh[v] + 1e-6)


def free_point(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState, v: int):
    """Where and when van ``v`` is next free to go elsewhere, with what energy, and its
    route index then: (dist vector (N,), time h, energy kWh, route index)."""
    m = state.mode[v]
    if m == MOVING:
        x = state.move_target[v]
        t = state.move_start_h[v] + state.move_len_km[v] / state.move_speed_kmh[v]
        e = state.move_start_kwh[v] - state.move_kwh[v]
        k = state.route_idx[v]
        if state.move_purpose[v] == ROUTE:
            if instance.tables.kind[x] == 0:
                t += config.service_time_h
            k += 1
        return instance.dist_km[x], t, e, k
    if m == BUSY:
        return state.origin_dist_km[v], state.event_h[v], state.energy_kwh[v], state.route_idx[v]
    t, t_ev = state.time_h, state.event_h[v]
    return (state.origin_dist_km[v], t_ev if t_ev > t else t, state.energy_kwh[v],
            state.route_idx[v])


def _route_km_from(instance: FleetV2VInstance, v: int, k: int, dist_rows: np.ndarray):
    r = instance.routes[v]
    if k >= len(r):
        return dist_rows[..., instance.depot]
    return dist_rows[..., r[k]] + instance.route_suffix_km[v, k]


@dataclass
class RendezvousPlan:
    """Per provider p (V,): rendezvous node (-1: infeasible), kWh the consumer would get,
    kWh it needs there (its full top-up), combined detour km, and the consumer's distance
    to the node (detour and distance are inf where infeasible)."""

    node: np.ndarray
    deliver_kwh: np.ndarray
    need_kwh: np.ndarray
    detour_km: np.ndarray
    consumer_km: np.ndarray


def rendezvous(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState,
               c: int) -> RendezvousPlan:
    """For consumer ``c`` (at its current point) and each provider, the rendezvous node
    (section 4.3.2): among the nodes both can reach (consumer at its most economical
    level, provider at the legal maximum, from where it is next free) where the provider
    keeps ``soc_v2v_threshold`` after its own route, the one with the least combined
    detour km + waiting (hours × legal maximum speed)."""
    v_n = instance.n_vans
    mode, partner = state.mode, state.partner
    provs = [p for p in range(v_n) if p != c and mode[p] < WAITING and partner[p] < 0]
    node, deliver, needs = [-1] * v_n, [0.0] * v_n, [0.0] * v_n
    detour, c_km = [math.inf] * v_n, [math.inf] * v_n
    if provs:
        # plain floats over (provider, node) pairs: ~6 providers × ~25 nodes, where numpy
        # would spend more on dispatching its ~60 tiny array operations than on arithmetic
        cap = instance.battery_kwh
        tabs = instance.tables
        routes, route_len, suffix, route_from = (instance.routes, tabs.route_len,
                                                 tabs.route_suffix, tabs.route_from_rows)
        ec = state.energy_kwh[c]
        kwh_rows = state.kwh_per_km.tolist()
        c_min, c_kmax = min(kwh_rows[c]), max(kwh_rows[c])
        vmax = tabs.speeds[-1]
        dc = state.origin_dist_km[c].tolist()
        k, n_r = state.route_idx[c], route_len[c]
        c_next = route_from[c][k if k < n_r else n_r]  # km from each node through the route
        c_rem = dc[routes[c][k]] + suffix[c][k] if k < n_r else dc[instance.depot]  # remaining_km
        ec_eps, t0 = ec + EPS, state.time_h
        # the nodes the consumer reaches at its most economical level: (node, its detour
        # via the node, its arrival there at the legal maximum)
        cand = [(n, d + c_next[n] - c_rem, t0 + d / vmax) for n, d in enumerate(dc)
                if d * c_min <= ec_eps]
        thr = config.soc_v2v_threshold * cap
        reserve_c = (config.soc_station_threshold + config.replenish_margin_soc) * cap
        room, eff = cap - ec, config.efficiency
        for p in provs:
            # where and when the provider is next free, its energy then, its consumption at
            # the legal maximum and at its most consuming level, its km home from there
            dvec, tp, ep, k = free_point(config, instance, state, p)
            dp = dvec.tolist()
            kl = kwh_rows[p]
            pmax, pkmax = kl[-1], max(kl)
            n_r = route_len[p]
            if k < n_r:
                here, after = dp[routes[p][k]] + suffix[p][k], route_from[p][k]
            else:
                here, after = dp[instance.depot], route_from[p][n_r]
            ep_eps = ep + EPS
            best, r, spare_r = math.inf, -1, 0.0
            for n, c_det, t_c in cand:
                d = dp[n]
                dm = d * pmax
                if dm <= ep_eps:  # the provider reaches n at the legal maximum
                    a = after[n]
                    spare = ep - dm - a * pkmax - thr
                    if spare > 0.1:  # ... and keeps its reserve after its own route
                        # score: detours + |waiting| × vmax; the waiting term is >= 0, so
                        # a node whose detours alone are no better is passed over
                        score = c_det + (d + a - here)
                        if score < best:
                            score += abs(t_c - (tp + d / vmax)) * vmax
                            if score < best:  # the first least score, as argmin
                                best, r, spare_r = score, n, spare
            if r >= 0:
                d = dc[r]
                need = c_next[r] * c_kmax + reserve_c - (ec - d * c_min)
                # max(0.0, min(need, eff * spare, room)), max(0.0, min(need, room))
                offer = eff * spare_r
                x = offer if offer < need else need
                x = room if room < x else x
                node[p], deliver[p] = r, (x if x > 0.0 else 0.0)
                x = room if room < need else need
                needs[p], detour[p], c_km[p] = (x if x > 0.0 else 0.0), best, d
    return RendezvousPlan(np.array(node, dtype=np.int64), np.array(deliver), np.array(needs),
                          np.array(detour), np.array(c_km))


def action_mask(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState,
                plan: RendezvousPlan | None = None) -> np.ndarray:
    """(1 + S + V, L) feasible (choice, level) pairs for the deciding van: the target must
    be reachable with the energy on board at that level; stations and V2V only when
    replenishment is allowed; a provider only with spare energy and a rendezvous."""
    c = state.deciding
    tabs = instance.tables
    mask = np.zeros(tabs.mask_shape, dtype=bool)
    if c < 0:
        mask[0, :] = True
        return mask
    ec = state.energy_kwh[c] + EPS
    kpk = state.kwh_per_km[c]
    d = state.origin_dist_km.item(c, next_route_node(instance, state, c))
    row = [d * k <= ec for k in kpk.tolist()]
    mask[0] = row
    any_ok = True in row
    if replenish_allowed(config, instance, state, c):
        if plan is None:
            plan = rendezvous(config, instance, state, c)
        # rows 1..S: stations, then providers (consumer_km is inf where there is no
        # rendezvous, so those rows stay False)
        km = np.concatenate((state.origin_dist_km[c, instance.station_nodes], plan.consumer_km))
        np.less_equal(np.multiply.outer(km, kpk), ec, out=mask[1:])
        any_ok = np.count_nonzero(mask) > 0  # = mask.any(), without its Python wrapper
    if not any_ok:  # nothing reachable: go on at the most economical level (runs empty)
        mask[0, int(np.argmin(kpk))] = True
    return mask


def decision_context(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState
                     ) -> tuple[RendezvousPlan | None, np.ndarray]:
    """(rendezvous plan or None, (1+S+V, L) mask) for the van now deciding."""
    c = state.deciding
    plan = None
    if c >= 0 and replenish_allowed(config, instance, state, c):
        plan = rendezvous(config, instance, state, c)
    return plan, action_mask(config, instance, state, plan)


def fallback(mask: np.ndarray, level: int) -> tuple[int, int]:
    """What a masked-out action becomes: go on at the same level if feasible, else the
    first feasible (choice, level)."""
    if mask[0, level]:
        return 0, level
    choice, lev = np.argwhere(mask)[0]
    return int(choice), int(lev)


def step(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState, choice: int,
         level: int, plan: RendezvousPlan | None = None, mask: np.ndarray | None = None
         ) -> tuple[RendezvousPlan | None, np.ndarray]:
    """One decision and the events up to the next one (what ``env.step`` does). Returns
    the next decision's (plan, mask). Planners use this on ``state.copy()``."""
    if mask is None:
        plan, mask = decision_context(config, instance, state)
    if not mask[choice, level]:
        choice, level = fallback(mask, level)
    apply_decision(config, instance, state, choice, level, plan)
    advance(config, instance, state)
    return decision_context(config, instance, state)


# ---------------------------------------------------------------------------------------
# Transitions (plain Python floats: this is the hot loop of every rollout)
# ---------------------------------------------------------------------------------------
def _start_move(config, instance, state: FleetState, v: int, target: int, purpose: int,
                level: int) -> None:
    d = state.origin_dist_km.item(v, target)
    speed = instance.tables.speeds[level]
    kwh = d * state.kwh_per_km.item(v, level)
    e0 = state.energy_kwh[v]
    t0 = state.time_h
    dur = d / speed
    thr = config.soc_station_threshold * instance.battery_kwh
    state.mode[v] = MOVING
    state.node[v] = -1
    state.move_target[v] = target
    state.move_purpose[v] = purpose
    state.move_start_h[v] = t0
    state.move_len_km[v] = d
    state.move_speed_kmh[v] = speed
    state.move_kwh[v] = kwh
    state.move_start_kwh[v] = e0
    if kwh > e0 + EPS:
        state.move_end[v] = EMPTY
        state.event_h[v] = t0 + dur * e0 / kwh
    elif not state.crossed[v] and e0 > thr + EPS and e0 - kwh < thr - EPS:
        state.move_end[v] = THRESHOLD
        state.event_h[v] = t0 + dur * (e0 - thr) / kwh
    else:
        state.move_end[v] = ARRIVE
        state.event_h[v] = t0 + dur


def _drive(config, instance, state: FleetState, v: int, t: float, arrived: bool = False) -> None:
    """Account the part of van v's move driven by time t and put the van there
    (``arrived``: at the move's target, whatever rounding says)."""
    length = state.move_len_km[v]
    dur = length / state.move_speed_kmh[v]
    if arrived or dur <= 0:
        frac = 1.0
    else:  # min(max(., 0.0), 1.0)
        frac = (t - state.move_start_h[v]) / dur
        frac = 0.0 if frac < 0.0 else frac
        frac = 1.0 if frac > 1.0 else frac
    used = frac * state.move_kwh[v]
    e0 = state.move_start_kwh[v]
    e_now = e0 - used
    e_now = 0.0 if e_now < 0.0 else e_now  # max(., 0.0)
    if used > 0:
        _accrue_drive(config, instance, state, v, e0 - e_now, e0, e_now)
    s = frac * length
    state.totals["distance_km"] += s
    state.energy_kwh[v] = e_now
    target = state.move_target[v]
    if frac >= 1.0:
        state.node[v] = target
        state.origin_dist_km[v] = instance.dist_km[target]
        state.origin_xy_km[v] = instance.tables.xy[target]
        return
    state.origin_dist_km[v] = np.minimum(s + state.origin_dist_km[v],
                                         length - s + instance.dist_km[target])
    (x0, y0), (x1, y1) = state.origin_xy_km[v], instance.tables.xy[target]
    state.origin_xy_km[v] = (x0 + frac * (x1 - x0), y0 + frac * (y1 - y0))
    state.node[v] = -1
    # what is left of the move now starts here
    state.move_start_h[v] = t
    state.move_len_km[v] = length - s
    state.move_kwh[v] -= used
    state.move_start_kwh[v] = e_now


def _move_fraction(state: FleetState) -> list:
    """[V] share of each van's current move driven by now (0 for vans not moving)."""
    t = state.time_h
    out = []
    for v, m in enumerate(state.mode):
        if m != MOVING:
            out.append(0.0)
            continue
        dur = state.move_len_km[v] / state.move_speed_kmh[v]
        frac = (t - state.move_start_h[v]) / dur if dur > 0 else 1.0
        out.append(min(max(frac, 0.0), 1.0))
    return out


def _energy_now(state: FleetState, frac: list) -> list:
    return [max(state.move_start_kwh[v] - f * state.move_kwh[v], 0.0) if m == MOVING
            else state.energy_kwh[v] for v, (m, f) in enumerate(zip(state.mode, frac))]


def _xy_now(instance: FleetV2VInstance, state: FleetState, frac: list) -> list:
    xy = instance.tables.xy
    out = []
    for v, f in enumerate(frac):
        (x0, y0), (x1, y1) = state.origin_xy_km[v], xy[state.move_target[v]]
        out.append((x0 + f * (x1 - x0), y0 + f * (y1 - y0)))
    return out


def current_energy(state: FleetState, frac: list | None = None) -> np.ndarray:
    """(V,) energy on board now (moving vans: interpolated along their move)."""
    return np.array(_energy_now(state, _move_fraction(state) if frac is None else frac))


def current_xy(instance: FleetV2VInstance, state: FleetState,
               frac: list | None = None) -> np.ndarray:
    """(V, 2) position now, km east / north of the depot."""
    return np.array(_xy_now(instance, state, _move_fraction(state) if frac is None else frac))


def _accrue_drive(config, instance, state, v, kwh, e_from, e_to) -> None:
    floor = config.soc_reserve_floor * instance.battery_kwh
    a, b = floor - e_to, floor - e_from
    below = (0.0 if a < 0.0 else a) - (0.0 if b < 0.0 else b)  # max(a, 0.0) - max(b, 0.0)
    if below > 0:
        state.costs["reserve"] += config.reserve_penalty_per_kwh * below
        state.totals["below_reserve_kwh"] += below
    state.totals["drive_kwh"] += kwh
    state.costs["battery_energy"] += config.electricity_price_per_kwh * kwh
    state.costs["aging"] += _aging(config, kwh, 0.5 * (e_from + e_to) / instance.battery_kwh)


def _charge(config, instance, state: FleetState, v: int, station_node: int, t: float) -> None:
    """Top van v up to its need at a station; it is busy while charging."""
    cap = instance.battery_kwh
    e = state.energy_kwh[v]
    reserve = config.soc_station_threshold + config.replenish_margin_soc
    need = float(need_kwh(config, instance, state, v, instance.dist_km[station_node], reserve))
    deliver, room = need - e, cap - e  # min(max(need - e, 0.0), cap - e)
    deliver = 0.0 if deliver < 0.0 else deliver
    deliver = room if room < deliver else deliver
    j = instance.tables.station_index[station_node]
    grid = deliver / config.efficiency
    state.costs["charging"] += instance.tables.station_price[j] * grid
    state.costs["battery_energy"] -= config.electricity_price_per_kwh * deliver
    state.costs["aging"] += _aging(config, deliver, (e + 0.5 * deliver) / cap)
    state.totals["station_grid_kwh"] += grid
    state.totals["station_delivered_kwh"] += deliver
    if deliver > 0:
        state.totals["station_visits"] += 1
        state.crossed[v] = False
    state.energy_kwh[v] = e + deliver
    state.mode[v] = BUSY
    state.event_h[v] = t + deliver / config.charge_power_kw


def _transfer(config, instance, state: FleetState, c: int, p: int, r: int, t: float) -> None:
    """V2V at node r (section 4.3.3): the consumer gets what it needs to finish its route
    plus the margin, within the provider's spare energy (the provider keeps enough for
    its own route plus ``soc_v2v_threshold``) and the consumer's free capacity."""
    cap = instance.battery_kwh
    D = instance.dist_km
    ec, ep = state.energy_kwh[c], state.energy_kwh[p]
    reserve_c = config.soc_station_threshold + config.replenish_margin_soc
    need = float(need_kwh(config, instance, state, c, D[r], reserve_c)) - ec
    spare = ep - float(need_kwh(config, instance, state, p, D[r], config.soc_v2v_threshold))
    offer, room = config.efficiency * spare, cap - ec  # max(0.0, min(need, offer, room))
    deliver = offer if offer < need else need
    deliver = room if room < deliver else deliver
    deliver = deliver if deliver > 0.0 else 0.0
    drawn = deliver / config.efficiency
    state.energy_kwh[c] = ec + deliver
    state.energy_kwh[p] = ep - drawn
    state.costs["battery_energy"] += config.electricity_price_per_kwh * (drawn - deliver)
    state.costs["aging"] += (_aging(config, deliver, (ec + 0.5 * deliver) / cap)
                             + _aging(config, drawn, (ep - 0.5 * drawn) / cap))
    state.totals["v2v_drawn_kwh"] += drawn
    state.totals["v2v_delivered_kwh"] += deliver
    if deliver > 0:
        state.totals["v2v_transfers"] += 1
        state.crossed[c] = False
    state.rendezvous_log.append((t, r, c, p, deliver))
    end = t + drawn / config.v2v_power_kw
    for v in (c, p):
        state.mode[v] = BUSY
        state.event_h[v] = end
        state.partner[v] = -1
        state.rdv_node[v] = -1
        state.rdv_pending[v] = False
        state.rdv_role[v] = 0


def _release(state: FleetState, v: int) -> None:
    """Cancel van v's rendezvous; a partner already waiting becomes ready."""
    p = state.partner[v]
    if p >= 0:
        state.partner[p] = -1
        state.rdv_pending[p] = False
        state.rdv_node[p] = -1
        state.rdv_role[p] = 0
        if state.mode[p] == WAITING:
            state.mode[p] = READY
            state.event_h[p] = state.time_h
    state.partner[v] = -1
    state.rdv_pending[v] = False
    state.rdv_node[v] = -1
    state.rdv_role[v] = 0


def apply_decision(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState,
                   choice: int, level: int, plan: RendezvousPlan | None = None) -> None:
    """Start the deciding van's move. The caller checked the action against the mask."""
    c = state.deciding
    s_n = instance.tables.n_stations
    state.n_decisions += 1
    state.deciding = -1
    if choice == 0:
        _start_move(config, instance, state, c, next_route_node(instance, state, c), ROUTE, level)
    elif choice <= s_n:
        _start_move(config, instance, state, c, int(instance.station_nodes[choice - 1]),
                    TO_STATION, level)
    else:
        p = choice - 1 - s_n
        if plan is None:
            plan = rendezvous(config, instance, state, c)
        r = int(plan.node[p])
        state.partner[c], state.partner[p] = p, c
        state.rdv_node[c] = state.rdv_node[p] = r
        state.rdv_pending[p] = True  # sent when it is next free (see ``advance``)
        state.rdv_role[c], state.rdv_role[p] = CONSUMER, PROVIDER
        _start_move(config, instance, state, c, r, TO_RDV, level)


def _finish_route_or_ready(config, instance, state, v, t) -> None:
    if state.partner[v] >= 0:
        state.mode[v] = READY
        state.event_h[v] = t
    else:
        state.mode[v] = DONE
        state.event_h[v] = math.inf


def advance(config: FleetV2VConfig, instance: FleetV2VInstance, state: FleetState) -> None:
    """Process events in time order until a van needs a decision (``state.deciding``) or
    the episode ends (``state.terminated``: every van home or stranded, or the time limit)."""
    limit = config.time_limit_h
    vmax_level = len(instance.speed_levels_kmh) - 1
    mode, event_h, started = state.mode, state.event_h, state.started
    kind = instance.tables.kind
    # a van turns DONE / STRANDED (the two highest modes: not active) or starts only in
    # this loop: the all-done test and the count of started active vans are redone then
    check_done, n_on = True, -1
    while True:
        if check_done:
            if min(mode) >= DONE:
                state.terminated = True
                return
            check_done = False
        t = min(event_h)
        v = event_h.index(t)  # the first van with the earliest event, as np.argmin
        if t > limit:
            _time_up(config, instance, state, limit)
            return
        if t > state.time_h:
            if n_on < 0:
                n_on = 0
                for m, s in zip(mode, started):
                    if s and m < DONE:
                        n_on += 1
            state.costs["time"] += config.time_cost_per_h * n_on * (t - state.time_h)
            state.time_h = t
        if not started[v]:
            started[v] = True
            n_on = -1
        m = mode[v]
        if m == READY:
            if state.partner[v] >= 0 and state.rdv_pending[v]:
                state.rdv_pending[v] = False
                _start_move(config, instance, state, v, state.rdv_node[v], TO_RDV, vmax_level)
                continue
            state.deciding = v
            return
        if m == BUSY:
            mode[v] = READY
            continue
        if m != MOVING:  # WAITING with a finite event cannot happen; be safe
            event_h[v] = math.inf
            continue
        end = state.move_end[v]
        _drive(config, instance, state, v, t, arrived=end == ARRIVE)
        if end == THRESHOLD:
            state.crossed[v] = True
            mode[v] = READY
            continue
        if end == EMPTY:
            mode[v] = STRANDED
            event_h[v] = math.inf
            state.costs["stranding"] += config.stranding_penalty
            state.totals["stranded_vans"] += 1
            _release(state, v)
            check_done, n_on = True, -1
            continue
        x = state.move_target[v]
        purpose = state.move_purpose[v]
        if purpose == ROUTE:
            n_route = instance.tables.route_len[v]
            if state.route_idx[v] < n_route:
                state.route_idx[v] += 1
            k = kind[x]
            if k == 0:
                pen, early, late = _window_pen(config, t, instance.tables.window[x])
                state.costs["time_window"] += config.electricity_price_per_kwh * pen
                state.totals["early_h"] += early
                state.totals["late_h"] += late
                mode[v] = BUSY
                event_h[v] = t + config.service_time_h
            elif k == 1:
                _charge(config, instance, state, v, x, t)
            elif state.route_idx[v] >= n_route:
                _finish_route_or_ready(config, instance, state, v, t)
                check_done, n_on = True, -1
            else:
                mode[v] = READY
        elif purpose == TO_STATION:
            _charge(config, instance, state, v, x, t)
        else:
            p = state.partner[v]
            if p < 0:
                mode[v] = READY
            elif mode[p] == WAITING and state.node[p] == x:
                c, prov = (v, p) if state.rdv_role[v] == CONSUMER else (p, v)
                _transfer(config, instance, state, c, prov, x, t)
            else:
                mode[v] = WAITING
                event_h[v] = math.inf


def _time_up(config, instance, state: FleetState, limit: float) -> None:
    """The clock hits the time limit: settle moves, charge unserved tasks as late."""
    active = [v for v, m in enumerate(state.mode) if m < DONE]
    n_on = sum(1 for v in active if state.started[v])
    state.costs["time"] += config.time_cost_per_h * n_on * max(limit - state.time_h, 0.0)
    state.time_h = limit
    kind, window = instance.tables.kind, instance.tables.window
    for v in active:
        if state.mode[v] == MOVING:
            _drive(config, instance, state, v, limit)
        route = instance.routes[v]
        for k in range(state.route_idx[v], len(route)):
            x = route[k]
            if kind[x] == 0:
                pen, _, late = _window_pen(config, limit, window[x])
                state.costs["time_window"] += config.electricity_price_per_kwh * pen
                state.totals["late_h"] += late
                state.totals["missed_tasks"] += 1
    state.deciding = -1
    state.terminated = True
