"""A trained SB3 model as a swapgym Policy, so the runner scores it like any baseline.

    >>> from swapgym.agents import load_policy
    >>> policy = load_policy("runs/EmergencyPush_maskable_ppo_s0/model.zip")  # doctest: +SKIP
    >>> evaluate(policy, "swapgym/EmergencyPush-v0", seeds=range(5))         # doctest: +SKIP

The policy normalises observations with the training run's frozen VecNormalize
statistics and, for MaskablePPO, asks the env it was ``reset`` on for ``action_masks()``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from swapgym.agents.algos import ALGOS, algo_from_zip
from swapgym.baselines.protocol import BasePolicy
from swapgym.envs.core.spaces import get_action_masks

RUN_FILE = "run.json"  # written by ``swapgym train`` next to model.zip


def normalizer_path(model_path: str | Path) -> Path:
    """``<stem>.vecnormalize.pkl`` next to ``<stem>.zip`` (present when the run normalised)."""
    p = Path(model_path)
    return p.with_name(p.name.removesuffix(".zip") + ".vecnormalize.pkl")


class AgentPolicy(BasePolicy):
    """SB3's ``predict`` with the training observation normalisation and masks.

    ``reset(env)`` keeps the env so masked algorithms can read ``action_masks()``; a
    caller without an env (SB3's ``evaluate_policy`` on a VecEnv) passes ``action_masks``.
    """

    def __init__(self, model: Any, obs_normalizer: Any = None, name: str = "agent",
                 algo: str = "") -> None:
        super().__init__()
        self.model = model
        self.obs_normalizer = obs_normalizer  # a VecNormalize (statistics only) or None
        self.name = name
        self.algo = algo
        self.uses_masks = bool(algo and ALGOS[algo].needs_masks)

    @property
    def observation_space(self) -> gym.Space:
        return self.model.observation_space

    @property
    def action_space(self) -> gym.Space:
        return self.model.action_space

    def predict(self, observation, state=None, episode_start=None, deterministic=True,
                action_masks: np.ndarray | None = None):
        if self.obs_normalizer is not None and self.obs_normalizer.norm_obs:
            observation = self.obs_normalizer.normalize_obs(observation)
        if not self.uses_masks:
            return self.model.predict(observation, state=state, episode_start=episode_start,
                                      deterministic=deterministic)
        if action_masks is None and self.env is not None:
            action_masks = get_action_masks(self.env)
        return self.model.predict(observation, state=state, episode_start=episode_start,
                                  deterministic=deterministic, action_masks=action_masks)


def read_run(folder: str | Path) -> dict[str, Any]:
    """``run.json`` of a run folder ({} when the model was saved elsewhere)."""
    path = Path(folder) / RUN_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def load_policy(path: str | Path, *, algo: str | None = None, name: str | None = None) -> AgentPolicy:
    """Load ``model.zip`` (or a run folder holding one) as a Policy.

    The algorithm comes from ``algo``, else the run's ``run.json``, else the zip itself.
    Raises FileNotFoundError for a missing file and ValueError for one that is not a model.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "model.zip"
    if not path.exists():
        raise FileNotFoundError(f"--agent: no trained model at {path}")
    run = read_run(path.parent)
    algo = algo or run.get("algo") or algo_from_zip(str(path))
    if algo not in ALGOS:
        raise ValueError(f"--agent: cannot tell which algorithm saved {path} "
                         f"(got {algo!r}); pass one of {', '.join(ALGOS)}")
    try:
        model = ALGOS[algo].load_class().load(str(path), device="cpu")
    except (ValueError, KeyError, OSError) as err:
        raise ValueError(f"--agent: {path} is not a {algo} model: {err}") from err
    normalizer = None
    npath = normalizer_path(path)
    if npath.exists():
        with npath.open("rb") as fh:
            normalizer = pickle.load(fh)
        normalizer.training = False
    return AgentPolicy(model, normalizer, name=name or f"agent_{algo}", algo=algo)
