"""``swapgym reproduce expressway``: the paper's Table 3 (PPC/BDC per station, M1/M2/M3)
and Table 4 (released EVs) next to ours, with the day optimum of each setting on the same
instances (HiGHS, time-limited: every time-out is flagged and its MIP gap shown)."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Sequence

import gymnasium as gym
import numpy as np

import swapgym  # noqa: F401
from swapgym.baselines.expressway import ORACLE_TIME_LIMIT_S, OraclePolicy, PSOPolicy, solve_milp
from swapgym.envs.expressway import ActionLayout, dynamics

ENV_ID = "swapgym/Expressway-v0"
# Wall-clock limit of each exact solve in the reproduction (the benchmark's oracle uses
# ORACLE_TIME_LIMIT_S). M1's LP is integral (< 0.3 s); M3 is proven within 0.01 % in
# ~0.5–1.5 s on seeds 0–4; M2 can take several seconds. A hit limit is flagged in the table.
EXACT_TIME_LIMIT_S = 10.0
# Table 3 of the paper (×10² $): PPC, BDC per BSS and totals.
PAPER_TABLE3 = {
    "M1": {"ppc": (32.22, 11.93, 9.19), "bdc": (47.85, 15.69, 17.86), "total": 134.74},
    "M2": {"ppc": (32.22, 11.93, 9.18), "bdc": (47.85, 15.69, 17.87), "total": 134.73},
    "M3": {"ppc": (30.80, 11.97, 9.99), "bdc": (44.03, 15.80, 18.28), "total": 130.88},
}
SETTINGS = {"M1": (False, False), "M2": (True, False), "M3": (True, True)}


def _run_pso(name: str, seed: int, nested: bool = True):
    """One day of the paper's method; returns (episode metrics, released EVs, final info).
    ``nested=False`` runs M3 as one joint swarm (for the ordering analysis)."""
    b2b, release = SETTINGS[name]
    env = gym.make(ENV_ID)
    env.reset(seed=seed)
    policy = PSOPolicy(b2b, release, nested=nested)
    policy.reset(env)
    done, info, releases = False, {}, []
    while not done:
        t = env.unwrapped.state.t
        _, _, done, _, info = env.step(policy.predict(None)[0])
        res = env.unwrapped.history[-1]
        for m, k in enumerate(res.release_by_class):
            releases += [(t, env.unwrapped.config.release_soc_choices[m], int(res.released))] * int(k)
    return info["episode_metrics"], releases, info


def _replay(plan, seed: int) -> dict[str, float]:
    """Episode metrics of an exact plan played in the env (checks it is executable)."""
    env = gym.make(ENV_ID)
    env.reset(seed=seed)
    lay = ActionLayout(env.unwrapped.config)
    info = {}
    for t in range(env.unwrapped.config.horizon_h):
        _, _, _, _, info = env.step(lay.encode(plan.moves[t], plan.dispatch[t], plan.release[t]))
    return info["episode_metrics"]


def reproduce(out_dir: pathlib.Path, seeds: Sequence[int]) -> str:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds)
    pso = {name: [_run_pso(name, s) for s in seeds] for name in SETTINGS}
    joint = [_run_pso("M3", s, nested=False) for s in seeds]  # M3 as one swarm
    exact = {name: [] for name in SETTINGS}
    for s in seeds:
        env = gym.make(ENV_ID)
        env.reset(seed=s)
        inst = env.unwrapped.instance
        # nested settings: M1's plans are M2's (no B2B), M2's are M3's (no release), so
        # each solve starts from the previous optimum and can only improve on it
        prev = None
        for name in SETTINGS:
            prev = solve_milp(inst, *SETTINGS[name], EXACT_TIME_LIMIT_S,
                              warm_start=prev if prev is not None else "auto")
            exact[name].append(prev)
    c = gym.make(ENV_ID).unwrapped.config
    lines = [
        "## Expressway (Zeng et al. 2023): M1/M2/M3 and the day optimum", "",
        f"Seeds {seeds}, one day each. Instance: Table 2 parameters; grid price of "
        f"{c.price_date} from the shipped SMARD day-ahead data (EUR/MWh ÷ 1000, read as "
        "$/kWh; the paper's Fig. 4 prices are not in the text); the documented arrival "
        "profile of `ExpresswayConfig`. Ours in $ per day (mean over seeds), the paper's "
        "in ×10² $.", "",
        "### Table 3: cost per station", "",
        "| method | paper PPC (BSS1/2/3) | paper BDC | paper total | ours PPC (BSS1/2/3) "
        "| ours BDC | ours total (PSO) | exact (same setting) | exact MIP gap | PSO above exact |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    totals = {}
    for name in SETTINGS:
        ms = [m for m, _, _ in pso[name]]
        ppc = [np.mean([m[f"ppc_usd_bss{n}"] for m in ms]) for n in (1, 2, 3)]
        bdc = [np.mean([m[f"bdc_usd_bss{n}"] for m in ms]) for n in (1, 2, 3)]
        tot = float(np.mean([m["total_cost_usd"] for m in ms]))
        plans = exact[name]
        ex = float(np.mean([p.objective for p in plans]))
        gap = max(p.mip_gap for p in plans)
        flag = "" if all(p.optimal for p in plans) else (
            f" (time limit {EXACT_TIME_LIMIT_S:g} s hit on {sum(not p.optimal for p in plans)}"
            f"/{len(plans)})")
        if name != "M1" and any(p.from_warm_start for p in plans):
            flag += (f" (no better plan than the {'M1' if name == 'M2' else 'M2'} warm start on "
                     f"{sum(p.from_warm_start for p in plans)}/{len(plans)})")
        totals[name] = (tot, ex)
        p = PAPER_TABLE3[name]
        lines.append(
            f"| {name} | {'/'.join(f'{v:.2f}' for v in p['ppc'])} | "
            f"{'/'.join(f'{v:.2f}' for v in p['bdc'])} | {p['total']:.2f} | "
            f"{'/'.join(f'{v:.1f}' for v in ppc)} | {'/'.join(f'{v:.3f}' for v in bdc)} | "
            f"{tot:.1f} | {ex:.1f} | ≤ {100 * gap:.2f} %{flag} | {100 * (tot - ex) / ex:+.1f} % |")
    # every exact plan replays to its objective in the env (the MILP is the env's model)
    replayed = {name: [_replay(p, s) for p, s in zip(exact[name], seeds)] for name in SETTINGS}
    worst = max(abs(m["total_cost_usd"] - p.objective)
                for name in SETTINGS for p, m in zip(exact[name], replayed[name]))
    # where the exact optimum's release saving comes from: purchases per station, M3 − M2
    shift = [np.mean([b[f"ppc_usd_bss{k}"] - a[f"ppc_usd_bss{k}"]
                      for a, b in zip(replayed["M2"], replayed["M3"])]) for k in (1, 2, 3)]
    (m1, e1), (m2, e2), (m3, e3) = totals["M1"], totals["M2"], totals["M3"]
    per_seed = [tuple(pso[n][i][0]["total_cost_usd"] for n in SETTINGS) for i in range(len(seeds))]
    strict = sum(a3 < a2 <= a1 for a1, a2, a3 in per_seed)
    weak = sum(a3 <= a2 <= a1 for a1, a2, a3 in per_seed)
    b2b_wins = sum(a2 < a1 for a1, a2, _ in per_seed)
    n_rel = [len(r) for _, r, _ in pso["M3"]]
    same = sum(abs(a3 - a2) < 1e-9 for _, a2, a3 in per_seed)
    joint_diff = [j[0]["total_cost_usd"] - row[1] for j, row in zip(joint, per_seed)]
    joint_rel = [len(r) for _, r, _ in joint]
    ex_rel = [int(p.release.sum()) for p in exact["M3"]]
    n = len(seeds)
    lines += [
        "", f"Exact plans replayed in the env: largest |replayed − MILP objective| = {worst:.1e} $.",
        "", "### Ordering M3 < M2 ≤ M1", "",
        f"* PSO (paper's method, 10 particles × 12 iterations per hour): M1 {m1:.1f}, M2 {m2:.1f}, "
        f"M3 {m3:.1f} on the mean → {'holds' if m3 < m2 <= m1 else 'does NOT hold'}; per seed "
        f"M3 < M2 ≤ M1 holds on {strict}/{n}, M3 ≤ M2 ≤ M1 on {weak}/{n} "
        f"({'; '.join(f's{s}: ' + '/'.join(f'{v:.1f}' for v in row) for s, row in zip(seeds, per_seed))}). "
        f"M3 released {'/'.join(map(str, n_rel))} EVs and equals M2 exactly on {same}/{n} seeds.",
        f"* Exact per setting: M1 {e1:.1f}, M2 {e2:.1f}, M3 {e3:.1f} → "
        f"{'holds' if e3 < e2 <= e1 + 1e-9 else 'does NOT hold'} (the feasible sets are nested "
        "and M2 starts from the M1 optimum, M3 from the M2 optimum). The exact M3 releases "
        f"{'/'.join(map(str, ex_rel))} EVs and saves {100 * (e2 - e3) / e2:.2f} % of the day "
        "against the exact M2. Solved by an LP branch and bound on HiGHS (`solve_milp`: "
        "branching on cumulative dispatch counts, the day's totals first, with reduced-cost "
        "fixing; each node re-solved from its parent's basis); mean seconds "
        "per day: " + ", ".join(f"{k} {np.mean([p.solve_time_s for p in exact[k]]):.2f}"
                                for k in SETTINGS) + ".", "",
        "Why the PSO's M3 is not always below its M2. M3's plans contain M2's (no release), so an "
        "M3 worse than M2 is a search failure, not a modelling one. Run as one swarm over the "
        "whole M3 space (the earlier version, `PSOPolicy(..., nested=False)`), M3 − M2 was "
        f"{', '.join(f'{d:+.1f}' for d in joint_diff)} $ on these seeds with "
        f"{'/'.join(map(str, joint_rel))} releases: the release dimensions change the "
        "swarm's random stream from the first hour, and the rolling PSO's day cost moves by "
        "±10 $ with any such change (in a separate run on seeds 0–4, `PSOConfig(20, 24)` "
        "moved M2 alone by −11 to +13 $ per seed, and the joint M3 was still above M2 on 3 "
        "of 5) "
        "— far more than the "
        f"{e2 - e3:.1f} $ a release is worth in the exact optimum. So M3 is now solved "
        "nested on M2, as the paper's hierarchy reads (§4.3: after the release the other two "
        "levels are updated): M2's swarm with M2's own random stream decides dispatch, "
        "charging and B2B; the release counts are enumerated with those fixed (each with the "
        "release station's charging cut by up to the released energy); if an EV is released, "
        "one more swarm seeded with both plans updates the lower levels. A day without a "
        "release is M2's day. What remains is the look-ahead: it values each battery's energy "
        "at that battery's cheapest future hour, the same at every station (one grid price), "
        "so a release — BSS1 gains ≈ 0.5 SOC, BSS2 gives a ready battery for a 0.2-SOC one "
        "an hour later, plus the 80 km drive — costs ≈ 0.4–1 $ in the hour's objective (seed "
        "0, measured when this was written) unless BSS1 is short of ready batteries. The exact optimum gains from releases "
        "through the day's timing: BSS1 charges all its batteries at the full rate in the "
        "cheap hours and still needs energy in dearer ones; releases bring it energy that "
        "BSS2 bought in cheap hours (exact M3 − M2 purchases per BSS, mean: "
        + "/".join(f"{v:+.1f}" for v in shift) + " $). An hourly look-ahead does not see "
        "that. "
        f"M2 < M1 on {b2b_wins}/{n} seeds (B2B lets batteries charged at night feed others in "
        "the peaks). The PSO's distance to the exact optimum is mostly timing — the hourly "
        "PSO buys energy in the morning peak to make batteries ready that the day plan "
        "charged at night — plus some EVs sent to far stations (8 kWh more to recharge per "
        "80 km) and a larger end-of-day shortfall.",
        "", "### Contradictions with the paper", "",
        "* Magnitude: with Table 2's α1, α2 and per-battery powers ≤ 12 kW, eq. (11) "
        "gives cents of BDC per day, not the ×10³ $ of Table 3; Table 3's BDC is only "
        "reached if eq. (11) is applied to a whole station's power (≈ 150 kW). We "
        "implement eq. (11) per battery as written and report what it gives.",
        "* ST_b: Table 2 prints 0.80, eq. (13) defines ST_b = SOC_max − SOC_dev = 0.75; "
        "we use 0.75.",
        "* Table 3 PPC of ≈3.2×10³ $/day at one 40-battery station exceeds what 40 "
        "batteries at ≤ 7 kW can draw in a day at any plausible price; our PPC is per the "
        "SMARD day.", ""]
    # Table 4: released EVs of the PSO's M3 on the first seed that releases any (else the
    # first seed); R_u from eq. (19) computed by the env
    k = next((i for i, (_, r, _) in enumerate(pso["M3"]) if r), 0)
    _, rel, info = pso["M3"][k]
    saving = info["release_saving_usd_per_hour"]
    env = gym.make(ENV_ID)
    env.reset(seed=seeds[k])
    inst = env.unwrapped.instance
    take = dynamics.release_take_level(inst)
    soc_take = c.soc_min + take * c.soc_step
    lines += [f"### Table 4: released EVs (M3 PSO, seed {seeds[k]})", "",
              "| EV | hour | SOC_m | SOC taken | ΔQ (kWh) | R_u' = λ·R_BSS / EVs that hour ($, eqs. 18–19) |",
              "|---|---|---|---|---|---|"]
    for i, (t, soc, n_hour) in enumerate(rel[:10]):
        pay = c.lambda_release * saving[t] / max(n_hour, 1)
        lines.append(f"| EV{i + 1} | {t} | {soc:.2f} | {soc_take:.2f} | "
                     f"{(soc - soc_take) * c.battery_kwh:.1f} | {pay:.2f} |")
    if not rel:
        lines.append("| – | no EV released | | | | |")
    lines += ["", "R_BSS is eq. (19) per hour, as the env reports it at the episode end "
              "(`info[\"release_saving_usd_per_hour\"]`): the day replayed without that "
              "hour's releases (all other actions unchanged) minus the day as played. The "
              "paper's R_u' are 2–15 $; ours can be negative when a release did not pay off "
              "(eq. 18 asks R_BSS > 0; the PSO's look-ahead only estimates it).", ""]
    _plot(out_dir, totals)
    return "\n".join(lines)


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
    """Seconds of the exact day solves on seed 0 (whole call, then its parts): M1, and M3
    as the oracle runs it (``warm_start="auto"``: M1's LP first). The M3 labels carry the
    proven gap and the branch-and-bound nodes, since a fast solve is only worth its gap."""
    env = gym.make(ENV_ID)
    env.reset(seed=0)
    inst = env.unwrapped.instance
    out = {}
    t0 = time.perf_counter()
    solve_milp(inst, False, False, time_limit_s=ORACLE_TIME_LIMIT_S)
    out["milp_m1"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    p = solve_milp(inst, True, True, time_limit_s=ORACLE_TIME_LIMIT_S)
    total = time.perf_counter() - t0
    tag = f"gap {100 * p.mip_gap:.4f} %, {p.nodes} nodes, {p.status}"
    out[f"milp_m3 ({tag})"] = total
    out["milp_m3: model build (Python)"] = p.build_time_s
    out["milp_m3: root LPs (M1 + M3)"] = p.lp_time_s
    out["milp_m3: branch and bound"] = max(total - p.build_time_s - p.lp_time_s, 0.0)
    return out


__all__ = ["OraclePolicy", "reproduce", "solver_timings"]
