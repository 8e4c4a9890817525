"""The lower-level MILP against brute force on a hand-built 4-bus toy feeder.

Toy (3 hours): substation bus 0 — bus 1 — bus 2 — bus 3, line 1-2 damaged, so buses 2
and 3 form an island with no grid. Loads 40 kW at buses 1, 2 (critical, δ = 50) and 3
(δ = 8). An EV-RB node at bus 3 (60 kWh usable, 40 kW), one MESS (40 kWh usable, 40 kW)
parked at site 0 = bus 1, site 1 = bus 3 one hour away, one move allowed. η = 1 and
every number a multiple of 20, so the optimum lies on a 20 kW grid.

Hand-solved: the island needs 3 × 80 = 240 kWh; the storages hold 60 + 40 = 100 kWh
(charging the MESS at bus 1 first gains nothing: it then arrives for one hour only,
40 kW). Every stored kWh goes to the critical load (≤ 40 kW/h, so no hour
exceeds the critical demand), so shed = 20 kWh critical + 120 kWh normal:
50·20 + 8·120 = 1960 CNY, + grid 0.35·40·3 = 42, + storage losses 0.05·100 = 5 ⇒ 2007.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from swapgym.envs.grid_resilience import dynamics
from swapgym.envs.grid_resilience.config import GridResilienceConfig
from swapgym.envs.grid_resilience.instance import (
    Feeder,
    GridResilienceInstance,
    Scenario,
    Storage,
    build_topology,
)

HAND_SOLVED_COST = 50 * 20 + 8 * 120 + 0.35 * 40 * 3 + 0.05 * 100


def toy_instance(horizon: int = 3) -> GridResilienceInstance:
    cfg = GridResilienceConfig(horizon_h=horizon, flow_cost_per_kwh=0.0, substation_capacity_kw=1000.0,
                               mess_move_limit=1, grid_price_per_kwh=(0.35,) * 24,
                               load_shape=(1.0,) * 24)
    n = 4
    feeder = Feeder(n_bus=n, line_from=np.array([0, 1, 2]), line_to=np.array([1, 2, 3]),
                    r_ohm=np.array([0.1, 0.3, 0.3]), x_ohm=np.array([0.05, 0.15, 0.15]), vn_kv=12.66,
                    peak_p_kw=np.array([0.0, 40.0, 40.0, 40.0]), peak_q_kvar=np.array([0.0, 20.0, 20.0, 20.0]),
                    xy=np.column_stack([np.arange(n), np.zeros(n)]).astype(float),
                    line_capacity_kw=np.full(3, 1000.0))
    delta = np.array([8.0, 8.0, 50.0, 8.0])
    storage = Storage(kind=np.array([0, 2]), bus=np.array([3, -1]),
                      energy_min_kwh=np.array([0.0, 0.0]), energy_max_kwh=np.array([60.0, 120.0]),
                      energy_init_kwh=np.array([60.0, 40.0]), power_kw=np.array([40.0, 40.0]),
                      efficiency=np.array([1.0, 1.0]), loss_per_kwh=np.array([0.05, 0.05]),
                      mess_type=np.array([-1, 0]))
    damaged = np.array([False, True, False])
    scenario = Scenario(probability=1.0, damaged=damaged, load_factor=1.0, pv_factor=0.0, wind_ms=0.0,
                        cluster_size=1)
    topo = build_topology(feeder, ~damaged, delta, grid_forming_buses=(3,))
    empty_i, empty_f = np.zeros(0, dtype=np.int64), np.zeros(0)
    return GridResilienceInstance(
        config=cfg, feeder=feeder, shed_penalty=delta, critical=delta >= 50, price=np.full(24, 0.35),
        load_shape=np.ones(24), dg_bus=empty_i, dg_capacity_kw=empty_f, pv_shape=np.zeros(24),
        gt_bus=empty_i, gt_capacity_kw=empty_f, gt_cost=empty_f, storage=storage,
        mess_index=np.array([1]), mess_site_bus=np.array([1, 3]), travel_h=np.array([[0, 1], [1, 0]]),
        scenarios=(scenario,), topologies=(topo,))


def brute_force(inst: GridResilienceInstance, levels_kw=(-40.0, -20.0, 0.0, 20.0, 40.0)) -> float:
    """Enumerate every storage power on a 20 kW grid and every MESS move (stay / go to the
    other site), hour by hour through the env's own dynamics; the cheapest day. Equal
    states reached by different paths are expanded once (exhaustive, memoised)."""
    memo: dict[tuple, float] = {}

    def cost_to_go(state: dynamics.GridResilienceState) -> float:
        if state.t >= inst.horizon:
            return 0.0
        key = (state.t, *np.round(state.energy_kwh, 6), *state.mess_site, *state.mess_dest,
               *state.mess_arrive, *state.mess_moves)
        if key in memo:
            return memo[key]
        parked = state.mess_site[0] >= 0
        moves = (-1, 1 - int(state.mess_site[0])) if parked else (-1,)
        mess_levels = levels_kw if parked else (0.0,)
        best = np.inf
        for rb, mess, move in itertools.product(levels_kw, mess_levels, moves):
            st = state.copy()
            dec = dynamics.Decision(storage_kw=np.array([rb, mess]), gt_kw=np.zeros(0),
                                    mess_target=np.array([move]))
            out = dynamics.step(inst, st, dec)
            best = min(best, sum(out.costs.values()) + cost_to_go(st))
        memo[key] = best
        return best

    return cost_to_go(dynamics.initial_state(inst, 0))


def test_toy_feeder__islands_as_drawn():
    inst = toy_instance()
    topo = inst.topologies[0]
    assert topo.n_islands == 2
    assert topo.island[2] == topo.island[3] != topo.island[0]


def test_toy_feeder__brute_force_matches_hand_solution():
    assert brute_force(toy_instance()) == pytest.approx(HAND_SOLVED_COST, abs=1e-6)


@pytest.mark.parametrize("method", ["exact", "relax_and_fix", "greedy_routes"])
def test_toy_feeder__milp_matches_brute_force(method):
    pytest.importorskip("highspy")
    from swapgym.baselines.grid_resilience.milp import solve_operation

    inst = toy_instance()
    plan = solve_operation(inst, dynamics.initial_state(inst, 0), method=method)
    assert plan.objective == pytest.approx(brute_force(inst), abs=1e-4)
    assert plan.objective == pytest.approx(HAND_SOLVED_COST, abs=1e-4)


def test_toy_feeder__milp_plan_replays_to_its_objective():
    pytest.importorskip("highspy")
    from swapgym.baselines.grid_resilience.milp import solve_operation

    inst = toy_instance()
    state = dynamics.initial_state(inst, 0)
    plan = solve_operation(inst, state, method="exact")
    total = 0.0
    while state.t < inst.horizon:
        action = plan.action(inst, state)
        total += sum(dynamics.step(inst, state, dynamics.decode_action(inst, action)).costs.values())
    assert total == pytest.approx(plan.objective, abs=1e-3)


def test_toy_feeder__no_damage_means_no_shedding():
    pytest.importorskip("highspy")
    from swapgym.baselines.grid_resilience.milp import solve_operation

    inst = toy_instance()
    intact = build_topology(inst.feeder, np.ones(3, dtype=bool), inst.shed_penalty, (3,))
    inst = dataclasses.replace(inst, topologies=(intact,))
    plan = solve_operation(inst, dynamics.initial_state(inst, 0), method="exact")
    assert plan.costs["load_shedding"] == pytest.approx(0.0, abs=1e-6)
    assert brute_force(inst) == pytest.approx(plan.objective, abs=1e-4)
