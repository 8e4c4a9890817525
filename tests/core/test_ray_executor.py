"""The bench gives the same numbers on a local Ray instance (2 CPUs) as in-process."""

from __future__ import annotations

import numpy as np
import pytest

from swapgym.benchmarks import suite

ray = pytest.importorskip("ray", reason="the ray extra is part of `make test` (pip install 'swapgym[ray]')")

ENV_ID = "swapgym/EmergencyPush-v0"


def test_ray_and_process_executors_agree(tmp_path):
    cells = suite.plan([ENV_ID], ["dual_scheme", "random"], [0, 1])
    local = suite.run(cells, tmp_path / "local", n_jobs=1, progress=False)
    on_ray = suite.run(cells, tmp_path / "ray", executor="ray", n_jobs=2, progress=False)
    np.testing.assert_array_equal(local["episode_return"].to_numpy(), on_ray["episode_return"].to_numpy())
    assert list(local["policy"]) == list(on_ray["policy"])
