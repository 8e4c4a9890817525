"""swapgym.agents — learned agents: the SB3 / sb3-contrib algorithm factory,
vectorised training envs with observation normalisation, and trained models as Policies.

    >>> from swapgym.agents import load_policy
    >>> policy = load_policy("runs/EmergencyPush_maskable_ppo_s0/model.zip")  # doctest: +SKIP

Nothing here imports stable-baselines3 until a model is built or loaded.
"""

from __future__ import annotations

from swapgym.agents.algos import ALGOS, AlgoSpec, build_model, check_algo, default_algo, policy_name
from swapgym.agents.envs import EnvFactory, make_vec_env
from swapgym.agents.policy import AgentPolicy, load_policy, normalizer_path, read_run

__all__ = ["ALGOS", "AgentPolicy", "AlgoSpec", "EnvFactory", "build_model", "check_algo",
           "default_algo", "load_policy", "make_vec_env", "normalizer_path", "policy_name",
           "read_run"]
