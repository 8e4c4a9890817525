"""The Policy protocol shared by heuristics, optimizers and trained agents, and the
baseline registry.

A policy has stable-baselines3's ``predict`` signature, so SB3's ``evaluate_policy`` and
our runner score every kind of policy alike. A policy that needs more than the
observation implements ``reset(env)`` and reads ``env.unwrapped.instance`` /
``env.unwrapped.state`` there and in ``predict`` — never private attributes.
A policy that uses information the agent cannot observe (future arrivals, who will
consent) sets ``oracle = True``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np


@runtime_checkable
class Policy(Protocol):
    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]: ...


class BasePolicy:
    """Convenience base: keeps the env from ``reset(env)`` and exposes the two views."""

    name: str = "policy"
    oracle: bool = False
    obs_ndim: int = 1  # dimensions of one (array) observation; more means a batch

    def __init__(self) -> None:
        self.env: gym.Env | None = None

    def reset(self, env: gym.Env) -> None:
        self.env = env.unwrapped

    @property
    def instance(self) -> Any:
        if self.env is None:
            raise RuntimeError(f"{self.name}: call reset(env) before predict()")
        return self.env.instance

    @property
    def state(self) -> Any:
        if self.env is None:
            raise RuntimeError(f"{self.name}: call reset(env) before predict()")
        return self.env.state

    def act(self, observation: Any) -> Any:
        raise NotImplementedError

    def predict(self, observation, state=None, episode_start=None, deterministic=True):
        """SB3's signature. A batch of array observations (from a VecEnv, e.g. SB3's
        ``evaluate_policy``) gives a batch of actions."""
        if isinstance(observation, np.ndarray) and observation.ndim > self.obs_ndim:
            return np.stack([np.asarray(self.act(o)) for o in observation]), state
        return self.act(observation), state


class RandomPolicy(BasePolicy):
    """Uniform over valid actions (honours ``action_masks()``).

    Its generator is seeded from the env's reset seed, not drawn from the env's own
    generator, so it never perturbs the environment's random stream.
    """

    name = "random"

    def __init__(self, seed_offset: int = 7919) -> None:
        super().__init__()
        self.seed_offset = seed_offset
        self.rng = np.random.default_rng(seed_offset)

    def reset(self, env: gym.Env) -> None:
        super().reset(env)
        seed = getattr(env.unwrapped, "np_random_seed", None)
        if isinstance(seed, int) and seed >= 0:
            self.rng = np.random.default_rng(seed + self.seed_offset)

    def act(self, observation):
        from swapgym.envs.core.spaces import random_valid_action

        return random_valid_action(self.env, self.rng)


@dataclass(frozen=True)
class BaselineSpec:
    env_id: str
    name: str
    factory: Callable[..., Policy]
    oracle: bool = False
    reference: bool = False
    description: str = ""


_REGISTRY: dict[tuple[str, str], BaselineSpec] = {}


def register(env_id: str, name: str, factory: Callable[..., Policy], *, oracle: bool = False,
             reference: bool = False, description: str = "") -> None:
    """Register a baseline. ``reference`` marks the paper heuristic that scores 0 in the
    normalised score; ``oracle`` marks the bound that scores 1. ``factory(**kwargs)``
    builds the policy; the runner calls ``policy.reset(env)`` at every episode start."""
    key = (env_id, name)
    if key in _REGISTRY:
        raise ValueError(f"baseline {name!r} already registered for {env_id}")
    _REGISTRY[key] = BaselineSpec(env_id, name, factory, oracle, reference, description)


def specs(env_id: str) -> list[BaselineSpec]:
    return [s for (e, _), s in _REGISTRY.items() if e == env_id]
