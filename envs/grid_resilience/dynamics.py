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
   (violations), not enforced.
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
    a = np.clip(np.asarray(action, dtype=float), -1.0, 1.0)
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
    load_tab, loadq_tab, dg_tab = inst.scenario_tables[z]
    load, loadq, dg_av = load_tab[t], loadq_tab[t], dg_tab[t]
    sto = inst.storage

    # 1. MESS movement.
    arrived = (state.mess_site < 0) & (state.mess_arrive <= t)
    state.mess_site[arrived] = state.mess_dest[arrived]
    for m in range(inst.n_mess):
        target, site = int(decision.mess_target[m]), int(state.mess_site[m])
        if site >= 0 and target >= 0 and target != site and state.mess_moves[m] < cfg.mess_move_limit:
            state.mess_site[m] = -1
            state.mess_dest[m] = target
            state.mess_arrive[m] = t + inst.travel_h[site, target]
            state.mess_moves[m] += 1
    bus = sto.bus.copy()
    if inst.n_mess:
        parked = state.mess_site >= 0
        bus[inst.mess_index] = np.where(parked, inst.mess_site_bus[np.maximum(state.mess_site, 0)], -1)
    connected = bus >= 0

    # 2. Storage limits.
    e = state.energy_kwh
    req = np.where(connected, decision.storage_kw, 0.0)
    dis_max = np.minimum(sto.power_kw, np.maximum(e - sto.energy_min_kwh, 0.0) * sto.efficiency)
    ch_max = np.minimum(sto.power_kw, np.maximum(sto.energy_max_kwh - e, 0.0) / sto.efficiency)
    pd = np.clip(req, 0.0, dis_max)
    pc = np.clip(-req, 0.0, ch_max)
    gt = np.clip(decision.gt_kw, 0.0, inst.gt_capacity_kw)

    # 3. Island balance.
    isl, k = topo.island, topo.n_islands
    sbus = np.where(connected, bus, 0)
    s_isl = isl[sbus]
    pd_c, pc_c = np.where(connected, pd, 0.0), np.where(connected, pc, 0.0)
    gt_isl = np.bincount(isl[inst.gt_bus], gt, minlength=k)
    dis_isl = np.bincount(s_isl, pd_c, minlength=k)
    ch_isl = np.bincount(s_isl, pc_c, minlength=k)
    dg_isl = np.bincount(isl[inst.dg_bus], dg_av, minlength=k)
    load_isl = np.bincount(isl, load, minlength=k)
    balance = gt_isl + dis_isl + dg_isl - load_isl - ch_isl
    curtail_frac = np.zeros(k)
    dispatch_scale = np.ones(k)
    charge_scale = np.ones(k)
    shed = np.zeros_like(load)
    grid = 0.0
    for i in np.flatnonzero(np.abs(balance) > _EPS):
        b = balance[i]
        if b > 0:
            c = min(b, dg_isl[i])
            curtail_frac[i] = c / dg_isl[i] if dg_isl[i] > 0 else 0.0
            rest = b - c
            if rest > _EPS:
                disp = gt_isl[i] + dis_isl[i]
                dispatch_scale[i] = max(0.0, (disp - rest) / disp)
        else:
            deficit = -b
            if i == topo.root_island:
                grid = min(deficit, cfg.substation_capacity_kw)
                deficit -= grid
            if deficit > _EPS:
                order = topo.shed_order[i]
                loads = load[order]
                before = np.cumsum(loads) - loads
                s = np.clip(deficit - before, 0.0, loads)
                shed[order] = s
                deficit -= s.sum()
                if deficit > _EPS and ch_isl[i] > 0:
                    charge_scale[i] = max(0.0, (ch_isl[i] - deficit) / ch_isl[i])
    gt = gt * dispatch_scale[isl[inst.gt_bus]]
    pd = pd_c * dispatch_scale[s_isl]
    pc = pc_c * charge_scale[s_isl]
    dg_curt = dg_av * curtail_frac[isl[inst.dg_bus]]
    dg_used = dg_av - dg_curt
    served = load - shed

    # 4. LinDistFlow.
    n = inst.feeder.n_bus
    inj = np.zeros(n)
    inj[0] += grid
    np.add.at(inj, inst.gt_bus, gt)
    np.add.at(inj, inst.dg_bus, dg_used)
    np.add.at(inj, sbus, pd - pc)
    net_load = served - inj
    flow = topo.subtree @ net_load
    with np.errstate(divide="ignore", invalid="ignore"):
        q_served = np.where(load > 0, loadq * served / np.where(load > 0, load, 1.0), 0.0)
    q_isl = np.bincount(isl, q_served, minlength=k)
    q_net = q_served.copy()
    np.subtract.at(q_net, topo.reference, q_isl)
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
    throughput = pc + pd
    kind = sto.kind
    costs = {
        "load_shedding": float(inst.shed_penalty @ shed),
        "dg_curtailment": float(cfg.dg_curtail_penalty_per_kwh * dg_curt.sum()),
        "grid_purchase": float(inst.price[t] * grid),
        "gt_fuel": float(inst.gt_cost @ gt),
        "ev_rb_loss": float(sto.loss_per_kwh[kind == 0] @ throughput[kind == 0]),
        "mess_loss": float(sto.loss_per_kwh[kind == 2] @ throughput[kind == 2]),
        "sess_loss": float(sto.loss_per_kwh[kind == 1] @ throughput[kind == 1]),
        "network_loss": float(cfg.flow_cost_per_kwh * np.abs(flow).sum()),
    }

    # Energy update, E_{t+1} = E_t + η P^c Δt − P^d Δt / η.
    state.energy_kwh = np.clip(e + sto.efficiency * pc - pd / sto.efficiency,
                               sto.energy_min_kwh, sto.energy_max_kwh)
    state.t = t + 1
    return StepOutcome(load_kw=load, shed_kw=shed, storage_kw=pd - pc, storage_bus=bus, gt_kw=gt,
                       dg_used_kw=dg_used, dg_curtailed_kw=dg_curt, grid_kw=float(grid),
                       flow_kw=flow, flow_kvar=flow_q, voltage_pu=voltage, energised=energised,
                       island_imbalance_kw=imbalance, costs=costs,
                       voltage_violations=int(np.count_nonzero(v_bad)), line_overloads=overloads)
