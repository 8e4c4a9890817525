"""The algorithm factory and trained agents as Policies."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import swapgym
from swapgym.agents import ALGOS, check_algo, default_algo, load_policy
from swapgym.agents.algos import algo_from_zip
from swapgym.baselines.protocol import Policy
from swapgym.benchmarks.runner import evaluate
from swapgym.train.train import TrainArgs, train


def _require(env_id: str) -> None:
    if env_id not in swapgym.ENV_IDS:
        pytest.skip(f"{env_id} is not registered yet")


@pytest.mark.parametrize("env_id", swapgym.ENV_IDS)
def test_default_algo__can_act_in_every_env(env_id):
    _require(env_id)
    env = gym.make(env_id)
    algo = default_algo(env)
    assert check_algo(algo, env).name == algo
    if hasattr(env.unwrapped, "action_masks") and not isinstance(env.action_space, gym.spaces.Box):
        assert algo == "maskable_ppo"


def test_check_algo__names_algorithm_space_and_alternatives():
    env = gym.make("swapgym/FleetV2V-v0")  # Discrete with masks
    with pytest.raises(ValueError, match=r"sac cannot act .*Discrete.*ppo, a2c, dqn, maskable_ppo"):
        check_algo("sac", env)
    with pytest.raises(ValueError, match="unknown algorithm 'sac2'"):
        check_algo("sac2", env)
    assert check_algo("MaskablePPO".lower().replace("ppo", "_ppo"), env).needs_masks
    env = gym.make("swapgym/EmergencyPush-v0")  # MultiBinary with masks
    with pytest.raises(ValueError, match="dqn cannot act"):
        check_algo("dqn", env)
    assert {a for a in ALGOS if ALGOS[a].off_policy} == {"dqn", "sac", "td3"}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One tiny MaskablePPO run on FleetV2V (Dict obs, VecNormalize, masks)."""
    out = tmp_path_factory.mktemp("run") / "fleet"
    train(TrainArgs(env="FleetV2V", timesteps=64, n_envs=1, eval_seeds=[1000], out=str(out),
                    progress=False))
    return out


def test_loaded_agent__is_a_policy_and_scored_by_the_runner(trained_run):
    policy = load_policy(trained_run / "model.zip")
    assert isinstance(policy, Policy)
    assert policy.algo == "maskable_ppo" and policy.obs_normalizer is not None
    df = evaluate(policy, "swapgym/FleetV2V-v0", seeds=[0, 1])
    assert list(df["seed"]) == [0, 1] and list(df["policy"]) == ["agent_maskable_ppo"] * 2
    assert np.isfinite(df["episode_return"]).all()
    again = evaluate(load_policy(trained_run), "swapgym/FleetV2V-v0", seeds=[0, 1])
    assert list(again["episode_return"]) == list(df["episode_return"])  # deterministic


def test_loaded_agent__only_takes_valid_actions(trained_run):
    policy = load_policy(trained_run / "model.zip")
    env = gym.make("swapgym/FleetV2V-v0")
    obs, _ = env.reset(seed=3)
    policy.reset(env)
    for _ in range(30):
        action, _ = policy.predict(obs)
        assert env.unwrapped.action_masks()[int(action)]
        obs, _, terminated, truncated, info = env.step(action)
        assert not info.get("action_replaced", False)
        if terminated or truncated:
            break


def test_algo_from_zip__recognises_maskable_ppo(trained_run):
    assert algo_from_zip(str(trained_run / "model.zip")) == "maskable_ppo"


def test_load_policy__missing_or_bad_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trained model"):
        load_policy(tmp_path / "missing.zip")
    bad = tmp_path / "bad.zip"
    bad.write_text("not a zip")
    with pytest.raises(ValueError, match="cannot tell which algorithm"):
        load_policy(bad)


def test_stock_value_shaping__keeps_every_episode_return():
    from swapgym.agents.envs import EnvFactory

    env_id = "swapgym/SwapStation-v0"
    raw, shaped = gym.make(env_id), EnvFactory(env_id, {}, "stock_value_per_step")()
    for seed in range(2):
        raw.reset(seed=seed)
        shaped.reset(seed=seed)
        rng, done, r_raw, r_shaped = np.random.default_rng(seed), False, 0.0, 0.0
        while not done:
            mask = raw.unwrapped.action_masks().reshape(len(raw.action_space.nvec), -1)
            action = np.array([rng.choice(np.flatnonzero(m)) for m in mask])
            _, r1, done, _, _ = raw.step(action)
            _, r2, _, _, _ = shaped.step(action)
            r_raw, r_shaped = r_raw + r1, r_shaped + r2
        assert r_shaped == pytest.approx(r_raw, abs=1e-9)


def test_reward_shaping__unknown_or_wrong_env_is_a_clear_error():
    from swapgym.agents.shaping import shaping_wrapper

    assert shaping_wrapper(None, "swapgym/SwapStation-v0") is None
    with pytest.raises(ValueError, match="unknown 'nope'"):
        shaping_wrapper("nope", "swapgym/SwapStation-v0")
    with pytest.raises(ValueError, match="is for swapgym/SwapStation-v0, not swapgym/FleetV2V-v0"):
        shaping_wrapper("stock_value_per_step", "swapgym/FleetV2V-v0")
