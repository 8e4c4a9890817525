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
* ``m3``: M2 + EV energy release, nested on M2 (``PSOPolicy`` docstring): M2's swarm,
  then the released EVs per SOC class enumerated with its plan fixed, then (if anyone is
  released) one swarm over the whole M3 space seeded with both plans. Never worse per
  hour than M2's plan; a day without a release is M2's day. ``nested=False``: one swarm.
* ``greedy``: nearest station, every battery below SOC_max charged one step every hour.
* ``oracle``: MILP over the day with perfect information (arrivals known), in M3's
  setting, proven within 0.01 % (``solve_milp``: LP branch and bound on HiGHS) or stopped
  at ``ORACLE_TIME_LIMIT_S``; exact for the count model (no linearisation: every
  degradation term is a constant per (level, move) arc), so replaying it reproduces its
  objective. Its MIP gap and time-limit hit are in the episode metrics.

The Hungarian step (``hungarian_assign``, ``station_moves``, ``steps_to_moves``) lives in
``envs/expressway/assign.py`` (the env's ``action_mode="station"`` uses it) and is
re-exported here. In ``action_mode="station"`` every baseline hands its moves plan to the
env (``ExpresswayEnv.plan_moves``) and plays the same day as in moves mode, so the score's
anchors do not depend on the agent's action space; ``PSOPolicy(station_levels=True)``
instead snaps the swarm to the env's levels and plays station actions.

PSO sizes: the paper gives none; ``PSOConfig(n_particles=10, iterations=12)`` keeps every
baseline × 5 seeds of the benchmark within ~90 s on one core (a 20×12 swarm was not
better on seeds 0–4, nor was 20×24: the seeds above matter more than the swarm, and the
rolling day cost moves by ±10 $ with any change of the swarm). Larger swarms via
``make("m3", env, pso=PSOConfig(...))``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from swapgym.baselines.optim.pso import PSOConfig, minimize
from swapgym.baselines.protocol import BasePolicy, register
from swapgym.envs.expressway import dynamics
from swapgym.envs.expressway.assign import (  # noqa: F401  (re-exported)
    headroom,
    hungarian_assign,
    station_moves,
    steps_to_moves,
)
from swapgym.envs.expressway.env import ActionLayout
from swapgym.envs.expressway.instance import ExpresswayInstance

ENV_ID = "swapgym/Expressway-v0"
DEFAULT_PSO = PSOConfig(n_particles=10, iterations=12)
# Wall-clock budget of the oracle's day solve. M1, M2 and M3 are proven within 0.01 % in
# under 1 s each on seeds 0–9 of the default instance (≤ 19 branch-and-bound nodes); a plan
# stopped by the limit keeps its proven gap, reported in ``OraclePolicy.plan`` and the
# episode metrics.
ORACLE_TIME_LIMIT_S = 10.0


# --------------------------------------------------------------------- Hungarian step
# The assignment of a station's power to its batteries (eqs. 23–25) lives in the env
# package (``envs/expressway/assign.py``: the env's ``action_mode="station"`` uses it too);
# re-exported here for compatibility.


def _nearest_level(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Index of the nearest entry of ``levels`` (sorted) for each of ``values``."""
    return np.abs(np.asarray(values)[..., None] - levels).argmin(axis=-1)


def _action(env, layout: ActionLayout, moves: np.ndarray, dispatch: np.ndarray,
            release: np.ndarray) -> np.ndarray:
    """A moves plan as an action of ``env``: itself in ``action_mode="moves"``; in
    ``"station"`` mode the plan is handed to the env (``plan_moves``: the same day as in
    moves mode) and the action is the nearest station action — per station the power
    level nearest to its net grid steps and the B2B level nearest to its donors (valid
    under the masks; its power/B2B blocks are not played)."""
    u = env.unwrapped
    if u.config.action_mode == "moves":
        return layout.encode(moves, dispatch, release)
    u.plan_moves(moves)
    r = layout.rates
    donors = moves[..., r < 0].sum(axis=(1, 2))
    grid = (moves * r).sum(axis=(1, 2))
    return u.layout.encode_station(_nearest_level(grid, u.power_units),
                                   _nearest_level(donors, u.b2b_donors), dispatch, release)


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
    units: np.ndarray | None = None    # per station grid steps (station mode: level values)
    donate: np.ndarray | None = None   # per station B2B donors (station mode: level values)


class PSOPolicy(BasePolicy):
    """The paper's hierarchical PSO (M1/M2/M3), rolling hour by hour.

    ``nested`` (M3 only, default True): M3 is solved as the paper's hierarchy reads
    (§4.3: after EVs release energy "the optimized schemes at the other two levels should
    be updated") on top of M2, whose plans it contains (no release):
    1. M2's PSO — an inner M2 policy with M2's own random stream — picks dispatch,
       charging and B2B;
    2. the release counts (at most (6 + 1)² combinations) are enumerated with those fixed;
    3. if some EV is released, one PSO over the whole M3 space, seeded with both plans,
       updates the lower and middle levels.
    Per hour M3's objective is never above M2's plan on the same state, and an M3 day
    that releases nobody is M2's day exactly. ``station_levels`` (``action_mode=
    "station"`` only): the swarm's power and donors per station snap to the env's levels
    and the plan is played as station actions (the paper's method expressed in that action
    space); without it the plan is handed to the env as moves (``plan_moves``), the same
    day as in moves mode. ``nested=False`` is one PSO over the whole M3 space (the swarm's random stream then differs from M2's from the first hour on, so
    M3 and M2 days differ by the PSO's seed-to-seed noise, ~±10 $, even without a release).
    """

    def __init__(self, b2b: bool = False, release: bool = False, pso: PSOConfig = DEFAULT_PSO,
                 seed: int = 0, readiness_hours: int = 3, nested: bool = True,
                 station_levels: bool = False) -> None:
        super().__init__()
        self.station_levels = bool(station_levels)
        self.b2b, self.release, self.pso, self.seed = b2b, release, pso, seed
        self.readiness_hours = readiness_hours
        self.nested = bool(nested and release)
        self.name = "m3" if release else ("m2" if b2b else "m1")

    def reset(self, env) -> None:
        super().reset(env)
        inst: ExpresswayInstance = self.env.instance
        self.inst, self.cfg, self.tables = inst, inst.config, self.env.tables
        self.layout = ActionLayout(self.cfg, mode="moves")
        # action_mode="station" with station_levels: particles' power and donors snap to
        # the env's levels, so every plan the swarm scores is one station action exactly
        self.station_mode = self.cfg.action_mode == "station" and self.station_levels
        base = getattr(self.env, "np_random_seed", None)
        base = base if isinstance(base, int) and base >= 0 else 0
        self.rng = np.random.default_rng((self.seed, base))
        self._inner: PSOPolicy | None = None
        if self.nested:
            # the inner M2 draws from M2's stream; the release stage has its own
            self._inner = PSOPolicy(self.b2b, False, self.pso, self.seed, self.readiness_hours,
                                    station_levels=self.station_levels)
            self._inner.reset(env)
            self.rng = np.random.default_rng((self.seed, base, 3))
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
        hi = [headroom(c, state.counts).astype(float)]
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
        if self.station_mode:
            u = self.env.unwrapped
            units = u.power_units[_nearest_level(units, u.power_units)]
            donate = u.b2b_donors[_nearest_level(donate, u.b2b_donors)]
        moves = np.stack([self._station_moves(state, s, int(units[s]), int(donate[s]))
                          for s in range(n)])
        return _Decoded(moves, dispatch, release, units, donate)

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
        return self._evaluate(x, state)[0]

    def _evaluate(self, x: np.ndarray, state) -> tuple[float, int]:
        """The hour's objective of particle ``x`` and how many EVs it really releases."""
        d = self._decode(x, state)
        new, res = dynamics.step(self.inst, self.tables, state, d.moves, d.dispatch, d.release)
        return res.cost - self._value(new, d.dispatch), res.released

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

    def _search(self, state, first: list[np.ndarray] = ()) -> tuple[np.ndarray, float]:
        """One hour's PSO from the usual seeds (and ``first`` before them)."""
        self._memo = {}  # the Hungarian step's memo holds for one state only
        lo, hi = self._bounds(state)
        seeds = self._seeds(lo, hi, state)
        if len(first):
            seeds = np.vstack([*first, seeds])
        res = minimize(lambda X: np.array([self._cost(x, state) for x in X]), lo, hi,
                       self.rng, self.pso, initial=seeds)
        return res.best_position, res.best_cost

    def _nested_search(self, state) -> np.ndarray:
        """M3 on top of M2 (see the class docstring)."""
        x2, _ = self._inner._search(state)
        self._memo = {}
        c, inst = self.cfg, self.inst
        m = len(c.release_soc_choices)
        plain = np.concatenate([x2, np.zeros(m)])
        best, best_cost = plain, self._cost(plain, state)
        hi = self._bounds(state)[1][-m:].astype(int)
        # SOC steps a released EV of each class leaves at the release station
        gain = inst.release_levels - dynamics.release_take_level(inst)
        rs = c.release_station
        for counts in itertools.product(*(range(k + 1) for k in hi)):
            if not any(counts):
                continue
            e = int(np.dot(gain, counts))
            # the released energy may replace some of the release station's charging
            for cut in sorted({0, e // 4, e // 2, (3 * e) // 4, e}):
                x = plain.copy()
                x[-m:] = counts
                x[rs] = max(round(x2[rs]) - cut, 0)
                cost, released = self._evaluate(x, state)
                # only plans that do release (a request the stock cannot serve is
                # clamped to none, and then this would be M2 with less charging)
                if released == sum(counts) and cost < best_cost - 1e-12:
                    best, best_cost = x, cost
        if best[-m:].any():  # update the lower and middle levels for the release
            x, cost = self._search(state, [best, plain])
            if cost < best_cost and self._evaluate(x, state)[1] > 0:
                best = x
        self._inner._last = best[:-m]  # what is played, without the release
        return best

    def act(self, observation):
        state = self.env.state.copy()
        best = self._nested_search(state) if self._inner is not None else self._search(state)[0]
        self._last = best
        d = self._decode(best, state)
        if self.station_mode:
            u = self.env.unwrapped
            return u.layout.encode_station(_nearest_level(d.units, u.power_units),
                                           _nearest_level(d.donate, u.b2b_donors),
                                           d.dispatch, d.release)
        return _action(self.env, self.layout, d.moves, d.dispatch, d.release)


class GreedyPolicy(BasePolicy):
    """Uncontrolled charging: nearest station; every battery below SOC_max rises one step
    (4 kW) every hour; no B2B, no release."""

    name = "greedy"

    def reset(self, env) -> None:
        super().reset(env)
        self.layout = ActionLayout(self.env.config, mode="moves")

    def act(self, observation):
        c = self.env.config
        counts = self.env.state.counts
        moves = np.zeros(self.layout.moves_shape, dtype=np.int64)
        col = int(np.flatnonzero(self.layout.rates == 1)[0])
        moves[:, : c.n_levels - 1, col] = counts[:, : c.n_levels - 1]
        return _action(self.env, self.layout, moves, np.zeros(self.layout.dispatch_shape),
                       np.zeros(self.layout.n_release))


# --------------------------------------------------------------------- exact MILP
@dataclass
class MILPPlan:
    """A day plan from :func:`solve_milp`.

    objective: day cost of the plan ($, equal to the env's replayed cost). bound: proven
    lower bound on the day optimum ($): the smallest LP bound of any branch-and-bound node
    left unexplored. mip_gap: (objective − bound) / objective. status: "Optimal" (proven
    within ``mip_rel_gap``) or "Time limit reached". optimal: status == "Optimal".
    from_warm_start: the plan returned is the warm start given (nothing better was found)
    — reported, never silent. build_time_s: building the model(s) in Python;
    lp_time_s: the root LP relaxation(s); nodes: branch-and-bound nodes (one LP each);
    solve_time_s: the whole call.
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
    build_time_s: float = 0.0
    lp_time_s: float = 0.0
    nodes: int = 0

    @property
    def timed_out(self) -> bool:
        return not self.optimal


# Absolute optimality tolerance ($) next to ``mip_rel_gap`` (HiGHS's mip_abs_gap default).
MIP_ABS_GAP = 1e-6
# LP values within this of an integer count as integral (HiGHS's mip_feasibility_tolerance).
INT_TOL = 1e-6


@dataclass
class _DayModel:
    """The day MILP as arrays (``highspy.HighsLp``), one column per key:
    ("x", t, c, n) EVs of class c dispatched to station n in hour t (eqs. 4–8);
    ("rel", t, m) released EVs of class m (eqs. 18–22); ("f", t, n, l, j) batteries at
    level l moving RATES[j] steps (eqs. 9–16, 26); ("w", t, n, l) ready batteries at level
    l handed out in swaps (eq. 17); ("s", t, n, l) stock at the start of hour t
    (continuous, implied integral); ("z", t, n, l) lowest-ready-first switch (only with
    ``lowest_first``). ``a`` is the constraint matrix (CSR) for checking warm starts."""

    lp: object
    keys: list
    row_keys: list
    is_int: np.ndarray
    a: object
    lowest_first: bool
    n_levels: int

    @property
    def cost(self) -> np.ndarray:
        return np.asarray(self.lp.col_cost_)


def _day_model(instance: ExpresswayInstance, tab: dynamics.CostTables, b2b: bool,
               release: bool, lowest_first: bool) -> _DayModel:
    """Build the count-model MILP of the day (perfect information, every EV served).

    Every cost is linear in the counts: degradation per moved battery is a constant per
    (level, move) arc (eqs. 11, 26), storage degradation α2·(1 − SOC)^β2 a constant per
    battery and level, grid energy price × steps (eq. 12), driving BDC per dispatched or
    released EV (eq. 5), the end-of-day shortfall at ``terminal_price`` (eq. 13). So the
    MILP is the env's model exactly — no piecewise linearisation is needed.
    """
    import highspy
    import scipy.sparse as sp

    c = instance.config
    r = tab.rates
    T, N, L = c.horizon_h, c.n_stations, c.n_levels
    C, M = len(instance.ev_levels), len(instance.release_levels)
    nb, rl = c.batteries_per_station, c.ready_level
    can_release = release and N > 1
    rs = c.release_station
    lo_take = dynamics.release_take_level(instance)
    gap = c.drive_steps(c.station_km[rs + 1] - c.station_km[rs]) if N > 1 else 0
    arrive = tab.arrive_level if tab.arrive_level is not None else (
        instance.ev_levels[:, None] - instance.drive_steps[None, :])
    store = tab.storage_cost
    use = np.isfinite(tab.move_cost) & ((r[None, :] > 0) | b2b)
    keys, lb, ub, cost, is_int = [], [], [], [], []
    row_keys, row_lo, row_hi, ri, ci, vals = [], [], [], [], [], []

    def col(key, upper, c0, integer=True):
        keys.append(key)
        lb.append(0.0)
        ub.append(float(upper))
        cost.append(float(c0))
        is_int.append(integer)
        return len(keys) - 1

    def row(key, terms, lo, hi):
        k = len(row_keys)
        row_keys.append(key)
        row_lo.append(float(lo))
        row_hi.append(float(hi))
        for j, v in terms.items() if isinstance(terms, dict) else terms:
            if v:
                ri.append(k)
                ci.append(j)
                vals.append(float(v))

    offset = 0.0
    stock = [[(float(instance.init_counts[n, lv]), -1) for lv in range(L)] for n in range(N)]
    incoming: dict[int, list[int]] = {}  # level at station rs+1 -> release columns of last hour
    for t in range(T):
        unit = float(instance.price_per_kwh[t]) * c.step_kwh  # $ per SOC step from the grid
        xcol = {}
        for k in range(C):  # eq. (4): every arriving EV goes to one reachable station
            terms = [(xcol.setdefault((k, n), col(("x", t, k, n), instance.arrivals[t, k],
                                                  tab.drive_cost[k, n])), 1.0)
                     for n in range(N) if tab.reach[k, n]]
            row(("dispatch", t, k), terms, instance.arrivals[t, k], instance.arrivals[t, k])
        relcol = ([col(("rel", t, m), instance.release_candidates[t, m], tab.drive_cost_release)
                   for m in range(M)] if can_release and t < T - 1 else [])
        for n in range(N):
            after = [dict() for _ in range(L)]  # after charging: {column: coefficient}
            after_c = np.zeros(L)
            for lv, (const, sc) in enumerate(stock[n]):
                after_c[lv] += const
                offset += store[lv] * const
                if sc >= 0:
                    after[lv][sc] = 1.0
                    cost[sc] += store[lv]  # storage degradation of the stock (eq. 11) ...
            grid = {}
            for lv in range(L):
                out = {}
                for j in np.flatnonzero(use[lv]):
                    k = int(r[j])
                    # ... moved to its new level; grid energy (eq. 12); move degradation
                    v = col(("f", t, n, lv, int(j)), nb, tab.move_cost[lv, j] + unit * k
                            + store[lv + k] - store[lv])
                    out[v] = 1.0
                    after[lv][v] = after[lv].get(v, 0.0) - 1.0
                    after[lv + k][v] = after[lv + k].get(v, 0.0) + 1.0
                    grid[v] = float(k)
                const, sc = stock[n][lv]
                if out:  # no more batteries move than sit at the level
                    row(("avail", t, n, lv), {**out, **({sc: -1.0} if sc >= 0 else {})}, -np.inf,
                        const)
            if b2b and (r < 0).any():
                row(("grid", t, n), grid, 0.0, np.inf)  # eq. (12): P_Grid >= 0
            # swaps (eq. 17): every EV due here takes a ready battery and leaves its own
            ret = [dict() for _ in range(L)]
            for (k, nn), v in xcol.items():
                if nn == n:
                    ret[int(arrive[k, n])][v] = 1.0
            if n == rs + 1:
                for lv, cols in incoming.items():
                    for v in cols:
                        ret[lv][v] = ret[lv].get(v, 0.0) + 1.0
            w = {lv: col(("w", t, n, lv), nb, 0.0) for lv in range(rl, L)}
            swap = {v: 1.0 for v in w.values()}
            for lv in range(L):
                for v, a in ret[lv].items():
                    swap[v] = swap.get(v, 0.0) - a
            row(("swap", t, n), swap, 0.0, 0.0)
            if any(ret[lv] for lv in range(rl, L)):
                # returned batteries land at a ready level: w <= after needs its own row
                # (otherwise it follows from the stock bound s >= 0 below)
                for lv in range(rl, L):
                    terms = {v: -a for v, a in after[lv].items()}
                    terms[w[lv]] = terms.get(w[lv], 0.0) + 1.0
                    row(("wcap", t, n, lv), terms, -np.inf, after_c[lv])
            if lowest_first:
                # the env hands out level l+1.. only once level l is empty: z = 1 allows
                # higher levels and forces after_l − w_l = 0 (big-M = batteries_per_station)
                for lv in range(rl, L - 1):
                    z = col(("z", t, n, lv), 1, 0.0)
                    row(("z_high", t, n, lv), {**{w[u]: 1.0 for u in range(lv + 1, L)},
                                               z: -float(nb)}, -np.inf, 0.0)
                    terms = dict(after[lv])
                    terms[w[lv]] = terms.get(w[lv], 0.0) - 1.0
                    terms[z] = float(nb)
                    row(("z_low", t, n, lv), terms, -np.inf, nb - after_c[lv])
            # stock at the start of the next hour; release at station rs (eqs. 18–22)
            for lv in range(L):
                terms = {v: -a for v, a in after[lv].items()}
                for v, a in ret[lv].items():
                    terms[v] = terms.get(v, 0.0) - a
                if lv >= rl:
                    terms[w[lv]] = terms.get(w[lv], 0.0) + 1.0
                if n == rs:
                    for m, v in enumerate(relcol):
                        terms[v] = terms.get(v, 0.0) + (lv == lo_take) - (
                            lv == int(instance.release_levels[m]))
                sc = col(("s", t + 1, n, lv), nb, 0.0, integer=False)
                terms[sc] = 1.0
                row(("stock", t, n, lv), terms, after_c[lv], after_c[lv])
                stock[n][lv] = (0.0, sc)
        incoming = {lo_take - gap: relcol} if relcol else {}
    short = np.maximum(c.terminal_level - np.arange(L), 0)
    for n in range(N):
        for lv in np.flatnonzero(short):
            cost[stock[n][lv][1]] += c.terminal_price * c.step_kwh * float(short[lv])  # eq. (13)
    a = sp.csc_matrix((vals, (ri, ci)), shape=(len(row_keys), len(keys)))
    a.sum_duplicates()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(keys), len(row_keys)
    lp.col_cost_ = np.array(cost)
    lp.col_lower_ = np.array(lb)
    lp.col_upper_ = np.array(ub)
    lp.row_lower_ = np.array(row_lo)
    lp.row_upper_ = np.array(row_hi)
    lp.offset_ = float(offset)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = a.indptr
    lp.a_matrix_.index_ = a.indices
    lp.a_matrix_.value_ = a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous
                       for i in is_int]
    return _DayModel(lp, keys, row_keys, np.array(is_int), a.tocsr(), lowest_first, L)


def _lp_solver(model: _DayModel, deadline: float):
    """A silent single-thread HiGHS holding the model's LP relaxation."""
    import time

    import highspy

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", max(deadline - time.perf_counter(), 0.05))
    h.passModel(model.lp)
    return h


def _basis_from(h_small, small: _DayModel, big: _DayModel):
    """Map an optimal basis of a smaller day model (M1) onto a larger one (M2/M3): shared
    columns and rows keep their status, new columns sit at their lower bound (0: no
    donors, no releases) and new rows are basic. Primal feasible, since the smaller
    model's plans are plans of the larger one."""
    import highspy

    b = h_small.getBasis()
    cols = dict(zip(small.keys, b.col_status))
    rows = dict(zip(small.row_keys, b.row_status))
    basis = highspy.HighsBasis()
    basis.col_status = [cols.get(k, highspy.HighsBasisStatus.kLower) for k in big.keys]
    basis.row_status = [rows.get(k, highspy.HighsBasisStatus.kBasic) for k in big.row_keys]
    basis.valid = True
    return basis


@dataclass
class _Search:
    objective: float          # best plan's cost (inf if none)
    x: np.ndarray | None      # its column values
    bound: float
    nodes: int
    lp_time_s: float
    status: str
    from_start: bool


def _feasible(model: _DayModel, x: np.ndarray) -> bool:
    lp = model.lp
    act = model.a @ x
    return bool(np.all(x >= np.asarray(lp.col_lower_) - 1e-6) and np.all(x <= np.asarray(lp.col_upper_) + 1e-6)
                and np.all(act >= np.asarray(lp.row_lower_) - 1e-6)
                and np.all(act <= np.asarray(lp.row_upper_) + 1e-6)
                and np.all(np.abs(x[model.is_int] - np.round(x[model.is_int])) <= INT_TOL))


def _cumulative_dispatch(model: _DayModel) -> list[tuple[tuple, list[int]]]:
    """Branching aggregates of the day model: per SOC class and reachable station except
    the class's first, the EVs dispatched there in hours 0..t (and per release class the
    EVs released in hours 0..t), as (key, columns summed).

    Why: the LP's fractional plans send a third of an EV to another station in one hour, and
    after a branch on that hour's count the LP moves the fraction to a neighbouring hour —
    branching on single counts enumerates those hours one by one (655 nodes for M2 on seed 1
    of the default instance). Each aggregate is integral in every plan, and once they all
    are, so is every count (a count is a difference of two of them; the class's first
    station takes the rest), so branching on them alone finds integral dispatch; branching
    on the day's total first settles "how many EVs go to station n" once for all hours
    (7 nodes on that day)."""
    first: dict[int, int] = {}
    for k in model.keys:
        if k[0] == "x":
            first[k[2]] = min(first.get(k[2], k[3]), k[3])
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for j, k in enumerate(model.keys):
        if k[0] == "x" and k[3] != first[k[2]]:
            groups.setdefault(("x", k[2], k[3]), []).append((k[1], j))
        elif k[0] == "rel":
            groups.setdefault(("rel", k[2]), []).append((k[1], j))
    out = []
    for g, cols in groups.items():
        cols.sort()
        out += [(("cum", t, *g), [j for _, j in cols[:i + 1]]) for i, (t, _) in enumerate(cols)]
    return out


def _reduced_cost_fixing(lb: float, room: float, d: np.ndarray, x: np.ndarray, lo: np.ndarray,
                         hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Reduced-cost fixing of integer columns at a node whose LP bound is ``lb``.

    LP duality: with reduced costs ``d`` of the node's optimal LP, every point of the
    node's region costs at least lb + sum_j d_j (x_j − bound_j) over the nonbasic columns.
    So a column at its lower bound with d_j > 0 cannot rise by more than room / d_j
    before the cost reaches lb + room (= the pruning cutoff), and one at its upper bound
    with d_j < 0 cannot fall by more than room / −d_j. Returns the tightened bounds (the
    children inherit them) and a lower bound on the cost of everything cut off (> lb +
    room, inf if nothing was), which the search keeps as the bound of a pruned region."""
    up = (d > 1e-7) & (x <= lo + 1e-9)
    step_up = np.floor(room / np.where(up, d, 1.0) + 1e-9)
    cut_up = up & (lo + step_up < hi)
    down = (d < -1e-7) & (x >= hi - 1e-9)
    step_down = np.floor(room / np.where(down, -d, 1.0) + 1e-9)
    cut_down = down & (hi - step_down > lo)
    if not (cut_up.any() or cut_down.any()):
        return lo, hi, np.inf
    new_lo, new_hi = lo.copy(), hi.copy()
    new_hi[cut_up] = lo[cut_up] + step_up[cut_up]
    new_lo[cut_down] = hi[cut_down] - step_down[cut_down]
    # the cheapest point cut off: one step beyond the new bound
    excluded = min(np.min(lb + d[cut_up] * (step_up[cut_up] + 1), initial=np.inf),
                   np.min(lb - d[cut_down] * (step_down[cut_down] + 1), initial=np.inf))
    return new_lo, new_hi, float(excluded)


def _branch_and_bound(model: _DayModel, deadline: float, mip_rel_gap: float,
                      starts: list[np.ndarray], basis=None,
                      node_limit: int | None = None, reduced_cost_fixing: bool = True) -> _Search:
    """LP-based branch and bound on HiGHS's dual simplex (each node re-solves from the
    previous node's basis after bound changes: a few ms per node).

    Branching: the LP gets one integer column per cumulative dispatch count
    (``_cumulative_dispatch``: EVs of a class sent to a station in hours 0..t, released EVs
    likewise) and branches on those first — the day's totals first, then the most
    fractional —, then on any other fractional count (lowest-first switches, then the
    rest) the earliest hour first, then the most fractional. With the dispatch integral
    the LP has been integral on every instance seen. (Default instance, seeds 0–9, M2 and
    M3: 147 nodes in all, 19 at most; latest hour first: 180 / 29; strong branching on the
    aggregates: fewer nodes but more LPs in all.) Node order: depth first (nearest rounding
    first) until a plan is found, then best bound first with plunging into the
    nearest-rounding child.

    Pruning: a node is pruned when its LP bound is within ``mip_rel_gap`` (relative) or
    ``MIP_ABS_GAP`` of the best plan (the cutoff). With a plan in hand each branched node
    also tightens its integer columns by reduced-cost fixing (``_reduced_cost_fixing``)
    for its subtree. The returned bound is the smallest of: the LP bounds of the nodes not
    explored, and the lower bounds of the regions cut off by fixing — so the gap is proven.
    The aggregate columns are the search's own: plans are returned on the model's columns.
    """
    import heapq
    import time

    import highspy

    n = model.lp.num_col_
    h = _lp_solver(model, deadline)
    h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                            np.array([highspy.HighsVarType.kContinuous] * n))
    if basis is not None:
        h.setBasis(basis)  # the aggregates added below become nonbasic, their rows basic
    lower = np.asarray(model.lp.col_lower_, dtype=float)
    upper = np.asarray(model.lp.col_upper_, dtype=float)
    cum = _cumulative_dispatch(model)
    if cum:  # column n + i = sum of its members (row: column − members = 0)
        na = len(cum)
        cum_hi = np.array([upper[m].sum() for _, m in cum])
        h.addCols(na, np.zeros(na), np.zeros(na), cum_hi, 0, np.array([], dtype=np.int32),
                  np.array([], dtype=np.int32), np.array([]))
        starts_r = np.cumsum([0] + [len(m) + 1 for _, m in cum[:-1]]).astype(np.int32)
        index = np.concatenate([[n + i, *m] for i, (_, m) in enumerate(cum)]).astype(np.int32)
        value = np.concatenate([[1.0] + [-1.0] * len(m) for _, m in cum])
        h.addRows(na, np.zeros(na), np.zeros(na), len(index), starts_r, index, value)
        lower, upper = np.concatenate([lower, np.zeros(na)]), np.concatenate([upper, cum_hi])
    keys = list(model.keys) + [k for k, _ in cum]
    is_int = np.concatenate([model.is_int, np.ones(len(cum), dtype=bool)])
    cost = np.concatenate([model.cost, np.zeros(len(cum))])
    offset = float(model.lp.offset_)
    ints = np.flatnonzero(is_int)
    ints32 = ints.astype(np.int32)
    base_lo, base_hi = lower[ints], upper[ints]
    group = {"cum": 0, "x": 1, "rel": 1, "z": 2}
    rank = np.array([group.get(k[0], 3) for k in keys])[ints]
    # order within a group: cumulative counts over the whole day first, then the most
    # fractional; other counts the earliest hour first (it shapes every later state)
    last = {k[2:]: k[1] for k, _ in cum}  # cum lists each group's hours in order
    prefer = np.array([float(k[1] == last[k[2:]]) if k[0] == "cum" else -float(k[1])
                       for k in keys])[ints]

    def extend(x: np.ndarray) -> np.ndarray:
        return np.concatenate([x, [x[m].sum() for _, m in cum]])

    best, best_x, from_start = np.inf, None, False
    for x in starts:
        val = float(cost[:n] @ x) + offset
        if val < best and _feasible(model, x):
            best, best_x, from_start = val, extend(x), True

    def cutoff() -> float:
        return best - max(mip_rel_gap * abs(best), MIP_ABS_GAP)

    cur_lo, cur_hi = base_lo, base_hi  # integer columns' bounds in HiGHS now

    def apply(lo: np.ndarray, hi: np.ndarray) -> None:
        nonlocal cur_lo, cur_hi
        ch = np.flatnonzero((lo != cur_lo) | (hi != cur_hi)).astype(np.int32)
        if len(ch):
            h.changeColsBounds(len(ch), ints32[ch], lo[ch], hi[ch])
        cur_lo, cur_hi = lo, hi

    heap: list = []      # (key, tie, parent LP bound, lower, upper, depth) of open nodes
    settled: list = []   # lower bounds of regions left out: pruned nodes, fixed-out ranges
    tie = 0
    nodes, lp_time, status = 0, 0.0, "Optimal"
    nxt = (-np.inf, base_lo, base_hi, 0)
    while nxt is not None or heap:
        if nxt is None:
            _, _, plb, lo, hi, depth = heapq.heappop(heap)
        else:
            (plb, lo, hi, depth), nxt = nxt, None
        if plb >= cutoff():
            settled.append(min(plb, best))
            continue
        if time.perf_counter() >= deadline or (node_limit is not None and nodes >= node_limit):
            heap.append((plb, tie, plb, lo, hi, depth))
            status = "Time limit reached" if time.perf_counter() >= deadline else "Node limit reached"
            break
        apply(lo, hi)
        # HiGHS's time limit counts its run time over every run() of this instance
        h.setOptionValue("time_limit", h.getRunTime() + max(deadline - time.perf_counter(), 0.01))
        t0 = time.perf_counter()
        h.run()
        if nodes == 0:
            lp_time = time.perf_counter() - t0
        nodes += 1
        st = h.getModelStatus()
        if st == highspy.HighsModelStatus.kInfeasible:
            continue
        if st != highspy.HighsModelStatus.kOptimal:
            # unsolved (time limit, numerics): keep its parent's bound, drop the subtree
            settled.append(min(plb, best))
            if time.perf_counter() >= deadline:
                status = "Time limit reached"
                break
            continue
        lb = h.getInfo().objective_function_value
        if lb >= cutoff():
            settled.append(min(lb, best))
            continue
        sol = h.getSolution()
        x = np.asarray(sol.col_value)
        xi = x[ints]
        frac = np.abs(xi - np.round(xi))
        bad = frac > INT_TOL
        if not bad.any():
            x = x.copy()
            x[is_int] = np.round(x[is_int])
            val = float(cost @ x) + offset
            if val < best:
                best, best_x, from_start = val, x, False
                heap = [(e[2], *e[1:]) for e in heap]  # best bound first from now on
                heapq.heapify(heap)
            continue
        if best_x is not None and reduced_cost_fixing:
            lo, hi, excluded = _reduced_cost_fixing(lb, cutoff() - lb, np.asarray(sol.col_dual)[ints],
                                                    xi, lo, hi)
            if np.isfinite(excluded):
                settled.append(min(excluded, best))
        top = rank[bad].min()
        j = int(np.argmax(np.where(bad & (rank == top), frac + 10.0 * prefer, -np.inf)))
        v = xi[j]
        down_hi, up_lo = hi.copy(), lo.copy()
        down_hi[j], up_lo[j] = np.floor(v), np.ceil(v)
        down, up = (lo, down_hi), (up_lo, hi)
        near, far = (down, up) if v - np.floor(v) < 0.5 else (up, down)
        tie += 1
        heapq.heappush(heap, (lb if best_x is not None else -(depth + 1), tie, lb, *far, depth + 1))
        nxt = (lb, *near, depth + 1)  # plunge
    open_lbs = [e[2] for e in heap] + ([nxt[0]] if nxt is not None else [])
    bound = min([best, *settled, *open_lbs])
    if best_x is None:
        status = "Infeasible" if status == "Optimal" else status
    elif status == "Optimal" and best - bound > max(mip_rel_gap * abs(best), MIP_ABS_GAP) + 1e-9:
        status = "Time limit reached"  # a node LP stopped by the time limit left a gap
    return _Search(best, None if best_x is None else best_x[:n], bound, nodes, lp_time, status,
                   from_start)


def _replays(instance: ExpresswayInstance, tab: dynamics.CostTables, plan: MILPPlan,
             stock: np.ndarray) -> bool:
    """Does the env, given the plan's actions, serve every EV and reach the plan's stock
    in every hour? (The MILP without lowest-first rows may hand out a higher-level battery
    than the env would.)"""
    state = dynamics.initial_state(instance)
    for t in range(instance.config.horizon_h):
        state, res = dynamics.step(instance, tab, state, plan.moves[t], plan.dispatch[t],
                                   plan.release[t])
        if (res.unserved.sum() or not np.array_equal(state.counts, stock[t + 1])
                or not np.array_equal(res.moves, plan.moves[t])
                or not np.array_equal(res.release_by_class, plan.release[t])):
            return False
    return True


def _plan(instance: ExpresswayInstance, tab: dynamics.CostTables, model: _DayModel,
          x: np.ndarray) -> tuple[MILPPlan, np.ndarray]:
    c = instance.config
    T, N, L = c.horizon_h, c.n_stations, c.n_levels
    moves = np.zeros((T, N, L, len(tab.rates)), dtype=np.int64)
    dispatch = np.zeros((T, len(instance.ev_levels), N), dtype=np.int64)
    rel = np.zeros((T, len(instance.release_levels)), dtype=np.int64)
    stock = np.zeros((T + 1, N, L), dtype=np.int64)
    stock[0] = instance.init_counts
    out = {"f": moves, "x": dispatch, "rel": rel, "s": stock}
    x = np.round(x)  # integral, and the stock columns are implied integral
    values = dict(zip(model.keys, map(float, x)))
    for key, v in values.items():
        arr = out.get(key[0])
        if arr is not None:
            arr[key[1:]] = v
    plan = MILPPlan(float(model.cost @ x + model.lp.offset_), moves, dispatch, rel, 0.0, 0.0,
                    values=values)
    return plan, stock


def _start_vector(model: _DayModel, plan: MILPPlan) -> np.ndarray:
    """A plan of a nested (smaller) setting as columns of this model: every shared
    variable keeps its value, the rest (donors, releases, switches) are zero."""
    x = np.array([plan.values.get(k, 0.0) for k in model.keys])
    for i, k in enumerate(model.keys):
        if k[0] == "z":  # switch on where a level above k[3] is handed out
            _, t, n, lv = k
            x[i] = float(any(plan.values.get(("w", t, n, u), 0.0) > 0
                             for u in range(lv + 1, model.n_levels)))
    return x


def solve_milp(instance: ExpresswayInstance, b2b: bool = True, release: bool = True,
               time_limit_s: float = 30.0, mip_rel_gap: float = 1e-4,
               warm_start: MILPPlan | str | None = "auto") -> MILPPlan:
    """Day optimum of the count model (perfect information), to within ``mip_rel_gap``.

    The model (``_day_model``) is the env's exactly: every degradation term is a constant
    per (level, move) arc, so nothing is linearised. The only modelling beyond the env's
    rules is that every EV must be served.

    Solved by our LP-based branch and bound on HiGHS (``_branch_and_bound``). Why not
    HiGHS's MIP: its LP bound is within ~0.02 % of the optimum, but in M2/M3 it spent
    seconds in root cut rounds that barely move the bound before its heuristics found a
    plan (3.7 s for M3 on seed 0, up to the 10 s limit). What is fractional in the LP is
    the dispatch (≈ 5 of 120 counts) and, through B2B's grid >= 0 rows, the flows it
    feeds; with the dispatch integral the LP is integral or nearly so. So we branch on
    the dispatch and releases — as cumulative counts per class and station, the day's
    total first (``_cumulative_dispatch``) — and re-solve each node's LP from the
    previous one's basis, fixing columns by reduced cost once a plan is known.

    M2/M3 first solve M1's LP (no B2B, no release; integral on every instance seen —
    then it is the M1 optimum and a feasible first plan, the feasible sets being nested)
    and start their root LP from its basis (≈ 3× fewer simplex iterations). The
    lowest-ready-first swap rule needs binaries (big-M); it is left out first and only
    added (and the search re-run) if the plan found does not replay exactly in the env.

    ``warm_start``: "auto" (the above), None (no starting plan) or a plan of a nested
    setting (M1 for M2, M2 for M3), also tried as the first plan. ``time_limit_s`` bounds
    the whole call; on a time-out the best plan found is returned with ``optimal=False``
    and its proven ``mip_gap``/``bound``; with no plan at all a ``RuntimeError`` is raised
    — there is no silent fallback.
    """
    import time

    import highspy

    start = time.perf_counter()
    deadline = start + float(time_limit_s)
    if isinstance(warm_start, str) and warm_start != "auto":
        raise ValueError(f"warm_start: 'auto', None or a MILPPlan, got {warm_start!r}")
    tab = dynamics.cost_tables(instance)
    build = lp_time = 0.0
    nodes = 0
    starts_plans: list[MILPPlan] = [warm_start] if isinstance(warm_start, MILPPlan) else []
    basis_src = None
    if b2b or release:
        # M1's LP: its basis starts the root LP; if integral it is the M1 optimum
        t0 = time.perf_counter()
        small = _day_model(instance, tab, False, False, False)
        build += time.perf_counter() - t0
        h1 = _lp_solver(small, deadline)
        n1 = small.lp.num_col_
        h1.changeColsIntegrality(n1, np.arange(n1, dtype=np.int32),
                                 np.array([highspy.HighsVarType.kContinuous] * n1))
        t0 = time.perf_counter()
        h1.run()
        lp_time += time.perf_counter() - t0
        if h1.getModelStatus() == highspy.HighsModelStatus.kOptimal:
            basis_src = (h1, small)
            x1 = np.asarray(h1.getSolution().col_value)
            frac = np.abs(x1 - np.round(x1))[small.is_int]
            if warm_start is not None and frac.max(initial=0.0) <= INT_TOL:
                p1, s1 = _plan(instance, tab, small, x1)
                if _replays(instance, tab, p1, s1):
                    starts_plans.append(p1)
    result = None
    for lowest_first in (False, True):
        t0 = time.perf_counter()
        model = _day_model(instance, tab, b2b, release, lowest_first)
        build += time.perf_counter() - t0
        basis = _basis_from(basis_src[0], basis_src[1], model) if basis_src else None
        starts = [_start_vector(model, p) for p in starts_plans]
        res = _branch_and_bound(model, deadline, mip_rel_gap, starts, basis)
        lp_time += res.lp_time_s
        nodes += res.nodes
        if res.x is None:
            break
        plan, stock = _plan(instance, tab, model, res.x)
        if lowest_first or _replays(instance, tab, plan, stock):
            result = (res, plan)
            break
    if result is None:
        status = res.status
        why = ("the MILP serves every EV and this instance cannot" if status == "Infeasible"
               else "pass warm_start (the M1 plan is feasible for M2/M3)")
        raise RuntimeError(f"MILP: no feasible plan within {time_limit_s} s ({status}): {why}")
    res, plan = result
    plan.bound = float(res.bound)
    plan.mip_gap = max(0.0, (plan.objective - res.bound) / max(abs(plan.objective), 1e-9))
    plan.status = res.status
    plan.optimal = res.status == "Optimal"
    plan.from_warm_start = bool(res.from_start and isinstance(warm_start, MILPPlan)
                                and abs(plan.objective - warm_start.objective) <= 1e-9 * max(1.0, abs(plan.objective)))
    plan.build_time_s, plan.lp_time_s, plan.nodes = build, lp_time, nodes
    plan.solve_time_s = time.perf_counter() - start
    return plan


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
        self.layout = ActionLayout(self.env.config, mode="moves")
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
        return _action(self.env, self.layout, p.moves[t], p.dispatch[t], p.release[t])


register(ENV_ID, "m1", lambda **kw: PSOPolicy(False, False, **kw), reference=True,
         description="paper M1: swap only; PSO dispatch + station power, Hungarian assignment")
register(ENV_ID, "m2", lambda **kw: PSOPolicy(True, False, **kw),
         description="paper M2: M1 + battery-to-battery")
register(ENV_ID, "m3", lambda **kw: PSOPolicy(True, True, **kw),
         description="paper M3: M2 + EV energy release")
register(ENV_ID, "greedy", GreedyPolicy, description="nearest station, uncontrolled charging")
register(ENV_ID, "oracle", lambda **kw: OraclePolicy(**kw), oracle=True,
         description="MILP day optimum on HiGHS (perfect information, M3 setting)")
