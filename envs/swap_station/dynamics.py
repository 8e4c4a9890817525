"""The swap station's state and transition rules — the one place the physics lives.

The environment, the vectorised environment and every planner (the MILPs in
``swapgym.baselines.swap_station``) use these rules; the MILP encodes exactly the
allocation rules below, so a MILP plan replayed here earns the MILP's objective.

The rules of one hour are written once, in :func:`hour` (the packs) and :func:`hour_money`
(energy and money), with nothing but ``+ - *`` and a minimum, so the same text runs on
numbers for one type of one station — :func:`hour` compiled by numba for the single env
(:func:`hour_of_types`, every type in one call: the interpreted hour cost more than the rest
of a step), Python numbers for the money — and on numpy arrays for a batch (the vectorised
env: (K, N) arrays of all types and sub-envs); per-type sums go type by type in order, so
all give the same numbers (the counts are integers either way).
:func:`transition` applies them to arrays with any leading batch shape ``(...)``: ``levels``
is ``(..., K, L + 1)`` (packs of each type at each SoC level), per-type quantities are
``(..., K)`` and the price is ``(...)`` (planners, tests).

Order of events within one hour t (decision made at the start of the hour):

1. Charging: ``charge[k, l]`` packs of type k at level l < L charge for the hour (at most
   the packs there). If the requests of a type exceed its chargers, the lowest levels are
   cut first (the fullest packs keep their bays). Each rises by ``levels_per_hour``
   levels, capped at full.
2. Discharging (if enabled): ``discharge[k, j]`` packs at level j + 1 not being charged sell
   energy to the grid, at most the chargers left after charging (cut from the highest
   levels first). Each falls by ``levels_per_hour`` levels.
3. Swaps: riders of type k arriving during the hour are served from the packs that were
   full at the start of the hour and are not being discharged; the rest are lost. A
   served rider leaves a pack at the return level, available to charge from hour t + 1.

Money (EUR): swap revenue per served swap; lost-swap penalty; energy cost at the hour's
price on grid energy (charged kWh / charge efficiency, minus discharged kWh × discharge
efficiency); degradation cost per kWh charged into packs (Wang 2011, linearised —
``swapgym.envs.core.battery``). Profit = revenue − penalty − energy cost − degradation,
plus, on the last hour of an episode, the value of the stored energy gained
(``stock_value_change``).
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import mul
from typing import NamedTuple

import numpy as np
from numba import njit
from numba.extending import register_jitable

from swapgym.envs.swap_station.instance import StationParams


@dataclass
class SwapStationState:
    """Per-step state. t: hours elapsed (0..T). levels: (K, L + 1) int64 packs per SoC level."""

    t: int
    levels: np.ndarray


@dataclass
class Transition:
    """What one hour did. Per-type arrays are (..., K); totals are (...).

    charged_from: (..., K, L) packs charged from level l. discharged_from: (..., K, L) packs
    discharged from level l + 1. swaps / lost: riders served / turned away. stored_kwh:
    energy put into packs; removed_kwh: energy taken out to the grid. grid_import_kwh /
    grid_export_kwh: energy bought / sold (= mean power in kW over the hour).
    """

    levels: np.ndarray
    charged_from: np.ndarray
    discharged_from: np.ndarray
    swaps: np.ndarray
    lost: np.ndarray
    stored_kwh: np.ndarray
    removed_kwh: np.ndarray
    grid_import_kwh: np.ndarray
    grid_export_kwh: np.ndarray
    swap_revenue: np.ndarray
    lost_swap_penalty: np.ndarray
    energy_cost: np.ndarray
    degradation_cost: np.ndarray

    @property
    def profit(self) -> np.ndarray:
        return self.swap_revenue - self.lost_swap_penalty - self.energy_cost - self.degradation_cost


class HourMoves(NamedTuple):
    """The level moves of a station: levels_per_hour, the return level, (level l, level after
    an hour of charging) from the top level down, and (discharge entry j, level after an hour
    of discharging from level j + 1) from the bottom up."""

    lph: int
    return_level: int
    up: tuple[tuple[int, int], ...]
    down: tuple[tuple[int, int], ...]


class TransitionTables:
    """Constants of the transition, precomputed once per station.

    up / down: (L, L + 1) 0/1 matrices of the moves (planners read these). The rules move
    level l to min(l + lph, L) when charging and level j + 1 to max(j + 1 - lph, 0) when
    discharging (lph = levels_per_hour), which ``build_station`` guarantees; ``moves`` lists
    them for :func:`hour`. Per-type constants are kept as Python numbers (``bays_list``,
    ``per_type``): the single env does its arithmetic on Python numbers, and a Python float
    times a batch gives the same floats as a (K,) array times it. ``bound_index`` /
    ``bound_cap``: the flat (K * (L + 1)) level index and the cap of each action entry (see
    ``action_bounds``).
    """

    def __init__(self, station: StationParams) -> None:
        L, lph = station.n_levels, station.levels_per_hour
        self.up = np.zeros((L, L + 1), dtype=np.int64)
        self.up[np.arange(L), station.charge_to] = 1
        self.down = np.zeros((L, L + 1), dtype=np.int64)
        self.down[np.arange(L), station.discharge_to] = 1
        self.gain = station.charge_gain.astype(np.int64)
        self.loss = station.discharge_loss.astype(np.int64)
        if not (np.array_equal(station.charge_to, np.minimum(np.arange(L) + lph, L))
                and np.array_equal(station.discharge_to, np.maximum(np.arange(1, L + 1) - lph, 0))):
            raise ValueError("levels_per_hour: charge_to / discharge_to are not the shifts by levels_per_hour")
        self.lph = lph
        self.return_level = station.return_level
        self.moves = HourMoves(lph, station.return_level,
                               tuple((lv, min(lv + lph, L)) for lv in range(L - 1, -1, -1)),
                               tuple((j, max(j + 1 - lph, 0)) for j in range(L)))
        self.discharging = station.allow_discharge
        self.bays = station.n_chargers  # (K,)
        self.bays_col = station.n_chargers[:, None]  # (K, 1)
        self.bays_list = station.n_chargers.tolist()
        # hour_of_types' int64 constants: lph, the return level, the bays (K), then moves.up and
        # moves.down as (L, 2) rows
        self.compiled_params = np.array([lph, station.return_level, *self.bays_list,
                                         *(x for move in self.moves.up + self.moves.down for x in move)],
                                        dtype=np.int64)
        self.level_kwh_list = station.level_kwh.tolist()
        self.per_type = list(zip(station.level_kwh.tolist(), station.swap_revenue_eur.tolist(),  # per type k:
                                 station.lost_penalty_eur.tolist(), station.degradation_eur_per_kwh.tolist(),
                                 strict=True))  # (kWh per level, EUR per swap, per lost swap, per kWh charged)
        self.charge_efficiency = station.charge_efficiency
        self.discharge_efficiency = station.discharge_efficiency
        K = station.n_types
        level = np.arange(L)
        index = [(k * (L + 1) + level).tolist() for k in range(K)]  # charge entry (k, l): level l
        cap = [[b] * L for b in self.bays_list]
        if station.allow_discharge:  # discharge entry (k, j): level j + 1
            index += [(k * (L + 1) + 1 + level).tolist() for k in range(K)]
            cap += cap
        self.bound_index = np.array(index, dtype=np.intp).ravel()
        self.bound_cap = np.array(cap, dtype=np.int64).ravel()
        self._zeros: dict[tuple, np.ndarray] = {}

    def zeros(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A shared read-only array of zeros (the discharge fields when discharging is off)."""
        key = (shape, dtype)
        z = self._zeros.get(key)
        if z is None:
            z = self._zeros[key] = np.zeros(shape, dtype)
            z.flags.writeable = False
        return z


@register_jitable  # callable from compiled code too (hour_of_types)
def total(values):
    """values[0] + values[1] + ... in that order: one station's per-type Python numbers, or
    a batch's per-type arrays, add up to the same floats."""
    out = values[0]
    for i in range(1, len(values)):
        out = out + values[i]
    return out


def sum_types(x: np.ndarray) -> np.ndarray | float:
    """Sum over the last (type) axis as x[..., 0] + x[..., 1] + ...: the same additions in the
    same order for one station and for a batch, so both give bit-identical floats (numpy's
    reductions and dot products may not), and fast for a batch (no reduction over a tiny axis).
    One station's (K,) vector is summed in Python floats (same IEEE additions, no numpy calls)."""
    if x.ndim == 1:
        return total(x.tolist())
    return total([x[..., k] for k in range(x.shape[-1])])


def action_bounds(tables: TransitionTables, levels: np.ndarray, batch_last: bool = False) -> np.ndarray:
    """Largest useful request of each flat action entry, (..., D) for levels (..., K, L + 1):
    charging at level l at most the packs there and the type's chargers; discharging (when
    enabled) at level j + 1 the same. ``batch_last``: levels are (K, L + 1, N) and the
    bounds (D, N)."""
    if batch_last:
        rows = levels.reshape(-1, levels.shape[-1]).take(tables.bound_index, axis=0)
        return np.minimum(rows, tables.bound_cap[:, None])
    if levels.ndim == 2:  # one station: take reads the flat levels
        return np.minimum(levels.take(tables.bound_index), tables.bound_cap)
    flat = levels.reshape(*levels.shape[:-2], -1)
    return np.minimum(flat.take(tables.bound_index, axis=-1), tables.bound_cap)


def array_min(a, b, c=None):
    """The elementwise minimum of two or three arrays: ``hour``'s ``mn`` for a batch."""
    out = np.minimum(a, b)
    return out if c is None else np.minimum(out, c)


@register_jitable  # callable from compiled code too (hour_of_types)
def number_min(a, b, c=None):
    """The minimum of two or three Python numbers: ``hour``'s ``mn`` for one station (cheaper
    than the builtin ``min``, which builds an argument tuple and an iterator)."""
    m = a if a < b else b
    return m if c is None or m < c else c


def hour(lv, ch, dis, arr, bays, moves: HourMoves, mn=number_min):
    """The rules of one hour (module docstring) for one type of one station, in Python ints
    (or compiled, :func:`hour_of_types`), or for a batch, in numpy arrays (pass
    ``mn=array_min``): the same text either way.

    lv: L + 1 values, packs at each level at the start of the hour; ch: L charge requests
    (level l); dis: L discharge requests (level j + 1) or None; arr: riders; bays: chargers;
    moves: the station's :class:`HourMoves`. ``mn(a, b[, c])``: the minimum. Returns (new levels (list of L + 1), charged (list of L),
    discharged (list of L, or None), levels gained, levels lost to the grid, swaps served,
    swaps lost). Inputs are never modified (no augmented assignment: a row may be a view
    of the caller's state).
    """
    L = len(ch)
    lph, ret, up_moves, down_moves = moves
    new = list(lv)
    # 1. charging: at most the packs at each level, then at most the bays, given from the top
    #    level down (the fullest packs keep their bays); level i moves to min(i + lph, L)
    left = bays
    charged = [0] * L
    for i, up in up_moves:
        c = mn(ch[i], lv[i], left)
        left = left - c
        charged[i] = c
        new[i] = new[i] - c
        new[up] = new[up] + c
    gained = bays - left  # levels gained: lph per pack charged, fewer for packs capped at full
    if lph > 1:
        gained = gained * lph
        for i in range(L - lph + 1, L):
            gained = gained - (i - (L - lph)) * charged[i]
    full = lv[L]
    discharged, dropped = None, 0
    if dis is not None:
        # 2. discharging among the packs not charging, within the bays left, from the lowest
        #    level up (the fullest packs stay); level j + 1 moves to max(j + 1 - lph, 0)
        discharged = [0] * L
        for j, down in down_moves:
            d = mn(dis[j], lv[j + 1] - charged[j + 1] if j + 1 < L else lv[L], left)
            left = left - d
            discharged[j] = d
            new[j + 1] = new[j + 1] - d
            new[down] = new[down] + d
        dropped = total(discharged)  # levels lost: lph per pack, fewer for packs floored at empty
        if lph > 1:
            dropped = dropped * lph
            for j in range(lph - 1):
                dropped = dropped - (lph - 1 - j) * discharged[j]
        full = full - discharged[L - 1]
    # 3. swaps from the packs full at the start of the hour and not discharging
    swaps = mn(arr, full)
    new[L] = new[L] - swaps
    new[ret] = new[ret] + swaps
    return new, charged, discharged, gained, dropped, swaps, arr - swaps


_hour_compiled = njit(cache=True)(hour)  # the same rules, compiled by numba for hour_of_types


@njit(cache=True)
def hour_of_types(levels, action, arrivals, params, new_levels, out):  # pragma: no cover - compiled
    """:func:`hour` of every type of one station, compiled (numba; the single env: the
    interpreted hour on Python ints cost more than the rest of a step). levels (K, L + 1),
    action (D,) (the env's flat action: charge entries k * L + l, then, when D = 2 K L,
    discharge entries), arrivals (K,), params: ``TransitionTables.compiled_params``; all
    int64. Writes the new levels into ``new_levels`` (K, L + 1) and into column k of ``out``
    (2 L + 5, K) type k's charged (L rows), discharged (L rows; left as they are without
    discharging), levels gained, levels lost to the grid, swaps served, swaps lost and full
    packs after the hour.
    Returns -1 (writing nothing) if an action entry is outside 0..bays, else 0."""
    K, L = levels.shape[0], levels.shape[1] - 1
    bays = params[2 : 2 + K]
    moves = (params[0], params[1], params[2 + K : 2 + K + 2 * L].reshape(L, 2), params[2 + K + 2 * L :].reshape(L, 2))
    discharging = len(action) == 2 * K * L
    for i in range(len(action)):
        if action[i] < 0 or action[i] > bays[(i // L) % K]:
            return -1
    for k in range(K):
        if discharging:
            new, charged, discharged, gained, dropped, swaps, lost = _hour_compiled(
                levels[k], action[k * L : (k + 1) * L], action[(K + k) * L : (K + k + 1) * L], arrivals[k], bays[k],
                moves)
            for i in range(L):
                out[L + i, k] = discharged[i]
        else:
            new, charged, discharged, gained, dropped, swaps, lost = _hour_compiled(
                levels[k], action[k * L : (k + 1) * L], None, arrivals[k], bays[k], moves)
        for i in range(L + 1):
            new_levels[k, i] = new[i]
        for i in range(L):
            out[i, k] = charged[i]
        out[2 * L, k] = gained
        out[2 * L + 1, k] = dropped
        out[2 * L + 2, k] = swaps
        out[2 * L + 3, k] = lost
        out[2 * L + 4, k] = new[L]
    return 0


def hour_money(tables: TransitionTables, price, gained, dropped, swaps, lost, discharging: bool):
    """Energy and money of one hour from the per-type results of :func:`hour`: each argument
    is indexed by type (Python numbers for one station, (N,) rows of a (K, N) array for a
    batch); price EUR/kWh. Per-type amounts are added up type by type in order, so both give
    the same floats. Returns (stored_kwh per type, removed_kwh per type or None,
    grid_import_kwh, grid_export_kwh, swap_revenue, lost_swap_penalty, energy_cost,
    degradation_cost)."""
    stored, removed = [], [] if discharging else None
    for k, (kwh, revenue_k, penalty_k, degradation_k) in enumerate(tables.per_type):
        e = gained[k] * kwh
        stored.append(e)
        if k == 0:
            charged_kwh, revenue, penalty, degradation = e, swaps[0] * revenue_k, lost[0] * penalty_k, e * degradation_k
        else:
            charged_kwh = charged_kwh + e
            revenue = revenue + swaps[k] * revenue_k
            penalty = penalty + lost[k] * penalty_k
            degradation = degradation + e * degradation_k
        if discharging:
            removed.append(dropped[k] * kwh)
    bought = charged_kwh / tables.charge_efficiency
    if discharging:
        sold = total(removed) * tables.discharge_efficiency
        net = bought - sold
    else:
        sold = 0.0 * bought  # a float for one station, zeros for a batch
        net = bought
    return stored, removed, bought, sold, revenue, penalty, price * net, degradation


def transition(station: StationParams, tables: TransitionTables, levels: np.ndarray,
               charge: np.ndarray, discharge: np.ndarray | None, arrivals: np.ndarray,
               price_per_kwh: np.ndarray | float) -> Transition:
    """One hour from ``levels`` under per-level requests ``charge`` (..., K, L) and
    ``discharge`` (..., K, L) (index j = level j + 1). Requests beyond what is possible are
    cut to what is (see the module docstring for the rules and their order). Arrays with any
    leading batch shape; :func:`hour` and :func:`hour_money` on the level slices."""
    L = station.n_levels
    discharging = discharge is not None and station.allow_discharge
    new, charged, discharged, gained, dropped, swaps, lost = hour(
        [levels[..., lv] for lv in range(L + 1)], [charge[..., lv] for lv in range(L)],
        [discharge[..., j] for j in range(L)] if discharging else None,
        arrivals, tables.bays, tables.moves, array_min)
    K = station.n_types

    def per_type(x):
        return [x[..., k] for k in range(K)]

    stored, removed, bought, sold, revenue, penalty, energy, degradation = hour_money(
        tables, price_per_kwh, per_type(gained), per_type(dropped) if discharging else None,
        per_type(swaps), per_type(lost), discharging)
    charged = np.stack(charged, axis=-1)
    stored = np.stack(stored, axis=-1)
    return Transition(
        levels=np.stack(new, axis=-1), charged_from=charged,
        discharged_from=np.stack(discharged, axis=-1) if discharging else tables.zeros(charged.shape, charged.dtype),
        swaps=swaps, lost=lost, stored_kwh=stored,
        removed_kwh=np.stack(removed, axis=-1) if discharging else tables.zeros(stored.shape, stored.dtype),
        grid_import_kwh=bought, grid_export_kwh=sold, swap_revenue=revenue, lost_swap_penalty=penalty,
        energy_cost=energy, degradation_cost=degradation,
    )


def charge_all(station: StationParams, levels: np.ndarray) -> np.ndarray:
    """The unscheduled request: every non-full pack, fullest first up to the bays, (..., K, L)."""
    L = station.n_levels
    want = levels[..., :L]
    from_top = np.cumsum(want[..., ::-1], axis=-1)[..., ::-1]
    return np.clip(station.n_chargers[:, None] - (from_top - want), 0, want)


def stored_energy_kwh(station: StationParams, levels: np.ndarray, batch_last: bool = False) -> np.ndarray:
    """Energy held in the packs per type, (..., K) kWh (``batch_last``: levels (K, L + 1, N)
    give (K, N))."""
    if batch_last:
        return (levels * np.arange(station.n_levels + 1)[:, None]).sum(1) * station.level_kwh[:, None]
    return (levels * np.arange(station.n_levels + 1)).sum(-1) * station.level_kwh


def stock_value_change(station: StationParams, value_per_kwh: np.ndarray, initial_levels: np.ndarray,
                       final_levels: np.ndarray, batch_last: bool = False) -> np.ndarray:
    """Terminal credit (EUR) for the stored energy gained over an episode, (...,)
    (``batch_last``: levels (K, L + 1, N) and values (K, N) give (N,))."""
    gained = stored_energy_kwh(station, final_levels, batch_last) - stored_energy_kwh(station, initial_levels,
                                                                                       batch_last)
    return total(list(gained * value_per_kwh)) if batch_last else sum_types(gained * value_per_kwh)


def stock_value_of_types(level_kwh, value_per_kwh, initial_levels, final_levels) -> float:
    """:func:`stock_value_change` of one station on Python numbers (the single env's last
    step: a few numpy calls cost more than its arithmetic). Per type k (lists by type; levels
    as lists of L + 1 counts): the level units sum(l * packs at l) (ints, exact) times the
    kWh per level, final minus initial, times the value, added type by type: the same float
    operations as the array version, so the same float."""
    gains = [(sum(map(mul, end, range(len(end)))) * kwh - sum(map(mul, start, range(len(start)))) * kwh) * value
             for kwh, value, start, end in zip(level_kwh, value_per_kwh, initial_levels, final_levels, strict=True)]
    return total(gains)


def rollout(station: StationParams, initial_levels: np.ndarray, charge: np.ndarray,
            discharge: np.ndarray | None, arrivals: np.ndarray, prices: np.ndarray,
            value_per_kwh: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Apply a whole plan (charge/discharge (T, K, L), arrivals (T, K), prices (T,)); returns the total
    profit (with the terminal stock credit if ``value_per_kwh`` is given) and the final
    levels. Used by brute force and plan checks."""
    tables = TransitionTables(station)
    levels = np.asarray(initial_levels, dtype=np.int64)
    total = 0.0
    for t in range(len(charge)):
        tr = transition(station, tables, levels, charge[t], None if discharge is None else discharge[t],
                        arrivals[t], prices[t])
        total += float(tr.profit)
        levels = tr.levels
    if value_per_kwh is not None:
        total += float(stock_value_change(station, value_per_kwh, initial_levels, levels))
    return total, levels


def profit(revenue, penalty, energy, degradation, stock_value):
    """The hour's profit, i.e. the reward (EUR): revenue - penalty - energy - degradation +
    the terminal stock credit."""
    return revenue - penalty - energy - degradation + stock_value


def step_info(revenue, penalty, energy, degradation, stock_value, reward, served, lost, arrivals, full_batteries,
              bought, sold, grid, price) -> dict:
    """The per-step ``info`` of one env (floats) or of a batch (arrays): the reward split
    and the paper's quantities. The single env and the vector env both build it here, from
    what their step computed: ``reward`` = :func:`profit`, ``arrivals`` = served + lost,
    ``grid`` = bought - sold."""
    return {
        "reward_breakdown": {"swap_revenue": revenue, "lost_swap_penalty": -penalty,
                             "energy_cost": -energy, "degradation_cost": -degradation,
                             "stock_value_change": stock_value},
        "profit_eur": reward,
        "swaps_served": served,
        "swaps_lost": lost,
        "arrivals": arrivals,
        "full_batteries": full_batteries,
        "energy_bought_kwh": bought,
        "energy_sold_kwh": sold,
        "grid_power_kw": grid,
        "price_per_kwh": price,
    }
