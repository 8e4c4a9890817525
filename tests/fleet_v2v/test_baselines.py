"""FleetV2V baselines: registration, smoke runs, oracle never worse than its bases."""

from __future__ import annotations

import gymnasium as gym
import pytest

import swapgym  # noqa: F401
from swapgym.baselines import protocol
from swapgym.baselines.fleet_v2v import ENV_ID, RolloutOracle, STLCSSPolicy, V2CSPolicy
from swapgym.benchmarks.runner import run_episode


def test_registered_with_one_reference_and_an_oracle():
    specs = {s.name: s for s in protocol.specs(ENV_ID)}
    assert {"v2cs", "v2cs_pso", "v2v_stlcss", "v2v_stlcss_pso", "oracle"} <= set(specs)
    assert [n for n, s in specs.items() if s.reference] == ["v2cs"]
    assert [n for n, s in specs.items() if s.oracle] == ["oracle"]


def _cost(policy, **config):
    env = gym.make(ENV_ID, **config)
    row, _ = run_episode(policy, env, seed=0)
    return row


@pytest.mark.parametrize("policy", [V2CSPolicy("max"), STLCSSPolicy("max")])
def test_heuristics_finish_the_paper_instance(policy):
    row = _cost(policy)
    assert row["stranded_vans"] == 0 and row["missed_tasks"] == 0
    assert 200 < row["total_cost"] < 1000


def test_stlcss_policy_shares_energy():
    assert _cost(STLCSSPolicy("max"))["v2v_transfers"] >= 1


def test_oracle_never_worse_than_its_base_heuristics():
    oracle = _cost(RolloutOracle())["total_cost"]
    for base in (V2CSPolicy("exhaustive"), STLCSSPolicy("exhaustive")):
        assert oracle <= _cost(base)["total_cost"] + 1e-6


def test_lp_lower_bound_is_below_every_baseline_on_the_paper_instance():
    from swapgym.baselines.fleet_v2v.bound import lp_lower_bound

    env = gym.make(ENV_ID, consumption_noise_std=0.0)
    env.reset(seed=0)
    u = env.unwrapped
    bound = lp_lower_bound(u.config, u.instance, u.state)
    assert bound.status == "Optimal" and bound.total > 200
    for policy in (V2CSPolicy("max"), STLCSSPolicy("max"), RolloutOracle()):
        assert bound.total <= _cost(policy, consumption_noise_std=0.0)["total_cost"] + 1e-6


def test_stlcss_takes_v2v_only_when_cheaper_than_its_station():
    """With the V2V-vs-station comparison the matching never does worse than plain
    STLCSS matching on the paper instance, and it still shares energy."""
    compared = _cost(STLCSSPolicy("max"), consumption_noise_std=0.0)
    plain = _cost(STLCSSPolicy("max", compare_costs=False, provider_reserve_rule=False),
                  consumption_noise_std=0.0)
    assert compared["total_cost"] < plain["total_cost"]
    assert compared["v2v_transfers"] >= 1
