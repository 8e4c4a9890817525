"""Problem data of one FleetV2V episode: nodes, time windows, road graph, fleet, routes.

Node ``i`` here is the paper's node ``i + 1`` (the paper numbers nodes from 1: task points
1–21, charging stations 22–25, distribution centre 26). Everything that does not change
during an episode lives here; the per-event state lives in ``dynamics.FleetState``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property, lru_cache

import networkx as nx
import numpy as np

from swapgym.envs.core.graph import haversine_km
from swapgym.envs.fleet_v2v import dynamics
from swapgym.envs.fleet_v2v.config import FleetV2VConfig

TASK, STATION, DEPOT = 0, 1, 2

# Table "task points" (section 5.1): longitude, latitude (°), time window (h).
PAPER_TASKS = (
    (116.321, 39.959, 8.0, 8.5), (116.365, 39.961, 7.0, 7.5), (116.357, 39.981, 8.0, 8.5),
    (116.328, 40.002, 9.0, 9.5), (116.223, 39.991, 9.0, 9.5), (116.461, 39.909, 7.0, 8.0),
    (116.447, 39.937, 7.5, 8.0), (116.403, 39.934, 7.0, 7.5), (116.519, 39.924, 8.0, 8.5),
    (116.548, 39.962, 9.0, 9.5), (116.385, 39.907, 7.5, 8.0), (116.331, 39.903, 8.0, 8.5),
    (116.423, 39.916, 7.0, 7.5), (116.422, 39.874, 8.0, 8.5), (116.408, 39.904, 7.0, 7.5),
    (116.495, 39.879, 8.0, 9.5), (116.417, 39.892, 8.5, 9.0), (116.354, 39.870, 7.0, 7.5),
    (116.302, 39.895, 9.0, 9.5), (116.374, 39.899, 8.0, 8.5), (116.278, 39.904, 9.0, 9.5),
)
# Table "charging stations and distribution centre": nodes 22–25 at 1.5 ¥/kWh, depot 26.
PAPER_STATIONS = ((116.270, 39.960, 1.5), (116.350, 39.920, 1.5), (116.450, 39.920, 1.5),
                  (116.550, 39.900, 1.5))
PAPER_DEPOT = (116.472, 39.992)
# Table "assigned routes" (paper node numbers, depot = 26). Van 6's route lists node 22,
# a charging station: we keep it as a planned charging stop (see FleetV2VInstance).
PAPER_ROUTES = ((26, 13, 21, 26), (26, 11, 12, 4, 26), (26, 15, 3, 26), (26, 9, 19, 26),
                (26, 2, 18, 7, 26), (26, 5, 22, 26), (26, 16, 1, 20, 26), (26, 8, 14, 26),
                (26, 10, 6, 17, 26))


@dataclass(frozen=True, eq=False)
class FleetV2VInstance:
    """Immutable episode data. N nodes, S stations, V vans, L speed levels.

    node_lonlat: (N, 2) longitude, latitude, degrees.
    node_xy_km: (N, 2) east / north of the depot, km (equirectangular, for obs and render).
    node_kind: (N,) TASK 0, STATION 1, DEPOT 2.
    window_h: (N, 2) earliest / latest arrival, clock hours (NaN for non-task nodes).
    station_nodes: (S,) node index of each charging station. station_price: (S,) ¥/kWh.
    depot: node index of the distribution centre.
    routes: V tuples of node indices, each starting and ending at the depot. A station
        inside a route is a planned charging stop (the van tops up to its need there).
    route_suffix_km: (V, R) road km from route position k to the route's end.
    initial_soc: (V,) fraction. depart_h: (V,) time each van leaves the depot, h.
    road_edges: (E, 2) node pairs of the road graph; dist_km: (N, N) all-pairs shortest
        road distance (Floyd–Warshall), km; next_hop: (N, N) first node after i on the
        shortest i→j path (for drawing and trajectories).
    speed_levels_kmh: (L,). kwh_per_km: (L,) energy surrogate at each level.
    surrogate_speed_kmh / surrogate_kwh_per_km: the surrogate on its 1 km/h grid.
    battery_kwh: rated battery energy.
    """

    node_lonlat: np.ndarray
    node_xy_km: np.ndarray
    node_kind: np.ndarray
    window_h: np.ndarray
    station_nodes: np.ndarray
    station_price: np.ndarray
    depot: int
    routes: tuple[tuple[int, ...], ...]
    route_suffix_km: np.ndarray
    initial_soc: np.ndarray
    depart_h: np.ndarray
    road_edges: np.ndarray
    dist_km: np.ndarray
    next_hop: np.ndarray
    speed_levels_kmh: np.ndarray
    kwh_per_km: np.ndarray
    surrogate_speed_kmh: np.ndarray
    surrogate_kwh_per_km: np.ndarray
    battery_kwh: float

    @property
    def n_nodes(self) -> int:
        return len(self.node_kind)

    @property
    def n_vans(self) -> int:
        return len(self.routes)

    @property
    def n_stations(self) -> int:
        return len(self.station_nodes)

    def replace(self, **changes) -> FleetV2VInstance:
        return dataclasses.replace(self, **changes)

    @cached_property
    def tables(self) -> InstanceTables:
        """Plain-Python copies of the lookup tables the event loop reads one number at a
        time (a Python float from a list is several times cheaper than a numpy scalar)."""
        route_from = self._route_from()
        return InstanceTables(
            kind=self.node_kind.tolist(),
            window=[(float(e), float(l_)) for e, l_ in self.window_h],
            xy=[(float(x), float(y)) for x, y in self.node_xy_km],
            speeds=self.speed_levels_kmh.tolist(),
            station_index={int(n): j for j, n in enumerate(self.station_nodes)},
            station_price=self.station_price.tolist(),
            route_len=[len(r) for r in self.routes],
            route_from=route_from,
            n_stations=self.n_stations,
            mask_shape=(1 + self.n_stations + self.n_vans, len(self.speed_levels_kmh)),
            ones=np.ones(self.n_vans),
            start_h=float(self.depart_h.min()),
            start_kwh=tuple((self.initial_soc * self.battery_kwh).tolist()),
            depart_h=tuple(self.depart_h.astype(float).tolist()),
            depot_dist=np.tile(self.dist_km[self.depot], (self.n_vans, 1)),
            route_suffix=self.route_suffix_km.tolist(),
            route_from_rows=route_from.tolist(),
            arange=np.arange(self.n_vans))

    def _route_from(self) -> np.ndarray:
        r_max = max(len(r) for r in self.routes)
        out = np.empty((self.n_vans, r_max + 1, self.n_nodes))
        for v, r in enumerate(self.routes):
            for k in range(r_max + 1):
                out[v, k] = (self.dist_km[..., r[k]] + self.route_suffix_km[v, k] if k < len(r)
                             else self.dist_km[..., self.depot])
        return out

    def path(self, i: int, j: int) -> list[int]:
        """Nodes of the shortest road path i → j (both ends included)."""
        out = [int(i)]
        while out[-1] != j:
            out.append(int(self.next_hop[out[-1], j]))
        return out


@dataclass(frozen=True)
class InstanceTables:
    """Plain-Python views of a ``FleetV2VInstance`` for the event loop (see ``tables``).

    kind: node kinds; window: (earliest, latest) arrival per node (NaN for non-tasks);
    xy: (x, y) km per node; speeds: speed levels km/h; station_index: node → station j;
    station_price: ¥/kWh per station; route_len: nodes per route.
    route_from: (V, R + 1, N) road km from every node through ``routes[v][k:]`` home
        (index k ≥ len(route): straight home), as ``dynamics.remaining_km`` computes it.
    n_stations: S; mask_shape: (1 + S + V, L), the shape of ``dynamics.action_mask``.
    ones: (V,) ones (no consumption noise). start_h, start_kwh, depart_h, depot_dist: what
        ``dynamics.new_state`` starts from (first departure, energy and departure per van,
        (V, N) copies of the depot's distance row).
    route_suffix, route_from_rows: ``route_suffix_km`` and ``route_from`` as lists.
    arange: ``np.arange(V)``.
    """

    kind: list
    window: list
    xy: list
    speeds: list
    station_index: dict
    station_price: list
    route_len: list
    route_from: np.ndarray
    n_stations: int
    mask_shape: tuple
    ones: np.ndarray
    start_h: float
    start_kwh: tuple
    depart_h: tuple
    depot_dist: np.ndarray
    route_suffix: list
    route_from_rows: list
    arange: np.ndarray


def road_graph(lonlat: np.ndarray, k: int, circuity: float) -> nx.Graph:
    """k-nearest-neighbour road graph plus a minimum spanning tree (always connected).

    Edge ``length_km`` = Haversine distance (section 4.1.2) × circuity.
    """
    n = len(lonlat)
    d = haversine_km(lonlat[:, None, 1], lonlat[:, None, 0], lonlat[None, :, 1], lonlat[None, :, 0])
    complete = nx.Graph()
    complete.add_nodes_from(range(n))
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i in range(n):
        for j in np.argsort(d[i])[1: k + 1]:
            g.add_edge(i, int(j), length_km=float(d[i, j]) * circuity)
        for j in range(i + 1, n):
            complete.add_edge(i, j, length_km=float(d[i, j]))
    for i, j in nx.minimum_spanning_edges(complete, weight="length_km", data=False):
        g.add_edge(i, j, length_km=float(d[i, j]) * circuity)
    return g


def shortest_paths(g: nx.Graph) -> tuple[np.ndarray, np.ndarray]:
    """All-pairs shortest distances and next hops by Floyd–Warshall (section 4.1.3)."""
    n = g.number_of_nodes()
    pred, dist = nx.floyd_warshall_predecessor_and_distance(g, weight="length_km")
    d = np.full((n, n), np.inf)
    nxt = np.full((n, n), -1, dtype=np.int64)
    for i in range(n):
        for j, v in dist[i].items():
            d[i, j] = v
        nxt[i, i] = i
        for j in range(n):
            if j == i or not np.isfinite(d[i, j]):
                continue
            # walk back from j along predecessors of the i-rooted tree
            k = j
            while pred[i][k] != i:
                k = pred[i][k]
            nxt[i, j] = k
    return d, nxt


def build_instance(config: FleetV2VConfig, lonlat: np.ndarray, kind: np.ndarray,
                   window_h: np.ndarray, station_price: np.ndarray,
                   routes: tuple[tuple[int, ...], ...], initial_soc: np.ndarray,
                   road_edges: np.ndarray | None = None) -> FleetV2VInstance:
    """Assemble and validate an instance (road graph, shortest paths, energy surrogate).

    Raises ``ValueError`` naming the offending field: ``window_h[k]`` (end before start),
    ``routes[v]`` (bad node / not a depot round trip), ``node_lonlat[k]`` (a task that no
    road reaches, or that a full battery cannot serve and bring home).
    """
    lonlat = np.asarray(lonlat, dtype=float)
    kind = np.asarray(kind, dtype=np.int64)
    window_h = np.asarray(window_h, dtype=float)
    n = len(lonlat)
    if lonlat.shape != (n, 2) or kind.shape != (n,) or window_h.shape != (n, 2):
        raise ValueError("node_lonlat: node_lonlat (N, 2), node_kind (N,) and window_h (N, 2) "
                         "must describe the same N nodes")
    if not np.all(np.isfinite(lonlat)) or np.any(np.abs(lonlat[:, 1]) > 90):
        raise ValueError("node_lonlat: coordinates must be finite, latitude within ±90°")
    depots = np.flatnonzero(kind == DEPOT)
    if len(depots) != 1:
        raise ValueError(f"node_kind: expected exactly one depot, got {len(depots)}")
    depot = int(depots[0])
    stations = np.flatnonzero(kind == STATION)
    if len(stations) == 0:
        raise ValueError("node_kind: at least one charging station is needed")
    station_price = np.asarray(station_price, dtype=float)
    if station_price.shape != (len(stations),) or np.any(~np.isfinite(station_price)) or np.any(
            station_price < 0):
        raise ValueError("station_price: one finite non-negative price per station expected")
    for k in np.flatnonzero(kind == TASK):
        e, l_ = window_h[k]
        if not (np.isfinite(e) and np.isfinite(l_)):
            raise ValueError(f"window_h[{k}]: task windows must be finite, got {window_h[k]}")
        if l_ < e:
            raise ValueError(f"window_h[{k}]: window end {l_} h is before its start {e} h")
    window_h = np.where((kind == TASK)[:, None], window_h, np.nan)
    routes = tuple(tuple(int(x) for x in r) for r in routes)
    initial_soc = np.asarray(initial_soc, dtype=float)
    if len(initial_soc) != len(routes):
        raise ValueError(f"initial_soc: expected {len(routes)} values (one per route), "
                         f"got {len(initial_soc)}")
    if np.any(~np.isfinite(initial_soc)) or np.any((initial_soc < 0) | (initial_soc > 1)):
        raise ValueError("initial_soc: every value must be in [0, 1]")
    for v, r in enumerate(routes):
        if len(r) < 2 or r[0] != depot or r[-1] != depot:
            raise ValueError(f"routes[{v}]: must start and end at the depot (node {depot}), got {r}")
        if any(not 0 <= x < n for x in r):
            raise ValueError(f"routes[{v}]: node index out of range 0..{n - 1}: {r}")

    if road_edges is None:
        g = road_graph(lonlat, config.road_neighbours, config.road_circuity)
    else:
        road_edges = np.asarray(road_edges, dtype=np.int64)
        g = nx.Graph()
        g.add_nodes_from(range(n))
        for i, j in road_edges:
            d = float(haversine_km(lonlat[i, 1], lonlat[i, 0], lonlat[j, 1], lonlat[j, 0]))
            g.add_edge(int(i), int(j), length_km=d * config.road_circuity)
    edges = np.array(sorted((min(i, j), max(i, j)) for i, j in g.edges), dtype=np.int64)
    dist, nxt = shortest_paths(g)

    levels = np.asarray(config.speed_levels_kmh, dtype=float)
    grid = np.arange(np.floor(levels[0]), np.ceil(levels[-1]) + 1.0)
    grid_kwh = dynamics.energy_per_km(config, grid)
    level_kwh = np.interp(levels, grid, grid_kwh)

    # a task nobody can serve: unreachable on the road graph, or a full battery at the
    # most economical level cannot go depot → task → nearest station (or home) from full.
    best = float(level_kwh.min()) * config.consumption_scale
    usable = config.battery_kwh * (1.0 - config.soc_station_threshold)
    for k in np.flatnonzero(kind != DEPOT):
        if not np.isfinite(dist[depot, k]):
            raise ValueError(f"node_lonlat[{k}]: node {k} is not reachable from the depot on "
                             "the road graph")
        onward = min(dist[k, depot], dist[k, stations].min())
        if kind[k] == TASK and best * (dist[depot, k] + onward) > usable:
            raise ValueError(f"node_lonlat[{k}]: task {k} is out of range — a full battery "
                             f"cannot reach it and then a station or the depot "
                             f"({dist[depot, k] + onward:.1f} km)")
    r_max = max(len(r) for r in routes)
    suffix = np.zeros((len(routes), r_max + 1))
    for v, r in enumerate(routes):
        legs = np.array([dist[r[k], r[k + 1]] for k in range(len(r) - 1)])
        suffix[v, : len(r)] = np.concatenate([np.cumsum(legs[::-1])[::-1], [0.0]])
    depart = np.array([
        max(config.depart_time_h, window_h[r[1], 0] - dist[depot, r[1]] / config.depart_speed_kmh)
        if len(r) > 2 and kind[r[1]] == TASK else config.depart_time_h for r in routes])
    lat0 = np.radians(lonlat[depot, 1])
    xy = np.stack([(lonlat[:, 0] - lonlat[depot, 0]) * 111.32 * np.cos(lat0),
                   (lonlat[:, 1] - lonlat[depot, 1]) * 110.57], axis=1)
    return FleetV2VInstance(
        node_lonlat=lonlat, node_xy_km=xy, node_kind=kind, window_h=window_h,
        station_nodes=stations, station_price=station_price, depot=depot, routes=routes,
        route_suffix_km=suffix, initial_soc=initial_soc, depart_h=depart, road_edges=edges, dist_km=dist,
        next_hop=nxt, speed_levels_kmh=levels, kwh_per_km=level_kwh,
        surrogate_speed_kmh=grid, surrogate_kwh_per_km=grid_kwh,
        battery_kwh=float(config.battery_kwh))


def paper_instance(config: FleetV2VConfig) -> FleetV2VInstance:
    """The Beijing case of section 5.1 (tables of task points, stations, routes, SOC)."""
    return _paper_instance_cached(config)


@lru_cache(maxsize=16)
def _paper_instance_cached(config: FleetV2VConfig) -> FleetV2VInstance:
    tasks = np.array(PAPER_TASKS)
    stations = np.array(PAPER_STATIONS)
    lonlat = np.vstack([tasks[:, :2], stations[:, :2], [PAPER_DEPOT]])
    kind = np.array([TASK] * len(tasks) + [STATION] * len(stations) + [DEPOT])
    window = np.vstack([tasks[:, 2:], np.full((len(stations) + 1, 2), np.nan)])
    routes = tuple(tuple(x - 1 for x in r) for r in PAPER_ROUTES)
    if len(config.initial_soc) != len(routes):
        raise ValueError(f"initial_soc: the paper instance has {len(routes)} vans, got "
                         f"{len(config.initial_soc)} values")
    return build_instance(config, lonlat, kind, window, stations[:, 2], routes,
                          np.asarray(config.initial_soc))


# Bounding box of the paper's nodes (Beijing, inside the 5th ring road).
LON_RANGE = (116.22, 116.56)
LAT_RANGE = (39.86, 40.01)


def random_instance(config: FleetV2VConfig, rng: np.random.Generator) -> FleetV2VInstance:
    """A random instance like the paper's: tasks and stations uniform in its bounding box,
    half-hour windows opening 7:00–9:00, routes by a sweep around the depot (tasks
    sorted by angle, split into ``n_vans`` groups, each ordered by window start), and a
    fleet that is ~45 % low-SOC consumers (12–25 %) and high-SOC providers (70–95 %)."""
    for _ in range(100):
        n_t, n_s, n_v = config.n_tasks, config.n_stations, config.n_vans
        lon = rng.uniform(*LON_RANGE, size=n_t + n_s)
        lat = rng.uniform(*LAT_RANGE, size=n_t + n_s)
        depot = (rng.uniform(116.36, 116.48), rng.uniform(39.90, 39.99))
        lonlat = np.vstack([np.stack([lon, lat], axis=1), [depot]])
        kind = np.array([TASK] * n_t + [STATION] * n_s + [DEPOT])
        start = 7.0 + 0.5 * rng.integers(0, 5, size=n_t)
        width = rng.choice([0.5, 1.0], size=n_t, p=[0.8, 0.2])
        window = np.vstack([np.stack([start, start + width], axis=1), np.full((n_s + 1, 2), np.nan)])
        angle = np.arctan2(lat - depot[1], lon - depot[0])[:n_t]
        groups = np.array_split(np.argsort(angle), n_v)
        depot_idx = n_t + n_s
        routes = tuple((depot_idx, *(int(x) for x in g[np.argsort(start[g], kind="stable")]),
                        depot_idx) for g in groups)
        low = rng.random(n_v) < 0.45
        soc = np.where(low, rng.uniform(0.12, 0.25, n_v), rng.uniform(0.70, 0.95, n_v))
        try:
            return build_instance(config, lonlat, kind, window, np.full(n_s, 1.5), routes, soc)
        except ValueError:
            continue
    raise ValueError("n_tasks: could not draw a feasible random instance in 100 tries")


def make_instance(config: FleetV2VConfig, rng: np.random.Generator) -> FleetV2VInstance:
    if config.custom_instance is not None:
        return config.custom_instance
    if config.instance == "paper":
        return paper_instance(config)
    return random_instance(config, rng)
