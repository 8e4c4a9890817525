"""Reproduce the FleetV2V paper's tables (Ye et al. 2025, section 5) with our model.

``reproduce(out_dir, seeds)`` returns markdown: total cost of V2V sharing vs
charging-station-only on the paper instance next to the paper's (416.11 vs 472.81 ¥),
the provider/consumer STLCSS table, the +1–3 % sensitivity table, an ablation of the
STLCSS policy's rules, the same trajectories scored with the paper's cost terms only, the
LP lower bound that brackets the optimum with the rollout oracle, the ordering claims and
whether they hold, and what could not be reproduced.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np
import pandas as pd

import swapgym  # noqa: F401
from swapgym.baselines.fleet_v2v import RolloutOracle, STLCSSPolicy, V2CSPolicy
from swapgym.baselines.fleet_v2v.bound import lp_lower_bound
from swapgym.baselines.fleet_v2v.stlcss import planned_trajectory, stlcss_similarity
from swapgym.benchmarks.runner import evaluate, run_episode

ENV_ID = "swapgym/FleetV2V-v0"
PAPER_COST = {"0%": (416.11, 472.81), "+1%": (417.02, 473.16), "+2%": (418.79, 474.62),
              "+3%": (420.56, 477.04)}
PAPER_STLCSS = pd.DataFrame(
    [[50.0, 25.0, 12.5, 33.3333], [14.2857, 28.5714, 14.2857, 16.6667],
     [40.0, 11.1111, 25.0, 33.3333], [11.1111, 22.2222, 25.0, 33.3333],
     [16.6667, 33.3333, 16.6667, 16.6667]],
    index=["EV-P1", "EV-P3", "EV-P4", "EV-P5", "EV-P7"],
    columns=["EV-C2", "EV-C6", "EV-C8", "EV-C9"])
POLICIES = {
    "v2cs": lambda: V2CSPolicy(speed="max"),
    "v2cs_pso": lambda: V2CSPolicy(speed="pso"),
    "v2v_stlcss": lambda: STLCSSPolicy(speed="max"),
    "v2v_stlcss_pso": lambda: STLCSSPolicy(speed="pso"),
    "oracle": lambda: RolloutOracle(),
}
# The STLCSS policy's rules switched on one by one (PSO speed plan throughout).
ABLATION = {
    "plain STLCSS matching (most similar provider, no comparison)":
        lambda: STLCSSPolicy(speed="pso", compare_costs=False, provider_reserve_rule=False),
    "+ provider reserve rule":
        lambda: STLCSSPolicy(speed="pso", compare_costs=False, provider_reserve_rule=True),
    "+ V2V-vs-station cost comparison":
        lambda: STLCSSPolicy(speed="pso", compare_costs=True, provider_reserve_rule=False),
    "both (registered v2v_stlcss_pso)": lambda: STLCSSPolicy(speed="pso"),
}
# The paper's objective (section 4.1.5, nomenclature): CC + Ct + CP + Caging — no value
# on the energy the fleet brings from the depot, no reserve penalty.
PAPER_TERMS = ("cost_charging", "cost_time", "cost_time_window", "cost_aging")


def _md(df: pd.DataFrame, digits: int = 2) -> str:
    """A DataFrame as a markdown table (no tabulate dependency)."""
    cols = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in df.columns]
    out = ["| | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for idx, row in df.iterrows():
        cells = [f"{x:.{digits}f}" if isinstance(x, float | np.floating) else str(x) for x in row]
        out.append(f"| {idx} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def _deterministic(policy_name: str, **config) -> dict[str, float]:
    env = gym.make(ENV_ID, consumption_noise_std=0.0, **config)
    factory = POLICIES.get(policy_name) or ABLATION[policy_name]
    row, _ = run_episode(factory(), env, seed=0)
    env.close()
    return row


RANDOM_SEEDS = range(5)


def random_instances(seeds=RANDOM_SEEDS) -> pd.DataFrame:
    """V2CS + PSO vs STLCSS + PSO and the LP bound on random instances (one per seed)."""
    rows = []
    for seed in seeds:
        env = gym.make(ENV_ID, instance="random")
        env.reset(seed=seed)
        u = env.unwrapped
        lb = lp_lower_bound(u.config, u.instance, u.state).total
        cs, _ = run_episode(POLICIES["v2cs_pso"](), env, seed=seed)
        v2v, _ = run_episode(POLICIES["v2v_stlcss_pso"](), env, seed=seed)
        rows.append({"seed": seed, "v2cs_pso": cs["total_cost"], "v2v_stlcss_pso": v2v["total_cost"],
                     "reduction_pct": (cs["total_cost"] - v2v["total_cost"]) / cs["total_cost"] * 100,
                     "v2v_transfers": float(v2v["v2v_transfers"]), "lp_lower_bound": lb})
    return pd.DataFrame(rows)


def lower_bound(**config) -> float:
    """The LP-relaxation lower bound (``bound.lp_lower_bound``) on the paper instance."""
    env = gym.make(ENV_ID, consumption_noise_std=0.0, **config)
    env.reset(seed=0)
    u = env.unwrapped
    return lp_lower_bound(u.config, u.instance, u.state).total


def stlcss_table() -> pd.DataFrame:
    """Our STLCSS similarity (%) of the paper's providers vs consumers, on their planned
    trajectories from the depot at departure (legal maximum speed)."""
    env = gym.make(ENV_ID, consumption_noise_std=0.0)
    env.reset(seed=0)
    u = env.unwrapped
    cfg, inst, st = u.config, u.instance, u.state.copy()
    trajs = {}
    for v in range(inst.n_vans):
        st.time_h = float(inst.depart_h[v])
        trajs[v] = planned_trajectory(cfg, inst, st, v)
    providers, consumers = [0, 2, 3, 4, 6], [1, 5, 7, 8]
    data = [[stlcss_similarity(trajs[p], trajs[c]) for c in consumers] for p in providers]
    return pd.DataFrame(data, index=[f"EV-P{p + 1}" for p in providers],
                        columns=[f"EV-C{c + 1}" for c in consumers])


def _plot(out_dir: pathlib.Path, costs: pd.DataFrame) -> list[str]:
    from swapgym.envs.core.render import new_figure

    files = []
    fig = new_figure(900, 500)
    ax = fig.add_subplot(1, 1, 1)
    terms = [c for c in costs.columns if c.startswith("cost_")]
    bottom = np.zeros(len(costs))
    for t in terms:
        ax.bar(costs.index, costs[t].to_numpy(), bottom=bottom, label=t.removeprefix("cost_"))
        bottom += costs[t].to_numpy()
    ax.set_ylabel("cost (¥)")
    ax.set_title("FleetV2V paper instance: cost split per policy (no consumption noise)")
    ax.legend(fontsize=7)
    fig.savefig(out_dir / "fleet_v2v_costs.png")
    files.append("fleet_v2v_costs.png")
    env = gym.make(ENV_ID, consumption_noise_std=0.0, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    pol = POLICIES["v2v_stlcss_pso"]()
    pol.reset(env)
    while True:
        obs, _, term, trunc, _ = env.step(pol.act(obs))
        if term or trunc:
            break
    frame = env.render()
    import matplotlib.image

    matplotlib.image.imsave(out_dir / "fleet_v2v_map.png", frame)
    files.append("fleet_v2v_map.png")
    return files


def reproduce(out_dir: pathlib.Path, seeds: Sequence[int]) -> str:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# FleetV2V — Ye et al. 2025 (Sustainability 17:8783)", ""]

    # 1. paper instance, deterministic (no consumption noise)
    rows = {name: _deterministic(name) for name in POLICIES}
    det = pd.DataFrame(rows).T
    cost = det["total_cost"]
    lines += ["## Total cost on the paper instance (no consumption noise)", "",
              "| policy | total cost (¥) | charging | battery energy | time | time window | "
              "aging | reserve | V2V kWh | station kWh |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, r in det.iterrows():
        lines.append(f"| {name} | {r.total_cost:.2f} | {r.cost_charging:.2f} | "
                     f"{r.cost_battery_energy:.2f} | {r.cost_time:.2f} | {r.cost_time_window:.2f} | "
                     f"{r.cost_aging:.2f} | {r.cost_reserve:.2f} | {r.v2v_delivered_kwh:.1f} | "
                     f"{r.station_grid_kwh:.1f} |")
    lb = lower_bound()
    lines += [f"| **LP lower bound** (no policy can do better) | {lb:.2f} | | | | | | | | |", "",
              f"The optimum of this episode lies in [{lb:.2f}, {cost['oracle']:.2f}] ¥: the LP "
              "relaxation bound (`baselines/fleet_v2v/bound.py`: per van, coupling and "
              "discreteness relaxed, proven ≤ any completed episode) and the rollout oracle "
              "(a feasible policy, best found — not a proven optimum).", ""]
    v2v, v2cs = cost["v2v_stlcss_pso"], cost["v2cs_pso"]
    red = (v2cs - v2v) / v2cs * 100
    lines += ["", "| | V2V sharing (¥) | charging station (¥) | reduction (¥) | reduction (%) |",
              "|---|---|---|---|---|",
              "| paper | 416.11 | 472.81 | 56.70 | 11.99 % |",
              f"| ours (STLCSS + PSO vs V2CS + PSO) | {v2v:.2f} | {v2cs:.2f} | {v2cs - v2v:.2f} | "
              f"{red:.2f} % |",
              f"| ours (legal max speed) | {cost['v2v_stlcss']:.2f} | {cost['v2cs']:.2f} | "
              f"{cost['v2cs'] - cost['v2v_stlcss']:.2f} | "
              f"{(cost['v2cs'] - cost['v2v_stlcss']) / cost['v2cs'] * 100:.2f} % |", ""]

    # 1b. ablation of the STLCSS rules and the paper's cost terms
    abl = {name: _deterministic(name) for name in ABLATION}
    lines += ["## STLCSS policy: which rule does what (paper instance, PSO speeds)", "",
              "| variant | total cost (¥) | vs V2CS + PSO | V2V transfers | paper's terms (¥) |",
              "|---|---|---|---|---|"]
    for name, r in abl.items():
        lines.append(f"| {name} | {r['total_cost']:.2f} | "
                     f"{(r['total_cost'] - v2cs) / v2cs * 100:+.2f} % | {r['v2v_transfers']:.0f} | "
                     f"{sum(r[k] for k in PAPER_TERMS):.2f} |")
    paper_v2v = sum(det.loc["v2v_stlcss_pso", k] for k in PAPER_TERMS)
    paper_cs = sum(det.loc["v2cs_pso", k] for k in PAPER_TERMS)
    paper_red = (paper_cs - paper_v2v) / paper_cs * 100
    lines += ["", "Same trajectories scored with the paper's cost terms only (charging + time + "
              "time window + aging, section 4.1.5; energy from the depot unpriced): "
              f"V2V {paper_v2v:.2f} ¥ vs charging station {paper_cs:.2f} ¥, "
              f"{paper_red:+.2f} % reduction (paper 11.99 %). The policies still decide "
              "with the env's full cost.", ""]

    # 1c. random instances like the paper's
    rnd = random_instances()
    lines += ["## Random instances (21 tasks, 9 vans, 4 stations; 2 % noise)", "",
              _md(rnd.set_index("seed")), ""]

    # 2. sensitivity: consumption +1..3 %
    lines += ["## Sensitivity (consumption scaled by +1 / +2 / +3 %)", "",
              "| level | paper V2V | paper CS | paper red. % | ours V2V | ours CS | ours red. % |",
              "|---|---|---|---|---|---|---|"]
    sens = []
    for k, (label, (pv, pc)) in enumerate(PAPER_COST.items()):
        scale = 1.0 + 0.01 * k
        ov = _deterministic("v2v_stlcss_pso", consumption_scale=scale)["total_cost"]
        oc = _deterministic("v2cs_pso", consumption_scale=scale)["total_cost"]
        sens.append((ov, oc))
        lines.append(f"| {label} | {pv:.2f} | {pc:.2f} | {(pc - pv) / pc * 100:.2f} | {ov:.2f} | "
                     f"{oc:.2f} | {(oc - ov) / oc * 100:.2f} |")
    sens = np.array(sens)
    lines += ["", f"Ours: mean V2V {sens[:, 0].mean():.2f} ¥ (variance {sens[:, 0].var(ddof=1):.2f}), "
              f"mean CS {sens[:, 1].mean():.2f} ¥ (variance {sens[:, 1].var(ddof=1):.2f}). The "
              "paper's perturbed parameter is lost with its text; we perturb consumption.", ""]

    # 3. STLCSS table
    ours = stlcss_table()
    lines += ["## STLCSS similarity (%) of providers vs consumers", "", "Paper:", "",
              _md(PAPER_STLCSS), "", "Ours (planned trajectories from the depot "
              "at departure, road-graph nodes, δd = 3 km, δt = 0.5 h):", "",
              _md(ours), ""]
    same_best = [PAPER_STLCSS[c].idxmax() == ours[c].idxmax() for c in ours.columns]

    # 4. noisy episodes over seeds (the benchmark's setting)
    frames = [evaluate(POLICIES[n](), ENV_ID, seeds, policy_name=n) for n in POLICIES]
    df = pd.concat(frames, ignore_index=True)
    summ = df.groupby("policy", sort=False)[["total_cost", "wall_time_s"]].agg(["mean", "std"])
    lines += [f"## Default env (2 % consumption noise), seeds {list(seeds)}", "",
              _md(summ), ""]

    # 5. claims
    def holds(b: bool) -> str:
        return "holds" if b else "**does not hold**"

    lines += ["## Claims", "",
              f"- V2V sharing is cheaper than charging-station-only (paper −11.99 %): "
              f"{holds(v2v < v2cs)} in sign in our model ({red:+.2f} % reduction); the size "
              f"of the saving is **not reproduced**.",
              f"- On random instances (seeds {list(RANDOM_SEEDS)}) STLCSS + PSO is cheaper "
              f"than V2CS + PSO on {int((rnd['reduction_pct'] > 1e-9).sum())}/{len(rnd)}, "
              f"equal on {int((rnd['reduction_pct'].abs() <= 1e-9).sum())}, dearer on "
              f"{int((rnd['reduction_pct'] < -1e-9).sum())} (the option-cost estimate is a "
              "one-step look-ahead, not exact).",
              f"- PSO speed planning beats legal-max speed: V2CS {holds(cost['v2cs_pso'] < cost['v2cs'])}"
              f", V2V {holds(cost['v2v_stlcss_pso'] < cost['v2v_stlcss'])}.",
              f"- The saving is stable under +1–3 % perturbation (paper 11.76–11.99 %): ours spans "
              f"{((sens[:, 1] - sens[:, 0]) / sens[:, 1] * 100).min():.2f} to "
              f"{((sens[:, 1] - sens[:, 0]) / sens[:, 1] * 100).max():.2f} %.",
              f"- The oracle (rollout) is cheapest: {holds(cost.idxmin() == 'oracle')}; it "
              f"is within {(cost['oracle'] - lb) / lb * 100:.1f} % of the LP lower bound.",
              f"- With the paper's cost terms only, V2V saves {paper_red:+.2f} % "
              f"({holds(paper_red > 0)} in sign, paper 11.99 %).",
              f"- Each consumer's most similar provider matches the paper's table for "
              f"{sum(same_best)}/{len(same_best)} consumers.", "",
              "## Why our numbers differ", "",
              "- Only headings and tables of the paper survive: the energy model's parameters, "
              "the road graph, departure and service times, the STLCSS thresholds, the "
              "cost equations and the rendezvous rule are ours (documented in "
              "`FleetV2VConfig`). Costs of a few hundred ¥ match the paper's order of "
              "magnitude, not its digits.",
              "- We value energy consistently: station purchases plus the depot tariff for "
              "whatever the batteries lost, so V2V energy is not free — a transfer only saves "
              "the station detour and the station's mark-up (1.5/0.97 − 1.5 ¥/kWh) and costs "
              "the provider's detour, both vans' waiting, the 30 kW transfer (slower than "
              "the 50 kW station) and the delay of the provider's later customers (late "
              "penalty 10 kWh/h). The STLCSS policy therefore compares each matched "
              "provider's V2V option with the station V2CS would use (section 5.3.2's "
              "V2V-vs-V2CS comparison; our cost estimate, `STLCSSPolicy.v2v_option_cost`) "
              "and takes V2V only when it is cheaper. Plain matching (the most similar "
              "provider whenever one exists) sends providers on long detours and costs more "
              "than V2CS (ablation table; the provider reserve rule never fires on this "
              "instance). With the comparison V2V is taken rarely (one "
              "transfer on the paper instance) and saves a few per cent, not 12 %. Scored "
              "with the paper's own cost terms, which leave the depot energy unpriced, the "
              "saving grows but stays below the paper's; we did not retune anything to "
              "close the gap.",
              "- The paper's STLCSS table uses its own trajectory sampling and thresholds "
              "(lost); ours uses road-graph nodes, so only the pattern is comparable.", ""]
    files = _plot(out_dir, det)
    lines += ["Figures: " + ", ".join(files), ""]
    return "\n".join(lines)


def solver_timings() -> dict[str, float]:
    """Wall time (s) of the planners on the paper instance: PSO speed plan (all vans),
    exhaustive speed plan, and one rollout-oracle episode."""
    from swapgym.baselines.fleet_v2v.speed import exhaustive_speed_plan, pso_speed_plan

    env = gym.make(ENV_ID)
    env.reset(seed=0)
    u = env.unwrapped
    out = {}
    t0 = time.perf_counter()
    pso_speed_plan(u.config, u.instance, u.state, np.random.default_rng(0))
    out["pso_speed_plan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    exhaustive_speed_plan(u.config, u.instance, u.state)
    out["exhaustive_speed_plan_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_episode(RolloutOracle(), env, seed=0)
    out["oracle_episode_s"] = time.perf_counter() - t0
    env.reset(seed=0)
    t0 = time.perf_counter()
    lp_lower_bound(u.config, u.instance, u.state)
    out["lp_lower_bound_s"] = time.perf_counter() - t0
    return out
