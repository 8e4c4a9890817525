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
