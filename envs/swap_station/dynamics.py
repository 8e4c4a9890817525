"""The swap station's state and transition rules — the one place the physics lives.

The environment, the vectorised environment and every planner (the MILPs in
``swapgym.baselines.swap_station``) use these rules; the MILP encodes exactly the
allocation rules below, so a MILP plan replayed here earns the MILP's objective.

Every function takes arrays with any leading batch shape ``(...)``: ``levels`` is
``(..., K, L + 1)`` (packs of each type at each SoC level), per-type quantities are
``(..., K)`` and the price is ``(...)``.

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

import numpy as np

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


class TransitionTables:
    """Constants of the level moves, precomputed once per station.

    up / down: (L, L + 1) 0/1 matrices of the moves (planners read these). The transition
    itself applies them as slice shifts, which ``build_station`` guarantees: charging
    moves level l to min(l + lph, L), discharging level j + 1 to max(j + 1 - lph, 0)
    (lph = levels_per_hour).
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
        self.bays = station.n_chargers  # (K,)
        self.bays_col = station.n_chargers[:, None]  # (K, 1)
        self._zeros: dict[tuple, np.ndarray] = {}

    def zeros(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A shared read-only array of zeros (the discharge fields when discharging is off)."""
        key = (shape, dtype)
        z = self._zeros.get(key)
        if z is None:
            z = self._zeros[key] = np.zeros(shape, dtype)
            z.flags.writeable = False
        return z


def sum_types(x: np.ndarray) -> np.ndarray | float:
    """Sum over the last (type) axis as x[..., 0] + x[..., 1] + ...: the same additions in the
    same order for one station and for a batch, so both give bit-identical floats (numpy's
    reductions and dot products may not), and fast for a batch (no reduction over a tiny axis).
    One station's (K,) vector is summed in Python floats (same IEEE additions, no numpy calls)."""
    if x.ndim == 1:
        values = x.tolist()
        total = values[0]
        for v in values[1:]:
            total += v
        return total
    total = x[..., 0]
    for k in range(1, x.shape[-1]):
        total = total + x[..., k]
    return total


def action_bounds(station: StationParams, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest useful charge and discharge request per type and level, (..., K, L) each:
    the packs at that level, at most the type's chargers."""
    L = station.n_levels
    bays = station.n_chargers[:, None]
    charge = np.minimum(bays, levels[..., :L])
    discharge = np.minimum(bays, levels[..., 1:])
    if not station.allow_discharge:
        discharge = np.zeros_like(discharge)
    return charge, discharge


def transition(station: StationParams, tables: TransitionTables, levels: np.ndarray,
               charge: np.ndarray, discharge: np.ndarray | None, arrivals: np.ndarray,
               price_per_kwh: np.ndarray | float) -> Transition:
    """One hour from ``levels`` under per-level requests ``charge`` (..., K, L) and
    ``discharge`` (..., K, L) (index j = level j + 1). Requests beyond what is possible are
    cut to what is (see the module docstring for the rules and their order)."""
    # Written for two uses: the env (tiny arrays, where each numpy call costs more than its
    # arithmetic, so few whole-array calls) and the vectorised env (N stations stored
    # batch-innermost, so every slice along the level or type axis is a contiguous run of N).
    # Hence no cumsum / matmul / float reductions over the tiny axes: running sums over
    # levels are short loops of slice adds, type sums go through ``sum_types``.
    L, lph = station.n_levels, tables.lph
    # 1. charging: at most the packs per level, then at most the bays, keeping the top levels
    want = np.minimum(charge, levels[..., :L])
    above = np.empty_like(want)  # requests at levels > lv
    above[..., L - 1] = 0
    for lv in range(L - 2, -1, -1):
        np.add(above[..., lv + 1], want[..., lv + 1], out=above[..., lv])
    charged = np.minimum(np.maximum(tables.bays_col - above, 0), want)
    new = levels.copy(order="K")
    new[..., :L] -= charged
    new[..., lph:] += charged[..., : L + 1 - lph]  # level l -> l + lph (the last of these: full)
    for lv in range(L + 1 - lph, L):  # the rest of the levels that reach full
        new[..., L] += charged[..., lv]
    # levels gained: lph per pack, less for packs capped at full
    gained = np.add.reduce(charged, -1)
    if lph > 1:
        gained *= lph
    for lv in range(L - lph + 1, L):
        gained -= (lv - (L - lph)) * charged[..., lv]
    stored = gained * station.level_kwh
    grid_import = sum_types(stored) / station.charge_efficiency
    full = levels[..., L]
    # 2. discharging among packs not charging, within the bays left, keeping the low levels
    if discharge is None or not station.allow_discharge:
        discharged = tables.zeros(charged.shape, charged.dtype)
        removed = tables.zeros(stored.shape, stored.dtype)
        grid_export = 0.0 * grid_import  # a float for one station, zeros for a batch
        net_kwh = grid_import
    else:
        avail = levels[..., 1:].copy(order="K")
        avail[..., : L - 1] -= charged[..., 1:]
        want_d = np.minimum(discharge, avail)
        below = np.empty_like(want_d)  # requests at levels < j + 1
        below[..., 0] = 0
        for j in range(1, L):
            np.add(below[..., j - 1], want_d[..., j - 1], out=below[..., j])
        left = tables.bays - np.add.reduce(charged, -1)
        discharged = np.minimum(np.maximum(left[..., None] - below, 0), want_d)
        new[..., 1:] -= discharged
        new[..., : L + 1 - lph] += discharged[..., lph - 1 :]
        for j in range(lph - 1):
            new[..., 0] += discharged[..., j]
        full = full - discharged[..., L - 1]
        lost_levels = lph * np.add.reduce(discharged, -1)  # less for packs floored at empty
        for j in range(lph - 1):
            lost_levels -= (lph - 1 - j) * discharged[..., j]
        removed = lost_levels * station.level_kwh
        grid_export = sum_types(removed) * station.discharge_efficiency
        net_kwh = grid_import - grid_export
    # 3. swaps from the packs full at the start of the hour and not discharging
    swaps = np.minimum(arrivals, full)
    new[..., L] -= swaps
    new[..., station.return_level] += swaps
    lost = arrivals - swaps
    return Transition(
        levels=new, charged_from=charged, discharged_from=discharged, swaps=swaps, lost=lost,
        stored_kwh=stored, removed_kwh=removed, grid_import_kwh=grid_import, grid_export_kwh=grid_export,
        swap_revenue=sum_types(swaps * station.swap_revenue_eur),
        lost_swap_penalty=sum_types(lost * station.lost_penalty_eur),
        energy_cost=price_per_kwh * net_kwh,
        degradation_cost=sum_types(stored * station.degradation_eur_per_kwh),
    )


def charge_all(station: StationParams, levels: np.ndarray) -> np.ndarray:
    """The unscheduled request: every non-full pack, fullest first up to the bays, (..., K, L)."""
    L = station.n_levels
    want = levels[..., :L]
    from_top = np.cumsum(want[..., ::-1], axis=-1)[..., ::-1]
    return np.clip(station.n_chargers[:, None] - (from_top - want), 0, want)


def stored_energy_kwh(station: StationParams, levels: np.ndarray) -> np.ndarray:
    """Energy held in the packs per type, (..., K) kWh."""
    return (levels * np.arange(station.n_levels + 1)).sum(-1) * station.level_kwh


def stock_value_change(station: StationParams, value_per_kwh: np.ndarray, initial_levels: np.ndarray,
                       final_levels: np.ndarray) -> np.ndarray:
    """Terminal credit (EUR) for the stored energy gained over an episode, (...,)."""
    gained = stored_energy_kwh(station, final_levels) - stored_energy_kwh(station, initial_levels)
    return sum_types(gained * value_per_kwh)


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


def step_info(revenue, penalty, energy, degradation, stock_value, served, lost, full_batteries,
              bought, sold, price) -> dict:
    """The per-step ``info`` of one env (floats) or of a batch (arrays): the reward split
    and the paper's quantities. The single env and the vector env both build it here."""
    return {
        "reward_breakdown": {"swap_revenue": revenue, "lost_swap_penalty": -penalty,
                             "energy_cost": -energy, "degradation_cost": -degradation,
                             "stock_value_change": stock_value},
        "profit_eur": revenue - penalty - energy - degradation + stock_value,
        "swaps_served": served,
        "swaps_lost": lost,
        "arrivals": served + lost,
        "full_batteries": full_batteries,
        "energy_bought_kwh": bought,
        "energy_sold_kwh": sold,
        "grid_power_kw": bought - sold,
        "price_per_kwh": price,
    }
