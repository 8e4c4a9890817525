"""The native batched SwapStation env equals N single envs, and the shared episode sampler."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode

import swapgym  # noqa: F401
from swapgym.envs.core import checks
from swapgym.envs.swap_station.config import SwapStationConfig
from swapgym.envs.swap_station.dynamics import (
    TransitionTables,
    action_bounds,
    array_min,
    hour,
    hour_money,
    hour_of_types,
    stock_value_change,
    stock_value_of_types,
    transition,
)
from swapgym.envs.swap_station.instance import EpisodeSampler, build_station, load_data
from swapgym.envs.swap_station.vector import SwapStationVectorEnv

ENV_ID = "swapgym/SwapStation-v0"


def _native(n: int, **config) -> SwapStationVectorEnv:
    return gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point", **config)


def _masked_actions(env, masks: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return checks.masked_vector_actions(env, masks, rng, 0)


def _compare_with_sync(n: int, steps: int, seed: int, resets: dict[int, np.ndarray] | None = None, **config):
    return checks.compare_vector_with_sync(ENV_ID, n, steps, seed, resets, **config)


def test_make_vec__returns_the_native_env_with_batched_spaces():
    info = checks.check_native_vector_spaces(ENV_ID, SwapStationVectorEnv)
    assert info["start"].shape == (3,) and info["_start"].all()


def test_transitions__equal_single_envs_over_episodes_and_autoresets():
    # 3 episodes of 24 h each for 4 sub-envs, including the autoreset steps
    assert _compare_with_sync(4, 3 * 25 + 2, seed=11) >= 12


@pytest.mark.parametrize("config", [
    {"allow_discharge": True, "soc_levels": 5, "levels_per_hour": 2, "return_soc": 0.2},
    {"episode_hours": 30},  # truncated by max_episode_steps = 24 before it terminates
    {"arrival_noise": "poisson", "initial_full_fraction": 1.0, "stock_value_per_kwh": 0.1, "split": "all"},
    {"capacity_kwh": (2.0,), "n_batteries": (12,), "n_chargers": (4,), "type_shares": (1.0,),
     "initial_full_fraction": 0.0, "soc_levels": 1, "return_soc": 0.0},
], ids=["discharge-lph2", "truncation", "poisson-full", "one-type-one-level"])
def test_transitions__equal_single_envs_for_other_configs(config):
    _compare_with_sync(3, 52, seed=5, **config)


def test_transitions__equal_single_envs_with_per_type_csv_arrivals(tmp_path):
    import pandas as pd

    hours = [t.isoformat() for t in pd.date_range("2024-01-01", periods=24 * 20, freq="h", tz="UTC")]
    prices = tmp_path / "p.csv"
    prices.write_text("timestamp,price_per_mwh\n" + "\n".join(f"{t},{40 + i % 24}" for i, t in enumerate(hours)))
    arrivals = tmp_path / "a.csv"
    arrivals.write_text("timestamp,arrivals_0,arrivals_1,arrivals_2\n"
                        + "\n".join(f"{t},{i % 5},{(i * 7) % 4},1" for i, t in enumerate(hours)))
    _compare_with_sync(2, 40, seed=3, price_csv=str(prices), arrivals_csv=str(arrivals), split="all",
                       arrival_scale=1.3)


def test_partial_reset_mask__desynchronised_sub_envs_stay_equal():
    resets = {5: np.array([True, False, True]), 30: np.array([False, True, False])}
    _compare_with_sync(3, 60, seed=2, resets=resets)


def test_partial_resets__contiguous_sub_envs_at_different_draw_positions_stay_equal():
    # sub-env 0 gets one reset more than sub-env 1, then both reset together (a contiguous
    # block whose rows of uniforms sit at different positions of their drawn-ahead blocks),
    # often enough to draw new blocks
    resets = {1: np.array([True, False, False])}
    resets.update({k: np.array([True, True, False]) for k in range(2, 16)})
    _compare_with_sync(3, 20, seed=6, resets=resets)


def test_determinism__same_seed_same_rollout_other_seed_differs():
    def roll(seed):
        env = _native(3)
        out = [env.reset(seed=seed)]
        rng = np.random.default_rng(0)
        for _ in range(30):
            out.append(env.step(_masked_actions(env, env.unwrapped.action_masks(), rng)))
        return out

    first, second = roll(4), roll(4)
    checks.assert_equal_transitions(first, second, "same seed")
    assert not np.array_equal(first[5][0]["stock"], roll(5)[5][0]["stock"])


def test_seed_list__sub_env_i_is_the_single_env_with_seed_i():
    env = _native(2)
    obs, _ = env.reset(seed=[7, 3])
    for i, s in enumerate([7, 3]):
        single, _ = gym.make(ENV_ID).reset(seed=s)
        for key in single:
            np.testing.assert_array_equal(obs[key][i], single[key])


@pytest.mark.parametrize("kwargs,field", [
    ({"num_envs": 0}, "num_envs"), ({"num_envs": 2.5}, "num_envs"), ({"num_envs": True}, "num_envs"),
    ({"num_envs": 2, "render_mode": "rgb_array"}, "render_mode"),
    ({"num_envs": 2, "autoreset_mode": AutoresetMode.SAME_STEP}, "autoreset_mode"),
    ({"num_envs": 2, "max_episode_steps": 0}, "max_episode_steps"),
    ({"num_envs": 2, "n_chargers": (0, 1, 1)}, "n_chargers"), ({"num_envs": 2, "no_such_field": 1}, "no_such_field"),
])
def test_bad_constructor_arguments__raise_naming_the_argument(kwargs, field):
    with pytest.raises(ValueError, match=field):
        SwapStationVectorEnv(**kwargs)


def test_bad_step_and_reset_arguments__raise():
    env = SwapStationVectorEnv(num_envs=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 12), dtype=np.int64))
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(seed=0, options={"reset_mask": np.array([True, False])})  # first reset must be full
    env.reset(seed=0)
    with pytest.raises(ValueError, match="actions: expected shape"):
        env.step(np.zeros(12, dtype=np.int64))
    with pytest.raises(ValueError, match="row 1"):
        env.step(np.array([[0] * 12, [0] * 11 + [99]]))
    with pytest.raises(ValueError, match="row 0"):
        env.step(np.array([[-1] + [0] * 11, [0] * 12]))
    with pytest.raises(ValueError, match="integers"):
        env.step(np.full((2, 12), 0.5))
    with pytest.raises(ValueError, match="seed"):
        env.reset(seed=[1, 2, 3])
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.array([1, 0])})
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"foo": 1})
    obs, *_ = env.step(np.ones((2, 12)))  # integral floats are accepted, like the single env
    assert obs["stock"].shape == (2, 15)


def test_transition__batch_rows_equal_single_calls_bit_for_bit():
    station = build_station(SwapStationConfig(allow_discharge=True, levels_per_hour=2, soc_levels=6))
    tables = TransitionTables(station)
    rng = np.random.default_rng(0)
    n, K, L = 64, station.n_types, station.n_levels
    levels = rng.multinomial(40, np.full(L + 1, 1 / (L + 1)), size=(n, K))
    charge, discharge = rng.integers(0, 11, (n, K, L)), rng.integers(0, 11, (n, K, L))
    arrivals, price = rng.integers(0, 9, (n, K)), rng.normal(0.1, 0.05, n)
    # the batch in the vectorised env's batch-innermost memory layout
    lm = np.ascontiguousarray(levels.transpose(2, 1, 0)).transpose(2, 1, 0)
    batch = transition(station, tables, lm, charge, discharge, arrivals, price)
    for i in range(n):
        one = transition(station, tables, levels[i], charge[i], discharge[i], arrivals[i], float(price[i]))
        for field in ("levels", "charged_from", "discharged_from", "swaps", "stored_kwh", "swap_revenue",
                      "lost_swap_penalty", "energy_cost", "degradation_cost", "grid_import_kwh", "grid_export_kwh"):
            np.testing.assert_array_equal(getattr(batch, field)[i], getattr(one, field), err_msg=field)


@pytest.mark.parametrize("config", [{}, {"allow_discharge": True, "levels_per_hour": 2, "soc_levels": 6}])
def test_hour__python_ints_per_type_equal_one_array_call_exactly(config):
    # the single env runs dynamics.hour / hour_money per type on Python ints, the vector env
    # once on (K, N) arrays: the same numbers, floats to the bit
    station = build_station(SwapStationConfig(**config))
    tables = TransitionTables(station)
    rng = np.random.default_rng(1)
    n, K, L = 200, station.n_types, station.n_levels
    levels = rng.multinomial(40, np.full(L + 1, 1 / (L + 1)), size=(K, n)).transpose(0, 2, 1)  # (K, L+1, N)
    charge, discharge = rng.integers(0, 11, (L, K, n)), rng.integers(0, 11, (L, K, n))
    arrivals, price = rng.integers(0, 9, (K, n)), rng.normal(0.1, 0.05, n)
    dis = discharge if station.allow_discharge else None
    new, _, _, gained, dropped, swaps, lost = hour(list(levels.transpose(1, 0, 2)), charge, dis, arrivals,
                                                   tables.bays_col, tables.moves, array_min)
    batch_money = hour_money(tables, price, gained, dropped, swaps, lost, dis is not None)
    for i in range(n):
        per_type = [hour(levels[k, :, i].tolist(), charge[:, k, i].tolist(),
                         None if dis is None else dis[:, k, i].tolist(), int(arrivals[k, i]), tables.bays_list[k],
                         tables.moves) for k in range(K)]
        one_new, _, _, one_gained, one_dropped, one_swaps, one_lost = zip(*per_type)
        assert [[int(row[k, i]) for row in new] for k in range(K)] == [list(r) for r in one_new]
        one_money = hour_money(tables, float(price[i]), one_gained, one_dropped, one_swaps, one_lost,
                               dis is not None)
        for name, a, b in zip(("stored", "removed", "bought", "sold", "revenue", "penalty", "energy",
                               "degradation"), batch_money, one_money, strict=True):
            if a is None:
                assert b is None, name
            elif isinstance(a, list):
                assert [float(x[i]) for x in a] == list(b), name
            else:
                assert float(a[i]) == b and type(b) is float, name


@pytest.mark.parametrize("config", [{}, {"allow_discharge": True}, {"n_chargers": (3, 5, 7)},
                                    {"allow_discharge": True, "levels_per_hour": 2, "soc_levels": 6, "return_soc": 0.5}])
def test_hour_of_types__compiled_equals_python_hour_per_type(config):
    # the single env runs dynamics.hour compiled (numba), every type in one call
    station = build_station(SwapStationConfig(**config))
    tables = TransitionTables(station)
    rng = np.random.default_rng(4)
    K, L = station.n_types, station.n_levels
    D = K * L * (2 if station.allow_discharge else 1)
    for _ in range(300):
        levels = rng.multinomial(40, np.full(L + 1, 1 / (L + 1)), size=K)
        action = rng.integers(0, station.n_chargers.max() + 1, D)
        action = np.minimum(action, np.tile(np.repeat(station.n_chargers, L), D // (K * L)))
        arrivals = rng.integers(0, 12, K)
        new, out = np.empty((K, L + 1), np.int64), np.empty((2 * L + 5, K), np.int64)
        assert hour_of_types(levels, action, arrivals, tables.compiled_params, new, out) == 0
        a = action.tolist()
        for k in range(K):
            dis = a[(K + k) * L:(K + k + 1) * L] if station.allow_discharge else None
            ref = hour(levels[k].tolist(), a[k * L:(k + 1) * L], dis, int(arrivals[k]), tables.bays_list[k],
                       tables.moves)
            assert new[k].tolist() == ref[0] and out[:L, k].tolist() == ref[1]
            assert dis is None or out[L:2 * L, k].tolist() == ref[2]
            assert out[2 * L:, k].tolist() == [*ref[3:], ref[0][L]]
    action[0] = station.n_chargers[0] + 1  # outside the space: nothing computed, -1
    assert hour_of_types(levels, action, arrivals, tables.compiled_params, new, out) == -1


@pytest.mark.parametrize("config", [{}, {"capacity_kwh": (1.7, 2.3), "n_batteries": (30, 50), "n_chargers": (4, 9),
                                     "type_shares": (0.6, 0.4), "soc_levels": 6}])
def test_stock_value__python_numbers_equal_the_array_version_exactly(config):
    station = build_station(SwapStationConfig(**config))
    rng = np.random.default_rng(2)
    K, L = station.n_types, station.n_levels
    for _ in range(200):
        start, end = (rng.multinomial(40, np.full(L + 1, 1 / (L + 1)), size=K) for _ in range(2))
        value = rng.normal(0.2, 0.1, K)
        one = stock_value_of_types(station.level_kwh.tolist(), value.tolist(), start.tolist(), end.tolist())
        assert type(one) is float and one == float(stock_value_change(station, value, start, end))


@pytest.mark.parametrize("config", [{}, {"allow_discharge": True}, {"n_chargers": (3, 5, 7)},
                                    {"n_chargers": (3, 5, 7), "allow_discharge": True}])
def test_single_env_masks__are_the_action_bounds(config):
    # equal bays take a shortcut (a clipped take); every config gives "0..bound allowed" per entry
    env = gym.make(ENV_ID, **config).unwrapped
    env.reset(seed=0)
    rng = np.random.default_rng(3)
    for _ in range(50):
        env.state.levels = rng.multinomial(40, np.full(env.station.n_levels + 1, 0.2), size=env.station.n_types)
        bounds = action_bounds(env._tables, env.state.levels)
        expected = np.concatenate([np.arange(n) <= b for n, b in zip(env.action_space.nvec, bounds, strict=True)])
        np.testing.assert_array_equal(env.action_masks(), expected)


def test_episode_sampler__draws_the_documented_distributions():
    config = SwapStationConfig(initial_full_fraction=0.3, split="all")
    station = build_station(config)
    sampler = EpisodeSampler(config, station, load_data(config))
    u = np.random.default_rng(0).random((3000, sampler.n_uniforms))
    d = sampler.draw(u)
    L = station.n_levels
    full = d["levels"][..., L].sum() / d["levels"].sum()
    assert abs(full - 0.3) < 0.01
    # non-full packs uniform over 0..L-1
    lower = d["levels"][..., :L].sum((0, 1)) / d["levels"][..., :L].sum()
    np.testing.assert_allclose(lower, 1 / L, atol=0.01)
    # total counts: unbiased stochastic rounding of the scaled data; split by the type shares
    arrivals = d["arrivals"]
    totals = arrivals.sum(-1)
    rows = d["arrival_start"][:, None] - config.arrival_history_hours + np.arange(sampler.hours)
    np.testing.assert_allclose(totals.mean(), sampler.raw[rows].mean(), rtol=0.01)
    assert np.all(np.abs(totals - sampler.raw[rows]) < 1)
    np.testing.assert_allclose(arrivals.sum((0, 1)) / totals.sum(), station.type_shares, atol=0.01)
    # the split's second stage is binomial given the first: check its variance too
    n, x1 = totals - arrivals[..., 0], arrivals[..., 1]
    p = station.type_shares[1] / station.type_shares[1:].sum()
    sel = n == 10
    assert abs(x1[sel].mean() - 10 * p) < 0.1 and abs(x1[sel].var() - 10 * p * (1 - p)) < 0.15


def test_perf_vector_sampler__valid_uniform_actions_and_measurement_runs():
    from swapgym.benchmarks import perf

    env = _native(64, allow_discharge=True)
    env.reset(seed=0)
    action = perf.batched_valid_action_sampler(env, seed=0)
    nvec = env.single_action_space.nvec
    offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
    counts = np.zeros(nvec.sum())
    for k in range(8):
        masks = env.unwrapped.action_masks()
        a = action(k)
        assert masks[np.arange(64)[:, None], offsets + a].all(), "sampled a masked-out value"
        np.add.at(counts, (offsets + a).ravel(), 1)
        env.step(a)
    assert (counts > 0).sum() > len(nvec) * 2  # not stuck on one value per dimension
    steps, seconds = perf.measure_vector(ENV_ID, num_envs=16, seconds=0.05)
    assert steps % 16 == 0 and steps > 0 and seconds > 0
    assert perf.vector_steps_per_s(ENV_ID, 16, 0.05) > 0


def test_pickle__a_pickled_vector_env_continues_identically():
    import pickle

    env = _native(3)
    env.reset(seed=1)
    actions = np.ones((3, 12), dtype=np.int64)
    for _ in range(5):
        env.step(actions)
    clone = pickle.loads(pickle.dumps(env))
    for k in range(30):  # across an autoreset
        checks.assert_equal_transitions(env.step(actions), clone.step(actions), f"step {k}")
