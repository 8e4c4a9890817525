"""Score any Policy on any registered env: one row per episode.

Every episode of seed ``s`` starts from ``env.reset(seed=s)`` (further episodes of the
same seed continue that generator), so all policies see the same instances and the
same random draws where the env draws independently of the actions (common random
numbers): differences between policies are paired by seed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

import swapgym  # noqa: F401  (registers ids)
from swapgym.baselines.protocol import Policy
from swapgym.envs.registration import entry


def episode_metrics(env: gym.Env, info: dict) -> dict[str, float]:
    """The env's episode metrics: ``info["episode_metrics"]`` at the end, else the method."""
    metrics = info.get("episode_metrics")
    if metrics is None and hasattr(env.unwrapped, "episode_metrics"):
        metrics = env.unwrapped.episode_metrics()
    return dict(metrics or {})


def run_episode(policy: Policy, env: gym.Env, seed: int | None,
                record: str | None = None) -> tuple[dict[str, Any], list[float]]:
    """One episode; returns (row without identity columns, trajectory of ``info[record]``)."""
    obs, info = env.reset(seed=seed)
    if hasattr(policy, "reset"):
        policy.reset(env)
    state, episode_start = None, np.ones((1,), dtype=bool)
    total, steps, trajectory = 0.0, 0, []
    start = time.perf_counter()
    while True:
        action, state = policy.predict(obs, state=state, episode_start=episode_start, deterministic=True)
        obs, reward, terminated, truncated, info = env.step(action)
        episode_start = np.zeros((1,), dtype=bool)
        total += float(reward)
        steps += 1
        if record is not None and record in info:
            trajectory.append(float(info[record]))
        if terminated or truncated:
            break
    row = {"episode_return": total, "episode_length": steps,
           "wall_time_s": time.perf_counter() - start}
    row.update(episode_metrics(env, info))
    return row, trajectory


def evaluate(policy: Policy | str, env_id: str, seeds: Iterable[int], episodes_per_seed: int = 1,
             *, policy_name: str | None = None, record_trajectory: bool = False,
             **config: Any) -> pd.DataFrame:
    """Score ``policy`` (a Policy, or a baseline name) on ``env_id``.

    Returns one row per episode: ``policy, env_id, seed, episode, episode_return,
    episode_length, wall_time_s`` and the env's episode metrics. With
    ``record_trajectory`` the env's key quantity per step is in ``df.attrs["trajectories"]``.
    """
    from swapgym import baselines

    e = entry(env_id)
    env = gym.make(e.env_id, **config)
    if isinstance(policy, str):
        name = policy_name or policy
        policy = baselines.make(policy, e.env_id)
    else:
        name = policy_name or getattr(policy, "name", type(policy).__name__)
    rows, trajectories = [], {}
    for seed in seeds:
        for k in range(episodes_per_seed):
            row, traj = run_episode(policy, env, seed if k == 0 else None,
                                    e.key_quantity if record_trajectory else None)
            rows.append({"policy": name, "env_id": e.env_id, "seed": int(seed), "episode": k, **row})
            if record_trajectory:
                trajectories[(int(seed), k)] = traj
    env.close()
    df = pd.DataFrame.from_records(rows)
    if record_trajectory:
        df.attrs["trajectories"] = trajectories
    return df
