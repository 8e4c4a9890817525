"""Configuration of the battery-swap station (``swapgym/SwapStation-v0``)."""

from __future__ import annotations

from dataclasses import dataclass

from swapgym.envs.core.config import (
    check_array,
    check_choice,
    check_finite,
    check_int,
    check_nonnegative,
    check_positive,
    check_range,
)

SPLITS = ("all", "train", "val", "test")


@dataclass(frozen=True)
class SwapStationConfig:
    """One motorcycle battery-swap station with K battery types (battery heterogeneity).

    Only the abstract of the reference paper (Fauziah, Romdlony, Muharam, Yakub 2025,
    "RHO-LSTM-based optimal scheduling at the motorcycle battery swapping station under
    battery heterogeneity") survives, so every number below is either from the works it
    builds on (Shalaby et al. 2022 for the rolling-horizon swap model; Wang et al. 2011
    for degradation) or a documented choice. One step is one hour.

    Station (per type k; tuples of length K, K = len(capacity_kwh)):
        capacity_kwh: pack energy at 100 % SoC, kWh. Default (1.5, 2.0, 3.0): three
            motorcycle pack sizes (choice; typical Indonesian e-motorcycle packs are
            1.4–3 kWh).
        n_batteries: packs of each type owned by the station. Default 40 each (the issue's
            sizing, "3 types × 40 batteries").
        n_chargers: charging bays per type (at most that many packs charge — or discharge —
            at once). Default 10 each (choice).
        type_shares: share of arriving motorcycles that use each type (used to split a total
            arrival series across types). Default (0.45, 0.35, 0.20), choice.
        replacement_cost_eur_per_kwh: price of a new pack per kWh of capacity, EUR/kWh;
            feeds the Wang (2011) degradation cost. Default 250 (choice, LFP pack price).

    State of charge (SoC) is discretised so that the environment and the MILP describe
    exactly the same transition:
        soc_levels: L; a pack holds l/L of ``full_soc`` for l = 0..L. Default 4 (25 % steps).
        levels_per_hour: levels gained (lost) by one hour of charging (discharging);
            the charging C-rate is levels_per_hour * full_soc / L. Default 1 (0.25C, a
            3-hour charge from the return SoC, typical of swap-station motorcycle chargers).
        full_soc: SoC of the top level, the "full" threshold a pack must reach to be
            swapped out. Default 1.0.
        return_soc: SoC of a pack a rider brings back, rounded to the nearest level.
            Default 0.25 (choice; riders swap at about a quarter of charge). Deterministic,
            so a perfect-information plan replays exactly.
        initial_full_fraction: probability that a pack starts the episode full; the rest
            start at a uniformly random lower level. Default 0.5.

    Economics (all in EUR; the shipped prices are EUR/MWh):
        swap_price_per_kwh: revenue per kWh delivered by a swap, i.e. a swap of type k earns
            swap_price_per_kwh * capacity_kwh[k] * (full_soc - return SoC). Default 0.30
            (choice: Rp ~5,000–7,000 per 1.1 kWh delivered in Indonesia ≈ EUR 0.30/kWh).
        lost_swap_penalty_eur: cost of a rider who finds no full pack of their type
            (goodwill). Default 0.20 (choice).
        charge_efficiency / discharge_efficiency: grid-to-pack and pack-to-grid
            efficiencies. Default 0.95 each (choice).
        allow_discharge: enable selling pack energy to the grid (V2G); adds one action
            dimension per type. Default False (the abstract mentions discharging costs but
            not its parameters).
        degradation_cost_per_kwh: EUR per kWh charged into a pack; ``None`` (default)
            derives it from Wang et al. (2011) eq. (2) at the charging C-rate, linearised as
            the life-average (secant) cost to ``eol_capacity_loss_pct`` (see
            ``swapgym.envs.core.battery``). Every kWh charged is later discharged once (by a
            rider or to the grid), so charging throughput counts each cycle once.
        stock_value_per_kwh: value of the energy held in the packs, EUR/kWh, credited (or
            debited) on the last step for the change in stored energy over the episode, so a
            finite episode neither rewards draining the stock nor charging packs no one
            will use. ``None`` (default): the episode's mean price / charge_efficiency +
            the degradation cost, i.e. what the energy would cost to put back on an
            average hour. 0 disables it. Planners use the same value at their horizon end.
        battery_temperature_k: cell temperature for the Arrhenius term, K. Default 298.15.
        eol_capacity_loss_pct: capacity loss at which a pack is retired, %. Default 20.

    Data and episodes:
        episode_hours: hours per episode. Default 24 — the paper reports profit per day,
            and 24 h keeps the benchmark (five seeds × every RHO variant) within budget.
        price_lookahead_hours: prices known ahead at each hour (day-ahead market), including
            the current hour. Default 24 (a rolling simplification of day-ahead clearing).
        arrival_history_hours: past hourly arrivals known at the episode start (for
            forecasters) and shown in the observation's last 24. Default 168 (one week).
        price_source: "smard" (shipped SMARD Germany day-ahead 2018) or "synthetic".
        price_csv: path of a user CSV (``timestamp``, ``price_per_mwh``); overrides price_source.
        arrival_source: "acn" (shipped ACN-Data Caltech + JPL, May–Dec 2019) or "synthetic".
        arrivals_csv: path of a user CSV (``timestamp`` and ``arrivals`` or ``arrivals_0``…);
            overrides arrival_source.
        arrival_scale: multiplier on the data's arrival counts (ACN counts car sessions at
            two sites; 2.0 gives ≈ 150 swaps/day on weekdays for this station). Default 2.0.
        arrival_noise: "round" (scaled count rounded stochastically, then split across types
            multinomially — keeps the real day's profile) or "poisson" (Poisson around the
            scaled count). Default "round".
        split: which days of the arrival series episodes start on: chronological "train"
            (first train_fraction), "val" (next val_fraction), "test" (the rest) or "all".
            Default "test", so benchmark numbers are out of sample for the forecasters;
            train agents with split="train".
        train_fraction / val_fraction: chronological split of the arrival days.
            Defaults 0.7 / 0.15.
        synthetic_seed: seed of the synthetic series (made once per env, not per reset).
    """

    capacity_kwh: tuple[float, ...] = (1.5, 2.0, 3.0)
    n_batteries: tuple[int, ...] = (40, 40, 40)
    n_chargers: tuple[int, ...] = (10, 10, 10)
    type_shares: tuple[float, ...] = (0.45, 0.35, 0.20)
    replacement_cost_eur_per_kwh: float = 250.0
    soc_levels: int = 4
    levels_per_hour: int = 1
    full_soc: float = 1.0
    return_soc: float = 0.25
    initial_full_fraction: float = 0.5
    swap_price_per_kwh: float = 0.30
    lost_swap_penalty_eur: float = 0.20
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    allow_discharge: bool = False
    degradation_cost_per_kwh: float | None = None
    stock_value_per_kwh: float | None = None
    battery_temperature_k: float = 298.15
    eol_capacity_loss_pct: float = 20.0
    episode_hours: int = 24
    price_lookahead_hours: int = 24
    arrival_history_hours: int = 168
    price_source: str = "smard"
    price_csv: str | None = None
    arrival_source: str = "acn"
    arrivals_csv: str | None = None
    arrival_scale: float = 2.0
    arrival_noise: str = "round"
    split: str = "test"
    train_fraction: float = 0.7
    val_fraction: float = 0.15
    synthetic_seed: int = 0

    def __post_init__(self) -> None:
        # tuples from gym.make(..., capacity_kwh=[...]) arrive as lists; freeze them
        for name in ("capacity_kwh", "n_batteries", "n_chargers", "type_shares"):
            value = getattr(self, name)
            if isinstance(value, str) or not hasattr(value, "__iter__"):
                raise ValueError(f"{name}: expected a sequence with one value per type, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        k = len(self.capacity_kwh)
        if k < 1:
            raise ValueError("capacity_kwh: need at least one battery type")
        check_array("capacity_kwh", self.capacity_kwh, positive=True)
        for name in ("n_batteries", "n_chargers"):
            values = getattr(self, name)
            if len(values) != k:
                raise ValueError(f"{name}: expected {k} values (one per type of capacity_kwh), got {len(values)}")
            for i, v in enumerate(values):
                check_int(f"{name}[{i}]", v, minimum=1)
        check_array("type_shares", self.type_shares, nonnegative=True, length=k)
        if sum(self.type_shares) <= 0:
            raise ValueError("type_shares: must not all be zero")
        check_positive("replacement_cost_eur_per_kwh", self.replacement_cost_eur_per_kwh)
        check_int("soc_levels", self.soc_levels, minimum=1)
        check_int("levels_per_hour", self.levels_per_hour, minimum=1)
        if self.levels_per_hour > self.soc_levels:
            raise ValueError(f"levels_per_hour: must be <= soc_levels ({self.soc_levels}), "
                             f"got {self.levels_per_hour}")
        check_range("full_soc", self.full_soc, 1e-6, 1.0)
        check_range("return_soc", self.return_soc, 0.0, self.full_soc)
        if round(self.return_soc / self.full_soc * self.soc_levels) >= self.soc_levels:
            raise ValueError("return_soc: rounds to the full level; riders would return full packs")
        check_range("initial_full_fraction", self.initial_full_fraction, 0.0, 1.0)
        check_nonnegative("swap_price_per_kwh", self.swap_price_per_kwh)
        check_nonnegative("lost_swap_penalty_eur", self.lost_swap_penalty_eur)
        check_range("charge_efficiency", self.charge_efficiency, 1e-6, 1.0)
        check_range("discharge_efficiency", self.discharge_efficiency, 1e-6, 1.0)
        if not isinstance(self.allow_discharge, bool):
            raise ValueError(f"allow_discharge: expected True or False, got {self.allow_discharge!r}")
        if self.degradation_cost_per_kwh is not None:
            check_nonnegative("degradation_cost_per_kwh", self.degradation_cost_per_kwh)
        if self.stock_value_per_kwh is not None:
            check_finite("stock_value_per_kwh", self.stock_value_per_kwh)
        check_positive("battery_temperature_k", self.battery_temperature_k)
        check_range("eol_capacity_loss_pct", self.eol_capacity_loss_pct, 1e-6, 100.0)
        check_int("episode_hours", self.episode_hours, minimum=1)
        check_int("price_lookahead_hours", self.price_lookahead_hours, minimum=1)
        check_int("arrival_history_hours", self.arrival_history_hours, minimum=24)
        check_choice("price_source", self.price_source, ("smard", "synthetic"))
        check_choice("arrival_source", self.arrival_source, ("acn", "synthetic"))
        for name in ("price_csv", "arrivals_csv"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str | bytes) and not hasattr(value, "__fspath__"):
                raise ValueError(f"{name}: expected a file path, got {value!r}")
            if value is not None:
                object.__setattr__(self, name, str(value))
        check_positive("arrival_scale", self.arrival_scale)
        check_choice("arrival_noise", self.arrival_noise, ("round", "poisson"))
        check_choice("split", self.split, SPLITS)
        check_range("train_fraction", self.train_fraction, 0.0, 1.0)
        check_range("val_fraction", self.val_fraction, 0.0, 1.0)
        if self.train_fraction + self.val_fraction >= 1.0:
            raise ValueError(f"val_fraction: train_fraction + val_fraction must be < 1, "
                             f"got {self.train_fraction} + {self.val_fraction}")
        check_int("synthetic_seed", self.synthetic_seed, minimum=0)

    @property
    def n_types(self) -> int:
        return len(self.capacity_kwh)
