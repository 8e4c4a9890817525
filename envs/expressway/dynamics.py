"""State and transition rules of the Expressway day — the one physics that the env, the
PSO baselines and the MILP oracle all use.

Count model: a station's batteries are anonymous, so the state is how many batteries sit
at each SOC level (grid ``soc_step``). One hour, in this order:

1. **Charging / B2B** (middle level, eqs. 9–16): ``moves[n, l, r]`` batteries at level
   ``l`` move by ``RATES[r]`` SOC steps (−1 = B2B donor, +k = charging k steps, k ≥ 2
   fast charging). Grid energy = charged − discharged ≥ 0 (eq. 12: P_Grid ≥ 0, so
   discharged energy only feeds other batteries: B2B, no sale to the grid).
2. **Swaps** (lower level, eqs. 4–8, 17): EVs dispatched to a station (and EVs that
   released energy an hour earlier) take the lowest swap-ready batteries (SOC ≥
   SOC_max − SOC_dev) and leave theirs at their arrival level; with no ready battery
   left, an EV goes unserved.
3. **Release** (upper level, eqs. 18–22): invited high-SOC EVs at the release station
   hand in their battery and take one at the lowest level that still reaches the next
   station (eq. 22); they swap there next hour.

Costs per hour: power purchasing cost PPC = price · grid energy; battery degradation cost
BDC = Σ over moved batteries of α1·P^β1 (+ eq. (26) above P_ch,max) + Σ over all
batteries of α2·(1 − SOC)^β2 (eq. 11, SOC after charging); driving BDC of dispatched EVs
(eq. 5); unserved-EV penalty; and at the end the shortfall below ``terminal_soc``
(eq. 13, priced).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.instance import ExpresswayInstance


def rates(config: ExpresswayConfig) -> np.ndarray:
    """SOC steps per hour of each move column: (−1, 1, 2, …, max_charge_steps).

    The donor (−1) column exists only when one step per hour is within P_dis,max.
    """
    up = list(range(1, config.max_charge_steps + 1))
    down = [-1] if config.step_kwh / config.dt_h <= config.p_dis_max_kw + 1e-9 else []
    return np.array(down + up, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class CostTables:
    """Per-unit costs precomputed from the config ($).

    move_cost (L, R): degradation of one battery at level l moving RATES[r] steps (α1·P^β1
    plus eq. (26) fast-charging extra), inf where the move leaves [SOC_min, SOC_max].
    storage_cost (L,): α2·(1 − SOC)^β2 of one battery at level l for one hour.
    drive_cost (C, N_B): eq. (5) BDC of an EV of class c driving to station n.
    drive_cost_release: eq. (5) BDC of a released EV driving to the next station.
    """

    rates: np.ndarray
    move_cost: np.ndarray
    storage_cost: np.ndarray
    drive_cost: np.ndarray
    drive_cost_release: float
    # derived once so that ``step`` stays lean
    feasible: np.ndarray = field(default=None, repr=False)      # (L, R) int 0/1
    move_cost_0: np.ndarray = field(default=None, repr=False)   # (L, R) move_cost, 0 if inf
    up: np.ndarray = field(default=None, repr=False)            # (R,) charge steps
    down: np.ndarray = field(default=None, repr=False)          # (R,) donated steps
    donor_col: int = -1
    reach: np.ndarray = field(default=None, repr=False)         # (C, N_B) bool, eq. (8)
    nearest: np.ndarray = field(default=None, repr=False)       # (C,) nearest reachable
    arrive_level: np.ndarray = field(default=None, repr=False)  # (C, N_B) level on arrival


def degradation_power_cost(config: ExpresswayConfig, power_kw: float) -> float:
    """α1·|P|^β1 per hour (eq. 11), plus eq. (26) above P_ch,max (read as an extra cost)."""
    c = config
    p = abs(power_kw)
    cost = c.alpha1 * p ** c.beta1
    if power_kw > c.p_ch_max_kw:
        cost += c.alpha1 * c.p_ch_max_kw ** c.beta1 * (power_kw - c.p_ch_max_kw) / c.p_ch_max_kw
    return cost * c.dt_h


def cost_tables(instance: ExpresswayInstance) -> CostTables:
    c = instance.config
    r = rates(c)
    lv = np.arange(c.n_levels)
    soc = c.soc_min + lv * c.soc_step
    move = np.empty((c.n_levels, len(r)))
    for j, k in enumerate(r):
        move[:, j] = degradation_power_cost(c, k * c.step_kwh / c.dt_h)
        move[(lv + k < 0) | (lv + k >= c.n_levels), j] = np.inf
    storage = c.alpha2 * (1.0 - soc) ** c.beta2 * c.dt_h
    # eq. (5): driving at v_max draws P = v_max·ψ; SOC taken halfway along the trip.
    p_drive = c.v_max_kmh * c.psi_kwh_per_km
    drive = np.zeros((len(instance.ev_levels), c.n_stations))
    for ci, lev in enumerate(instance.ev_levels):
        for n, km in enumerate(c.station_km):
            hours = km / c.v_max_kmh
            soc_mid = c.soc_min + (lev - instance.drive_steps[n] / 2) * c.soc_step
            drive[ci, n] = hours * (c.alpha1 * p_drive ** c.beta1 + c.alpha2 * (1 - soc_mid) ** c.beta2)
    rs = c.release_station
    gap = (c.station_km[rs + 1] - c.station_km[rs]) if c.n_stations > 1 else 0.0
    take = release_take_level(instance)
    soc_mid = c.soc_min + (take - c.drive_steps(gap) / 2) * c.soc_step
    drive_rel = gap / c.v_max_kmh * (c.alpha1 * p_drive ** c.beta1 + c.alpha2 * (1 - soc_mid) ** c.beta2)
    feasible = np.isfinite(move)
    reach = reachable(instance)
    donor = np.flatnonzero(r < 0)
    return CostTables(
        r, move, storage, drive, float(drive_rel),
        feasible=feasible.astype(np.int64), move_cost_0=np.where(feasible, move, 0.0),
        up=np.maximum(r, 0), down=np.maximum(-r, 0),
        donor_col=int(donor[0]) if len(donor) else -1, reach=reach,
        nearest=np.argmax(reach, axis=1),
        arrive_level=instance.ev_levels[:, None] - instance.drive_steps[None, :])


def release_take_level(instance: ExpresswayInstance) -> int:
    """Lowest level a released EV may take: enough to reach the next station (eq. 22)."""
    c = instance.config
    if c.n_stations < 2:
        return 0
    rs = c.release_station
    return c.drive_steps(c.station_km[rs + 1] - c.station_km[rs])


def reachable(instance: ExpresswayInstance) -> np.ndarray:
    """(C, N_B) bool: class c reaches station n with SOC ≥ SOC_min (eq. 8)."""
    return instance.ev_levels[:, None] - instance.drive_steps[None, :] >= 0


@dataclass
class ExpresswayState:
    """Per-hour state. t: hour index. counts (N_B, L) int: batteries per SOC level.
    incoming (N_B, L) int: released EVs due to swap at each station this hour, by arrival
    level. served_total / unserved_total / released_total: running counts."""

    t: int
    counts: np.ndarray
    incoming: np.ndarray
    served_total: int = 0
    unserved_total: int = 0
    released_total: int = 0

    def copy(self) -> ExpresswayState:
        return ExpresswayState(self.t, self.counts.copy(), self.incoming.copy(),
                               self.served_total, self.unserved_total, self.released_total)


def initial_state(instance: ExpresswayInstance) -> ExpresswayState:
    c = instance.config
    return ExpresswayState(0, np.array(instance.init_counts, dtype=np.int64),
                           np.zeros((c.n_stations, c.n_levels), dtype=np.int64))


@dataclass
class HourResult:
    """What one hour did, per station (arrays of length N_B) and in total ($, kWh)."""

    ppc: np.ndarray
    bdc: np.ndarray              # station BDC: moves + storage
    grid_kwh: np.ndarray
    b2b_kwh: np.ndarray
    served: np.ndarray
    unserved: np.ndarray
    dispatched: np.ndarray
    released: int
    released_kwh: float
    bdc_driving: float
    unserved_penalty: float
    terminal_penalty: float = 0.0
    terminal_shortfall_kwh: float = 0.0
    moves: np.ndarray = field(default_factory=lambda: np.zeros(0))  # executed (after clamps)
    release_by_class: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cost(self) -> float:
        return float(self.ppc.sum() + self.bdc.sum() + self.bdc_driving + self.unserved_penalty
                     + self.terminal_penalty)


def clamp_moves(counts: np.ndarray, moves: np.ndarray, tables: CostTables) -> np.ndarray:
    """Executable moves: per (station, level) no more batteries than present (columns in
    order), none off the SOC range, and discharge ≤ charge energy per station (eq. 12)."""
    moves = np.asarray(moves, dtype=np.int64)
    if moves.min(initial=0) < 0:
        moves = np.maximum(moves, 0)
    moves = moves * tables.feasible  # a new array: the caller's is never modified
    if (moves.sum(axis=2) > counts).any():
        cum = np.minimum(np.cumsum(moves, axis=2), counts[:, :, None])
        moves = np.diff(cum, axis=2, prepend=0)
    j = tables.donor_col
    if j >= 0:
        net = moves @ tables.rates  # (N, L) charged − donated steps
        net = net.sum(axis=1)
        for n in np.flatnonzero(net < 0):
            excess = int(-net[n])
            # drop donors from the highest levels first (keep the lowest as donors)
            for lv in range(moves.shape[1] - 1, -1, -1):
                d = min(excess, int(moves[n, lv, j]))
                moves[n, lv, j] -= d
                excess -= d
                if excess == 0:
                    break
    return moves


def apply_moves(counts: np.ndarray, moves: np.ndarray, r: np.ndarray) -> np.ndarray:
    out = counts - moves.sum(axis=2)
    n_levels = counts.shape[1]
    for j, k in enumerate(r):
        if k > 0:
            out[:, k:] += moves[:, : n_levels - k, j]
        else:
            out[:, :k] += moves[:, -k:, j]
    return out


def clamp_dispatch(instance: ExpresswayInstance, t: int, dispatch: np.ndarray,
                   tables: CostTables | None = None) -> np.ndarray:
    """(C, N_B) executable dispatch: unreachable stations get none, requests are honoured
    station by station up to the class's arrivals, and EVs not dispatched anywhere go
    to the nearest station (station 0 is reachable by every class at the default)."""
    arrivals = instance.arrivals[t]
    reach = reachable(instance) if tables is None else tables.reach
    nearest = np.argmax(reach, axis=1) if tables is None else tables.nearest
    d = np.where(reach, np.asarray(dispatch, dtype=np.int64), 0)
    if d.min(initial=0) < 0:
        d = np.maximum(d, 0)
    if (d.sum(axis=1) > arrivals).any():
        cum = np.minimum(np.cumsum(d, axis=1), arrivals[:, None])
        d = np.diff(cum, axis=1, prepend=0)
    rest = arrivals - d.sum(axis=1)
    d[np.arange(len(arrivals)), nearest] += rest
    return d


def step(instance: ExpresswayInstance, tables: CostTables, state: ExpresswayState,
         moves: np.ndarray, dispatch: np.ndarray, release: np.ndarray) -> tuple[ExpresswayState, HourResult]:
    """One hour. Inputs are clamped to what is executable (see each clamp's doc); the
    returned ``HourResult.moves`` / ``release_by_class`` are what actually happened."""
    c = instance.config
    t = state.t
    price = instance.price_per_kwh[t]
    r = tables.rates
    counts = state.counts
    n_st, n_lv = counts.shape

    # 1. charging and B2B (eqs. 9–16)
    moves = clamp_moves(counts, np.reshape(moves, (n_st, n_lv, len(r))), tables)
    per_station = moves.sum(axis=1)                      # (N, R)
    charged_steps = per_station @ tables.up
    donated_steps = per_station @ tables.down
    grid_kwh = (charged_steps - donated_steps) * c.step_kwh
    after = apply_moves(counts, moves, r)
    bdc = (moves * tables.move_cost_0).sum(axis=(1, 2)) + after @ tables.storage_cost
    ppc = price * grid_kwh

    # 2. swaps (eqs. 4–8, 17): released EVs from last hour first, then dispatched classes;
    # EVs take the lowest swap-ready batteries
    disp = clamp_dispatch(instance, t, dispatch, tables)
    served = np.zeros(n_st, dtype=np.int64)
    unserved = np.zeros(n_st, dtype=np.int64)
    ready_lv = c.ready_level
    incoming_all = state.incoming
    # plain Python ints below: the arrays are tiny and numpy's per-call overhead dominates
    n_inc = incoming_all.sum(axis=1).tolist()
    disp_l = disp.T.tolist()                       # (N, C)
    arrive = tables.arrive_level.T.tolist()        # (N, C)
    ready_avail = after[:, ready_lv:].sum(axis=1).tolist()
    for n in range(n_st):
        want = n_inc[n] + sum(disp_l[n])
        if want == 0:
            continue
        row = after[n]
        k = min(want, ready_avail[n])
        left = k
        lv = ready_lv
        while left:
            x = min(left, int(row[lv]))
            row[lv] -= x
            left -= x
            lv += 1
        if k == want:
            if n_inc[n]:
                row += incoming_all[n]
            for lv, cnt in zip(arrive[n], disp_l[n]):
                row[lv] += cnt
        else:
            # released EVs (incoming) are served before dispatched ones, lowest level first
            by_level = [0] * n_lv
            for lv, cnt in zip(arrive[n], disp_l[n]):
                by_level[lv] += cnt
            left = k
            for src in (incoming_all[n].tolist(), by_level):
                for lv in range(n_lv):
                    if not left:
                        break
                    x = min(left, src[lv])
                    row[lv] += x
                    left -= x
        served[n], unserved[n] = k, want - k

    # 3. release at the release station (eqs. 18–22)
    n_rel = len(instance.release_levels)
    rel = np.zeros(n_rel, dtype=np.int64)
    incoming = np.zeros_like(incoming_all)
    released_kwh = 0.0
    if c.n_stations > 1 and t < c.horizon_h - 1:
        rs = c.release_station
        lo = release_take_level(instance)
        want = np.minimum(np.maximum(np.asarray(release, dtype=np.int64), 0),
                          instance.release_candidates[t])
        left = int(after[rs, lo])
        for m in range(n_rel):
            rel[m] = min(left, int(want[m]))
            left -= rel[m]
        total = int(rel.sum())
        if total:
            after[rs, lo] -= total
            np.add.at(after[rs], instance.release_levels, rel)
            released_kwh = float(((instance.release_levels - lo) * rel).sum() * c.step_kwh)
            gap_steps = c.drive_steps(c.station_km[rs + 1] - c.station_km[rs])
            incoming[rs + 1, lo - gap_steps] = total

    n_released = int(rel.sum())
    bdc_driving = float((disp * tables.drive_cost).sum() + n_released * tables.drive_cost_release)
    n_unserved = int(unserved.sum())
    result = HourResult(
        ppc=ppc, bdc=bdc, grid_kwh=grid_kwh.astype(float), b2b_kwh=donated_steps * c.step_kwh * 1.0,
        served=served, unserved=unserved, dispatched=disp.sum(axis=0), released=n_released,
        released_kwh=released_kwh, bdc_driving=bdc_driving,
        unserved_penalty=float(n_unserved * c.unserved_penalty_usd),
        moves=moves, release_by_class=rel)
    new = ExpresswayState(t + 1, after, incoming, state.served_total + int(served.sum()),
                          state.unserved_total + n_unserved, state.released_total + n_released)
    if new.t >= c.horizon_h:
        short = terminal_shortfall_kwh(c, after)
        result.terminal_shortfall_kwh = short
        result.terminal_penalty = short * c.terminal_price
    return new, result


def terminal_shortfall_kwh(config: ExpresswayConfig, counts: np.ndarray) -> float:
    """kWh needed to lift every battery to ``terminal_soc`` (eq. 13)."""
    gap = np.maximum(config.terminal_level - np.arange(config.n_levels), 0)
    return float((counts @ gap).sum() * config.step_kwh)


def release_savings(instance: ExpresswayInstance, tables: CostTables,
                    actions: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    played: list[tuple[ExpresswayState, HourResult]] | None = None) -> np.ndarray:
    """(T,) R_BSS of eq. (19), per hour of release: the day's cost replayed with that
    hour's releases removed (every other requested action unchanged, clamped as usual)
    minus the day's cost with them ($). Zero in hours without releases. Eq. (18) pays the
    released EVs λ·R_BSS in total; the paper requires R_BSS > 0, we report it as it comes
    out (a release that does not pay off has R_BSS ≤ 0).

    ``played[t]`` = (state at the start of hour t, the hour's result) as the day was played
    (the env keeps them); without it the day is replayed first. Each counterfactual starts
    at its hour, since earlier hours are unchanged.
    """
    if played is None:
        played, state = [], initial_state(instance)
        for moves, dispatch, release in actions:
            new, res = step(instance, tables, state, moves, dispatch, release)
            played.append((state, res))
            state = new
    costs = np.array([res.cost for _, res in played])
    out = np.zeros(instance.config.horizon_h)
    for t, (state, res) in enumerate(played):
        if res.released == 0:
            continue
        total = 0.0
        for k in range(t, len(actions)):
            if k > t and k < len(played) and _same_stock(state, played[k][0]):
                total += costs[k:].sum()  # back on the played path: the rest is identical
                break
            moves, dispatch, release = actions[k]
            if k == t:
                release = np.zeros_like(release)
            state, r = step(instance, tables, state, moves, dispatch, release)
            total += r.cost
        out[t] = total - costs[t:].sum()
    return out


def _same_stock(a: ExpresswayState, b: ExpresswayState) -> bool:
    return np.array_equal(a.counts, b.counts) and np.array_equal(a.incoming, b.incoming)
