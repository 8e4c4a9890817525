"""The swap station's profit MILP on HiGHS, written once and used by the rolling-horizon
planners (RHO) and the perfect-information oracle.

The paper models scheduling as a MINLP and linearises it to a MILP (abstract of
Fauziah et al. 2025, after Shalaby et al. 2022). Ours encodes exactly the transition of
``swapgym.envs.swap_station.dynamics`` so that a plan replayed in the environment earns
the objective the solver reports. Per type k and hour t (indices k, t dropped):

* ``x[l]``   packs at SoC level l at the start of the hour (x at t = 0 fixed to the state)
* ``c[l]``   packs charged from level l < L (integer), ``d[l]`` discharged from l >= 1
* ``s``      swaps served, ``a`` riders arriving (fixed to the forecast, clipped to n_k)
* ``u``      (``exact=True``) a binary that makes s = min(a, x[L] - d[L]): the environment
  serves every rider it can. Without it (``exact=False``) the solver may hold a full pack
  back, which is never better unless the stock credit exceeds the swap margin.

The action is per level (``c``, ``d`` are what the environment is told), so the
allocation needs no further binaries. Constraints::

    sum_l c[l] + sum_l d[l] <= chargers                      (bays)
    c[l] + d[l] <= x[l]  (l < L);   d[L] + s <= x[L]          (packs available)
    s <= a;  s <= x[L] - d[L];  s >= a - M u;  s >= x[L] - d[L] - M (1 - u)
    x'[m] = x[m] - c[m] - d[m] - [m = L] s + sum_{l: up(l) = m} c[l]
            + sum_{l: down(l) = m} d[l] + [m = return] s                     (transition)

Objective (maximised, EUR): sum_t sum_k rev_k s - pen_k (a - s)
- price_t (sum_l gain_l e_k c[l] / eta_c - sum_l loss_l e_k eta_d d[l])
- deg_k sum_l gain_l e_k c[l]  +  v_k e_k sum_l l x_H[l] - v_k E_0  (stored-energy credit at the
horizon end, the same value the environment credits at the episode end). The Wang
degradation cost is already linear per kWh (secant linearisation, see
``swapgym.envs.core.battery``). M = n_k.

``integer_hours`` keeps integrality (and the serve-everyone binaries) only for the first
hours: a rolling-horizon planner applies just the first hour, so the later hours may be
planned as an LP relaxation, which makes every hourly solve fast. The oracle keeps every
hour integer, so its plan replays exactly.

The model is built once per horizon length; each solve only changes the fixed values
(state, arrivals), the price-dependent costs and the active hours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swapgym.baselines.optim.milp import SolveResult, new_model, run
from swapgym.envs.swap_station.dynamics import stored_energy_kwh
from swapgym.envs.swap_station.instance import StationParams


@dataclass
class Plan:
    """A solved plan. charge / discharge: (H, K, L) packs per hour, type and level (discharge
    index j = level j + 1). objective: the
    MILP objective in EUR (profit incl. the horizon-end stock credit). result: the solve."""

    charge: np.ndarray
    discharge: np.ndarray
    objective: float
    result: SolveResult


class StationMILP:
    """The profit MILP over ``horizon`` hours for one station (see the module docstring)."""

    def __init__(self, station: StationParams, horizon: int, time_limit_s: float = 10.0,
                 mip_rel_gap: float = 1e-6, exact: bool = True, integer_hours: int | None = None) -> None:
        import highspy

        self.station, self.horizon, self.exact = station, horizon, exact
        st = station
        K, L, H = st.n_types, st.n_levels, horizon
        self.h = h = new_model(time_limit_s, mip_rel_gap)
        INT, inf = highspy.HighsVarType.kInteger, highspy.kHighsInf
        n, ch = st.n_batteries.astype(float), st.n_chargers.astype(float)
        dis = st.allow_discharge

        def var(lb=0.0, ub=inf, integer=False):
            return h.addVariable(lb=lb, ub=ub, type=INT) if integer else h.addVariable(lb=lb, ub=ub)

        x = [[[var(0.0, n[k]) for _ in range(L + 1)] for _ in range(H + 1)] for k in range(K)]
        a = [[var(0.0, 0.0) for _ in range(H)] for k in range(K)]
        n_int = H if integer_hours is None else min(int(integer_hours), H)
        self.integer_hours = n_int
        c = [[[var(0.0, ch[k], t < n_int) for _ in range(L)] for t in range(H)] for k in range(K)]
        s = [[var(0.0, n[k]) for _ in range(H)] for k in range(K)]
        if dis:
            d = [[[var(0.0, ch[k], t < n_int) for _ in range(L + 1)] for t in range(H)] for k in range(K)]  # d[0] unused
        if exact:
            u = [[var(0.0, 1.0, True) for _ in range(n_int)] for k in range(K)]
        up, down, ret = st.charge_to, st.discharge_to, st.return_level
        for k in range(K):
            M = n[k]
            for t in range(H):
                xt, xn, ct = x[k][t], x[k][t + 1], c[k][t]
                dt = d[k][t] if dis else None
                h.addConstr(h.qsum(ct) + (h.qsum(dt[1:]) if dis else 0) <= ch[k])
                for lv in range(L):
                    h.addConstr(ct[lv] + (dt[lv] if dis and lv >= 1 else 0) <= xt[lv])
                full = xt[L] - dt[L] if dis else xt[L]
                h.addConstr(s[k][t] <= a[k][t])
                h.addConstr(s[k][t] <= full)
                if exact and t < n_int:  # every rider who can be served is served: s = min(a, full)
                    h.addConstr(s[k][t] >= a[k][t] - M * u[k][t])
                    h.addConstr(s[k][t] >= full - M * (1 - u[k][t]))
                self._transition(h, xt, xn, ct, dt, s[k][t], up, down, ret, L, dis)
        idx = lambda v: v.index  # noqa: E731
        self._x = np.array([[[idx(v) for v in row] for row in xk] for xk in x], dtype=np.int32)  # (K, H+1, L+1)
        self._a = np.array([[idx(v) for v in row] for row in a], dtype=np.int32)  # (K, H)
        self._c = np.array([[[idx(v) for v in row] for row in ck] for ck in c], dtype=np.int32)  # (K, H, L)
        self._s = np.array([[idx(v) for v in row] for row in s], dtype=np.int32)  # (K, H)
        self._d = (np.array([[[idx(v) for v in row[1:]] for row in dk] for dk in d], dtype=np.int32)
                   if dis else None)  # (K, H, L), index j = level j + 1
        # price-independent objective parts
        gain_kwh = st.charge_gain[None, :] * st.level_kwh[:, None]  # (K, L) kWh stored per charged pack
        self._gain_kwh = gain_kwh
        self._loss_kwh = st.discharge_loss[None, :] * st.level_kwh[:, None]  # (K, L)
        cols = np.concatenate([self._s.ravel(), self._a.ravel()])
        costs = np.concatenate([np.repeat(st.swap_revenue_eur + st.lost_penalty_eur, H),
                                np.repeat(-st.lost_penalty_eur, H)])
        h.changeColsCost(len(cols), cols, costs)

    @staticmethod
    def _transition(h, xt, xn, ct, dt, st, up, down, ret, L, dis) -> None:
        for m in range(L + 1):
            expr = xt[m] - xn[m]
            if m < L:
                expr = expr - ct[m]
            if dis and m >= 1:
                expr = expr - dt[m]
            for lv in range(L):
                if up[lv] == m:
                    expr = expr + ct[lv]
                if dis and down[lv] == m:
                    expr = expr + dt[lv + 1]
            if m == L:
                expr = expr - st
            if m == ret:
                expr = expr + st
            h.addConstr(expr == 0)

    def solve(self, levels: np.ndarray, arrivals: np.ndarray, prices: np.ndarray,
              value_per_kwh: np.ndarray, active_hours: int | None = None) -> Plan:
        """Plan from ``levels`` (K, L+1) with ``arrivals`` (H, K) (forecast or real; more than
        n_k in an hour are clipped since they can never be served) and ``prices`` (H,) in
        EUR/kWh. Only the first ``active_hours`` hours may act (the episode's end); the stock
        credit applies after the last hour. Returns a plan; on failure charge/discharge are
        -1 and ``result.usable`` is False."""
        st, h, H = self.station, self.h, self.horizon
        K, L = st.n_types, st.n_levels
        R = H if active_hours is None else int(active_hours)
        x0 = self._x[:, 0, :].ravel()
        lv = np.asarray(levels, dtype=float).ravel()
        h.changeColsBounds(len(x0), x0, lv, lv)
        arr = np.zeros((H, K))
        arr[:R] = np.minimum(np.asarray(arrivals, dtype=float)[:R], st.n_batteries[None, :])
        arr = np.maximum(arr, 0.0)
        a = self._a.ravel()
        av = arr.T.ravel()
        h.changeColsBounds(len(a), a, av, av)
        price = np.zeros(H)
        price[:R] = np.asarray(prices, dtype=float)[:R]
        # charging cost per pack: price * kWh / eta_c + degradation * kWh
        c_cost = -(price[None, :, None] / st.charge_efficiency + st.degradation_eur_per_kwh[:, None, None]) \
            * self._gain_kwh[:, None, :]  # (K, H, L)
        cols = [self._c.ravel()]
        costs = [c_cost.ravel()]
        ub_c = np.repeat(st.n_chargers.astype(float), H * L).reshape(K, H, L)
        ub_c[:, R:, :] = 0.0
        bounds_cols = [self._c.ravel()]
        bounds_ub = [ub_c.ravel()]
        if self._d is not None:
            d_gain = price[None, :, None] * st.discharge_efficiency * self._loss_kwh[:, None, :]
            cols.append(self._d.ravel())
            costs.append(d_gain.ravel())
            bounds_cols.append(self._d.ravel())
            bounds_ub.append(ub_c.ravel())
        xH = self._x[:, H, :]  # terminal stock credit
        term = value_per_kwh[:, None] * st.level_kwh[:, None] * np.arange(L + 1)[None, :]
        cols.append(xH.ravel())
        costs.append(term.ravel())
        cols, costs = np.concatenate(cols), np.concatenate(costs)
        h.changeColsCost(len(cols), cols, costs)
        bc, bu = np.concatenate(bounds_cols), np.concatenate(bounds_ub)
        h.changeColsBounds(len(bc), bc, np.zeros(len(bc)), bu)
        result = run(h, "max")
        if not result.usable:
            empty = np.full((H, K, L), -1, dtype=np.int64)
            return Plan(empty, empty.copy(), float("nan"), result)
        v = result.values
        charge = np.rint(v[self._c]).astype(np.int64).transpose(1, 0, 2)  # (H, K, L)
        if self._d is not None:
            discharge = np.rint(v[self._d]).astype(np.int64).transpose(1, 0, 2)
        else:
            discharge = np.zeros((H, K, L), dtype=np.int64)
        e0 = stored_energy_kwh(st, np.asarray(levels)) @ value_per_kwh
        return Plan(charge, discharge, result.objective - float(e0), result)
