"""Training-only reward shaping that keeps the objective: each wrapper moves reward
between the hours of an episode without changing any episode's (undiscounted) return.

Only the training envs are wrapped (``reward_shaping`` in a run's YAML); evaluation
scores the raw env through the benchmark runner, so a shaped agent is compared with the
baselines on the env's own reward.

``stock_value_per_step`` (SwapStation)
    The env credits the value of the stored energy gained over the episode on the last
    hour only (``stock_value_per_kwh`` × ΔkWh). This wrapper pays that credit hour by
    hour instead: every step adds ``value × (stored kWh after − before)`` and the last
    step drops the env's terminal credit. The sum telescopes to exactly the env's terminal
    term, so every episode's return is unchanged, but charging a pack is credited in the
    hour it happens rather than up to 24 hours later (a potential-based shaping with
    Φ = value of the stored energy).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class StockValuePerStep(gym.Wrapper):
    """SwapStation: the terminal stock-value credit, paid hour by hour (same return)."""

    def _stored_value(self) -> float:
        from swapgym.envs.swap_station.dynamics import stored_energy_kwh

        env = self.env.unwrapped
        kwh = stored_energy_kwh(env.station, np.asarray(env.state.levels))
        return float(np.sum(kwh * env.instance.stock_value_per_kwh))

    def reset(self, **kwargs: Any):
        obs, info = self.env.reset(**kwargs)
        self._value = self._stored_value()
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        value = self._stored_value()
        reward = float(reward) + value - self._value
        self._value = value
        if terminated:
            reward -= float(info["reward_breakdown"]["stock_value_change"])
        return obs, reward, terminated, truncated, info


SHAPINGS: dict[str, tuple[str, type[gym.Wrapper]]] = {
    "stock_value_per_step": ("swapgym/SwapStation-v0", StockValuePerStep),
}


def shaping_wrapper(name: str | None, env_id: str) -> type[gym.Wrapper] | None:
    """The wrapper class of ``name`` (None for no shaping); a ValueError naming the
    problem for an unknown name or one made for another env."""
    if not name:
        return None
    if name not in SHAPINGS:
        raise ValueError(f"reward_shaping: unknown {name!r}; known: {', '.join(SHAPINGS)}")
    for_env, wrapper = SHAPINGS[name]
    if for_env != env_id:
        raise ValueError(f"reward_shaping: {name} is for {for_env}, not {env_id}")
    return wrapper
