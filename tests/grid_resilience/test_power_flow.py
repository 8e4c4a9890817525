"""The env's LinDistFlow against pandapower's AC power flow, and the env stays free of
pandapower."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import warnings

import numpy as np
import pytest

from swapgym.envs.grid_resilience.config import N_LINE, GridResilienceConfig
from swapgym.envs.grid_resilience.instance import make_instance


@pytest.fixture(scope="module")
def validation():
    pytest.importorskip("pandapower")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from swapgym.baselines.grid_resilience import validation as v

        yield v


def _compare(v, inst, z, hour=18, policy=None, label=""):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return v.compare_with_pandapower(inst, z, hour, v.env_hour(inst, z, hour, policy), label)


def test_lindistflow_vs_ac__intact_feeder_at_peak_within_tolerance(validation):
    inst = make_instance(dataclasses.replace(GridResilienceConfig(), reinforced_lines=tuple(range(N_LINE))))
    c = _compare(validation, inst, 0)
    assert c.n_islands == 1 and c.n_energised_buses == 33
    assert c.max_voltage_diff_pu <= validation.VOLTAGE_TOL_PU
    assert c.max_flow_diff_fraction <= validation.FLOW_TOL_FRACTION
    # The flow difference is the AC losses (LinDistFlow is lossless): the head line differs
    # by about the total losses.
    assert c.max_flow_diff_kw == pytest.approx(c.ac_losses_kw, rel=0.05)
    # Baran & Wu feeder at peak: AC minimum voltage about 0.91 p.u.
    assert 0.90 < c.min_voltage_ac_pu < 0.92


def test_lindistflow_vs_ac__damaged_islands_with_storage_within_tolerance(validation):
    from swapgym.baselines.grid_resilience import greedy_action

    inst = make_instance(GridResilienceConfig())
    z = int(np.argmax([t.n_islands for t in inst.topologies]))
    assert inst.topologies[z].n_islands > 1
    c = _compare(validation, inst, z, policy=greedy_action)
    assert c.n_energised_buses > 1
    assert c.max_voltage_diff_pu <= validation.VOLTAGE_TOL_PU
    assert c.max_flow_diff_fraction <= validation.FLOW_TOL_FRACTION


def test_env__does_not_import_pandapower():
    code = ("import sys, gymnasium as gym, swapgym\n"
            "env = gym.make('swapgym/GridResilience-v0'); env.reset(seed=0)\n"
            "env.step(env.action_space.sample())\n"
            "assert 'pandapower' not in sys.modules, 'env imported pandapower'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
