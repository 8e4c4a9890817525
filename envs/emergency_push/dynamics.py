"""State and transition rules of the emergency-push problem (the physics, written once).

One round (one step) is one push cycle t_h during the blackout:

1. At the start of the round the platform sees a snapshot: each vehicle's charge C_2,
   the round's congestion (eq. 7) and so each vehicle's two candidate paths to the
   station — the time-optimal one (eqs. 8–10, ties broken by distance) and the
   distance-optimal one (eq. 11, ties broken by time). Whether each user *would*
   consent is drawn here too (hidden from the agent, visible to the oracle), so the
   random stream does not depend on the actions (common random numbers).
2. The policy pushes a set of vehicles, each with the route of the ranking it was
   chosen from.
3. Consenting vehicles pass the conflict filter of section 3.3.2. The push cycle has
   N_t swap windows of t_c minutes (eq. 5: N_t = t_h/t_c); a window serves one swap,
   and of several vehicles arriving in the same window ("simultaneously") the one
   with the higher battery is admitted, the others are filtered out and stay home.
   The platform applies the same rule while building each ranking's push list: it
   walks the ranking and keeps the best-ranked valid vehicle of each window.
   Read literally, this caps swaps at the number of windows vehicles can reach: in a
   4 km circle everyone arrives within ~15 minutes, so ~3 swaps an hour. The
   ``conflict_rule="queue"`` variant lets admitted vehicles queue for the bay instead:
   the platform admits consenting vehicles in arrival order (higher battery first on
   ties) while their swap can start within the cycle, at most N_t.
4. Admitted vehicles drive to the station (they arrive with C_2 − d·W_3) and swap:
   the station keeps the battery and hands over one holding θ5, the user's safe return
   energy, so the station gains C_2 − d·W_3 − θ5 ("battery level minus travel energy
   minus return-trip energy", section 3.3.2), at least θ4 by the validity rule (eq. 6).
   A battery that would overfill the station, or bring no net energy, is refused.
5. The community draws W_4 continuously over the round; whatever the stock cannot
   cover is unmet.

Station energy balance per round (tested):
    E_end = E_start + Σ_swapped (C_2 − d·W_3 − θ5) − served,   served + unmet = W_4·t_h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from swapgym.envs.emergency_push.instance import EmergencyPushInstance

ROUTE_TIME, ROUTE_DISTANCE = 0, 1
# Candidate blocks of the observation/action: (name, route the vehicle takes). The first
# three are conflict-free push lists of valid vehicles (one per swap window) walked in
# the block's ranking; "nearest" is the raw nearest-first list (no strategy).
BLOCKS = (("time_first", ROUTE_TIME), ("distance_first", ROUTE_DISTANCE),
          ("energy_first", ROUTE_DISTANCE), ("nearest", ROUTE_DISTANCE))
BLOCK_ROUTES = np.array([b[1] for b in BLOCKS])
_TIE = 1e-9  # h per cell: lexicographic tie-break weight inside the time-optimal search


@dataclass
class EmergencyPushState:
    """Per-round state. V vehicles, K candidate slots per block.

    hour: rounds elapsed. energy_kwh: station stock E. second_level: the second-level
    response is active (E has fallen to E_low; it stays active until the blackout ends).
    charge_kwh (V,): C_2 this round. consent_draw (V,): uniform draws; a pushed user
    consents iff draw < consent_probability. time_h / dist_km (2, V): travel time and
    distance of each vehicle's time-optimal [0] and distance-optimal [1] path.
    in_pool (V,): still a candidate (False after driving to the station when charges
    are not redrawn). candidates (4, K): vehicle index per block and slot, −1 if empty.
    """

    hour: int
    energy_kwh: float
    second_level: bool
    charge_kwh: np.ndarray
    consent_draw: np.ndarray
    time_h: np.ndarray
    dist_km: np.ndarray
    in_pool: np.ndarray
    window: np.ndarray  # (2, V) swap window of the arrival per route (−1: after the cycle)
    candidates: np.ndarray
    order: np.ndarray  # (2, V) vehicles sorted lexicographically per route criterion
    tree: np.ndarray  # (2, N) shortest-path predecessor of every node, per route (for drawing)
    energy_history: list[float] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)


@dataclass
class RoundResult:
    """What one round did. Energies in kWh, distances in km."""

    pushed: np.ndarray  # vehicle ids pushed
    consented: np.ndarray
    admitted: np.ndarray  # after the conflict filter (these drive)
    admitted_route: np.ndarray  # route each admitted vehicle takes
    tree: np.ndarray  # the round's shortest-path trees (for drawing the routes)
    swapped: np.ndarray
    delivered_kwh: float  # Σ net energy the swapped batteries added
    arrival_energy_kwh: float  # Σ energy the swapped vehicles arrived with
    returned_kwh: float  # Σ θ5 handed back to swapped users
    travel_energy_kwh: float  # Σ d·W_3 of admitted vehicles
    served_kwh: float
    unmet_kwh: float
    km_driven: float
    energy_start_kwh: float
    energy_end_kwh: float
    refused_full: int
    refused_empty: int


def travel(instance: EmergencyPushInstance, congestion: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time and distance from every vehicle to the station on both optimal paths.

    eq. (7) v_act = v_lim·c; eq. (8) t = d/(v_lim·c + ε). Paths are symmetric, so one
    Dijkstra from the station serves every vehicle. Time-optimal (eq. 10): weight t plus
    a 1e-9 h per-segment tie-break towards fewer segments, i.e. shorter distance; its
    distance is read off the shortest-path tree. Distance-optimal (eq. 11): weight
    M·d + t with M·d larger than any path's time, which is exactly lexicographic
    (distance, then time) because every street segment has the same length.
    """
    cfg = instance.config
    g, src, v = instance.graph, instance.station_node, instance.vehicle_node
    d = instance.edge_length_km
    cell = float(d[0])
    t = d / (instance.speed_limit_kmh * congestion + cfg.speed_epsilon_kmh)
    g.set_weights(t + _TIE)
    t_tree, pred = g.shortest_from(src)
    dist_a = g.path_sums(pred, src, d)
    time_a = t_tree - _TIE * np.rint(dist_a / cell)
    big = (1.0 + float(t.sum())) / cell  # M: M·cell exceeds any path's time
    g.set_weights(big * d + t)
    w_tree, pred_b = g.shortest_from(src)
    dist_b = np.floor(w_tree / (big * cell)) * cell
    time_b = w_tree - big * dist_b
    return (np.stack([time_a[v], time_b[v]]), np.stack([dist_a[v], dist_b[v]]),
            np.stack([pred, pred_b]))


def path_nodes(instance: EmergencyPushInstance, tree: np.ndarray, vehicle: int,
               route: int) -> list[int]:
    """Intersections from ``vehicle`` to the station along its route in ``tree``
    (a state's or a round result's predecessor trees)."""
    node, out = int(instance.vehicle_node[vehicle]), []
    while node >= 0 and node != instance.station_node:
        out.append(node)
        node = int(tree[route, node])
    return [*out, instance.station_node]


def route_orders(time_h: np.ndarray, dist_km: np.ndarray) -> np.ndarray:
    """(2, V): vehicles by (time, distance) on route 0 and (distance, time) on route 1."""
    return np.stack([np.lexsort((dist_km[0], time_h[0])), np.lexsort((time_h[1], dist_km[1]))])


def arrival_energy(instance: EmergencyPushInstance, state: EmergencyPushState) -> np.ndarray:
    """(2, V) battery energy on arrival, C_2 − d·W_3, per route."""
    per_km = instance.config.consumption_kwh_per_100km / 100.0
    return state.charge_kwh[None, :] - state.dist_km * per_km


def valid(instance: EmergencyPushInstance, state: EmergencyPushState) -> np.ndarray:
    """(2, V) eq. (6): arrives with at least Q_f = θ4 + θ5, inside the push cycle."""
    return ((arrival_energy(instance, state) >= instance.q_f_kwh) & (state.window >= 0)
            & state.in_pool[None, :])


def swap_windows(instance: EmergencyPushInstance, time_h: np.ndarray) -> np.ndarray:
    """Swap window index of each arrival (N_t windows of t_c per cycle), −1 if too late."""
    swap_h = instance.config.swap_minutes / 60.0
    w = np.floor(time_h / swap_h + 1e-12).astype(np.int64)
    return np.where(w < instance.n_push_max, w, -1)


def one_per_window(ranked: np.ndarray, window: np.ndarray, n_windows: int) -> np.ndarray:
    """The best-ranked vehicle of each window, in ranking order (``ranked`` is ordered)."""
    if len(ranked) == 0:
        return ranked
    hit = window[ranked][None, :] == np.arange(n_windows)[:, None]
    has = hit.any(axis=1)
    first = np.sort(hit.argmax(axis=1)[has])
    return ranked[first]


def candidate_blocks(instance: EmergencyPushInstance, state: EmergencyPushState) -> np.ndarray:
    """(4, K) candidate vehicles per block (see ``BLOCKS``): the time-first list (Scheme A),
    the distance-first list (Scheme B), the energy-first list (most net energy) among
    valid vehicles — one per swap window under the "window" rule — and the K nearest
    vehicles with no filter."""
    cfg = instance.config
    k, n_win = cfg.candidate_slots, instance.n_push_max
    windowed = cfg.conflict_rule == "window"
    arrive_kwh = arrival_energy(instance, state)
    ok = (arrive_kwh >= instance.q_f_kwh) & (state.window >= 0) & state.in_pool[None, :]
    out = np.full((len(BLOCKS), k), -1, dtype=np.int64)

    by_time = state.order[ROUTE_TIME]
    by_time = by_time[ok[ROUTE_TIME][by_time]]
    if windowed and len(by_time):  # sorted by arrival: first of each window = change points
        w = state.window[ROUTE_TIME][by_time]
        keep = np.empty(len(w), dtype=bool)
        keep[0] = True
        np.not_equal(w[1:], w[:-1], out=keep[1:])
        by_time = by_time[keep]
    by_dist = state.order[ROUTE_DISTANCE]
    by_dist = by_dist[ok[ROUTE_DISTANCE][by_dist]]
    ok_b = np.flatnonzero(ok[ROUTE_DISTANCE])
    by_energy = ok_b[np.argsort(-arrive_kwh[ROUTE_DISTANCE, ok_b], kind="stable")]
    if windowed:
        by_dist = one_per_window(by_dist, state.window[ROUTE_DISTANCE], n_win)
        by_energy = one_per_window(by_energy, state.window[ROUTE_DISTANCE], n_win)
    for b, chosen in enumerate((by_time[:k], by_dist[:k], by_energy[:k])):
        out[b, : len(chosen)] = chosen
    nearest = state.order[ROUTE_DISTANCE]
    nearest = nearest[state.in_pool[nearest]][:k]
    out[3, : len(nearest)] = nearest
    return out


def draw_round(instance: EmergencyPushInstance, state: EmergencyPushState, rng: np.random.Generator,
               first: bool = False) -> None:
    """Draw the next round's snapshot into ``state`` (fixed number of draws per round)."""
    cfg = instance.config
    n = instance.n_vehicles
    if cfg.redraw_vehicles_each_round or first:
        state.charge_kwh = rng.integers(cfg.charge_min_kwh, cfg.charge_max_kwh + 1, size=n).astype(float)
    state.consent_draw = rng.random(n)
    if cfg.dynamic_traffic or first:
        congestion = rng.uniform(cfg.congestion_min, cfg.congestion_max, size=len(instance.edge_length_km))
        state.time_h, state.dist_km, state.tree = travel(instance, congestion)
        state.order = route_orders(state.time_h, state.dist_km)
        state.window = swap_windows(instance, state.time_h)
    state.candidates = candidate_blocks(instance, state)


def initial_state(instance: EmergencyPushInstance, rng: np.random.Generator) -> EmergencyPushState:
    cfg = instance.config
    n = instance.n_vehicles
    state = EmergencyPushState(
        hour=0, energy_kwh=float(cfg.initial_energy_kwh),
        second_level=cfg.initial_energy_kwh <= cfg.e_low_kwh,
        charge_kwh=np.zeros(n), consent_draw=np.zeros(n), time_h=np.zeros((2, n)),
        dist_km=np.zeros((2, n)), in_pool=np.ones(n, dtype=bool),
        window=np.zeros((2, n), dtype=np.int64),
        candidates=np.full((len(BLOCKS), cfg.candidate_slots), -1, dtype=np.int64),
        order=np.zeros((2, n), dtype=np.int64), tree=np.zeros((2, instance.graph.n_nodes), np.int32))
    state.energy_history.append(state.energy_kwh)
    state.totals = dict.fromkeys(TOTAL_KEYS, 0.0)
    state.totals["peak_energy_kwh"] = state.energy_kwh
    state.totals["first_hour_e_high"] = 0.0 if state.energy_kwh >= cfg.e_high_kwh else math.nan
    draw_round(instance, state, rng, first=True)
    return state


TOTAL_KEYS = ("unmet_kwh", "served_kwh", "delivered_kwh", "km_driven", "vehicles_pushed",
              "vehicles_accepted", "vehicles_admitted", "vehicles_arrived", "hours_below_e_low",
              "first_hour_e_high", "peak_energy_kwh")


def selection_to_pushes(instance: EmergencyPushInstance, state: EmergencyPushState,
                        selection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode the (4, K) 0/1 selection into (vehicles, routes): block order then slot
    order, first occurrence of a vehicle wins, capped at ``max_push_per_round``."""
    sel = (selection.reshape(state.candidates.shape) != 0) & (state.candidates >= 0)
    if not state.second_level:
        sel[:] = False
    vehicles = state.candidates[sel]
    routes = np.repeat(BLOCK_ROUTES, sel.sum(axis=1))
    _, first = np.unique(vehicles, return_index=True)
    first.sort()
    first = first[: instance.config.max_push_per_round]
    return vehicles[first], routes[first]


def conflict_filter(window: np.ndarray, battery_kwh: np.ndarray) -> np.ndarray:
    """Section 3.3.2, "window" rule: indices admitted, one per swap window (higher
    battery wins), in window order; arrivals after the cycle (window −1) are not admitted."""
    order = np.lexsort((-battery_kwh, window))
    order = order[window[order] >= 0]
    w = window[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = w[1:] != w[:-1]
    return order[keep]


def queue_admission(arrival_h: np.ndarray, battery_kwh: np.ndarray, swap_h: float,
                    cycle_h: float, capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """"queue" rule: (indices admitted in arrival order, their swap start times).
    First come first served, higher battery first on equal arrival; admitted while the
    swap can start within the cycle, at most ``capacity``."""
    order = np.lexsort((-battery_kwh, arrival_h))
    admitted, starts, free_at = [], [], 0.0
    for i in order:
        start = max(float(arrival_h[i]), free_at)
        if start >= cycle_h or len(admitted) >= capacity:
            break
        admitted.append(i)
        starts.append(start)
        free_at = start + swap_h
    return np.asarray(admitted, dtype=np.int64), np.asarray(starts)


def _draw(energy: float, need: float) -> tuple[float, float, float]:
    served = min(energy, need)
    return energy - served, served, need - served


def step(instance: EmergencyPushInstance, state: EmergencyPushState, vehicles: np.ndarray,
         routes: np.ndarray, rng: np.random.Generator) -> RoundResult:
    """Play one round with the given pushes, update ``state`` and draw the next round."""
    cfg = instance.config
    theta5, cycle = instance.theta5_kwh, cfg.push_cycle_h
    e_start = state.energy_kwh
    consents = state.consent_draw[vehicles] < instance.consent_probability
    v_c, r_c = vehicles[consents], routes[consents]
    arrive_h = state.time_h[r_c, v_c]
    dist = state.dist_km[r_c, v_c]
    b_in = state.charge_kwh[v_c] - dist * (cfg.consumption_kwh_per_100km / 100.0)
    if cfg.conflict_rule == "window":
        adm = conflict_filter(state.window[r_c, v_c], b_in)
        event_h = arrive_h[adm]
    else:
        adm, event_h = queue_admission(arrive_h, b_in, cfg.swap_minutes / 60.0, cycle,
                                       instance.n_push_max)

    demand = float(instance.demand_kwh[state.hour])
    rate = demand / cycle
    energy, t_prev, served, unmet = e_start, 0.0, 0.0, 0.0
    swapped, delivered, arrived_kwh, full, empty = [], 0.0, 0.0, 0, 0
    for i, t_swap in zip(adm, event_h):  # admitted vehicles in swap order
        energy, s, u = _draw(energy, rate * (t_swap - t_prev))
        served, unmet, t_prev = served + s, unmet + u, t_swap
        net = b_in[i] - theta5
        if net <= 0:
            empty += 1
        elif energy + net > cfg.station_capacity_kwh + 1e-9:
            full += 1
        else:
            energy += net
            delivered += net
            arrived_kwh += b_in[i]
            swapped.append(i)
    energy, s, u = _draw(energy, rate * (cycle - t_prev))
    served, unmet = served + s, unmet + u

    admitted_v = v_c[adm]
    if not cfg.redraw_vehicles_each_round:
        state.in_pool[admitted_v] = False
    result = RoundResult(
        pushed=vehicles, consented=v_c, admitted=admitted_v, admitted_route=r_c[adm], tree=state.tree, swapped=v_c[np.asarray(swapped, dtype=np.int64)],
        delivered_kwh=delivered, arrival_energy_kwh=arrived_kwh, returned_kwh=theta5 * len(swapped),
        travel_energy_kwh=float(dist[adm].sum()) * cfg.consumption_kwh_per_100km / 100.0,
        served_kwh=served, unmet_kwh=unmet, km_driven=float(dist[adm].sum()),
        energy_start_kwh=e_start, energy_end_kwh=energy, refused_full=full, refused_empty=empty)

    state.energy_kwh = energy
    state.hour += 1
    if energy <= cfg.e_low_kwh:
        state.second_level = True
    state.energy_history.append(energy)
    tot = state.totals
    tot["unmet_kwh"] += unmet
    tot["served_kwh"] += served
    tot["delivered_kwh"] += delivered
    tot["km_driven"] += result.km_driven
    tot["vehicles_pushed"] += len(vehicles)
    tot["vehicles_accepted"] += len(v_c)
    tot["vehicles_admitted"] += len(adm)
    tot["vehicles_arrived"] += len(swapped)
    tot["hours_below_e_low"] += float(energy < cfg.e_low_kwh)
    tot["peak_energy_kwh"] = max(tot["peak_energy_kwh"], energy)
    if energy >= cfg.e_high_kwh and math.isnan(tot["first_hour_e_high"]):
        tot["first_hour_e_high"] = float(state.hour)
    if state.hour < cfg.blackout_hours:
        draw_round(instance, state, rng)
    return result


def reward_terms(instance: EmergencyPushInstance, result: RoundResult) -> dict[str, float]:
    """The reward, split: unmet community energy (heavy), shortfall of the station below
    E_high after the round (the target band is [E_high, capacity]), km driven."""
    cfg = instance.config
    return {
        "unmet_energy": -cfg.unmet_penalty_per_kwh * result.unmet_kwh,
        "below_target": -cfg.band_penalty_per_kwh * max(0.0, cfg.e_high_kwh - result.energy_end_kwh),
        "travel": -cfg.travel_penalty_per_km * result.km_driven,
    }
