"""A trained agent next to every baseline and the oracle on the same seeds
(``swapgym evaluate``).

    swapgym evaluate --agent runs/EmergencyPush_maskable_ppo_s0/model.zip --env EmergencyPush

Every policy, the agent included, is scored by the benchmark runner on the same seeds
(common random numbers), and the report is the benchmark's: return, the env's metrics
and the normalised score (reference heuristic = 0, oracle = 1) with 95 % confidence
intervals over seeds; ``results.csv``, ``summary.csv``, ``summary.md``, PNG plots and
``report.html`` in the output folder.
"""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pandas as pd

from swapgym.agents.policy import load_policy, read_run
from swapgym.envs.registration import entry


def evaluate_agent(agent: str | Path, env: str | None = None, seeds: list[int] | None = None,
                   policies: list[str] | None = None, out: str | Path | None = None,
                   name: str | None = None, progress: bool = True) -> tuple[str, pd.DataFrame]:
    """Score the agent and the baselines; write the report to ``out``; returns
    (markdown table, one row per episode)."""
    from tqdm.auto import tqdm

    from swapgym import baselines
    from swapgym.benchmarks import report
    from swapgym.benchmarks.runner import evaluate

    agent = Path(agent)
    policy = load_policy(agent, name=name)
    run = read_run(agent if agent.is_dir() else agent.parent)
    if env is None and "env_id" not in run:
        raise ValueError("--env: needed (the agent has no run.json saying what it was trained on)")
    env_id = entry(env or run["env_id"]).env_id
    env_kwargs = run.get("env_kwargs", {}) if run.get("env_id") == env_id else {}
    probe = gym.make(env_id, **env_kwargs)
    if probe.observation_space != policy.observation_space or probe.action_space != policy.action_space:
        raise ValueError(f"--env: the agent was trained on {run.get('env_id', 'another env')} and "
                         f"its spaces do not match {env_id}")
    seeds = list(range(10)) if seeds is None else list(seeds)
    names = baselines.available(env_id) if policies is None else list(policies)
    for n in names:
        baselines.spec(n, env_id)  # a clear error for an unknown baseline name
    out = Path(out) if out else (agent if agent.is_dir() else agent.parent) / f"eval_{entry(env_id).name}"

    frames, trajectories = [], {}
    jobs = [(policy.name, policy), *((n, n) for n in names)]
    for label, pol in tqdm(jobs, desc="evaluate", unit="policy", disable=not progress):
        df = evaluate(pol, env_id, seeds, policy_name=label, record_trajectory=True, **env_kwargs)
        trajectories.update({(env_id, label, s): t
                             for (s, k), t in df.attrs["trajectories"].items() if k == 0})
        df.attrs = {}
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df.attrs["trajectories"] = trajectories
    md = report.write_report(df, out, title=f"{policy.name} vs the baselines on {env_id}")
    return md + f"\nwrote {out}/results.csv, summary.csv, summary.md, report.html and plots\n", df
