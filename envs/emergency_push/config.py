"""Configuration of the emergency-push environment (paper defaults)."""

from __future__ import annotations

from dataclasses import dataclass

from swapgym.envs.core.config import (
    check_array,
    check_choice,
    check_int,
    check_less,
    check_nonnegative,
    check_positive,
    check_range,
)
from swapgym.envs.emergency_push import static


@dataclass(frozen=True)
class EmergencyPushConfig:
    """Second-level response of the emergency-push paper (sections 2–3).

    Road network (section 3.3.1–3.3.2)
        grid_cells: cells per side of the square street grid (paper: 26 → 27×27
            intersections). cell_km: cell size, km (paper: 0.3, one traffic light per 300 m).
        push_radius_km: push circle around the central station, km (paper: 4).
        n_vehicles: vehicles, one per intersection inside the circle, drawn per episode
            from those intersections (paper: 411). Our 27×27 grid has 553 intersections
            inside a 4 km circle, not 411: the paper "selects 411 purple points" without
            saying which, so we sample 411 of them per episode; ``None`` uses all.
        speed_limit_min_kmh / speed_limit_max_kmh: segment speed limits drawn uniformly
            per episode (paper: 20–60 km/h).
        congestion_min / congestion_max: congestion coefficient c of eq. (7) drawn per
            segment uniformly. The paper gives no range; we choose [0.5, 1.0].
        dynamic_traffic: redraw congestion every round (travel times change every hour,
            one Dijkstra per round). False: congestion drawn once per episode.
        speed_epsilon_kmh: ε of eq. (8) (paper: 0.01).

    Vehicles (sections 2.3, 3.2)
        battery_kwh: Q_e (paper: 100). charge_min_kwh / charge_max_kwh: real-time charge
            C_2 drawn as integers in this range (paper: 15–100).
        consumption_kwh_per_100km: W_3 (paper: 15).
        redraw_vehicles_each_round: the platform sees a fresh snapshot of charges each
            round (vehicles move and drive in an hour; the paper recomputes candidates
            "based on the real-time battery level" every push). False: charges persist
            and vehicles that swapped leave the candidate pool for the episode.

    Station (sections 2.5, 3.3.2)
        station_capacity_kwh: total energy of the station's full batteries (paper: 1040).
        e_low_kwh / e_high_kwh: alarm and target level (paper: 66 and 832 = 0.8·1040).
        initial_energy_kwh: energy at blackout start (paper's Figure 3 starts at E_low).
        community_demand_kwh_per_h: W_4 (paper: 33). demand_profile: optional 24 hourly
            multipliers of W_4 (hour of day = step mod 24); ``None`` is flat.
        swap_minutes: t_c, battery swap time incl. entry and exit (paper: 5).
        conflict_rule: "window" (default, section 3.3.2 as written: the cycle has N_t
            swap windows of t_c, one swap per window, higher battery wins within a
            window, the others are filtered out) or "queue" (admitted vehicles queue
            for the bay, first come first served, up to N_t per cycle). Literally, the
            window rule allows only ~3 swaps an hour in a 4 km circle, because every
            vehicle arrives within ~15 minutes; see ``swapgym reproduce emergency-push``.
        push_cycle_h: t_h (paper: 1 h; one step is one push round).
        n_stations: n_1, stations of the brand in the blackout area (paper: 1).
        theta5_kwh: θ5, the user's safe return energy. ``None`` computes it as the
            paper does (section 3.1): fit S and P1 to Table 2, maximise S·P1 by
            Newton–Raphson. From Table 2 that gives θ5* ≈ 47.3 kWh, not the paper's
            printed 37.03 (see ``swapgym reproduce emergency-push``).
        consent_probability: chance a pushed user agrees. ``None``: P1(θ5)/1000 from the
            fitted sigmoid (the share of users whose destination is reachable on θ5).
        blackout_hours: episode length in push rounds (default 24).

    Action and reward
        max_push_per_round: cap on pushes per round (the agent may push more than N_t
            to make up for refusals; extra selections beyond the cap are dropped in slot
            order). candidate_slots: candidates listed per ranking block in the
            observation and the action (4 blocks: time-, distance-, energy-first push
            lists and the raw nearest vehicles); the push lists hold at most N_t.
        unmet_penalty_per_kwh: weight of community energy not supplied (heavy).
        band_penalty_per_kwh: weight per kWh the station is below E_high after a round.
        travel_penalty_per_km: weight per km driven by pushed vehicles to the station.
    """

    grid_cells: int = 26
    cell_km: float = 0.3
    push_radius_km: float = 4.0
    n_vehicles: int | None = 411
    speed_limit_min_kmh: float = 20.0
    speed_limit_max_kmh: float = 60.0
    congestion_min: float = 0.5
    congestion_max: float = 1.0
    dynamic_traffic: bool = True
    speed_epsilon_kmh: float = 0.01

    battery_kwh: float = 100.0
    charge_min_kwh: int = 15
    charge_max_kwh: int = 100
    consumption_kwh_per_100km: float = 15.0
    redraw_vehicles_each_round: bool = True

    station_capacity_kwh: float = 1040.0
    e_low_kwh: float = 66.0
    e_high_kwh: float = 832.0
    initial_energy_kwh: float = 66.0
    community_demand_kwh_per_h: float = 33.0
    demand_profile: tuple[float, ...] | None = None
    swap_minutes: float = 5.0
    conflict_rule: str = "window"
    push_cycle_h: float = 1.0
    n_stations: int = 1
    theta5_kwh: float | None = None
    consent_probability: float | None = None
    blackout_hours: int = 24

    max_push_per_round: int = 24
    candidate_slots: int = 12
    unmet_penalty_per_kwh: float = 10.0
    band_penalty_per_kwh: float = 0.05
    travel_penalty_per_km: float = 0.05

    def __post_init__(self) -> None:
        check_int("grid_cells", self.grid_cells, minimum=2)
        check_positive("cell_km", self.cell_km)
        check_positive("push_radius_km", self.push_radius_km)
        if self.n_vehicles is not None:
            check_int("n_vehicles", self.n_vehicles, minimum=1)
        check_positive("speed_limit_min_kmh", self.speed_limit_min_kmh)
        check_less("speed_limit_min_kmh", self.speed_limit_min_kmh, "speed_limit_max_kmh",
                   self.speed_limit_max_kmh, strict=False)
        check_positive("congestion_min", self.congestion_min)
        check_less("congestion_min", self.congestion_min, "congestion_max", self.congestion_max,
                   strict=False)
        check_positive("speed_epsilon_kmh", self.speed_epsilon_kmh)
        check_positive("battery_kwh", self.battery_kwh)
        check_int("charge_min_kwh", self.charge_min_kwh, minimum=0)
        check_int("charge_max_kwh", self.charge_max_kwh, minimum=0)
        check_less("charge_min_kwh", self.charge_min_kwh, "charge_max_kwh", self.charge_max_kwh,
                   strict=False)
        check_less("charge_max_kwh", self.charge_max_kwh, "battery_kwh", self.battery_kwh,
                   strict=False)
        check_positive("consumption_kwh_per_100km", self.consumption_kwh_per_100km)
        check_positive("station_capacity_kwh", self.station_capacity_kwh)
        check_nonnegative("e_low_kwh", self.e_low_kwh)
        check_less("e_low_kwh", self.e_low_kwh, "e_high_kwh", self.e_high_kwh)
        check_less("e_high_kwh", self.e_high_kwh, "station_capacity_kwh", self.station_capacity_kwh,
                   strict=False)
        check_range("initial_energy_kwh", self.initial_energy_kwh, 0.0, self.station_capacity_kwh)
        check_nonnegative("community_demand_kwh_per_h", self.community_demand_kwh_per_h)
        if self.demand_profile is not None:
            check_array("demand_profile", self.demand_profile, nonnegative=True, length=24)
        check_positive("swap_minutes", self.swap_minutes)
        check_choice("conflict_rule", self.conflict_rule, ("window", "queue"))
        check_positive("push_cycle_h", self.push_cycle_h)
        check_int("n_stations", self.n_stations, minimum=1)
        if self.theta5_kwh is not None:
            check_range("theta5_kwh", self.theta5_kwh, 0.0, self.battery_kwh)
        if self.consent_probability is not None:
            check_range("consent_probability", self.consent_probability, 0.0, 1.0)
        check_int("blackout_hours", self.blackout_hours, minimum=1)
        check_int("max_push_per_round", self.max_push_per_round, minimum=1)
        check_int("candidate_slots", self.candidate_slots, minimum=1)
        check_nonnegative("unmet_penalty_per_kwh", self.unmet_penalty_per_kwh)
        check_nonnegative("band_penalty_per_kwh", self.band_penalty_per_kwh)
        check_nonnegative("travel_penalty_per_km", self.travel_penalty_per_km)
        if self.n_push_max < 1:
            raise ValueError(f"swap_minutes: one push cycle ({self.push_cycle_h} h) must fit at "
                             f"least one swap of {self.swap_minutes} min")

    # Derived quantities of the static model (sections 2.3–2.5).
    @property
    def n_push_max(self) -> int:
        """N_t of eq. (5)."""
        return static.push_quantity(self.push_cycle_h, self.n_stations, self.swap_minutes)

    @property
    def theta5(self) -> float:
        return self.theta5_kwh if self.theta5_kwh is not None else static.optimal_theta5()[0]

    @property
    def theta4(self) -> float:
        """eq. (3), taken at its minimum W_4/N_t."""
        return static.theta4_min(self.community_demand_kwh_per_h, self.n_push_max)

    @property
    def q_f(self) -> float:
        """eq. (2): Q_f = θ4 + θ5, the least energy a battery must arrive with."""
        return static.min_required_energy(self.theta4, self.theta5)

    @property
    def consent(self) -> float:
        if self.consent_probability is not None:
            return self.consent_probability
        if self.theta5_kwh is None:
            return static.optimal_theta5()[1]
        fits = static.table2_fits()
        p1 = next(f for f in fits["P1"] if f.family == "sigmoid")
        return float(min(max(p1(self.theta5_kwh) / 1000.0, 0.0), 1.0))
