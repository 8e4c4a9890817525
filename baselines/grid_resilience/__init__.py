"""Baselines of ``swapgym/GridResilience-v0``: the lower-level MILP with perfect
information (oracle), a greedy dispatch heuristic (reference) and doing nothing.

Solver imports stay inside the MILP module, so listing baselines is cheap.
"""

from __future__ import annotations

import numpy as np

from swapgym.baselines.protocol import BasePolicy, register
from swapgym.envs.grid_resilience import dynamics

ENV_ID = "swapgym/GridResilience-v0"


class DoNothingPolicy(BasePolicy):
    """Storages idle, gas turbines off, MESS stay at the depot; grid and shedding only."""

    name = "do_nothing"

    def act(self, observation):
        return dynamics.do_nothing_action(self.instance)


class GreedyDispatchPolicy(BasePolicy):
    """Myopic dispatch, hour by hour, with what the agent sees now.

    Per island: unmet demand = load − PV − (grid headroom in the substation island).
    Gas turbines cover it first (fuel α < every δ_n), then storages in that island
    discharge up to the remaining gap (the most critical islands first when several
    compete for nothing — storages are local, so each serves its own island); surplus PV
    charges them. A parked MESS whose island has no unmet demand drives to the site whose
    island has the largest δ-weighted unmet demand (nearest first on ties).
    """

    name = "greedy"

    def act(self, observation):
        return greedy_action(self.instance, self.state)


def greedy_action(inst, st) -> np.ndarray:
    """The greedy heuristic's action for state ``st`` (see ``GreedyDispatchPolicy``)."""
    topo = inst.topologies[st.scenario]
    load_tab, _, dg_tab = inst.scenario_tables[st.scenario]
    t = min(st.t, inst.horizon - 1)
    load, dg = load_tab[t], dg_tab[t]
    isl, k = topo.island, topo.n_islands
    need = np.bincount(isl, load, minlength=k) - np.bincount(isl[inst.dg_bus], dg, minlength=k)
    need[topo.root_island] -= inst.config.substation_capacity_kw
    weighted = np.bincount(isl, load * inst.shed_penalty, minlength=k)
    gt = np.zeros(len(inst.gt_bus))
    for i, b in enumerate(inst.gt_bus):
        g = float(np.clip(need[isl[b]], 0.0, inst.gt_capacity_kw[i]))
        gt[i] = g
        need[isl[b]] -= g
    sto = inst.storage
    storage_kw = np.zeros(sto.n)
    bus = sto.bus.copy()
    parked = st.mess_site >= 0
    bus[inst.mess_index] = np.where(parked, inst.mess_site_bus[np.maximum(st.mess_site, 0)], -1)
    for s in np.argsort(-sto.power_kw):
        if bus[s] < 0 or sto.power_kw[s] <= 0:
            continue
        i = isl[bus[s]]
        p = float(np.clip(need[i], -sto.power_kw[s], sto.power_kw[s]))
        storage_kw[s] = p
        need[i] -= p
    targets = np.full(inst.n_mess, -1)
    site_island = isl[inst.mess_site_bus]
    unmet = np.maximum(need, 0.0) * (weighted / np.maximum(np.bincount(isl, load, minlength=k), 1e-9))
    for j, s in enumerate(inst.mess_index):
        if not parked[j] or need[isl[bus[s]]] > 0:
            continue
        here = st.mess_site[j]
        score = unmet[site_island] - 1e-6 * inst.travel_h[here]
        best = int(np.argmax(score))
        if unmet[site_island[best]] > 0 and best != here:
            targets[j] = best
            unmet[site_island[best]] -= sto.power_kw[s] * 10.0
    return dynamics.encode_action(inst, storage_kw, gt, targets)


class MILPOraclePolicy(BasePolicy):
    """The lower-level MILP over the whole horizon with perfect information (scenario,
    loads, PV known), solved at reset and replayed. ``method``/``time_limit_s`` go to
    ``solve_operation``."""

    name = "milp_oracle"
    oracle = True

    def __init__(self, method: str = "greedy_routes", time_limit_s: float = 10.0) -> None:
        super().__init__()
        self.method = method
        self.time_limit_s = time_limit_s
        self.plan = None

    def reset(self, env) -> None:
        from swapgym.baselines.grid_resilience.milp import solve_operation

        super().reset(env)
        self.plan = solve_operation(self.instance, self.state, method=self.method,
                                    time_limit_s=self.time_limit_s)

    def act(self, observation):
        return self.plan.action(self.instance, self.state)


register(ENV_ID, "do_nothing", DoNothingPolicy, description="storages idle, GT off, MESS stay")
register(ENV_ID, "greedy", GreedyDispatchPolicy, reference=True,
         description="myopic per-island dispatch; MESS to the most critical unmet island")
register(ENV_ID, "milp_oracle", MILPOraclePolicy, oracle=True,
         description="lower-level MILP on HiGHS with perfect information (time-limited)")
