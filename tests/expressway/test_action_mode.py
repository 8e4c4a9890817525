"""Expressway-v0 ``action_mode="station"``: the paper's decision variables (per station a
charging-power level and a B2B level) turned into moves by the Hungarian assignment."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import swapgym  # noqa: F401
from swapgym.baselines.expressway import PSOPolicy
from swapgym.envs.core import checks
from swapgym.envs.core.spaces import random_valid_action
from swapgym.envs.expressway import ActionLayout, ExpresswayConfig, assign, make_instance

ENV_ID = "swapgym/Expressway-v0"
STATION = {"action_mode": "station"}
# one SOC step per power level and one donor per B2B level: every PSO plan is one action
FINE = {"action_mode": "station", "n_power_levels": 120, "n_b2b_levels": 20}


def test_station_mode_standard_checks():
    checks.check_all(ENV_ID, n_steps=72, **STATION)
    checks.check_masks(ENV_ID, n_steps=48, **STATION)
    checks.check_render(ENV_ID, **STATION)


def test_default_is_moves_mode_with_the_old_space():
    env = gym.make(ENV_ID).unwrapped
    assert env.config.action_mode == "moves"
    assert env.action_space.shape == (3 * 13 * 4 + 2 * 3 + 2,)
    lay = ActionLayout(env.config)
    assert lay.n_head == lay.n_moves == 3 * 13 * 4


def test_station_space_and_levels():
    env = gym.make(ENV_ID, **STATION).unwrapped
    np.testing.assert_array_equal(env.action_space.nvec, [13] * 3 + [5] * 3 + [17] * 6 + [7] * 2)
    np.testing.assert_array_equal(env.power_units, np.arange(13) * 10)  # 40 · 3 / 12 steps
    np.testing.assert_array_equal(env.b2b_donors, [0, 5, 10, 15, 20])


def _tiny_env(levels, **kw):
    """2 stations, 4 batteries at SOC ``levels`` (both stations), no arrivals/releases;
    one SOC step per power level, one donor per B2B level."""
    fields = dict(n_stations=2, batteries_per_station=4, station_km=(0.0, 80.0),
                  action_mode="station", n_power_levels=12, n_b2b_levels=2,
                  release_counterfactual=False)
    cfg = ExpresswayConfig(**{**fields, **kw})
    counts = np.bincount(levels, minlength=cfg.n_levels)
    inst = make_instance(cfg, [counts, counts], np.zeros((24, 2)), np.zeros((24, 2)))
    env = gym.make(ENV_ID, config=cfg).unwrapped
    env.reset(seed=0, options={"instance": inst})
    return env


def _step(env, power, b2b):
    lay = env.layout
    a = lay.encode_station(power, b2b, np.zeros(lay.dispatch_shape), np.zeros(lay.n_release))
    return env.step(a)


def test_known_answer__station_action_gives_the_hungarian_moves():
    # batteries at SOC levels 0, 2, 9, 12 (0.20, 0.30, 0.65, 0.80); swap-ready from 11.
    # 4 grid steps: the battery closest to ready (9) first, all three of its steps (the
    # urgency bonus outweighs the fast-charging degradation), then the next closest (2)
    env = _tiny_env([0, 2, 9, 12])
    r = list(env.tables.rates)  # (-1, 1, 2, 3)
    moves = env.station_moves(np.array([4, 0, 0, 0]))[0]
    expect = np.zeros_like(moves[0])
    expect[9, r.index(3)] = 1
    expect[2, r.index(1)] = 1
    np.testing.assert_array_equal(moves[0], expect)
    assert not moves[1].any()
    np.testing.assert_array_equal(
        moves[0], assign.station_moves(env.state.counts[0], 4, 0, env.tables, env.config.ready_level))
    _, _, _, _, info = _step(env, [4, 0], [0, 0])
    np.testing.assert_array_equal(env.history[-1].moves[0], expect)
    np.testing.assert_array_equal(np.flatnonzero(env.state.counts[0]), [0, 3, 12])
    assert info["grid_power_kw_per_station"][0] == pytest.approx(4 * env.config.step_kwh)
    # one grid step and B2B level 1 (one donor): the battery above ready (12) gives a step,
    # and the two steps go to the battery at 9, which ends swap-ready
    env = _tiny_env([0, 2, 9, 12])
    moves = env.station_moves(np.array([1, 0, 1, 0]))[0]
    expect = np.zeros_like(moves[0])
    expect[9, r.index(2)] = 1
    expect[12, r.index(-1)] = 1
    np.testing.assert_array_equal(moves[0], expect)
    _, _, _, _, info = _step(env, [1, 0], [1, 0])
    assert info["b2b_kwh_per_station"][0] == pytest.approx(env.config.step_kwh)
    assert info["grid_power_kw_per_station"][0] == pytest.approx(env.config.step_kwh)
    np.testing.assert_array_equal(np.flatnonzero(env.state.counts[0]), [0, 2, 11])


def test_station_masks():
    cfg_levels = 12
    # every battery full: no power level above 0; donors exist
    env = _tiny_env([12, 12, 12, 12])
    mask = env.action_masks()
    p = mask[: 2 * (cfg_levels + 1)].reshape(2, -1)
    b = mask[2 * (cfg_levels + 1): 2 * (cfg_levels + 1) + 6].reshape(2, -1)
    assert p[:, 0].all() and not p[:, 1:].any()
    assert b.all()
    # every battery empty: 12 steps of headroom (levels 0..12 allowed), no donor
    env = _tiny_env([0, 0, 0, 0])
    mask = env.action_masks()
    p = mask[: 2 * (cfg_levels + 1)].reshape(2, -1)
    b = mask[2 * (cfg_levels + 1): 2 * (cfg_levels + 1) + 6].reshape(2, -1)
    assert p.all()
    assert b[:, 0].all() and not b[:, 1:].any()
    # two batteries at 11 (one step each up to SOC_max): levels 0..2 allowed
    env = _tiny_env([11, 11, 12, 12])
    p = env.action_masks()[: 2 * (cfg_levels + 1)].reshape(2, -1)
    np.testing.assert_array_equal(np.flatnonzero(p[0]), [0, 1, 2])


def test_coarse_level_above_headroom_is_allowed_once_and_clamped():
    # one level of 12 steps; 3 batteries at 11 and one at 12 take 3 steps: level 1 allowed
    # (it means "all they can take"), level 2 masked; stepping level 1 charges those 3
    cfg = dict(n_power_levels=1)
    env = _tiny_env([11, 11, 11, 12], **cfg)
    assert list(env.power_units) == [0, 12]
    p = env.action_masks()[:4].reshape(2, -1)
    assert p.all()
    _, _, _, _, info = _step(env, [1, 0], [0, 0])
    assert info["grid_power_kw_per_station"][0] == pytest.approx(3 * env.config.step_kwh)


def test_same_decisions_same_cost_in_both_modes():
    """A PSO-like policy (per station grid steps and donors, then the Hungarian step)
    played through the moves block and through station actions: the same day."""
    a_env = gym.make(ENV_ID).unwrapped
    b_env = gym.make(ENV_ID, **FINE).unwrapped
    lay_a, lay_b = a_env.layout, b_env.layout
    rng = np.random.default_rng(1)
    for seed in (0, 1):
        a_env.reset(seed=seed)
        b_env.reset(seed=seed)
        for _ in range(24):
            st = a_env.state
            room = assign.headroom(a_env.config, st.counts)
            units = rng.integers(0, room + 1)
            donors = rng.integers(0, 21, size=3) * rng.integers(0, 2, size=3)
            rand = random_valid_action(a_env, rng)
            _, dispatch, release = lay_a.decode(rand)
            moves = assign.station_block_moves(a_env.config, a_env.tables, st.counts, units, donors)
            ra = a_env.step(lay_a.encode(moves, dispatch, release))
            rb = b_env.step(lay_b.encode_station(units, donors, dispatch, release))
            checks.assert_equal_transitions(ra, rb, f"seed {seed}")
            np.testing.assert_array_equal(a_env.history[-1].moves, b_env.history[-1].moves)
        assert ra[2] and ra[4]["episode_metrics"]["total_cost_usd"] == rb[4]["episode_metrics"]["total_cost_usd"]


def test_pso_m2_through_station_mode_plays_the_same_day():
    """With one step per level, M2's PSO decides exactly as in moves mode."""
    returns = []
    for kw in ({}, FINE):
        env = gym.make(ENV_ID, horizon_h=6, price_per_kwh=(0.05,) * 3 + (0.16,) * 3,
                       arrival_rate_per_h=(3, 6, 9, 9, 6, 3), **kw).unwrapped
        pol = PSOPolicy(b2b=True, station_levels=True)
        obs, _ = env.reset(seed=2)
        pol.reset(env)
        total = 0.0
        for _ in range(6):
            obs, r, _, _, info = env.step(pol.act(obs))
            total += r
        returns.append((total, info["episode_metrics"]))
    assert returns[0][0] == returns[1][0]
    assert returns[0][1] == returns[1][1]


def test_baselines_act_in_station_mode():
    from swapgym.baselines.expressway import GreedyPolicy

    for pol in (GreedyPolicy(), PSOPolicy(b2b=True, release=True, station_levels=True)):
        env = gym.make(ENV_ID, horizon_h=3, price_per_kwh=(0.1,) * 3,
                       arrival_rate_per_h=(5, 5, 5), **STATION).unwrapped
        obs, _ = env.reset(seed=0)
        pol.reset(env)
        for _ in range(3):
            a = pol.act(obs)
            assert env.action_space.contains(a)
            assert env.action_masks()[_mask_index(env, a)].all()
            obs, *_ = env.step(a)


def _mask_index(env, a):
    offsets = np.concatenate([[0], np.cumsum(env.action_space.nvec)[:-1]])
    return offsets + np.asarray(a)


@pytest.mark.parametrize("field,value", [("action_mode", "counts"), ("n_power_levels", 0),
                                         ("n_b2b_levels", 0)])
def test_bad_station_config_names_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_out_of_space_station_action_raises_clear_error():
    env = gym.make(ENV_ID, **STATION).unwrapped
    env.reset(seed=0)
    a = np.zeros(env.action_space.shape, dtype=np.int64)
    a[0] = 13
    with pytest.raises(ValueError, match="power levels"):
        env.step(a)
    with pytest.raises(ValueError, match="encode"):
        env.layout.encode(np.zeros(env.layout.moves_shape), np.zeros(env.layout.dispatch_shape),
                          np.zeros(2))


def test_vector_env_refuses_station_mode():
    with pytest.raises(ValueError, match="action_mode"):
        gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="vector_entry_point", **STATION)


def test_station_training_yaml_resolves_and_builds():
    from pathlib import Path

    from swapgym.agents import build_model, make_vec_env
    from swapgym.train.config import resolve

    path = Path(__file__).resolve().parents[2] / "train" / "configs" / "expressway_station.yaml"
    cfg = resolve("Expressway", None, path, overrides={}, default_algo="maskable_ppo")
    assert cfg.env_kwargs == STATION
    venv = make_vec_env(ENV_ID, 1, 0, cfg.env_kwargs, "dummy", cfg.normalize)
    model = build_model(cfg.algo, venv, cfg.hyperparams, seed=0)
    assert model.action_space == gym.make(ENV_ID, **STATION).action_space
    venv.close()


@pytest.mark.parametrize("name", ["greedy", "m1", "oracle"])
def test_baselines_in_station_mode_play_their_moves_mode_day(name):
    """The baselines hand their moves plan to the env (``plan_moves``): the score's anchors
    are the same whichever action space the agent has."""
    from swapgym.baselines.expressway import GreedyPolicy, OraclePolicy

    make = {"greedy": GreedyPolicy, "m1": PSOPolicy, "oracle": OraclePolicy}[name]
    days = []
    for kw in ({}, STATION):
        env = gym.make(ENV_ID, horizon_h=6, price_per_kwh=(0.05,) * 3 + (0.16,) * 3,
                       arrival_rate_per_h=(3, 6, 9, 9, 6, 3), **kw).unwrapped
        pol = make()
        obs, _ = env.reset(seed=4)
        pol.reset(env)
        rewards = []
        for _ in range(6):
            a = pol.act(obs)
            assert env.action_space.contains(a)
            obs, r, _, _, info = env.step(a)
            rewards.append(r)
        metrics = {k: v for k, v in info["episode_metrics"].items() if not k.startswith("planner_")}
        days.append((rewards, metrics, [h.moves for h in env.history]))
    checks.assert_equal_transitions(days[0], days[1], name)


def test_plan_moves_is_for_station_mode_and_used_once():
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="plan_moves"):
        env.plan_moves(np.zeros(env.layout.moves_shape))
    env = gym.make(ENV_ID, **STATION).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.plan_moves(np.zeros(3))
    zero = env.layout.encode_station(np.zeros(3), np.zeros(3), np.zeros(env.layout.dispatch_shape),
                                     np.zeros(2))
    planned = np.zeros(env.layout.moves_shape, dtype=np.int64)
    planned[0, 0, list(env.tables.rates).index(1)] = env.state.counts[0, 0]
    env.plan_moves(planned)
    env.step(zero)
    np.testing.assert_array_equal(env.history[-1].moves, planned)
    env.step(zero)  # the plan is used once: the zero station action charges nothing
    assert not env.history[-1].moves.any()
