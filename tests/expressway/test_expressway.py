"""Expressway-v0: contract checks, invariants, Hungarian vs brute force, MILP vs
enumeration on a toy day, replay of the oracle plan, bad configs, bad actions."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swapgym  # noqa: F401
from swapgym.baselines.expressway import (
    GreedyPolicy,
    OraclePolicy,
    PSOPolicy,
    hungarian_assign,
    solve_milp,
)
from swapgym.baselines.optim.pso import PSOConfig
from swapgym.envs.core import checks
from swapgym.envs.core.spaces import random_valid_action
from swapgym.envs.core.strategies import configs
from swapgym.envs.core.timeseries import shipped_prices
from swapgym.envs.expressway import ActionLayout, ExpresswayConfig, dynamics, make_instance
from swapgym.envs.expressway.instance import draw_day

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
        res = u.history[-1]
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
    (False, False), (False, True), pytest.param(True, False, marks=pytest.mark.slow),
    pytest.param(True, True, marks=pytest.mark.slow)])
def test_milp_equals_enumeration_on_toy(b2b, release):
    _, inst = _toy()
    plan = solve_milp(inst, b2b=b2b, release=release, mip_rel_gap=0.0)
    assert plan.optimal
    assert plan.objective == pytest.approx(_enumerate_best(inst, b2b, release), abs=1e-6)


def test_oracle_replay_reproduces_milp_objective_and_pso_is_bounded():
    cfg, inst = _toy()
    plan = solve_milp(inst, b2b=True, release=True, mip_rel_gap=0.0)
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
    ("price_source", "spot"), ("price_date", "2019-06-01"), ("price_date", "yesterday"),
    ("release_counterfactual", 1), ("station_km", (240.0, 320.0, 400.0)),  # no class reaches one
])
def test_bad_config_names_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_bad_config__release_gap_beyond_a_full_battery_names_station_km():
    with pytest.raises(ValueError, match="station_km"):
        gym.make(ENV_ID, n_stations=2, station_km=(0.0, 560.0))


def test_out_of_space_action_raises_clear_error():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.zeros(3, dtype=np.int64))
    bad = np.zeros(env.action_space.shape, dtype=np.int64)
    bad[0] = 10_000
    with pytest.raises(ValueError, match="MultiDiscrete"):
        env.step(bad)
    bad[0], bad[-1] = 0, -1  # the last entry (a release count) out of range, below
    with pytest.raises(ValueError, match="MultiDiscrete"):
        env.step(bad)
    # a rejected action changes nothing: the next valid step is a fresh env's first step
    fresh = gym.make(ENV_ID)
    fresh.reset(seed=0)
    ok = np.zeros(env.action_space.shape, dtype=np.int64)
    checks.assert_equal_transitions(env.step(ok), fresh.step(ok), "after rejected actions")


def _day(config: ExpresswayConfig):
    init = np.zeros((config.n_stations, config.n_levels), dtype=np.int64)
    init[:, 0] = config.batteries_per_station
    T = config.horizon_h
    return make_instance(config, init, np.zeros((T, 2)), np.zeros((T, 2)))


@pytest.mark.parametrize(("other", "field"), [
    ({"n_stations": 2, "station_km": (0.0, 80.0)}, r"init_counts"),
    ({"max_charge_steps": 2}, r"config\.max_charge_steps"),
    ({"price_per_kwh": (0.1,) * 6, "horizon_h": 6, "arrival_rate_per_h": (1.0,) * 6}, r"init_counts|arrivals"),
])
def test_reset_with_an_instance_of_another_size_names_the_field_and_changes_nothing(other, field):
    """The compiled step indexes the env's arrays without bounds checks: an instance that
    does not fit is refused before anything changes."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=1)
    rng = np.random.default_rng(1)
    env.step(random_valid_action(env, rng))
    before = (env.instance, env.state.t, env.action_masks())
    with pytest.raises(ValueError, match=r"options\['instance'\]\.(" + field + ")"):
        env.reset(options={"instance": _day(ExpresswayConfig(**other))})
    assert env.instance is before[0] and env.state.t == before[1]
    np.testing.assert_array_equal(env.action_masks(), before[2])
    env.step(random_valid_action(env, rng))  # the day goes on


def test_reset_with_an_instance_whose_prices_are_too_short_names_price_per_kwh():
    import dataclasses

    env = gym.make(ENV_ID).unwrapped
    inst = _day(env.config)
    short = dataclasses.replace(inst, price_per_kwh=inst.price_per_kwh[:6])
    with pytest.raises(ValueError, match=r"price_per_kwh"):
        env.reset(options={"instance": short})


def test_episode_struct_holds_the_env_arrays_field_by_field():
    """The compiled struct is built by position: each field, read by name in compiled
    code, must be the array or value the env means by that name."""
    from numba import njit

    from swapgym.envs.expressway.env import EPISODE_FIELDS

    @njit
    def read(ep):
        return (ep.tab, ep.nvec, ep.arrivals, ep.candidates, ep.release_open, ep.prices,
                ep.stock0, ep.obs_hours, ep.mask_hours, ep.actions, ep.out, ep.cf, ep.dispatch,
                ep.release, ep.obs, ep.mask, ep.with_cf, ep.scale, ep.hour_obs,
                ep.max_arrivals, ep.max_release, ep.day_sums, ep.saving)

    names = ("tab", "nvec", "arrivals", "candidates", "release_open", "prices", "stock0",
             "obs_hours", "mask_hours", "actions", "out", "cf", "dispatch", "release", "obs",
             "mask", "with_cf", "scale", "hour_obs", "max_arrivals", "max_release", "day_sums",
             "saving")
    assert set(names) == set(EPISODE_FIELDS)
    env = gym.make(ENV_ID, max_arrivals_per_class=7, max_release_per_class=3).unwrapped
    env.reset(seed=0)
    fields = env._episode_fields()
    assert tuple(fields) == EPISODE_FIELDS
    for name, got in zip(names, read(env._ep)):
        want = fields[name]
        pairs = zip(got, want) if isinstance(want, tuple) else [(got, want)]
        for g, w in pairs:
            if isinstance(w, np.ndarray):
                assert g.shape == w.shape and np.shares_memory(g, w), name
            else:
                assert g == w, name


def test_state_history_and_info_are_snapshots():
    """The env reuses its episode arrays from day to day: what it hands out must not
    change when it steps on, resets, or when the caller writes to it."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=4)
    rng = np.random.default_rng(4)
    _, _, _, _, info = env.step(random_valid_action(env, rng))
    state, history = env.state, env.history
    kept = (None, history[0].ppc.copy(), info["ppc_usd_per_station"].copy(),
            info["served_per_station"].copy())
    state.counts[:] = 99  # writing to the snapshot changes nothing in the env
    assert np.all(env.state.counts <= env.config.batteries_per_station)
    for _ in range(30):  # past the day's end into the next day
        _, _, term, _, _ = env.step(random_valid_action(env, rng))
        if term:
            env.reset(seed=5)
    np.testing.assert_array_equal(history[0].ppc, kept[1])
    np.testing.assert_array_equal(info["ppc_usd_per_station"], kept[2])
    np.testing.assert_array_equal(info["served_per_station"], kept[3])


def test_moves_mask__value_k_allowed_iff_k_batteries_at_the_level_can_make_the_move():
    """The mask the compiled step writes, against its definition computed from the state."""
    env = gym.make(ENV_ID).unwrapped
    env.reset(seed=6)
    rng = np.random.default_rng(6)
    lay, c = env.layout, env.config
    width = c.batteries_per_station + 1
    for _ in range(30):
        mask = env.action_masks()
        head = mask[: lay.n_moves * width].reshape(*lay.moves_shape, width)
        counts = env.state.counts
        k = np.arange(width)
        want = (k <= counts[:, :, None, None]) & env.tables.feasible[None, :, :, None].astype(bool)
        want[..., 0] = True
        np.testing.assert_array_equal(head, want)
        _, _, term, _, _ = env.step(random_valid_action(env, rng))
        if term:
            env.reset()


def test_pso_baselines_smoke():
    from swapgym.benchmarks.runner import evaluate

    for name in ("m1", "m2", "m3", "greedy"):
        df = evaluate(name, ENV_ID, [0], batteries_per_station=10,
                      arrival_rate_per_h=(1.0,) * 24, max_arrivals_per_class=6)
        assert np.isfinite(df.episode_return).all()


def test_milp_m2_m3_warm_start__no_silent_fallback():
    """M2/M3 start from the M1 optimum; on a time-out the plan says so and carries its gap,
    and whatever is returned replays to its objective in the env."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    inst = env.unwrapped.instance
    m1 = solve_milp(inst, False, False, time_limit_s=20)
    assert m1.optimal and m1.mip_gap <= 1e-4
    m3 = solve_milp(inst, True, True, time_limit_s=3, warm_start=m1)
    assert m3.objective <= m1.objective + 1e-6
    assert m3.bound <= m3.objective + 1e-6
    assert np.isfinite(m3.mip_gap) and 0.0 <= m3.mip_gap < 0.1
    assert m3.optimal == (m3.status == "Optimal")
    lay = ActionLayout(inst.config)
    total = 0.0
    for t in range(inst.config.horizon_h):
        _, rew, _, _, _ = env.step(lay.encode(m3.moves[t], m3.dispatch[t], m3.release[t]))
        total -= rew
    assert total == pytest.approx(m3.objective, rel=1e-9, abs=1e-6)


def test_oracle_reports_gap_in_episode_metrics():
    cfg, inst = _toy()
    env = gym.make(ENV_ID, config=cfg)
    env.reset(seed=0, options={"instance": inst})
    pol = OraclePolicy()
    pol.reset(env)
    info, done = {}, False
    while not done:
        _, _, done, _, info = env.step(pol.predict(None)[0])
    m = info["episode_metrics"]
    assert m["planner_time_limit_hit"] == 0.0 and m["planner_mip_gap"] <= 1e-4
    assert m["planner_solve_time_s"] > 0
    env.reset(seed=0, options={"instance": inst})
    assert env.unwrapped.episode_metrics() == {}  # reset clears what the planner noted


def test_milp__instance_that_cannot_serve_every_ev_raises_clearly():
    cfg, _ = _toy()
    init = np.zeros((2, cfg.n_levels), dtype=int)
    init[:, 0] = 3  # nothing ready, and no time to charge before the first swap
    inst = make_instance(cfg, init, [[2, 2], [0, 0], [0, 0]], np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match="MILP"):
        solve_milp(inst, False, False)


@pytest.mark.parametrize("kw", [
    {},
    # stations before the release station and after the next one: the counterfactual hours
    # take their outputs from the played hour (dynamics._hour's replay)
    {"n_stations": 4, "station_km": (0.0, 80.0, 160.0, 240.0), "release_station": 1,
     "release_candidates_per_h": 4.0},
])
def test_release_saving_is_eq19_counterfactual(kw):
    """info's R_BSS of an hour = day cost replayed without that hour's releases minus the
    day cost as played (eq. 19); the payment is λ times it (eq. 18)."""
    env = gym.make(ENV_ID, **kw)
    env.reset(seed=2)
    u = env.unwrapped
    rng = np.random.default_rng(0)
    actions, costs, info, done = [], 0.0, {}, False
    while not done:
        a = random_valid_action(u, rng)
        actions.append(a)
        _, rew, done, _, info = env.step(a)
        costs -= rew
    saving = info["release_saving_usd_per_hour"]
    hours = [t for t, r in enumerate(u.history) if r.released]
    assert hours, "random actions should release some EVs"
    for t in hours[:3]:
        e2 = gym.make(ENV_ID, **kw)
        e2.reset(seed=2)
        cost = 0.0
        for k, a in enumerate(actions):
            m, d, r = u.layout.decode(a)
            if k == t:
                r = np.zeros_like(r)
            _, rew, _, _, _ = e2.step(u.layout.encode(m, d, r))
            cost -= rew
        assert saving[t] == pytest.approx(cost - costs, abs=1e-9)
    assert np.all(saving[[t for t in range(len(saving)) if t not in hours]] == 0)
    np.testing.assert_allclose(info["release_payment_usd_per_hour"], u.config.lambda_release * saving)
    m = info["episode_metrics"]
    assert m["release_payment_usd"] == pytest.approx(u.config.lambda_release * saving.sum())


def test_prices__smard_day_by_default_tou_and_explicit_on_request():
    series = shipped_prices()
    assert series.start.startswith("2018-01-01T00:00")
    day = int((np.datetime64("2018-10-18") - np.datetime64("2018-01-01")).astype(int))
    expected = series.values[24 * day: 24 * day + 24] / 1000.0
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    np.testing.assert_allclose(env.unwrapped.instance.price_per_kwh, expected)
    tou = gym.make(ENV_ID, price_source="tou")
    tou.reset(seed=0)
    assert tou.unwrapped.instance.price_per_kwh.max() == pytest.approx(0.16)
    fixed = gym.make(ENV_ID, price_per_kwh=(0.1,) * 24)
    fixed.reset(seed=0)
    assert np.all(fixed.unwrapped.instance.price_per_kwh == 0.1)
    other = ExpresswayConfig(price_date="2018-05-01")  # a day with negative prices
    assert min(other.hourly_price_per_kwh) < 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(ExpresswayConfig,
                   batteries_per_station=st.integers(1, 12),
                   max_charge_steps=st.integers(1, 3),
                   max_arrivals_per_class=st.integers(1, 8),
                   max_release_per_class=st.integers(0, 3),
                   release_candidates_per_h=st.floats(0.0, 4.0),
                   lambda_release=st.floats(0.0, 1.0),
                   price_source=st.sampled_from(["smard", "tou"]),
                   price_date=st.sampled_from(["2018-01-17", "2018-05-01", "2018-10-18"])),
       seed=st.integers(0, 2**16))
def test_property__random_configs_keep_invariants(cfg, seed):
    """Any valid config: batteries conserved per station, SOC on the grid, per-station
    energy balance closes, grid power ≥ 0 (eq. 12), no NaN, eq. (19) savings finite."""
    env = gym.make(ENV_ID, config=cfg)
    env.reset(seed=seed)
    u = env.unwrapped
    rng = np.random.default_rng(seed)
    lv = np.arange(cfg.n_levels)
    done, info = False, {}
    while not done:
        before = u.state.counts.copy()
        _, rew, done, _, info = env.step(random_valid_action(u, rng))
        res = u.history[-1]
        assert np.isfinite(rew)
        assert np.all(u.state.counts >= 0)
        assert np.all(u.state.counts.sum(axis=1) == cfg.batteries_per_station)
        gained = (dynamics.apply_moves(before, res.moves, u.tables.rates) - before) @ lv
        np.testing.assert_allclose(gained * cfg.step_kwh, res.grid_kwh)
        assert np.all(res.grid_kwh >= 0)
        assert sum(info["reward_breakdown"].values()) == pytest.approx(rew)
    assert all(np.isfinite(v) for v in info["episode_metrics"].values())
    assert np.all(np.isfinite(info["release_saving_usd_per_hour"]))


def test_pso__same_seed_same_day():
    """Seeded PSO (with its per-hour memo of the Hungarian step and last-hour particles)
    is reproducible."""
    cfg, inst = _toy()
    out = []
    for _ in range(2):
        env = gym.make(ENV_ID, config=cfg)
        env.reset(seed=0, options={"instance": inst})
        pol = PSOPolicy(True, True, pso=PSOConfig(6, 4))
        pol.reset(env)
        acts = []
        done = False
        while not done:
            a = pol.predict(None)[0]
            acts.append(a)
            _, _, done, _, _ = env.step(a)
        out.append(np.stack(acts))
    np.testing.assert_array_equal(out[0], out[1])


@pytest.mark.parametrize("kw", [
    {},
    {"release_candidates_per_h": 8.0, "max_release_per_class": 3},
    {"ev_soc_choices": (0.3, 0.35, 0.4), "arrival_rate_per_h": (40.0,) * 24, "max_arrivals_per_class": 50},
    {"n_stations": 2, "station_km": (0.0, 80.0), "batteries_per_station": 10,
     "release_soc_choices": (0.7, 0.75, 0.8)},
    # an odd number of bounded-integer draws (numpy draws them two to a 64-bit word)
    {"batteries_per_station": 21, "arrival_rate_per_h": (0.0,) * 12 + (1000.0,) * 12,
     "max_arrivals_per_class": 600},
])
@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.Philox])
def test_draw_day_takes_numpys_draws(kw, bits):
    """The compiled draw of a day (instance._draw_day) gives what numpy's Generator calls
    give on the same stream, and leaves the stream where they leave it."""
    c = ExpresswayConfig(**kw)
    levels = np.array([c.level_of(s) for s in c.init_soc_choices])
    C, M = len(c.ev_soc_choices), len(c.release_soc_choices)
    for seed in range(40):
        rng, ref = np.random.Generator(bits(seed)), np.random.Generator(bits(seed))
        init, arrivals, candidates = draw_day(c, rng)
        picks = levels[ref.integers(0, len(levels), size=(c.n_stations, c.batteries_per_station))]
        want_init = np.stack([np.bincount(p, minlength=c.n_levels) for p in picks])
        want_arr = ref.multinomial(ref.poisson(c.arrival_rate_per_h), np.full(C, 1 / C))
        want_cand = ref.multinomial(ref.poisson(c.release_candidates_per_h, c.horizon_h),
                                    np.full(M, 1 / M))
        np.testing.assert_array_equal(init, want_init)
        np.testing.assert_array_equal(arrivals, np.minimum(want_arr, c.max_arrivals_per_class))
        np.testing.assert_array_equal(candidates, np.minimum(want_cand, c.max_release_per_class))
        assert rng.integers(1 << 62) == ref.integers(1 << 62)
    with pytest.raises(TypeError, match="rng"):
        draw_day(c, np.random.RandomState(0))


def test_reset_after_a_played_day_starts_clean():
    """The episode's arrays are reused and reset does not clear the record: a day played
    after another must report what a fresh env reports (steps, state, history, metrics)."""
    rng = np.random.default_rng(3)
    used = gym.make(ENV_ID).unwrapped
    used.reset(seed=9)
    for _ in range(24):
        used.step(random_valid_action(used, rng))
    used.reset(seed=11)
    fresh = gym.make(ENV_ID).unwrapped
    fresh.reset(seed=11)
    for _ in range(10):
        a = random_valid_action(fresh, rng)
        checks.assert_equal_transitions(used.step(a), fresh.step(a))
    checks.assert_equal_transitions(used.episode_metrics(), fresh.episode_metrics())
    np.testing.assert_array_equal(used.release_savings(), fresh.release_savings())
    checks.assert_equal_transitions(vars(used.state), vars(fresh.state))
    for h_used, h_fresh in zip(used.history, fresh.history, strict=True):
        checks.assert_equal_transitions(vars(h_used), vars(h_fresh))
