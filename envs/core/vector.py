"""Argument checks shared by the native batched envs (``envs/<problem>/vector.py``)."""

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
