"""FleetV2V: the standard env checks, invariants and bad configurations."""

from __future__ import annotations

import numpy as np
import pytest

from swapgym.envs.core import checks
from swapgym.envs.fleet_v2v import dynamics as dyn

ENV_ID = "swapgym/FleetV2V-v0"


def test_contract_determinism_pickle_rollout():
    checks.check_all(ENV_ID, n_steps=300)


def test_masks_and_render():
    checks.check_masks(ENV_ID, n_steps=200)
    frame = checks.check_render(ENV_ID)
    assert frame.shape[2] == 3


def test_random_instances_run():
    checks.check_all(ENV_ID, n_steps=200, instance="random", n_tasks=12, n_vans=4)


_LAST = {"t": -np.inf}


def _invariant(env, obs, reward, info):
    u = env.unwrapped
    st, inst = u.state, u.instance
    cap = inst.battery_kwh
    energy = np.asarray(st.energy_kwh)
    assert np.all(energy >= -1e-9) and np.all(energy <= cap + 1e-9), "SOC outside [0, 1]"
    assert np.all(np.isfinite(energy))
    last = -np.inf if st.n_decisions <= 1 else _LAST["t"]  # a new episode restarts the clock
    assert st.time_h >= last - 1e-12, "time went backwards"
    _LAST["t"] = st.time_h
    t = st.totals
    # V2V energy is conserved net of the 97 % efficiency
    assert np.isclose(t["v2v_delivered_kwh"], u.config.efficiency * t["v2v_drawn_kwh"])
    # fleet energy balance: initial + station + V2V received − V2V drawn − driven = now
    balance = (inst.initial_soc.sum() * cap + t["station_delivered_kwh"] + t["v2v_delivered_kwh"]
               - t["v2v_drawn_kwh"] - t["drive_kwh"])
    assert np.isclose(balance, energy.sum(), atol=1e-6), "fleet energy not conserved"
    assert np.isfinite(reward) and np.isfinite(info["total_cost"])
    assert np.isclose(info["total_cost"], sum(st.costs.values()))


@pytest.mark.parametrize("config", [{}, {"instance": "random"},
                                    {"replenish_only_below_threshold": False}])
def test_invariants_over_random_rollouts(config):
    env = checks.make(ENV_ID, **config)
    out = checks.rollout(env, seed=3, n_steps=1500, invariant=_invariant)
    assert any(info.get("energy_v2v_kwh", 0) > 0 for *_, info in out), "no V2V in 1500 random steps"


@pytest.mark.parametrize("field,value", [
    ("battery_kwh", -1.0), ("efficiency", 1.5), ("speed_levels_kmh", (60.0, 10.0)),
    ("instance", "moon"), ("soc_station_threshold", 2.0), ("time_limit_h", 30.0),
    ("initial_soc", (0.5, 0.5)), ("charge_power_kw", 0.0), ("v2v_power_kw", -3.0),
    ("consumption_noise_std", -0.1), ("max_decisions", 0), ("depart_time_h", 14.0),
    ("custom_instance", "paper"), ("road_circuity", 0.5), ("not_a_field", 1),
])
def test_bad_config_names_the_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_out_of_space_action_raises():
    env = checks.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(env.action_space.n)
    with pytest.raises(ValueError, match="action"):
        env.step("x")


def test_info_and_episode_metrics():
    env = checks.make(ENV_ID)
    _, info = env.reset(seed=0)
    assert 0 < info["fleet_mean_soc"] <= 1
    while True:
        _, _, term, trunc, info = env.step(0)
        assert set(info["reward_breakdown"]) == set(dyn.COST_TERMS)
        if term or trunc:
            break
    m = info["episode_metrics"]
    assert m == env.unwrapped.episode_metrics()
    assert all(isinstance(v, float) for v in m.values())
    assert m["missed_tasks"] == 0 and m["stranded_vans"] == 0
