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
    drive_cost_release: np.ndarray


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
    return CostTables(r, move, storage, drive, float(drive_rel))


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
    moves = np.where(np.isfinite(tables.move_cost)[None], np.maximum(moves, 0), 0).astype(np.int64)
    cum = np.cumsum(moves, axis=2)
    cum = np.minimum(cum, counts[:, :, None])
    moves = np.diff(cum, axis=2, prepend=0)
    r = tables.rates
    down = r < 0
    if down.any():
        charge = (moves[:, :, ~down] * r[~down]).sum(axis=(1, 2))
        discharge = -(moves[:, :, down] * r[down]).sum(axis=(1, 2))
        for n in np.flatnonzero(discharge > charge):
            excess = discharge[n] - charge[n]
            # drop donors from the highest levels first (keep the lowest as donors)
            for lv in range(moves.shape[1] - 1, -1, -1):
                d = min(excess, moves[n, lv, down].sum())
                moves[n, lv, np.flatnonzero(down)[0]] -= d
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


def clamp_dispatch(instance: ExpresswayInstance, t: int, dispatch: np.ndarray) -> np.ndarray:
    """(C, N_B) executable dispatch: unreachable stations get none, requests are honoured
    station by station up to the class's arrivals, and EVs not dispatched anywhere go
    to the nearest station (station 0 is reachable by every class at the default)."""
    arrivals = instance.arrivals[t]
    reach = reachable(instance)
    d = np.where(reach, np.maximum(np.asarray(dispatch, dtype=np.int64), 0), 0)
    cum = np.minimum(np.cumsum(d, axis=1), arrivals[:, None])
    d = np.diff(cum, axis=1, prepend=0)
    rest = arrivals - d.sum(axis=1)
    nearest = np.argmax(reach, axis=1)
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

    # 1. charging and B2B
    moves = clamp_moves(counts, np.asarray(moves).reshape((*counts.shape, len(r))), tables)
    up = np.where(r > 0, r, 0)
    down = np.where(r < 0, -r, 0)
    charged_steps = (moves * up).sum(axis=(1, 2))
    donated_steps = (moves * down).sum(axis=(1, 2))
    grid_kwh = (charged_steps - donated_steps) * c.step_kwh
    after = apply_moves(counts, moves, r)
    move_cost = np.where(moves > 0, moves * np.where(np.isfinite(tables.move_cost), tables.move_cost, 0.0), 0.0)
    bdc = move_cost.sum(axis=(1, 2)) + after @ tables.storage_cost
    ppc = price * grid_kwh

    # 2. swaps: released EVs from last hour first, then dispatched classes in order
    disp = clamp_dispatch(instance, t, dispatch)
    n_st, n_lv = counts.shape
    served = np.zeros(n_st, dtype=np.int64)
    unserved = np.zeros(n_st, dtype=np.int64)
    ready_lv = c.ready_level
    for n in range(n_st):
        demand = state.incoming[n].copy()
        for ci, lev in enumerate(instance.ev_levels):
            if disp[ci, n]:
                demand[lev - instance.drive_steps[n]] += disp[ci, n]
        want = int(demand.sum())
        if want == 0:
            continue
        ready = after[n, ready_lv:]
        avail = int(ready.sum())
        k = min(want, avail)
        # lowest ready levels first
        take = np.diff(np.minimum(np.cumsum(ready), k), prepend=0)
        after[n, ready_lv:] -= take
        if k < want:
            # released EVs (incoming) are served before dispatched ones, in list order
            order = np.concatenate([np.repeat(np.arange(n_lv), state.incoming[n]),
                                    np.repeat(np.arange(n_lv), demand - state.incoming[n])])
            returned = np.bincount(order[:k], minlength=n_lv)
        else:
            returned = demand
        after[n] += returned
        served[n], unserved[n] = k, want - k

    # 3. release at the release station
    rel = np.zeros(len(instance.release_levels), dtype=np.int64)
    incoming = np.zeros_like(state.incoming)
    released_kwh = 0.0
    if c.n_stations > 1 and t < c.horizon_h - 1:
        rs = c.release_station
        lo = release_take_level(instance)
        rel = np.minimum(np.maximum(np.asarray(release, dtype=np.int64), 0), instance.release_candidates[t])
        cum = np.minimum(np.cumsum(rel), after[rs, lo])
        rel = np.diff(cum, prepend=0)
        total = int(rel.sum())
        if total:
            after[rs, lo] -= total
            np.add.at(after[rs], instance.release_levels, rel)
            released_kwh = float(((instance.release_levels - lo) * rel).sum() * c.step_kwh)
            gap_steps = c.drive_steps(c.station_km[rs + 1] - c.station_km[rs])
            incoming[rs + 1, lo - gap_steps] = total

    bdc_driving = float((disp * tables.drive_cost).sum() + rel.sum() * tables.drive_cost_release)
    result = HourResult(
        ppc=ppc, bdc=bdc, grid_kwh=grid_kwh.astype(float), b2b_kwh=donated_steps * c.step_kwh * 1.0,
        served=served, unserved=unserved, dispatched=disp.sum(axis=0), released=int(rel.sum()),
        released_kwh=released_kwh, bdc_driving=bdc_driving,
        unserved_penalty=float(unserved.sum() * c.unserved_penalty_usd),
        moves=moves, release_by_class=rel)
    new = ExpresswayState(t + 1, after, incoming, state.served_total + int(served.sum()),
                          state.unserved_total + int(unserved.sum()),
                          state.released_total + int(rel.sum()))
    if new.t >= c.horizon_h:
        short = terminal_shortfall_kwh(c, after)
        result.terminal_shortfall_kwh = short
        result.terminal_penalty = short * c.terminal_price
    return new, result


def terminal_shortfall_kwh(config: ExpresswayConfig, counts: np.ndarray) -> float:
    """kWh needed to lift every battery to ``terminal_soc`` (eq. 13)."""
    gap = np.maximum(config.terminal_level - np.arange(config.n_levels), 0)
    return float((counts @ gap).sum() * config.step_kwh)
