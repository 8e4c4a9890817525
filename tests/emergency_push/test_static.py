"""Static models of sections 2.3–3.2: computed, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest

from swapgym.envs.emergency_push import static


def test_push_quantity_and_theta4_follow_eqs_3_and_5():
    assert static.push_quantity(1.0, 1, 5.0) == 12
    assert static.push_quantity(1.0, 2, 5.0) == 24
    assert static.theta4_min(33.0, 12) == pytest.approx(2.75)


def test_push_range_has_consistent_units():
    # (100 − 39.75) kWh / (15 kWh per 100 km) = 401.67 km — not the paper's 4 km
    assert static.push_range_km(100.0, 39.75, 15.0) == pytest.approx(401.6667, rel=1e-4)


def test_every_family_is_fitted_and_ranked_by_mse():
    fits = static.table2_fits()
    assert [f.family for f in fits["S"]] and len(fits["S"]) == 3 and len(fits["P1"]) == 2
    assert all(a.mse <= b.mse for a, b in zip(fits["S"], fits["S"][1:]))
    best_s = fits["S"][0]
    assert best_s.family == "logarithmic" and best_s.r2 > 0.99
    sig = next(f for f in fits["P1"] if f.family == "sigmoid")
    assert 950 <= sig.params[0] <= 1050 and sig.r2 > 0.98


def test_paper_printed_log_parameters_do_not_describe_table2():
    printed = static.printed_fit("S", "logarithmic")
    assert printed(20.0) == pytest.approx(1052.36 - 189.24 * np.log(28.72))
    assert printed.r2 < 0  # worse than the mean: they cannot come from Table 2


def test_newton_finds_the_maximum_that_brute_force_finds():
    fits = static.table2_fits()
    s = next(f for f in fits["S"] if f.family == "logarithmic")
    p1 = next(f for f in fits["P1"] if f.family == "sigmoid")
    res = static.maximise_n(s, p1)
    grid = np.linspace(20, 50, 300_001)
    brute = grid[np.argmax(s(grid) * p1(grid))]
    assert res.converged and res.n_second_derivative < 0
    assert res.theta5 == pytest.approx(brute, abs=1e-3)


def test_newton_on_a_known_quadratic():
    res = static.maximise_n(lambda t: 1.0 + 0 * t, lambda t: -(t - 31.0) ** 2)
    assert res.theta5 == pytest.approx(31.0, abs=1e-6) and res.iterations <= 3


def test_concentric_circle_simulation_shapes():
    sim = static.concentric_circle_simulation(np.random.default_rng(0))
    assert np.all(np.diff(sim["S"]) <= 0) and np.all(np.diff(sim["P1"]) >= 0)
    assert sim["P1"][-1] == 1000 and 0 < sim["S"][-1] < sim["S"][0] <= 1000
