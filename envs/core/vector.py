"""What the native batched envs (``envs/<problem>/vector.py``) share: their conventions and
their argument checks.

Conventions. ``action_masks()`` returns (N, sum(nvec)) booleans, row i being sub-env i's
mask. ``info`` follows gymnasium's vector convention: every key of the single env's info
holds an (N, ...) array (nested dicts such as ``reward_breakdown`` and ``episode_metrics``
hold dicts of arrays) and ``info["_key"]`` marks which sub-envs set it. Autoreset is
gymnasium's default ``NEXT_STEP``: the step after a sub-env terminates or truncates resets
it (its action is ignored, reward 0, the info holds the reset info).
``reset(options={"reset_mask": mask})`` resets only the masked sub-envs.
``max_episode_steps`` truncates like gymnasium's ``TimeLimit`` (``gym.make_vec`` passes the
registered 24). Arguments: ``num_envs``, ``config`` / any field of the problem's config
(shared by all sub-envs), ``max_episode_steps``, ``render_mode`` (only None),
``autoreset_mode`` (only ``NEXT_STEP``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode


def check_vector_args(name: str, num_envs: Any, max_episode_steps: Any, render_mode: Any,
                      autoreset_mode: Any) -> None:
    """ValueError naming the field for a constructor argument a native vector env can't take."""
    if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
        raise ValueError(f"num_envs: expected an integer >= 1, got {num_envs!r}")
    if max_episode_steps is not None and (isinstance(max_episode_steps, bool)
                                          or not isinstance(max_episode_steps, int | np.integer)
                                          or max_episode_steps < 1):
        raise ValueError(f"max_episode_steps: expected an integer >= 1 or None, got {max_episode_steps!r}")
    if render_mode is not None:
        raise ValueError(f"render_mode: the vectorised {name} does not render, got {render_mode!r}")
    if AutoresetMode(autoreset_mode) != AutoresetMode.NEXT_STEP:
        raise ValueError(f"autoreset_mode: only {AutoresetMode.NEXT_STEP.value!r} is supported, "
                         f"got {autoreset_mode!r}")


def reset_indices(num_envs: int, options: dict | None, started: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """(indices, mask) of the sub-envs a ``reset(options=...)`` resets: all (mask None), or
    ``options["reset_mask"]``'s."""
    options = dict(options or {})
    mask = options.pop("reset_mask", None)
    if options:
        raise ValueError(f"options: unknown keys {sorted(options)} (only 'reset_mask')")
    if mask is None:
        return np.arange(num_envs), None
    mask = np.asarray(mask)
    if mask.shape != (num_envs,) or mask.dtype != np.bool_ or not mask.any():
        raise ValueError(f"options['reset_mask']: expected a bool array of shape ({num_envs},) with a True, "
                         f"got {mask!r}")
    if not started and not mask.all():
        raise ValueError("options['reset_mask']: the first reset must reset every sub-env")
    return np.flatnonzero(mask), mask


def sub_env_seeds(seed: Any, num_envs: int) -> list[int | None]:
    """Per-sub-env seeds of ``reset(seed=...)``: None for all, ``seed + i`` for sub-env i
    (like ``gym.make_vec`` of single envs), or one entry per sub-env."""
    if seed is None:
        return [None] * num_envs
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(num_envs)]
    if isinstance(seed, list | tuple) and len(seed) == num_envs:
        return list(seed)
    raise ValueError(f"seed: expected None, an int or a list of {num_envs} seeds, got {seed!r}")
