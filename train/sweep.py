"""Train over a grid of envs × algorithms × seeds (``swapgym sweep``), locally or on Ray Tune.

    swapgym sweep --env EmergencyPush FleetV2V --algo maskable_ppo ppo --seeds 0-2
    swapgym sweep --executor ray [--address ray://head:10001] ...   # needs swapgym[ray]

Every grid point is one ordinary training run (``swapgym train``) in
``<out>/runs/<Name>_<algo>_s<seed>``; its result is the final evaluation in the run's
``run.json``. A run depends only on its configuration and seed (one torch thread per
run), so the local process pool and Ray give the same numbers. A rerun skips finished
runs and resumes killed ones from their checkpoints. Results: ``<out>/sweep.csv`` (one
row per run) and ``<out>/sweep.md`` (mean ± 95 % CI over seeds per env × algorithm).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import pandas as pd

from swapgym.envs.registration import ENTRIES, entry


@dataclass
class SweepArgs:
    envs: list[str] | None = None  # env names or ids (None: every registered env)
    algos: list[str] | None = None  # algorithms (None: each env's default)
    seeds: list[int] | None = None  # training seeds (None: 0, 1, 2)
    timesteps: int | None = None  # per run (None: each env's YAML budget)
    n_envs: int | None = None  # env copies per run (None: the YAML's)
    eval_seeds: list[int] | None = None  # seeds of each run's evaluation (None: the YAML's)
    out: str = "sweeps/sweep"
    executor: str = "local"  # local or ray
    address: str | None = None  # Ray cluster address (None: start a local instance)
    jobs: int | None = None  # runs at once (None: CPU count)
    cpus_per_trial: float = 1.0
    progress: bool = True


def plan(args: SweepArgs) -> list[dict[str, Any]]:
    """One dict per run; an algorithm that cannot act in an env is an error, not a skip."""
    from swapgym.agents.algos import check_algo, default_algo
    from swapgym.train.config import default_config_path, read_yaml

    out = Path(args.out).resolve()
    trials = []
    for env in args.envs or [e.name for e in ENTRIES]:
        e = entry(env)
        probe = gym.make(e.env_id)
        yaml_path = default_config_path(e.env_id)
        yaml_algo = read_yaml(yaml_path).get("algo") if yaml_path.exists() else None
        for algo in args.algos or [yaml_algo or default_algo(probe)]:
            algo = check_algo(algo, probe).name
            for seed in args.seeds if args.seeds is not None else [0, 1, 2]:
                trials.append({"env": e.name, "algo": algo, "seed": int(seed),
                               "timesteps": args.timesteps, "n_envs": args.n_envs,
                               "eval_seeds": args.eval_seeds,
                               "out": str(out / "runs" / f"{e.name}_{algo}_s{seed}")})
    return trials


def run_trial(trial: dict[str, Any]) -> dict[str, Any]:
    """Train (or resume, or skip when finished) one grid point; returns its result row."""
    from swapgym.agents.policy import read_run
    from swapgym.train.config import read_checkpoint
    from swapgym.train.train import TrainArgs, train

    run_dir = Path(trial["out"])
    resume = read_checkpoint(run_dir / "checkpoints") is not None
    train(TrainArgs(env=trial["env"], algo=trial["algo"], seed=trial["seed"],
                    timesteps=trial["timesteps"], n_envs=trial["n_envs"],
                    eval_seeds=trial["eval_seeds"], out=str(run_dir),
                    resume=resume, progress=False))
    run = read_run(run_dir)
    return {"env_id": run["env_id"], "algo": run["algo"], "seed": run["seed"],
            "timesteps": run["timesteps_done"], "train_time_s": run["train_time_s"],
            **{k: v for k, v in run["final_evaluation"].items() if k != "timesteps"},
            "run_dir": str(run_dir)}


def _tune_trainable(config: dict[str, Any]) -> None:
    from ray import tune

    tune.report(run_trial(config["trial"]))


def _run_local(trials: list[dict], args: SweepArgs, done: Callable) -> None:
    jobs = min(args.jobs or os.cpu_count() or 1, len(trials))
    if jobs <= 1:
        for t in trials:
            done(t, run_trial(t))
        return
    # spawn: forking a process that has torch loaded is not safe
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(run_trial, t): t for t in trials}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())


def _run_ray(trials: list[dict], args: SweepArgs, done: Callable) -> None:
    try:
        import ray
        from ray import tune
    except ImportError as err:
        raise RuntimeError("--executor ray needs the ray extra: pip install 'swapgym[ray]'") from err
    started = not ray.is_initialized()
    if started:
        ray.init(address=args.address, num_cpus=None if args.address else (args.jobs or os.cpu_count()),
                 include_dashboard=False, log_to_driver=False)
    try:
        tuner = tune.Tuner(
            tune.with_resources(_tune_trainable, {"cpu": args.cpus_per_trial}),
            param_space={"trial": tune.grid_search(trials)},
            tune_config=tune.TuneConfig(max_concurrent_trials=args.jobs),
            run_config=tune.RunConfig(name="tune", storage_path=str(Path(args.out).resolve() / "ray"),
                                      verbose=0),
        )
        grid = tuner.fit()
        if grid.errors:
            raise RuntimeError(f"sweep: {len(grid.errors)} Ray trial(s) failed; first: {grid.errors[0]}")
        for result in grid:
            done(result.config["trial"], {k: result.metrics[k] for k in result.metrics
                                          if k in _ROW_KEYS or k.endswith(("_mean", "_ci95"))})
    finally:
        if started:
            ray.shutdown()


_ROW_KEYS = ("env_id", "algo", "seed", "timesteps", "train_time_s", "eval_time_s", "run_dir")
_EXECUTORS = {"local": _run_local, "ray": _run_ray}


def sweep(args: SweepArgs) -> tuple[str, pd.DataFrame]:
    """Run the grid; write ``sweep.csv`` and ``sweep.md``; returns (markdown, rows)."""
    from tqdm.auto import tqdm

    from swapgym.benchmarks import io
    from swapgym.benchmarks.stats import mean_ci95

    if args.executor not in _EXECUTORS:
        raise ValueError(f"--executor: one of {list(_EXECUTORS)}, got {args.executor!r}")
    trials = plan(args)
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(trials), desc="sweep", unit="run", disable=not args.progress)

    def done(trial: dict[str, Any], row: dict[str, Any]) -> None:
        rows.append(row)
        bar.set_postfix_str(Path(trial["out"]).name, refresh=False)
        bar.update(1)

    _EXECUTORS[args.executor](trials, args, done)
    bar.close()
    df = pd.DataFrame.from_records(rows).sort_values(["env_id", "algo", "seed"], ignore_index=True)
    out = Path(args.out)
    io.write_csv(out / "sweep.csv", df)
    lines = ["| env | algo | seeds | return | score vs reference/oracle |", "|---|---|---|---|---|"]
    for (env_id, algo), g in df.groupby(["env_id", "algo"]):
        r, rh = mean_ci95(g["return_mean"])
        s, sh = mean_ci95(g["score_mean"]) if "score_mean" in g else (float("nan"), float("nan"))
        lines.append(f"| {env_id} | {algo} | {len(g)} | {r:.3f} ± {rh:.3f} | {s:.3f} ± {sh:.3f} |")
    md = ("# swapgym sweep\n\nFinal evaluation of each run (its eval seeds); mean ± 95 % CI over "
          "training seeds.\n\n" + "\n".join(lines) + "\n")
    io.write_text(out / "sweep.md", md)
    return md, df
