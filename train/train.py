"""Train one SB3 agent on one swapgym environment (``swapgym train``).

    swapgym train --env EmergencyPush                       # the env's YAML defaults
    swapgym train --env FleetV2V --algo ppo --timesteps 50000 --seed 3 --out runs/fleet_ppo_s3
    swapgym train --env FleetV2V --out runs/fleet_ppo_s3 --resume   # after a kill

Read top to bottom: configuration → seeding → run folder → envs and model → callbacks
→ learn → results. The run folder holds::

    config.yaml        the resolved configuration (YAML defaults + command line)
    run.json           seed, package versions, command, status, timesteps done
    model.zip          the final model (+ model.vecnormalize.pkl when normalising)
    evaluations.csv    periodic evaluation: return vs the reference heuristic (and oracle)
    checkpoints/       the latest checkpoints; --resume continues from the newest
    tb/                TensorBoard logs (tensorboard --logdir runs/)
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

import swapgym
from swapgym.agents.algos import build_model, check_algo, default_algo
from swapgym.agents.envs import make_vec_env
from swapgym.agents.policy import RUN_FILE, normalizer_path, read_run
from swapgym.benchmarks import io
from swapgym.envs.registration import entry
from swapgym.train.config import RunConfig, fit_to_budget, read_checkpoint, resolve

TRAIN_SEED_BASE = 100_000  # training envs use seeds ≥ this; evaluation uses the small ones


@dataclass
class TrainArgs:
    """Arguments of ``swapgym train``; ``None`` means: take it from the env's YAML."""

    env: str  # env name or id, e.g. "EmergencyPush" or "swapgym/EmergencyPush-v0"
    algo: str | None = None  # ppo, a2c, dqn, sac, td3, maskable_ppo (default: per env YAML)
    config: str | None = None  # YAML file (default: train/configs/<problem>.yaml)
    timesteps: int | None = None  # total env steps over all copies
    seed: int | None = None  # seeds torch, the algorithm and the training envs
    n_envs: int | None = None  # env copies stepped together
    out: str | None = None  # run folder (default: runs/<Name>_<algo>_s<seed>)
    resume: bool = False  # continue the run in --out from its last checkpoint
    vec_env: str | None = None  # dummy (one process) or subproc (one process per copy)
    eval_freq: int | None = None  # env steps between evaluations
    eval_seeds: list[int] | None = None  # seeds of the periodic evaluation
    checkpoint_freq: int | None = None  # env steps between checkpoints
    progress: bool = True  # tqdm progress bar
    verbose: int = 0  # SB3 verbosity


def train(args: TrainArgs) -> Path:
    """Train, evaluate and checkpoint; returns the run folder."""
    # -- 1. configuration: the env's YAML, the command line, or the run being resumed ----
    env_id = entry(args.env).env_id
    probe = gym.make(env_id)
    overrides = {"timesteps": args.timesteps, "seed": args.seed, "n_envs": args.n_envs,
                 "vec_env": args.vec_env, "eval_freq": args.eval_freq,
                 "eval_seeds": args.eval_seeds, "checkpoint_freq": args.checkpoint_freq}
    cfg = resolve(env_id, args.algo, args.config, overrides=overrides,
                  default_algo=default_algo(probe))
    run_dir = Path(args.out or f"runs/{entry(env_id).name}_{cfg.algo}_s{cfg.seed}")
    checkpoint = read_checkpoint(run_dir / "checkpoints")  # None for a new run
    if args.resume:
        if checkpoint is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {run_dir / 'checkpoints'} to resume from")
        saved = RunConfig.from_yaml((run_dir / "config.yaml").read_text())
        if saved.env_id != env_id:
            raise ValueError(f"--resume: {run_dir} trains {saved.env_id}, not {env_id}")
        saved.timesteps = args.timesteps or saved.timesteps  # a resumed run may be extended
        cfg = saved
    elif checkpoint is not None:
        raise ValueError(f"--out: {run_dir} already holds a run; pass --resume to continue it "
                         "or choose another --out")
    else:
        for note in fit_to_budget(cfg):
            print(f"swapgym train: {note}", file=sys.stderr)
    if cfg.env_kwargs:
        probe = gym.make(env_id, **cfg.env_kwargs)
    spec = check_algo(cfg.algo, probe)
    done = checkpoint["timesteps"] if args.resume else 0
    if done >= cfg.timesteps and read_run(run_dir).get("status") == "finished":
        print(f"{run_dir}: already trained for {done} timesteps", file=sys.stderr)
        return run_dir

    # the arguments are valid: now pay for torch and SB3
    import torch
    from stable_baselines3.common.utils import set_random_seed
    from stable_baselines3.common.vec_env import VecNormalize

    from swapgym import baselines
    from swapgym.train.callbacks import (
        Checkpoint,
        EvaluateAgainstReference,
        ProgressBar,
        save_checkpoint,
    )

    # -- 2. seeding, in one place -------------------------------------------------------
    torch.set_num_threads(cfg.torch_threads)
    set_random_seed(cfg.seed + done)  # python, numpy and torch generators
    env_seed = TRAIN_SEED_BASE + 1000 * cfg.seed + done  # a resumed run does not replay episodes

    # -- 3. the run folder: configuration, seed and versions ---------------------------
    run_dir.mkdir(parents=True, exist_ok=True)
    io.write_text(run_dir / "config.yaml", cfg.to_yaml())
    run = read_run(run_dir) if args.resume else {}
    run.update(env_id=env_id, algo=cfg.algo, seed=cfg.seed, timesteps=cfg.timesteps,
               env_kwargs=cfg.env_kwargs, status="running", versions=_versions(),
               command=" ".join(sys.argv))
    run.setdefault("started", _now())
    if args.resume:
        run.setdefault("resumed_from", []).append(done)
    io.write_json(run_dir / RUN_FILE, run)

    # -- 4. vectorised envs and the model (fresh, or from the last checkpoint) ----------
    venv = make_vec_env(env_id, cfg.n_envs, env_seed, cfg.env_kwargs, cfg.vec_env, cfg.normalize,
                        cfg.reward_shaping)
    if args.resume:
        ckpt = run_dir / "checkpoints"
        if "normalizer" in checkpoint:
            venv = VecNormalize.load(str(ckpt / checkpoint["normalizer"]), venv.venv
                                     if isinstance(venv, VecNormalize) else venv)
        model = spec.load_class().load(str(ckpt / checkpoint["model"]), env=venv, device="cpu",
                                       tensorboard_log=str(run_dir / "tb"))
        if "replay_buffer" in checkpoint:
            model.load_replay_buffer(str(ckpt / checkpoint["replay_buffer"]))
    else:
        model = build_model(cfg.algo, venv, cfg.hyperparams, seed=cfg.seed,
                            tensorboard_log=str(run_dir / "tb"), verbose=args.verbose)

    # -- 5. callbacks: progress, evaluation against the reference, checkpoints ----------
    reference = baselines.reference(env_id)
    oracle = (baselines.oracles(env_id) or [None])[0] if cfg.eval_oracle else None
    evaluation = EvaluateAgainstReference(env_id, cfg.env_kwargs, cfg.eval_seeds, cfg.eval_freq,
                                          cfg.algo, run_dir, reference, oracle)
    evaluation.truncate(done)
    callbacks = [ProgressBar(cfg.timesteps, args.progress), evaluation,
                 Checkpoint(run_dir / "checkpoints", cfg.checkpoint_freq, spec.off_policy)]

    # -- 6. learn -----------------------------------------------------------------------
    start = time.perf_counter()
    model.learn(total_timesteps=cfg.timesteps - done, callback=callbacks,
                reset_num_timesteps=not args.resume, tb_log_name=cfg.algo)
    train_time_s = time.perf_counter() - start

    # -- 7. results: final evaluation, model, checkpoint, status ------------------------
    final = evaluation.evaluate()
    _save_atomically(model, run_dir / "model.zip")
    save_checkpoint(model, run_dir / "checkpoints", spec.off_policy)
    venv.close()
    run.update(status="finished", finished=_now(), timesteps_done=int(model.num_timesteps),
               train_time_s=run.get("train_time_s", 0.0) + train_time_s,
               final_evaluation={k: _plain(v) for k, v in final.items()})
    io.write_json(run_dir / RUN_FILE, run)
    print(_summary(run_dir, final), file=sys.stderr)
    return run_dir


def _save_atomically(model: Any, path: Path) -> None:
    """``model.zip`` (+ its VecNormalize statistics) via temporary files and renames, so a
    kill while saving never leaves a half-written model behind."""
    import os

    tmp = path.with_name(f".{path.stem}.tmp.zip")
    model.save(tmp)
    normalizer = model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.save(str(normalizer_path(tmp)))
        os.replace(normalizer_path(tmp), normalizer_path(path))
    os.replace(tmp, path)


def _summary(run_dir: Path, row: dict[str, Any]) -> str:
    text = (f"{run_dir}: {row['timesteps']} timesteps, eval return "
            f"{row['return_mean']:.3f} ± {row['return_ci95']:.3f}")
    if "reference_return_mean" in row:
        text += f" (reference {row['reference_return_mean']:.3f})"
    if "score_mean" in row:
        text += f", score {row['score_mean']:.3f} ± {row['score_ci95']:.3f}"
    return text


def _versions() -> dict[str, str]:
    import sb3_contrib
    import stable_baselines3
    import torch

    return {"swapgym": swapgym.__version__, "stable_baselines3": stable_baselines3.__version__,
            "sb3_contrib": sb3_contrib.__version__, "torch": torch.__version__,
            "gymnasium": gym.__version__, "python": platform.python_version()}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def args_from_dict(data: dict[str, Any]) -> TrainArgs:
    names = {f.name for f in dataclasses.fields(TrainArgs)}
    return TrainArgs(**{k: v for k, v in data.items() if k in names})
