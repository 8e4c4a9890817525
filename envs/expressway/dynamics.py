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

The hour is written once, as loops over stations, levels and move columns compiled by
numba (:func:`_hour_row`; the arrays are tiny, so numpy's per-call overhead was the whole
cost). :func:`step_batch` steps a batch of days with it — :func:`step` is its one-day case
(planners), the vector env N days — and :class:`Counterfactuals` the played days together
with eq. (19)'s counterfactual days, in one compiled call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numba import njit

from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.instance import ExpresswayInstance


def rates(config: ExpresswayConfig) -> np.ndarray:
    """SOC steps per hour of each move column: (−1, 1, 2, …, max_charge_steps).

    The donor (−1) column exists only when one step per hour is within P_dis,max.
    """
    up = list(range(1, config.max_charge_steps + 1))
    down = [-1] if config.step_kwh / config.dt_h <= config.p_dis_max_kw + 1e-9 else []
    return np.array(down + up, dtype=np.int64)


class HourTables(NamedTuple):
    """What the compiled hour reads of an instance (one argument for numba): feasible (L,
    R) bool: the move stays in [SOC_min, SOC_max]; rates (R,) SOC steps per move column;
    donor_col: the B2B donor column (−1: none); move_cost (L, R) $ (0 where infeasible);
    storage_cost (L,) $; terminal_gap (L,) steps below terminal_soc; drive_cost (C, N_B)
    and drive_release $ (eq. 5); arrive_level (C, N_B) (0 where unreachable);
    release_levels (M,); reach (C, N_B) bool (eq. 8) and nearest (C,) reachable station;
    ready: lowest swap-ready level; release_station; take: the level a released EV takes
    (eq. 22); arrive_release: its level at the next station; step_kwh; unserved_penalty
    $ per EV; terminal_price $/kWh."""

    feasible: np.ndarray
    rates: np.ndarray
    donor_col: int
    move_cost: np.ndarray
    storage_cost: np.ndarray
    terminal_gap: np.ndarray
    drive_cost: np.ndarray
    drive_release: float
    arrive_level: np.ndarray
    release_levels: np.ndarray
    reach: np.ndarray
    nearest: np.ndarray
    ready: int
    release_station: int
    take: int
    arrive_release: int
    step_kwh: float
    unserved_penalty: float
    terminal_price: float


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
    donor_col: int = -1
    reach: np.ndarray = field(default=None, repr=False)         # (C, N_B) bool, eq. (8)
    nearest: np.ndarray = field(default=None, repr=False)       # (C,) nearest reachable
    arrive_level: np.ndarray = field(default=None, repr=False)  # (C, N_B) level on arrival
    reach_int: np.ndarray = field(default=None, repr=False)     # (C, N_B) int reach
    # the constant arguments of the compiled hour (``_hour_rows``), and its "no release"
    hour: HourTables | None = field(default=None, repr=False)
    sizes: tuple = ()                                             # (N_B, L, R, M) of the outputs
    no_release: np.ndarray = field(default=None, repr=False)     # (1, M) int zeros


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
    donor_col = int(donor[0]) if len(donor) else -1
    move_cost_0 = np.where(feasible, move, 0.0)
    arrive_level = instance.ev_levels[:, None] - instance.drive_steps[None, :]
    terminal_gap = np.maximum(c.terminal_level - lv, 0)
    arrive_rel = take - c.drive_steps(gap)
    nearest = np.argmax(reach, axis=1)
    hour = HourTables(
        feasible=feasible, rates=r, donor_col=donor_col, move_cost=move_cost_0,
        storage_cost=storage, terminal_gap=terminal_gap, drive_cost=drive,
        drive_release=float(drive_rel), arrive_level=np.where(reach, arrive_level, 0),
        release_levels=np.asarray(instance.release_levels, dtype=np.int64),
        reach=reach, nearest=nearest, ready=c.ready_level,
        release_station=c.release_station, take=take, arrive_release=arrive_rel,
        step_kwh=c.step_kwh, unserved_penalty=float(c.unserved_penalty_usd),
        terminal_price=float(c.terminal_price))
    return CostTables(
        r, move, storage, drive, float(drive_rel),
        feasible=feasible.astype(np.int64),
        donor_col=donor_col, reach=reach,
        nearest=nearest, arrive_level=arrive_level,
        reach_int=reach.astype(np.int64),
        hour=hour, sizes=(c.n_stations, c.n_levels, len(r), len(instance.release_levels)),
        no_release=np.zeros((1, len(instance.release_levels)), dtype=np.int64))


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
    if tables is None:
        tables = cost_tables(instance)
    d = np.maximum(np.asarray(dispatch, dtype=np.int64), 0)
    return _clamp_dispatch(tables, instance.arrivals[t], d)


def _clamp_dispatch(tables: CostTables, arrivals: np.ndarray, dispatch: np.ndarray) -> np.ndarray:
    """``clamp_dispatch`` for dispatch requests (..., C, N_B) ≥ 0 and arrivals (..., C)."""
    if dispatch.shape[-2:] != tables.drive_cost.shape or arrivals.shape[-1] != dispatch.shape[-2]:
        raise ValueError(f"dispatch: expected shape (..., {', '.join(map(str, tables.drive_cost.shape))}) "
                         f"with arrivals (..., {tables.drive_cost.shape[0]}), got {dispatch.shape} "
                         f"and {arrivals.shape}")
    out = _clamp_dispatch_rows(_ints(arrivals.reshape(-1, arrivals.shape[-1])),
                               _ints(dispatch.reshape(-1, *dispatch.shape[-2:])),
                               tables.reach, tables.nearest)
    return out.reshape(dispatch.shape)


@njit(cache=True)
def _clamp_dispatch_rows(arrivals, requests, reach, nearest):  # pragma: no cover
    """arrivals (B, C), requests (B, C, N) -> executable (B, C, N) (``_clamp_dispatch_row``)."""
    out = np.zeros(requests.shape, dtype=np.int64)
    for b in range(requests.shape[0]):
        _clamp_dispatch_row(arrivals[b], requests[b], reach, nearest, out[b])
    return out


@njit(cache=True)
def _clamp_dispatch_row(arrivals, requests, reach, nearest, out):  # pragma: no cover
    """Per class c, the requests (C, N) at reachable stations in station order up to the
    arrivals (C,), the rest at the nearest station, into ``out`` (C, N)."""
    n_cls, n_st = requests.shape
    for c in range(n_cls):
        left = arrivals[c]
        for n in range(n_st):
            k = min(requests[c, n], left) if reach[c, n] else 0
            out[c, n] = k
            left -= k
        out[c, nearest[c]] += left


def release_open(config: ExpresswayConfig, t: int) -> bool:
    """EVs may release in hour ``t``: there is a next station to refill at and a next hour
    to refill in."""
    return config.n_stations > 1 and t < config.horizon_h - 1


def release_request(instance: ExpresswayInstance, t: int, release: np.ndarray) -> np.ndarray | None:
    """(M,) releases requested in hour ``t`` capped by the hour's candidates (eq. 20), or
    None when no EV can release (``release_open``)."""
    c = instance.config
    if not release_open(c, t):
        return None
    return np.minimum(np.maximum(np.asarray(release, dtype=np.int64), 0),
                      instance.release_candidates[t])


# rows of BatchHour.station ($, kWh per station) and BatchHour.evs (EVs per station)
PPC, BDC, B2B_KWH, GRID_KWH = range(4)
SERVED, UNSERVED, DISPATCHED = range(3)
# columns of a day's ``day`` output (``_hour_row``)
RELEASED_KWH, BDC_DRIVING, UNSERVED_PENALTY, COST, SHORTFALL_KWH, TERMINAL_PENALTY = range(6)


@dataclass
class BatchHour:
    """One hour of B days stepped together (``step_batch``).

    station (B, 4, N_B) float: PPC, BDC (moves + storage), B2B kWh, grid kWh per station.
    evs (B, 3, N_B) int: EVs served, unserved, dispatched per station. station_sum (B, 4)
    and evs_sum (B, 3): their sums over stations. stock (B, 2, N_B, L) int: the states after
    the hour, ``counts`` (stock[:, 0]) and ``incoming`` (stock[:, 1]); moves (B, N_B, L, R)
    int / release (B, M): what was executed. Per day (B,):
    released, released_kwh, bdc_driving, unserved_penalty, cost, and at the last hour
    terminal_shortfall_kwh / terminal_penalty (None before).
    """

    moves: np.ndarray
    stock: np.ndarray
    station: np.ndarray
    evs: np.ndarray
    station_sum: np.ndarray
    evs_sum: np.ndarray
    release: np.ndarray
    released: np.ndarray
    released_kwh: np.ndarray
    bdc_driving: np.ndarray
    unserved_penalty: np.ndarray
    cost: np.ndarray
    terminal_shortfall_kwh: np.ndarray | None = None
    terminal_penalty: np.ndarray | None = None

    @property
    def counts(self) -> np.ndarray:
        return self.stock[:, 0]

    @property
    def incoming(self) -> np.ndarray:
        return self.stock[:, 1]

    def result(self, b: int) -> HourResult:
        """Day ``b``'s hour as a :class:`HourResult` (its arrays are views of this batch's)."""
        s, e = self.station[b], self.evs[b]
        res = HourResult(
            ppc=s[PPC], bdc=s[BDC], grid_kwh=s[GRID_KWH], b2b_kwh=s[B2B_KWH],
            served=e[SERVED], unserved=e[UNSERVED], dispatched=e[DISPATCHED],
            released=int(self.released[b]), released_kwh=float(self.released_kwh[b]),
            bdc_driving=float(self.bdc_driving[b]), unserved_penalty=float(self.unserved_penalty[b]),
            moves=self.moves[b], release_by_class=self.release[b])
        if self.terminal_penalty is not None:
            res.terminal_penalty = float(self.terminal_penalty[b])
            res.terminal_shortfall_kwh = float(self.terminal_shortfall_kwh[b])
        return res


def step_batch(tables: CostTables, config: ExpresswayConfig, t: int | np.ndarray, price: float,
               counts: np.ndarray, incoming: np.ndarray, moves: np.ndarray,
               dispatch: np.ndarray, release: np.ndarray | None) -> BatchHour:
    """Hour ``t`` of B days at once — the transition of :func:`step` on a leading batch
    axis (the env, its counterfactual days and the vector env all use it).

    counts, incoming (B, N_B, L) int: states at the start of the hour. moves (B or 1,
    N_B, L, R) int ≥ 0 as requested (clamped here). dispatch (B or 1, C, N_B): executable
    (``clamp_dispatch``). release (B or 1, M): requested releases capped by the hour's
    candidates (``release_request``), None when none is possible. t: the hour, or (B,)
    hours of days at different hours (it decides which days end). price: the hour's $/kWh
    (scalar, or (B, 1) for days at different hours or prices).

    The rules run in :func:`_hour_rows`, loops over the rows compiled by numba: the
    arrays are tiny, and numpy's per-call overhead made a numpy version of the hour cost
    ~40 calls (~150 µs) however it was written.
    """
    _check_batch(tables, counts, incoming, moves, dispatch, release)
    last = np.greater_equal(np.add(t, 1), config.horizon_h)
    out = _outputs(len(counts), *tables.sizes)
    _hour_rows(_ints(counts), _ints(incoming), _ints(moves), _ints(dispatch),
               tables.no_release if release is None else _ints(release),
               np.asarray(price, dtype=np.float64).reshape(-1), last.reshape(-1),
               tables.hour, out)
    return _batch_hour(*out, bool(last.any()))


def _batch_hour(m, stock, station, evs, station_sum, evs_sum, rel, released, day, any_last):
    day = day.T
    hour = BatchHour(m, stock, station, evs, station_sum, evs_sum, rel, released,
                     day[0], day[1], day[2], day[3])
    if any_last:  # eq. (13): every battery at terminal_soc at the end, priced
        hour.terminal_shortfall_kwh, hour.terminal_penalty = day[4], day[5]
    return hour


def _check_batch(tables: CostTables, counts: np.ndarray, incoming: np.ndarray, moves: np.ndarray,
                 dispatch: np.ndarray, release: np.ndarray | None) -> None:
    """ValueError unless the arrays have the shapes the compiled hour indexes blindly (it
    does no bounds checks): counts/incoming (B, N_B, L), moves (B or 1, N_B, L, R),
    dispatch (B or 1, C, N_B), release (B or 1, M) — or None, and None with one station."""
    n_st, n_lv, n_r, n_rel = tables.sizes
    n_b = len(counts)
    want = {"counts": (counts, (n_st, n_lv)), "incoming": (incoming, (n_st, n_lv)),
            "moves": (moves, (n_st, n_lv, n_r)), "dispatch": (dispatch, (tables.drive_cost.shape[0], n_st))}
    if release is not None:
        if n_st < 2:
            raise ValueError("release: one station, no EV can release (pass None)")
        want["release"] = (release, (n_rel,))
    for name, (x, shape) in want.items():
        rows_ok = len(x) == n_b if name in ("counts", "incoming") else len(x) in (1, n_b)
        if np.ndim(x) != len(shape) + 1 or np.shape(x)[1:] != shape or not rows_ok:
            raise ValueError(f"{name}: expected shape ({n_b} or 1, {', '.join(map(str, shape))}), "
                             f"got {np.shape(x)}")


def _ints(x: np.ndarray) -> np.ndarray:
    """C-contiguous int64 (the one layout the compiled hour is built for)."""
    return np.ascontiguousarray(x, dtype=np.int64)


# ---------------------------------------------------------------- the compiled hour
# Loops compiled by numba (``cache=True``: compiled once, then loaded from __pycache__).
# ``_hour_row`` is the hour of one day; ``_hour_rows`` steps a batch of days,
# ``_counterfactual_hour`` played days together with their eq. (19) counterfactual days.
# ``tab``: the instance's constants (``HourTables``, ``CostTables.hour``).
# Outputs per day: ``day`` = (released kWh, BDC driving, unserved penalty, cost,
# terminal shortfall kWh, terminal penalty); the function returns the EVs released.


@njit(cache=True)
def _hour_row(counts, incoming, moves, dispatch, release, price, last, tab,
              m, stock, station, evs, station_sum, evs_sum, rel, day):  # pragma: no cover
    """One day's hour: counts, incoming (N, L), moves (N, L, R), dispatch (C, N) executable,
    release (M,) capped; writes m (N, L, R) executed moves, stock (2, N, L) after the hour
    (zeroed by the caller), station (4, N), evs (3, N), station_sum (4,), evs_sum (3,),
    rel (M,), day (6,)."""
    return _hour(counts, incoming, moves, dispatch, release, price, last, tab, False, stock,
                 station, evs, m, stock, station, evs, station_sum, evs_sum, rel, day)


@njit(cache=True, inline='always')
def _hour(counts, incoming, moves, dispatch, release, price, last, tab, replay, p_stock,
          p_station, p_evs, m, stock, station, evs, station_sum, evs_sum, rel, day):  # pragma: no cover
    """``_hour_row``; with ``replay``, the hour of a counterfactual day whose stations but
    the release station and the next one are in the state of its played day's hour, whose
    outputs p_stock, p_station, p_evs they take (releases reach no other station: the
    counterfactual hours of ``_counterfactual_days`` are then a third cheaper, and the
    same to the bit)."""
    feasible, rates, donor_col, move_cost = tab.feasible, tab.rates, tab.donor_col, tab.move_cost
    storage_cost, terminal_gap, drive_cost = tab.storage_cost, tab.terminal_gap, tab.drive_cost
    drive_release, arrive_level = tab.drive_release, tab.arrive_level
    release_levels, ready, rs = tab.release_levels, tab.ready, tab.release_station
    take, arrive_rel = tab.take, tab.arrive_release
    step_kwh, penalty, terminal_price = tab.step_kwh, tab.unserved_penalty, tab.terminal_price
    n_st, n_lv = counts.shape
    n_r, n_cls, n_rel = rates.shape[0], dispatch.shape[0], release.shape[0]
    after = stock[0]
    unserved_all = 0
    for n in range(n_st):
        if replay and n != rs and n != rs + 1:
            for lv in range(n_lv):
                after[n, lv] = p_stock[0, n, lv]
            for i in range(4):
                station[i, n] = p_station[i, n]
            for i in range(3):
                evs[i, n] = p_evs[i, n]
            unserved_all += evs[1, n]
            continue
        # 1. charging and B2B (eqs. 9–16): a level's requests in column order, each up to
        # the batteries the earlier columns left, none off the SOC range
        net = 0
        for lv in range(n_lv):
            room = counts[n, lv]
            for r in range(n_r):
                k = max(min(moves[n, lv, r], room), 0) if feasible[lv, r] else 0
                m[n, lv, r] = k
                room -= k
                net += k * rates[r]
        if donor_col >= 0 and net < 0:
            # eq. (12): discharged ≤ charged energy; drop donors from the top level down
            excess = -net
            for lv in range(n_lv - 1, -1, -1):
                k = min(m[n, lv, donor_col], excess)
                m[n, lv, donor_col] -= k
                excess -= k
                net += k
        donors = 0
        bdc = 0.0
        for lv in range(n_lv):
            after[n, lv] += counts[n, lv]
            for r in range(n_r):
                if feasible[lv, r]:  # (a branch on the table, not on the data: predictable)
                    k = m[n, lv, r]
                    after[n, lv] -= k
                    after[n, lv + rates[r]] += k
                    bdc += k * move_cost[lv, r]  # α1·P^β1 (+ eq. 26)
            if donor_col >= 0:
                donors += m[n, lv, donor_col]
        storage = 0.0
        for lv in range(n_lv):
            storage += after[n, lv] * storage_cost[lv]  # α2·(1 − SOC)^β2, eq. (11)
        grid_kwh = net * step_kwh  # P_Grid ≥ 0 (eq. 12)
        station[0, n] = price * grid_kwh  # PPC
        station[1, n] = bdc + storage     # BDC
        station[2, n] = donors * step_kwh  # B2B kWh
        station[3, n] = grid_kwh

        # 2. swaps (eqs. 4–8, 17): the EVs take the lowest swap-ready batteries
        dispatched = 0
        want = 0
        for lv in range(n_lv):
            want += incoming[n, lv]
        for c in range(n_cls):
            dispatched += dispatch[c, n]
        want += dispatched
        served = 0
        for lv in range(ready, n_lv):
            if served == want:
                break
            k = min(after[n, lv], want - served)
            after[n, lv] -= k
            served += k
        # the served EVs leave theirs: last hour's released EVs first, then the dispatched
        # ones (at their arrival level, eq. 8), lowest level first
        left = served
        for lv in range(n_lv):
            if not left:
                break
            k = min(incoming[n, lv], left)
            after[n, lv] += k
            left -= k
        for lv in range(n_lv):
            if not left:
                break
            here = 0
            for c in range(n_cls):
                if arrive_level[c, n] == lv:
                    here += dispatch[c, n]
            k = min(here, left)
            after[n, lv] += k
            left -= k
        evs[0, n] = served
        evs[1, n] = want - served
        evs[2, n] = dispatched
        unserved_all += want - served

    # 3. release (eqs. 18–22): invited EVs, in class order, hand in their battery and take
    # one at level ``take`` (enough to reach the next station) while any is left there
    released, released_steps = 0, 0
    room = after[rs, take] if n_rel else 0
    for j in range(n_rel):
        k = min(release[j], room)
        room -= k
        rel[j] = k
        after[rs, release_levels[j]] += k
        after[rs, take] -= k
        released += k
        released_steps += k * (release_levels[j] - take)
    if released:
        stock[1, rs + 1, arrive_rel] = released  # they swap there next hour

    # the day's sums (a term that is zero adds nothing)
    for i in range(4):
        total = 0.0
        for n in range(n_st):
            total += station[i, n]
        station_sum[i] = total
    for i in range(3):
        count = 0
        for n in range(n_st):
            count += evs[i, n]
        evs_sum[i] = count
    driving = 0.0
    for c in range(n_cls):
        for n in range(n_st):
            driving += dispatch[c, n] * drive_cost[c, n]  # eq. (5)
    driving += released * drive_release
    pen = unserved_all * penalty
    cost = station_sum[0] + station_sum[1] + driving + pen
    if last:  # eq. (13): the shortfall below terminal_soc at the end, priced
        short = 0
        for n in range(n_st):
            for lv in range(n_lv):
                short += after[n, lv] * terminal_gap[lv]
        day[4] = short * step_kwh
        day[5] = day[4] * terminal_price
        cost += day[5]
    day[0] = released_steps * step_kwh
    day[1] = driving
    day[2] = pen
    day[3] = cost
    return released


def _outputs(n_b: int, n_st: int, n_lv: int, n_r: int, n_rel: int) -> tuple[np.ndarray, ...]:
    """Zeroed output arrays of ``n_b`` days, filled by the compiled hour (see ``BatchHour``;
    allocated here, not in the compiled code: numba's boxing of returned arrays costs
    more than the hour itself)."""
    return (np.zeros((n_b, n_st, n_lv, n_r), dtype=np.int64),
            np.zeros((n_b, 2, n_st, n_lv), dtype=np.int64), np.zeros((n_b, 4, n_st)),
            np.zeros((n_b, 3, n_st), dtype=np.int64), np.zeros((n_b, 4)),
            np.zeros((n_b, 3), dtype=np.int64), np.zeros((n_b, n_rel), dtype=np.int64),
            np.zeros(n_b, dtype=np.int64), np.zeros((n_b, 6)))


@njit(cache=True)
def _hour_rows(counts, incoming, moves, dispatch, release, price, last, tab, out):  # pragma: no cover
    """The hour of B days: counts, incoming (B, N, L); moves (B or 1, N, L, R), dispatch
    (B or 1, C, N), release (B or 1, M); price, last (B or 1,); ``out`` from ``_outputs``."""
    m, stock, station, evs, ssum, esum, rel, released, day = out
    for b in range(counts.shape[0]):
        released[b] = _hour_row(
            counts[b], incoming[b], moves[min(b, moves.shape[0] - 1)],
            dispatch[min(b, dispatch.shape[0] - 1)], release[min(b, release.shape[0] - 1)],
            price[min(b, price.shape[0] - 1)], last[min(b, last.shape[0] - 1)],
            tab,
            m[b], stock[b], station[b], evs[b], ssum[b], esum[b], rel[b], day[b])


@njit(cache=True)
def _counterfactual_hour(t, days, stock, moves, dispatch, release, price, horizon,
                         cf_stock, cf_cost, active, total, back, started,
                         tab, out, scratch):  # pragma: no cover
    """The hour of E played days (stock (E, 2, N, L), their hours t (E or 1,) and requests
    as in ``_hour_rows``) and of their counterfactual days (``_played_hour``). ``out``:
    the played days' outputs, ``scratch``: one day's (both from ``_outputs``)."""
    m, out_stock, station, evs, ssum, esum, rel, released, day = out
    for e in range(stock.shape[0]):
        released[e] = _played_hour(
            t[min(e, t.shape[0] - 1)], days[e], stock[e], moves[min(e, moves.shape[0] - 1)],
            dispatch[min(e, dispatch.shape[0] - 1)], release[min(e, release.shape[0] - 1)],
            price[min(e, price.shape[0] - 1)], horizon, True, cf_stock, cf_cost, active, total,
            back, started, tab,
            m[e], out_stock[e], station[e], evs[e], ssum[e], esum[e], rel[e], day[e], scratch, 0)


@njit(cache=True)
def _played_hour(te, d, stock, mv, dp, rl, pr, horizon, with_cf, cf_stock, cf_cost, active,
                 total, back, started, tab, m, out_stock, station, evs, ssum, esum, rel, day,
                 scratch, si):  # pragma: no cover
    """Hour ``te`` of played day ``d`` (stock (2, N, L), requests mv, dp, rl, price pr)
    into the outputs m … day (one day's), and, ``with_cf``, the same hour of its
    counterfactual days (``_counterfactual_days``). Returns the EVs the played day
    released."""
    released = _hour_row(stock[0], stock[1], mv, dp, rl, pr, te + 1 >= horizon, tab,
                         m, out_stock, station, evs, ssum, esum, rel, day)
    if with_cf:
        _counterfactual_days(te, d, stock, out_stock, station, evs, released > 0, mv, dp, rl, pr,
                             horizon, cf_stock, cf_cost, active, total, back, started, tab,
                             scratch, si)
    return released


@njit(cache=True)
def _counterfactual_days(te, d, stock, after, station, evs, released, mv, dp, rl, pr, horizon,
                         cf_stock, cf_cost, active, total, back, started, tab, scratch,
                         si):  # pragma: no cover
    """Hour ``te`` of the eq. (19) counterfactual days of played day ``d``, whose hour went
    from ``stock`` to ``after`` (2, N, L) with outputs ``station``, ``evs``, requests mv, dp,
    rl at price pr and released EVs if ``released`` (``Counterfactuals``' arrays, updated in
    place): the running ones replay the played day's requests; a new one starts where the
    played day released (this hour without its releases); one leaves when its day ends or
    it is back on the played path (same stock). ``scratch``: outputs (``_outputs``) whose
    row ``si`` the counterfactual hours may use."""
    last = te + 1 >= horizon
    # the scratch row's views, taken once (each view taken costs a reference count)
    sm, s_stock, s_station, s_evs, s_ssum, s_esum, s_rel, _, s_day = scratch
    sm, s_stock, s_station, s_evs = sm[si], s_stock[si], s_station[si], s_evs[si]
    s_ssum, s_esum, s_rel, s_day = s_ssum[si], s_esum[si], s_rel[si], s_day[si]
    n_lv, rs, arrive = stock.shape[2], tab.release_station, tab.arrive_release
    # A counterfactual day's state differs from its played day's only in the counts of the
    # release station and the next one, and in the released EVs arriving at the next one
    # (incoming is zero elsewhere): these entries are all it keeps (``cf_stock``; its
    # other entries stay zero), zeroes, compares — the rest ``_hour``'s replay writes.
    for s in range(te + 1):
        new = s == te
        if not (active[d, s] or (new and released)):
            continue
        for n in range(rs, rs + 2):
            for lv in range(n_lv):
                s_stock[0, n, lv] = 0
        s_stock[1, rs + 1, arrive] = 0
        s_day[4] = 0.0
        s_day[5] = 0.0
        # (a new one: the hour without its releases, none requested)
        start = stock if new else cf_stock[d, s]
        _hour(start[0], start[1], mv, dp, rl[:0] if new else rl, pr, last, tab, True, after,
              station, evs, sm, s_stock, s_station, s_evs, s_ssum, s_esum, s_rel, s_day)
        kept = cf_stock[d, s]
        rejoined = not last
        for n in range(rs, rs + 2):
            for lv in range(n_lv):
                kept[0, n, lv] = s_stock[0, n, lv]
                rejoined = rejoined and s_stock[0, n, lv] == after[0, n, lv]
        kept[1, rs + 1, arrive] = s_stock[1, rs + 1, arrive]
        rejoined = rejoined and s_stock[1, rs + 1, arrive] == after[1, rs + 1, arrive]
        cf_cost[d, s] = s_day[3] if new else cf_cost[d, s] + s_day[3]
        active[d, s] = True
        started[d, s] = started[d, s] or new
        if last or rejoined:
            total[d, s] = cf_cost[d, s]
            active[d, s] = False
            if rejoined:
                back[d, s] = te + 1


def step(instance: ExpresswayInstance, tables: CostTables, state: ExpresswayState,
         moves: np.ndarray, dispatch: np.ndarray, release: np.ndarray) -> tuple[ExpresswayState, HourResult]:
    """One hour. Inputs are clamped to what is executable (see each clamp's doc); the
    returned ``HourResult.moves`` / ``release_by_class`` are what actually happened."""
    t = state.t
    counts = state.counts
    moves = np.reshape(np.asarray(moves, dtype=np.int64), (1, *counts.shape, len(tables.rates)))
    if moves.min(initial=0) < 0:
        moves = np.maximum(moves, 0)
    want = release_request(instance, t, release)
    h = step_batch(tables, instance.config, t, instance.price_per_kwh[t], counts[None],
                   state.incoming[None], moves, clamp_dispatch(instance, t, dispatch, tables)[None],
                   None if want is None else want[None])
    return state_after(state, h, 0), h.result(0)


def state_after(state: ExpresswayState, hour: BatchHour, b: int) -> ExpresswayState:
    """Day ``b``'s state after ``hour`` (``state``: its state before)."""
    return ExpresswayState(state.t + 1, hour.counts[b], hour.incoming[b],
                           state.served_total + int(hour.evs_sum[b, SERVED]),
                           state.unserved_total + int(hour.evs_sum[b, UNSERVED]),
                           state.released_total + int(hour.released[b]))


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
    at its hour, since earlier hours are unchanged, and ends early once it is back on the
    played path (same stock): the rest of its day costs what the played day costs. All
    counterfactual days are replayed together, as one batch (``step_batch``).
    """
    if played is None:
        played, state = [], initial_state(instance)
        for moves, dispatch, release in actions:
            new, res = step(instance, tables, state, moves, dispatch, release)
            played.append((state, res))
            state = new
    c = instance.config
    costs = np.array([res.cost for _, res in played])
    out = np.zeros(c.horizon_h)
    starts = [t for t, (_, res) in enumerate(played) if res.released]
    if not starts:
        return out
    n_st, n_lv = played[0][0].counts.shape
    total = np.zeros(len(starts))
    days = np.zeros(0, dtype=np.int64)            # the counterfactual days in the batch
    counts = np.zeros((0, n_st, n_lv), dtype=np.int64)
    incoming = counts
    for k in range(starts[0], len(actions)):
        if len(days) and k < len(played):
            here = played[k][0]
            back = (counts == here.counts).all(axis=(1, 2)) & (incoming == here.incoming).all(axis=(1, 2))
            if back.any():
                total[days[back]] += costs[k:].sum()
                keep = ~back
                days, counts, incoming = days[keep], counts[keep], incoming[keep]
        moves, dispatch, release = actions[k]
        want = release_request(instance, k, release)
        if k in starts:  # this hour's counterfactual day joins, without the hour's releases
            days = np.append(days, starts.index(k))
            counts = np.concatenate([counts, played[k][0].counts[None]])
            incoming = np.concatenate([incoming, played[k][0].incoming[None]])
            if want is not None:
                want = np.repeat(want[None], len(days), axis=0)
                want[-1] = 0
        elif want is not None:
            want = want[None]
        if not len(days):
            continue
        moves = np.maximum(np.reshape(np.asarray(moves, dtype=np.int64), (1, n_st, n_lv, -1)), 0)
        h = step_batch(tables, c, k, instance.price_per_kwh[k], counts, incoming, moves,
                       clamp_dispatch(instance, k, dispatch, tables)[None], want)
        total[days] += h.cost
        counts, incoming = h.counts, h.incoming
    out[starts] = total - np.array([costs[t:].sum() for t in starts])
    return out



class Counterfactuals:
    """Eq. (19)'s counterfactual days stepped along with the played days, in the same
    compiled call (``_counterfactual_days``): the same numbers as :func:`release_savings`
    without replaying the day at its end. The vector env's; the single env runs
    ``_counterfactual_days`` on its own arrays once the day is played.

    ``step`` runs an hour of the played days (the returned batch) and of every
    counterfactual day still apart from its played day; when a played day releases EVs in
    hour t, a counterfactual day starts from its state with that hour's releases removed.
    A counterfactual day back on the played path (same stock) is dropped: the rest of it
    costs what the played day costs from there. ``savings`` gives R_BSS per hour of a
    played day that has ended. The vector env plays one day per sub-env. State per
    (played day, start hour): ``stock``/``cost`` of a running counterfactual day
    (``active``), and once it is settled its ``total`` cost and the hour it rejoined the
    played day (``back``, −1: never); ``started`` marks hours with one. Of a running
    day's stock only the entries a release changes are kept (``_counterfactual_days``).
    """

    def __init__(self, config: ExpresswayConfig, n_days: int = 1) -> None:
        T = config.horizon_h
        self.config = config
        self.stock = np.zeros((n_days, T, 2, config.n_stations, config.n_levels), dtype=np.int64)
        self.cost = np.zeros((n_days, T))
        self.active = np.zeros((n_days, T), dtype=bool)
        self.total = np.zeros((n_days, T))
        self.back = np.full((n_days, T), -1, dtype=np.int64)
        self.started = np.zeros((n_days, T), dtype=bool)
        self._days = np.arange(n_days)
        self._scratch: tuple[np.ndarray, ...] | None = None  # one day's outputs, reused

    def clear(self, days: np.ndarray | slice = slice(None)) -> None:
        """Forget the counterfactual days of played days ``days`` (a new day starts)."""
        self.total[days] = 0.0
        self.back[days] = -1
        self.started[days] = False
        self.active[days] = False

    def step(self, tables: CostTables, t: int | np.ndarray, stock: np.ndarray, moves: np.ndarray,
             dispatch: np.ndarray, release: np.ndarray | None, price: float | np.ndarray,
             days: np.ndarray | None = None) -> BatchHour:
        """``step_batch`` of the played days ``days`` (default: all, in order): stock (E, 2,
        N_B, L) their states (counts, incoming), t their hour (int or (E,)), moves (E or 1,
        N_B, L, R), dispatch (E or 1, C, N_B) executable, release (E or 1, M) capped
        (``release_request``; zeros where the hour has none) or None, price scalar or (E, 1)."""
        _check_batch(tables, stock[:, 0], stock[:, 1], moves, dispatch, release)
        hours = np.asarray(t, dtype=np.int64).reshape(-1)
        days = self._days[: len(stock)] if days is None else days
        out = _outputs(len(stock), *tables.sizes)
        if self._scratch is None:
            self._scratch = _outputs(1, *tables.sizes)
        _counterfactual_hour(
            hours, _ints(days), _ints(stock), _ints(moves), _ints(dispatch),
            tables.no_release if release is None else _ints(release),
            np.asarray(price, dtype=np.float64).reshape(-1), self.config.horizon_h,
            self.stock, self.cost, self.active, self.total, self.back, self.started,
            tables.hour, out, self._scratch)
        return _batch_hour(*out, bool(hours.max() + 1 >= self.config.horizon_h))

    def savings(self, day: int, costs: np.ndarray) -> np.ndarray:
        """(T,) R_BSS per hour of played day ``day`` (ended); ``costs``: its cost per hour."""
        out = np.zeros(self.config.horizon_h)
        _savings(self.started[day], self.total[day], self.back[day], _floats(costs), out)
        return out


@njit(cache=True)
def _savings(started, total, back, costs, out):  # pragma: no cover
    """``Counterfactuals.savings`` of one day: for each hour s with a counterfactual day,
    its total (plus the played day's cost from the hour it rejoined, if it did) minus the
    played day's cost from hour s (sums in hour order)."""
    n_t = costs.shape[0]
    for s in range(n_t):
        if not started[s]:
            continue
        value = total[s]
        if back[s] >= 0:
            rest = 0.0
            for t in range(back[s], n_t):
                rest += costs[t]
            value += rest
        played = 0.0
        for t in range(s, n_t):
            played += costs[t]
        out[s] = value - played


def _floats(x: np.ndarray) -> np.ndarray:
    """C-contiguous float64."""
    return np.ascontiguousarray(x, dtype=np.float64)
