"""State and transition of GridResilience — the physics, written once.

The env, the MILP oracle (which encodes its plan with ``encode_action``), the greedy
heuristic and the planning code all go through ``step``.

One step (one hour, Δt = 1 h):

1. MESS that reached their destination park; a parked MESS whose target differs from
   its site departs (if it has moves left, Σ_t v_{m,t} ≤ Ω_trans^max) and is unavailable
   for ``travel_h`` hours.
2. Storage requests are clipped to the power limit (EV-RB: min(Ω^CP P^CP,max,
   Ω^EV P^EV,max), EV-RB model) and to the energy window S^min E^rate ≤ E ≤ S^max E^rate
   with E_{t+1} = E_t + η P^c Δt − P^d Δt / η (EV-RB model).
3. Per island (connected component of in-service lines, u_l,t = 1) the environment closes
   the active-power balance — **the environment, not the agent, decides curtailment,
   grid import and load shedding**: a surplus curtails PV (χ), then scales down gas
   turbines and discharges; a deficit is met by the main grid (substation island only, up
   to its limit), then by shedding loads in ascending δ_n (the cheapest first, so for a
   given dispatch the shedding is the one the MILP would pick when no voltage or line
   limit binds), then by reducing charging.
4. Line flows and voltages follow LinDistFlow (Baran & Wu 1989, lossless): Pf_l = Σ net
   load below l in its island, V²_child = V²_parent − 2 (r_l Pf_l + x_l Qf_l) / V_n²,
   with 1 p.u. at the island's reference bus. Voltage and line limits are reported
   (violations), not enforced. Checked against pandapower's AC power flow
   (``baselines/grid_resilience/validation.py``): at the peak hour the voltages agree
   within 0.004 p.u. and the flows within the AC losses (≤ 6 % of the head flow), on
   the intact feeder and on damaged, islanded ones.
5. Cost = the paper's lower-level objective for the hour (its eq. of "min Σ_z κ_z ...").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swapgym.envs.grid_resilience.instance import GridResilienceInstance

COST_KEYS = ("load_shedding", "dg_curtailment", "grid_purchase", "gt_fuel", "ev_rb_loss",
             "mess_loss", "sess_loss", "network_loss")
_EPS = 1e-9


@dataclass
class GridResilienceState:
    """Per-episode, per-step state (``env.state``)."""

    t: int  # hour index, 0..horizon
    scenario: int  # typical scenario z being played
    energy_kwh: np.ndarray  # (S,) stored energy of every storage (EV-RB nodes, SESS, MESS)
    mess_site: np.ndarray  # (M,) site index where each MESS is parked, -1 while travelling
    mess_dest: np.ndarray  # (M,) destination site while travelling
    mess_arrive: np.ndarray  # (M,) hour from which a travelling MESS is parked at mess_dest
    mess_moves: np.ndarray  # (M,) departures so far
    totals: dict[str, float] = field(default_factory=dict)  # episode accumulators

    def copy(self) -> GridResilienceState:
        return GridResilienceState(self.t, self.scenario, self.energy_kwh.copy(), self.mess_site.copy(),
                                   self.mess_dest.copy(), self.mess_arrive.copy(),
                                   self.mess_moves.copy(), dict(self.totals))


def initial_state(inst: GridResilienceInstance, scenario: int) -> GridResilienceState:
    m = inst.n_mess
    depot = inst.config.mess_depot_site
    return GridResilienceState(
        t=0, scenario=int(scenario), energy_kwh=inst.storage.energy_init_kwh.copy(),
        mess_site=np.full(m, depot, dtype=np.int64), mess_dest=np.full(m, depot, dtype=np.int64),
        mess_arrive=np.zeros(m, dtype=np.int64), mess_moves=np.zeros(m, dtype=np.int64),
        totals={})


@dataclass
class Decision:
    """A decoded action. Powers in kW; ``storage_kw`` > 0 discharges, < 0 charges."""

    storage_kw: np.ndarray  # (S,)
    gt_kw: np.ndarray  # (G,)
    mess_target: np.ndarray | list[int]  # (M,) site index, -1 = stay


def action_size(inst: GridResilienceInstance) -> int:
    return inst.storage.n + len(inst.gt_bus) + inst.n_mess


def decode_action(inst: GridResilienceInstance, action: np.ndarray) -> Decision:
    """Box action in [-1, 1] → Decision. Layout: [storage (S) | gas turbines (G) | MESS
    targets (M)]. Storage: fraction of its power limit (+ discharge, − charge). Gas
    turbine: output = (a + 1) / 2 × capacity. MESS target: [-1, 1] split into K + 1 equal
    bins: bin 0 = stay, bin k = go to site k − 1."""
    tabs = step_tables(inst)
    a = np.maximum(np.asarray(action, dtype=float), -1.0)
    np.minimum(a, 1.0, out=a)
    # One affine map for the three slices, (a + add) / div × mul: storage a × P (adding
    # −0.0 and dividing by 1 are exact), gas turbines and MESS (a + 1) / 2 × (capacity | K + 1).
    a += tabs.decode_add
    a /= tabs.decode_div
    a *= tabs.decode_mul
    s, g = inst.storage.n, len(inst.gt_bus)
    k = inst.n_sites
    # MESS bin = min(floor(x), K) with x = (a + 1) / 2 · (K + 1) ≥ 0, so int() floors it.
    return Decision(storage_kw=a[:s], gt_kw=a[s:s + g], mess_target=[min(int(x), k) - 1 for x in a[s + g:].tolist()])


def encode_action(inst: GridResilienceInstance, storage_kw: np.ndarray, gt_kw: np.ndarray,
                  mess_target: np.ndarray) -> np.ndarray:
    """Inverse of ``decode_action`` (bin centres for MESS targets)."""
    pmax = inst.storage.power_kw
    st = np.divide(storage_kw, pmax, out=np.zeros(inst.storage.n), where=pmax > 0)
    gt = np.divide(2.0 * np.asarray(gt_kw, dtype=float), inst.gt_capacity_kw,
                   out=np.zeros(len(inst.gt_bus)), where=inst.gt_capacity_kw > 0) - 1.0
    k = inst.n_sites
    mt = 2.0 * (np.asarray(mess_target, dtype=float) + 1.0 + 0.5) / (k + 1) - 1.0
    return np.clip(np.concatenate([st, gt, mt]), -1.0, 1.0).astype(np.float32)


def do_nothing_action(inst: GridResilienceInstance) -> np.ndarray:
    return encode_action(inst, np.zeros(inst.storage.n), np.zeros(len(inst.gt_bus)),
                         np.full(inst.n_mess, -1))


@dataclass
class StepOutcome:
    """What happened in one hour (kW = kWh over the 1 h step)."""

    load_kw: np.ndarray  # (N,) demand
    shed_kw: np.ndarray  # (N,) PL^shed
    storage_kw: np.ndarray  # (S,) realised, + discharge / − charge
    storage_bus: np.ndarray  # (S,) bus each storage is connected to, -1 if travelling
    gt_kw: np.ndarray  # (G,)
    dg_used_kw: np.ndarray  # (J,) P^G
    dg_curtailed_kw: np.ndarray  # (J,) P^G,f − P^G
    grid_kw: float
    flow_kw: np.ndarray  # (L,) Pf parent → child, 0 on damaged lines
    flow_kvar: np.ndarray  # (L,)
    voltage_pu: np.ndarray  # (N,) 0 on de-energised buses
    energised: np.ndarray  # (N,) bool
    island_imbalance_kw: np.ndarray  # (K,) supply − demand after balancing (≈ 0)
    costs: dict[str, float]
    voltage_violations: int
    line_overloads: int
    # Scalars of the arrays above, computed once in ``step`` for the env's info.
    load_total_kw: float = float("nan")  # load_kw.sum()
    dg_curtailed_total_kw: float = float("nan")  # dg_curtailed_kw.sum()
    min_voltage_pu: float = float("nan")  # voltage_pu[energised].min()


class ScenarioTables:
    """What ``step`` reads of one scenario that never changes during an episode (the
    feeder, the damage and the day's profiles are fixed), computed once per instance:
    per-hour demand and PV per island, the shedding order's running sums, the reactive
    flows of an hour without shedding, and — cached per MESS parking pattern — the bus
    and island of every storage. Every entry is computed exactly as ``step`` would
    compute it from the instance, so precomputing changes no result."""

    def __init__(self, tables: StepTables, inst: GridResilienceInstance, z: int) -> None:
        topo = inst.topologies[z]
        self.tables = tables
        load_tab, _, dg_tab = inst.scenario_tables[z]
        isl, k, n = topo.island, topo.n_islands, inst.feeder.n_bus
        self.inst = inst
        self.topo = topo
        self.n_islands = k
        self.root = topo.root_island
        self.load = load_tab  # (T, N)
        self.dg = dg_tab  # (T, J)
        self.gt_island = isl[inst.gt_bus].tolist()
        self.dg_island = isl[inst.dg_bus]
        self.ref_bus = topo.reference[isl]  # (N,) reference bus of each bus's island
        self.load_island = [np.bincount(isl, row, minlength=k).tolist() for row in load_tab]
        self.dg_island_kw = [np.bincount(self.dg_island, row, minlength=k).tolist() for row in dg_tab]
        self.load_total = [float(row.sum()) for row in load_tab]
        order, order_island, order_start = topo.shed_sequence
        self.order_island = order_island
        self.inv_order = np.argsort(order)  # shed[order] = s  ⇔  shed = s[inv_order]
        self.island_span = [(int(a), int(a) + len(o)) for a, o in zip(order_start, topo.shed_order)]
        self.shed_loads = [row[order] for row in load_tab]
        self.shed_before = []  # load ahead of each entry in its island's shedding order
        for loads in self.shed_loads:
            before = np.cumsum(loads) - loads
            self.shed_before.append(before - before[order_start][order_island])
        # Reactive power of an hour without shedding (served = load).
        self.flow_q_full = []
        for row in load_tab:
            q_served = row * inst.load_q_ratio
            q_isl = np.bincount(isl, q_served, minlength=k)
            self.flow_q_full.append(topo.subtree.dot(q_served - np.bincount(topo.reference, q_isl, minlength=n)))
        self._connections: dict[tuple[int, ...], _Connection] = {}
        self._energised: dict[tuple[bool, ...], tuple[np.ndarray, list[int] | None]] = {}

    def energised(self, island_on: tuple[bool, ...]) -> tuple[np.ndarray, list[int] | None]:
        """(N,) energised mask for the islands that are on, and the energised buses
        (None when all are)."""
        out = self._energised.get(island_on)
        if out is None:
            mask = np.array(island_on)[self.topo.island]
            out = self._energised[island_on] = (mask, None if mask.all() else np.flatnonzero(mask).tolist())
        return out

    def connection(self, mess_site: tuple[int, ...]) -> _Connection:
        conn = self._connections.get(mess_site)
        if conn is None:
            conn = self._connections[mess_site] = _Connection(self, mess_site)
        return conn


class _Connection:
    """Storage buses and islands for one MESS parking pattern (-1 = travelling)."""

    def __init__(self, tab: ScenarioTables, mess_site: tuple[int, ...]) -> None:
        inst = tab.inst
        bus = inst.storage.bus.tolist()
        site_bus = inst.mess_site_bus.tolist()
        for j, s in zip(inst.mess_index.tolist(), mess_site):
            bus[j] = site_bus[s] if s >= 0 else -1
        sbus = [b if b >= 0 else 0 for b in bus]
        s_isl = tab.topo.island[sbus]
        self.bus = np.array(bus, dtype=np.int64)
        self.sbus = np.array(sbus, dtype=np.int64)
        # Connected storages that can exchange power, with their island (unconnected or
        # zero-power ones have P^c = P^d = 0 and change no sum).
        power = inst.storage.power_kw.tolist()
        self.active = [(j, i) for j, (b, i) in enumerate(zip(bus, s_isl.tolist())) if b >= 0 and power[j] > 0]
        # Nodal injections are (Σ GT + Σ PV) + Σ storage per bus. One bincount over the
        # three lists in a row sums each bus left to right, which is the same sum unless a
        # bus with a GT or PV unit also has several PV units or several storages.
        self.injection_bus = np.concatenate([inst.gt_bus, inst.dg_bus, self.sbus])
        generating = tab.tables.generating_bus
        self.one_bincount = tab.tables.one_bincount_generators and not any(
            generating[b] and sbus.count(b) > 1 for b in set(sbus))


class StepTables:
    """``ScenarioTables`` of every scenario plus instance-wide constants of ``step``."""

    def __init__(self, inst: GridResilienceInstance) -> None:
        sto, fd, cfg = inst.storage, inst.feeder, inst.config
        s = sto.n
        self.n_storage = s
        # Per-storage constants as Python floats: ~10 units, cheaper than numpy calls.
        self.storage_limits = list(zip(sto.energy_min_kwh.tolist(), sto.energy_max_kwh.tolist(),
                                       sto.power_kw.tolist(), sto.efficiency.tolist()))
        self.storage_loss = list(zip(sto.kind.tolist(), sto.loss_per_kwh.tolist()))
        self.gt_capacity = inst.gt_capacity_kw.tolist()
        g, m = len(inst.gt_bus), inst.n_mess
        self.decode_add = np.concatenate([np.full(s, -0.0), np.ones(g + m)])
        self.decode_div = np.concatenate([np.ones(s), np.full(g + m, 2.0)])
        self.decode_mul = np.concatenate([sto.power_kw, inst.gt_capacity_kw, np.full(m, inst.n_sites + 1.0)])
        self.travel_h = inst.travel_h.tolist()
        self.price = inst.price.tolist()
        # 2·(r Pf + x Qf) = (2r) Pf + (2x) Qf exactly (scaling by 2 is exact).
        self.r2, self.x2 = 2.0 * fd.r_ohm, 2.0 * fd.x_ohm
        self.v_scale = 1000.0 * fd.vn_kv**2
        self.line_limit = fd.line_capacity_kw + 1e-6
        self.v_low, self.v_high = cfg.v_min_pu - 1e-9, cfg.v_max_pu + 1e-9
        n_gt, n_dg = np.bincount(inst.gt_bus, minlength=fd.n_bus), np.bincount(inst.dg_bus, minlength=fd.n_bus)
        self.generating_bus = ((n_gt + n_dg) > 0).tolist()  # a GT or PV unit at the bus
        self.one_bincount_generators = not np.any((n_dg > 1) & (n_gt > 0))
        self.scenarios = tuple(ScenarioTables(self, inst, z) for z in range(inst.n_scenarios))


def step_tables(inst: GridResilienceInstance) -> StepTables:
    """The instance's ``StepTables`` (built once, cached on the instance like its other
    derived tables)."""
    tables = inst.__dict__.get("_step_tables")
    if tables is None:
        tables = inst.__dict__["_step_tables"] = StepTables(inst)
    return tables


def step(inst: GridResilienceInstance, state: GridResilienceState, decision: Decision) -> StepOutcome:
    """Advance ``state`` by one hour in place and return what happened.

    Written for speed on a small feeder, where a numpy call costs as much as ~20 Python
    float operations: the rules of the few storages, gas turbines, MESS and islands run
    on Python floats, bus and line vectors stay in numpy, and whatever depends only on
    the scenario and the hour comes from ``step_tables``. Every quantity is evaluated
    with the same floating-point operations in the same order as the plain vectorised
    form (``git log`` has it), so the results are the same to the bit (up to the sign
    of zeros)."""
    cfg = inst.config
    t = state.t
    tabs = step_tables(inst)
    tab = tabs.scenarios[state.scenario]
    topo, k, root = tab.topo, tab.n_islands, tab.root
    load, dg_av = tab.load[t], tab.dg[t]

    # 1. MESS movement (a few units: plain Python).
    sites: tuple[int, ...] = ()
    if inst.n_mess:
        site_arr = state.mess_site
        site = site_arr.tolist()
        if min(site) < 0:  # travelling MESS park once they arrive
            arrive, dest = state.mess_arrive.tolist(), state.mess_dest.tolist()
            for m, s in enumerate(site):
                if s < 0 and arrive[m] <= t:
                    site[m] = site_arr[m] = dest[m]
        # A parked MESS departs if it has moves left (Σ_t v_{m,t} ≤ Ω_trans^max).
        target = decision.mess_target
        if type(target) is not list:
            target = np.asarray(target, dtype=np.int64).tolist()
        moves, limit, travel = state.mess_moves.tolist(), cfg.mess_move_limit, tabs.travel_h
        for m, g in enumerate(target):
            s = site[m]
            if s >= 0 and g >= 0 and g != s and moves[m] < limit:
                state.mess_arrive[m] = t + travel[s][g]
                state.mess_dest[m] = g
                site[m] = site_arr[m] = -1
                state.mess_moves[m] = moves[m] + 1
        sites = tuple(site)
    conn = tab.connection(sites)

    # 2. Storage requests clipped to the power and energy limits (a few units: plain
    # Python floats, the same operations as the vectorised form), summed per island.
    energy = state.energy_kwh.tolist()
    req = np.asarray(decision.storage_kw, dtype=np.float64).tolist()
    n_s = tabs.n_storage
    pd, pc = [0.0] * n_s, [0.0] * n_s
    dis_isl, ch_isl = [0.0] * k, [0.0] * k
    limits = tabs.storage_limits
    for j, i in conn.active:
        r = req[j]
        if r > 0.0:  # P^d ≤ min(P^max, (E − E^min) η)
            e_min, _, p_max, eta = limits[j]
            x = energy[j] - e_min
            x = x * eta if x > 0.0 else 0.0
            x = p_max if p_max <= x else x
            pd[j] = r = r if r <= x else x
            dis_isl[i] += r
        elif r < 0.0:  # P^c ≤ min(P^max, (E^max − E) / η)
            _, e_max, p_max, eta = limits[j]
            x = e_max - energy[j]
            x = x / eta if x > 0.0 else 0.0
            x = p_max if p_max <= x else x
            r = -r
            pc[j] = r = r if r <= x else x
            ch_isl[i] += r
    gt = []
    for g, cap in zip(np.asarray(decision.gt_kw, dtype=np.float64).tolist(), tabs.gt_capacity):
        g = g if not g < 0.0 else 0.0
        gt.append(g if not g > cap else cap)

    # 3. Island balance, island by island.
    gt_isl = [0.0] * k
    for g, i in zip(gt, tab.gt_island):
        gt_isl[i] += g
    dg_isl, load_isl = tab.dg_island_kw[t], tab.load_island[t]
    deficit = [0.0] * k
    dispatch_scale = [1.0] * k
    curtail_frac = [0.0] * k
    curtailing = scaled = short = False  # short: an island other than the root's has a deficit
    for i in range(k):
        balance = gt_isl[i] + dis_isl[i] + dg_isl[i] - load_isl[i] - ch_isl[i]
        if balance > _EPS:
            # Surplus: curtail PV first, then scale down gas turbines and discharges.
            dg = dg_isl[i]
            curtailed = balance if balance <= dg else dg
            if dg > 0:
                curtail_frac[i] = curtailed / dg
                curtailing = True
            rest = balance - curtailed
            if rest > _EPS:  # implies disp > rest > 0
                disp = gt_isl[i] + dis_isl[i]
                scale = (disp - rest) / disp
                dispatch_scale[i] = scale if scale > 0.0 else 0.0
                scaled = True
        elif balance < -_EPS:
            deficit[i] = -balance
            short = short or i != root
    # Deficit: grid import in the substation island, then shedding in ascending δ_n.
    grid = 0.0
    if deficit[root] > 0:
        grid = float(min(deficit[root], cfg.substation_capacity_kw))
        d = deficit[root] - grid
        deficit[root] = d = d if d > _EPS else 0.0
        short = short or d > 0
    charge_scale = [1.0] * k
    shed = None
    if short:
        s = np.array(deficit)[tab.order_island]
        s -= tab.shed_before[t]
        np.maximum(s, 0.0, out=s)
        np.minimum(s, tab.shed_loads[t], out=s)
        shed = s[tab.inv_order]
        for i in range(k):  # what shedding could not cover reduces charging
            ch, d = ch_isl[i], deficit[i]
            if ch > 0 and d > 0:
                lo, hi = tab.island_span[i]
                shed_isl = 0.0
                for v in s[lo:hi].tolist():
                    shed_isl += v
                d -= shed_isl
                if d > _EPS:
                    scale = (ch - d) / ch
                    charge_scale[i] = scale if scale > 0.0 else 0.0
                    scaled = True
    if scaled:  # (multiplying by 1 would change nothing)
        for j, i in conn.active:
            pd[j] *= dispatch_scale[i]
            pc[j] *= charge_scale[i]
    gt_kw = np.array([g * dispatch_scale[i] for g, i in zip(gt, tab.gt_island)], dtype=np.float64)
    if curtailing:
        dg_curt = dg_av * np.array(curtail_frac)[tab.dg_island]
        dg_used = dg_av - dg_curt
        dg_curt_total = float(np.add.reduce(dg_curt))
    else:
        dg_curt, dg_used, dg_curt_total = np.zeros(len(dg_av)), dg_av.copy(), 0.0
    storage_kw = np.array([d - c for d, c in zip(pd, pc)])
    served = load if shed is None else load - shed

    # 4. LinDistFlow.
    n = inst.feeder.n_bus
    isl = topo.island
    # Nodal injections; np.bincount sums repeated buses like np.add.at, much faster.
    if conn.one_bincount:
        inj = np.bincount(conn.injection_bus, np.concatenate((gt_kw, dg_used, storage_kw)), minlength=n)
    else:
        inj = (np.bincount(inst.gt_bus, gt_kw, minlength=n) + np.bincount(inst.dg_bus, dg_used, minlength=n)
               + np.bincount(conn.sbus, storage_kw, minlength=n))
    inj[0] += grid
    flow = topo.subtree.dot(served - inj)  # (.dot: the same BLAS call as @, less dispatch)
    if shed is None:
        flow_q = tab.flow_q_full[t].copy()
    else:
        q_served = served * inst.load_q_ratio  # loads keep their power factor when shed
        q_isl = np.bincount(isl, q_served, minlength=k)
        flow_q = topo.subtree.dot(q_served - np.bincount(topo.reference, q_isl, minlength=n))
    v_term = tabs.r2 * flow
    v_term += tabs.x2 * flow_q
    v_term /= tabs.v_scale
    drop = topo.path.dot(v_term)
    voltage = 1.0 - drop
    voltage += drop[tab.ref_bus]  # V² with 1 p.u. at each island's reference bus
    np.maximum(voltage, 0.0, out=voltage)
    np.sqrt(voltage, out=voltage)
    island_on = [x > _EPS for x in np.bincount(isl, inj, minlength=k).tolist()]
    island_on[root] = True
    energised, on_bus = tab.energised(tuple(island_on))
    if on_bus is not None:
        voltage *= energised  # 0 on de-energised buses
    v_list = voltage.tolist()  # min/max of 33 floats: cheaper in Python than two reductions
    v_min = min(v_list) if on_bus is None else min(map(v_list.__getitem__, on_bus))
    energised = energised.copy()
    if v_min >= tabs.v_low and max(v_list) <= tabs.v_high:
        violations = 0
    else:
        violations = int(np.count_nonzero(energised & ((voltage < tabs.v_low) | (voltage > tabs.v_high))))
    abs_flow = np.abs(flow)
    overloads = int(np.count_nonzero(abs_flow > tabs.line_limit))
    imbalance = np.bincount(isl, inj - served, minlength=k)  # charging is inside inj as −pc

    # 5. Cost of the hour (the paper's lower-level objective, one t, one z).
    # Storage losses w·(P^c + P^d) per kind (0 EV-RB, 1 SESS, 2 MESS), summed in storage order.
    loss = [0.0, 0.0, 0.0]
    storage_loss = tabs.storage_loss
    for j, _ in conn.active:
        kind, w = storage_loss[j]
        loss[kind] += w * (pc[j] + pd[j])
    costs = {
        "load_shedding": float(inst.shed_penalty.dot(shed)) if shed is not None else 0.0,
        "dg_curtailment": cfg.dg_curtail_penalty_per_kwh * dg_curt_total,
        "grid_purchase": tabs.price[t] * grid,
        "gt_fuel": float(inst.gt_cost.dot(gt_kw)),
        "ev_rb_loss": loss[0],
        "mess_loss": loss[2],
        "sess_loss": loss[1],
        "network_loss": cfg.flow_cost_per_kwh * float(np.add.reduce(abs_flow)),
    }

    # Energy update, E_{t+1} = E_t + η P^c Δt − P^d Δt / η.
    for j, (e_min, e_max, _, eta) in enumerate(limits):
        e = energy[j]
        if pd[j] or pc[j]:
            e = e + eta * pc[j] - pd[j] / eta
        e = e if e >= e_min else e_min
        energy[j] = e if e <= e_max else e_max
    state.energy_kwh = np.array(energy)
    state.t = t + 1
    if shed is None:
        shed = np.zeros(n)
    # (positional: keyword calls of a 19-field dataclass cost ~3 numpy calls)
    return StepOutcome(load, shed, storage_kw, conn.bus.copy(), gt_kw, dg_used, dg_curt, grid, flow, flow_q,
                       voltage, energised, imbalance, costs, violations, overloads, tab.load_total[t],
                       dg_curt_total, v_min)
