"""The immutable problem data of GridResilience: the IEEE 33-bus feeder, the emergency
resources placed on it and the typical disaster scenarios.

The feeder comes from ``envs/data/ieee33bw_*.csv`` (derived once from pandapower's
``case33bw`` by ``scripts/build_ieee33bw_data.py``), so no pandapower at run time.

Disaster model (documented, seedable): an event has a peak gust ``w ~ U(w_min, w_max)``;
each unhardened line fails independently with ``1 - (1 - Φ(ln(w/w50)/β))^spans`` where
``spans = max(1, round(|z_l| / ohm_per_km))`` (lognormal span fragility, Panteli et al.
2017); the event also scales load (normal) and PV availability (uniform). The raw sample
is reduced to ``n_typical_scenarios`` by k-means on (which loads the damage cuts off
from the substation, load factor, PV factor), as the paper does; each typical scenario is the raw event nearest its centroid
(so its damage stays binary) with probability κ_z = cluster size / sample size. Damaged
lines stay out for the whole horizon. Hardening a line removes it from every scenario's
damage set (same random sample, so plans are compared on common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from scipy.special import ndtr

from swapgym.envs.grid_resilience.config import N_BUS, N_LINE, GridResilienceConfig


def _read_table(name: str) -> dict[str, np.ndarray]:
    text = (resources.files("swapgym.envs") / "data" / name).read_text()
    rows = [line.split(",") for line in text.strip().splitlines()]
    header, body = rows[0], rows[1:]
    return {h: np.array([float(r[i]) for r in body]) for i, h in enumerate(header)}


@dataclass(frozen=True)
class Feeder:
    """The radial 33-bus feeder. Line ``l`` goes from ``line_from[l]`` (parent, towards
    the substation at bus 0) to ``line_to[l]``."""

    n_bus: int
    line_from: np.ndarray  # (L,) int, parent bus
    line_to: np.ndarray  # (L,) int, child bus
    r_ohm: np.ndarray  # (L,)
    x_ohm: np.ndarray  # (L,)
    vn_kv: float
    peak_p_kw: np.ndarray  # (N,) case33bw loads
    peak_q_kvar: np.ndarray  # (N,)
    xy: np.ndarray  # (N, 2) plot coordinates
    line_capacity_kw: np.ndarray  # (L,) Pf^max

    @property
    def n_line(self) -> int:
        return len(self.line_from)

    @cached_property
    def depth(self) -> np.ndarray:
        """Hops from bus 0."""
        parent = self.parent
        depth = np.zeros(self.n_bus, dtype=np.int64)
        for b in range(1, self.n_bus):  # buses are in topological order in case33bw
            depth[b] = depth[parent[b]] + 1
        return depth

    @cached_property
    def parent(self) -> np.ndarray:
        parent = np.full(self.n_bus, -1, dtype=np.int64)
        parent[self.line_to] = self.line_from
        return parent

    @cached_property
    def line_of_bus(self) -> np.ndarray:
        """Index of the line from each bus to its parent (-1 for bus 0)."""
        out = np.full(self.n_bus, -1, dtype=np.int64)
        out[self.line_to] = np.arange(self.n_line)
        return out

    def hops(self, a: int, b: int) -> int:
        """Number of lines between buses a and b."""
        pa, pb = self.ancestors(a), self.ancestors(b)
        common = set(pa) & set(pb)
        lca = max(common, key=lambda n: self.depth[n])
        return int(self.depth[a] + self.depth[b] - 2 * self.depth[lca])

    def ancestors(self, b: int) -> list[int]:
        out = [b]
        while self.parent[out[-1]] >= 0:
            out.append(int(self.parent[out[-1]]))
        return out


def load_feeder(config: GridResilienceConfig) -> Feeder:
    buses = _read_table("ieee33bw_buses.csv")
    lines = _read_table("ieee33bw_lines.csv")
    radial = lines["tie"] == 0
    f = lines["from_bus"][radial].astype(np.int64)
    t = lines["to_bus"][radial].astype(np.int64)
    if len(f) != N_LINE or len(buses["bus"]) != N_BUS:
        raise ValueError("ieee33bw data: unexpected size")
    feeder = Feeder(
        n_bus=N_BUS, line_from=f, line_to=t, r_ohm=lines["r_ohm"][radial],
        x_ohm=lines["x_ohm"][radial], vn_kv=float(buses["vn_kv"][0]),
        peak_p_kw=buses["p_kw"], peak_q_kvar=buses["q_kvar"],
        xy=np.stack([buses["x"], buses["y"]], axis=1), line_capacity_kw=np.zeros(N_LINE))
    # Pf^max = factor × the peak-load flow of the intact feeder (flow = load below the line).
    below = subtree_matrix(feeder, np.ones(N_LINE, dtype=bool))
    base_flow = below @ feeder.peak_p_kw
    cap = np.maximum(config.line_capacity_factor * base_flow, config.line_capacity_min_kw)
    object.__setattr__(feeder, "line_capacity_kw", cap)
    return feeder


def subtree_matrix(feeder: Feeder, in_service: np.ndarray) -> np.ndarray:
    """(L, N): 1 where bus n is downstream of line l's child through in-service lines
    (l itself in service). With a balanced island, ``S @ p_net`` is LinDistFlow's line
    flow (parent → child), Baran & Wu 1989 eq. (5) without losses."""
    n, lines = feeder.n_bus, feeder.n_line
    reach = np.eye(n, dtype=bool)  # reach[a, b]: b downstream of a via in-service lines
    for b in range(n - 1, 0, -1):  # children before parents (topological order)
        line = feeder.line_of_bus[b]
        if in_service[line]:
            reach[feeder.parent[b]] |= reach[b]
    out = np.zeros((lines, n))
    for line in range(lines):
        if in_service[line]:
            out[line] = reach[feeder.line_to[line]]
    return out


@dataclass(frozen=True)
class Topology:
    """Islands of one damage state and the matrices of the per-island LinDistFlow."""

    in_service: np.ndarray  # (L,) bool, u_l
    island: np.ndarray  # (N,) island label 0..K-1
    n_islands: int
    root_island: int  # island of the substation (bus 0)
    island_top: np.ndarray  # (K,) the bus nearest bus 0 in each island
    subtree: np.ndarray  # (L, N) see subtree_matrix
    path: np.ndarray  # (N, L) 1 where line l lies between the island top and bus n
    reference: np.ndarray  # (K,) bus that holds voltage (1 p.u.) and supplies Q in each island
    shed_order: tuple[np.ndarray, ...]  # per island: buses, cheapest δ_n first

    @cached_property
    def shed_sequence(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``shed_order`` flattened for the vectorised balance in ``dynamics.step``:
        (buses island by island, island of each entry, index of each island's first
        entry)."""
        order = np.concatenate(self.shed_order).astype(np.int64)
        island = np.concatenate([np.full(len(o), i, dtype=np.int64) for i, o in enumerate(self.shed_order)])
        start = np.cumsum([0] + [len(o) for o in self.shed_order[:-1]]).astype(np.int64)
        return order, island, start


def build_topology(feeder: Feeder, in_service: np.ndarray, priority: np.ndarray | None = None,
                   grid_forming_buses: tuple[int, ...] = ()) -> Topology:
    """Islands, LinDistFlow matrices, the voltage reference and the shedding order.

    The reference of the substation island is bus 0; elsewhere it is the first
    grid-forming resource bus (gas turbine, then storage) inside the island, else the
    island top. Shedding order: ascending δ_n, ties broken by the bus farther from the
    island top first (its shedding also unloads more lines, the β term)."""
    in_service = np.asarray(in_service, dtype=bool)
    on = np.flatnonzero(in_service)
    adj = csr_matrix((np.ones(len(on)), (feeder.line_from[on], feeder.line_to[on])),
                     shape=(feeder.n_bus, feeder.n_bus))
    k, labels = connected_components(adj, directed=False)
    top = np.array([np.flatnonzero(labels == i)[np.argmin(feeder.depth[labels == i])]
                    for i in range(k)])
    subtree = subtree_matrix(feeder, in_service)
    path = np.ascontiguousarray(subtree.T)  # line l is on the top→n path iff n is below l
    ref = top.copy()
    for i in range(k):
        if labels[0] == i:
            ref[i] = 0
            continue
        for b in grid_forming_buses:
            if labels[b] == i:
                ref[i] = b
                break
    prio = np.zeros(feeder.n_bus) if priority is None else np.asarray(priority, dtype=float)
    order = []
    for i in range(k):
        members = np.flatnonzero(labels == i)
        order.append(members[np.lexsort((-feeder.depth[members], prio[members]))])
    return Topology(in_service, labels.astype(np.int64), int(k), int(labels[0]), top, subtree, path,
                    ref, tuple(order))


@dataclass(frozen=True)
class Scenario:
    """One typical disaster scenario z."""

    probability: float  # κ_z
    damaged: np.ndarray  # (L,) bool, before hardening
    load_factor: float
    pv_factor: float
    wind_ms: float
    cluster_size: int


def sample_raw_events(config: GridResilienceConfig, feeder: Feeder,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The raw storm sample (before k-means), from ``rng``."""
    n = config.n_raw_scenarios
    spans = np.maximum(1, np.round(np.hypot(feeder.r_ohm, feeder.x_ohm) / config.ohm_per_km))
    winds, damages = [], []
    for _ in range(100):  # redraw events that damage nothing (not disasters)
        wind = rng.uniform(config.wind_min_ms, config.wind_max_ms, size=n)
        p_span = ndtr(np.log(wind / config.fragility_median_ms) / config.fragility_beta)
        p_line = 1.0 - (1.0 - p_span[:, None]) ** spans[None, :]
        damaged = rng.random((n, feeder.n_line)) < p_line
        keep = damaged.any(axis=1)
        winds.append(wind[keep])
        damages.append(damaged[keep])
        if sum(len(w) for w in winds) >= n:
            break
    wind = np.concatenate(winds)[:n]
    damaged = np.concatenate(damages)[:n]
    n = len(wind)
    load = np.clip(1 + config.load_uncertainty * rng.standard_normal(n),
                   1 - 3 * config.load_uncertainty, 1 + 3 * config.load_uncertainty)
    lo, hi = config.dg_event_factor_range
    pv = rng.uniform(lo, hi, size=n)
    return {"wind": wind, "damaged": damaged, "load": load, "pv": pv}


def typical_scenarios(config: GridResilienceConfig, feeder: Feeder) -> list[Scenario]:
    """k-means reduction of the raw sample (the paper's "typical disaster scenarios")."""
    from scipy.cluster.vq import kmeans2

    rng = np.random.default_rng(config.scenario_seed)
    raw = sample_raw_events(config, feeder, rng)
    # Features: which loads an event cuts off from the substation (load-weighted), plus
    # the load and PV factors scaled to a comparable spread. Clustering on the outage
    # area rather than on raw line states groups events by what they do to customers.
    path_from_root = subtree_matrix(feeder, np.ones(feeder.n_line, dtype=bool)).T  # (N, L)
    cut = (raw["damaged"].astype(float) @ path_from_root.T) > 0  # (events, N)
    share = feeder.peak_p_kw / feeder.peak_p_kw.sum()
    feats = np.column_stack([cut * np.sqrt(share) * 3.0,
                             (raw["load"] - 1) / max(config.load_uncertainty, 1e-9) * 0.2,
                             raw["pv"] * 0.5])
    k = config.n_typical_scenarios
    centroids, labels = kmeans2(feats, k, seed=rng, minit="++", iter=50)
    out = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        if len(members) == 0:
            continue
        d = np.linalg.norm(feats[members] - centroids[c], axis=1)
        r = int(members[np.argmin(d)])
        out.append(Scenario(probability=len(members) / len(labels), damaged=raw["damaged"][r].copy(),
                            load_factor=float(raw["load"][r]), pv_factor=float(raw["pv"][r]),
                            wind_ms=float(raw["wind"][r]), cluster_size=len(members)))
    out.sort(key=lambda s: -s.probability)
    return out


@dataclass(frozen=True)
class Storage:
    """All storages in one table: EV-RB nodes, then SESS, then MESS units.

    ``bus`` is -1 for MESS (they move); the env keeps their position in the state."""

    kind: np.ndarray  # (S,) 0 = EV-RB node, 1 = SESS, 2 = MESS
    bus: np.ndarray  # (S,) int
    energy_min_kwh: np.ndarray  # (S,)
    energy_max_kwh: np.ndarray  # (S,)
    energy_init_kwh: np.ndarray  # (S,)
    power_kw: np.ndarray  # (S,) charge and discharge limit
    efficiency: np.ndarray  # (S,) η
    loss_per_kwh: np.ndarray  # (S,) w
    mess_type: np.ndarray  # (S,) type of each MESS, -1 otherwise

    @property
    def n(self) -> int:
        return len(self.kind)


@dataclass(frozen=True)
class GridResilienceInstance:
    """Everything that does not change during an episode (``env.instance``)."""

    config: GridResilienceConfig
    feeder: Feeder
    shed_penalty: np.ndarray  # (N,) δ_n, CNY/kWh
    critical: np.ndarray  # (N,) bool
    price: np.ndarray  # (24,) λ_t
    load_shape: np.ndarray  # (24,)
    dg_bus: np.ndarray
    dg_capacity_kw: np.ndarray
    pv_shape: np.ndarray  # (24,)
    gt_bus: np.ndarray
    gt_capacity_kw: np.ndarray
    gt_cost: np.ndarray
    storage: Storage
    mess_index: np.ndarray  # (M,) indices of MESS rows in ``storage``
    mess_site_bus: np.ndarray  # (K,)
    travel_h: np.ndarray  # (K, K) integer hours, 0 on the diagonal
    scenarios: tuple[Scenario, ...]
    topologies: tuple[Topology, ...]  # one per scenario, after hardening

    @property
    def horizon(self) -> int:
        return self.config.horizon_h

    @property
    def n_scenarios(self) -> int:
        return len(self.scenarios)

    @property
    def n_mess(self) -> int:
        return len(self.mess_index)

    @property
    def n_sites(self) -> int:
        return len(self.mess_site_bus)

    def load_kw(self, z: int) -> np.ndarray:
        """(T, N) demand of scenario z."""
        s = self.scenarios[z]
        t = self.horizon
        return s.load_factor * self.load_shape[:t, None] * self.feeder.peak_p_kw[None, :]

    def load_kvar(self, z: int) -> np.ndarray:
        s = self.scenarios[z]
        return s.load_factor * self.load_shape[: self.horizon, None] * self.feeder.peak_q_kvar[None, :]

    def dg_available_kw(self, z: int) -> np.ndarray:
        """(T, J) forecast PV output P^G,f of scenario z."""
        s = self.scenarios[z]
        return s.pv_factor * self.pv_shape[: self.horizon, None] * self.dg_capacity_kw[None, :]

    @cached_property
    def load_q_ratio(self) -> np.ndarray:
        """(N,) Q/P of each bus's load (0 where it has no active load)."""
        p, q = self.feeder.peak_p_kw, self.feeder.peak_q_kvar
        return np.divide(q, p, out=np.zeros_like(q), where=p > 0)

    @cached_property
    def scenario_tables(self) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:
        """Per scenario (load_kw, load_kvar, dg_available_kw), cached for the env."""
        return tuple((self.load_kw(z), self.load_kvar(z), self.dg_available_kw(z))
                     for z in range(self.n_scenarios))


@lru_cache(maxsize=64)
def make_instance(config: GridResilienceConfig) -> GridResilienceInstance:
    """The instance of ``config`` (cached: configs are frozen and hashable, and the env,
    the planners and the tests build the same instance many times)."""
    feeder = load_feeder(config)
    delta = np.full(N_BUS, config.shed_penalty_normal_per_kwh)
    delta[list(config.important_buses)] = config.shed_penalty_important_per_kwh
    delta[list(config.critical_buses)] = config.shed_penalty_critical_per_kwh
    critical = np.zeros(N_BUS, dtype=bool)
    critical[list(config.critical_buses)] = True

    kinds, buses, emin, emax, e0, pmax, eta, loss, mtype = [], [], [], [], [], [], [], [], []
    caps = np.asarray(config.rb_type_capacity_kwh)
    counts = np.asarray(config.rb_counts, dtype=float)  # (types, nodes)
    for b, bus in enumerate(config.rb_candidate_buses):
        rated = float(caps @ counts[:, b])  # E_b^BP,rate
        # EV-RB power limit: min(Ω^CP P^CP,max, Ω^EV P^EV,max), EV-RB model section.
        p = min(config.rb_charging_piles[b] * config.rb_pile_power_kw,
                config.rb_available_evs[b] * config.rb_ev_power_kw) if rated > 0 else 0.0
        kinds.append(0)
        buses.append(bus)
        emin.append(config.rb_soc_min * rated)
        emax.append(config.rb_soc_max * rated)
        e0.append(config.rb_initial_soc * rated)
        pmax.append(p)
        eta.append(config.rb_efficiency)
        loss.append(config.rb_loss_per_kwh)
        mtype.append(-1)
    for s, bus in enumerate(config.sess_buses):
        cap = config.sess_energy_kwh[s]
        kinds.append(1)
        buses.append(bus)
        emin.append(0.1 * cap)  # [reasoned] same SoC window as MESS / EV-RB
        emax.append(0.95 * cap)
        e0.append(0.5 * cap)  # [reasoned] stationary storage at mid charge when the storm hits
        pmax.append(config.sess_power_kw[s])
        eta.append(0.95)
        loss.append(config.sess_loss_per_kwh)
        mtype.append(-1)
    for a, count in enumerate(config.mess_counts):
        for _ in range(count):
            cap = config.mess_type_energy_kwh[a]
            kinds.append(2)
            buses.append(-1)
            emin.append(config.mess_soc_min * cap)
            emax.append(config.mess_soc_max * cap)
            e0.append(config.mess_initial_soc * cap)
            pmax.append(config.mess_type_power_kw[a])
            eta.append(config.mess_efficiency)
            loss.append(config.mess_loss_per_kwh)
            mtype.append(a)
    storage = Storage(*(np.asarray(v, dtype=float) for v in (kinds, buses, emin, emax, e0, pmax, eta, loss)),
                      mess_type=np.asarray(mtype, dtype=np.int64))
    object.__setattr__(storage, "kind", storage.kind.astype(np.int64))
    object.__setattr__(storage, "bus", storage.bus.astype(np.int64))

    sites = np.asarray(config.mess_sites, dtype=np.int64)
    travel = np.array([[0 if i == j else max(1, math.ceil(feeder.hops(a, b) / config.mess_hops_per_hour))
                        for j, b in enumerate(sites)] for i, a in enumerate(sites)], dtype=np.int64)

    scenarios = tuple(typical_scenarios(config, feeder))
    hardened = np.zeros(N_LINE, dtype=bool)
    hardened[list(config.reinforced_lines)] = True
    forming = tuple(int(b) for b in config.gt_buses) + tuple(
        int(b) for b, p in zip(storage.bus, storage.power_kw) if b >= 0 and p > 0)
    topologies = tuple(build_topology(feeder, ~(s.damaged & ~hardened), delta, forming)
                       for s in scenarios)
    return GridResilienceInstance(
        config=config, feeder=feeder, shed_penalty=delta, critical=critical,
        price=np.asarray(config.grid_price_per_kwh, dtype=float),
        load_shape=np.asarray(config.load_shape, dtype=float),
        dg_bus=np.asarray(config.dg_buses, dtype=np.int64),
        dg_capacity_kw=np.asarray(config.dg_capacity_kw, dtype=float),
        pv_shape=np.asarray(config.pv_shape, dtype=float),
        gt_bus=np.asarray(config.gt_buses, dtype=np.int64),
        gt_capacity_kw=np.asarray(config.gt_capacity_kw, dtype=float),
        gt_cost=np.asarray(config.gt_fuel_cost_per_kwh, dtype=float),
        storage=storage, mess_index=np.flatnonzero(storage.kind == 2),
        mess_site_bus=sites, travel_h=travel, scenarios=scenarios, topologies=topologies)
