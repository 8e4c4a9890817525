"""Battery degradation: the Wang et al. (2011) cycle-life model for graphite-LiFePO4
cells, turned into a cost per kWh of throughput that a linear program can use.

Wang, Liu, Hicks-Garner, et al., "Cycle-life model for graphite-LiFePO4 cells",
J. Power Sources 196 (8) 3942-3948 (2011), eq. (2) with the fitted constants of
their Table 3::

    Q_loss[%] = B(C_rate) * exp(-(31700 - 370.3 * C_rate) / (R * T)) * Ah^0.55

``Ah`` is the Ah-throughput of one 2.2 Ah test cell (cycles x DOD x capacity), ``T`` the
cell temperature in kelvin, ``R`` = 8.314 J/(mol K). ``B`` was fitted per C-rate
(C/2: 31630, 2C: 21681, 6C: 12934, 10C: 15512); between those rates we interpolate
linearly and outside them we hold the nearest value (swap stations charge slowly, so
the C/2 fit is the one that matters).

Linearisation (used by every planner): the loss is concave in throughput (exponent
0.55), so the marginal cost of one kWh falls over a battery's life. We use the *secant*
from new to end of life: the pack is worth ``replacement_cost`` and is retired when
``Q_loss`` reaches ``eol_loss_pct``; the throughput to that point is
``Ah_eol = (eol_loss_pct / (B * exp(...)))^(1/0.55)`` cell-Ah, i.e.
``Ah_eol / 2.2`` equivalent full cycles; the cost per kWh of throughput is
``replacement_cost / (cycles_eol * usable_kwh)``. The secant charges every kWh the
life-average cost, so a linear program and the environment agree exactly; the
exact marginal cost (``marginal_cost_per_kwh``) is provided for analysis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from swapgym.envs.core.config import check_positive

GAS_CONSTANT = 8.314  # J / (mol K)
WANG_CELL_AH = 2.2  # capacity of the tested 26650 cell, Ah
WANG_EXPONENT = 0.55  # z in eq. (2)
# Table 3 of Wang et al. (2011): pre-exponential factor B per C-rate
WANG_B_TABLE = ((0.5, 31630.0), (2.0, 21681.0), (6.0, 12934.0), (10.0, 15512.0))


def wang_b(c_rate: float) -> float:
    """Pre-exponential factor B for a C-rate (Table 3, linear in between, held outside)."""
    rates, values = zip(*WANG_B_TABLE)
    return float(np.interp(c_rate, rates, values))


def capacity_loss_pct(cell_ah_throughput: float | np.ndarray, c_rate: float,
                      temperature_k: float = 298.15) -> float | np.ndarray:
    """Capacity loss in percent after ``cell_ah_throughput`` Ah through one 2.2 Ah cell, eq. (2)."""
    check_positive("c_rate", c_rate)
    check_positive("temperature_k", temperature_k)
    arrhenius = math.exp(-(31700.0 - 370.3 * c_rate) / (GAS_CONSTANT * temperature_k))
    return wang_b(c_rate) * arrhenius * np.power(cell_ah_throughput, WANG_EXPONENT)


def cycles_to_end_of_life(c_rate: float, temperature_k: float = 298.15,
                          eol_loss_pct: float = 20.0) -> float:
    """Equivalent full cycles until ``capacity_loss_pct`` reaches ``eol_loss_pct`` (eq. (2) inverted)."""
    check_positive("eol_loss_pct", eol_loss_pct)
    per_ah = capacity_loss_pct(1.0, c_rate, temperature_k)  # loss at 1 Ah throughput
    ah_eol = (eol_loss_pct / per_ah) ** (1.0 / WANG_EXPONENT)
    return float(ah_eol / WANG_CELL_AH)


@dataclass(frozen=True)
class DegradationModel:
    """Degradation cost of one battery pack from the Wang (2011) model.

    replacement_cost_eur: price of a new pack (EUR). usable_kwh: energy of one full
    cycle of the pack (kWh). c_rate: the rate it is cycled at (1/h). temperature_k:
    cell temperature (K). eol_loss_pct: capacity loss at which the pack is retired (%).
    """

    replacement_cost_eur: float
    usable_kwh: float
    c_rate: float
    temperature_k: float = 298.15
    eol_loss_pct: float = 20.0

    def __post_init__(self) -> None:
        check_positive("replacement_cost_eur", self.replacement_cost_eur)
        check_positive("usable_kwh", self.usable_kwh)
        check_positive("c_rate", self.c_rate)
        check_positive("temperature_k", self.temperature_k)
        check_positive("eol_loss_pct", self.eol_loss_pct)

    @property
    def lifetime_throughput_kwh(self) -> float:
        return cycles_to_end_of_life(self.c_rate, self.temperature_k, self.eol_loss_pct) * self.usable_kwh

    @property
    def cost_per_kwh(self) -> float:
        """Linearised (secant, life-average) cost per kWh of throughput, EUR/kWh."""
        return self.replacement_cost_eur / self.lifetime_throughput_kwh

    def marginal_cost_per_kwh(self, used_kwh: float) -> float:
        """Exact marginal cost per kWh after ``used_kwh`` of throughput (tangent of eq. (2))."""
        # Q(E) = Q_eol (E / E_eol)^z  =>  dQ/dE = z Q_eol / E_eol (E / E_eol)^(z-1)
        e_eol = self.lifetime_throughput_kwh
        frac = max(used_kwh, 1e-9) / e_eol
        return self.replacement_cost_eur / e_eol * WANG_EXPONENT * frac ** (WANG_EXPONENT - 1.0)
