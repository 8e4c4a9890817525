"""Problem data of one blackout episode: street grid, speed limits, vehicle positions.

Per episode the generator draws the segment speed limits (section 3.3.2: uniform in
20–60 km/h) and which intersections inside the push circle hold a vehicle. Everything
that does not change during the episode lives here; the per-round snapshot (charges,
consent, congestion) lives in ``dynamics.EmergencyPushState``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from swapgym.envs.core.graph import WeightedGraph, grid_graph
from swapgym.envs.emergency_push.config import EmergencyPushConfig


@dataclass(frozen=True, eq=False)
class EmergencyPushInstance:
    """Immutable episode data. Shapes: E edges, V vehicles, H rounds.

    graph: street grid as a CSR matrix, shared by every instance of the same grid (the
        dynamics read its structure only; copy it before ``set_weights``).
    station_node: the central intersection.
    node_xy_km: (N, 2) intersection coordinates, km, station at the origin.
    edge_length_km: (E,) segment lengths d_ij, km.
    speed_limit_kmh: (E,) legal speed v^lim of each segment (eq. 7), km/h.
    vehicle_node: (V,) intersection of each vehicle inside the push circle.
    demand_kwh: (H,) community demand W_4 per round, kWh.
    theta4_kwh, theta5_kwh, q_f_kwh: eqs. (2)–(3). n_push_max: N_t of eq. (5).
    consent_probability: chance a pushed user agrees.
    """

    config: EmergencyPushConfig
    graph: WeightedGraph
    station_node: int
    node_xy_km: np.ndarray
    edge_length_km: np.ndarray
    speed_limit_kmh: np.ndarray
    vehicle_node: np.ndarray
    demand_kwh: np.ndarray
    theta4_kwh: float
    theta5_kwh: float
    q_f_kwh: float
    n_push_max: int
    consent_probability: float

    @property
    def n_vehicles(self) -> int:
        return len(self.vehicle_node)

    def replace(self, **changes) -> EmergencyPushInstance:
        return dataclasses.replace(self, **changes)


@lru_cache(maxsize=8)
def _street_grid(grid_cells: int, cell_km: float):
    g = grid_graph(grid_cells, cell_km)
    wg = WeightedGraph.from_networkx(g)
    xy = np.array([g.nodes[n]["pos"] for n in range(g.number_of_nodes())])
    station = int(np.argmin(np.hypot(xy[:, 0], xy[:, 1])))
    return wg, xy, station


@lru_cache(maxsize=32)
def _circle_nodes(grid_cells: int, cell_km: float, radius_km: float) -> np.ndarray:
    _, xy, station = _street_grid(grid_cells, cell_km)
    dist = np.hypot(xy[:, 0] - xy[station, 0], xy[:, 1] - xy[station, 1])
    inside = np.flatnonzero(dist <= radius_km + 1e-9)
    inside = inside[inside != station]
    inside.setflags(write=False)
    return inside


def circle_nodes(config: EmergencyPushConfig) -> np.ndarray:
    """Intersections within the push circle, the station excluded (cached, read-only)."""
    return _circle_nodes(config.grid_cells, config.cell_km, config.push_radius_km)


@lru_cache(maxsize=8)
def street_lattice(grid_cells: int, cell_km: float) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Manhattan-distance levels of the grid around the station, for eq. (11).

    On a street grid every shortest-distance path is a monotone lattice path, so the
    distance-optimal paths (ties broken by time) come from a dynamic programme over the
    levels: a node at Manhattan distance k is reached from its one or two neighbours at
    distance k − 1. Returns (cells from the station per node, (nodes, parent_1, edge_1,
    parent_2, edge_2)) with the nodes in level order k = 1, 2, ... (the station, level 0,
    left out); a node with one parent repeats it.
    """
    graph, _, station = _street_grid(grid_cells, cell_km)
    side = grid_cells + 1
    rows, cols = np.divmod(np.arange(graph.n_nodes), side)
    r0, c0 = divmod(station, side)
    dr, dc = rows - r0, cols - c0
    cells = np.abs(dr) + np.abs(dc)
    p_row = np.where(dr != 0, (rows - np.sign(dr)) * side + cols, -1)  # one step closer in row
    p_col = np.where(dc != 0, rows * side + cols - np.sign(dc), -1)  # one step closer in column
    p1 = np.where(p_row >= 0, p_row, p_col)
    p2 = np.where(p_col >= 0, p_col, p_row)

    def edge_id(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        keys = a.astype(np.int64) * graph.n_nodes + b
        return graph.slot_edge[np.searchsorted(graph.slot_key, keys)]

    nodes = np.argsort(cells, kind="stable")[1:]  # level by level, the station dropped
    return cells, (nodes, p1[nodes], edge_id(nodes, p1[nodes]), p2[nodes], edge_id(nodes, p2[nodes]))


def check_instance_config(config: EmergencyPushConfig) -> None:
    """Checks that need the street grid: a vehicle count the circle can hold."""
    nodes = circle_nodes(config)
    if len(nodes) == 0:
        raise ValueError(f"push_radius_km: no intersection within {config.push_radius_km} km of the station")
    if config.n_vehicles is not None and config.n_vehicles > len(nodes):
        raise ValueError(f"n_vehicles: {config.n_vehicles} exceeds the {len(nodes)} intersections "
                         f"inside the {config.push_radius_km} km circle")


def make_instance(config: EmergencyPushConfig, rng: np.random.Generator) -> EmergencyPushInstance:
    """Draw one episode: speed limits per segment, then the vehicles' intersections."""
    template, xy, station = _street_grid(config.grid_cells, config.cell_km)
    graph = template  # shared: the dynamics read its structure only
    n_edges = len(graph.edges)
    speed = rng.uniform(config.speed_limit_min_kmh, config.speed_limit_max_kmh, size=n_edges)
    check_instance_config(config)
    nodes = circle_nodes(config)
    if config.n_vehicles is not None:
        nodes = np.sort(rng.choice(nodes, size=config.n_vehicles, replace=False))
    hours = np.arange(config.blackout_hours) % 24
    profile = np.ones(24) if config.demand_profile is None else np.asarray(config.demand_profile, float)
    demand = config.community_demand_kwh_per_h * config.push_cycle_h * profile[hours]
    return EmergencyPushInstance(
        config=config, graph=graph, station_node=station, node_xy_km=xy,
        edge_length_km=np.full(n_edges, config.cell_km), speed_limit_kmh=speed,
        vehicle_node=nodes, demand_kwh=demand, theta4_kwh=config.theta4,
        theta5_kwh=config.theta5, q_f_kwh=config.q_f, n_push_max=config.n_push_max,
        consent_probability=config.consent)
