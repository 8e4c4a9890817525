"""Static models of the emergency-push paper, sections 2.3–3.2.

Li, Li & Yang, "Research on Vehicle Scheduling of Battery Swap Stations Based on Online
Information Platforms". Everything here is computed from the paper's formulas and its
Table 2; nothing the paper printed as a *result* is hard-coded. ``PAPER_PRINTED`` holds
those printed results only so that ``swapgym reproduce emergency-push`` can show them
next to ours.

Two inconsistencies in the paper, reproduced rather than hidden:

* eq. (1) with the paper's units (W_3 = 15 kWh per 100 km) gives S_2 = 401.7 km, not
  the printed 4 km; 4 km follows only if W_3 is read as 15 kWh *per km*.
* the printed fitted parameters of S(θ5) (a=1052.36, b=189.24, c=8.72) do not describe
  Table 2: they give S(20) ≈ 417 where the table has 912. We refit every candidate family
  to Table 2 and maximise N = S·P1 on our fit; the printed-parameter optimum is shown too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import curve_fit

# Table 2 of the paper: θ5 (kWh), P1 (consenting users of 1000), S (qualified users of 1000)
TABLE2_THETA5 = np.arange(20, 51, 2, dtype=float)
TABLE2_P1 = np.array([88, 139, 203, 272, 341, 389, 472, 518, 571, 649, 706, 785, 848, 900, 944, 1000], float)
TABLE2_S = np.array([912, 888, 867, 847, 823, 797, 770, 747, 728, 696, 672, 649, 628, 611, 578, 551], float)

# What the paper printed (for side-by-side reports only; never used as a model input).
PAPER_PRINTED = {
    "S_log_params": (1052.36, 189.24, 8.72), "S_log_mse": 12.87, "S_log_r2": 0.9992,
    "S_power_params": (1.2e5, 0.82, 480.0), "S_power_mse": 28.53, "S_power_r2": 0.981,
    "S_exp_params": (850.0, 0.02, 520.0), "S_exp_mse": 42.15, "S_exp_r2": 0.968,
    "P1_sigmoid_params": (998.71, 0.18, 35.26), "P1_sigmoid_mse": 21.53, "P1_sigmoid_r2": 0.988,
    "P1_power_params": (0.03, 2.5, 50.0), "P1_power_mse": 35.72, "P1_power_r2": 0.975,
    "theta5_star": 37.03, "N_second_derivative": -12.36, "newton_iterations": 7,
    "theta4": 2.75, "Q_f": 39.75, "S2_km": 4.0, "N_t": 12,
}


# --- eqs. (1)–(3), (5): push range, minimum battery energy, push quantity -------------

def push_quantity(push_cycle_h: float, n_stations: int, swap_minutes: float) -> int:
    """eq. (5): N_t ≤ t_h·n_1/t_c — the most swaps the stations can do in one push cycle."""
    return math.floor(push_cycle_h * 60.0 * n_stations / swap_minutes + 1e-9)


def theta4_min(community_demand_kwh_per_h: float, n_t: int) -> float:
    """eq. (3): θ4 ≥ W_4/N_t, the least energy each pushed vehicle must bring (kWh)."""
    return community_demand_kwh_per_h / n_t


def min_required_energy(theta4: float, theta5: float) -> float:
    """eq. (2): Q_f = θ4 + θ5 (kWh)."""
    return theta4 + theta5


def push_range_km(battery_kwh: float, q_f_kwh: float, consumption_kwh_per_100km: float) -> float:
    """eq. (1) with consistent units: S_2 = (Q_e − Q_f)/W_3, W_3 in kWh per 100 km → km."""
    return (battery_kwh - q_f_kwh) / consumption_kwh_per_100km * 100.0


# --- section 3.1.2: candidate families for S(θ5) and P1(θ5) ---------------------------

@dataclass(frozen=True)
class Family:
    name: str
    fn: Callable[..., np.ndarray]
    p0: tuple[float, ...]
    bounds: tuple[tuple[float, ...], tuple[float, ...]]
    formula: str


def _log(t, a, b, c):
    return a - b * np.log(t + c)


def _power_dec(t, a, b, c):
    return a * np.power(t, -b) + c


def _exp_dec(t, a, b, c):
    return a * np.exp(-b * t) + c


def _sigmoid(t, d, k, m):
    return d / (1.0 + np.exp(-k * (t - m)))


def _power_inc(t, a, b, c):
    return a * np.power(t, b) + c


# Parameter constraints as section 3.1.2 states them (a, b, c > 0; power b in [0, 1] for S;
# d, k > 0 and d close to 1000 for the sigmoid).
S_FAMILIES = (
    # c > 0 as the paper says, and c ≤ 100 kWh: on Table 2 the unbounded fit runs away
    # (c → ∞, the curve tends to a straight line) and takes seconds to give up.
    Family("logarithmic", _log, (1500.0, 200.0, 1.0), ((0, 0, 1e-9), (np.inf, np.inf, 100.0)),
           "a − b·ln(θ5 + c)"),
    Family("power", _power_dec, (2000.0, 0.5, 100.0), ((0, 0, 0), (np.inf, 1.0, np.inf)),
           "a·θ5^(−b) + c"),
    Family("exponential", _exp_dec, (800.0, 0.02, 300.0), ((0, 0, 0), (np.inf, np.inf, np.inf)),
           "a·exp(−b·θ5) + c"),
)
P1_FAMILIES = (
    # "d should be close to 1000": we bound d to [950, 1050].
    Family("sigmoid", _sigmoid, (1000.0, 0.1, 35.0), ((950.0, 0, -np.inf), (1050.0, np.inf, np.inf)),
           "d / (1 + exp(−k(θ5 − m)))"),
    Family("power", _power_inc, (0.1, 2.0, 10.0), ((0, 0, 0), (np.inf, np.inf, np.inf)),
           "a·θ5^b + c"),
)


@dataclass(frozen=True)
class Fit:
    family: str
    params: tuple[float, ...]
    mse: float
    r2: float

    def __call__(self, theta5):
        fam = {f.name: f for f in S_FAMILIES + P1_FAMILIES}
        return fam[self.family].fn(np.asarray(theta5, dtype=float), *self.params)


def goodness(y: np.ndarray, fitted: np.ndarray) -> tuple[float, float]:
    """MSE and R² as section 3.1.2 defines them."""
    resid = y - fitted
    mse = float(np.mean(resid**2))
    r2 = float(1.0 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2))
    return mse, r2


def fit_family(family: Family, x: np.ndarray, y: np.ndarray) -> Fit:
    params, _ = curve_fit(family.fn, x, y, p0=family.p0, bounds=family.bounds, maxfev=50_000)
    mse, r2 = goodness(y, family.fn(x, *params))
    return Fit(family.name, tuple(float(p) for p in params), mse, r2)


def fit_all(x=TABLE2_THETA5, s=TABLE2_S, p1=TABLE2_P1) -> dict[str, list[Fit]]:
    """Every candidate family fitted; each list sorted best (lowest MSE) first."""
    return {
        "S": sorted((fit_family(f, x, s) for f in S_FAMILIES), key=lambda f: f.mse),
        "P1": sorted((fit_family(f, x, p1) for f in P1_FAMILIES), key=lambda f: f.mse),
    }


def printed_fit(which: str, family: str) -> Fit:
    """The paper's printed parameters for a family, scored on Table 2 by us."""
    key = {"logarithmic": "log", "exponential": "exp"}.get(family, family)
    params = PAPER_PRINTED[f"{which}_{key}_params"]
    fam = {f.name: f for f in (S_FAMILIES if which == "S" else P1_FAMILIES)}[family]
    y = TABLE2_S if which == "S" else TABLE2_P1
    mse, r2 = goodness(y, fam.fn(TABLE2_THETA5, *params))
    return Fit(family, params, mse, r2)


# --- section 3.1.3: maximise N(θ5) = S·P1 by Newton–Raphson ------------------------------

@dataclass(frozen=True)
class NewtonResult:
    theta5: float
    iterations: int
    last_step: float
    n_value: float
    n_second_derivative: float
    converged: bool


def maximise_n(s: Callable, p1: Callable, start: float = 35.0, low: float = 20.0, high: float = 50.0,
               tol: float = 1e-6, max_iter: int = 100, h: float = 1e-4) -> NewtonResult:
    """eq. (4) maximised by Newton–Raphson on N'(θ5) = 0 within [low, high].

    N' and N'' by central differences of N = S·P1 (the paper's analytic
    N' = S'P1 + SP1', N'' = S''P1 + 2S'P1' + SP1'' are the same quantities).
    """
    def n(t):
        return float(s(t) * p1(t))

    def d1(t):
        return (n(t + h) - n(t - h)) / (2 * h)

    def d2(t):
        return (n(t + h) - 2 * n(t) + n(t - h)) / (h * h)

    t, step, iterations = start, math.inf, 0
    for _ in range(max_iter):
        iterations += 1
        curvature = d2(t)
        if curvature == 0:
            break
        new = min(max(t - d1(t) / curvature, low), high)
        step = abs(new - t)
        t = new
        if step < tol:
            break
    return NewtonResult(t, iterations, step, n(t), d2(t), step < tol and d2(t) < 0)


# --- section 3.1.2: the concentric-circle simulation that produces S and P1 ---------------

def concentric_circle_simulation(rng: np.random.Generator, n_users: int = 1000,
                                 theta5_grid=TABLE2_THETA5, charge_min_kwh: int = 15,
                                 charge_max_kwh: int = 100,
                                 consumption_kwh_per_100km: float = 15.0) -> dict[str, np.ndarray]:
    """Section 3.1.2 as written: 1000 return points uniform in the largest circle (the
    range reachable on θ5 = 50 kWh), 1000 integer charges in [15, 100]. S(θ5) counts
    charges above θ5; P1(θ5) counts return points within the radius reachable on θ5.
    Radii are θ5/W_3 (so only their ratios matter for P1).
    """
    radii_km = np.asarray(theta5_grid, float) / consumption_kwh_per_100km * 100.0
    r_points = radii_km[-1] * np.sqrt(rng.random(n_users))  # uniform in area
    charges = rng.integers(charge_min_kwh, charge_max_kwh + 1, size=n_users)
    s = np.array([(charges > t).sum() for t in theta5_grid], float)
    p1 = np.array([(r_points <= r).sum() for r in radii_km], float)
    return {"theta5": np.asarray(theta5_grid, float), "S": s, "P1": p1}


# --- the defaults the environment uses ---------------------------------------------------

@lru_cache(maxsize=1)
def table2_fits() -> dict[str, list[Fit]]:
    """``fit_all`` on Table 2, computed once per process."""
    return fit_all()


@lru_cache(maxsize=1)
def optimal_theta5() -> tuple[float, float]:
    """θ5* from our best fits to Table 2, and the consent rate P1(θ5*)/1000 there.

    Cached: the env's default θ5 and consent probability come from here.
    """
    fits = table2_fits()
    s_fit = next(f for f in fits["S"] if f.family == "logarithmic")
    p1_fit = next(f for f in fits["P1"] if f.family == "sigmoid")
    res = maximise_n(s_fit, p1_fit)
    return res.theta5, float(p1_fit(res.theta5)) / 1000.0
