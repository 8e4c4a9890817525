"""Runner, baseline registry, resumable bench and the CLI (on EmergencyPush)."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import swapgym
from swapgym import baselines
from swapgym.baselines.protocol import Policy
from swapgym.benchmarks import evaluate, suite
from swapgym.benchmarks.cli import main, parse_seeds

ENV_ID = "swapgym/EmergencyPush-v0"


def test_every_registered_id_makes_and_has_a_reference_and_oracle():
    for env_id in swapgym.ENV_IDS:
        env = gym.make(env_id)
        assert env.spec.max_episode_steps is not None
        assert "random" in baselines.available(env_id)
        assert baselines.reference(env_id) in baselines.available(env_id), env_id
        assert baselines.oracles(env_id), env_id


def test_baselines_satisfy_the_policy_protocol_and_make_resets_on_env():
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=0)
    for name in baselines.available(ENV_ID):
        policy = baselines.make(name, env)
        assert isinstance(policy, Policy)
        action, _ = policy.predict(obs)
        assert env.action_space.contains(np.asarray(action, dtype=env.action_space.dtype))


def test_unknown_names_give_clear_errors():
    with pytest.raises(ValueError, match=r"unknown baseline 'nope'.*available"):
        baselines.make("nope", ENV_ID)
    with pytest.raises(ValueError, match="unknown environment 'Nope'"):
        evaluate("random", "Nope", [0])


def test_evaluate_returns_one_row_per_episode_with_metrics_and_is_deterministic():
    df = evaluate("dual_scheme", ENV_ID, seeds=[0, 1], episodes_per_seed=2)
    assert len(df) == 4 and list(df.columns[:4]) == ["policy", "env_id", "seed", "episode"]
    assert {"episode_return", "unmet_kwh", "km_driven", "first_hour_e_high"} <= set(df.columns)
    again = evaluate("dual_scheme", ENV_ID, seeds=[0, 1], episodes_per_seed=2)
    np.testing.assert_array_equal(df["episode_return"], again["episode_return"])
    assert df.loc[0, "episode_return"] != df.loc[1, "episode_return"]


def test_sb3_evaluate_policy_scores_a_baseline_like_the_runner():
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: Monitor(gym.make(ENV_ID))])
    venv.seed(3)
    policy = baselines.make("scheme_b", ENV_ID)  # observation-only policy
    mean, _ = evaluate_policy(policy, venv, n_eval_episodes=1, deterministic=True)
    ours = evaluate("scheme_b", ENV_ID, seeds=[3])["episode_return"].iloc[0]
    assert mean == pytest.approx(ours)


def test_bench_resumes_without_recomputing_finished_cells(tmp_path):
    cells = suite.plan([ENV_ID], ["scheme_a", "random"], [0, 1])
    first = suite.run(cells[:2], tmp_path, n_jobs=1, progress=False)
    path = tmp_path / "cells" / f"{cells[0].key}.json"
    data = json.loads(path.read_text())
    data["row"]["episode_return"] = 12345.0  # a finished cell must be trusted, not redone
    path.write_text(json.dumps(data))
    full = suite.run(cells, tmp_path, n_jobs=1, progress=False)
    assert len(full) == 4 and 12345.0 in set(full["episode_return"])
    assert len(first) == 2
    assert not list(tmp_path.glob("cells/.*.tmp"))


def test_parallel_and_serial_bench_agree(tmp_path):
    cells = suite.plan([ENV_ID], ["dual_scheme"], [0, 1])
    a = suite.run(cells, tmp_path / "a", n_jobs=1, progress=False)
    b = suite.run(cells, tmp_path / "b", n_jobs=2, progress=False)
    np.testing.assert_array_equal(a["episode_return"], b["episode_return"])


def test_parse_seeds():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7-9") == [0, 3, 7, 8, 9]


def test_cli_bench_writes_report(tmp_path, capsys):
    code = main(["bench", "--env", "EmergencyPush", "--policies", "dual_scheme", "oracle",
                 "--seeds", "0-1", "--out", str(tmp_path), "--no-progress", "--jobs", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "| dual_scheme | reference |" in out and "| oracle | oracle (anchor) |" in out
    for name in ("results.csv", "summary.md", "report.html", "EmergencyPush-v0_returns.png"):
        assert (tmp_path / name).exists(), name


def test_cli_bad_arguments_fail_clearly(tmp_path):
    assert main(["bench", "--env", "Nope", "--out", str(tmp_path)]) == 2
    proc = subprocess.run([sys.executable, "-m", "swapgym.benchmarks.cli", "bench", "--seeds", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--seeds" in proc.stderr


def test_cli_perf_and_reproduce_run(tmp_path, capsys):
    assert main(["perf", "--seconds", "0.2", "--env", "EmergencyPush"]) == 0
    out = capsys.readouterr().out
    assert "trivial env (floor)" in out and "fixed traffic" in out
    assert main(["reproduce", "emergency-push", "--seeds", "0-1", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "reproduce_emergency_push.md").read_text()
    assert "θ5*" in text and "401.7 km" in text and (tmp_path / "emergency_push_fig3_0.png").exists()


def test_perf_split__env_time_is_part_of_the_loop_time():
    from swapgym.benchmarks.perf import TRIVIAL_ID, measure_split

    steps, loop, in_env = measure_split(TRIVIAL_ID, 0.1)
    assert steps > 0 and 0 < in_env < loop


def test_reproduce_one_problem__replaces_only_its_section_of_the_report(tmp_path):
    from swapgym.benchmarks.cli import _replace_section

    path = tmp_path / "REPRODUCTION.md"
    path.write_text("# Report\n\nintro\n\n## A\n\na\n\n### A.1\n\na1\n\n## B\n\nold b\n\n## C\n\nc\n")
    _replace_section(path, 1, "## B again\n\nnew b\n")
    text = path.read_text()
    assert "old b" not in text and "new b" in text and "a1" in text and text.index("new b") < text.index("## C")
    with pytest.raises(ValueError, match=r"REPRODUCTION\.md"):
        _replace_section(path, 3, "## D\n")


def test_update_section_replaces_only_its_section(tmp_path):
    from swapgym.benchmarks.io import update_section

    path = tmp_path / "RESULTS.md"
    path.write_text("# Measured results\n\n## Speed\n\nold\n\n## Learned agents\n\nkeep me\n")
    update_section(path, "## Speed", "new table")
    text = path.read_text()
    assert "new table" in text and "old" not in text and "keep me" in text
    update_section(path, "## Other", "added")
    assert path.read_text().rstrip().endswith("added")


def test_cli_evaluate_forecaster_reports_errors_of_the_shipped_lstm(capsys):
    assert main(["evaluate-forecaster"]) == 0
    out = capsys.readouterr().out
    assert "rmse" in out.lower() and "mae" in out.lower()
