"""``swapgym sweep``: a grid of training runs, the same results locally and on Ray Tune."""

from __future__ import annotations

import pandas as pd

from swapgym.train.sweep import SweepArgs, sweep

GRID = dict(envs=["FleetV2V"], algos=["maskable_ppo"], seeds=[0, 1], timesteps=64, n_envs=1,
            eval_seeds=[1000], progress=False)
KEY = ["env_id", "algo", "seed", "timesteps", "return_mean", "gain_vs_reference_mean"]


def test_sweep__local_and_ray_give_the_same_results(tmp_path):
    _, local = sweep(SweepArgs(**GRID, out=str(tmp_path / "local"), executor="local", jobs=1))
    assert list(local["seed"]) == [0, 1] and (local["timesteps"] == 64).all()
    assert (tmp_path / "local" / "sweep.csv").exists() and (tmp_path / "local" / "sweep.md").exists()

    _, on_ray = sweep(SweepArgs(**GRID, out=str(tmp_path / "ray"), executor="ray", jobs=2))
    pd.testing.assert_frame_equal(local[KEY], on_ray[KEY])

    # a rerun finds the runs finished and returns the same table without training
    _, again = sweep(SweepArgs(**GRID, out=str(tmp_path / "local"), executor="local", jobs=1))
    pd.testing.assert_frame_equal(local[KEY], again[KEY])
    assert list(again["train_time_s"]) == list(local["train_time_s"])
