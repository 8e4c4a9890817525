"""Which SB3 / sb3-contrib algorithm fits which env, and how to build one.

One table (``ALGOS``) says what each algorithm can act in. ``check_algo`` turns a bad
choice into a ``ValueError`` that names the algorithm and the action space, and
``default_algo`` picks the sensible one: MaskablePPO wherever the env exposes
``action_masks()`` for a discrete action, SAC for continuous actions, PPO otherwise.
SB3 itself is imported only when a model is built, so listing algorithms is cheap.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from gymnasium import spaces

DISCRETE = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


@dataclass(frozen=True)
class AlgoSpec:
    """An algorithm: where its class lives and which action spaces it can act in."""

    name: str
    module: str
    class_name: str
    action_spaces: tuple[type[gym.Space], ...]
    needs_masks: bool = False  # needs the env's action_masks() (sb3-contrib format)
    off_policy: bool = False  # has a replay buffer (saved with every checkpoint)

    def load_class(self) -> type:
        try:
            return getattr(importlib.import_module(self.module), self.class_name)
        except ImportError as err:
            raise RuntimeError(f"algorithm {self.name!r} needs the sb3 extra: "
                               "pip install 'swapgym[sb3]'") from err


ALGOS: dict[str, AlgoSpec] = {
    "ppo": AlgoSpec("ppo", "stable_baselines3", "PPO", (spaces.Box, *DISCRETE)),
    "a2c": AlgoSpec("a2c", "stable_baselines3", "A2C", (spaces.Box, *DISCRETE)),
    "dqn": AlgoSpec("dqn", "stable_baselines3", "DQN", (spaces.Discrete,), off_policy=True),
    "sac": AlgoSpec("sac", "stable_baselines3", "SAC", (spaces.Box,), off_policy=True),
    "td3": AlgoSpec("td3", "stable_baselines3", "TD3", (spaces.Box,), off_policy=True),
    "maskable_ppo": AlgoSpec("maskable_ppo", "sb3_contrib", "MaskablePPO", DISCRETE,
                             needs_masks=True),
}


def has_action_masks(env: gym.Env) -> bool:
    return callable(getattr(env.unwrapped, "action_masks", None))


def check_algo(algo: str, env: gym.Env) -> AlgoSpec:
    """The spec of ``algo`` if it can act in ``env``; a ValueError naming the problem if not."""
    key = algo.lower().replace("-", "_")
    if key not in ALGOS:
        raise ValueError(f"--algo: unknown algorithm {algo!r}; known: {', '.join(ALGOS)}")
    spec = ALGOS[key]
    space = env.action_space
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    if not isinstance(space, spec.action_spaces):
        fits = [a for a, s in ALGOS.items() if isinstance(space, s.action_spaces)
                and (has_action_masks(env) or not s.needs_masks)]
        raise ValueError(f"--algo: {algo} cannot act in the action space of {env_id} "
                         f"({space}); algorithms that can: {', '.join(fits)}")
    if isinstance(space, spaces.MultiBinary) and not isinstance(space.n, int):
        raise ValueError(f"--algo: {algo} needs a 1-D MultiBinary action space, {env_id} has {space}")
    if spec.needs_masks and not has_action_masks(env):
        raise ValueError(f"--algo: {algo} needs action_masks() and {env_id} has none; use ppo")
    return spec


def default_algo(env: gym.Env) -> str:
    """MaskablePPO for masked discrete actions, SAC for continuous, PPO otherwise."""
    space = env.action_space
    if isinstance(space, DISCRETE) and has_action_masks(env):
        return "maskable_ppo"
    if isinstance(space, spaces.Box):
        return "sac"
    return "ppo"


def policy_name(observation_space: gym.Space) -> str:
    """SB3's policy for the observation: Dict observations keep their keys
    (``MultiInputPolicy`` flattens and concatenates them in its feature extractor)."""
    return "MultiInputPolicy" if isinstance(observation_space, spaces.Dict) else "MlpPolicy"


def algo_from_zip(path: str) -> str | None:
    """Best guess of the algorithm that saved ``path`` (an SB3 zip), from its policy class."""
    import json
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None
    module = str(data.get("policy_class", {}).get("__module__", ""))
    for key, algo in (("maskable", "maskable_ppo"), ("dqn", "dqn"), ("sac", "sac"),
                      ("td3", "td3"), ("stable_baselines3.common.policies", "ppo")):
        if key in module:
            return algo
    return None


_ACTIVATIONS = {"tanh": "Tanh", "relu": "ReLU", "elu": "ELU", "leaky_relu": "LeakyReLU"}


def hyperparameters(params: dict[str, Any]) -> dict[str, Any]:
    """YAML values → SB3 keyword arguments (activation names → torch classes,
    ``train_freq`` lists → tuples)."""
    import torch

    out = dict(params)
    kwargs = dict(out.get("policy_kwargs") or {})
    act = kwargs.get("activation_fn")
    if isinstance(act, str):
        if act not in _ACTIVATIONS:
            raise ValueError(f"policy_kwargs.activation_fn: one of {list(_ACTIVATIONS)}, got {act!r}")
        kwargs["activation_fn"] = getattr(torch.nn, _ACTIVATIONS[act])
    if kwargs:
        out["policy_kwargs"] = kwargs
    if isinstance(out.get("train_freq"), list):
        out["train_freq"] = tuple(out["train_freq"])
    return out


def build_model(algo: str, vec_env: Any, params: dict[str, Any], *, seed: int,
                tensorboard_log: str | None = None, verbose: int = 0) -> Any:
    """A fresh model of ``algo`` on ``vec_env`` with the config's hyperparameters."""
    spec = ALGOS[algo]
    cls = spec.load_class()
    try:
        return cls(policy_name(vec_env.observation_space), vec_env, seed=seed, device="cpu",
                   tensorboard_log=tensorboard_log, verbose=verbose, **hyperparameters(params))
    except TypeError as err:  # an unknown hyperparameter in the YAML
        raise ValueError(f"hyperparameters for {algo}: {err}") from err
