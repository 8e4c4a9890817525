"""A killed ``swapgym train`` resumes from its last checkpoint and loses no progress."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pandas as pd
import pytest

from swapgym.train.config import read_checkpoint
from swapgym.train.train import TrainArgs, train
from tests.train.conftest import ENV, tiny_config

TOTAL = 1024


def _args(config, out, resume=False) -> TrainArgs:
    return TrainArgs(env="FleetV2V", config=str(config), timesteps=TOTAL, eval_freq=256,
                     eval_seeds=[1000], checkpoint_freq=64, out=str(out), resume=resume,
                     progress=False)


def test_killed_and_resumed_run__ends_like_an_uninterrupted_one(tmp_path):
    config = tiny_config(tmp_path, "FleetV2V", "maskable_ppo", n_steps=64)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "swapgym.benchmarks.cli", "train", "--env", "FleetV2V",
         "--config", str(config), "--timesteps", str(TOTAL), "--eval-freq", "256",
         "--eval-seeds", "1000", "--checkpoint-freq", "64", "--out", str(killed), "--no-progress"],
        env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        latest = read_checkpoint(killed / "checkpoints")
        if latest and latest["timesteps"] >= 64:
            break
        time.sleep(0.02)
    proc.kill()
    _, err = proc.communicate()
    assert proc.returncode == -9, f"the run ended before it could be killed: {err}"
    stopped_at = read_checkpoint(killed / "checkpoints")["timesteps"]
    assert 0 < stopped_at < TOTAL
    assert json.loads((killed / "run.json").read_text())["status"] == "running"

    train(_args(config, killed, resume=True))
    train(_args(config, tmp_path / "straight"))

    resumed = json.loads((killed / "run.json").read_text())
    straight = json.loads((tmp_path / "straight" / "run.json").read_text())
    assert resumed["status"] == straight["status"] == "finished"
    assert resumed["timesteps_done"] == straight["timesteps_done"] == TOTAL
    assert resumed["resumed_from"] == [stopped_at]
    evals = [pd.read_csv(p / "evaluations.csv")["timesteps"].tolist()
             for p in (killed, tmp_path / "straight")]
    assert evals[0] == evals[1] == [0, 256, 512, 768, 1024]


def test_existing_run__needs_resume_and_a_finished_run_is_not_retrained(tmp_path):
    config = tiny_config(tmp_path, "FleetV2V", "maskable_ppo", n_steps=32)
    args = TrainArgs(env="FleetV2V", config=str(config), timesteps=32, eval_seeds=[1000],
                     out=str(tmp_path / "run"), progress=False)
    train(args)
    with pytest.raises(ValueError, match="already holds a run; pass --resume"):
        train(args)
    args.resume = True
    model = (tmp_path / "run" / "model.zip").stat().st_mtime_ns
    train(args)  # finished: nothing to do
    assert (tmp_path / "run" / "model.zip").stat().st_mtime_ns == model
