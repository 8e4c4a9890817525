"""SwapStation-v0: the standard checks, invariants, data loading errors and configs."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import swapgym  # noqa: F401
from swapgym.envs.core import checks
from swapgym.envs.swap_station.dynamics import stored_energy_kwh

ENV_ID = "swapgym/SwapStation-v0"


def test_contract__gymnasium_and_sb3_checkers_pass():
    checks.check_contract(ENV_ID)
    checks.check_contract(ENV_ID, allow_discharge=True)


def test_determinism_pickle_masks():
    checks.check_determinism(ENV_ID, n_steps=100)
    checks.check_pickle(ENV_ID)
    checks.check_masks(ENV_ID, n_steps=100, allow_discharge=True)


def test_render__rgb_frame():
    checks.check_render(ENV_ID)


def _invariant(env, obs, reward, info):
    e = env.unwrapped
    st, levels = e.station, e.state.levels
    assert (levels >= 0).all(), "negative pack count"
    np.testing.assert_array_equal(levels.sum(-1), st.n_batteries)  # packs of each type conserved
    assert np.all(np.isfinite(obs["stock"])) and obs["stock"].shape == (levels.size,)
    # energy accounting closes: stored-energy change = charged - discharged - delivered by swaps
    tr = e.last_transition()
    before = getattr(e, "_test_prev_energy", None)
    now = stored_energy_kwh(st, levels)
    if before is not None and e.state.t > 1:
        delivered = tr.swaps * (st.n_levels - st.return_level) * st.level_kwh
        np.testing.assert_allclose(now - before, tr.stored_kwh - tr.removed_kwh - delivered, atol=1e-9)
        np.testing.assert_allclose(info["energy_bought_kwh"], tr.stored_kwh.sum() / st.charge_efficiency)
    e._test_prev_energy = now
    assert 0 <= info["swaps_served"] <= info["arrivals"]


@pytest.mark.parametrize("discharge", [False, True])
def test_random_rollout__invariants_hold(discharge):
    env = gym.make(ENV_ID, allow_discharge=discharge, split="all")
    checks.rollout(env, seed=3, n_steps=400, invariant=_invariant)


def test_episode_metrics__match_summed_info():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    total, served, rng = 0.0, 0, np.random.default_rng(0)
    from swapgym.envs.core.spaces import random_valid_action

    while True:
        _, r, term, trunc, info = env.step(random_valid_action(env, rng))
        total += r
        served += info["swaps_served"]
        if term or trunc:
            break
    m = info["episode_metrics"]
    assert m == env.unwrapped.episode_metrics()
    assert m["profit_eur"] == pytest.approx(total)
    assert m["swaps_served"] == served == m["batteries_provided"]
    assert env.unwrapped.state.t == 24


def test_out_of_space_action__raises():
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="action"):
        env.step(np.full(12, 99))


@pytest.mark.parametrize("field,value", [
    ("capacity_kwh", (1.0, -2.0, 3.0)), ("n_batteries", (40, 40)), ("n_chargers", (0, 1, 1)),
    ("type_shares", (0.0, 0.0, 0.0)), ("soc_levels", 0), ("levels_per_hour", 9), ("full_soc", 1.5),
    ("return_soc", 1.0), ("swap_price_per_kwh", -1.0), ("charge_efficiency", 0.0),
    ("episode_hours", 0), ("arrival_history_hours", 3), ("price_source", "nordpool"),
    ("arrival_noise", "gauss"), ("split", "holdout"), ("val_fraction", 0.5), ("arrival_scale", 0.0),
    ("allow_discharge", "yes"), ("stock_value_per_kwh", float("nan")), ("no_such_field", 1),
])
def test_bad_config__names_the_field(field, value):
    checks.check_bad_config(ENV_ID, field, value)


def test_synthetic_sources__work_without_data():
    env = gym.make(ENV_ID, price_source="synthetic", arrival_source="synthetic", split="all")
    checks.rollout(env, seed=0, n_steps=48, invariant=_invariant)


# --- user CSV files ---------------------------------------------------------------------

def _write(tmp_path, name, header, rows):
    p = tmp_path / name
    p.write_text(header + "\n" + "\n".join(rows) + "\n")
    return p


def _hours(n, start="2024-01-01"):
    import pandas as pd

    return [t.isoformat() for t in pd.date_range(start, periods=n, freq="h", tz="UTC")]


def test_user_csv__prices_and_per_type_arrivals(tmp_path):
    n = 24 * 20
    price = _write(tmp_path, "p.csv", "timestamp,price_per_mwh", [f"{t},{40 + i % 24}" for i, t in enumerate(_hours(n))])
    arr = _write(tmp_path, "a.csv", "timestamp,arrivals_0,arrivals_1,arrivals_2",
                 [f"{t},{i % 5},{i % 3},1" for i, t in enumerate(_hours(n))])
    env = gym.make(ENV_ID, price_csv=str(price), arrivals_csv=str(arr), split="all", arrival_scale=1.0)
    checks.rollout(env, seed=0, n_steps=30, invariant=_invariant)
    inst = env.unwrapped.instance
    assert inst.price_per_kwh.max() <= 0.063 + 1e-12
    assert inst.arrivals[:, 2].max() <= 1


@pytest.mark.parametrize("rows,column,row,what", [
    (["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,abc"], "price_per_mwh", 2, "not a finite number"),
    (["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,"], "price_per_mwh", 2, "not a finite number"),
    (["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,NaN"], "price_per_mwh", 2, "not a finite number"),
    (["2024-01-01T01:00Z,1", "2024-01-01T00:00Z,1"], "timestamp", 2, "unsorted"),
    (["2024-01-01T00:00Z,1", "2024-01-01T00:00Z,1"], "timestamp", 2, "duplicate"),
    (["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,1", "2024-01-01T03:00Z,1"], "timestamp", 3, "gap"),
    (["yesterday,1", "2024-01-01T01:00Z,1"], "timestamp", 1, "ISO-8601"),
])
def test_price_csv__bad_rows_name_file_column_row(tmp_path, rows, column, row, what):
    p = _write(tmp_path, "bad.csv", "timestamp,price_per_mwh", rows)
    with pytest.raises(ValueError) as err:
        gym.make(ENV_ID, price_csv=str(p))
    msg = str(err.value)
    assert "bad.csv" in msg and repr(column) in msg and f"row {row}" in msg and what in msg, msg


def test_csv__missing_column_and_negative_count(tmp_path):
    p = _write(tmp_path, "nocol.csv", "timestamp,price", ["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,1"])
    with pytest.raises(ValueError, match=r"nocol\.csv.*price_per_mwh"):
        gym.make(ENV_ID, price_csv=str(p))
    a = _write(tmp_path, "neg.csv", "timestamp,arrivals", ["2024-01-01T00:00Z,1", "2024-01-01T01:00Z,-2"])
    with pytest.raises(ValueError, match=r"neg\.csv.*'arrivals' row 2"):
        gym.make(ENV_ID, arrivals_csv=str(a))
