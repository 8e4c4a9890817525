"""Check the environment's LinDistFlow against pandapower's AC power flow.

The env (``envs/grid_resilience/dynamics.py``, step 4) computes line flows and voltages
with the lossless LinDistFlow of Baran & Wu (1989): Pf_l = Σ net load below l in its
island, V²_child = V²_parent − 2 (r_l Pf_l + x_l Qf_l) / V_n², 1 p.u. at each island's
reference bus, which also supplies the island's reactive power. Here one env hour is
replayed in ``pandapower.runpp`` (Newton–Raphson, full AC): the same served loads, the
same active injections (gas turbines, PV, storages as static generators with Q = 0), an
``ext_grid`` at 1 p.u. at every energised island's reference bus (bus 0 for the
substation island) and the damaged lines out of service. De-energised islands are left
out.

The two differ by what LinDistFlow drops: line losses (the AC slack buses supply them,
so AC sending-end flows exceed the lossless ones by the losses downstream) and the
V²·losses terms in the voltage drop. pandapower is imported here only, never by the env.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from swapgym.envs.grid_resilience import dynamics
from swapgym.envs.grid_resilience.instance import GridResilienceInstance

# Documented tolerances (asserted in tests/grid_resilience): LinDistFlow vs AC on the
# case33bw feeder at its peak load. Voltage: LinDistFlow neglects the loss terms of
# the drop, ≈ 0.5 % at the far end of the 3.7 MW feeder. Flow: the lossless flow misses
# the losses downstream, ≈ 5.5 % of the feeder head flow at peak (202 kW of 3715 kW).
VOLTAGE_TOL_PU = 0.01
FLOW_TOL_FRACTION = 0.08  # of the largest AC line flow in the island set


@dataclass
class FlowComparison:
    label: str
    hour: int
    n_islands: int
    n_energised_buses: int
    max_voltage_diff_pu: float  # max |V_lin − V_ac| over energised buses
    max_flow_diff_kw: float  # max |Pf_lin − P_ac,from| over in-service energised lines
    max_flow_kw: float  # largest |P_ac,from| (scale of the flow error)
    max_flow_diff_fraction: float  # max_flow_diff_kw / max_flow_kw
    min_voltage_lin_pu: float
    min_voltage_ac_pu: float
    ac_losses_kw: float

    def row(self) -> str:
        return (f"| {self.label} | {self.hour} | {self.n_islands} | {self.n_energised_buses} | "
                f"{self.min_voltage_lin_pu:.4f} / {self.min_voltage_ac_pu:.4f} | "
                f"{self.max_voltage_diff_pu:.4f} | {self.max_flow_diff_kw:.1f} | "
                f"{100 * self.max_flow_diff_fraction:.2f} % | {self.ac_losses_kw:.1f} |")


TABLE_HEADER = ("| case | hour | islands | energised buses | min V LinDistFlow / AC (p.u.) | "
                "max ΔV (p.u.) | max ΔP (kW) | max ΔP / max flow | AC losses (kW) |\n"
                "|---|---|---|---|---|---|---|---|---|")


def env_hour(inst: GridResilienceInstance, scenario: int, hour: int,
             policy: Callable | None = None) -> dynamics.StepOutcome:
    """One env hour of ``scenario`` at ``hour`` from the initial storage state, with the
    action ``policy(inst, state)`` (default: do nothing)."""
    st = dynamics.initial_state(inst, scenario)
    st.t = hour
    action = policy(inst, st) if policy is not None else dynamics.do_nothing_action(inst)
    return dynamics.step(inst, st, dynamics.decode_action(inst, action))


def compare_with_pandapower(inst: GridResilienceInstance, scenario: int, hour: int,
                            outcome: dynamics.StepOutcome, label: str = "") -> FlowComparison:
    """Replay ``outcome`` (one env hour of ``scenario``) in pandapower's AC power flow."""
    import pandapower as pp

    fd = inst.feeder
    topo = inst.topologies[scenario]
    net = pp.create_empty_network(sn_mva=1.0)
    for b in range(fd.n_bus):
        pp.create_bus(net, vn_kv=fd.vn_kv, index=b, in_service=bool(outcome.energised[b]))
    for ln in range(fd.n_line):
        a, c = int(fd.line_from[ln]), int(fd.line_to[ln])
        live = bool(topo.in_service[ln] and outcome.energised[a] and outcome.energised[c])
        pp.create_line_from_parameters(net, a, c, length_km=1.0, r_ohm_per_km=float(fd.r_ohm[ln]),
                                       x_ohm_per_km=float(fd.x_ohm[ln]), c_nf_per_km=0.0,
                                       max_i_ka=99.0, index=ln, in_service=live)
    _load_tab, loadq_tab, _ = inst.scenario_tables[scenario]
    served = outcome.load_kw - outcome.shed_kw
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(outcome.load_kw > 0, served / np.where(outcome.load_kw > 0, outcome.load_kw, 1), 0)
    q_served = loadq_tab[hour] * frac
    for b in np.flatnonzero(outcome.energised & (served > 1e-9)):
        pp.create_load(net, int(b), p_mw=served[b] / 1000.0, q_mvar=q_served[b] / 1000.0)
    injections = [(int(b), p) for b, p in zip(inst.gt_bus, outcome.gt_kw)]
    injections += [(int(b), p) for b, p in zip(inst.dg_bus, outcome.dg_used_kw)]
    injections += [(int(b), p) for b, p in zip(outcome.storage_bus, outcome.storage_kw) if b >= 0]
    for b, p in injections:
        if outcome.energised[b] and abs(p) > 1e-9:
            pp.create_sgen(net, b, p_mw=p / 1000.0, q_mvar=0.0)
    for i in range(topo.n_islands):
        ref = int(topo.reference[i])
        if outcome.energised[ref]:
            pp.create_ext_grid(net, ref, vm_pu=1.0, va_degree=0.0)
    pp.runpp(net, algorithm="nr", calculate_voltage_angles=False, numba=False,
             init="flat", tolerance_mva=1e-9)
    on = outcome.energised
    v_ac = net.res_bus.vm_pu.reindex(range(fd.n_bus)).to_numpy()
    dv = np.abs(outcome.voltage_pu[on] - v_ac[on])
    live = np.array([bool(net.line.in_service.at[ln]) for ln in range(fd.n_line)])
    p_ac = net.res_line.p_from_mw.reindex(range(fd.n_line)).to_numpy() * 1000.0
    dp = np.abs(outcome.flow_kw[live] - p_ac[live])
    max_flow = float(np.abs(p_ac[live]).max()) if live.any() else 0.0
    max_dp = float(dp.max()) if len(dp) else 0.0
    losses = float(net.res_line.pl_mw[live].sum() * 1000.0) if live.any() else 0.0
    return FlowComparison(label=label, hour=hour, n_islands=topo.n_islands,
                          n_energised_buses=int(on.sum()), max_voltage_diff_pu=float(dv.max()),
                          max_flow_diff_kw=max_dp, max_flow_kw=max_flow,
                          max_flow_diff_fraction=max_dp / max_flow if max_flow > 0 else 0.0,
                          min_voltage_lin_pu=float(outcome.voltage_pu[on].min()),
                          min_voltage_ac_pu=float(np.nanmin(v_ac[on])), ac_losses_kw=losses)


def validation_cases(policy: Callable | None = None, hour: int = 18) -> list[FlowComparison]:
    """The report's cases: the intact feeder (every line hardened) and each typical
    scenario of the default configuration (damaged lines, islands), at the peak hour."""
    import dataclasses

    from swapgym.envs.grid_resilience.config import N_LINE, GridResilienceConfig
    from swapgym.envs.grid_resilience.instance import make_instance

    base = GridResilienceConfig()
    intact = make_instance(dataclasses.replace(base, reinforced_lines=tuple(range(N_LINE))))
    out = [compare_with_pandapower(intact, 0, hour, env_hour(intact, 0, hour, policy), "intact feeder")]
    inst = make_instance(base)
    for z in range(inst.n_scenarios):
        out.append(compare_with_pandapower(inst, z, hour, env_hour(inst, z, hour, policy),
                                           f"scenario {z} (damaged)"))
    return out
