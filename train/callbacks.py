"""SB3 callbacks of a training run: progress bar, evaluation against the reference
baseline, checkpoints.

Evaluation and checkpoints happen at the *start* of a rollout, i.e. right after a
policy update and before new data is collected: a checkpoint then holds everything
learned so far and nothing half-collected, so a resumed run continues at exactly that
timestep and ends at the same count as an uninterrupted one.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stable_baselines3.common.callbacks import BaseCallback
from tqdm.auto import tqdm

from swapgym.agents.policy import AgentPolicy, normalizer_path
from swapgym.benchmarks import io
from swapgym.benchmarks.stats import mean_ci95, normalised_score
from swapgym.train.config import LATEST, read_checkpoint


class ProgressBar(BaseCallback):
    """A tqdm bar over env steps that starts where a resumed run left off."""

    def __init__(self, total: int, enabled: bool = True) -> None:
        super().__init__()
        self.total, self.enabled, self.bar = total, enabled, None

    def _on_training_start(self) -> None:
        self.bar = tqdm(total=self.total, initial=self.model.num_timesteps, unit="step",
                        desc="train", disable=not self.enabled, dynamic_ncols=True)

    def _on_step(self) -> bool:
        self.bar.update(self.model.num_timesteps - self.bar.n)
        return True

    def _on_training_end(self) -> None:
        self.bar.update(self.model.num_timesteps - self.bar.n)
        self.bar.close()


def baseline_returns(env_id: str, names: list[str], seeds: list[int], env_kwargs: dict,
                     cache: Path) -> pd.DataFrame:
    """Per-seed returns of the anchor baselines, computed once per run (``cache``)."""
    from swapgym.benchmarks.runner import evaluate

    if not names:
        return pd.DataFrame(columns=["policy", "seed", "episode_return"])
    if cache.exists():
        df = pd.read_csv(cache)
        if set(df["policy"]) == set(names) and set(df["seed"]) == set(seeds):
            return df
    frames = [evaluate(n, env_id, seeds, **env_kwargs)[["policy", "seed", "episode_return"]]
              for n in names]
    df = pd.concat(frames, ignore_index=True)
    io.write_csv(cache, df)
    return df


class EvaluateAgainstReference(BaseCallback):
    """Every ``freq`` env steps: the current policy on the eval seeds through the
    benchmark runner, next to the reference heuristic (and the oracle) on the same
    seeds. Appends a row to ``evaluations.csv`` and logs ``eval/*`` to TensorBoard."""

    def __init__(self, env_id: str, env_kwargs: dict, seeds: list[int], freq: int, algo: str,
                 run_dir: Path, reference: str | None, oracle: str | None) -> None:
        super().__init__()
        self.env_id, self.env_kwargs, self.seeds, self.freq = env_id, env_kwargs, seeds, freq
        self.algo, self.path = algo, run_dir / "evaluations.csv"
        names = [n for n in (reference, oracle) if n]
        anchors = baseline_returns(env_id, names, seeds, env_kwargs, run_dir / "eval_anchors.csv")
        by_policy = anchors.groupby("policy")
        self.reference = (by_policy.get_group(reference).set_index("seed")["episode_return"]
                          if reference else None)
        self.oracle = (by_policy.get_group(oracle).set_index("seed")["episode_return"]
                       if oracle else None)
        self.rows: list[dict[str, Any]] = (pd.read_csv(self.path).to_dict("records")
                                           if self.path.exists() else [])

    def truncate(self, timesteps: int) -> None:
        """Forget evaluations after ``timesteps`` (a resumed run redoes them)."""
        self.rows = [r for r in self.rows if r["timesteps"] <= timesteps]
        if self.path.exists():
            io.write_csv(self.path, pd.DataFrame.from_records(self.rows, columns=self._columns()))

    @property
    def last(self) -> int:
        return max((int(r["timesteps"]) for r in self.rows), default=-1)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - max(self.last, 0) >= self.freq or self.last < 0:
            self.evaluate()

    def evaluate(self) -> dict[str, Any]:
        from swapgym.benchmarks.runner import evaluate

        if self.last == self.model.num_timesteps:
            return self.rows[-1]
        normalizer = self.model.get_vec_normalize_env()
        policy = AgentPolicy(self.model, normalizer, name="agent", algo=self.algo)
        start = time.perf_counter()
        df = evaluate(policy, self.env_id, self.seeds, **self.env_kwargs)
        returns = df.set_index("seed")["episode_return"]
        row: dict[str, Any] = {"timesteps": int(self.model.num_timesteps)}
        row["return_mean"], row["return_ci95"] = mean_ci95(returns)
        if self.reference is not None:
            row["reference_return_mean"] = float(self.reference.loc[self.seeds].mean())
            gain = returns.to_numpy() - self.reference.loc[returns.index].to_numpy()
            row["gain_vs_reference_mean"], row["gain_vs_reference_ci95"] = mean_ci95(gain)
        if self.oracle is not None and self.reference is not None:
            row["oracle_return_mean"] = float(self.oracle.loc[self.seeds].mean())
            scores = [normalised_score([r], self.reference.loc[s], self.oracle.loc[s])[0]
                      for s, r in returns.items()]
            row["score_mean"], row["score_ci95"] = mean_ci95(scores)
        row["eval_time_s"] = time.perf_counter() - start
        self.rows.append(row)
        io.write_csv(self.path, pd.DataFrame.from_records(self.rows, columns=self._columns()))
        for key in ("return_mean", "gain_vs_reference_mean", "score_mean"):
            if key in row and np.isfinite(row[key]):
                self.logger.record(f"eval/{key}", row[key])
        return row

    def _columns(self) -> list[str]:
        cols = ["timesteps", "return_mean", "return_ci95"]
        if self.reference is not None:
            cols += ["reference_return_mean", "gain_vs_reference_mean", "gain_vs_reference_ci95"]
        if self.oracle is not None and self.reference is not None:
            cols += ["oracle_return_mean", "score_mean", "score_ci95"]
        return [*cols, "eval_time_s"]


def save_checkpoint(model: Any, folder: Path, off_policy: bool, keep: int = 2) -> dict[str, Any]:
    """Model (with optimiser state), VecNormalize statistics and replay buffer, then
    ``latest.json`` pointing at them, written last and atomically: a run killed while
    saving still resumes from the previous complete checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    t = int(model.num_timesteps)
    stem = folder / f"ckpt_{t:010d}"
    model.save(f"{stem}.zip")
    files = {"model": f"{stem.name}.zip"}
    normalizer = model.get_vec_normalize_env()
    if normalizer is not None:
        normalizer.save(str(normalizer_path(f"{stem}.zip")))
        files["normalizer"] = normalizer_path(f"{stem}.zip").name
    if off_policy:
        model.save_replay_buffer(f"{stem}.replay.pkl")
        files["replay_buffer"] = f"{stem.name}.replay.pkl"
    latest = {"timesteps": t, **files, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    io.write_json(folder / LATEST, latest)
    stems = sorted({p.name.split(".")[0] for p in folder.glob("ckpt_*")})
    for old in stems[:-keep]:
        for p in folder.glob(f"{old}.*"):
            p.unlink(missing_ok=True)
    return latest


class Checkpoint(BaseCallback):
    """Saves a checkpoint every ``freq`` env steps (at rollout starts, see module doc)."""

    def __init__(self, folder: Path, freq: int, off_policy: bool) -> None:
        super().__init__()
        self.folder, self.freq, self.off_policy = folder, freq, off_policy
        latest = read_checkpoint(folder)
        self.last = latest["timesteps"] if latest else 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_start(self) -> None:
        if self.model.num_timesteps - self.last >= self.freq:
            self.save()

    def save(self) -> None:
        save_checkpoint(self.model, self.folder, self.off_policy)
        self.last = self.model.num_timesteps
