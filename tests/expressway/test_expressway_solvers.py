"""Expressway exact day optimizer: our branch and bound against HiGHS's own MIP on the
same (exact, lowest-first) model, its lazily added lowest-first rule, honest gaps and
time-outs, and nested warm starts."""

from __future__ import annotations

import time

import gymnasium as gym
import numpy as np
import pytest

import swapgym  # noqa: F401
from swapgym.baselines import expressway as xw
from swapgym.envs.expressway import ExpresswayConfig, dynamics
from swapgym.envs.expressway.instance import generate

ENV_ID = "swapgym/Expressway-v0"
SETTINGS = [(False, False), (True, False), (True, True)]


def _small(nb: int, hours: int, seed: int):
    cfg = ExpresswayConfig(batteries_per_station=nb, horizon_h=hours,
                           arrival_rate_per_h=(1.5,) * hours, max_arrivals_per_class=3,
                           max_release_per_class=2, release_candidates_per_h=1.0)
    return generate(cfg, np.random.default_rng(seed))


def _highs_mip(inst, b2b, release) -> float:
    """HiGHS's MIP on the full model (lowest-first binaries included), proven optimal."""
    import highspy

    model = xw._day_model(inst, dynamics.cost_tables(inst), b2b, release, lowest_first=True)
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(model.lp)
    h.run()
    assert h.modelStatusToString(h.getModelStatus()) == "Optimal"
    return h.getInfo().objective_function_value


def _replayed_cost(inst, plan) -> float:
    tab = dynamics.cost_tables(inst)
    state, total = dynamics.initial_state(inst), 0.0
    for t in range(inst.config.horizon_h):
        state, res = dynamics.step(inst, tab, state, plan.moves[t], plan.dispatch[t], plan.release[t])
        assert res.unserved.sum() == 0
        total += res.cost
    return total


# (batteries, hours, seed): the first three need the lowest-first rule added in a second pass
CASES = [(8, 4, 8), (6, 6, 13), (8, 6, 12), (6, 4, 3), (8, 6, 5)]


@pytest.mark.parametrize("case", CASES)
def test_branch_and_bound_equals_highs_mip(case, monkeypatch):
    inst = _small(*case)
    passes = []
    real = xw._branch_and_bound
    monkeypatch.setattr(xw, "_branch_and_bound", lambda model, *a, **k: (
        passes.append(model.lowest_first), real(model, *a, **k))[1])
    for b2b, release in SETTINGS:
        plan = xw.solve_milp(inst, b2b, release, time_limit_s=30, mip_rel_gap=0.0)
        assert plan.optimal and plan.mip_gap <= 1e-8
        assert plan.objective == pytest.approx(_highs_mip(inst, b2b, release), abs=2e-6)
        assert plan.bound <= plan.objective + 1e-9
        assert _replayed_cost(inst, plan) == pytest.approx(plan.objective, abs=1e-9)
    if case in CASES[:3]:
        assert True in passes  # the lowest-first rule was needed and added


def test_reduced_cost_fixing_by_hand():
    # lb 10, room 2.5: x0 at 0 with d = 1 may rise by 2; x1 is basic (d = 0); x2 at its
    # upper bound 4 with d = -2 may fall by 1; x3 at 0 with d = 3 may not rise at all
    lo, hi, cut = xw._reduced_cost_fixing(10.0, 2.5, np.array([1.0, 0.0, -2.0, 3.0]),
                                          np.array([0.0, 1.5, 4.0, 0.0]), np.zeros(4),
                                          np.array([5.0, 5.0, 4.0, 1.0]))
    np.testing.assert_array_equal(lo, [0, 0, 3, 0])
    np.testing.assert_array_equal(hi, [2, 5, 4, 0])
    assert cut == 13.0  # x0 = 3 or x3 = 1: 10 + 3; above lb + room
    same = xw._reduced_cost_fixing(10.0, 0.5, np.array([1.0]), np.array([0.0]), np.zeros(1),
                                   np.zeros(1))
    assert same[2] == np.inf  # nothing to fix


@pytest.mark.parametrize("gap", [0.0, 2e-3])
def test_reduced_cost_fixing_and_aggregate_branching_keep_the_optimum(gap, monkeypatch):
    """Reduced-cost fixing never cuts off a plan below the cutoff, and the bound stays a
    lower bound with the cut-off regions counted: against HiGHS's MIP on random days, with
    the fixing and the cumulative-dispatch branching seen to act."""
    fixed, branched = [], []
    real_fix = xw._reduced_cost_fixing
    monkeypatch.setattr(xw, "_reduced_cost_fixing", lambda *a: (
        lambda out: (fixed.append(np.isfinite(out[2])), out)[1])(real_fix(*a)))
    real_bb = xw._branch_and_bound

    def spy(model, *a, **k):
        res = real_bb(model, *a, **k)
        branched.append(res.nodes > 1 and bool(xw._cumulative_dispatch(model)))
        return res

    monkeypatch.setattr(xw, "_branch_and_bound", spy)
    for nb, hours, seed in [(12, 8, 0), (16, 10, 0), (16, 10, 1), (16, 10, 4), (16, 10, 5)]:
        inst = _small(nb, hours, seed)
        for b2b, release in SETTINGS:
            plan = xw.solve_milp(inst, b2b, release, time_limit_s=30, mip_rel_gap=gap)
            opt = _highs_mip(inst, b2b, release)
            assert plan.optimal
            assert plan.bound <= opt + 2e-6 <= plan.objective + 4e-6
            assert plan.objective <= opt + gap * abs(opt) + 2e-6
    assert sum(fixed) >= 3 and any(branched)


def test_nested_settings_never_worse_and_warm_start_flagged():
    inst = _small(8, 6, 1)
    m1 = xw.solve_milp(inst, False, False, mip_rel_gap=0.0)
    m2 = xw.solve_milp(inst, True, False, mip_rel_gap=0.0, warm_start=m1)
    m3 = xw.solve_milp(inst, True, True, mip_rel_gap=0.0, warm_start=m2)
    assert m3.objective <= m2.objective + 1e-9 <= m1.objective + 2e-9
    # a warm start that is already optimal comes back flagged as such
    again = xw.solve_milp(inst, True, True, mip_rel_gap=0.0, warm_start=m3)
    assert again.objective == pytest.approx(m3.objective, abs=1e-9)
    assert again.from_warm_start


def test_stopped_search_reports_an_honest_gap():
    """A search stopped early (node or time limit) returns its best plan, flagged, with a
    proven bound below the optimum that the full search finds."""
    inst = _small(12, 8, 0)  # 5 nodes to optimality
    tab = dynamics.cost_tables(inst)
    model = xw._day_model(inst, tab, True, True, False)
    m1 = xw.solve_milp(inst, False, False)
    start = [xw._start_vector(model, m1)]
    full = xw._branch_and_bound(model, time.perf_counter() + 60, 0.0, start)
    assert full.status == "Optimal" and full.nodes > 2
    cut = xw._branch_and_bound(model, time.perf_counter() + 60, 0.0, start, node_limit=2)
    assert cut.status == "Node limit reached" and cut.nodes == 2
    assert np.isfinite(cut.bound) and cut.bound <= full.objective + 1e-9 <= cut.objective + 2e-9
    late = xw._branch_and_bound(model, time.perf_counter() - 1.0, 0.0, start)
    assert late.status == "Time limit reached" and late.from_start
    assert late.objective == pytest.approx(m1.objective) and late.bound <= full.objective


def test_day_solve_reports_build_and_lp_time():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    plan = xw.solve_milp(env.unwrapped.instance, True, True)
    assert plan.optimal and plan.mip_gap <= 1e-4
    assert plan.build_time_s > 0 and plan.lp_time_s > 0
    assert plan.build_time_s + plan.lp_time_s <= plan.solve_time_s
    assert plan.nodes >= 1


def _play(pol, env, seed, spy=None):
    env.reset(seed=seed)
    pol.reset(env)
    if spy is not None:
        spy(pol)
    actions, done, info = [], False, {}
    while not done:
        state = env.unwrapped.state.copy()
        a = pol.predict(None)[0]
        actions.append((state, a, pol._last.copy()))
        _, _, done, _, info = env.step(a)
    return actions, info["episode_metrics"]["total_cost_usd"]


SMALL_DAY = dict(batteries_per_station=10, arrival_rate_per_h=(1.0,) * 24, max_arrivals_per_class=6)


def test_nested_m3_without_release_candidates_is_m2():
    """M3's plans contain M2's: nested on M2, a day without release candidates is M2's."""
    from swapgym.baselines.optim.pso import PSOConfig

    env = gym.make(ENV_ID, config=ExpresswayConfig(release_candidates_per_h=0.0, **SMALL_DAY))
    m2, c2 = _play(xw.PSOPolicy(True, False, pso=PSOConfig(6, 4)), env, 3)
    m3, c3 = _play(xw.PSOPolicy(True, True, pso=PSOConfig(6, 4)), env, 3)
    assert c3 == c2
    for (_, a2, _), (_, a3, _) in zip(m2, m3):
        np.testing.assert_array_equal(a2, a3)


def test_nested_m3_never_worse_than_m2_plan_per_hour():
    """Every hour, the particle M3 plays scores no worse than M2's best particle on the same
    state (the release stage starts from it), and it differs only if it releases."""
    from swapgym.baselines.optim.pso import PSOConfig

    env = gym.make(ENV_ID, config=ExpresswayConfig(**SMALL_DAY))
    seen = []

    def spy(pol):
        search = pol._inner._search

        def wrapped(state, first=()):
            x, cost = search(state, first)
            seen.append(x)
            return x, cost

        pol._inner._search = wrapped

    pol = xw.PSOPolicy(True, True, pso=PSOConfig(6, 4))
    played, _ = _play(pol, env, 2, spy)
    m = len(env.unwrapped.config.release_soc_choices)
    released = 0
    for (state, _, best), x2 in zip(played, seen):
        plain = np.concatenate([x2, np.zeros(m)])
        pol._memo = {}
        cost, rel = pol._evaluate(best, state)
        assert cost <= pol._cost(plain, state) + 1e-9
        if rel == 0:
            np.testing.assert_array_equal(best, plain)
        released += rel
    assert len(seen) == env.unwrapped.config.horizon_h
    assert released > 0  # the release stage was exercised on this day
