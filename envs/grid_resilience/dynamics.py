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
    mess_target: np.ndarray  # (M,) site index, -1 = stay


def action_size(inst: GridResilienceInstance) -> int:
    return inst.storage.n + len(inst.gt_bus) + inst.n_mess


def decode_action(inst: GridResilienceInstance, action: np.ndarray) -> Decision:
    """Box action in [-1, 1] → Decision. Layout: [storage (S) | gas turbines (G) | MESS
    targets (M)]. Storage: fraction of its power limit (+ discharge, − charge). Gas
    turbine: output = (a + 1) / 2 × capacity. MESS target: [-1, 1] split into K + 1 equal
    bins: bin 0 = stay, bin k = go to site k − 1."""
    a = np.minimum(np.maximum(np.asarray(action, dtype=float), -1.0), 1.0)
    s, g = inst.storage.n, len(inst.gt_bus)
    k = inst.n_sites
    bins = np.minimum(np.floor((a[s + g:] + 1.0) / 2.0 * (k + 1)), k).astype(np.int64)
    return Decision(storage_kw=a[:s] * inst.storage.power_kw,
                    gt_kw=(a[s:s + g] + 1.0) / 2.0 * inst.gt_capacity_kw,
                    mess_target=bins - 1)


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


def step(inst: GridResilienceInstance, state: GridResilienceState, decision: Decision) -> StepOutcome:
    """Advance ``state`` by one hour in place and return what happened."""
    cfg = inst.config
    t, z = state.t, state.scenario
    topo = inst.topologies[z]
    load_tab, _, dg_tab = inst.scenario_tables[z]
    load, dg_av = load_tab[t], dg_tab[t]
    sto = inst.storage

    # 1. MESS movement.
    arrived = (state.mess_site < 0) & (state.mess_arrive <= t)
    state.mess_site[arrived] = state.mess_dest[arrived]
    if inst.n_mess:  # a parked MESS departs if it has moves left (Σ_t v_{m,t} ≤ Ω_trans^max)
        target, site = np.asarray(decision.mess_target, dtype=np.int64), state.mess_site
        go = (site >= 0) & (target >= 0) & (target != site) & (state.mess_moves < cfg.mess_move_limit)
        if go.any():
            state.mess_arrive[go] = t + inst.travel_h[site[go], target[go]]
            state.mess_dest[go] = target[go]
            state.mess_site[go] = -1
            state.mess_moves[go] += 1
    bus = sto.bus.copy()
    if inst.n_mess:
        parked = state.mess_site >= 0
        bus[inst.mess_index] = np.where(parked, inst.mess_site_bus[np.maximum(state.mess_site, 0)], -1)
    connected = bus >= 0

    # 2. Storage limits (np.minimum/np.maximum: np.clip's dispatch dominates at this size).
    e = state.energy_kwh
    req = np.where(connected, decision.storage_kw, 0.0)
    dis_max = np.minimum(sto.power_kw, np.maximum(e - sto.energy_min_kwh, 0.0) * sto.efficiency)
    ch_max = np.minimum(sto.power_kw, np.maximum(sto.energy_max_kwh - e, 0.0) / sto.efficiency)
    pd = np.minimum(np.maximum(req, 0.0), dis_max)
    pc = np.minimum(np.maximum(-req, 0.0), ch_max)
    gt = np.minimum(np.maximum(decision.gt_kw, 0.0), inst.gt_capacity_kw)

    # 3. Island balance.
    isl, k = topo.island, topo.n_islands
    sbus = np.where(connected, bus, 0)
    s_isl = isl[sbus]
    pd_c, pc_c = pd, pc  # already 0 where not connected (req = 0 there)
    gt_isl = np.bincount(isl[inst.gt_bus], gt, minlength=k)
    dis_isl = np.bincount(s_isl, pd_c, minlength=k)
    ch_isl = np.bincount(s_isl, pc_c, minlength=k)
    dg_isl = np.bincount(isl[inst.dg_bus], dg_av, minlength=k)
    load_isl = np.bincount(isl, load, minlength=k)
    balance = gt_isl + dis_isl + dg_isl - load_isl - ch_isl
    # Vectorised over islands (no Python loop; same rule as documented in step 3).
    active = np.abs(balance) > _EPS
    surplus = np.where(active & (balance > 0), balance, 0.0)
    deficit = np.where(active & (balance < 0), -balance, 0.0)
    # Surplus: curtail PV first, then scale down gas turbines and discharges.
    curtailed = np.minimum(surplus, dg_isl)
    curtail_frac = np.divide(curtailed, dg_isl, out=np.zeros(k), where=dg_isl > 0)
    rest = surplus - curtailed
    disp = gt_isl + dis_isl
    dispatch_scale = np.ones(k)
    cut = rest > _EPS  # implies disp > rest > 0
    dispatch_scale[cut] = np.maximum(0.0, (disp[cut] - rest[cut]) / disp[cut])
    # Deficit: grid import in the substation island, then shedding in ascending δ_n.
    root = topo.root_island
    grid = float(min(deficit[root], cfg.substation_capacity_kw)) if deficit[root] > 0 else 0.0
    deficit[root] -= grid
    deficit = np.where(deficit > _EPS, deficit, 0.0)
    order, order_island, order_start = topo.shed_sequence
    loads = load[order]
    before = np.cumsum(loads) - loads
    before = before - before[order_start][order_island]  # load already shed in the same island
    s = np.minimum(np.maximum(deficit[order_island] - before, 0.0), loads)
    shed = np.zeros_like(load)
    shed[order] = s
    deficit = deficit - np.bincount(order_island, s, minlength=k)
    charge_scale = np.ones(k)
    low = (deficit > _EPS) & (ch_isl > 0)
    charge_scale[low] = np.maximum(0.0, (ch_isl[low] - deficit[low]) / ch_isl[low])
    gt = gt * dispatch_scale[isl[inst.gt_bus]]
    pd = pd_c * dispatch_scale[s_isl]
    pc = pc_c * charge_scale[s_isl]
    dg_curt = dg_av * curtail_frac[isl[inst.dg_bus]]
    dg_used = dg_av - dg_curt
    served = load - shed

    # 4. LinDistFlow.
    n = inst.feeder.n_bus
    # Nodal injections; np.bincount sums repeated buses like np.add.at, much faster.
    inj = (np.bincount(inst.gt_bus, gt, minlength=n) + np.bincount(inst.dg_bus, dg_used, minlength=n)
           + np.bincount(sbus, pd - pc, minlength=n))
    inj[0] += grid
    net_load = served - inj
    flow = topo.subtree @ net_load
    q_served = served * inst.load_q_ratio  # loads keep their power factor when shed
    q_isl = np.bincount(isl, q_served, minlength=k)
    q_net = q_served - np.bincount(topo.reference, q_isl, minlength=n)
    flow_q = topo.subtree @ q_net
    fd = inst.feeder
    drop = topo.path @ (2.0 * (fd.r_ohm * flow + fd.x_ohm * flow_q) / (1000.0 * fd.vn_kv**2))
    v2 = 1.0 - drop + drop[topo.reference][isl]
    supply_isl = np.bincount(isl, inj, minlength=k)
    energised = (supply_isl[isl] > _EPS) | (isl == topo.root_island)
    voltage = np.where(energised, np.sqrt(np.maximum(v2, 0.0)), 0.0)
    v_bad = energised & ((voltage < cfg.v_min_pu - 1e-9) | (voltage > cfg.v_max_pu + 1e-9))
    overloads = int(np.count_nonzero(np.abs(flow) > fd.line_capacity_kw + 1e-6))
    imbalance = np.bincount(isl, inj - served, minlength=k)  # charging is inside inj as −pc

    # 5. Cost of the hour (the paper's lower-level objective, one t, one z).
    # Storage losses w·(P^c + P^d) per kind (0 EV-RB, 1 SESS, 2 MESS) in one bincount.
    loss = np.bincount(sto.kind, sto.loss_per_kwh * (pc + pd), minlength=3)
    costs = {
        "load_shedding": float(inst.shed_penalty @ shed),
        "dg_curtailment": float(cfg.dg_curtail_penalty_per_kwh * dg_curt.sum()),
        "grid_purchase": float(inst.price[t] * grid),
        "gt_fuel": float(inst.gt_cost @ gt),
        "ev_rb_loss": float(loss[0]),
        "mess_loss": float(loss[2]),
        "sess_loss": float(loss[1]),
        "network_loss": float(cfg.flow_cost_per_kwh * np.abs(flow).sum()),
    }

    # Energy update, E_{t+1} = E_t + η P^c Δt − P^d Δt / η.
    state.energy_kwh = np.minimum(np.maximum(e + sto.efficiency * pc - pd / sto.efficiency,
                                             sto.energy_min_kwh), sto.energy_max_kwh)
    state.t = t + 1
    return StepOutcome(load_kw=load, shed_kw=shed, storage_kw=pd - pc, storage_bus=bus, gt_kw=gt,
                       dg_used_kw=dg_used, dg_curtailed_kw=dg_curt, grid_kw=float(grid),
                       flow_kw=flow, flow_kvar=flow_q, voltage_pu=voltage, energised=energised,
                       island_imbalance_kw=imbalance, costs=costs,
                       voltage_violations=int(np.count_nonzero(v_bad)), line_overloads=overloads)
