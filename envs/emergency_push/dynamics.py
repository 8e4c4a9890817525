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

Everything in a round's snapshot is exogenous: whatever is pushed, the next round's
charges, consents and congestion are the same. So ``draw_rounds`` draws every round of
the episode at reset and computes travel, rankings and push lists for all rounds in one
batched pass; a step reads row t. (When charges are not redrawn, the candidate pool
shrinks with the actions, so the push lists are then recomputed each round by the same
batched function with one row.)

Loops over a few hundred vehicles or a dozen pushes are compiled with numba
(``@njit(cache=True)``: the searches, the push-list walk, the round's admission and
swaps); numpy's per-call overhead on such small arrays was most of a step. Each
compiled function is the one rule; the Python API calls it.

Station energy balance per round (tested):
    E_end = E_start + Σ_swapped (C_2 − d·W_3 − θ5) − served,   served + unmet = W_4·t_h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from swapgym.envs.emergency_push.instance import EmergencyPushInstance, street_lattice

ROUTE_TIME, ROUTE_DISTANCE = 0, 1
# Candidate blocks of the observation/action: (name, route the vehicle takes). The first
# three are conflict-free push lists of valid vehicles (one per swap window) walked in
# the block's ranking; "nearest" is the raw nearest-first list (no strategy).
BLOCKS = (("time_first", ROUTE_TIME), ("distance_first", ROUTE_DISTANCE),
          ("energy_first", ROUTE_DISTANCE), ("nearest", ROUTE_DISTANCE))
BLOCK_ROUTES = np.array([b[1] for b in BLOCKS])
_TIE = 1e-9  # h per cell: lexicographic tie-break weight inside the time-optimal search


@dataclass
class Rounds:
    """Exogenous snapshots of every round of an episode, drawn at reset. H rounds,
    V vehicles, N intersections; T = H with dynamic traffic, else 1 (broadcast).

    charge_kwh (H or 1, V): C_2 per round (1 row when charges are not redrawn).
    consent_draw (H, V): uniform draws; a pushed user consents iff draw < probability.
    time_h / dist_km (T, 2, V): travel time and distance of each vehicle's time-optimal
        [route 0] and distance-optimal [route 1] path. window (T, 2, V): swap window of
        the arrival (−1: after the cycle). order (T, 2, V): vehicles ranked by (time,
        distance) on route 0 and (distance, time) on route 1. tree (T, 2, N): predecessors.
    candidates (H, 4, K) and slots (H, 4·K, 4): push lists and their observation
        features, precomputed when the pool cannot change (None otherwise).
    """

    charge_kwh: np.ndarray
    consent_draw: np.ndarray
    time_h: np.ndarray
    dist_km: np.ndarray
    window: np.ndarray
    order: np.ndarray
    tree: np.ndarray
    candidates: np.ndarray | None = None
    slots: np.ndarray | None = None


@dataclass
class EmergencyPushState:
    """Per-round state. The current round's snapshot is exposed as views into ``rounds``:
    ``charge_kwh`` (V,), ``consent_draw`` (V,), ``time_h`` / ``dist_km`` / ``window`` /
    ``order`` (2, V), ``tree`` (2, N).

    hour: rounds elapsed. energy_kwh: station stock E. second_level: the second-level
    response is active (E has fallen to E_low; it stays active until the blackout ends).
    in_pool (V,): still a candidate (False after driving to the station when charges
    are not redrawn). candidates (4, K): vehicle per block and slot, −1 if empty.
    slots (4·K, 4): the candidates' observation features.
    """

    hour: int
    energy_kwh: float
    second_level: bool
    in_pool: np.ndarray
    rounds: Rounds
    candidates: np.ndarray
    slots: np.ndarray
    energy_history: list[float] = field(default_factory=list)
    totals: dict[str, float] = field(default_factory=dict)

    def _row(self, arr: np.ndarray) -> np.ndarray:
        return arr[min(self.hour, len(arr) - 1)]

    @property
    def charge_kwh(self) -> np.ndarray:
        return self._row(self.rounds.charge_kwh)

    @property
    def consent_draw(self) -> np.ndarray:
        return self._row(self.rounds.consent_draw)

    @property
    def time_h(self) -> np.ndarray:
        return self._row(self.rounds.time_h)

    @property
    def dist_km(self) -> np.ndarray:
        return self._row(self.rounds.dist_km)

    @property
    def window(self) -> np.ndarray:
        return self._row(self.rounds.window)

    @property
    def order(self) -> np.ndarray:
        return self._row(self.rounds.order)

    @property
    def tree(self) -> np.ndarray:
        return self._row(self.rounds.tree)


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
    """Time and distance from every vehicle to the station on both optimal paths, for
    R congestion draws (R, E) at once: (R, 2, V) times, (R, 2, V) distances, (R, 2, N) trees.

    eq. (7) v_act = v_lim·c; eq. (8) t = d/(v_lim·c + ε). Paths are symmetric, so one
    search from the station serves every vehicle.
    Time-optimal (eq. 10): Dijkstra on t plus a 1e-9 h per-segment tie-break towards
    fewer segments, i.e. shorter distance (``_fastest_trees``, compiled: one search per
    row); its distance is read off the tree.
    Distance-optimal (eq. 11), ties by time: every shortest-distance path on the grid is
    a monotone lattice path, so a dynamic programme over Manhattan levels gives the
    fastest of them exactly — no search (``instance.street_lattice``).
    """
    cfg = instance.config
    g, src, v = instance.graph, instance.station_node, instance.vehicle_node
    d = instance.edge_length_km
    cell = float(d[0])
    t = d / (instance.speed_limit_kmh * np.atleast_2d(congestion) + cfg.speed_epsilon_kmh)  # (R, E)
    t_tree = np.empty((t.shape[0], g.n_nodes))
    pred = np.empty((t.shape[0], g.n_nodes), dtype=np.int64)
    segments = np.zeros((t.shape[0], g.n_nodes), dtype=np.int64)
    _fastest_trees(t + _TIE, g.matrix.indptr, g.matrix.indices, g.slot_edge, src, t_tree, pred,
                   segments)
    dist_a = segments * cell  # every segment is one cell, as on the distance-optimal paths
    time_a = t_tree - _TIE * segments

    cells, lattice = street_lattice(cfg.grid_cells, cfg.cell_km)
    time_b = np.zeros_like(t_tree)
    pred_b = np.full(t_tree.shape, -9999, dtype=pred.dtype)
    _fastest_lattice_paths(t, *lattice, time_b, pred_b)
    dist_b = np.broadcast_to(cells * cell, time_b.shape)
    return (np.stack([time_a[:, v], time_b[:, v]], axis=1), np.stack([dist_a[:, v], dist_b[:, v]], axis=1),
            np.stack([pred, pred_b], axis=1))


@njit(cache=True)
def _fastest_trees(w, indptr, indices, slot_edge, source, dist, pred, segments
                   ):  # pragma: no cover - compiled
    """eq. (10): Dijkstra from ``source`` on the CSR street graph under each row of edge
    weights ``w`` (R, E) (``slot_edge`` maps a CSR slot to its edge). Fills ``dist`` and
    ``pred`` (R, N) as scipy's ``dijkstra`` does: a node's distance is its parent's plus
    the edge, improved only when strictly shorter; −9999 for no predecessor. ``segments``
    (R, N): segments on each node's path."""
    n = len(indptr) - 1
    heap_d = np.empty(len(indices) + 1)
    heap_v = np.empty(len(indices) + 1, dtype=np.int64)
    done = np.zeros(n, dtype=np.bool_)
    for r in range(w.shape[0]):
        dist[r, :] = np.inf
        pred[r, :] = -9999
        done[:] = False
        dist[r, source] = 0.0
        segments[r, source] = 0
        heap_d[0], heap_v[0], size = 0.0, source, 1
        while size > 0:
            du, u = heap_d[0], heap_v[0]
            size -= 1  # pop the root: sift the last entry down from the top
            last_d, last_v, i = heap_d[size], heap_v[size], 0
            while True:
                c = 2 * i + 1
                if c >= size:
                    break
                if c + 1 < size and heap_d[c + 1] < heap_d[c]:
                    c += 1
                if heap_d[c] >= last_d:
                    break
                heap_d[i], heap_v[i] = heap_d[c], heap_v[c]
                i = c
            heap_d[i], heap_v[i] = last_d, last_v
            if done[u]:
                continue
            done[u] = True
            for slot in range(indptr[u], indptr[u + 1]):
                v = indices[slot]
                nd = du + w[r, slot_edge[slot]]
                if nd < dist[r, v]:
                    dist[r, v] = nd
                    pred[r, v] = u
                    segments[r, v] = segments[r, u] + 1
                    i = size  # push: sift up
                    size += 1
                    while i > 0 and heap_d[(i - 1) // 2] > nd:
                        heap_d[i], heap_v[i] = heap_d[(i - 1) // 2], heap_v[(i - 1) // 2]
                        i = (i - 1) // 2
                    heap_d[i], heap_v[i] = nd, v


@njit(cache=True)
def _fastest_lattice_paths(t, nodes, p1, e1, p2, e2, time_b, pred_b):  # pragma: no cover - compiled
    """eq. (11), ties by time: in Manhattan-level order, each node's fastest
    shortest-distance time is the faster of its (one or two) parents' plus the segment
    time (eq. 8), the first parent on equal times. t (R, E); fills time_b, pred_b (R, N)."""
    for r in range(t.shape[0]):
        for i in range(len(nodes)):
            via1 = time_b[r, p1[i]] + t[r, e1[i]]
            via2 = time_b[r, p2[i]] + t[r, e2[i]]
            if via2 < via1:
                time_b[r, nodes[i]] = via2
                pred_b[r, nodes[i]] = p2[i]
            else:
                time_b[r, nodes[i]] = via1
                pred_b[r, nodes[i]] = p1[i]


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
    """Vehicles by (time, distance) on route 0 and (distance, time) on route 1, per row:
    (..., 2, V) in, (..., 2, V) out (``np.lexsort`` sorts every row at once)."""
    by_time = np.lexsort((dist_km[..., 0, :], time_h[..., 0, :]))
    by_dist = np.lexsort((time_h[..., 1, :], dist_km[..., 1, :]))
    return np.stack([by_time, by_dist], axis=-2)


def arrival_energy(instance: EmergencyPushInstance, state: EmergencyPushState) -> np.ndarray:
    """(2, V) battery energy on arrival, C_2 − d·W_3, per route, this round."""
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


def candidate_table(instance: EmergencyPushInstance, charge_kwh: np.ndarray, dist_km: np.ndarray,
                    window: np.ndarray, order: np.ndarray, in_pool: np.ndarray) -> np.ndarray:
    """(H, 4, K) push lists of H rounds at once (see ``BLOCKS``).

    Blocks 0–2 walk a ranking of the valid vehicles (eq. 6) — time-first (Scheme A),
    distance-first (Scheme B), energy-first (most net energy) — keeping, under the
    "window" rule, the best-ranked vehicle of each swap window (section 3.3.2's conflict
    filter); block 3 is the K nearest vehicles in the pool, unfiltered. Inputs broadcast
    over H: charge (H|1, V), dist/window/order (H|1, 2, V, all with the same rows),
    in_pool (V,). The walk is ``_walk_push_lists``, compiled.
    """
    cfg = instance.config
    out = np.full((max(len(charge_kwh), len(order)), len(BLOCKS), cfg.candidate_slots), -1, dtype=np.int64)
    _walk_push_lists(charge_kwh, dist_km, window, order, in_pool, instance.q_f_kwh,
                     cfg.consumption_kwh_per_100km / 100.0, cfg.conflict_rule == "window",
                     instance.n_push_max, out)
    return out


@njit(cache=True)
def _arrival_kwh(charge_kwh, dist_km, per_km, hc, t, route, v):  # pragma: no cover - compiled
    """C_2 − d·W_3: the energy vehicle ``v`` arrives with on ``route``."""
    return charge_kwh[hc, v] - dist_km[t, route, v] * per_km


@njit(cache=True)
def _walk_push_lists(charge_kwh, dist_km, window, order, in_pool, q_f, per_km, one_per_window,
                     n_windows, out):  # pragma: no cover - compiled
    """Fill ``out`` (H, 4, K) for ``candidate_table``. A vehicle is valid on a route if
    it is in the pool, arrives inside the cycle and with at least Q_f (eq. 6).

    Blocks 0 and 1 rank by order[route 0] and order[route 1]. Without the window rule
    they are the first K valid vehicles of the ranking. With it, each window keeps its
    best-ranked valid vehicle (section 3.3.2) — found by scanning the window's vehicles
    in rank order (grouped once per ranking row) — and the list is those, best-ranked
    first, cut to K. Block 2 ranks by arrival energy on route 1, most first, ties by
    vehicle index (as a stable sort): the most energetic valid vehicle of each window
    (or every valid vehicle) inserted into a sorted list of K. Block 3: the first K of
    order[route 1] still in the pool."""
    n_rounds, n, k = out.shape[0], order.shape[2], out.shape[2]
    start = np.zeros((2, n_windows + 1), dtype=np.int64)  # window w's members: start[w]:start[w+1]
    members = np.empty((2, n), dtype=np.int64)  # vehicles grouped by window, in rank order
    member_rank = np.empty((2, n), dtype=np.int64)
    best = np.empty(n_windows, dtype=np.int64)
    best_e = np.empty(n_windows)
    top_key = np.empty(k)
    grouped = -1
    for h in range(n_rounds):
        t = h if order.shape[0] > 1 else 0
        hc = h if charge_kwh.shape[0] > 1 else 0
        if one_per_window and grouped != t:  # group the rankings of this row by window
            grouped = t
            for r in range(2):
                start[r, :] = 0
                for pos in range(n):
                    w = window[t, r, order[t, r, pos]]
                    if w >= 0:
                        start[r, w + 1] += 1
                for w in range(n_windows):
                    start[r, w + 1] += start[r, w]
                best[:] = start[r, :n_windows]  # here: next free place of each window
                for pos in range(n):
                    v = order[t, r, pos]
                    w = window[t, r, v]
                    if w >= 0:
                        members[r, best[w]], member_rank[r, best[w]] = v, pos
                        best[w] += 1
        for r in range(2):  # blocks 0 and 1: block r ranks and travels by route r
            s = 0
            if one_per_window:
                for w in range(n_windows):
                    for i in range(start[r, w], start[r, w + 1]):
                        v = members[r, i]
                        if in_pool[v] and _arrival_kwh(charge_kwh, dist_km, per_km, hc, t, r, v) >= q_f:
                            s = _insert_top(out[h, r], top_key, s, v, -float(member_rank[r, i]))
                            break
            else:
                for pos in range(n):
                    if s == k:
                        break
                    v = order[t, r, pos]
                    if (in_pool[v] and window[t, r, v] >= 0
                            and _arrival_kwh(charge_kwh, dist_km, per_km, hc, t, r, v) >= q_f):
                        out[h, r, s] = v
                        s += 1
        # block 2: energy-first on route 1
        best[:] = -1
        s = 0
        for v in range(n):
            w = window[t, 1, v]
            energy = _arrival_kwh(charge_kwh, dist_km, per_km, hc, t, 1, v)
            if not in_pool[v] or w < 0 or energy < q_f:
                continue
            if not one_per_window:
                s = _insert_top(out[h, 2], top_key, s, v, energy)
            elif best[w] < 0 or energy > best_e[w]:  # the most energetic of each window
                best[w], best_e[w] = v, energy
        if one_per_window:
            for w in range(n_windows):
                if best[w] >= 0:
                    s = _insert_top(out[h, 2], top_key, s, best[w], best_e[w])
        s = 0
        for pos in range(n):
            if s == k:
                break
            v = order[t, 1, pos]
            if in_pool[v]:
                out[h, 3, s] = v
                s += 1


@njit(cache=True)
def _insert_top(ids, keys, count, v, key):  # pragma: no cover - compiled
    """Insert vehicle ``v`` into ``ids[:count]`` kept sorted by (key descending, vehicle
    ascending) and cut to len(ids); returns the new count."""
    k = len(ids)
    p = count
    while p > 0 and (key > keys[p - 1] or (key == keys[p - 1] and v < ids[p - 1])):
        p -= 1
    if p >= k:
        return count
    last = min(count, k - 1)
    for j in range(last, p, -1):
        ids[j] = ids[j - 1]
        keys[j] = keys[j - 1]
    ids[p] = v
    keys[p] = key
    return min(count + 1, k)


def slot_features(instance: EmergencyPushInstance, charge_kwh: np.ndarray, time_h: np.ndarray,
                  dist_km: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(H, 4·K, 4) observation features of the push lists: present, arrival time ÷ cycle,
    path distance ÷ push radius, net energy the battery adds ÷ Q_e clipped to [−1, 1]
    (features capped at 10, the observation bound; empty slots all 0). Inputs broadcast
    over H as in ``candidate_table``; the loop is ``_fill_slot_features``, compiled."""
    cfg = instance.config
    h = candidates.shape[0]
    out = np.empty((h, candidates.shape[1] * candidates.shape[2], 4), dtype=np.float32)
    _fill_slot_features(charge_kwh, time_h, dist_km, candidates.reshape(h, -1),
                        np.repeat(BLOCK_ROUTES, cfg.candidate_slots), cfg.consumption_kwh_per_100km / 100.0,
                        instance.theta5_kwh, cfg.push_cycle_h, cfg.push_radius_km, cfg.battery_kwh, out)
    return out


@njit(cache=True)
def _fill_slot_features(charge_kwh, time_h, dist_km, candidates, routes, per_km, theta5, cycle_h,
                        radius_km, battery_kwh, out):  # pragma: no cover - compiled
    """Fill ``out`` (H, S, 4) for ``slot_features``; candidates (H, S), routes (S,)."""
    for h in range(candidates.shape[0]):
        ht = h if time_h.shape[0] > 1 else 0
        hc = h if charge_kwh.shape[0] > 1 else 0
        for j in range(candidates.shape[1]):
            v = candidates[h, j]
            if v < 0:
                out[h, j, :] = 0.0
                continue
            r = routes[j]
            dist = dist_km[ht, r, v]
            net = charge_kwh[hc, v] - dist * per_km - theta5  # C_2 − d·W_3 − θ5
            out[h, j, 0] = 1.0
            out[h, j, 1] = min(time_h[ht, r, v] / cycle_h, 10.0)
            out[h, j, 2] = min(dist / radius_km, 10.0)
            out[h, j, 3] = min(max(net / battery_kwh, -1.0), 1.0)


def candidate_blocks(instance: EmergencyPushInstance, state: EmergencyPushState) -> np.ndarray:
    """(4, K) push lists of the current round (``candidate_table`` with one row)."""
    return candidate_table(instance, state.charge_kwh[None], state.dist_km[None],
                           state.window[None], state.order[None], state.in_pool)[0]


def refresh_round(instance: EmergencyPushInstance, state: EmergencyPushState) -> None:
    """Recompute the current round's push lists and features from the state (used when
    the pool changed, and by tests that edit a snapshot by hand)."""
    state.candidates = candidate_blocks(instance, state)
    state.slots = slot_features(instance, state.charge_kwh[None], state.time_h[None],
                                state.dist_km[None], state.candidates[None])[0]


def draw_rounds(instance: EmergencyPushInstance, rng: np.random.Generator) -> Rounds:
    """Draw every round of the episode and compute its travel and push lists.

    Draw order (fixed, whatever the actions): charges (H×V, or V once when not redrawn),
    consent (H×V), congestion (H×E with dynamic traffic, else E once).
    """
    cfg = instance.config
    n, hours = instance.n_vehicles, cfg.blackout_hours
    charge = rng.integers(cfg.charge_min_kwh, cfg.charge_max_kwh + 1,
                          size=(hours if cfg.redraw_vehicles_each_round else 1, n)).astype(float)
    consent = rng.random((hours, n))
    n_traffic = hours if cfg.dynamic_traffic else 1
    congestion = rng.uniform(cfg.congestion_min, cfg.congestion_max,
                             size=(n_traffic, len(instance.edge_length_km)))
    time_h, dist_km, tree = travel(instance, congestion)
    order = route_orders(time_h, dist_km)
    window = swap_windows(instance, time_h)
    rounds = Rounds(charge, consent, time_h, dist_km, window, order, tree)
    if cfg.redraw_vehicles_each_round:  # the pool never changes: precompute every round
        rounds.candidates = candidate_table(instance, charge, dist_km, window, order,
                                            np.ones(n, dtype=bool))
        rounds.slots = slot_features(instance, charge, time_h, dist_km, rounds.candidates)
    return rounds


def enter_round(instance: EmergencyPushInstance, state: EmergencyPushState) -> None:
    """Point the state at round ``state.hour``'s push lists."""
    r = state.rounds
    if r.candidates is not None:
        state.candidates = r.candidates[state.hour]
        state.slots = r.slots[state.hour].reshape(-1, 4)
    else:
        refresh_round(instance, state)


def initial_state(instance: EmergencyPushInstance, rng: np.random.Generator) -> EmergencyPushState:
    cfg = instance.config
    n = instance.n_vehicles
    state = EmergencyPushState(
        hour=0, energy_kwh=float(cfg.initial_energy_kwh),
        second_level=cfg.initial_energy_kwh <= cfg.e_low_kwh, in_pool=np.ones(n, dtype=bool),
        rounds=draw_rounds(instance, rng), candidates=np.empty(0), slots=np.empty(0))
    state.energy_history.append(state.energy_kwh)
    state.totals = dict.fromkeys(TOTAL_KEYS, 0.0)
    state.totals["peak_energy_kwh"] = state.energy_kwh
    state.totals["first_hour_e_high"] = 0.0 if state.energy_kwh >= cfg.e_high_kwh else math.nan
    enter_round(instance, state)
    return state


TOTAL_KEYS = ("unmet_kwh", "served_kwh", "delivered_kwh", "km_driven", "vehicles_pushed",
              "vehicles_accepted", "vehicles_admitted", "vehicles_arrived", "hours_below_e_low",
              "first_hour_e_high", "peak_energy_kwh")


def selection_to_pushes(instance: EmergencyPushInstance, state: EmergencyPushState,
                        selection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Decode the (4·K,) 0/1 selection into (vehicles, routes): block order then slot
    order, first occurrence of a vehicle wins, capped at ``max_push_per_round``; nothing
    before the second-level response (``_decode_selection``, compiled). Raises
    ValueError on entries other than 0 and 1."""
    selection = np.asarray(selection).ravel()
    if selection.shape != (state.candidates.size,):
        raise ValueError(f"action: expected {state.candidates.size} 0/1 entries (4 blocks x "
                         f"candidate_slots), got {selection.size}")
    cap = instance.config.max_push_per_round if state.second_level else 0
    vehicles, routes = np.empty((2, cap), dtype=np.int64)
    n = _decode_selection(selection, state.candidates, BLOCK_ROUTES, vehicles, routes)
    if n < 0:
        raise ValueError("action: expected a 0/1 array (MultiBinary), got other values")
    return vehicles[:n], routes[:n]


@njit(cache=True)
def _decode_selection(selection, candidates, block_routes, vehicles, routes):  # pragma: no cover - compiled
    """Fill ``vehicles`` / ``routes`` (at most their length) for ``selection_to_pushes``;
    returns how many, or −1 if an entry is neither 0 nor 1."""
    for x in selection:
        if x != 0 and x != 1:
            return -1
    k, n = candidates.shape[1], 0
    for slot in range(len(selection)):
        if n == len(vehicles):
            break
        v = candidates[slot // k, slot % k]
        if selection[slot] == 0 or v < 0 or v in vehicles[:n]:
            continue
        vehicles[n], routes[n] = v, block_routes[slot // k]
        n += 1
    return n


@njit(cache=True)
def conflict_filter(window: np.ndarray, battery_kwh: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Section 3.3.2, "window" rule: indices admitted, one per swap window (higher
    battery wins, the first on equal battery), in window order; arrivals after the
    cycle (window −1) are not admitted."""
    best = np.full(max(window.max(), -1) + 1 if len(window) else 0, -1, dtype=np.int64)
    for i in range(len(window)):
        w = window[i]
        if w >= 0 and (best[w] < 0 or battery_kwh[i] > battery_kwh[best[w]]):
            best[w] = i
    return best[best >= 0]


@njit(cache=True)
def queue_admission(arrival_h: np.ndarray, battery_kwh: np.ndarray, swap_h: float,
                    cycle_h: float, capacity: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """"queue" rule: (indices admitted in arrival order, their swap start times).
    First come first served, higher battery first on equal arrival (then the first
    listed); admitted while the swap can start within the cycle, at most ``capacity``."""
    n = len(arrival_h)
    order = np.arange(n)
    for i in range(1, n):  # insertion sort by (arrival, −battery, index): a dozen entries
        j, o = i, order[i]
        while j > 0 and (arrival_h[o] < arrival_h[order[j - 1]] or (
                arrival_h[o] == arrival_h[order[j - 1]] and battery_kwh[o] > battery_kwh[order[j - 1]])):
            order[j] = order[j - 1]
            j -= 1
        order[j] = o
    admitted = np.empty(n, dtype=np.int64)
    starts = np.empty(n)
    count, free_at = 0, 0.0
    for i in order:
        start = max(arrival_h[i], free_at)
        if start >= cycle_h or count >= capacity:
            break
        admitted[count], starts[count] = i, start
        count += 1
        free_at = start + swap_h
    return admitted[:count], starts[:count]


@njit(cache=True)
def _draw(energy: float, need: float) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """The community draws ``need`` kWh from the stock: (stock left, served, unmet)."""
    served = energy if energy < need else need
    return energy - served, served, need - served


@njit(cache=True)
def _play_round(vehicles, routes, consent_draw, consent_p, time_h, dist_km, charge_kwh, window,
                window_rule, per_km, swap_h, cycle_h, n_push_max, theta5, energy, demand,
                capacity, v_c, r_c, adm, swapped):  # pragma: no cover - compiled
    """Steps 3–5 of a round for ``step``: consent, the conflict filter (or the queue),
    swaps in event order with the community drawing W_4 between events. Fills v_c / r_c
    (consenting vehicles and routes), adm (their admitted positions), swapped
    (positions that swapped); returns (consented, admitted, swapped counts, energy,
    served, unmet, delivered, arrival energy, km driven, refused full, refused empty)."""
    n_c = 0
    for i in range(len(vehicles)):
        if consent_draw[vehicles[i]] < consent_p:
            v_c[n_c], r_c[n_c] = vehicles[i], routes[i]
            n_c += 1
    arrive_h, dist, b_in = np.empty(n_c), np.empty(n_c), np.empty(n_c)
    w_c = np.empty(n_c, dtype=np.int64)
    for j in range(n_c):
        arrive_h[j], dist[j] = time_h[r_c[j], v_c[j]], dist_km[r_c[j], v_c[j]]
        b_in[j] = charge_kwh[v_c[j]] - dist[j] * per_km  # C_2 − d·W_3
        w_c[j] = window[r_c[j], v_c[j]]
    if window_rule:
        admitted = conflict_filter(w_c, b_in)
        event_h = arrive_h[admitted]
    else:
        admitted, event_h = queue_admission(arrive_h, b_in, swap_h, cycle_h, n_push_max)

    rate = demand / cycle_h
    t_prev, served, unmet, km = 0.0, 0.0, 0.0, 0.0
    n_sw, delivered, arrived_kwh, full, empty = 0, 0.0, 0.0, 0, 0
    for a in range(len(admitted)):
        i, t_swap = admitted[a], event_h[a]
        adm[a] = i
        km += dist[i]
        energy, s, u = _draw(energy, rate * (t_swap - t_prev))
        served, unmet, t_prev = served + s, unmet + u, t_swap
        net = b_in[i] - theta5  # the battery minus the θ5 handed back (section 3.3.2)
        if net <= 0:
            empty += 1
        elif energy + net > capacity:
            full += 1
        else:
            energy += net
            delivered += net
            arrived_kwh += b_in[i]
            swapped[n_sw] = i
            n_sw += 1
    energy, s, u = _draw(energy, rate * (cycle_h - t_prev))
    served, unmet = served + s, unmet + u
    return n_c, len(admitted), n_sw, energy, served, unmet, delivered, arrived_kwh, km, full, empty


def step(instance: EmergencyPushInstance, state: EmergencyPushState, vehicles: np.ndarray,
         routes: np.ndarray) -> RoundResult:
    """Play one round with the given pushes, update ``state`` and enter the next round
    (the round's rules: ``_play_round``, compiled)."""
    cfg = instance.config
    e_start = state.energy_kwh
    v_c, r_c, adm, swapped = np.empty((4, len(vehicles)), dtype=np.int64)
    n_c, n_adm, n_sw, energy, served, unmet, delivered, arrived_kwh, km, full, empty = _play_round(
        vehicles, routes, state.consent_draw, instance.consent_probability, state.time_h,
        state.dist_km, state.charge_kwh, state.window, cfg.conflict_rule == "window",
        cfg.consumption_kwh_per_100km / 100.0, cfg.swap_minutes / 60.0, cfg.push_cycle_h,
        instance.n_push_max, instance.theta5_kwh, e_start, float(instance.demand_kwh[state.hour]),
        cfg.station_capacity_kwh + 1e-9, v_c, r_c, adm, swapped)
    v_c, r_c, adm = v_c[:n_c], r_c[:n_c], adm[:n_adm]
    swapped = swapped[:n_sw]
    admitted_v = v_c[adm]
    if not cfg.redraw_vehicles_each_round:
        state.in_pool[admitted_v] = False
    result = RoundResult(
        pushed=vehicles, consented=v_c, admitted=admitted_v, admitted_route=r_c[adm],
        tree=state.tree, swapped=v_c[swapped],
        delivered_kwh=delivered, arrival_energy_kwh=arrived_kwh, returned_kwh=instance.theta5_kwh * n_sw,
        travel_energy_kwh=km * cfg.consumption_kwh_per_100km / 100.0,
        served_kwh=served, unmet_kwh=unmet, km_driven=km,
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
        enter_round(instance, state)
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
