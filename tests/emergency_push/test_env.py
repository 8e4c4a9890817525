"""EmergencyPush-v0: contract checks, invariants, known answers on a 5×5 grid."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from swapgym.envs.core import checks, strategies
from swapgym.envs.emergency_push import dynamics
from swapgym.envs.emergency_push.config import EmergencyPushConfig

ENV_ID = "swapgym/EmergencyPush-v0"


def energy_invariant(env, obs, reward, info):
    """Station energy balance of every round, bounds, and vehicle energy bookkeeping."""
    inst, r = env.unwrapped.instance, env.unwrapped.last_round
    cfg = inst.config
    demand = inst.demand_kwh[env.unwrapped.state.hour - 1]
    assert math.isclose(r.energy_end_kwh, r.energy_start_kwh + r.delivered_kwh - r.served_kwh,
                        abs_tol=1e-7)
    assert math.isclose(r.served_kwh + r.unmet_kwh, demand, abs_tol=1e-7)
    assert math.isclose(r.delivered_kwh, r.arrival_energy_kwh - r.returned_kwh, abs_tol=1e-7)
    assert 0.0 <= r.energy_end_kwh <= cfg.station_capacity_kwh + 1e-9
    assert r.unmet_kwh >= 0 and r.km_driven >= 0
    assert len(r.swapped) <= len(r.admitted) <= inst.n_push_max
    assert set(r.admitted) <= set(r.consented) <= set(r.pushed)
    assert len(r.pushed) <= cfg.max_push_per_round
    assert info["station_energy_kwh"] == r.energy_end_kwh


@pytest.mark.parametrize("rule", ["window", "queue"])
def test_contract_determinism_pickle(rule):
    checks.check_all(ENV_ID, n_steps=300, conflict_rule=rule)
    checks.check_masks(ENV_ID, conflict_rule=rule)


@pytest.mark.parametrize("overrides", [
    {}, {"conflict_rule": "queue"}, {"dynamic_traffic": False},
    {"redraw_vehicles_each_round": False, "conflict_rule": "queue"},
    {"demand_profile": tuple([0.5] * 12 + [2.0] * 12), "initial_energy_kwh": 500.0},
])
def test_energy_is_conserved_over_random_masked_steps(overrides):
    env = gym.make(ENV_ID, **overrides)
    checks.rollout(env, seed=3, n_steps=1500, invariant=energy_invariant)


@settings(max_examples=15, deadline=None)
@given(cfg=strategies.configs(
    EmergencyPushConfig,
    push_radius_km=st.floats(1.0, 4.0), community_demand_kwh_per_h=st.floats(0.0, 200.0),
    initial_energy_kwh=st.floats(0.0, 1040.0), conflict_rule=st.sampled_from(["window", "queue"]),
    redraw_vehicles_each_round=st.booleans(), n_vehicles=st.just(None),
    swap_minutes=st.sampled_from([3.0, 5.0, 10.0])),
    action_seed=strategies.action_seeds())
def test_invariants_hold_for_any_valid_config(cfg, action_seed):
    env = gym.make(ENV_ID, config=cfg)
    checks.rollout(env, seed=0, n_steps=30, action_seed=action_seed, invariant=energy_invariant)


def test_render_shows_a_frame():
    frame = checks.check_render(ENV_ID)
    assert frame.shape == (480, 960, 3)


@pytest.mark.parametrize("field,value", [
    ("station_capacity_kwh", -1.0), ("e_low_kwh", 900.0), ("e_high_kwh", 2000.0),
    ("push_radius_km", 0.0), ("push_radius_km", -3.0), ("cell_km", float("nan")),
    ("battery_kwh", float("inf")), ("blackout_hours", 0), ("consent_probability", 1.5),
    ("conflict_rule", "fifo"), ("initial_energy_kwh", 5000.0), ("speed_limit_min_kmh", 80.0),
    ("demand_profile", (1.0, 2.0)), ("n_vehicles", 10_000), ("swap_minutes", 120.0),
    ("not_a_field", 1),
])
def test_bad_config_raises_naming_the_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_out_of_space_action_raises_clear_error():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="MultiBinary"):
        env.step(np.zeros(5))
    with pytest.raises(ValueError, match="0/1"):
        env.step(np.full(env.action_space.shape, 2))


def test_no_push_before_second_level_and_mask_forbids_it():
    env = gym.make(ENV_ID, initial_energy_kwh=500.0)
    env.reset(seed=0)
    assert not env.unwrapped.state.second_level
    mask = env.unwrapped.action_masks().reshape(-1, 2)
    assert mask[:, 0].all() and not mask[:, 1].any()
    _, _, _, _, info = env.step(np.ones(env.action_space.shape, dtype=np.int8))
    assert info["vehicles_pushed"] == 0


# --- known answers on a hand-built 5×5 grid ----------------------------------------------

def tiny_env(rule: str = "queue"):
    """5×5 grid, 1 km cells, station at node 12. Vehicle 0 at node 10 (2 km west, fast
    60 km/h streets: 2 min); vehicle 1 at node 13 (1 km east, but every street into
    node 13 is 6 km/h: 10 min). No congestion randomness (c = 1)."""
    env = gym.make(ENV_ID, grid_cells=4, cell_km=1.0, push_radius_km=3.0, n_vehicles=None,
                   congestion_min=1.0, congestion_max=1.0, dynamic_traffic=False,
                   conflict_rule=rule, consent_probability=1.0, theta5_kwh=30.0)
    env.reset(seed=0)
    base = env.unwrapped.instance
    edges = base.graph.edges
    speed = np.where((edges == 13).any(axis=1), 6.0, 60.0)
    inst = base.replace(speed_limit_kmh=speed, vehicle_node=np.array([10, 13]))
    env.reset(seed=0, options={"instance": inst})
    state = env.unwrapped.state
    state.rounds.charge_kwh[:] = 90.0  # every round
    dynamics.refresh_round(inst, state)
    return env


@pytest.mark.parametrize("rule", ["window", "queue"])
def test_scheme_a_prefers_earliest_arrival_and_scheme_b_nearest(rule):
    env = tiny_env(rule)
    state = env.unwrapped.state
    eps = 0.01  # eq. (8): t = d / (v·c + ε)
    np.testing.assert_allclose(state.time_h[:, 0], [2 / (60 + eps)] * 2, rtol=1e-9)
    np.testing.assert_allclose(state.time_h[:, 1], [1 / (6 + eps)] * 2, rtol=1e-9)
    np.testing.assert_allclose(state.dist_km[:, 0], [2.0, 2.0])
    np.testing.assert_allclose(state.dist_km[:, 1], [1.0, 1.0])
    assert list(state.candidates[0, :2]) == [0, 1]  # time first: the far but fast vehicle
    assert list(state.candidates[1, :2]) == [1, 0]  # distance first: the near one


def test_time_optimal_path_takes_the_detour_when_faster():
    """Vehicle 1 at node 13: the direct street is 6 km/h (10 min); make a 3-cell detour
    through node 8 fast, then Scheme A's route is the detour and B's the direct one."""
    env = tiny_env()
    base = env.unwrapped.instance
    edges = base.graph.edges
    speed = np.full(len(edges), 60.0)
    direct = np.flatnonzero(((edges == 12) | (edges == 13)).all(axis=1))
    speed[direct] = 6.0
    inst = base.replace(speed_limit_kmh=speed)
    env.reset(seed=0, options={"instance": inst})
    state = env.unwrapped.state
    assert state.dist_km[dynamics.ROUTE_TIME, 1] == pytest.approx(3.0)
    assert state.time_h[dynamics.ROUTE_TIME, 1] == pytest.approx(3 / 60.01, rel=1e-9)
    assert state.dist_km[dynamics.ROUTE_DISTANCE, 1] == pytest.approx(1.0)
    assert state.time_h[dynamics.ROUTE_DISTANCE, 1] == pytest.approx(1 / 6.01, rel=1e-9)


def test_one_round_energy_balance_known_answer():
    """Both vehicles swap: each brings 90 − d·0.15 and takes θ5 = 30 home. Every street
    into node 13 is slow, so vehicle 1's time-optimal path is the direct 1 km one."""
    env = tiny_env("queue")
    action = np.zeros(env.action_space.shape, dtype=np.int8)
    action[0:2] = 1
    _, reward, _, _, info = env.step(action)
    r = env.unwrapped.last_round
    assert reward == pytest.approx(sum(info["reward_breakdown"].values()))
    expected = (90 - 2 * 0.15 - 30) + (90 - 1 * 0.15 - 30)
    assert r.delivered_kwh == pytest.approx(expected)
    assert r.energy_end_kwh == pytest.approx(66 + expected - 33)
    assert r.km_driven == pytest.approx(3.0)
    assert info["reward_breakdown"]["travel"] == pytest.approx(-0.05 * 3.0)


def test_conflict_filter_one_per_window_higher_battery_wins():
    window = np.array([0, 0, 1, -1])
    battery = np.array([50.0, 60.0, 40.0, 99.0])
    assert list(dynamics.conflict_filter(window, battery)) == [1, 2]


def test_queue_admission_serves_until_the_cycle_ends():
    arrival = np.array([0.0, 0.01, 0.02])
    adm, starts = dynamics.queue_admission(arrival, np.array([1.0, 2.0, 3.0]), 5 / 60, 0.2, 12)
    assert list(adm) == [0, 1, 2]
    np.testing.assert_allclose(starts, [0.0, 5 / 60, 10 / 60])
    adm, _ = dynamics.queue_admission(arrival, np.ones(3), 5 / 60, 0.15, 12)
    assert list(adm) == [0, 1]
    adm, _ = dynamics.queue_admission(np.zeros(3), np.array([1.0, 3.0, 2.0]), 5 / 60, 1.0, 2)
    assert list(adm) == [1, 2]  # simultaneous: higher battery first, capped at 2


def test_same_seed_same_instance_and_common_random_numbers_across_policies():
    """The env's draws do not depend on the actions: two policies see the same rounds."""
    a, b = gym.make(ENV_ID), gym.make(ENV_ID)
    a.reset(seed=11)
    b.reset(seed=11)
    for _ in range(5):
        a.step(np.zeros(a.action_space.shape, dtype=np.int8))
        b.step(np.ones(b.action_space.shape, dtype=np.int8))
        np.testing.assert_array_equal(a.unwrapped.state.charge_kwh, b.unwrapped.state.charge_kwh)
        np.testing.assert_array_equal(a.unwrapped.state.consent_draw, b.unwrapped.state.consent_draw)


def test_compiled_time_optimal_search_equals_scipy_dijkstra():
    """eq. (10)'s compiled Dijkstra (``dynamics._fastest_trees``, via ``travel``) against
    scipy's on the same weights: same trees, same times (random congestion: no exact ties)."""
    env = gym.make(ENV_ID, dynamic_traffic=True)
    env.reset(seed=7)
    inst = env.unwrapped.instance
    congestion = np.random.default_rng(1).uniform(0.3, 1.0, (4, len(inst.edge_length_km)))
    time_h, _, trees = dynamics.travel(inst, congestion)
    d = inst.edge_length_km
    for r in range(len(congestion)):
        t = d / (inst.speed_limit_kmh * congestion[r] + inst.config.speed_epsilon_kmh)
        graph = inst.graph.copy()
        graph.set_weights(t + dynamics._TIE)
        dist, pred = graph.shortest_from(inst.station_node)
        np.testing.assert_array_equal(trees[r, dynamics.ROUTE_TIME], pred)
        segments = np.zeros(len(pred), dtype=int)  # cells on each node's path, from the tree
        for node in range(len(pred)):
            v = node
            while pred[v] >= 0:
                segments[node] += 1
                v = pred[v]
        ref = (dist - dynamics._TIE * segments)[inst.vehicle_node]
        np.testing.assert_allclose(time_h[r, dynamics.ROUTE_TIME], ref, rtol=1e-12, atol=1e-15)


def test_distance_optimal_lattice_programme_equals_lexicographic_dijkstra():
    """eq. (11) with ties by time: the level DP must equal a Dijkstra on M·d + t."""
    env = gym.make(ENV_ID, dynamic_traffic=True)
    env.reset(seed=5)
    inst = env.unwrapped.instance
    rng = np.random.default_rng(0)
    congestion = rng.uniform(0.5, 1.0, (3, len(inst.edge_length_km)))
    time_h, dist_km, _ = dynamics.travel(inst, congestion)
    d = inst.edge_length_km
    for r in range(3):
        t = d / (inst.speed_limit_kmh * congestion[r] + inst.config.speed_epsilon_kmh)
        big = (1.0 + t.sum()) / d[0]
        graph = inst.graph.copy()
        graph.set_weights(big * d + t)
        w, _ = graph.shortest_from(inst.station_node)
        cells = np.floor(w / (big * d[0]))
        ref_time = (w - big * cells * d[0])[inst.vehicle_node]
        np.testing.assert_allclose(dist_km[r, dynamics.ROUTE_DISTANCE], cells[inst.vehicle_node] * d[0])
        np.testing.assert_allclose(time_h[r, dynamics.ROUTE_DISTANCE], ref_time, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("rule", ["window", "queue"])
@pytest.mark.parametrize(("dynamic", "slots"), [(True, 12), (False, 3)])
def test_push_lists_equal_a_plain_walk_of_the_rankings(rule, dynamic, slots):
    """The compiled push-list walk (window grouping, energy insertion) against the rule
    read literally: walk each ranking, keep valid vehicles (eq. 6), one per window."""
    env = gym.make(ENV_ID, conflict_rule=rule, dynamic_traffic=dynamic, candidate_slots=slots)
    env.reset(seed=3)
    inst, rounds = env.unwrapped.instance, env.unwrapped.state.rounds
    per_km = inst.config.consumption_kwh_per_100km / 100.0
    for h in range(inst.config.blackout_hours):
        t = min(h, len(rounds.order) - 1)
        arrive = rounds.charge_kwh[h][None, :] - rounds.dist_km[t] * per_km
        ok = (arrive >= inst.q_f_kwh) & (rounds.window[t] >= 0)
        by_energy = np.argsort(-arrive[1], kind="stable")
        for block, (ranked, route) in enumerate(((rounds.order[t, 0], 0), (rounds.order[t, 1], 1), (by_energy, 1))):
            want, taken = [], set()
            for v in ranked:
                w = rounds.window[t, route, v]
                if len(want) == slots or not ok[route, v] or (rule == "window" and w in taken):
                    continue
                taken.add(w)
                want.append(v)
            got = rounds.candidates[h, block]
            assert list(got[got >= 0]) == want, (h, block)
        assert list(rounds.candidates[h, 3]) == list(rounds.order[t, 1, :slots])


def test_selection_to_pushes__wrong_length_raises():
    """The compiled decoder does no bounds checks: its wrapper checks the length first."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    u = env.unwrapped
    for n in (3, u.state.candidates.size + 40):
        with pytest.raises(ValueError, match="action"):
            dynamics.selection_to_pushes(u.instance, u.state, np.zeros(n, dtype=np.int8))
