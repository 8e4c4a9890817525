"""Shared building blocks: road graphs, PSO, statistics, config validation."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from swapgym.baselines.optim.pso import PSOConfig, minimize
from swapgym.benchmarks.stats import mean_ci95, normalised_score
from swapgym.envs.core import config as C
from swapgym.envs.core.graph import WeightedGraph, grid_graph, haversine_km


def test_csr_dijkstra_matches_networkx():
    g = grid_graph(6, 0.5)
    wg = WeightedGraph.from_networkx(g)
    rng = np.random.default_rng(0)
    w = rng.uniform(0.1, 2.0, len(wg.edges))
    wg.set_weights(w)
    for (u, v), x in zip(wg.edges, w):
        g[u][v]["w"] = x
    dist, pred = wg.shortest_from(24)
    ref = nx.single_source_dijkstra_path_length(g, 24, weight="w")
    np.testing.assert_allclose([dist[n] for n in range(49)], [ref[n] for n in range(49)])
    for n in (0, 6, 48):  # the predecessor tree walks back along a shortest path
        path = [n]
        while path[-1] != 24:
            path.append(int(pred[path[-1]]))
        assert len(path) - 1 == len(nx.dijkstra_path(g, 24, n, weight="w")) - 1


def test_haversine_known_distance():
    # Beijing (39.9042, 116.4074) to Shanghai (31.2304, 121.4737): ~1067 km
    assert haversine_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, rel=0.01)
    assert haversine_km(10, 20, 10, 20) == 0


def test_pso_finds_the_minimum_and_never_loses_its_seed():
    rng = np.random.default_rng(1)
    res = minimize(lambda x: ((x - 0.3) ** 2).sum(axis=1), -np.ones(4), np.ones(4), rng,
                   PSOConfig(n_particles=20, iterations=150))
    np.testing.assert_allclose(res.best_position, 0.3, atol=1e-3)
    assert all(a >= b for a, b in zip(res.history, res.history[1:]))
    seeded = minimize(lambda x: np.abs(x).sum(axis=1), -np.ones(3), np.ones(3),
                      np.random.default_rng(2), PSOConfig(n_particles=5, iterations=0),
                      initial=np.zeros((1, 3)))
    assert seeded.best_cost == 0.0


def test_pso_is_deterministic_under_a_seed():
    def f(x):
        return np.sin(5 * x).sum(axis=1)

    a = minimize(f, -np.ones(3), np.ones(3), np.random.default_rng(7))
    b = minimize(f, -np.ones(3), np.ones(3), np.random.default_rng(7))
    assert a.best_cost == b.best_cost and np.array_equal(a.best_position, b.best_position)


def test_pso_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_particles"):
        PSOConfig(n_particles=0)
    with pytest.raises(ValueError, match="lower/upper"):
        minimize(lambda x: x.sum(1), np.ones(2), np.zeros(2), np.random.default_rng(0))


def test_mean_ci95_matches_student_t():
    m, h = mean_ci95([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5 and h == pytest.approx(3.182446 * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-5)
    assert mean_ci95([5.0]) == (5.0, 0.0)


def test_normalised_score_anchors():
    np.testing.assert_allclose(normalised_score([-10, 0, 5], reference=-10, oracle=0), [0, 1, 1.5])
    assert np.isnan(normalised_score([1.0], 2.0, 2.0)).all()


@pytest.mark.parametrize("check,args", [
    (C.check_positive, ("x", 0)), (C.check_positive, ("x", float("nan"))),
    (C.check_nonnegative, ("x", -1)), (C.check_range, ("x", 2, 0, 1)),
    (C.check_int, ("x", 1.5)), (C.check_int, ("x", True)), (C.check_less, ("x", 2, "y", 1)),
    (C.check_choice, ("x", "c", ("a", "b"))), (lambda *a: C.check_array(*a, positive=True), ("x", [1, -1])),
])
def test_validators_name_the_field(check, args):
    with pytest.raises(ValueError, match=r"^x"):
        check(*args)


def test_masked_sampler_only_picks_allowed_values_uniformly():
    import gymnasium as gym

    from swapgym.envs.core.spaces import sample_valid_action

    space = gym.spaces.MultiDiscrete([3, 5, 2])
    mask = np.array([1, 0, 1, 0, 0, 0, 1, 0, 1, 1], dtype=bool)
    rng = np.random.default_rng(0)
    draws = np.array([sample_valid_action(space, mask, rng) for _ in range(3000)])
    assert set(draws[:, 0]) == {0, 2} and set(draws[:, 1]) == {3} and set(draws[:, 2]) == {0, 1}
    assert abs((draws[:, 0] == 0).mean() - 0.5) < 0.05
    with pytest.raises(ValueError, match="dimension 1"):
        sample_valid_action(space, np.array([1, 1, 1, 0, 0, 0, 0, 0, 1, 1], dtype=bool), rng)
    assert space.contains(sample_valid_action(space, None, rng))
