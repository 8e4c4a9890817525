"""Expressway-v0: contract checks, invariants, Hungarian vs brute force, MILP vs
enumeration on a toy day, replay of the oracle plan, bad configs, bad actions."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest

import swapgym  # noqa: F401
from swapgym.baselines.expressway import (
    GreedyPolicy,
    PSOPolicy,
    hungarian_assign,
    solve_milp,
)
from swapgym.baselines.optim.pso import PSOConfig
from swapgym.envs.core import checks
from swapgym.envs.expressway import ActionLayout, ExpresswayConfig, dynamics, make_instance

ENV_ID = "swapgym/Expressway-v0"


def test_contract_and_standard_checks():
    checks.check_all(ENV_ID, n_steps=120)
    checks.check_masks(ENV_ID, n_steps=48)
    checks.check_render(ENV_ID)


def _invariant(env, obs, reward, info):
    st = env.unwrapped.state
    c = env.unwrapped.config
    assert np.all(st.counts >= 0)
    # battery count per station conserved
    assert np.all(st.counts.sum(axis=1) == c.batteries_per_station)
    # energy balance: grid energy = net SOC steps added by charging (B2B nets to zero)
    assert info["grid_power_kw"] >= -1e-9
    for v in info["reward_breakdown"].values():
        assert np.isfinite(v)


def test_invariants_over_random_rollout():
    env = gym.make(ENV_ID)
    checks.rollout(env, seed=3, n_steps=240, invariant=_invariant)


def test_energy_balance_per_station_closes():
    env = gym.make(ENV_ID)
    env.reset(seed=5)
    u = env.unwrapped
    rng = np.random.default_rng(0)
    from swapgym.envs.core.spaces import random_valid_action

    step_kwh = u.config.step_kwh
    for _ in range(24):
        before = u.state.counts.copy()
        _, _, term, _, info = u.step(random_valid_action(u, rng))
        res = u._history[-1]
        after_moves = dynamics.apply_moves(before, res.moves, u.tables.rates)
        lv = np.arange(u.config.n_levels)
        gained = (after_moves - before) @ lv * step_kwh
        np.testing.assert_allclose(gained, info["grid_power_kw_per_station"] * u.config.dt_h)
        if term:
            break


def test_hungarian_matches_brute_force():
    cfg = ExpresswayConfig(n_stations=2, batteries_per_station=3, station_km=(0.0, 80.0))
    inst = make_instance(cfg, [[3] + [0] * 12, [3] + [0] * 12], np.zeros((24, 2)), np.zeros((24, 2)))
    tab = dynamics.cost_tables(inst)
    levels = np.array([2, 9, 12])
    up = np.flatnonzero(tab.rates > 0)
    for units in range(0, 6):
        steps = hungarian_assign(levels, units, tab, cfg.ready_level)

        def cost(s):
            total = 0.0
            for lv, k in zip(levels, s):
                if k:
                    mc = tab.move_cost[lv, up[k - 1]]
                    if not np.isfinite(mc):
                        return np.inf
                    urg = lv + 1.0 if lv < cfg.ready_level else 0.1
                    total += mc - 1e-3 * urg * k + 1e-6 * k * (k - 1) / 2
            return total

        best = min((cost(s), s) for s in itertools.product(range(4), repeat=3) if sum(s) == units)
        assert steps.sum() == units
        assert cost(steps) == pytest.approx(best[0], abs=1e-12)


def _toy():
    cfg = ExpresswayConfig(n_stations=2, batteries_per_station=3, horizon_h=3,
                           station_km=(0.0, 80.0), price_per_kwh=(0.05, 0.2, 0.1),
                           arrival_rate_per_h=(1, 1, 1), max_charge_steps=1,
                           max_arrivals_per_class=2, max_release_per_class=1)
    init = np.zeros((2, cfg.n_levels), dtype=int)
    init[0, [6, 11, 12]] = 1
    init[1, [4, 10, 12]] = 1
    arrivals = [[1, 0], [0, 1], [1, 1]]
    release = [[0, 1], [1, 0], [0, 0]]
    return cfg, make_instance(cfg, init, arrivals, release)


def _enumerate_best(inst, b2b, release):
    """Brute force over every action sequence (depth-first, per-hour enumeration)."""
    c = inst.config
    tab = dynamics.cost_tables(inst)
    r = tab.rates
    def station_options(counts):
        per_level = []
        for lv in range(c.n_levels):
            cols = [j for j in range(len(r)) if np.isfinite(tab.move_cost[lv, j]) and (r[j] > 0 or b2b)]
            opts = []
            for combo in itertools.product(range(counts[lv] + 1), repeat=len(cols)):
                if sum(combo) <= counts[lv]:
                    v = np.zeros(len(r), dtype=int)
                    v[cols] = combo
                    opts.append(v)
            per_level.append(opts)
        for choice in itertools.product(*per_level):
            yield np.stack(choice)

    memo: dict = {}

    def cost_to_go(state):
        """Dynamic programming over the (few) distinct states: exact enumeration."""
        if state.t == c.horizon_h:
            return 0.0
        key = (state.t, state.counts.tobytes(), state.incoming.tobytes())
        if key in memo:
            return memo[key]
        t = state.t
        disp_opts = []
        for ci in range(2):
            a = int(inst.arrivals[t, ci])
            disp_opts.append([np.array([a - k, k]) for k in range(a + 1)])
        rel_opts = [np.zeros(2, int)]
        if release:
            rel_opts = [np.array(v) for v in itertools.product(
                range(inst.release_candidates[t, 0] + 1), range(inst.release_candidates[t, 1] + 1))]
        best = np.inf
        for m0 in station_options(state.counts[0]):
            for m1 in station_options(state.counts[1]):
                moves = np.stack([m0, m1])
                if (moves * r).sum(axis=(1, 2)).min() < 0:
                    continue
                for d in itertools.product(*disp_opts):
                    for rl in rel_opts:
                        new, res = dynamics.step(inst, tab, state, moves, np.stack(d), rl)
                        if res.unserved.sum() or not np.array_equal(res.release_by_class, rl):
                            continue
                        best = min(best, res.cost + cost_to_go(new))
        memo[key] = best
        return best

    return cost_to_go(dynamics.initial_state(inst))


@pytest.mark.parametrize("b2b,release", [
    (False, False), pytest.param(True, True, marks=pytest.mark.slow)])
def test_milp_equals_enumeration_on_toy(b2b, release):
    _, inst = _toy()
    plan = solve_milp(inst, b2b=b2b, release=release)
    assert plan.objective == pytest.approx(_enumerate_best(inst, b2b, release), abs=1e-6)


def test_oracle_replay_reproduces_milp_objective_and_pso_is_bounded():
    cfg, inst = _toy()
    plan = solve_milp(inst, b2b=True, release=True)
    env = gym.make(ENV_ID, config=cfg)
    env.reset(seed=0, options={"instance": inst})
    lay = ActionLayout(cfg)
    total = 0.0
    for t in range(cfg.horizon_h):
        _, rew, term, _, _ = env.step(lay.encode(plan.moves[t], plan.dispatch[t], plan.release[t]))
        total -= rew
    assert term
    assert total == pytest.approx(plan.objective, abs=1e-6)
    for pol in (PSOPolicy(True, True, pso=PSOConfig(6, 4)), GreedyPolicy()):
        env.reset(seed=0, options={"instance": inst})
        pol.reset(env)
        cost, done = 0.0, False
        while not done:
            _, rew, done, _, _ = env.step(pol.predict(None)[0])
            cost -= rew
        assert cost >= plan.objective - 1e-6


def test_oracle_replay_full_day_m1_setting():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    inst = env.unwrapped.instance
    plan = solve_milp(inst, b2b=False, release=True, time_limit_s=20)
    lay = ActionLayout(inst.config)
    total = 0.0
    for t in range(inst.config.horizon_h):
        _, rew, _, _, _ = env.step(lay.encode(plan.moves[t], plan.dispatch[t], plan.release[t]))
        total -= rew
    assert total == pytest.approx(plan.objective, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("field,value", [
    ("n_stations", 0), ("batteries_per_station", -1), ("soc_min", 0.9), ("soc_step", 0.07),
    ("p_ch_max_kw", 0.0), ("lambda_release", 1.5), ("price_per_kwh", (0.1,) * 5),
    ("arrival_rate_per_h", (-1.0,) * 24), ("station_km", (0.0, 80.0)), ("release_station", 2),
    ("ev_soc_choices", (0.33,)), ("unserved_penalty_usd", -1.0), ("terminal_soc", 0.9),
    ("max_charge_steps", 0), ("horizon_h", 0), ("not_a_field", 1),
])
def test_bad_config_names_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_out_of_space_action_raises_clear_error():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.zeros(3, dtype=np.int64))
    bad = np.zeros(env.action_space.shape, dtype=np.int64)
    bad[0] = 10_000
    with pytest.raises(ValueError, match="MultiDiscrete"):
        env.step(bad)


def test_pso_baselines_smoke():
    from swapgym.benchmarks.runner import evaluate

    for name in ("m1", "m2", "m3", "greedy"):
        df = evaluate(name, ENV_ID, [0], batteries_per_station=10,
                      arrival_rate_per_h=(1.0,) * 24, max_arrivals_per_class=6)
        assert np.isfinite(df.episode_return).all()
