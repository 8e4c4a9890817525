"""Per-env YAML configs: every one resolves, and every algorithm it tunes can act in its
env and accepts its hyperparameters."""

from __future__ import annotations

import gymnasium as gym
import pytest
import yaml

import swapgym
from swapgym.agents import build_model, check_algo, default_algo, make_vec_env
from swapgym.train.config import default_config_path, fit_to_budget, resolve
from tests.train.conftest import require_env


@pytest.mark.parametrize("env_id", swapgym.ENV_IDS)
def test_env_config__resolves_and_builds_every_tuned_algorithm(env_id):
    require_env(env_id)
    path = default_config_path(env_id)
    assert path.exists(), f"no training config for {env_id} at {path}"
    data = yaml.safe_load(path.read_text())
    env = gym.make(env_id)
    assert data["algo"] in data["hyperparams"]
    for algo in data["hyperparams"]:
        cfg = resolve(env_id, algo, None, overrides={}, default_algo=default_algo(env))
        check_algo(cfg.algo, env)
        assert cfg.timesteps >= 1000 and cfg.eval_seeds and min(cfg.eval_seeds) >= 1000
        venv = make_vec_env(env_id, 1, 0, cfg.env_kwargs, "dummy", cfg.normalize)
        model = build_model(cfg.algo, venv, cfg.hyperparams, seed=0)
        assert model.observation_space == venv.observation_space
        venv.close()


def test_overrides__win_over_the_yaml_and_small_budgets_shrink_rollouts():
    cfg = resolve("FleetV2V", None, None, overrides={"timesteps": 256, "n_envs": 2, "seed": 7},
                  default_algo="ppo")
    assert (cfg.algo, cfg.timesteps, cfg.n_envs, cfg.seed) == ("maskable_ppo", 256, 2, 7)
    notes = fit_to_budget(cfg)
    assert cfg.hyperparams["n_steps"] == 128 and cfg.hyperparams["batch_size"] == 256
    assert notes


def test_bad_config__names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: FleetV2V\nlearning_rate: 1\n")
    with pytest.raises(ValueError, match=r"unknown keys \['learning_rate'\]"):
        resolve("FleetV2V", None, bad, overrides={}, default_algo="ppo")
    with pytest.raises(ValueError, match="is for FleetV2V, not swapgym/EmergencyPush-v0"):
        resolve("EmergencyPush", None, _fleet(tmp_path),
                overrides={}, default_algo="ppo")


def _fleet(tmp_path):
    p = tmp_path / "fleet.yaml"
    p.write_text("env: FleetV2V\n")
    return p
