"""Vectorised training envs for SB3: Monitor per copy, optional VecNormalize.

Each copy ``i`` is seeded ``seed + i`` on its first reset and continues its own
generator afterwards (SB3's convention), so a run is a function of its seed.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from gymnasium import spaces


class EnvFactory:
    """Picklable ``() -> env`` for SubprocVecEnv workers: imports swapgym (registers the
    ids) in the worker, then ``gym.make(env_id, **env_kwargs)`` under a Monitor."""

    def __init__(self, env_id: str, env_kwargs: dict[str, Any] | None = None,
                 reward_shaping: str | None = None) -> None:
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.reward_shaping = reward_shaping  # a name in agents.shaping.SHAPINGS (training only)

    def __call__(self) -> gym.Env:
        from stable_baselines3.common.monitor import Monitor

        import swapgym  # noqa: F401  (registers the ids in a fresh worker)
        from swapgym.agents.shaping import shaping_wrapper

        env = gym.make(self.env_id, **self.env_kwargs)
        wrapper = shaping_wrapper(self.reward_shaping, self.env_id)
        return Monitor(wrapper(env) if wrapper else env)


def normalisable_keys(observation_space: gym.Space) -> list[str] | None:
    """Dict keys VecNormalize can normalise (float Boxes); None for a non-Dict space."""
    if not isinstance(observation_space, spaces.Dict):
        return None
    return [k for k, s in observation_space.spaces.items()
            if isinstance(s, spaces.Box) and s.dtype.kind == "f"]


def make_vec_env(env_id: str, n_envs: int, seed: int, env_kwargs: dict[str, Any] | None = None,
                 vec_env: str = "dummy", normalize: dict[str, Any] | None = None,
                 reward_shaping: str | None = None) -> Any:
    """``n_envs`` copies in one process (``dummy``) or one process each (``subproc``),
    wrapped in VecNormalize when ``normalize`` asks for it (``{"obs": bool, "reward": bool,
    "gamma": float}``); ``reward_shaping`` names a return-preserving training wrapper
    (``swapgym.agents.shaping``)."""
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    from swapgym.agents.shaping import shaping_wrapper

    if n_envs < 1:
        raise ValueError(f"--n-envs: must be at least 1, got {n_envs}")
    if vec_env not in ("dummy", "subproc"):
        raise ValueError(f"vec_env: 'dummy' or 'subproc', got {vec_env!r}")
    shaping_wrapper(reward_shaping, env_id)  # a clear error before any worker starts
    factories = [EnvFactory(env_id, env_kwargs, reward_shaping) for _ in range(n_envs)]
    venv = SubprocVecEnv(factories) if vec_env == "subproc" and n_envs > 1 else DummyVecEnv(factories)
    venv.seed(seed)
    normalize = normalize or {}
    if normalize.get("obs") or normalize.get("reward"):
        venv = VecNormalize(venv, norm_obs=bool(normalize.get("obs")),
                            norm_reward=bool(normalize.get("reward")),
                            gamma=float(normalize.get("gamma", 0.99)),
                            norm_obs_keys=normalisable_keys(venv.observation_space))
    return venv
