"""``swapgym train`` / ``swapgym evaluate`` end to end in a subprocess, tiny budgets."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import swapgym
from swapgym import baselines
from swapgym.benchmarks.cli import main
from tests.train.conftest import ENV, require_env, swapgym_cli


def _cheap_baselines(env_id: str) -> list[str]:
    """Every baseline (oracle included) where an episode of each is cheap, else random."""
    if env_id in ("swapgym/EmergencyPush-v0", "swapgym/FleetV2V-v0"):
        return baselines.available(env_id)
    return ["random"]


@pytest.mark.parametrize("env_id", swapgym.ENV_IDS)
def test_train_then_evaluate__writes_run_folder_and_report(env_id, tmp_path):
    require_env(env_id)
    name = env_id.split("/")[1].removesuffix("-v0")
    run, out = tmp_path / "run", tmp_path / "eval"
    res = swapgym_cli(
        ["train", "--env", name, "--timesteps", "64", "--n-envs", "1", "--vec-env", "dummy",
         "--eval-seeds", "1000", "--out", str(run), "--no-progress"],
        ["evaluate", "--agent", str(run / "model.zip"), "--env", name, "--seeds", "0",
         "--baselines", *_cheap_baselines(env_id), "--out", str(out), "--no-progress"])
    assert res.returncode == 0, res.stderr

    for f in ("config.yaml", "run.json", "model.zip", "evaluations.csv", "checkpoints/latest.json"):
        assert (run / f).exists(), f
    assert list((run / "tb").rglob("events.out.tfevents.*"))
    meta = json.loads((run / "run.json").read_text())
    assert meta["status"] == "finished" and meta["seed"] == 0 and meta["timesteps_done"] >= 64
    assert meta["versions"]["swapgym"] == swapgym.__version__
    assert list(pd.read_csv(run / "evaluations.csv")["timesteps"]) == [0, meta["timesteps_done"]]

    assert f"agent_{meta['algo']}" in res.stdout and "| policy |" in res.stdout
    df = pd.read_csv(out / "results.csv")
    assert set(df["policy"]) == {f"agent_{meta['algo']}", *_cheap_baselines(env_id)}
    assert (out / "summary.csv").exists() and list(out.glob("*.png"))


@pytest.mark.parametrize("args, needle", [
    (["train", "--env", "NoSuchEnv"], "unknown environment 'NoSuchEnv'"),
    (["train", "--env", "EmergencyPush", "--algo", "dqn"], "dqn cannot act in the action space"),
    (["train", "--env", "FleetV2V", "--algo", "sac"], "sac cannot act in the action space"),
    (["train", "--env", "FleetV2V", "--algo", "nope"], "unknown algorithm 'nope'"),
    (["train", "--env", "FleetV2V", "--out", "/nonexistent/run", "--resume"], "no checkpoint"),
    (["evaluate", "--agent", "/nonexistent/model.zip", "--env", "FleetV2V"], "no trained model"),
    (["evaluate", "--agent", "/nonexistent/model.zip", "--env", "Nope"], "no trained model"),
    (["sweep", "--env", "FleetV2V", "--algo", "td3"], "td3 cannot act in the action space"),
])
def test_bad_arguments__exit_2_naming_the_problem(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err and err.startswith(f"swapgym {args[0]}: error:")


def test_bad_arguments__exit_code_2_from_the_console_script():
    res = subprocess.run([sys.executable, "-m", "swapgym.benchmarks.cli", "train", "--env",
                          "EmergencyPush", "--algo", "sac"], env=ENV, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 2
    assert "sac cannot act in the action space of swapgym/EmergencyPush-v0" in res.stderr
    assert "maskable_ppo" in res.stderr  # names the algorithms that can
    assert "Traceback" not in res.stderr
