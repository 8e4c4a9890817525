"""Baselines for ``swapgym/Expressway-v0``: the paper's M1/M2/M3 (PSO + Hungarian
assignment), an uncontrolled-charging greedy, and the day optimum on HiGHS.

* ``m1`` (reference): swap only. Per hour, PSO (the shared ``baselines.optim.pso``) picks
  the dispatch of arriving EVs and each station's total charging power; inside every
  particle the Hungarian algorithm (``scipy.optimize.linear_sum_assignment``) assigns the
  power units to batteries (eqs. 23–25). Rolling hour by hour: a particle's cost is the
  hour's cost minus a look-ahead value of the stock after it —
  (a) every battery's cheapest cost to reach the end-of-day SOC from there
  (``cost_to_go_per_battery``, a DP over hour × SOC level at the known day-ahead prices;
  a released EV due at the next station counts as the low battery it will leave there),
  (b) half the unserved penalty per battery that cannot be swap-ready in time for the
  demand expected over the next ``readiness_hours`` (3) hours, projected onto each
  class's nearest station.
  Initial particles: last hour's best, the same without B2B/release, the same with every
  EV to the nearest station, the per-battery DP's charging, and two box points.
* ``m2``: M1 + battery-to-battery (one PSO variable per station: donor steps; donors are
  batteries above the swap-ready level first, so they stay ready).
* ``m3``: M2 + EV energy release (PSO variables: released EVs per SOC class).
* ``greedy``: nearest station, every battery below SOC_max charged one step every hour.
* ``oracle``: MILP over the day with perfect information (arrivals known), in M3's
  setting, within ``ORACLE_TIME_LIMIT_S``; exact for the count model (no linearisation:
  every degradation term is a constant per (level, move) arc), so replaying it reproduces
  its objective. Its MIP gap and time-limit hit are in the episode metrics.

PSO sizes: the paper gives none; ``PSOConfig(n_particles=10, iterations=12)`` keeps every
baseline × 5 seeds of the benchmark within ~90 s on one core (a 20×12 swarm was not
better on seeds 0–4: the seeds above matter more than the swarm). Larger swarms via
``make("m3", env, pso=PSOConfig(...))``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swapgym.baselines.optim.pso import PSOConfig, minimize
from swapgym.baselines.protocol import BasePolicy, register
from swapgym.envs.expressway import dynamics
from swapgym.envs.expressway.env import ActionLayout
from swapgym.envs.expressway.instance import ExpresswayInstance

ENV_ID = "swapgym/Expressway-v0"
DEFAULT_PSO = PSOConfig(n_particles=10, iterations=12)
# Wall-clock budget of the oracle's day solve. M2/M3 rarely prove optimality this fast (B2B
# makes many near-equivalent plans); the plan's gap is reported in ``OraclePolicy.plan`` and
# the episode metrics (≤ 0.2 % on seeds 0–4 of the default instance at 10 s; see the
# reproduction, which prints the gaps of its run).
ORACLE_TIME_LIMIT_S = 10.0


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
        # donors: first batteries above the swap-ready level (they stay ready after giving
        # a step), highest first; then the lowest ones (idle, far from ready)
        top = np.flatnonzero(levels > ready_level)[::-1]
        low = np.flatnonzero((levels >= 1) & (levels <= ready_level))
        donors[np.concatenate([top, low])[:donate]] = True
    steps = hungarian_assign(levels, units + int(donors.sum()), tables, ready_level, exclude=donors)
    return steps_to_moves(levels, steps, donors, len(counts), tables.rates)


def cost_to_go_per_battery(instance: ExpresswayInstance,
                           tables: dynamics.CostTables) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest cost ($) of bringing one battery at each level, from each hour on, to the
    end-of-day level ``terminal_soc`` (eq. 13): charging 0..max_charge_steps per hour at
    that hour's price with its degradation (eqs. 11, 26), the shortfall at the end priced
    like the env. A dynamic programme over (hour, level) — the PSO's look-ahead.

    Returns (T + 1, L) costs and (T, L) the SOC steps to charge in each hour (argmin).
    """
    c = instance.config
    L = c.n_levels
    lv = np.arange(L)
    out = np.zeros((c.horizon_h + 1, L))
    steps = np.zeros((c.horizon_h, L), dtype=np.int64)
    out[-1] = c.terminal_price * c.step_kwh * np.maximum(c.terminal_level - lv, 0)
    for t in range(c.horizon_h - 1, -1, -1):
        best = tables.storage_cost + out[t + 1]  # idle
        for j, k in enumerate(tables.rates):
            if k <= 0:
                continue
            ok = np.isfinite(tables.move_cost[:, j])
            to = np.minimum(lv + k, L - 1)
            cand = (instance.price_per_kwh[t] * k * c.step_kwh + tables.move_cost[:, j]
                    + tables.storage_cost[to] + out[t + 1, to])
            better = ok & (cand < best - 1e-12)
            best = np.where(better, cand, best)
            steps[t] = np.where(better, k, steps[t])
        out[t] = best
    return out, steps


# --------------------------------------------------------------------- PSO methods
@dataclass
class _Decoded:
    moves: np.ndarray
    dispatch: np.ndarray
    release: np.ndarray


class PSOPolicy(BasePolicy):
    """The paper's hierarchical PSO (M1/M2/M3), rolling hour by hour."""

    def __init__(self, b2b: bool = False, release: bool = False, pso: PSOConfig = DEFAULT_PSO,
                 seed: int = 0, readiness_hours: int = 3) -> None:
        super().__init__()
        self.b2b, self.release, self.pso, self.seed = b2b, release, pso, seed
        self.readiness_hours = readiness_hours
        self.name = "m3" if release else ("m2" if b2b else "m1")

    def reset(self, env) -> None:
        super().reset(env)
        inst: ExpresswayInstance = self.env.instance
        self.inst, self.cfg, self.tables = inst, inst.config, self.env.tables
        self.layout = ActionLayout(self.cfg)
        base = getattr(self.env, "np_random_seed", None)
        self.rng = np.random.default_rng((self.seed, base if isinstance(base, int) and base >= 0 else 0))
        self.to_go, self.dp_steps = cost_to_go_per_battery(inst, self.tables)
        self.reach = dynamics.reachable(inst)
        # share of arriving EVs whose nearest reachable station is n (classes equally likely)
        self.nearest_share = np.bincount(self.tables.nearest, minlength=self.cfg.n_stations) / len(
            self.tables.nearest)
        self._last: np.ndarray | None = None
        self._memo: dict = {}

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
        moves = np.stack([self._station_moves(state, s, int(units[s]), int(donate[s]))
                          for s in range(n)])
        return _Decoded(moves, dispatch, release)

    def _station_moves(self, state, s: int, units: int, donate: int) -> np.ndarray:
        # The Hungarian step depends only on (station, units, donors) within an hour, and
        # particles revisit the same integers often: memoise it for the hour.
        key = (s, units, donate)
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = station_moves(state.counts[s], units, donate, self.tables,
                                                  self.cfg.ready_level)
        return hit

    def _cost(self, x: np.ndarray, state) -> float:
        d = self._decode(x, state)
        new, res = dynamics.step(self.inst, self.tables, state, d.moves, d.dispatch, d.release)
        return res.cost - self._value(new, d.dispatch)

    def _value(self, new, dispatch) -> float:
        """Look-ahead value of the stock after the hour (see module docstring)."""
        c = self.cfg
        if new.t >= c.horizon_h:
            return 0.0
        w = self.to_go[new.t]
        # each battery's cheapest cost to reach the end-of-day level; a released EV due at
        # the next station will leave its low battery there for a ready one
        stock = (new.counts.sum(axis=0) + new.incoming.sum(axis=0)) @ w
        stock -= new.incoming.sum() * w[c.ready_level]
        short = 0.0
        for h in range(self.readiness_hours):
            if new.t + h >= c.horizon_h:
                break
            # batteries that can be swap-ready within h hours vs the demand expected by
            # then if the coming arrivals go to their nearest station (the default
            # dispatch). Projecting this hour's split instead made the PSO send EVs to far
            # stations (8 kWh more to recharge per 80 km): +10 $/day on seeds 0–4.
            expected = (np.sum(c.arrival_rate_per_h[new.t:new.t + h + 1]) * self.nearest_share
                        + new.incoming.sum(axis=1))
            lowest = max(c.ready_level - h * c.max_charge_steps, 0)
            ready = new.counts[:, lowest:].sum(axis=1)
            short += np.maximum(expected - ready, 0).sum()
        return -stock - 0.5 * c.unserved_penalty_usd * short

    def _seeds(self, lo: np.ndarray, hi: np.ndarray, state=None) -> np.ndarray:
        """Initial particles: last hour's best (the rolling plan changes slowly), the same
        without B2B and release (so M2/M3 always consider M1's kind of plan), half of
        every range, and charge-all at the nearest station."""
        n = self.cfg.n_stations
        rows = [hi * 0.5, np.concatenate([hi[:n], np.zeros(len(hi) - n)])]
        if state is not None:
            # each battery charged as the per-battery DP would, everyone to the nearest station
            dp = np.zeros(len(hi))
            dp[:n] = state.counts @ self.dp_steps[state.t]
            rows.append(np.clip(dp, lo, hi))
        if self._last is not None and len(self._last) == len(hi):
            prev = np.clip(self._last, lo, hi)
            plain = prev.copy()
            if self.b2b:
                plain[n:2 * n] = 0.0
            if self.release:
                plain[len(hi) - len(self.cfg.release_soc_choices):] = 0.0
            nearest = plain.copy()  # every EV to the nearest reachable station
            k = n * (2 if self.b2b else 1)
            nearest[k:k + len(self.cfg.ev_soc_choices) * (n - 1)] = 0.0
            rows = [prev, plain, nearest, *rows]
        return np.vstack(rows)

    def act(self, observation):
        state = self.env.state.copy()
        lo, hi = self._bounds(state)
        self._memo = {}
        res = minimize(lambda X: np.array([self._cost(x, state) for x in X]), lo, hi,
                       self.rng, self.pso, initial=self._seeds(lo, hi, state))
        self._last = res.best_position
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
    """A day plan from :func:`solve_milp`.

    objective: day cost of the plan ($, equal to the env's replayed cost). bound: HiGHS's
    proven lower bound ($). mip_gap: (objective − bound) / objective. status: HiGHS model
    status ("Optimal", "Time limit reached", …). optimal: proven within ``mip_rel_gap``.
    from_warm_start: the plan returned is the warm start HiGHS was given (it found nothing
    better within the time limit) — reported, never silent.
    """

    objective: float
    moves: np.ndarray       # (T, N_B, L, R)
    dispatch: np.ndarray    # (T, C, N_B)
    release: np.ndarray     # (T, M)
    solve_time_s: float
    mip_gap: float
    bound: float = float("nan")
    status: str = ""
    optimal: bool = False
    from_warm_start: bool = False
    values: dict = field(default_factory=dict, repr=False)  # variable key -> value

    @property
    def timed_out(self) -> bool:
        return not self.optimal


def solve_milp(instance: ExpresswayInstance, b2b: bool = True, release: bool = True,
               time_limit_s: float = 30.0, mip_rel_gap: float = 1e-4,
               warm_start: MILPPlan | str | None = "auto") -> MILPPlan:
    """Day optimum of the count model on HiGHS (perfect information).

    Every degradation term is a constant per (level, move) arc in the count model, so no
    piecewise linearisation is needed: the MILP is exact, not an approximation. The only
    modelling beyond the env's rules is that every EV must be served (no unserved EVs).

    M2/M3 (``b2b``/``release``) contain M1's plans (extra variables at zero), so with
    ``warm_start="auto"`` the M1 optimum (< 1 s, proven) is solved first and is a
    feasible incumbent. B2B makes many near-equivalent plans and HiGHS spends its time in
    root cuts without improving on it, so before the MIP we run RENS (``_rens``): the LP
    relaxation (≈ 2 % fractional columns), its [floor, ceil] box, and if that box is
    infeasible the union of the LP's and the incumbent's supports. The best of these is
    handed to HiGHS (``Highs.setSolution``), which then works on the bound. Stock is an
    explicit variable per (hour, station, level): written as an expression of all earlier
    flows it made the matrix ~5× denser and the LPs slow.

    ``time_limit_s`` bounds the whole call. On a time-out the best plan found is returned
    with ``optimal=False``, its ``mip_gap``/``bound`` and HiGHS's ``status`` (and
    ``from_warm_start`` if nothing beat the warm start); if HiGHS found no plan at all a
    ``RuntimeError`` is raised — there is no silent fallback. Pass a plan to warm-start
    from it or ``None`` for a cold solve.
    """
    import time

    import highspy

    start_all = time.perf_counter()
    if isinstance(warm_start, str):
        if warm_start != "auto":
            raise ValueError(f"warm_start: 'auto', None or a MILPPlan, got {warm_start!r}")
        warm_start = (solve_milp(instance, False, False, 0.5 * time_limit_s, mip_rel_gap, None)
                      if (b2b or release) else None)
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
    h.setOptionValue("threads", 1)
    INT = highspy.HighsVarType.kInteger
    obj = []
    var: dict[tuple, object] = {}  # ("f"|"x"|"rel"|"w"|"z", indices...) -> variable
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
                    v = var["x", t, ci, n] = h.addVariable(lb=0, ub=nb * N, type=INT)
                    tot.append(v)
                    obj.append(float(tab.drive_cost[ci, n]) * v)
            h.addConstr(h.qsum(tot) == float(instance.arrivals[t, ci]))
        for m in range(M):
            ub = float(instance.release_candidates[t, m]) if (can_release and t < T - 1) else 0.0
            v = var["rel", t, m] = h.addVariable(lb=0, ub=ub, type=INT)
            obj.append(float(tab.drive_cost_release) * v)
        new_stock, new_incoming = {}, {(n, lv): 0.0 for n in range(N) for lv in range(L)}
        for n in range(N):
            after = {lv: stock[n, lv] for lv in range(L)}
            grid = []
            for lv in range(L):
                out = []
                for j, k in enumerate(r):
                    if not np.isfinite(tab.move_cost[lv, j]) or (k < 0 and not b2b):
                        continue
                    v = var["f", t, n, lv, j] = h.addVariable(lb=0, ub=nb, type=INT)
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
                if ("x", t, ci, n) in var:
                    lv = int(instance.ev_levels[ci] - instance.drive_steps[n])
                    ret[lv] = ret[lv] + var["x", t, ci, n]
            demand = h.qsum([ret[lv] for lv in range(L)])
            w = {lv: h.addVariable(lb=0, ub=nb, type=INT) for lv in range(rl, L)}
            for lv, v in w.items():
                var["w", t, n, lv] = v
            h.addConstr(h.qsum(list(w.values())) == demand)
            for lv in range(rl, L):
                h.addConstr(w[lv] <= after[lv])
            for lv in range(rl, L - 1):
                # the env takes level lv+1.. only once level lv is empty
                z = var["z", t, n, lv] = h.addVariable(lb=0, ub=1, type=INT)
                h.addConstr(h.qsum([w[u] for u in range(lv + 1, L)]) <= nb * z)
                h.addConstr(w[lv] - after[lv] >= -nb * (1 - z))
            for lv in range(L):
                s = after[lv] + ret[lv]
                if lv >= rl:
                    s = s - w[lv]
                new_stock[n, lv] = s
        if can_release:
            tot_rel = h.qsum([var["rel", t, m] for m in range(M)])
            h.addConstr(tot_rel <= new_stock[rs, lo_take])
            new_stock[rs, lo_take] = new_stock[rs, lo_take] - tot_rel
            for m in range(M):
                lv = int(instance.release_levels[m])
                new_stock[rs, lv] = new_stock[rs, lv] + var["rel", t, m]
            new_incoming[rs + 1, lo_take - gap] = tot_rel
        # Explicit stock variables keep the matrix sparse: stock written as an expression
        # of every earlier flow made ~30x more nonzeros and slow LPs.
        stock = {}
        for key, expr in new_stock.items():
            v = var[("s", t + 1, *key)] = h.addVariable(lb=0, ub=nb)
            h.addConstr(v == expr)
            stock[key] = v
        incoming = new_incoming
    gap_lv = np.maximum(c.terminal_level - np.arange(L), 0)
    for n in range(N):
        for lv in range(L):
            if gap_lv[lv]:
                obj.append(c.terminal_price * c.step_kwh * float(gap_lv[lv]) * stock[n, lv])
    h.setObjective(h.qsum(obj), sense=highspy.ObjSense.kMinimize)
    starts = []
    lp_bound = -np.inf
    if warm_start is not None and warm_start.values:
        # Every variable of the smaller model keeps its value; the rest (donors,
        # releases) are zero — feasible because the feasible sets are nested.
        cols = np.zeros(h.getNumCol())
        for key, v in var.items():
            cols[v.index] = warm_start.values.get(key, 0.0)
        starts.append(cols)
    if b2b or can_release:
        # B2B makes many near-equivalent plans; HiGHS spends its time in root cuts and
        # rarely finds an incumbent better than the warm start. The LP relaxation is
        # nearly integral (~2 % fractional columns), so a RENS step — fix the integral
        # LP values, round the rest within [floor, ceil], solve that small MIP — gives
        # a near-optimal plan in about a second; the full MIP then starts from it.
        left = time_limit_s - (time.perf_counter() - start_all)
        lp_bound, cols = _rens(h, highspy, max(0.6 * left, 0.5), starts[0] if starts else None)
        if cols is not None:
            starts.append(cols)
    if starts:
        cost = np.asarray(h.getLp().col_cost_)
        _set_solution(h, min(starts, key=lambda x: float(cost @ x)))
    # time_limit_s bounds the whole call (warm start, model, LP, RENS, MIP)
    h.setOptionValue("time_limit", max(float(time_limit_s) - (time.perf_counter() - start_all), 0.1))
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    info = h.getInfo()
    if info.primal_solution_status < 2:
        why = ("the MILP serves every EV and this instance cannot" if status == "Infeasible"
               else "pass warm_start (the M1 plan is feasible for M2/M3)")
        raise RuntimeError(f"MILP: no feasible plan within {time_limit_s} s ({status}): {why}")
    sol = np.asarray(h.getSolution().col_value)
    values = {key: float(round(sol[v.index])) for key, v in var.items()}
    moves = np.zeros((T, N, L, len(r)), dtype=np.int64)
    dispatch = np.zeros((T, C, N), dtype=np.int64)
    rel_arr = np.zeros((T, M), dtype=np.int64)
    for key, val in values.items():
        if key[0] == "f":
            moves[key[1:]] = val
        elif key[0] == "x":
            dispatch[key[1:]] = val
        elif key[0] == "rel":
            rel_arr[key[1:]] = val
    objective = float(h.getObjectiveValue())
    # the LP relaxation solved for RENS is a valid bound when the MIP stops before its root
    bound = max(float(info.mip_dual_bound), lp_bound)
    mip_gap = max(0.0, (objective - bound) / max(abs(objective), 1e-9))
    same_as_warm = (warm_start is not None and bool(warm_start.values)
                    and abs(objective - warm_start.objective) <= 1e-9 * max(1.0, abs(objective)))
    return MILPPlan(objective, moves, dispatch, rel_arr, time.perf_counter() - start_all,
                    mip_gap, bound, status, status == "Optimal", bool(same_as_warm), values)


def _set_solution(h, cols: np.ndarray) -> None:
    import highspy

    sol = highspy.HighsSolution()
    sol.col_value = list(map(float, cols))
    sol.value_valid = True
    h.setSolution(sol)


def _rens(h, highspy, time_limit_s: float,
          incumbent: np.ndarray | None = None) -> tuple[float, np.ndarray | None]:
    """Relaxation-enforced neighbourhood search (Berthold 2014) on model ``h``: solve the
    LP relaxation, restrict every integer column to [floor, ceil] of its LP value, solve
    that sub-MIP. If that box holds no plan and an ``incumbent`` is given, search the union
    of the LP's and the incumbent's supports instead (every other integer column at 0; the
    incumbent is feasible there, so the result is never worse). Returns the LP bound and
    the best plan's column values (None if none found within ``time_limit_s`` in all).
    Leaves ``h``'s bounds as they were."""
    import time

    deadline = time.perf_counter() + time_limit_s
    lp = h.getLp()
    lower = np.asarray(lp.col_lower_, dtype=float)
    upper = np.asarray(lp.col_upper_, dtype=float)
    is_int = np.array([int(v) for v in lp.integrality_]) == 1
    h.setOptionValue("solve_relaxation", True)
    h.run()
    h.setOptionValue("solve_relaxation", False)
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        h.clearSolver()
        return -np.inf, None
    lp_bound = float(h.getInfo().objective_function_value)
    x = np.asarray(h.getSolution().col_value)
    idx = np.flatnonzero(is_int).astype(np.int32)
    boxes = [(np.maximum(np.floor(x[idx] + 1e-6), lower[idx]),
              np.minimum(np.ceil(x[idx] - 1e-6), upper[idx]))]
    if incumbent is not None:
        support = (x[idx] > 1e-6) | (incumbent[idx] > 0.5)
        boxes.append((lower[idx], np.where(support, upper[idx], np.maximum(lower[idx], 0.0))))
    found = None
    for stage, (lo, hi) in enumerate(boxes):
        h.changeColsBounds(len(idx), idx, lo, np.maximum(hi, lo))
        if stage == 1:
            _set_solution(h, incumbent)
        h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.05))
        h.run()
        if h.getInfo().primal_solution_status >= 2:
            cols = np.asarray(h.getSolution().col_value)
            found = np.where(is_int, np.round(cols), cols)
        h.changeColsBounds(len(idx), idx, lower[idx], upper[idx])
        h.clearSolver()
        if found is not None:
            break
    return lp_bound, found


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
        # never silent: the plan's gap and whether the time limit stopped it go into the
        # episode metrics
        if hasattr(self.env, "note_metric"):
            self.env.note_metric("planner_mip_gap", self.plan.mip_gap)
            self.env.note_metric("planner_time_limit_hit", float(not self.plan.optimal))
            self.env.note_metric("planner_solve_time_s", self.plan.solve_time_s)

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
