"""Random *valid* actions for any of our action spaces, honouring ``action_masks()``.

``action_masks()`` follows sb3-contrib's MaskablePPO convention: one flat boolean vector,
the concatenation of per-dimension masks for ``MultiDiscrete`` (length ``sum(nvec)``),
``n`` entries for ``Discrete`` and ``2 * n`` (off/on pairs) for ``MultiBinary``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def get_action_masks(env: gym.Env) -> np.ndarray | None:
    """The env's mask through any wrapper stack, or None if it has no masks."""
    base = env.unwrapped
    fn = getattr(base, "action_masks", None)
    return None if fn is None else np.asarray(fn(), dtype=bool)


def sample_valid_action(space: gym.Space, mask: np.ndarray | None, rng: np.random.Generator) -> Any:
    """One uniformly random action among those ``mask`` allows (``mask=None``: any)."""
    if isinstance(space, gym.spaces.Discrete):
        choices = np.arange(space.n) if mask is None else np.flatnonzero(mask)
        if len(choices) == 0:
            raise ValueError("action_masks: every Discrete action is masked out")
        return np.int64(space.start + choices[rng.integers(len(choices))])
    if isinstance(space, gym.spaces.MultiDiscrete):
        plan = _multidiscrete_plan(space)
        nvec = plan.nvec
        if mask is None:
            out = (rng.random(len(nvec)) * nvec).astype(space.dtype)
        else:  # pick, per dimension, the j-th allowed value with j uniform: one numpy pass
            allowed = plan.padded(mask)
            counts = allowed.sum(axis=1)
            if not counts.all():
                raise ValueError(f"action_masks: dimension {int(np.argmin(counts))} of MultiDiscrete "
                                 "is fully masked")
            pick = (rng.random(len(nvec)) * counts).astype(np.int64)
            out = (np.cumsum(allowed, axis=1) <= pick[:, None]).sum(axis=1).astype(space.dtype)
        return out.reshape(plan.shape) + space.start
    if isinstance(space, gym.spaces.MultiBinary):
        n = int(np.prod(space.shape))
        bits = rng.integers(0, 2, size=n).astype(space.dtype)
        if mask is not None:
            pairs = mask.reshape(n, 2)
            bits = np.where(pairs[:, 1] & ~pairs[:, 0], 1, bits)
            bits = np.where(pairs[:, 0] & ~pairs[:, 1], 0, bits)
        return bits.reshape(space.shape)
    if isinstance(space, gym.spaces.Box):
        low = np.where(np.isfinite(space.low), space.low, -1.0)
        high = np.where(np.isfinite(space.high), space.high, 1.0)
        return rng.uniform(low, high).astype(space.dtype)
    if isinstance(space, gym.spaces.Dict):
        if mask is not None:
            raise ValueError("action_masks: Dict action spaces take masks per key; sample keys yourself")
        return {k: sample_valid_action(s, None, rng) for k, s in space.spaces.items()}
    raise TypeError(f"unsupported action space {space!r}")


class _Plan:
    """What sampling a ``MultiDiscrete`` needs besides the mask, computed once per ``nvec``."""

    def __init__(self, nvec: np.ndarray) -> None:
        self.nvec = nvec.ravel().copy()
        self.shape = nvec.shape
        sizes = self.nvec.tolist()
        self.width = max(sizes)
        self.uniform = len(set(sizes)) == 1
        if not self.uniform:
            self.rows = np.repeat(np.arange(len(sizes)), sizes)
            self.cols = np.concatenate([np.arange(n) for n in sizes])

    def padded(self, mask: np.ndarray) -> np.ndarray:
        """The flat mask as a (dims, max n) boolean matrix, padded with False."""
        if self.uniform:
            return mask.reshape(len(self.nvec), self.width)
        out = np.zeros((len(self.nvec), self.width), dtype=bool)
        out[self.rows, self.cols] = mask
        return out


_PLANS: dict[tuple[tuple[int, ...], bytes], _Plan] = {}


def _multidiscrete_plan(space: gym.spaces.MultiDiscrete) -> _Plan:
    key = (space.nvec.shape, space.nvec.tobytes())
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _Plan(space.nvec)
    return plan


def random_valid_action(env: gym.Env, rng: np.random.Generator) -> Any:
    return sample_valid_action(env.action_space, get_action_masks(env), rng)
