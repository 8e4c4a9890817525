"""The native batched Expressway env equals N single envs (SyncVectorEnv), bit for bit."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import swapgym  # noqa: F401
from swapgym.envs.core import checks
from swapgym.envs.expressway import ExpresswayConfig, dynamics, make_instance
from swapgym.envs.expressway.vector import ExpresswayVectorEnv

ENV_ID = "swapgym/Expressway-v0"


def _native(n: int, **config) -> ExpresswayVectorEnv:
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **config)


def _actions(env, masks: np.ndarray, rng: np.random.Generator, k: int) -> np.ndarray:
    """Random valid actions; every third step in-space but unmasked (exercises the clamps)."""
    if k % 3 == 2:
        return rng.integers(0, env.single_action_space.nvec, size=(len(masks), len(env.single_action_space.nvec)))
    return checks.masked_vector_actions(env, masks, rng, k)


def _compare_with_sync(n: int, steps: int, seed: int, resets: dict[int, np.ndarray] | None = None,
                       **config) -> int:
    return checks.compare_vector_with_sync(ENV_ID, n, steps, seed, resets, _actions, **config)


def test_make_vec__returns_the_native_env_with_batched_spaces():
    checks.check_native_vector_spaces(ENV_ID, ExpresswayVectorEnv)


def test_transitions__equal_single_envs_over_episodes_and_autoresets():
    # default config: eq. (19) counterfactual days ride along in the batch of every sub-env
    assert _compare_with_sync(4, 80, seed=0) == 12


@pytest.mark.parametrize("config", [
    {"release_counterfactual": False, "price_source": "tou"},
    {"n_stations": 2, "station_km": (0.0, 80.0), "batteries_per_station": 6, "max_charge_steps": 1,
     "release_candidates_per_h": 5.0},
    {"n_stations": 1, "station_km": (0.0,), "p_dis_max_kw": 3.0},
    {"horizon_h": 6, "arrival_rate_per_h": (12.0,) * 6, "batteries_per_station": 8,
     "price_per_kwh": (0.1, 0.2, 0.05, 0.3, 0.1, 0.1)},
])
def test_transitions__equal_single_envs_for_other_configs(config):
    _compare_with_sync(3, 40, seed=1, **config)


def test_partial_reset_mask__desynchronised_sub_envs_stay_equal():
    resets = {5: np.array([True, False, True]), 30: np.array([False, True, False])}
    _compare_with_sync(3, 70, seed=2, resets=resets)


def test_truncation_before_the_day_ends__equal_single_envs():
    native = ExpresswayVectorEnv(num_envs=2, max_episode_steps=5)
    sync = gym.vector.SyncVectorEnv([lambda: gym.wrappers.TimeLimit(gym.make(ENV_ID).unwrapped, 5)] * 2)
    checks.assert_equal_transitions(native.reset(seed=3), sync.reset(seed=3), "reset")
    rng = np.random.default_rng(3)
    for k in range(14):
        actions = _actions(native, native.action_masks(), rng, k)
        checks.assert_equal_transitions(native.step(actions), sync.step(actions), f"step {k}")


def test_seed_list__sub_env_i_is_the_single_env_with_seed_i():
    env = _native(2)
    obs, _ = env.reset(seed=[7, 3])
    for i, s in enumerate([7, 3]):
        single, _ = gym.make(ENV_ID).reset(seed=s)
        np.testing.assert_array_equal(obs[i], single)


@pytest.mark.parametrize("kwargs,field", [
    ({"num_envs": 0}, "num_envs"), ({"num_envs": 2.5}, "num_envs"), ({"num_envs": True}, "num_envs"),
    ({"num_envs": 2, "render_mode": "rgb_array"}, "render_mode"),
    ({"num_envs": 2, "autoreset_mode": AutoresetMode.SAME_STEP}, "autoreset_mode"),
    ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
    ({"num_envs": 2, "n_stations": 0}, "n_stations"), ({"num_envs": 2, "no_such_field": 1}, "no_such_field"),
])
def test_bad_constructor_arguments__raise_naming_the_argument(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ExpresswayVectorEnv(**kwargs)


def test_bad_step_and_reset_arguments__raise():
    env = ExpresswayVectorEnv(num_envs=2)
    D = len(env.single_action_space.nvec)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, D), dtype=np.int64))
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(seed=0, options={"reset_mask": np.array([True, False])})  # first reset must be full
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions: expected shape"):
        env.step(np.zeros(D, dtype=np.int64))
    bad = np.zeros((2, D), dtype=np.int64)
    bad[1, 0] = 10_000
    with pytest.raises(ValueError, match="row 1"):
        env.step(bad)
    bad[1, 0], bad[0, 3] = 0, -1
    with pytest.raises(ValueError, match="row 0"):
        env.step(bad)
    with pytest.raises(ValueError, match="integers"):
        env.step(np.full((2, D), 0.5))
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"foo": 1})
    obs, *_ = env.step(np.ones((2, D)))  # integral floats are accepted, like the single env
    assert obs.shape == (2, env.single_observation_space.shape[0])


def test_step_batch__rows_equal_single_steps_bit_for_bit():
    """The batched transition of B different days at different hours equals B calls of
    ``dynamics.step`` (the one-day transition)."""
    cfg = ExpresswayConfig()
    rng = np.random.default_rng(0)
    n = 16
    days = [make_instance(cfg, rng.multinomial(40, np.full(cfg.n_levels, 1 / cfg.n_levels), size=3),
                          rng.integers(0, 9, (24, 2)), rng.integers(0, 4, (24, 2))) for _ in range(n)]
    tables = dynamics.cost_tables(days[0])
    t = rng.integers(0, 24, n)
    incoming = np.zeros((n, 3, cfg.n_levels), dtype=np.int64)
    incoming[:, 1, 0] = rng.integers(0, 3, n)
    moves = rng.integers(0, 12, (n, 3, cfg.n_levels, len(tables.rates)))
    dispatch = rng.integers(0, 9, (n, 2, 3))
    release = rng.integers(0, 4, (n, 2))
    counts = np.stack([d.init_counts for d in days])
    disp = np.stack([dynamics.clamp_dispatch(d, int(h), q, tables) for d, h, q in zip(days, t, dispatch)])
    want = np.stack([dynamics.release_request(d, int(h), r) if h < 23 else np.zeros(2, np.int64)
                     for d, h, r in zip(days, t, release)])
    batch = dynamics.step_batch(tables, cfg, t, days[0].price_per_kwh[t][:, None], counts, incoming,
                                moves, disp, want)
    for i, d in enumerate(days):
        state = dynamics.ExpresswayState(int(t[i]), counts[i], incoming[i])
        new, res = dynamics.step(d, tables, state, moves[i], dispatch[i], release[i])
        one = batch.result(i)
        for field in ("ppc", "bdc", "grid_kwh", "b2b_kwh", "served", "unserved", "dispatched", "moves",
                      "release_by_class", "released", "released_kwh", "bdc_driving", "unserved_penalty",
                      "terminal_penalty", "terminal_shortfall_kwh"):
            np.testing.assert_array_equal(getattr(one, field), getattr(res, field), err_msg=field)
        assert one.cost == res.cost
        np.testing.assert_array_equal(batch.counts[i], new.counts)
        np.testing.assert_array_equal(batch.incoming[i], new.incoming)


def test_pickle__a_pickled_vector_env_continues_identically():
    env = _native(3)
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    for k in range(5):
        env.step(_actions(env, env.unwrapped.action_masks(), rng, k))
    clone = pickle.loads(pickle.dumps(env))
    actions = [_actions(env, env.unwrapped.action_masks(), rng, k) for k in range(30)]
    for k, a in enumerate(actions):  # across an autoreset
        checks.assert_equal_transitions(env.step(a), clone.step(a), f"step {k}")


def _every_battery_at_level_6():
    """The default config with every battery at level 6: (config, init counts, cost
    tables, counts as a batch of one)."""
    cfg = ExpresswayConfig()
    init = np.zeros((3, cfg.n_levels), dtype=int)
    init[:, 6] = cfg.batteries_per_station
    inst = make_instance(cfg, init, np.ones((24, 2), int), np.ones((24, 2), int))
    return cfg, init, dynamics.cost_tables(inst), inst.init_counts[None].astype(np.int64)


def test_step_batch__wrong_shapes_raise_before_the_compiled_hour():
    """The compiled hour does no bounds checks; its wrappers name the array of wrong shape."""
    cfg, init, tables, counts = _every_battery_at_level_6()
    moves = np.zeros((1, 3, cfg.n_levels, len(tables.rates)), dtype=np.int64)
    dispatch = np.zeros((1, 2, 3), dtype=np.int64)
    for name, kwargs in [("dispatch", {"dispatch": np.zeros((1, 2, 2), dtype=np.int64)}),
                         ("moves", {"moves": moves[:, :2]}),
                         ("release", {"release": np.zeros((1, 3), dtype=np.int64)})]:
        args = {"moves": moves, "dispatch": dispatch, "release": None, **kwargs}
        with pytest.raises(ValueError, match=name):
            dynamics.step_batch(tables, cfg, 0, 0.1, counts, np.zeros_like(counts), **args)
    one = ExpresswayConfig(n_stations=1, station_km=(0.0,), release_station=0)
    inst1 = make_instance(one, init[:1], np.ones((24, 2), int), np.ones((24, 2), int))
    t1 = dynamics.cost_tables(inst1)
    with pytest.raises(ValueError, match="release"):
        dynamics.step_batch(t1, one, 0, 0.1, inst1.init_counts[None], np.zeros((1, 1, one.n_levels), int),
                            np.zeros((1, 1, one.n_levels, len(t1.rates)), int), np.zeros((1, 2, 1), int),
                            np.ones((1, 2), int))


def test_step_batch__negative_move_requests_move_nothing():
    """Moves are clamped to 0..present: a negative request executes no move (no grid
    energy, no cost), as ``dynamics.step`` and the envs already made sure."""
    cfg, _, tables, counts = _every_battery_at_level_6()
    moves = np.full((1, 3, cfg.n_levels, len(tables.rates)), -2, dtype=np.int64)
    hour = dynamics.step_batch(tables, cfg, 0, 0.1, counts, np.zeros_like(counts), moves,
                               np.zeros((1, 2, 3), dtype=np.int64), None)
    assert hour.moves.min() == 0 and hour.moves.max() == 0
    np.testing.assert_array_equal(hour.counts, counts)
    assert np.all(hour.station[:, dynamics.PPC] == 0.0)
