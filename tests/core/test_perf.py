"""``swapgym perf``'s repeats: rows measured round after round, the median run kept."""

from __future__ import annotations

import pytest

from swapgym.benchmarks import perf


def test_run__repeats_round_after_round_and_keeps_each_rows_median(monkeypatch):
    calls = []
    env_seconds = iter([1.0, 4.0, 3.0, 2.0, 2.0, 9.0])  # (floor, env) per round

    def fake(env_id, seconds, seed=0, **config):
        calls.append(env_id)
        return 100, 5.0, next(env_seconds)

    monkeypatch.setattr(perf, "measure_split", fake)
    rows = perf.run(0.0, ["swapgym/FleetV2V-v0"], repeat=3)
    assert calls == [perf.TRIVIAL_ID, "swapgym/FleetV2V-v0"] * 3
    assert [r.env_seconds for r in rows] == [2.0, 4.0]  # medians of (1, 3, 2) and (4, 2, 9)
    assert "median of 3 runs" in perf.to_markdown(rows, repeat=3)


def test_run__repeat_below_one_is_refused():
    with pytest.raises(ValueError, match="repeat"):
        perf.run(0.0, ["swapgym/FleetV2V-v0"], repeat=0)
