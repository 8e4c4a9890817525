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
    """Constant matrices of the level moves, precomputed once per station."""

    def __init__(self, station: StationParams) -> None:
        L = station.n_levels
        self.up = np.zeros((L, L + 1), dtype=np.int64)
        self.up[np.arange(L), station.charge_to] = 1
        self.down = np.zeros((L, L + 1), dtype=np.int64)
        self.down[np.arange(L), station.discharge_to] = 1
        self.gain = station.charge_gain.astype(np.int64)
        self.loss = station.discharge_loss.astype(np.int64)


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
    L = station.n_levels
    bays = station.n_chargers
    # 1. charging: at most the packs per level, then at most the bays, keeping the top levels
    want = np.minimum(charge, levels[..., :L])
    from_top = np.cumsum(want[..., ::-1], axis=-1)[..., ::-1]  # requests at levels >= l
    charged = np.clip(bays[:, None] - (from_top - want), 0, want)
    # 2. discharging among packs not charging, within the bays left, keeping the low levels
    if discharge is None or not station.allow_discharge:
        discharged = np.zeros_like(charged)
    else:
        avail = levels[..., 1:].copy()
        avail[..., : L - 1] -= charged[..., 1:]
        want_d = np.minimum(discharge, avail)
        left = bays - charged.sum(-1)
        from_bottom = np.cumsum(want_d, axis=-1)
        discharged = np.clip(left[..., None] - (from_bottom - want_d), 0, want_d)
    # 3. swaps from the packs full at the start of the hour and not discharging
    swaps = np.minimum(arrivals, levels[..., L] - discharged[..., L - 1])
    new = levels + charged @ tables.up + discharged @ tables.down
    new[..., :L] -= charged
    new[..., 1:] -= discharged
    new[..., L] -= swaps
    new[..., station.return_level] += swaps
    stored = (charged @ tables.gain) * station.level_kwh
    removed = (discharged @ tables.loss) * station.level_kwh
    grid_import = stored.sum(-1) / station.charge_efficiency
    grid_export = removed.sum(-1) * station.discharge_efficiency
    lost = arrivals - swaps
    return Transition(
        levels=new, charged_from=charged, discharged_from=discharged, swaps=swaps, lost=lost,
        stored_kwh=stored, removed_kwh=removed, grid_import_kwh=grid_import, grid_export_kwh=grid_export,
        swap_revenue=swaps @ station.swap_revenue_eur,
        lost_swap_penalty=lost @ station.lost_penalty_eur,
        energy_cost=np.asarray(price_per_kwh) * (grid_import - grid_export),
        degradation_cost=stored @ station.degradation_eur_per_kwh,
    )


def charge_all(station: StationParams, levels: np.ndarray) -> np.ndarray:
    """The unscheduled request: every non-full pack, fullest first up to the bays, (..., K, L)."""
    L = station.n_levels
    want = levels[..., :L]
    from_top = np.cumsum(want[..., ::-1], axis=-1)[..., ::-1]
    return np.clip(station.n_chargers[:, None] - (from_top - want), 0, want)


def stored_energy_kwh(station: StationParams, levels: np.ndarray) -> np.ndarray:
    """Energy held in the packs per type, (..., K) kWh."""
    return (levels @ np.arange(station.n_levels + 1)) * station.level_kwh


def stock_value_change(station: StationParams, value_per_kwh: np.ndarray, initial_levels: np.ndarray,
                       final_levels: np.ndarray) -> np.ndarray:
    """Terminal credit (EUR) for the stored energy gained over an episode, (...,)."""
    gained = stored_energy_kwh(station, final_levels) - stored_energy_kwh(station, initial_levels)
    return gained @ value_per_kwh


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
