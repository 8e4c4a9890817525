"""The MILP models the environment's transition: brute force on a toy, exact replay,
and the RHO / unscheduled baselines run."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import swapgym  # noqa: F401
from swapgym import baselines
from swapgym.baselines.swap_station.milp import StationMILP
from swapgym.envs.core.battery import DegradationModel, capacity_loss_pct, cycles_to_end_of_life
from swapgym.envs.swap_station.config import SwapStationConfig
from swapgym.envs.swap_station.dynamics import rollout
from swapgym.envs.swap_station.instance import build_station

ENV_ID = "swapgym/SwapStation-v0"


def _toy(discharge: bool):
    cfg = SwapStationConfig(capacity_kwh=(2.0,), n_batteries=(2,), n_chargers=(1,), type_shares=(1.0,),
                            soc_levels=2, return_soc=0.0, allow_discharge=discharge, swap_price_per_kwh=0.3)
    return build_station(cfg)


@pytest.mark.parametrize("discharge", [False, True])
def test_milp__equals_brute_force_on_toy(discharge):
    st = _toy(discharge)
    T, L = 3, st.n_levels
    levels0 = np.array([[1, 1, 0]])
    arrivals = np.array([[0], [1], [1]])
    prices = np.array([0.05, -0.02, 0.40])
    value = np.array([0.1])
    options = [np.array(c).reshape(1, L) for c in itertools.product(range(2), repeat=L)]
    best = -np.inf
    per_hour = list(itertools.product(options, options if discharge else [None]))
    for plan in itertools.product(per_hour, repeat=T):
        charge = np.stack([p[0] for p in plan])
        dis = np.stack([p[1] for p in plan]) if discharge else None
        total, _ = rollout(st, levels0, charge, dis, arrivals, prices, value)
        best = max(best, total)
    milp = StationMILP(st, T, mip_rel_gap=0.0)
    result = milp.solve(levels0, arrivals, prices, value)
    assert result.result.optimal
    assert result.objective == pytest.approx(best, abs=1e-9)
    replay, _ = rollout(st, levels0, result.charge, result.discharge if discharge else None, arrivals, prices, value)
    assert replay == pytest.approx(result.objective, abs=1e-9)


def test_oracle_plan__replays_to_its_objective_in_the_env():
    env = gym.make(ENV_ID, split="all")
    policy = baselines.make("oracle_milp", env)
    env.reset(seed=5)
    policy.reset(env)
    total, obs = 0.0, None
    while True:
        action, _ = policy.predict(obs)
        obs, r, term, trunc, _ = env.step(action)
        total += r
        if term or trunc:
            break
    assert policy.plan.result.usable
    assert total == pytest.approx(policy.plan.objective, abs=1e-6)


def test_baselines__registered_with_reference_and_oracles():
    assert baselines.reference(ENV_ID) == "unscheduled"
    assert {"oracle_milp", "rho_perfect"} <= set(baselines.oracles(ENV_ID))
    assert {"rho_lstm", "rho_polynomial", "rho_naive", "unscheduled"} <= set(baselines.available(ENV_ID))


@pytest.mark.parametrize("name", ["unscheduled", "rho_polynomial", "rho_perfect"])
def test_baseline__runs_an_episode(name):
    from swapgym.benchmarks.runner import evaluate

    df = evaluate(name, ENV_ID, seeds=[1], episode_hours=6, split="all")
    assert len(df) == 1 and np.isfinite(df.episode_return[0]) and df.solver_fallbacks[0] == 0


def test_oracle__not_worse_than_unscheduled():
    from swapgym.benchmarks.runner import evaluate

    kw = dict(seeds=[0, 1], episode_hours=12, split="all")
    oracle = evaluate("oracle_milp", ENV_ID, **kw).episode_return
    ref = evaluate("unscheduled", ENV_ID, **kw).episode_return
    assert (oracle.to_numpy() >= ref.to_numpy() - 1e-6).all()


def test_wang_degradation__known_values():
    # eq. (2) at C/2, 25 C: 20 % loss after ~7.6k equivalent cycles of the 2.2 Ah cell
    assert capacity_loss_pct(1.0, 0.5) == pytest.approx(31630 * np.exp(-(31700 - 185.15) / (8.314 * 298.15)))
    n = cycles_to_end_of_life(0.5)
    assert capacity_loss_pct(n * 2.2, 0.5) == pytest.approx(20.0)
    m = DegradationModel(300.0, 1.5, 0.25)
    assert m.cost_per_kwh == pytest.approx(300.0 / (cycles_to_end_of_life(0.25) * 1.5))
    assert m.marginal_cost_per_kwh(10.0) > m.cost_per_kwh > m.marginal_cost_per_kwh(m.lifetime_throughput_kwh)
    with pytest.raises(ValueError, match="usable_kwh"):
        DegradationModel(300.0, 0.0, 0.25)
