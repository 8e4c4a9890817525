"""The paper's groups pick what they should; the oracle dominates them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from swapgym import baselines
from swapgym.baselines.emergency_push import DISTANCE_FIRST, TIME_FIRST, DualScheme, push_block
from swapgym.benchmarks import evaluate

ENV_ID = "swapgym/EmergencyPush-v0"


def test_push_block_selects_the_first_slots_of_one_block():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    action = push_block(obs, DISTANCE_FIRST, 3).reshape(4, -1)
    assert action[1, :3].all() and action.sum() == 3


def test_dual_scheme_switches_with_hysteresis():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    policy = DualScheme()
    policy.reset(env)
    low, mid, high = obs.copy(), obs.copy(), obs.copy()
    low[3], low[4] = 1, 0
    mid[3], mid[4] = 0, 0
    high[3], high[4] = 0, 1
    schemes = []
    for o in (low, mid, high, mid, low):
        policy.act(o)
        schemes.append(policy.scheme)
    assert schemes == [TIME_FIRST, TIME_FIRST, DISTANCE_FIRST, DISTANCE_FIRST, TIME_FIRST]


@pytest.mark.parametrize("rule", ["window", "queue"])
def test_oracle_beats_every_paper_group_on_common_seeds(rule):
    seeds = [0, 1, 2]
    oracle = evaluate("oracle", ENV_ID, seeds, conflict_rule=rule)["episode_return"].to_numpy()
    for name in ("dual_scheme", "control_1", "control_2", "scheme_a", "scheme_b"):
        other = evaluate(name, ENV_ID, seeds, conflict_rule=rule)["episode_return"].to_numpy()
        assert np.all(oracle >= other - 1e-9), (name, oracle, other)


def test_oracle_pushes_only_consenting_admissible_vehicles():
    env = gym.make(ENV_ID, conflict_rule="queue")
    env.reset(seed=4)
    policy = baselines.make("oracle", env)
    for _ in range(6):
        action, _ = policy.predict(None)
        env.step(action)
        r = env.unwrapped.last_round
        assert len(r.consented) == len(r.pushed) == len(r.admitted)
