"""``swapgym train``, ``swapgym evaluate`` and ``swapgym sweep`` (hooked into
``swapgym.benchmarks.cli`` through ``add_commands``).

    swapgym train --env <Name> [--algo ALGO] [--config FILE] [--timesteps N] [--seed S]
                  [--n-envs K] [--out DIR] [--resume]
    swapgym evaluate --agent runs/.../model.zip [--env <Name>] [--seeds 0-9] [--out DIR]
    swapgym sweep [--env NAME ...] [--algo ALGO ...] [--seeds 0-2] [--timesteps N]
                  [--executor local|ray] [--address ADDR] [--out DIR]

Errors in the arguments (unknown env, an algorithm that cannot act in the env,
a missing checkpoint or model) exit with code 2 and a message naming the problem.
"""

from __future__ import annotations

import argparse

from swapgym.benchmarks.cli import parse_seeds


def cmd_train(args: argparse.Namespace) -> int:
    from swapgym.train.train import TrainArgs, train

    train(TrainArgs(env=args.env, algo=args.algo, config=args.config, timesteps=args.timesteps,
                    seed=args.seed, n_envs=args.n_envs, out=args.out, resume=args.resume,
                    vec_env=args.vec_env, eval_freq=args.eval_freq, eval_seeds=args.eval_seeds,
                    checkpoint_freq=args.checkpoint_freq, progress=not args.no_progress,
                    verbose=args.verbose))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from swapgym.train.evaluate import evaluate_agent

    md, _ = evaluate_agent(args.agent, args.env, args.seeds, args.policies, args.out, args.name,
                           progress=not args.no_progress)
    print(md)
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from swapgym.train.sweep import SweepArgs, sweep

    md, _ = sweep(SweepArgs(envs=args.env, algos=args.algo, seeds=args.seeds,
                            timesteps=args.timesteps, n_envs=args.n_envs,
                            eval_seeds=args.eval_seeds, out=args.out,
                            executor=args.executor, address=args.address, jobs=args.jobs,
                            cpus_per_trial=args.cpus_per_trial, progress=not args.no_progress))
    print(md)
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seed(text: str) -> int:
    seeds = parse_seeds(text)
    if len(seeds) != 1:
        raise argparse.ArgumentTypeError(f"--seed: expected one seed, got {text!r}")
    return seeds[0]


def add_commands(sub: argparse._SubParsersAction) -> None:
    t = sub.add_parser("train", help="train an SB3 agent on one env (checkpoints, --resume)")
    t.add_argument("--env", required=True, help="env name or id, e.g. EmergencyPush")
    t.add_argument("--algo", help="ppo, a2c, dqn, sac, td3, maskable_ppo (default: the env's YAML)")
    t.add_argument("--config", help="YAML config (default: train/configs/<problem>.yaml)")
    t.add_argument("--timesteps", type=_positive, help="total env steps (default: the YAML's)")
    t.add_argument("--seed", type=_seed, help="training seed (default 0)")
    t.add_argument("--n-envs", type=_positive, help="env copies stepped together")
    t.add_argument("--vec-env", choices=["dummy", "subproc"], help="one process or one per copy")
    t.add_argument("--out", help="run folder (default: runs/<Name>_<algo>_s<seed>)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--eval-freq", type=_positive, help="env steps between evaluations")
    t.add_argument("--eval-seeds", type=parse_seeds, help="seeds of the periodic evaluation, e.g. 1000-1004")
    t.add_argument("--checkpoint-freq", type=_positive, help="env steps between checkpoints")
    t.add_argument("--verbose", type=int, default=0, help="SB3 verbosity (0, 1, 2)")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="a trained agent next to every baseline and the oracle")
    e.add_argument("--agent", required=True, help="model.zip of a run (or the run folder)")
    e.add_argument("--env", help="env name or id (default: the one the agent was trained on)")
    e.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-9"))
    e.add_argument("--baselines", dest="policies", nargs="+",
                   help="baseline names (default: every baseline of the env, oracle included)")
    e.add_argument("--out", help="report folder (default: <run>/eval_<Name>)")
    e.add_argument("--name", help="the agent's name in the tables (default: agent_<algo>)")
    e.add_argument("--no-progress", action="store_true")
    e.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("sweep", help="train over a grid of envs × algorithms × seeds (local or Ray Tune)")
    s.add_argument("--env", nargs="+", help="env names or ids (default: all)")
    s.add_argument("--algo", nargs="+", help="algorithms (default: each env's YAML default)")
    s.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-2"))
    s.add_argument("--timesteps", type=_positive, help="per run (default: each env's YAML)")
    s.add_argument("--n-envs", type=_positive, help="env copies per run (default: the YAML's)")
    s.add_argument("--eval-seeds", type=parse_seeds, help="seeds of each run's evaluation")
    s.add_argument("--out", default="sweeps/sweep", help="sweep folder (resumes if it exists)")
    s.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local processes (default) or Ray Tune (needs the ray extra)")
    s.add_argument("--address", help="Ray cluster address (executor ray; default: a local instance)")
    s.add_argument("--jobs", type=_positive, help="runs at once (default: CPU count)")
    s.add_argument("--cpus-per-trial", type=float, default=1.0, help="Ray CPUs per run")
    s.add_argument("--no-progress", action="store_true")
    s.set_defaults(func=cmd_sweep)
