"""Property tests: random valid configurations and random instances, random masked
actions — the model's invariants and the LP lower bound hold for every one of them."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import swapgym  # noqa: F401
from swapgym.baselines.fleet_v2v.bound import lp_lower_bound
from swapgym.envs.core import checks, strategies
from swapgym.envs.core.spaces import random_valid_action
from swapgym.envs.fleet_v2v import dynamics as dyn
from swapgym.envs.fleet_v2v.config import FleetV2VConfig

ENV_ID = "swapgym/FleetV2V-v0"

# small random instances (fast to build) with everything the dynamics branch on varied
RANDOM_CONFIGS = strategies.configs(
    FleetV2VConfig,
    instance=st.just("random"),
    n_tasks=st.integers(2, 12), n_vans=st.integers(2, 5), n_stations=st.integers(1, 4),
    road_neighbours=st.integers(1, 5), road_circuity=st.floats(1.0, 1.5),
    efficiency=st.floats(0.8, 1.0), v2v_power_kw=st.floats(5.0, 60.0),
    charge_power_kw=st.floats(10.0, 120.0),
    soc_station_threshold=st.floats(0.05, 0.3), soc_v2v_threshold=st.floats(0.0, 0.3),
    replenish_margin_soc=st.floats(0.0, 0.2), replenish_only_below_threshold=st.booleans(),
    consumption_scale=st.floats(0.8, 1.3), consumption_noise_std=st.floats(0.0, 0.1),
    service_time_h=st.floats(0.0, 0.5), time_limit_h=st.floats(9.0, 16.0),
)
SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class _Invariant:
    """Called after every step: SOC in [0, 1], clock monotone within an episode, V2V
    energy conserved net of η, fleet energy balance, non-negative cost terms, no NaN."""

    def __init__(self) -> None:
        self.last_t = -np.inf

    def __call__(self, env, obs, reward, info) -> None:
        u = env.unwrapped
        s, inst, cfg = u.state, u.instance, u.config
        cap = inst.battery_kwh
        energy = np.asarray(s.energy_kwh)
        assert np.all(np.isfinite(energy)) and np.all(energy >= -1e-9)
        assert np.all(energy <= cap + 1e-9), "SOC above 1"
        if s.n_decisions <= 1:
            self.last_t = -np.inf  # a new episode restarts the clock
        assert s.time_h >= self.last_t - 1e-12, "time went backwards"
        self.last_t = s.time_h
        t = s.totals
        assert np.isclose(t["v2v_delivered_kwh"], cfg.efficiency * t["v2v_drawn_kwh"])
        balance = (inst.initial_soc.sum() * cap + t["station_delivered_kwh"]
                   + t["v2v_delivered_kwh"] - t["v2v_drawn_kwh"] - t["drive_kwh"])
        assert np.isclose(balance, energy.sum(), atol=1e-6), "fleet energy not conserved"
        for k, v in s.costs.items():
            assert np.isfinite(v)
            if k != "battery_energy":  # station refills credit it
                assert v >= -1e-9, f"cost term {k} negative: {v}"
        assert np.isclose(info["total_cost"], sum(s.costs.values()))
        mask = u.action_masks()
        assert mask.shape == (env.action_space.n,) and (s.terminated or mask.any())
        assert s.time_h <= cfg.time_limit_h + 1e-9


@SETTINGS
@given(cfg=RANDOM_CONFIGS, seed=st.integers(0, 2**16), action_seed=strategies.action_seeds())
def test_invariants_hold_for_any_valid_config_and_instance(cfg, seed, action_seed):
    env = gym.make(ENV_ID, config=cfg)
    checks.rollout(env, seed=seed, n_steps=120, action_seed=action_seed, invariant=_Invariant())


@SETTINGS
@given(cfg=RANDOM_CONFIGS, seed=st.integers(0, 2**16), action_seed=strategies.action_seeds())
def test_lp_lower_bound_is_below_every_completed_episode(cfg, seed, action_seed):
    # random instances' stations sell at 1.5 ¥/kWh ≥ γ·η, the bound's stated condition
    env = gym.make(ENV_ID, config=cfg)
    rng = np.random.default_rng(action_seed)
    env.reset(seed=seed)
    u = env.unwrapped
    bound = lp_lower_bound(u.config, u.instance, u.state)
    for _ in range(cfg.max_decisions):
        _, _, term, trunc, info = env.step(random_valid_action(env, rng))
        if term or trunc:
            break
    if term:
        assert info["total_cost"] >= bound.total - 1e-6, (info["total_cost"], bound.total)
        assert np.all(bound.per_van >= 0)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), choice_seed=strategies.action_seeds())
def test_dynamics_step_matches_env_step(seed, choice_seed):
    """Planners' ``dynamics.step`` on a copied state reproduces the env exactly."""
    env = gym.make(ENV_ID)
    env.reset(seed=seed)
    u = env.unwrapped
    shadow = u.state.copy()
    rng = np.random.default_rng(choice_seed)
    for _ in range(60):
        a = int(random_valid_action(env, rng))
        choice, level = divmod(a, u.n_levels)
        dyn.step(u.config, u.instance, shadow, choice, level)
        _, _, term, trunc, _ = env.step(a)
        assert shadow.costs == u.state.costs and shadow.energy_kwh == u.state.energy_kwh
        assert shadow.time_h == u.state.time_h and shadow.deciding == u.state.deciding
        if term or trunc:
            break
