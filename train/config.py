"""Training configuration: per-env YAML defaults (``train/configs/<problem>.yaml``) merged
with command-line overrides into one ``RunConfig`` that is saved in the run folder.

A YAML file looks like::

    env: EmergencyPush
    algo: maskable_ppo          # default algorithm for this env
    timesteps: 200000           # default budget (≤ 20 min on 2 cores)
    n_envs: 2
    vec_env: dummy              # dummy (one process) or subproc
    normalize: {obs: true, reward: true, gamma: 0.99}
    env_kwargs: {}              # gym.make overrides, used for training AND evaluation
    reward_shaping: null        # optional, training envs only: a name in agents/shaping.py
    eval: {freq: 10000, seeds: "1000-1004", oracle: true}
    checkpoint_freq: 10000
    hyperparams:                # per algorithm, so --algo picks matching values
      maskable_ppo: {n_steps: 512, batch_size: 128, ...}
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from swapgym.envs.registration import entry

CONFIG_DIR = Path(__file__).parent / "configs"
LATEST = "latest.json"  # in a run's checkpoints/ folder: the newest complete checkpoint


def default_config_path(env: str) -> Path:
    return CONFIG_DIR / f"{entry(env).problem.replace('-', '_')}.yaml"


def parse_seed_list(value: Any, name: str) -> list[int]:
    """``"0-4"``, ``"0,3,7-9"``, an int or a list of ints → a list of seeds."""
    import argparse

    from swapgym.benchmarks.cli import parse_seeds

    if isinstance(value, int):
        return [value]
    if isinstance(value, list | tuple):
        return [int(v) for v in value]
    try:
        return parse_seeds(str(value))
    except argparse.ArgumentTypeError as err:
        raise ValueError(f"{name}: {err}") from None


@dataclass
class RunConfig:
    """Everything that defines a training run (saved as the run's ``config.yaml``)."""

    env_id: str
    algo: str
    seed: int = 0
    timesteps: int = 100_000
    n_envs: int = 1
    vec_env: str = "dummy"
    normalize: dict[str, Any] = field(default_factory=dict)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    reward_shaping: str | None = None  # training-only, return-preserving (agents/shaping.py)
    eval_freq: int = 10_000  # env steps (all copies) between evaluations
    eval_seeds: list[int] = field(default_factory=lambda: list(range(1000, 1005)))
    eval_oracle: bool = True  # also run the oracle on the eval seeds (score reference=0, oracle=1)
    checkpoint_freq: int = 10_000
    torch_threads: int = 1  # 1 thread: fastest for small nets and bit-reproducible
    hyperparams: dict[str, Any] = field(default_factory=dict)

    def to_yaml(self) -> str:
        return yaml.safe_dump(dataclasses.asdict(self), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> RunConfig:
        data = yaml.safe_load(text) or {}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"config.yaml: unknown fields {unknown}")
        return cls(**data)


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"--config: no such file {path}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"--config: {path} must hold a mapping")
    return data


def resolve(env: str, algo: str | None, config_path: str | Path | None, *,
            overrides: dict[str, Any], default_algo: str) -> RunConfig:
    """YAML defaults for ``env`` (or ``config_path``), then non-None ``overrides``."""
    env_id = entry(env).env_id
    path = Path(config_path) if config_path else default_config_path(env_id)
    data = read_yaml(path) if (config_path or path.exists()) else {}
    allowed = {"env", "algo", "timesteps", "n_envs", "vec_env", "normalize", "env_kwargs",
               "reward_shaping", "eval",
               "checkpoint_freq", "torch_threads", "hyperparams", "seed"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"--config: unknown keys {unknown} in {path}; allowed: {sorted(allowed)}")
    if data.get("env") and entry(data["env"]).env_id != env_id:
        raise ValueError(f"--config: {path} is for {data['env']}, not {env_id}")
    algo = (algo or data.get("algo") or default_algo).lower().replace("-", "_")
    ev = data.get("eval") or {}
    cfg = RunConfig(
        env_id=env_id,
        algo=algo,
        seed=int(data.get("seed", 0)),
        timesteps=int(data.get("timesteps", 100_000)),
        n_envs=int(data.get("n_envs", 1)),
        vec_env=str(data.get("vec_env", "dummy")),
        normalize=dict(data.get("normalize") or {}),
        env_kwargs=dict(data.get("env_kwargs") or {}),
        reward_shaping=data.get("reward_shaping") or None,
        eval_freq=int(ev.get("freq", 10_000)),
        eval_seeds=parse_seed_list(ev.get("seeds", "1000-1004"), "eval.seeds"),
        eval_oracle=bool(ev.get("oracle", True)),
        checkpoint_freq=int(data.get("checkpoint_freq", 10_000)),
        torch_threads=int(data.get("torch_threads", 1)),
        hyperparams=dict((data.get("hyperparams") or {}).get(algo) or {}),
    )
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    for key in ("timesteps", "n_envs", "eval_freq", "checkpoint_freq", "torch_threads"):
        if getattr(cfg, key) < 1:
            raise ValueError(f"--{key.replace('_', '-')}: must be at least 1, got {getattr(cfg, key)}")
    if cfg.seed < 0:
        raise ValueError(f"--seed: must be non-negative, got {cfg.seed}")
    return cfg


def fit_to_budget(cfg: RunConfig) -> list[str]:
    """Shrink rollout / warm-up sizes that exceed a small ``timesteps`` budget, so
    ``--timesteps 256`` trains about 256 steps (SB3 always completes a rollout of
    ``n_steps × n_envs``). Changes ``cfg.hyperparams`` in place; returns notes."""
    hp, notes = cfg.hyperparams, []
    per_copy = max(cfg.timesteps // cfg.n_envs, 1)
    if "n_steps" in hp or cfg.algo in ("ppo", "maskable_ppo"):
        n_steps = int(hp.get("n_steps", 2048))
        if n_steps > per_copy:
            hp["n_steps"] = max(per_copy, 2)
            notes.append(f"n_steps {n_steps} → {hp['n_steps']} (budget {cfg.timesteps} steps)")
        rollout = int(hp.get("n_steps", 2048)) * cfg.n_envs
        batch = int(hp.get("batch_size", 64))
        if cfg.algo in ("ppo", "maskable_ppo") and batch > rollout:
            hp["batch_size"] = rollout
            notes.append(f"batch_size {batch} → {rollout} (one rollout)")
    if "learning_starts" in hp and int(hp["learning_starts"]) > cfg.timesteps // 2:
        notes.append(f"learning_starts {hp['learning_starts']} → {cfg.timesteps // 2}")
        hp["learning_starts"] = cfg.timesteps // 2
    return notes


def read_checkpoint(folder: Path) -> dict[str, Any] | None:
    """``checkpoints/latest.json`` of a run (None when it has no checkpoint)."""
    path = Path(folder) / LATEST
    return json.loads(path.read_text()) if path.exists() else None
