"""Baselines for ``swapgym/Expressway-v0``: the paper's M1/M2/M3 (PSO + Hungarian
assignment), an uncontrolled-charging greedy, and the exact day optimum on HiGHS.

* ``m1`` (reference): swap only. Per hour, PSO (the shared ``baselines.optim.pso``) picks
  the dispatch of arriving EVs and each station's total charging power; inside every
  particle the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) assigns the
  power units to batteries (eqs. 23–25). Rolling hour by hour: the particle's cost is the
  hour's cost plus a look-ahead value of the stock (stored energy at the mean remaining
  price, and a penalty for ready batteries short of next hour's expected demand).
* ``m2``: M1 + battery-to-battery (one PSO variable per station: donor steps).
* ``m3``: M2 + EV energy release (PSO variables: released EVs per SOC class).
* ``greedy``: nearest station, every battery below SOC_max charged one step every hour.
* ``oracle``: MILP over the day with perfect information (arrivals known), in M3's
  setting; exact for the count model, so replaying it reproduces its objective.

PSO sizes: the paper gives none; defaults ``PSOConfig(n_particles=10, iterations=12)``
keep 5 seeds × 3 methods of the benchmark within ~60 s on one core. Larger swarms via
``make("m3", env, pso=PSOConfig(...))``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from swapgym.baselines.optim.pso import PSOConfig, minimize
from swapgym.baselines.protocol import BasePolicy, register
from swapgym.envs.expressway import dynamics
from swapgym.envs.expressway.env import ActionLayout
from swapgym.envs.expressway.instance import ExpresswayInstance

ENV_ID = "swapgym/Expressway-v0"
DEFAULT_PSO = PSOConfig(n_particles=10, iterations=12)
ORACLE_TIME_LIMIT_S = 10.0  # M2/M3 MILPs rarely prove optimality fast (B2B symmetry)


# --------------------------------------------------------------------- Hungarian step
def hungarian_assign(levels: np.ndarray, units: int, tables: dynamics.CostTables,
                     ready_level: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Assign ``units`` SOC steps of charging to batteries (eq. 23 cost matrix).

    levels (B,) battery SOC levels. Rows are (battery, k-th step) slots, columns the
    power units; a slot's cost is the marginal degradation of its step minus an urgency
    bonus (batteries closest to swap-ready first; topping up ready ones last). Returns
    steps per battery (B,). ``linear_sum_assignment`` solves it (eqs. 24–25).
    """
    from scipy.optimize import linear_sum_assignment

    r = tables.rates
    up_cols = np.flatnonzero(r > 0)
    k_max = len(up_cols)
    b = len(levels)
    n_levels = tables.move_cost.shape[0]
    slot_cost = np.full((b, k_max), 1e6)
    prev = np.zeros(b)
    for k in range(k_max):
        mc = tables.move_cost[levels, up_cols[k]]
        ok = np.isfinite(mc)
        marginal = np.where(ok, mc - prev, 1e6)
        urgency = np.where(levels < ready_level, levels + 1.0, 0.1)
        slot_cost[:, k] = np.where(ok, marginal - 1e-3 * urgency + 1e-6 * k, 1e6)
        prev = np.where(ok, mc, prev)
    if exclude is not None:
        slot_cost[exclude] = 1e6
    feasible = slot_cost < 1e5
    units = int(min(units, feasible.sum()))
    steps = np.zeros(b, dtype=np.int64)
    if units <= 0:
        return steps
    cost = np.repeat(slot_cost.ravel()[:, None], units, axis=1)
    rows, _ = linear_sum_assignment(cost)
    np.add.at(steps, rows // k_max, 1)
    del n_levels
    return steps


def steps_to_moves(levels: np.ndarray, steps: np.ndarray, donors: np.ndarray,
                   n_levels: int, r: np.ndarray) -> np.ndarray:
    """Per-battery steps (+) and donor flags → the env's (L, R) move counts."""
    moves = np.zeros((n_levels, len(r)), dtype=np.int64)
    col = {int(k): j for j, k in enumerate(r)}
    for lv, k in zip(levels[steps > 0], steps[steps > 0]):
        moves[lv, col[int(k)]] += 1
    if donors.any() and -1 in col:
        np.add.at(moves[:, col[-1]], levels[donors], 1)
    return moves


def station_moves(counts: np.ndarray, units: int, donate: int, tables: dynamics.CostTables,
                  ready_level: int) -> np.ndarray:
    """One station's moves for ``units`` grid steps and ``donate`` B2B steps (M2)."""
    levels = np.repeat(np.arange(len(counts)), counts)
    donors = np.zeros(len(levels), dtype=bool)
    if donate > 0 and (tables.rates < 0).any():
        # donors: the lowest batteries that can give a step (idle, far from ready)
        cand = np.flatnonzero(levels >= 1)
        donors[cand[:donate]] = True
    steps = hungarian_assign(levels, units + int(donors.sum()), tables, ready_level, exclude=donors)
    return steps_to_moves(levels, steps, donors, len(counts), tables.rates)


# --------------------------------------------------------------------- PSO methods
@dataclass
class _Decoded:
    moves: np.ndarray
    dispatch: np.ndarray
    release: np.ndarray


class PSOPolicy(BasePolicy):
    """The paper's hierarchical PSO (M1/M2/M3), rolling hour by hour."""

    def __init__(self, b2b: bool = False, release: bool = False, pso: PSOConfig = DEFAULT_PSO,
                 seed: int = 0) -> None:
        super().__init__()
        self.b2b, self.release, self.pso, self.seed = b2b, release, pso, seed
        self.name = "m3" if release else ("m2" if b2b else "m1")

    def reset(self, env) -> None:
        super().reset(env)
        inst: ExpresswayInstance = self.env.instance
        self.inst, self.cfg, self.tables = inst, inst.config, self.env.tables
        self.layout = ActionLayout(self.cfg)
        base = getattr(self.env, "np_random_seed", None)
        self.rng = np.random.default_rng((self.seed, base if isinstance(base, int) and base >= 0 else 0))
        prices = inst.price_per_kwh
        self.future_price = np.array([prices[t + 1:].mean() if t + 1 < len(prices)
                                      else self.cfg.terminal_price for t in range(len(prices))])
        self.reach = dynamics.reachable(inst)

    def _bounds(self, state) -> tuple[np.ndarray, np.ndarray]:
        c, inst = self.cfg, self.inst
        n = c.n_stations
        headroom = (state.counts * np.minimum(c.n_levels - 1 - np.arange(c.n_levels),
                                              c.max_charge_steps)).sum(axis=1)
        hi = [headroom.astype(float)]
        if self.b2b:
            hi.append(np.full(n, float(c.batteries_per_station) / 2))
        hi.append(np.ones(len(c.ev_soc_choices) * max(n - 1, 0)))
        if self.release:
            hi.append(inst.release_candidates[state.t].astype(float)
                      if state.t < c.horizon_h - 1 else np.zeros(len(c.release_soc_choices)))
        upper = np.concatenate(hi)
        return np.zeros_like(upper), upper

    def _decode(self, x: np.ndarray, state) -> _Decoded:
        c, inst = self.cfg, self.inst
        n, nc = c.n_stations, len(c.ev_soc_choices)
        i = 0
        units = np.rint(x[i:i + n]).astype(int)
        i += n
        donate = np.zeros(n, dtype=int)
        if self.b2b:
            donate = np.rint(x[i:i + n]).astype(int)
            i += n
        frac = x[i:i + nc * (n - 1)].reshape(nc, n - 1) if n > 1 else np.zeros((nc, 0))
        i += nc * (n - 1)
        arrivals = inst.arrivals[state.t]
        dispatch = np.zeros((nc, n), dtype=np.int64)
        # lower level: a share of each class goes beyond the nearest station (eq. 4)
        for ci in range(nc):
            left = int(arrivals[ci])
            for s in range(1, n):
                if not self.reach[ci, s]:
                    continue
                k = min(left, int(np.rint(frac[ci, s - 1] * arrivals[ci])))
                dispatch[ci, s] = k
                left -= k
            dispatch[ci, 0] = left
        release = np.rint(x[i:]).astype(np.int64) if self.release else np.zeros(
            len(c.release_soc_choices), dtype=np.int64)
        moves = np.stack([station_moves(state.counts[s], units[s], donate[s], self.tables,
                                        c.ready_level) for s in range(n)])
        return _Decoded(moves, dispatch, release)

    def _cost(self, x: np.ndarray, state) -> float:
        d = self._decode(x, state)
        new, res = dynamics.step(self.inst, self.tables, state, d.moves, d.dispatch, d.release)
        return res.cost - self._value(new, d.dispatch)

    def _value(self, new, dispatch) -> float:
        """Look-ahead value of the stock after the hour (see module docstring)."""
        c = self.cfg
        if new.t >= c.horizon_h:
            return 0.0
        energy = (new.counts @ np.arange(c.n_levels)).sum() * c.step_kwh
        share = dispatch.sum(axis=0) / max(dispatch.sum(), 1)
        expected = c.arrival_rate_per_h[new.t] * share + new.incoming.sum(axis=1)
        ready = new.counts[:, c.ready_level:].sum(axis=1)
        short = np.maximum(expected - ready, 0).sum()
        return self.future_price[new.t - 1] * energy - 0.5 * c.unserved_penalty_usd * short

    def act(self, observation):
        state = self.env.state.copy()
        lo, hi = self._bounds(state)
        # seed particle: charge everything possible at the nearest station
        init = np.vstack([hi * 0.5, np.concatenate([hi[: self.cfg.n_stations],
                                                    np.zeros(len(hi) - self.cfg.n_stations)])])
        res = minimize(lambda X: np.array([self._cost(x, state) for x in X]), lo, hi,
                       self.rng, self.pso, initial=init)
        d = self._decode(res.best_position, state)
        return self.layout.encode(d.moves, d.dispatch, d.release)


class GreedyPolicy(BasePolicy):
    """Uncontrolled charging: nearest station; every battery below SOC_max rises one step
    (4 kW) every hour; no B2B, no release."""

    name = "greedy"

    def reset(self, env) -> None:
        super().reset(env)
        self.layout = ActionLayout(self.env.config)

    def act(self, observation):
        c = self.env.config
        counts = self.env.state.counts
        moves = np.zeros(self.layout.moves_shape, dtype=np.int64)
        col = int(np.flatnonzero(self.layout.rates == 1)[0])
        moves[:, : c.n_levels - 1, col] = counts[:, : c.n_levels - 1]
        return self.layout.encode(moves, np.zeros(self.layout.dispatch_shape), np.zeros(self.layout.n_release))


# --------------------------------------------------------------------- exact MILP
@dataclass
class MILPPlan:
    objective: float
    moves: np.ndarray       # (T, N_B, L, R)
    dispatch: np.ndarray    # (T, C, N_B)
    release: np.ndarray     # (T, M)
    solve_time_s: float
    mip_gap: float


def solve_milp(instance: ExpresswayInstance, b2b: bool = True, release: bool = True,
               time_limit_s: float = 30.0, mip_rel_gap: float = 1e-6) -> MILPPlan:
    """Exact day optimum of the count model on HiGHS (perfect information).

    Every degradation term is a constant per (level, move) arc in the count model, so no
    piecewise linearisation is needed: the MILP is exact, not an approximation. The only
    modelling beyond the env's rules is that every EV must be served (no unserved EVs).
    """
    import time

    import highspy

    c = instance.config
    tab = dynamics.cost_tables(instance)
    r = tab.rates
    T, N, L = c.horizon_h, c.n_stations, c.n_levels
    C, M = len(instance.ev_levels), len(instance.release_levels)
    nb, rl = c.batteries_per_station, c.ready_level
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    INT = highspy.HighsVarType.kInteger
    obj = []
    f, x, rel = {}, {}, {}
    stock = {(n, lv): float(instance.init_counts[n, lv]) for n in range(N) for lv in range(L)}
    incoming = {(n, lv): 0.0 for n in range(N) for lv in range(L)}
    can_release = release and N > 1
    rs = c.release_station
    lo_take = dynamics.release_take_level(instance)
    gap = c.drive_steps(c.station_km[rs + 1] - c.station_km[rs]) if N > 1 else 0
    reach = dynamics.reachable(instance)
    for t in range(T):
        price = float(instance.price_per_kwh[t])
        for ci in range(C):
            tot = []
            for n in range(N):
                if reach[ci, n]:
                    x[t, ci, n] = h.addVariable(lb=0, ub=nb * N, type=INT)
                    tot.append(x[t, ci, n])
                    obj.append(float(tab.drive_cost[ci, n]) * x[t, ci, n])
            h.addConstr(h.qsum(tot) == float(instance.arrivals[t, ci]))
        for m in range(M):
            ub = float(instance.release_candidates[t, m]) if (can_release and t < T - 1) else 0.0
            rel[t, m] = h.addVariable(lb=0, ub=ub, type=INT)
            obj.append(float(tab.drive_cost_release) * rel[t, m])
        new_stock, new_incoming = {}, {(n, lv): 0.0 for n in range(N) for lv in range(L)}
        for n in range(N):
            after = {lv: stock[n, lv] for lv in range(L)}
            grid = []
            for lv in range(L):
                out = []
                for j, k in enumerate(r):
                    if not np.isfinite(tab.move_cost[lv, j]) or (k < 0 and not b2b):
                        continue
                    v = h.addVariable(lb=0, ub=nb, type=INT)
                    f[t, n, lv, j] = v
                    out.append(v)
                    after[lv] = after[lv] - v
                    after[lv + k] = after[lv + k] + v
                    grid.append(float(k) * v)
                    obj.append(float(tab.move_cost[lv, j]) * v)
                if out:
                    h.addConstr(h.qsum(out) <= stock[n, lv])
            if grid:
                g = h.qsum(grid)
                h.addConstr(g >= 0)  # eq. (12): P_Grid >= 0
                obj.append(price * c.step_kwh * g)
            for lv in range(L):
                obj.append(float(tab.storage_cost[lv]) * after[lv])
            # swaps: demand by arrival level; all served; lowest ready levels first
            ret = {lv: incoming[n, lv] for lv in range(L)}
            for ci in range(C):
                if (t, ci, n) in x:
                    lv = int(instance.ev_levels[ci] - instance.drive_steps[n])
                    ret[lv] = ret[lv] + x[t, ci, n]
            demand = h.qsum([ret[lv] for lv in range(L)]) if True else 0
            w = {lv: h.addVariable(lb=0, ub=nb, type=INT) for lv in range(rl, L)}
            h.addConstr(h.qsum(list(w.values())) == demand)
            for lv in range(rl, L):
                h.addConstr(w[lv] <= after[lv])
            for lv in range(rl, L - 1):
                # the env takes level lv+1.. only once level lv is empty
                z = h.addVariable(lb=0, ub=1, type=INT)
                h.addConstr(h.qsum([w[u] for u in range(lv + 1, L)]) <= nb * z)
                h.addConstr(w[lv] - after[lv] >= -nb * (1 - z))
            for lv in range(L):
                s = after[lv] + ret[lv]
                if lv >= rl:
                    s = s - w[lv]
                new_stock[n, lv] = s
        if can_release:
            tot_rel = h.qsum([rel[t, m] for m in range(M)])
            h.addConstr(tot_rel <= new_stock[rs, lo_take])
            new_stock[rs, lo_take] = new_stock[rs, lo_take] - tot_rel
            for m in range(M):
                lv = int(instance.release_levels[m])
                new_stock[rs, lv] = new_stock[rs, lv] + rel[t, m]
            new_incoming[rs + 1, lo_take - gap] = tot_rel
        stock, incoming = new_stock, new_incoming
    gap_lv = np.maximum(c.terminal_level - np.arange(L), 0)
    for n in range(N):
        for lv in range(L):
            if gap_lv[lv]:
                obj.append(c.terminal_price * c.step_kwh * float(gap_lv[lv]) * stock[n, lv])
    start = time.perf_counter()
    h.minimize(h.qsum(obj))
    elapsed = time.perf_counter() - start
    status = h.getModelStatus()
    if h.getInfo().primal_solution_status < 2:
        if b2b or can_release:
            # No incumbent within the time limit (B2B symmetry makes M2/M3 hard): the
            # swap-only optimum is feasible here, so return it and say so (gap = nan).
            base = solve_milp(instance, False, False, time_limit_s, mip_rel_gap)
            base.mip_gap = float("nan")
            base.solve_time_s += elapsed
            return base
        raise RuntimeError(f"MILP: no feasible plan ({h.modelStatusToString(status)})")
    sol = np.asarray(h.getSolution().col_value)
    moves = np.zeros((T, N, L, len(r)), dtype=np.int64)
    for (t, n, lv, j), v in f.items():
        moves[t, n, lv, j] = round(sol[v.index])
    dispatch = np.zeros((T, C, N), dtype=np.int64)
    for (t, ci, n), v in x.items():
        dispatch[t, ci, n] = round(sol[v.index])
    rel_arr = np.zeros((T, M), dtype=np.int64)
    for (t, m), v in rel.items():
        rel_arr[t, m] = round(sol[v.index])
    info = h.getInfo()
    return MILPPlan(float(h.getObjectiveValue()), moves, dispatch, rel_arr, elapsed,
                    float(info.mip_gap))


class OraclePolicy(BasePolicy):
    """Replays the MILP day plan (perfect information: it knows every arrival)."""

    oracle = True

    def __init__(self, b2b: bool = True, release: bool = True, time_limit_s: float = ORACLE_TIME_LIMIT_S) -> None:
        super().__init__()
        self.b2b, self.release, self.time_limit_s = b2b, release, time_limit_s
        self.name = "oracle"
        self.plan: MILPPlan | None = None

    def reset(self, env) -> None:
        super().reset(env)
        self.layout = ActionLayout(self.env.config)
        self.plan = solve_milp(self.env.instance, self.b2b, self.release, self.time_limit_s)

    def act(self, observation):
        t = self.env.state.t
        p = self.plan
        return self.layout.encode(p.moves[t], p.dispatch[t], p.release[t])


register(ENV_ID, "m1", lambda **kw: PSOPolicy(False, False, **kw), reference=True,
         description="paper M1: swap only; PSO dispatch + station power, Hungarian assignment")
register(ENV_ID, "m2", lambda **kw: PSOPolicy(True, False, **kw),
         description="paper M2: M1 + battery-to-battery")
register(ENV_ID, "m3", lambda **kw: PSOPolicy(True, True, **kw),
         description="paper M3: M2 + EV energy release")
register(ENV_ID, "greedy", GreedyPolicy, description="nearest station, uncontrolled charging")
register(ENV_ID, "oracle", lambda **kw: OraclePolicy(**kw), oracle=True,
         description="MILP day optimum on HiGHS (perfect information, M3 setting)")
