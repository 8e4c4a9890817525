"""The paper's middle-level decision: a station's total charging power (and B2B donors),
assigned to its batteries with the Hungarian algorithm (eqs. 23–25), as the env's
``moves`` block.

One implementation for the env's ``action_mode="station"`` and the PSO baselines
(``baselines/expressway.py`` imports these). The transition itself stays in
``dynamics.py``: these functions only turn station decisions into move counts.
"""

from __future__ import annotations

import numpy as np

from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.dynamics import CostTables


def hungarian_assign(levels: np.ndarray, units: int, tables: CostTables,
                     ready_level: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Assign ``units`` SOC steps of charging to batteries (eq. 23 cost matrix).

    levels (B,) battery SOC levels. Rows are (battery, k-th step) slots, columns the
    power units; a slot's cost is the marginal degradation of its step minus an urgency
    bonus (batteries closest to swap-ready first; topping up ready ones last). Returns
    steps per battery (B,). ``linear_sum_assignment`` solves it (eqs. 24–25). ``units``
    beyond what the batteries can take (``max_charge_steps`` each, up to SOC_max) are
    dropped.
    """
    from scipy.optimize import linear_sum_assignment

    r = tables.rates
    up_cols = np.flatnonzero(r > 0)
    k_max = len(up_cols)
    b = len(levels)
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


def station_moves(counts: np.ndarray, units: int, donate: int, tables: CostTables,
                  ready_level: int) -> np.ndarray:
    """One station's (L, R) moves for ``units`` grid steps and ``donate`` B2B donors.

    Donors (one SOC step each, 4 kW): first batteries above the swap-ready level (they
    stay ready after giving a step), highest first; then the lowest ones (idle, far from
    ready). The donated steps are added to the charging units, so the grid buys ``units``
    steps and the donors' energy charges other batteries (eq. 12: no sale to the grid).
    """
    levels = np.repeat(np.arange(len(counts)), counts)
    donors = np.zeros(len(levels), dtype=bool)
    if donate > 0 and (tables.rates < 0).any():
        top = np.flatnonzero(levels > ready_level)[::-1]
        low = np.flatnonzero((levels >= 1) & (levels <= ready_level))
        donors[np.concatenate([top, low])[:donate]] = True
    steps = hungarian_assign(levels, units + int(donors.sum()), tables, ready_level, exclude=donors)
    return steps_to_moves(levels, steps, donors, len(counts), tables.rates)


# ------------------------------------------------------------------ station action mode
def headroom(config: ExpresswayConfig, counts: np.ndarray) -> np.ndarray:
    """(..., N_B) SOC steps each station's batteries can take this hour: per battery
    ``min(max_charge_steps, steps to SOC_max)``."""
    c = config
    per_level = np.minimum(c.n_levels - 1 - np.arange(c.n_levels), c.max_charge_steps)
    return counts @ per_level


def power_level_units(config: ExpresswayConfig) -> np.ndarray:
    """(n_power_levels + 1,) SOC steps of grid charging of each station power level:
    level k = round(k / n_power_levels · N_b · max_charge_steps) (level n_power_levels:
    every battery at its fastest rate)."""
    c = config
    top = c.batteries_per_station * c.max_charge_steps
    return np.rint(np.arange(c.n_power_levels + 1) * top / c.n_power_levels).astype(np.int64)


def b2b_level_donors(config: ExpresswayConfig) -> np.ndarray:
    """(n_b2b_levels + 1,) B2B donors of each B2B level: level j = round(j / n_b2b_levels ·
    N_b / 2) (at most half the batteries give a step, the PSO's bound)."""
    c = config
    top = c.batteries_per_station / 2
    return np.rint(np.arange(c.n_b2b_levels + 1) * top / c.n_b2b_levels).astype(np.int64)


def donor_capacity(counts: np.ndarray) -> np.ndarray:
    """(..., N_B) batteries that can donate a step (above SOC_min)."""
    return counts[..., 1:].sum(axis=-1)


def station_block_moves(config: ExpresswayConfig, tables: CostTables, counts: np.ndarray,
                        units: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """(N_B, L, R) moves of every station: ``units[n]`` grid steps and ``donors[n]`` B2B
    donors at station n, assigned with :func:`station_moves` (the PSO's own call)."""
    return np.stack([station_moves(counts[n], int(units[n]), int(donors[n]), tables,
                                   config.ready_level) for n in range(len(counts))])
