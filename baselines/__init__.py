"""swapgym.baselines — the papers' methods, exact optimizers (oracles) and random.

    >>> import swapgym.baselines as B
    >>> B.available("swapgym/EmergencyPush-v0")          # doctest: +SKIP
    ['control_1', 'control_2', 'dual_scheme', 'oracle', 'random', 'scheme_a', 'scheme_b']
    >>> policy = B.make("dual_scheme", env)              # doctest: +SKIP

Each problem's module registers its baselines when imported; solver and torch imports
stay inside the functions that need them, so listing baselines is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

from swapgym.baselines.protocol import (
    BaselineSpec,
    BasePolicy,
    Policy,
    RandomPolicy,
    register,
    specs,
)
from swapgym.envs.registration import ENTRIES, entry

# One module per problem; each calls ``register`` at import.
_MODULES = {
    "emergency-push": "swapgym.baselines.emergency_push",
    "swap-station": "swapgym.baselines.swap_station",
    "expressway": "swapgym.baselines.expressway",
    "fleet-v2v": "swapgym.baselines.fleet_v2v",
    "grid-resilience": "swapgym.baselines.grid_resilience",
}
_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for e in ENTRIES:
        register(e.env_id, "random", RandomPolicy, description="uniform over valid actions")
        if e.problem in _MODULES:
            importlib.import_module(_MODULES[e.problem])


def _env_id(env: str | gym.Env) -> str:
    if isinstance(env, str):
        return entry(env).env_id
    spec = env.unwrapped.spec if env.unwrapped.spec is not None else env.spec
    if spec is None:
        raise ValueError("env: has no spec; build it with gym.make('swapgym/<Name>-v0')")
    return spec.id


def available(env: str | gym.Env) -> list[str]:
    """Names of the baselines registered for an environment id (or env)."""
    _load()
    return sorted(s.name for s in specs(_env_id(env)))


def spec(name: str, env: str | gym.Env) -> BaselineSpec:
    _load()
    env_id = _env_id(env)
    for s in specs(env_id):
        if s.name == name:
            return s
    raise ValueError(f"unknown baseline {name!r} for {env_id}; available: {available(env_id)}")


def make(name: str, env: str | gym.Env, **kwargs: Any) -> Policy:
    """Build baseline ``name`` for ``env`` (an env or its id). If ``env`` is an env, the
    policy is also ``reset`` on it, ready to ``predict``."""
    policy = spec(name, env).factory(**kwargs)
    if not isinstance(env, str) and hasattr(policy, "reset"):
        policy.reset(env)
    return policy


def reference(env: str | gym.Env) -> str | None:
    """The paper heuristic that anchors the normalised score at 0."""
    _load()
    return next((s.name for s in specs(_env_id(env)) if s.reference), None)


def oracles(env: str | gym.Env) -> list[str]:
    _load()
    return [s.name for s in specs(_env_id(env)) if s.oracle]


__all__ = ["BasePolicy", "BaselineSpec", "Policy", "RandomPolicy", "available", "make",
           "oracles", "reference", "register", "spec"]
