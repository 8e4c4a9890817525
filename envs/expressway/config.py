"""Configuration of the Expressway multi-station environment.

Paper: Zeng, Chen, Zhong, Xiong, Tian (2023), "Hierarchical transactive power exchange
method on expressways for EV energy supplement", Front. Energy Res. 11:1213883
(``shared/papers/expressway_transactive_exchange.txt``). Defaults are Table 2.

Where the paper is silent (its Figure 4 — hourly grid price and EV arrivals — is not in
the text) the defaults are our documented choices:

* Grid price: by default a real day, 2018-10-18 (a Thursday with the morning and evening
  peaks the text describes), from the shipped SMARD German day-ahead prices
  (``swapgym.envs.core.timeseries.shipped_prices``; ``envs/data/README.md``), EUR/MWh
  divided by 1000 and used as $/kWh without currency conversion (0.049–0.084 that day).
  ``price_source="smard"`` with ``price_date`` picks another day (``horizon_h`` hours from
  its 00:00 CET; real days may have negative prices); ``price_source="tou"`` is a
  documented three-tier time-of-use day (valley 00–08 h, peaks 10–12 h and 14–19 h, flat
  otherwise; 0.05/0.10/0.16 $/kWh, 24 h); an explicit ``price_per_kwh`` tuple overrides
  both. ``hourly_price_per_kwh`` is the resolved series.
* ``arrival_rate_per_h``: mean EVs per hour requesting energy (Poisson), with the morning
  and evening peaks the text describes (≈ 150 EVs a day).
* ``release_candidates_per_h``: mean EVs per hour passing the release station with a
  high-SOC battery (Table 2's SOC_m draw) that could be invited to release energy.
* Geography: EVs request energy at km 0; station n is ``station_km[n]`` away
  (Table 2: D = 80 km between stations). Driving 80 km costs ψ·D = 8 kWh (0.1 SOC).
* SOC grid: battery states live on a grid of ``soc_step`` (0.05 = 4 kWh). Every SOC in
  Table 2 (0.2…0.8, 0.3/0.4, 0.7/0.8, the 0.1-SOC drive) is on it, and it makes the
  station a count model whose exact optimum is a small MILP. Charging moves a battery
  ``k`` steps in an hour: k·4 kW. ``k = 1`` is within P_ch,max = 7 kW; ``k ≥ 2`` is fast
  charging (8, 12 kW) with the extra degradation of eq. (26); discharge (B2B donor)
  is one step, 4 kW ≤ P_dis,max. The grid rounds P_ch,max down to 4 kW.
* Swap-ready SOC is SOC_max − SOC_dev = 0.75 (eqs. 13, 17). Table 2 prints ST_b = 0.80,
  which contradicts eq. (13)'s ST_b = SOC_max − SOC_dev; we follow the equation.
* ``terminal_soc`` / ``terminal_price_per_kwh``: eq. (13) wants every battery at ST_b at
  the end of the day; we price the shortfall (kWh below 0.75) at 1.5× the day's peak
  price instead of making it a hard constraint an agent could violate.
* ``unserved_penalty_usd``: an EV that finds no ready battery leaves unserved.
* Degradation: eq. (11) per battery and hour, P in kW, SOC after the hour; eq. (26) is
  read as an *extra* cost above P_ch,max, C(P_ch,max)·(P−P_ch,max)/P_ch,max. With
  Table 2's α these terms are cents, far below Table 3's BDC (see the reproduction).
* Released EVs take a battery at the lowest SOC that still reaches the next station
  (eq. 22: SOC_min + ψ·D/Q_EV = 0.3), and swap again at the next station an hour later.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from swapgym.envs.core.config import (
    check_array,
    check_choice,
    check_int,
    check_less,
    check_nonnegative,
    check_positive,
    check_range,
)

# Time-of-use tariff ($/kWh), hours 0..23: valley 0–8, flat 8–10, peak 10–12, flat 12–14,
# peak 14–19, flat 19–24. Our choice; the paper's Fig. 4 prices are not in the text.
TOU_PRICE_PER_KWH: tuple[float, ...] = (
    (0.05,) * 8 + (0.10,) * 2 + (0.16,) * 2 + (0.10,) * 2 + (0.16,) * 5 + (0.10,) * 5)

# ``action_mode`` values (see ExpresswayConfig and the env docstring)
ACTION_MODES = ("moves", "station")

# Mean EV arrivals per hour (Poisson): night trickle, morning (8–10 h) and evening
# (17–19 h) peaks, as the paper's text describes Fig. 4.
ARRIVAL_RATE_PER_H: tuple[float, ...] = (
    1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 9, 7, 6, 6, 6, 7, 9, 11, 10, 7, 5, 3, 2, 1)


@dataclass(frozen=True)
class ExpresswayConfig:
    """Parameters of ``swapgym/Expressway-v0`` (units in the names).

    n_stations: N_BSS (Table 2: 3). batteries_per_station: N_b (40).
    horizon_h: T (24). dt_h: Δt (1 h). station_km: distance from the EVs' request point
    to each station (0, 80, 160 km: stations 80 km apart, Table 2).
    battery_kwh: Q_EV (80). soc_min/soc_max/soc_dev: 0.2/0.8/0.05. soc_step: SOC grid.
    p_ch_max_kw / p_dis_max_kw: 7 / 7 (Table 2). max_charge_steps: most SOC steps a
    battery may rise in an hour (3 → 12 kW fast charging; paper silent).
    v_max_kmh: 120. psi_kwh_per_km: ψ = 0.1. alpha1, alpha2, beta1, beta2: eq. (5)/(11).
    lambda_release: λ = 0.8 (eq. 18). ev_soc_choices: arriving EVs' SOC (0.3 or 0.4,
    Table 2 SOC_l). release_soc_choices: releasing EVs' SOC (0.7 or 0.8, SOC_m).
    init_soc_choices: initial battery SOC (0.2…0.8, SOC_b). release_station: the BSS
    where EVs release (the paper's BSS1). max_arrivals_per_class: cap on EVs per SOC
    class and hour (sizes the action space). max_release_per_class: likewise for releases.
    price_source / price_date / price_per_kwh: the grid price (module docstring).
    release_counterfactual: compute eq. (19)'s saving and the eq. (18) payments (``info``
    at the last step): the day without each hour's releases (``dynamics.
    _counterfactual_days``: the single env steps them in one compiled call after the last
    hour, the vector env along with each hour; a counterfactual day is dropped once back on
    the played path). On by default: it is the paper's Table 4; with releases requested
    in most hours (random valid actions) they are a fifth of a step (≈ 150 counterfactual
    hours a day, ≈ 95 µs). False skips it (NaN in ``info``) when only the reward matters,
    e.g. training.
    action_mode: the action representation (env docstring, "Action Space").
    ``"moves"`` (default): per (station, SOC level, rate) battery counts — any count plan,
    the MILP oracle's included. ``"station"``: the paper's own decision variables (§4,
    eqs. 23–25) — per station a charging-power level and a B2B level; the env assigns the
    power to batteries with the Hungarian algorithm (``assign.station_moves``, the PSO
    baselines' own call) and steps the resulting moves. Why: learnability — 2·N_B small
    categorical choices instead of N_B·L·R counts of up to N_b each (160 dims × 41 values
    at the defaults; MaskablePPO did not learn it, benchmarks/RESULTS.md).
    n_power_levels (station mode): station power level k ∈ 0..n_power_levels is
    round(k / n_power_levels · N_b · max_charge_steps) SOC steps of grid charging in the
    hour (each step 4 kWh; default 12 levels of 10 steps = 40 kW up to 480 kW). A level
    above what the station's batteries can take is masked, except the first one that
    reaches it (it means "all they can take"); more is dropped by the assignment.
    n_b2b_levels (station mode): B2B level j ∈ 0..n_b2b_levels makes round(j /
    n_b2b_levels · N_b / 2) batteries donors (one step each, highest above swap-ready
    first, then the lowest; their energy is added to the power assigned to the others,
    eq. 12); j = 0 is B2B off, and every j > 0 is masked when no battery can donate.
    With n_power_levels = N_b · max_charge_steps and n_b2b_levels = N_b / 2 every PSO
    plan (integer grid steps and donors per station) is one station action exactly.
    """

    n_stations: int = 3
    batteries_per_station: int = 40
    horizon_h: int = 24
    dt_h: float = 1.0
    station_km: tuple[float, ...] = (0.0, 80.0, 160.0)
    battery_kwh: float = 80.0
    soc_min: float = 0.2
    soc_max: float = 0.8
    soc_dev: float = 0.05
    soc_step: float = 0.05
    p_ch_max_kw: float = 7.0
    p_dis_max_kw: float = 7.0
    max_charge_steps: int = 3
    v_max_kmh: float = 120.0
    psi_kwh_per_km: float = 0.1
    alpha1: float = 0.2336e-8
    alpha2: float = 0.1024e-1
    beta1: float = 5.0
    beta2: float = 5.0
    lambda_release: float = 0.8
    ev_soc_choices: tuple[float, ...] = (0.3, 0.4)
    release_soc_choices: tuple[float, ...] = (0.7, 0.8)
    init_soc_choices: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    price_source: str = "smard"
    price_date: str = "2018-10-18"
    price_per_kwh: tuple[float, ...] | None = None
    arrival_rate_per_h: tuple[float, ...] = field(default=ARRIVAL_RATE_PER_H)
    release_candidates_per_h: float = 2.0
    release_station: int = 0
    max_arrivals_per_class: int = 16
    max_release_per_class: int = 6
    unserved_penalty_usd: float = 20.0
    terminal_soc: float = 0.75
    terminal_price_per_kwh: float | None = None  # None: 1.5 × max(hourly_price_per_kwh)
    release_counterfactual: bool = True
    action_mode: str = "moves"
    n_power_levels: int = 12
    n_b2b_levels: int = 4

    def __post_init__(self) -> None:
        check_int("n_stations", self.n_stations, minimum=1)
        check_int("batteries_per_station", self.batteries_per_station, minimum=1)
        check_int("horizon_h", self.horizon_h, minimum=1)
        check_positive("dt_h", self.dt_h)
        check_array("station_km", self.station_km, nonnegative=True, length=self.n_stations)
        if any(b < a for a, b in zip(self.station_km, self.station_km[1:])):
            raise ValueError("station_km: must be non-decreasing along the expressway")
        check_positive("battery_kwh", self.battery_kwh)
        check_range("soc_min", self.soc_min, 0.0, 1.0)
        check_range("soc_max", self.soc_max, 0.0, 1.0)
        check_less("soc_min", self.soc_min, "soc_max", self.soc_max)
        check_range("soc_dev", self.soc_dev, 0.0, self.soc_max - self.soc_min)
        check_positive("soc_step", self.soc_step)
        if not _on_grid(self.soc_max - self.soc_min, self.soc_step):
            raise ValueError("soc_step: must divide soc_max - soc_min")
        check_positive("p_ch_max_kw", self.p_ch_max_kw)
        check_positive("p_dis_max_kw", self.p_dis_max_kw)
        check_int("max_charge_steps", self.max_charge_steps, minimum=1)
        check_positive("v_max_kmh", self.v_max_kmh)
        check_positive("psi_kwh_per_km", self.psi_kwh_per_km)
        for name in ("alpha1", "alpha2", "beta1", "beta2"):
            check_nonnegative(name, getattr(self, name))
        check_range("lambda_release", self.lambda_release, 0.0, 1.0)
        for name in ("ev_soc_choices", "release_soc_choices", "init_soc_choices"):
            values = getattr(self, name)
            check_array(name, values, nonnegative=True)
            if len(values) == 0:
                raise ValueError(f"{name}: needs at least one value")
            for v in values:
                check_range(name, v, self.soc_min, self.soc_max)
                if not _on_grid(v - self.soc_min, self.soc_step):
                    raise ValueError(f"{name}: {v} is not on the soc_step grid")
        check_choice("price_source", self.price_source, ("smard", "tou"))
        if self.price_per_kwh is not None:
            object.__setattr__(self, "price_per_kwh", tuple(float(p) for p in self.price_per_kwh))
            check_array("price_per_kwh", self.price_per_kwh, nonnegative=True, length=self.horizon_h)
        elif self.price_source == "tou" and self.horizon_h != len(TOU_PRICE_PER_KWH):
            raise ValueError(f"price_source: 'tou' is a 24 h profile, horizon_h is {self.horizon_h}; "
                             "pass price_per_kwh")
        elif self.price_source == "smard":
            _smard_hours(self.price_date, self.horizon_h)  # raises ValueError naming price_date
        check_array("arrival_rate_per_h", self.arrival_rate_per_h, nonnegative=True,
                    length=self.horizon_h)
        check_nonnegative("release_candidates_per_h", self.release_candidates_per_h)
        check_int("release_station", self.release_station, minimum=0)
        if self.release_station >= self.n_stations - 1 and self.n_stations > 1:
            raise ValueError("release_station: needs a station after it to refill at")
        check_int("max_arrivals_per_class", self.max_arrivals_per_class, minimum=1)
        check_int("max_release_per_class", self.max_release_per_class, minimum=0)
        check_nonnegative("unserved_penalty_usd", self.unserved_penalty_usd)
        if not isinstance(self.release_counterfactual, bool):
            raise ValueError(f"release_counterfactual: expected True or False, got "
                             f"{self.release_counterfactual!r}")
        check_choice("action_mode", self.action_mode, ACTION_MODES)
        check_int("n_power_levels", self.n_power_levels, minimum=1)
        check_int("n_b2b_levels", self.n_b2b_levels, minimum=1)
        check_range("terminal_soc", self.terminal_soc, self.soc_min, self.soc_max)
        if self.terminal_price_per_kwh is not None:
            check_nonnegative("terminal_price_per_kwh", self.terminal_price_per_kwh)
        drive = self.psi_kwh_per_km * 1.0 / self.battery_kwh
        if self.n_stations > 1:
            gap = self.station_km[self.release_station + 1] - self.station_km[self.release_station]
            if not _on_grid(gap * self.psi_kwh_per_km / self.battery_kwh, self.soc_step):
                raise ValueError("station_km: driving between stations must use a whole number "
                                 "of soc_step")
        for km in self.station_km:
            if not _on_grid(km * drive, self.soc_step):
                raise ValueError("station_km: driving to each station must use a whole number "
                                 "of soc_step")
        # eq. (8): every arriving EV reaches some station; eq. (22): a released EV can take a
        # battery that reaches the next station
        for soc in self.ev_soc_choices:
            if all(self.level_of(soc) < self.drive_steps(km) for km in self.station_km):
                raise ValueError(f"station_km: an EV arriving at SOC {soc} (ev_soc_choices) "
                                 f"reaches no station")
        if self.n_stations > 1 and self.drive_steps(gap) > self.n_levels - 1:
            raise ValueError(f"station_km: {gap} km from the release station to the next needs "
                             f"more than SOC_max - SOC_min; no released EV could get there")

    # Derived quantities -------------------------------------------------------------
    @property
    def n_levels(self) -> int:
        """SOC grid points soc_min, soc_min + step, …, soc_max."""
        return round((self.soc_max - self.soc_min) / self.soc_step) + 1

    @property
    def step_kwh(self) -> float:
        return self.soc_step * self.battery_kwh

    @property
    def ready_level(self) -> int:
        """Lowest swap-ready level: SOC ≥ SOC_max − SOC_dev (eq. 17)."""
        return self.level_of(self.soc_max - self.soc_dev)

    @property
    def terminal_level(self) -> int:
        return self.level_of(self.terminal_soc)

    @property
    def terminal_price(self) -> float:
        if self.terminal_price_per_kwh is not None:
            return float(self.terminal_price_per_kwh)
        return 1.5 * max(self.hourly_price_per_kwh)

    @property
    def hourly_price_per_kwh(self) -> tuple[float, ...]:
        """The grid price of each hour ($/kWh): ``price_per_kwh`` if given, else the
        ``price_source`` day (see the module docstring)."""
        if self.price_per_kwh is not None:
            return self.price_per_kwh
        if self.price_source == "tou":
            return TOU_PRICE_PER_KWH
        return _smard_hours(self.price_date, self.horizon_h)

    def level_of(self, soc: float) -> int:
        return round((soc - self.soc_min) / self.soc_step)

    def drive_steps(self, km: float) -> int:
        """SOC steps used driving ``km`` (ψ·D / Q_EV, eq. 8)."""
        return round(km * self.psi_kwh_per_km / self.battery_kwh / self.soc_step)


def _on_grid(x: float, step: float) -> bool:
    q = x / step
    return abs(q - round(q)) < 1e-6


@functools.lru_cache(maxsize=64)
def _smard_hours(date: str, hours: int) -> tuple[float, ...]:
    """``hours`` SMARD day-ahead prices from ``date`` 00:00 CET, EUR/MWh / 1000."""
    import numpy as np

    series = _smard_series()
    try:
        day = np.datetime64(str(date), "D")
    except ValueError:
        raise ValueError(f"price_date: not an ISO date (YYYY-MM-DD): {date!r}") from None
    first = np.datetime64(series.start[:10], "D")
    start = int((day - first) / np.timedelta64(1, "h"))
    if start < 0 or start + hours > len(series.values):
        raise ValueError(f"price_date: {date} + {hours} h is outside the shipped SMARD data "
                         f"({series.start[:10]} .. {len(series.values) // 24} days)")
    return tuple(float(v) / 1000.0 for v in series.values[start:start + hours])


@functools.lru_cache(maxsize=1)
def _smard_series():
    from swapgym.envs.core.timeseries import shipped_prices

    return shipped_prices()
