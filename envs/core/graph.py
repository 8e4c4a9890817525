"""Road graphs: networkx for building and inspecting, scipy.sparse.csgraph for the
per-round shortest paths (a Dijkstra on a sparse CSR matrix is ~100x faster than the
networkx one, and the environments call it every step).

``WeightedGraph`` keeps a CSR matrix whose ``data`` can be rewritten in place for new
edge weights (e.g. travel times under new congestion) without rebuilding the structure.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km; works on scalars and broadcasting numpy arrays."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def grid_graph(n_cells: int, cell_km: float) -> nx.Graph:
    """A square street grid of ``(n_cells + 1)^2`` intersections ``cell_km`` apart.

    Nodes are integers ``row * (n_cells + 1) + col``; each carries ``pos=(x_km, y_km)``
    with the origin at the grid centre. Each edge carries ``length_km``.
    """
    side = n_cells + 1
    g = nx.grid_2d_graph(side, side)
    centre = n_cells / 2
    mapping = {(r, c): r * side + c for r, c in g.nodes}
    g = nx.relabel_nodes(g, mapping)
    for node in g.nodes:
        r, c = divmod(node, side)
        g.nodes[node]["pos"] = ((c - centre) * cell_km, (r - centre) * cell_km)
    nx.set_edge_attributes(g, cell_km, "length_km")
    return g


@dataclass
class WeightedGraph:
    """An undirected graph as a symmetric CSR matrix with per-edge weights.

    ``edges`` is (E, 2) node pairs; ``edge_slots`` maps each undirected edge to its two
    positions in ``matrix.data`` so ``set_weights`` is one fancy-index assignment.
    """

    n_nodes: int
    edges: np.ndarray
    matrix: csr_matrix
    edge_slots: np.ndarray
    slot_key: np.ndarray  # row * n + col of every CSR slot (sorted), for edge look-ups
    slot_edge: np.ndarray  # edge id of every CSR slot

    def copy(self) -> WeightedGraph:
        """Same structure, own weight array (share the look-up tables)."""
        return WeightedGraph(self.n_nodes, self.edges, self.matrix.copy(), self.edge_slots,
                             self.slot_key, self.slot_edge)

    @classmethod
    def from_networkx(cls, g: nx.Graph) -> WeightedGraph:
        n = g.number_of_nodes()
        if sorted(g.nodes) != list(range(n)):
            raise ValueError("graph: nodes must be labelled 0..n-1")
        edges = np.array(sorted((min(u, v), max(u, v)) for u, v in g.edges), dtype=np.int64)
        rows = np.concatenate([edges[:, 0], edges[:, 1]])
        cols = np.concatenate([edges[:, 1], edges[:, 0]])
        # Encode edge id + 1 as the data so we can find each edge's slots after CSR sorting.
        ids = np.concatenate([np.arange(len(edges)), np.arange(len(edges))]) + 1
        m = csr_matrix((ids.astype(float), (rows, cols)), shape=(n, n))
        m.sort_indices()
        slot_edge = m.data.astype(np.int64) - 1
        order = np.argsort(slot_edge, kind="stable")
        edge_slots = order.reshape(len(edges), 2)
        slot_rows = np.repeat(np.arange(n), np.diff(m.indptr))
        slot_key = slot_rows.astype(np.int64) * n + m.indices
        return cls(n, edges, m, edge_slots, slot_key, slot_edge)

    def set_weights(self, edge_weights: np.ndarray) -> None:
        """Write one positive weight per undirected edge (same order as ``edges``)."""
        self.matrix.data[self.edge_slots[:, 0]] = edge_weights
        self.matrix.data[self.edge_slots[:, 1]] = edge_weights

    def shortest_from(self, source: int) -> tuple[np.ndarray, np.ndarray]:
        """Single-source Dijkstra: (distance to every node, predecessor of every node).

        The matrix already holds both directions of every edge, so the directed search is
        the undirected one without scipy symmetrising (and re-validating) it each call."""
        dist, pred = dijkstra(self.matrix, directed=True, indices=source, return_predecessors=True)
        return dist, pred
