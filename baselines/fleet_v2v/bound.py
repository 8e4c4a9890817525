"""A proven lower bound on the FleetV2V episode cost: a per-van LP relaxation on HiGHS.

What it is
    ``lp_lower_bound(config, instance, state)`` returns a number that **no policy's
    completed episode can beat** on that episode (same instance, same realised per-van
    consumption ``state.kwh_per_km``). It is *not* achievable in general: it relaxes the
    coupling between vans (who gives energy to whom, where they meet) and the discrete
    structure (one speed level per move, integral detours). The optimum of the episode
    lies between this bound and the cost of any feasible policy (e.g. ``RolloutOracle``).

The relaxation, van by van (one LP per van, solved together — they share no variable)
    Van v drives its assigned route r_0 = depot, r_1, …, r_n = depot, leg k of shortest
    road length d_k. Variables: x_{k,l} ∈ [0, 1] with Σ_l x_{k,l} = 1, the share of leg k
    driven at speed level l (mixing levels contains every real speed profile — detours only
    add distance, whose time an idle variable can take at no energy); w_k ≥ 0 idle hours
    before reaching r_k (charging, transfers, waiting for a partner, detours); a_k the
    arrival time at r_k, a_0 = ``depart_h[v]``; early_k, late_k ≥ 0 at task nodes; q ≥ 0
    the energy the van receives (station or V2V); b ≥ 0 its energy driven below the
    reserve floor.

        a_k = a_{k-1} + s_{k-1} + Σ_l x_{k,l} d_k / v_l + w_k   (s: service time at tasks)
        early_k ≥ e_k − a_k,  late_k ≥ a_k − l_k                 (soft windows)
        E_0 + q − Σ_k Σ_l x_{k,l} d_k κ_l ≥ 0                    (never below empty)
        b ≥ min(floor, E_0) − (E_0 + q − drive)                  (reserve floor)
        P_max · Σ_k w_k ≥ q                                      (receiving takes time)

    cost_v = Σ (γ + β) d_k κ_l x_{k,l} + γ Σ (Pe·early_k + Pl·late_k) + ξ (a_n − a_0)
             + (m + β) q + ρ b

    with κ_l the van's realised kWh/km at level l, β the aging cost per kWh at the
    least-stress SOC (stress ≥ 1), m = min(station price / η − γ, γ (1/η − 1)) the least
    mark-up of received energy (station purchase vs. V2V loss), ρ the reserve penalty and
    P_max = max(charging, V2V) power. Each term is ≤ what the env charges the van for the
    same arrival times, so cost_v ≤ the van's real cost on any trajectory that brings it
    home. A van the time limit catches before it is home pays at least ξ·(limit − start)
    plus a missed task's late penalty at the limit or, if it served every task, the energy
    to its last task (``_cutoff_bound``); a stranded van pays the stranding penalty. The
    bound per van is min(LP_v, cut-off bound, stranding penalty).
    The sum over vans bounds the episode (costs are additive per van: time, energy,
    windows, aging; V2V losses and mark-ups are ≥ 0 and counted once on the receiver).

Requires every station price ≥ γ·η (so buying is never cheaper than the depot tariff;
true on the paper instance) — otherwise ``ValueError`` naming ``station_price``.
Episodes truncated by ``max_decisions`` are incomplete and not covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swapgym.baselines.optim.milp import new_model, run


@dataclass
class BoundResult:
    """total: the lower bound on the episode cost (¥). per_van: each van's share.
    lp: each van's LP optimum (before the min with the cut-off / stranding bounds).
    status: HiGHS status text. seconds: solve wall time."""

    total: float
    per_van: np.ndarray
    lp: np.ndarray
    status: str
    seconds: float


def lp_lower_bound(config, instance, state) -> BoundResult:
    """The per-van LP relaxation bound (module docstring) for the episode whose realised
    consumption is ``state.kwh_per_km`` (read it right after ``reset``)."""
    import highspy

    gamma = config.electricity_price_per_kwh
    eta = config.efficiency
    if np.any(instance.station_price < gamma * eta - 1e-12):
        raise ValueError("station_price: the bound needs every station price ≥ γ·η "
                         f"({gamma * eta:.3f} ¥/kWh)")
    beta = config.aging_cost_per_kwh  # stress factor ≥ 1
    markup = min(float(instance.station_price.min()) / eta - gamma, gamma * (1.0 / eta - 1.0))
    p_max = max(config.charge_power_kw, config.v2v_power_kw)
    floor = config.soc_reserve_floor * instance.battery_kwh
    h = new_model(time_limit_s=30.0)
    objective, full, prefix = [], [], []
    for v, route in enumerate(instance.routes):
        # the whole route home, and (for the cut-off case) the route up to its last node
        # before the depot, served by the time limit, with the time term left out
        full.append(_add_van_lp(h, config, instance, state, v, len(route) - 1, True,
                                gamma, beta, markup, p_max, floor))
        prefix.append(_add_van_lp(h, config, instance, state, v, len(route) - 2, False,
                                  gamma, beta, markup, p_max, floor))
        objective += full[-1] + prefix[-1]
    h.setObjective(h.qsum(objective), sense=highspy.ObjSense.kMinimize)
    res = run(h, sense="min")
    if not res.optimal:
        raise RuntimeError(f"lp_lower_bound: HiGHS did not solve the LP ({res.status})")
    t0 = instance.depart_h
    lp = np.array([float(h.val(h.qsum(t))) for t in full]) - config.time_cost_per_h * t0
    served = np.array([float(h.val(h.qsum(t))) if t else 0.0 for t in prefix])
    cutoff = np.array([_cutoff_bound(config, instance, v, served[v])
                       for v in range(instance.n_vans)])
    per_van = np.minimum(np.minimum(lp, cutoff), config.stranding_penalty)
    return BoundResult(float(per_van.sum()), per_van, lp, res.status, res.seconds)


def _add_van_lp(h, config, instance, state, v: int, n_legs: int, time_term: bool, gamma, beta,
                markup, p_max, floor) -> list:
    """Add van v's LP over its first ``n_legs`` legs to ``h``; return its objective terms
    (``time_term``: add ξ·a_n; the cut-off prefix leaves out time, and — a relaxation
    that keeps every sub-LP feasible — does not require its last arrival by the limit)."""
    import highspy

    inf = highspy.kHighsInf
    route = instance.routes[v]
    speeds = instance.speed_levels_kmh
    n_l = len(speeds)
    kappa = np.asarray(state.kwh_per_km[v], dtype=float)
    e0 = float(instance.initial_soc[v] * instance.battery_kwh)
    a_prev = float(instance.depart_h[v])
    terms, drive, idle = [], [], []
    service_prev = 0.0
    if n_legs <= 0:
        return terms
    for k in range(1, n_legs + 1):
        d = float(instance.dist_km[route[k - 1], route[k]])
        x = [h.addVariable(lb=0.0, ub=1.0) for _ in range(n_l)]
        h.addConstr(h.qsum(x) == 1.0)
        w = h.addVariable(lb=0.0, ub=inf)
        idle.append(w)
        a = h.addVariable(lb=-inf, ub=inf)
        travel = h.qsum([float(d / speeds[lv]) * x[lv] for lv in range(n_l)])
        h.addConstr(a - travel - w - a_prev == service_prev)
        drive += [float(d * kappa[lv]) * x[lv] for lv in range(n_l)]
        terms += [float((gamma + beta) * d * kappa[lv]) * x[lv] for lv in range(n_l)]
        node = route[k]
        if instance.node_kind[node] == 0:
            e_k, l_k = (float(z) for z in instance.window_h[node])
            early = h.addVariable(lb=0.0, ub=inf)
            late = h.addVariable(lb=0.0, ub=inf)
            h.addConstr(early + a >= e_k)
            h.addConstr(late - a >= -l_k)
            terms += [gamma * config.early_penalty_kwh_per_h * early,
                      gamma * config.late_penalty_kwh_per_h * late]
            service_prev = config.service_time_h
        else:
            service_prev = 0.0
        a_prev = a
    q = h.addVariable(lb=0.0, ub=inf)
    b = h.addVariable(lb=0.0, ub=inf)
    total_drive = h.qsum(drive)
    h.addConstr(q - total_drive >= -e0)
    h.addConstr(b + q - total_drive >= min(floor, e0) - e0)
    h.addConstr(p_max * h.qsum(idle) - q >= 0.0)
    terms += [(markup + beta) * q, config.reserve_penalty_per_kwh * b]
    if time_term:
        terms.append(config.time_cost_per_h * a_prev)
    return terms


def _cutoff_bound(config, instance, v: int, served_lp: float) -> float:
    """Least cost of van v if the time limit catches it before it is home: ξ·(limit −
    start), plus either a missed task (charged late at the limit) or, with every task
    served by the limit, the prefix LP (energy, windows, replenishment up to its last
    route node before the depot)."""
    route = instance.routes[v]
    limit = config.time_limit_h
    gamma = config.electricity_price_per_kwh
    tasks = [x for x in route if instance.node_kind[x] == 0]
    miss = min((gamma * config.late_penalty_kwh_per_h * max(limit - float(instance.window_h[x, 1]),
                                                            0.0) for x in tasks), default=np.inf)
    return (config.time_cost_per_h * max(limit - float(instance.depart_h[v]), 0.0)
            + min(miss, served_lp))
