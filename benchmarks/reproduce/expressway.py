"""``swapgym reproduce expressway``: the paper's Table 3 (PPC/BDC per station, M1/M2/M3)
and Table 4 (released EVs) next to ours, with the exact optimum on the same instance."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

import swapgym  # noqa: F401
from swapgym.baselines.expressway import OraclePolicy, PSOPolicy, solve_milp
from swapgym.envs.expressway import dynamics

ENV_ID = "swapgym/Expressway-v0"
# Table 3 of the paper (×10² $): PPC, BDC per BSS and totals.
PAPER_TABLE3 = {
    "M1": {"ppc": (32.22, 11.93, 9.19), "bdc": (47.85, 15.69, 17.86), "total": 134.74},
    "M2": {"ppc": (32.22, 11.93, 9.18), "bdc": (47.85, 15.69, 17.87), "total": 134.73},
    "M3": {"ppc": (30.80, 11.97, 9.99), "bdc": (44.03, 15.80, 18.28), "total": 130.88},
}


def _run(policy, seed: int):
    env = gym.make(ENV_ID)
    env.reset(seed=seed)
    policy.reset(env)
    done, info, releases = False, {}, []
    while not done:
        t = env.unwrapped.state.t
        _, _, done, _, info = env.step(policy.predict(None)[0])
        res = env.unwrapped._history[-1]
        for m, k in enumerate(res.release_by_class):
            releases += [(t, env.unwrapped.config.release_soc_choices[m])] * int(k)
    return info["episode_metrics"], releases


def reproduce(out_dir: pathlib.Path, seeds: Sequence[int]) -> str:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name, pol in (("M1", lambda: PSOPolicy(False, False)), ("M2", lambda: PSOPolicy(True, False)),
                      ("M3", lambda: PSOPolicy(True, True))):
        rows[name] = [_run(pol(), s) for s in seeds]
    exact = {}
    for name, (b2b, rel) in (("M1", (False, False)), ("M2", (True, False)), ("M3", (True, True))):
        exact[name] = []
        for s in seeds:
            env = gym.make(ENV_ID)
            env.reset(seed=s)
            exact[name].append(solve_milp(env.unwrapped.instance, b2b, rel, time_limit_s=10.0))
    lines = ["# Expressway (Zeng et al. 2023) — reproduction", "",
             f"Seeds {list(seeds)}; our instance: Table 2 parameters, TOU prices and arrival "
             "profile of `ExpresswayConfig` (the paper's Fig. 4 is not in the text).", "",
             "## Table 3 — cost per station (paper ×10² $, ours $ mean over seeds)", "",
             "| method | paper PPC (BSS1/2/3) | paper BDC | paper total | ours PPC (BSS1/2/3) "
             "| ours BDC | ours total cost | exact optimum (same setting) | PSO gap to exact |",
             "|---|---|---|---|---|---|---|---|---|"]
    totals = {}
    for name in ("M1", "M2", "M3"):
        ms = [m for m, _ in rows[name]]
        ppc = [np.mean([m[f"ppc_usd_bss{n}"] for m in ms]) for n in (1, 2, 3)]
        bdc = [np.mean([m[f"bdc_usd_bss{n}"] for m in ms]) for n in (1, 2, 3)]
        tot = float(np.mean([m["total_cost_usd"] for m in ms]))
        ex = float(np.mean([p.objective for p in exact[name]]))
        totals[name] = (tot, ex)
        p = PAPER_TABLE3[name]
        lines.append(
            f"| {name} | {'/'.join(f'{v:.2f}' for v in p['ppc'])} | "
            f"{'/'.join(f'{v:.2f}' for v in p['bdc'])} | {p['total']:.2f} | "
            f"{'/'.join(f'{v:.1f}' for v in ppc)} | {'/'.join(f'{v:.3f}' for v in bdc)} | "
            f"{tot:.1f} | {ex:.1f} | {100 * (tot - ex) / ex:+.1f} % |")
    (m1, e1), (m2, e2), (m3, e3) = totals["M1"], totals["M2"], totals["M3"]
    lines += ["", "## Ordering M3 < M2 ≤ M1", "",
              f"* PSO (paper's method): M1 {m1:.1f}, M2 {m2:.1f}, M3 {m3:.1f} → "
              f"{'holds' if m3 < m2 <= m1 + 1e-9 else 'does NOT hold'}.",
              f"* Exact optimum per setting: M1 {e1:.1f}, M2 {e2:.1f}, M3 {e3:.1f} → "
              f"{'holds' if e3 <= e2 <= e1 + 1e-9 else 'does NOT hold'} (feasible sets are "
              "nested, so it must hold up to the MIP gap).", "",
              "Why the PSO ordering can fail: the rolling PSO optimises one hour with a "
              "look-ahead value of the stock, at small swarm sizes (10×12); extra decision "
              "variables (B2B, release) enlarge the search space faster than the swarm explores "
              "it. The exact optimum shows the value B2B and release actually have on this "
              "instance.", "",
              "## Contradictions with the paper", "",
              "* Magnitude: with Table 2's α1, α2 and per-battery powers ≤ 12 kW, eq. (11) "
              "gives cents of BDC per day, not the ×10³ $ of Table 3; Table 3's BDC is only "
              "reached if eq. (11) is applied to a whole station's power (≈ 150 kW). We "
              "implement eq. (11) per battery as written and report what it gives.",
              "* ST_b: Table 2 prints 0.80, eq. (13) defines ST_b = SOC_max − SOC_dev = 0.75; "
              "we use 0.75.",
              "* Table 3 PPC of ≈3.2×10³ $/day at one 40-battery station exceeds what 40 "
              "batteries at ≤ 7 kW can draw in a day at any plausible price; our numbers "
              "are per our price profile.", ""]
    # Table 4: released EVs of M3 on the first seed, with eq. (19) marginal saving.
    _, rel = rows["M3"][0]
    lines += [f"## Table 4 — released EVs (M3, seed {seeds[0]})", "",
              "| EV | hour | SOC_m | SOC taken | ΔQ (kWh) | R_u' = λ·R_u ($, eq. 18–19) |",
              "|---|---|---|---|---|---|"]
    env = gym.make(ENV_ID)
    env.reset(seed=seeds[0])
    inst = env.unwrapped.instance
    c = inst.config
    take = dynamics.release_take_level(inst)
    soc_take = c.soc_min + take * c.soc_step
    rewards = _release_rewards(seeds[0])
    for i, (t, soc) in enumerate(rel[:10]):
        rwd = rewards.get(t, float("nan"))
        lines.append(f"| EV{i + 1} | {t} | {soc:.2f} | {soc_take:.2f} | "
                     f"{(soc - soc_take) * c.battery_kwh:.1f} | {rwd:.2f} |")
    lines += ["", "R_u is eq. (19) per hour: the day cost replayed without that hour's releases "
              "(all other decisions unchanged) minus the day cost with them, times λ, split "
              "evenly over the hour's released EVs.", ""]
    _plot(out_dir, totals)
    return "\n".join(lines)


def _release_rewards(seed: int) -> dict[int, float]:
    env = gym.make(ENV_ID)
    env.reset(seed=seed)
    pol = PSOPolicy(True, True)
    pol.reset(env)
    actions = []
    done = False
    while not done:
        a = pol.predict(None)[0]
        actions.append(a)
        _, _, done, _, _ = env.step(a)
    u = env.unwrapped
    base = sum(r.cost for r in u._history)
    out = {}
    lay = u.layout
    for t, res in enumerate(u._history):
        if res.released == 0:
            continue
        e2 = gym.make(ENV_ID)
        e2.reset(seed=seed)
        cost = 0.0
        for k, a in enumerate(actions):
            m, d, r = lay.decode(a)
            if k == t:
                r = np.zeros_like(r)
            _, rew, _, _, _ = e2.step(lay.encode(m, d, r))
            cost -= rew
        out[t] = u.config.lambda_release * (cost - base) / res.released
    return out


def _plot(out_dir: pathlib.Path, totals) -> None:
    from swapgym.envs.core.render import new_figure

    fig = new_figure(640, 400)
    ax = fig.add_subplot(111)
    names = list(totals)
    ax.bar(np.arange(3) - 0.2, [totals[n][0] for n in names], 0.4, label="PSO (paper method)")
    ax.bar(np.arange(3) + 0.2, [totals[n][1] for n in names], 0.4, label="exact (HiGHS)")
    ax.set_xticks(np.arange(3), names)
    ax.set_ylabel("day cost ($)")
    ax.legend()
    fig.savefig(out_dir / "expressway_costs.png")


def solver_timings() -> dict[str, float]:
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    out = {}
    for name, (b2b, rel) in (("milp_m1", (False, False)), ("milp_m3", (True, True))):
        t0 = time.perf_counter()
        solve_milp(env.unwrapped.instance, b2b, rel, time_limit_s=10.0)
        out[name] = time.perf_counter() - t0
    return out


__all__ = ["OraclePolicy", "reproduce", "solver_timings"]
