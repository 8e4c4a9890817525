"""``swapgym reproduce grid-resilience``: the paper's Tables 1–3 (allocation per method,
system costs per method, EV availability) next to ours, the economics behind its tables,
the lower-level baselines and the LinDistFlow-vs-AC check.

Paper numbers below are quoted from ``shared/papers/grid_resilience_ev_rb.txt`` (the
paper's own inputs to the comparison); every number of ours is computed here.
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
import warnings
from collections.abc import Sequence

import numpy as np

from swapgym.baselines.grid_resilience.planning import (
    METHODS,
    Allocation,
    Planner,
    PlanningConfig,
    PlanResult,
    replacement_factor,
)
from swapgym.envs.grid_resilience import dynamics
from swapgym.envs.grid_resilience.config import GridResilienceConfig
from swapgym.envs.grid_resilience.instance import make_instance

# --- the paper's tables (quoted) ----------------------------------------------------------
# Table 1. Lines in the paper's 1-based "a-b" notation → our 0-based line index a − 1.
PAPER_TABLE1 = {
    1: Allocation((0, 26, 29), (0, 2, 1), ((0, 0, 0, 0, 6), (0, 0, 0, 0, 4))),
    2: Allocation((), (1, 2, 1), ((6, 6, 6, 6, 6), (0, 3, 0, 1, 4))),
    3: Allocation((0, 26, 29), (0, 0, 0), ((0, 0, 0, 0, 6), (0, 0, 0, 0, 4))),
    4: Allocation((0, 26, 29), (1, 2, 1), ((0, 0, 0, 0, 0), (0, 0, 0, 0, 0))),
}
# Table 2 (CNY): installation, replacement, annual maintenance, annual operation, total.
PAPER_TABLE2 = {
    1: (5.2000e6, 2.2035e6, 2.6000e4, 3.0601e6, 3.7437e6),
    2: (8.2000e6, 3.7595e6, 8.2000e4, 1.4491e7, 1.5636e7),
    3: (2.6000e6, 4.4134e5, 2.1500e4, 6.5874e6, 6.8790e6),
    4: (4.4400e6, 2.1959e6, 7.5000e3, 3.3063e6, 3.9032e6),
}
# Table 3: available EVs per candidate node; EV-RB capacity (kWh) and the Table 2 columns.
PAPER_TABLE3 = {
    1: ((5, 6, 5, 7, 4), 850.0, (5.2000e6, 2.2035e6, 2.6000e4, 3.0601e6, 3.7437e6)),
    2: ((1, 3, 2, 3, 1), 750.0, (5.0300e6, 2.1499e6, 2.4000e4, 3.1579e6, 3.8196e6)),
    3: ((8, 9, 7, 10, 10), 850.0, (5.2000e6, 2.2035e6, 2.6000e4, 3.0599e6, 3.7435e6)),
}
COST_NAMES = ("installation", "replacement", "maintenance", "annual operation", "total")
N_PLAN_SEEDS = 2  # PSO restarts per method (the best is reported); keeps the run to minutes


def _fmt(v: float) -> str:
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.4e}".replace("e+0", "e").replace("e+", "e")


def _zero(v: float, tol: float = 1e-3) -> float:
    """Round-off (the tables print 5 digits) shown as 0."""
    return 0.0 if abs(v) < 10 or abs(v) < tol else float(v)


def _counts(alloc: Allocation) -> tuple[np.ndarray, int, np.ndarray]:
    """(MESS per type, lines, EV-RB packs per type)."""
    return np.asarray(alloc.mess_counts, float), len(alloc.lines), np.asarray(alloc.rb_counts, float).sum(axis=1)


def economics_from_tables() -> tuple[list[str], dict[str, float]]:
    """Back-solve the paper's unit costs from Tables 1–3 (linear systems) and check the
    annualisation of Table 2. Returns markdown lines and the derived values."""
    rows, ins, rep, om = [], [], [], []
    for m in (1, 2, 3, 4):
        mess, n_l, rb = _counts(PAPER_TABLE1[m])
        bundle = mess[2] if mess[1] == 2 * mess[2] else np.nan  # MESS #2/#3 only appear as (2, 1)
        rows.append([n_l, mess[0], bundle, rb[0], rb[1], mess.sum()])
        ins.append(PAPER_TABLE2[m][0])
        rep.append(PAPER_TABLE2[m][1])
        om.append(PAPER_TABLE2[m][2])
    # Table 3 scenario 2: same allocation as Method 1 but 750 kWh ⇒ one #2 pack fewer.
    a = np.array([r[:5] for r in rows] + [[3, 0, 1, 6, 3]], float)
    # Columns: C^LR, C^MESS_1, (2 C^MESS_2 + C^MESS_3) [Methods use MESS #2, #3 only as (2, 1)], C^RB_1, C^RB_2.
    ins_sol = np.linalg.solve(a, np.array([*ins, PAPER_TABLE3[2][2][0]]))
    rep_sol = np.linalg.solve(a, np.array([*rep, PAPER_TABLE3[2][2][1]]))
    # Maintenance: per line, per MESS (any type), per EV-RB pack (any type).
    b = np.array([[r[0], r[5], r[3] + r[4]] for r in rows] + [[3, 3, 9]], float)
    om_sol, *_ = np.linalg.lstsq(b, np.array([*om, PAPER_TABLE3[2][2][2]]), rcond=None)
    om_res = float(np.abs(b @ om_sol - np.array([*om, PAPER_TABLE3[2][2][2]])).max())
    crf = [(t[4] - t[2] - t[3]) / (t[0] + t[1]) for t in PAPER_TABLE2.values()]
    pc = PlanningConfig()
    out = {"crf_implied_mean": float(np.mean(crf)), "crf_8pct_30y": pc.crf}
    lines = [
        "## The paper's economics, back-solved from its own tables", "",
        "The paper gives no unit costs, lives or discount rate. Tables 1–3 determine them "
        "(5 allocations × 3 cost rows, linear systems solved here):", "",
        "| quantity | installation (CNY) | replacement (CNY, PV) | replacement / installation | our default |",
        "|---|---|---|---|---|",
        f"| per reinforced line | {ins_sol[0]:.4g} | {_zero(rep_sol[0]):.4g} | {_zero(rep_sol[0] / ins_sol[0]):.3f} | "
        f"{pc.line_install_cost:.4g}, no replacement (life {pc.line_life_years:g} y) |",
        f"| MESS #1 | {ins_sol[1]:.4g} | {rep_sol[1]:.4g} | {rep_sol[1] / ins_sol[1]:.3f} | "
        f"{pc.mess_install_cost[0]:.4g}, life {pc.mess_life_years:g} y → "
        f"{replacement_factor(pc.mess_life_years, pc):.3f} |",
        f"| 2 × MESS #2 + MESS #3 | {ins_sol[2]:.4g} | {rep_sol[2]:.4g} | {rep_sol[2] / ins_sol[2]:.3f} | "
        f"{2 * pc.mess_install_cost[1] + pc.mess_install_cost[2]:.4g} (split "
        f"{pc.mess_install_cost[1]:.3g} / {pc.mess_install_cost[2]:.3g} is ours) |",
        f"| EV-RB #1 pack | {ins_sol[3]:.4g} | {rep_sol[3]:.4g} | {rep_sol[3] / ins_sol[3]:.3f} | "
        f"{pc.rb_install_cost[0]:.4g}, life {pc.rb_life_years:g} y → "
        f"{replacement_factor(pc.rb_life_years, pc):.3f} |",
        f"| EV-RB #2 pack | {ins_sol[4]:.4g} | {rep_sol[4]:.4g} | {rep_sol[4] / ins_sol[4]:.3f} | "
        f"{pc.rb_install_cost[1]:.4g} |", "",
        f"Maintenance per line / MESS / EV-RB pack per year: {om_sol[0]:.4g} / {om_sol[1]:.4g} / "
        f"{om_sol[2]:.4g} CNY (largest residual {om_res:.3g} CNY over the 5 rows); ours "
        f"{pc.line_om_cost:g} / {pc.mess_om_cost:g} / {pc.rb_om_cost:g}.", "",
        "The replacement ratios are present values of replacements at ζ = 8 %: 1.08^-15 = "
        f"{1.08 ** -15:.3f} (EV-RB, one replacement in 30 y), 1.08^-10 + 1.08^-20 = "
        f"{1.08 ** -10 + 1.08 ** -20:.3f} (MESS, two). With T = 30 y every asset ends its "
        "life at T, so the residual value C_rec is 0, consistent with Table 2 having no "
        "C_rec row.", "",
        "**Contradiction — Table 2 totals vs the printed objective.** Each total equals "
        "CRF · (installation + replacement) + maintenance + operation with implied CRF "
        + ", ".join(f"M{m} {c:.5f}" for m, c in zip(PAPER_TABLE2, crf))
        + f"; CRF(8 %, 30 y) = {pc.crf:.5f}. The printed objective instead adds "
        "installation + replacement − residual + maintenance + PWF · operation (PWF = 1/CRF "
        f"= {1 / pc.crf:.2f}), which for Method 1 would be "
        f"{PAPER_TABLE2[1][0] + PAPER_TABLE2[1][1] + PAPER_TABLE2[1][2] + PAPER_TABLE2[1][3] / pc.crf:.4e} "
        "CNY, not 3.7437e6. The two differ only in the weight of maintenance (printed = PWF · "
        "annualised − (PWF − 1) · maintenance), so they rank allocations almost alike. We "
        "optimise the annualised total (the tables) and report both.", "",
    ]
    return lines, out


def _plan_best(planner: Planner, method: int, seeds: Sequence[int],
               initial: Sequence[Allocation] = ()) -> tuple[PlanResult, list[PlanResult]]:
    runs = [planner.plan(method, seed=s, progress=False, initial=initial) for s in seeds]
    best = min(runs, key=lambda r: planner.objective_value(r.costs))
    return best, runs


def _cost_row(costs: dict[str, float]) -> tuple[float, ...]:
    return (costs["installation"], costs["replacement"], costs["maintenance"], costs["annual_operation"],
            costs["total_annualised"])


def lower_level_table(grid: GridResilienceConfig) -> list[str]:
    """Per typical scenario: do nothing, greedy, MILP (oracle), LP bound, at ``grid``."""
    from swapgym.baselines.grid_resilience import greedy_action
    from swapgym.baselines.grid_resilience.milp import solve_operation

    inst = make_instance(grid)
    lines = ["## Lower level (one day, default allocation = the paper's Method 1)", "",
             "| scenario z | κ_z | damaged lines (paper numbering) | islands | do nothing | greedy "
             "(reference) | MILP oracle (greedy_routes) | relax-and-fix MILP | LP bound | MILP solve (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for z, sc in enumerate(inst.scenarios):
        costs = {}
        for name, pol in (("nothing", None), ("greedy", greedy_action)):
            st = dynamics.initial_state(inst, z)
            tot = 0.0
            while st.t < inst.horizon:
                a = pol(inst, st) if pol else dynamics.do_nothing_action(inst)
                tot += sum(dynamics.step(inst, st, dynamics.decode_action(inst, a)).costs.values())
            costs[name] = tot
        t0 = time.perf_counter()
        oracle = solve_operation(inst, dynamics.initial_state(inst, z), method="greedy_routes")
        dt = time.perf_counter() - t0
        rf = solve_operation(inst, dynamics.initial_state(inst, z), method="relax_and_fix")
        damaged = ", ".join(f"{a + 1}-{a + 2}" for a in np.flatnonzero(sc.damaged)) or "none"
        lines.append(f"| {z} | {sc.probability:.3f} | {damaged} | {inst.topologies[z].n_islands} | "
                     f"{costs['nothing']:.0f} | {costs['greedy']:.0f} | {oracle.objective:.0f} | "
                     f"{rf.objective:.0f} | {rf.lower_bound:.0f} | {dt:.2f} |")
    lines += ["", "Costs in CNY per outage day (the paper's lower-level objective). Hardened "
              "lines (Method 1: 1-2, 27-28, 30-31) are removed from each scenario's damage.", ""]
    return lines


def reproduce(out_dir: pathlib.Path, seeds: Sequence[int]) -> str:
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = list(seeds)[:N_PLAN_SEEDS] or [0]
    start = time.perf_counter()
    grid = GridResilienceConfig()
    pc = PlanningConfig()
    planner = Planner(grid, pc)
    econ_lines, _econ = economics_from_tables()
    lines = ["# Grid resilience with EV replaceable batteries — reproduction", "",
             "IEEE 33-bus feeder (pandapower `case33bw`), our `GridResilienceConfig` defaults "
             f"({grid.n_typical_scenarios} typical storm scenarios by k-means of "
             f"{grid.n_raw_scenarios} fragility-model events, seed {grid.scenario_seed}). "
             f"Planning: shared PSO, {pc.n_particles} particles × {pc.iterations} iterations, "
             f"searched with the `{pc.scorer}` operation scorer, top {pc.polish_top_k} "
             f"re-scored with the `{pc.polish_scorer}` scorer; best of PSO seeds {seeds}. "
             f"Annual operation cost = {pc.disaster_days_per_year:g} outage days/year × "
             "Σ_z κ_z · (day cost of z) [our assumption; the paper does not say].", ""]
    lines += econ_lines

    # Tables 1–2: PSO plans per method, and the paper's own allocation in our model.
    ours, paper_in_ours, runs = {}, {}, {}
    for m in (2, 3, 4):
        ours[m], runs[m] = _plan_best(planner, m, seeds)
    # Method 1 contains Methods 2–4: warm-start its swarm with their plans. The cold start
    # (empty allocation only) is reported too.
    cold, cold_runs = _plan_best(planner, 1, seeds)
    ours[1], runs[1] = _plan_best(planner, 1, seeds, initial=[ours[m].allocation for m in (2, 3, 4)])
    ours = {m: ours[m] for m in METHODS}
    for m in METHODS:
        paper_in_ours[m] = planner.evaluate(PAPER_TABLE1[m], pc.polish_scorer or pc.scorer)[0]
    lines += ["## Table 1 — allocation per method", "",
              "| method | paper | ours (PSO) | PSO time per seed (s) / allocations scored |",
              "|---|---|---|---|"]
    for m, (desc, *_rest) in METHODS.items():
        lines.append(f"| {m}: {desc} | {PAPER_TABLE1[m].describe()} | {ours[m].allocation.describe()} | "
                     f"{np.mean([r.seconds for r in runs[m]]):.0f} / {ours[m].evaluations} |")
    lines += ["", f"Method 1 from a cold start (PSO from the empty allocation only): "
              f"{cold.allocation.describe()}, total {_fmt(planner.objective_value(cold.costs))} "
              f"(seeds: {'/'.join(_fmt(planner.objective_value(r.costs)) for r in cold_runs)}); the "
              "table's Method 1 is warm-started with the plans of Methods 2–4 (its feasible set "
              "contains theirs).", "",
              "Line a-b is the paper's (1-based) numbering. MESS counts per type #1/#2/#3; "
              "EV-RB counts per candidate node (our buses 8, 14, 18, 25, 31 in paper numbering).", ""]
    lines += ["## Table 2 — system costs per method (CNY)", "",
              "| method | cost | paper | ours: PSO plan | ours: paper's allocation in our model |",
              "|---|---|---|---|---|"]
    for m in METHODS:
        o, p = _cost_row(ours[m].costs), _cost_row(paper_in_ours[m])
        for i, name in enumerate(COST_NAMES):
            lines.append(f"| {m} | {name} | {_fmt(PAPER_TABLE2[m][i])} | {_fmt(o[i])} | {_fmt(p[i])} |")
    lines += ["", "Totals are the tables' annualised form (see above). Printed-formula totals "
              "of our PSO plans: " + ", ".join(f"M{m} {_fmt(ours[m].costs['total_printed'])}" for m in METHODS)
              + ". PSO spread over seeds: " + "; ".join(
                  f"M{m} " + "/".join(_fmt(planner.objective_value(r.costs)) for r in runs[m]) for m in METHODS)
              + ".", ""]

    # Ordering claims.
    paper_tot = {m: PAPER_TABLE2[m][4] for m in METHODS}
    ours_tot = {m: planner.objective_value(ours[m].costs) for m in METHODS}
    alloc_tot = {m: paper_in_ours[m]["total_annualised"] for m in METHODS}

    def order(d: dict[int, float]) -> str:
        return " < ".join(f"M{m}" for m in sorted(d, key=d.get))

    def saving(d: dict[int, float]) -> float:
        return 100 * (d[2] - d[1]) / d[2]

    lines += ["## Ordering claims", "",
              "| claim | paper | ours: PSO plans | ours: paper's allocations |", "|---|---|---|---|",
              f"| order of totals (paper: M1 < M4 < M3 < M2) | {order(paper_tot)} | {order(ours_tot)} | "
              f"{order(alloc_tot)} |",
              f"| Method 1 cheapest | {'yes' if min(paper_tot, key=paper_tot.get) == 1 else 'no'} | "
              f"{'yes' if min(ours_tot, key=ours_tot.get) == 1 else 'no'} | "
              f"{'yes' if min(alloc_tot, key=alloc_tot.get) == 1 else 'no'} |",
              f"| saving of M1 vs M2 (paper: 'up to 76 %') | {saving(paper_tot):.1f} % | "
              f"{saving(ours_tot):.1f} % | {saving(alloc_tot):.1f} % |",
              f"| M1 operation cost lowest | "
              f"{'yes' if min(PAPER_TABLE2, key=lambda m: PAPER_TABLE2[m][3]) == 1 else 'no'} | "
              f"{'yes' if min(ours, key=lambda m: ours[m].costs['annual_operation']) == 1 else 'no'} | "
              f"{'yes' if min(paper_in_ours, key=lambda m: paper_in_ours[m]['annual_operation']) == 1 else 'no'} |",
              "", "Method 1's feasible set contains those of Methods 2–4, so its *optimum* can "
              "never be worse; a PSO plan can (finite budget, different random start). "
              "Where an ordering differs from the paper's the cause is our unstated-by-the-paper "
              "inputs: the disaster model decides which lines fail (our fragility fails long, "
              "high-impedance spans most), the load priorities δ_n and the outage days per "
              "year set how much a kWh of resilience is worth against annualised capital.", ""]

    # Why our plans buy few resources: a pack's annualised cost against its best-case saving.
    cap1 = grid.rb_type_capacity_kwh[0]
    usable = cap1 * (grid.rb_soc_max - grid.rb_soc_min)
    annual_pack = pc.crf * pc.rb_install_cost[0] * (1 + replacement_factor(pc.rb_life_years, pc)) + pc.rb_om_cost
    best_saving = usable * grid.shed_penalty_critical_per_kwh * pc.disaster_days_per_year
    days = 5 * pc.disaster_days_per_year
    hi_pc = dataclasses.replace(pc, disaster_days_per_year=days)
    hi = _plan_best(Planner(grid, hi_pc), 1, seeds[:1], initial=[ours[1].allocation])[0]
    hi_paper = Planner(grid, hi_pc).evaluate(PAPER_TABLE1[1], pc.polish_scorer or pc.scorer)[0]
    lines += ["## Why our plans buy few batteries", "",
              f"One EV-RB #1 pack costs CRF · {pc.rb_install_cost[0]:.3g} · (1 + "
              f"{replacement_factor(pc.rb_life_years, pc):.3f}) + {pc.rb_om_cost:g} = {annual_pack:,.0f} CNY "
              f"a year. At most it saves its usable {usable:g} kWh of critical load (δ = "
              f"{grid.shed_penalty_critical_per_kwh:g} CNY/kWh) on each of {pc.disaster_days_per_year:g} outage "
              f"days: {best_saving:,.0f} CNY a year — so with our δ_n and outage frequency a pack barely pays "
              "for itself, and PSO keeps few. The paper's operation costs (3.1–14.5 M CNY a year, "
              "Table 2) imply much larger shedding penalties or many more outage days than it states; "
              "it gives neither. Sensitivity, Method 1 at "
              f"{days:g} outage days a year: PSO plan {hi.allocation.describe()}, total "
              f"{_fmt(hi.costs['total_annualised'])} (operation {_fmt(hi.costs['annual_operation'])}); the "
              f"paper's Method 1 allocation {_fmt(hi_paper['total_annualised'])}.", "",
              "The paper's allocations carry 2–4 MESS; in our model a MESS is only worth its "
              "annualised cost where our storm model isolates loads its route reaches, and the "
              "planning scorer moves MESS along the greedy heuristic's routes (the LP fixes them), "
              "which undervalues MESS compared with an exact routing MILP.", ""]

    # Table 3: EV availability — PSO plans at our default and at the sensitivity outage
    # frequency (warm-started with scenario 1's plan, feasible in every scenario), and the
    # paper's Method 1 allocation held fixed (only the EVs' power limit changes).
    lines += ["## Table 3 — available EVs per candidate node (Method 1)", "",
              f"| scenario | available EVs | paper: EV-RB kWh / total / operation | ours, {pc.disaster_days_per_year:g} "
              "d/y: EV-RB kWh / total / operation | ours, paper's allocation fixed: operation "
              f"| ours, {days:g} d/y: EV-RB kWh / total / operation | ours, {days:g} d/y: allocation |",
              "|---|---|---|---|---|---|---|"]
    scorer = pc.polish_scorer or pc.scorer
    t3, t3_hi, t3_fixed = {}, {}, {}
    for k, (evs, cap, costs) in PAPER_TABLE3.items():
        g = dataclasses.replace(grid, rb_available_evs=evs)
        if k == 1:
            t3[k], t3_hi[k] = ours[1], hi
        else:
            t3[k] = _plan_best(Planner(g, pc), 1, seeds[:1], initial=[ours[1].allocation])[0]
            t3_hi[k] = _plan_best(Planner(g, hi_pc), 1, seeds[:1], initial=[hi.allocation])[0]
        t3_fixed[k] = Planner(g, pc).evaluate(PAPER_TABLE1[1], scorer)[0]["annual_operation"]
        r, h = t3[k], t3_hi[k]
        lines.append(f"| {k} | {evs} | {cap:g} / {_fmt(costs[4])} / {_fmt(costs[3])} | "
                     f"{r.allocation.rb_capacity_kwh(grid):g} / {_fmt(r.costs['total_annualised'])} / "
                     f"{_fmt(r.costs['annual_operation'])} | {_fmt(t3_fixed[k])} | "
                     f"{h.allocation.rb_capacity_kwh(grid):g} / {_fmt(h.costs['total_annualised'])} / "
                     f"{_fmt(h.costs['annual_operation'])} | {h.allocation.describe()} |")
    lines += ["", "Paper: fewer EVs (scenario 2) → slightly less EV-RB capacity and a higher "
              "operation cost; more EVs (scenario 3) → about the same as scenario 1. With the "
              "paper's allocation fixed, ours gives operation "
              + " / ".join(f"S{k} {_fmt(v)}" for k, v in t3_fixed.items())
              + ". Fewer idle EVs cap the EV-RB power min(Ω^CP P^CP, Ω^EV P^EV) (EV-RB model); "
              + ("scenario 2 costs more, as in the paper" if t3_fixed[2] > t3_fixed[1] else
                       "scenario 2 does NOT cost more here: the planning scorer fixes MESS routes "
                       "(best of 'stay' and the greedy heuristic's moves), and the greedy moves depend "
                       "on the EV-RB power, so a weaker EV-RB node can send a MESS to a better site; "
                       "an exact routing MILP would be monotone but does not close its gap in minutes")
              + "; " + ("scenario 3 changes little" if abs(t3_fixed[3] - t3_fixed[1]) <= 0.02 * t3_fixed[1]
                        else "scenario 3 changes it by more than 2 %") + ". The PSO columns "
              "show whether the planned EV-RB capacity and operation cost follow the paper's "
              "direction (less capacity and more operation cost with fewer EVs); differences "
              "of a few percent between PSO runs are within the search's noise at this budget.", ""]

    lines += lower_level_table(grid)

    # LinDistFlow vs AC.
    from swapgym.baselines.grid_resilience.validation import TABLE_HEADER, validation_cases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = validation_cases()
    lines += ["## LinDistFlow (env) vs pandapower AC power flow", "",
              "The env's hour replayed in `pandapower.runpp` (same served loads and injections, "
              "1 p.u. slack at each energised island's reference bus), at the peak hour 18 with "
              "every storage idle:", "", TABLE_HEADER] + [c.row() for c in cases]
    worst_v = max(c.max_voltage_diff_pu for c in cases)
    worst_p = max(c.max_flow_diff_fraction for c in cases)
    lines += ["", f"Largest voltage difference {worst_v:.4f} p.u., largest flow difference "
              f"{100 * worst_p:.2f} % of the largest line flow. The flow difference equals the "
              "AC losses downstream (LinDistFlow is lossless), the voltage difference is the "
              "dropped loss term of the drop equation; both grow with load, so the intact feeder "
              "at peak is the worst case. Test tolerances: 0.01 p.u. and 8 %.", ""]

    lines += ["## Missing data and our choices", "",
              "* Network data beyond case33bw (gas turbines, PV, SESS, MESS and EV-RB ratings, "
              "locations, line limits), load priorities δ_n, costs χ, α, w, β, the TOU tariff: "
              "not in the paper; documented in `GridResilienceConfig`.",
              "* Disaster model: the paper says 'historical data + k-means'; ours is a lognormal "
              "wind fragility sample (seeded) reduced by k-means (`instance.py`).",
              "* Operation-cost annualisation (outage days per year), PSO swarm size and "
              "iterations: not given; `PlanningConfig`.",
              "* MESS #2/#3 unit costs: only 2 C_2 + C_3 is determined by the tables.",
              "* Table 3 reports 850 kWh for 6 × #1 + 4 × #2 and 750 kWh with one #2 fewer: "
              "this fixes 75 kWh (#1) and 100 kWh (#2) packs.", ""]
    _plot(out_dir, ours, paper_in_ours, cases)
    lines.append(f"Figures: `grid_resilience_costs.png` (totals, PSO convergence), `grid_resilience_powerflow.png`. Run time "
                 f"{time.perf_counter() - start:.0f} s.")
    return "\n".join(lines)


def _plot(out_dir: pathlib.Path, ours, paper_in_ours, cases) -> None:
    from swapgym.envs.core.render import new_figure

    fig = new_figure(900, 420)
    ax1, ax2 = fig.subplots(1, 2)
    methods = list(METHODS)
    x = np.arange(len(methods))
    ax1.bar(x - 0.27, [PAPER_TABLE2[m][4] for m in methods], 0.27, label="paper Table 2")
    ax1.bar(x, [ours[m].costs["total_annualised"] for m in methods], 0.27, label="ours, PSO plan")
    ax1.bar(x + 0.27, [paper_in_ours[m]["total_annualised"] for m in methods], 0.27,
            label="ours, paper's allocation")
    ax1.set_xticks(x, [f"M{m}" for m in methods])
    ax1.set_ylabel("total annualised cost (CNY)")
    ax1.legend(fontsize=7)
    for m in methods:
        ax2.plot(ours[m].history, label=f"M{m}")
    ax2.set_xlabel("PSO iteration")
    ax2.set_ylabel("best objective (search scorer)")
    ax2.legend(fontsize=7)
    fig.savefig(out_dir / "grid_resilience_costs.png")
    fig2 = new_figure(640, 360)
    ax = fig2.add_subplot(111)
    ax.bar(np.arange(len(cases)), [c.max_voltage_diff_pu for c in cases])
    ax.set_xticks(np.arange(len(cases)), [c.label.replace(" (damaged)", "") for c in cases], fontsize=7)
    ax.set_ylabel("max |V_LinDistFlow − V_AC| (p.u.)")
    fig2.savefig(out_dir / "grid_resilience_powerflow.png")


def solver_timings() -> dict[str, float]:
    """Seconds: the MILP oracle on scenario 0 (greedy_routes and relax_and_fix), the LP
    scorer on one allocation, one small PSO planning run (Method 1)."""
    from swapgym.baselines.grid_resilience.milp import solve_operation

    inst = make_instance(GridResilienceConfig())
    out = {}
    for method in ("greedy_routes", "relax_and_fix"):
        t0 = time.perf_counter()
        solve_operation(inst, dynamics.initial_state(inst, 0), method=method)
        out[f"milp_oracle_{method}_24h_one_scenario"] = time.perf_counter() - t0
    pc = PlanningConfig(n_particles=6, iterations=4, polish_top_k=1)
    planner = Planner(GridResilienceConfig(), pc)
    t0 = time.perf_counter()
    planner.evaluate(Allocation.of(GridResilienceConfig()), "lp")
    out["lp_scorer_one_allocation_all_scenarios"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    planner.plan(1, seed=0, progress=False)
    out["pso_planning_method1_6x4"] = time.perf_counter() - t0
    return out


__all__ = ["PAPER_TABLE1", "PAPER_TABLE2", "PAPER_TABLE3", "economics_from_tables", "reproduce",
           "solver_timings"]
