"""Helpers for the training tests: the CLI in a subprocess, tiny budgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import swapgym

# One thread per process: the test machine has two shared cores.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# Runs several ``swapgym`` command lines in one fresh interpreter (exactly what the
# console script does, ``swapgym.benchmarks.cli:main``), stopping at the first failure:
# each import of torch + SB3 costs seconds on two shared cores.
_DRIVER = """
import sys, json
from swapgym.benchmarks.cli import main
for argv in json.loads(sys.argv[1]):
    code = main(argv)
    if code:
        sys.exit(code)
"""


def swapgym_cli(*commands: list[str], timeout: float = 180) -> subprocess.CompletedProcess:
    """``swapgym <command>`` for each command, in one subprocess."""
    import json

    return subprocess.run([sys.executable, "-c", _DRIVER, json.dumps([list(c) for c in commands])],
                          env=ENV, capture_output=True, text=True, timeout=timeout)


def require_env(env_id: str) -> None:
    """Skip only while an env id is not registered yet (it is being built)."""
    if env_id not in swapgym.ENV_IDS:
        pytest.skip(f"{env_id} is not registered yet")


def tiny_config(tmp_path: Path, env: str, algo: str, n_steps: int = 64) -> Path:
    """A YAML with small rollouts so a few hundred steps hold several checkpoints."""
    path = tmp_path / f"{env}_{algo}.yaml"
    path.write_text(f"env: {env}\nalgo: {algo}\nn_envs: 1\nnormalize: {{obs: true, reward: true}}\n"
                    f"eval: {{oracle: false}}\nhyperparams:\n  {algo}: {{n_steps: {n_steps}, "
                    f"batch_size: {n_steps}, n_epochs: 1, policy_kwargs: {{net_arch: [16]}}}}\n")
    return path
