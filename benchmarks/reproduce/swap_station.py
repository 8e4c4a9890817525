"""Reproduction of Fauziah et al. (2025), RHO-LSTM scheduling at a motorcycle swap station.

The paper's abstract gives relative claims only: RHO-LSTM earns 23.77 % more profit
than RHO-polynomial and 0.26 % more than unscheduled operation, and provides 40 % more
batteries than RHO-polynomial. We run the four methods (plus the perfect-forecast RHO and
the perfect-information MILP bound) on the default environment — real SMARD prices and
ACN-Data arrivals, one day per seed — and print our ratios next to theirs.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import pandas as pd

ENV_ID = "swapgym/SwapStation-v0"
POLICIES = ("unscheduled", "rho_polynomial", "rho_lstm", "rho_naive", "rho_perfect", "oracle_milp")
PAPER = {"profit RHO-LSTM vs RHO-polynomial": 23.77, "profit RHO-LSTM vs unscheduled": 0.26,
         "batteries RHO-LSTM vs RHO-polynomial": 40.0}


def _pct(a: float, b: float) -> float:
    return 100.0 * (a - b) / abs(b) if b else float("nan")


def reproduce(out_dir: pathlib.Path, seeds: Sequence[int], **config) -> str:
    from swapgym.benchmarks.runner import evaluate

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = [evaluate(p, ENV_ID, seeds, record_trajectory=False, **config) for p in POLICIES]
    df = pd.concat(frames, ignore_index=True)
    df.to_csv(out_dir / "swap_station_runs.csv", index=False)
    mean = df.groupby("policy")[["episode_return", "batteries_provided", "swaps_lost", "energy_bought_kwh",
                                 "wall_time_s"]].mean().reindex(POLICIES)
    ours = {
        "profit RHO-LSTM vs RHO-polynomial": _pct(mean.episode_return["rho_lstm"], mean.episode_return["rho_polynomial"]),
        "profit RHO-LSTM vs unscheduled": _pct(mean.episode_return["rho_lstm"], mean.episode_return["unscheduled"]),
        "batteries RHO-LSTM vs RHO-polynomial": _pct(mean.batteries_provided["rho_lstm"],
                                                      mean.batteries_provided["rho_polynomial"]),
    }
    _plot(mean, out_dir / "swap_station_profit.png")
    lines = [
        "## SwapStation — RHO-LSTM at a motorcycle swap station (Fauziah et al. 2025)",
        "",
        f"Default environment (SMARD 2018 prices, ACN-Data 2019 arrivals, test split), seeds {list(seeds)}, "
        "one day each; means over seeds.",
        "",
        "| policy | profit (EUR/day) | batteries provided | swaps lost | energy bought (kWh) | wall time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for p, row in mean.iterrows():
        lines.append(f"| {p} | {row.episode_return:.2f} | {row.batteries_provided:.1f} | {row.swaps_lost:.1f} | "
                     f"{row.energy_bought_kwh:.1f} | {row.wall_time_s:.2f} |")
    lines += ["", "| claim | paper | ours |", "|---|---|---|"]
    for k, v in PAPER.items():
        lines.append(f"| {k} | {v:+.2f} % | {ours[k]:+.2f} % |")
    lines += [
        "",
        "Why the numbers differ: only the abstract survives, so the station, prices, arrivals and "
        "forecasters are ours (documented in SwapStationConfig). With point forecasts a profit-"
        "maximising MILP stocks only the packs it expects to swap, so any under-forecast of the "
        "morning peak costs lost swaps, while unscheduled charging keeps every pack full; the "
        "swap margin dwarfs the price spread, so forecast quality, not price timing, decides the "
        "ranking. The perfect-forecast RHO and the oracle show what better forecasts are worth.",
    ]
    return "\n".join(lines)


def _plot(mean: pd.DataFrame, path: pathlib.Path) -> None:
    from swapgym.envs.core.render import new_figure

    fig = new_figure(800, 400)
    ax1, ax2 = fig.subplots(1, 2)
    names = list(mean.index)
    ax1.bar(names, mean.episode_return, color="tab:green")
    ax1.set_title("profit per day (EUR)")
    ax2.bar(names, mean.batteries_provided, color="tab:blue")
    ax2.set_title("batteries provided per day")
    for ax in (ax1, ax2):
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    fig.tight_layout()
    fig.savefig(path)


def solver_timings(seed: int = 0) -> dict[str, float]:
    """Seconds for one RHO day (24 hourly solves, perfect forecast, 3 types x 40 packs) and
    one oracle day (one 24-hour MILP), on the default environment."""
    import gymnasium as gym

    from swapgym import baselines

    out = {}
    for name, key in (("rho_perfect", "rho_day_s"), ("oracle_milp", "oracle_day_s")):
        env = gym.make(ENV_ID, split="all")
        obs, _ = env.reset(seed=seed)
        policy = baselines.make(name, env)
        start = time.perf_counter()
        policy.reset(env)
        while True:
            action, _ = policy.predict(obs)
            obs, _, term, trunc, _ = env.step(action)
            if term or trunc:
                break
        out[key] = time.perf_counter() - start
    return out


if __name__ == "__main__":
    import sys

    print(reproduce(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "bench-out"), seeds=range(5)))
    print(solver_timings())

