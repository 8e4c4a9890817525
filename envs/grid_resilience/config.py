"""Configuration of ``swapgym/GridResilience-v0``.

Reference: "A Multi-Type Emergency Resource Optimization Strategy for Distribution
Networks Considering the Involvement of Electric Vehicle Replaceable Batteries"
(``shared/papers/grid_resilience_ev_rb.txt``, "the paper" below).

Bus and line numbering is 0-based (pandapower's ``case33bw``); the paper numbers buses
1..33, so the paper's "node 31" is bus 30 here and the paper's line "30-31" is line 29
(line ``k`` of the radial feeder joins bus ``k`` and bus ``k + 1``; the 5 normally open
tie lines are not used).

Where the paper gives a number it is the default. Where it does not, the default is
marked: [derived] = back-solved from the paper's own tables (see the notes on the
field), [reasoned] = our choice with the reason given, [cited] = from the literature
named. The paper only states the structure of its "improved IEEE 33-node system"
(gas turbines, DGs, stationary storage, 5 candidate EV-RB nodes, 3 MESS types, 2 EV-RB
types), so every location and rating below apart from the EV counts is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

from swapgym.envs.core.config import (
    check_array,
    check_int,
    check_less,
    check_nonnegative,
    check_positive,
    check_range,
)

N_BUS = 33
N_LINE = 32  # radial lines of case33bw (ties excluded)

# [reasoned] A typical Chinese two-part time-of-use tariff for large commercial users
# (valley 23:00–07:00, peak 10:00–15:00 and 18:00–21:00, flat otherwise), CNY/kWh.
_TOU = tuple([0.35] * 7 + [0.70] * 3 + [1.10] * 5 + [0.70] * 3 + [1.10] * 3 + [0.70] * 2 + [0.35])
# [reasoned] Hourly load multiplier of a mixed residential/commercial feeder (peak 1.0 at
# 19:00), the shape of the IEEE RTS-96 winter weekday curve normalised to its peak.
_LOAD_SHAPE = (0.67, 0.63, 0.60, 0.59, 0.59, 0.60, 0.74, 0.86, 0.95, 0.96, 0.96, 0.95,
               0.95, 0.95, 0.93, 0.94, 0.99, 1.00, 1.00, 0.96, 0.91, 0.83, 0.73, 0.63)
# [reasoned] Clear-sky PV shape (fraction of rated output) for a mid-latitude site.
_PV_SHAPE = (0, 0, 0, 0, 0, 0.02, 0.10, 0.25, 0.45, 0.62, 0.75, 0.82,
             0.84, 0.80, 0.70, 0.55, 0.37, 0.18, 0.05, 0, 0, 0, 0, 0)


@dataclass(frozen=True)
class GridResilienceConfig:
    """Every parameter of the network, resources, disaster model and costs.

    Time and energy: one step = ``dt_h`` = 1 h; powers in kW, energies in kWh, money in
    CNY (the paper's currency).
    """

    # --- episode ---------------------------------------------------------------------
    horizon_h: int = 24
    """Steps per episode (1 h each) — the outage day [reasoned: the paper's lower level
    is a 24 h day; one step is one hour]."""
    scenario_index: int | None = None
    """Typical scenario to play every episode; ``None`` draws one per reset with the
    k-means probabilities κ_z."""

    # --- network (IEEE 33-bus, Baran & Wu) -------------------------------------------
    v_min_pu: float = 0.90
    """Lower voltage limit (p.u.) [reasoned: pandapower's case33bw min_vm_pu]."""
    v_max_pu: float = 1.05
    """Upper voltage limit (p.u.) [reasoned: GB/T 12325 allows ±7 % at 10 kV; 1.05 is
    the usual planning limit]."""
    line_capacity_factor: float = 2.0
    """Line limit Pf^max = factor × the line's flow at peak load on the intact feeder,
    at least ``line_capacity_min_kw`` [reasoned: case33bw has no ratings]."""
    line_capacity_min_kw: float = 500.0
    substation_capacity_kw: float = 5000.0
    """Import limit at bus 0 [reasoned: 1.35 × the feeder's 3715 kW peak]."""
    grid_price_per_kwh: tuple[float, ...] = _TOU
    """λ_t^grid, 24 hourly prices (the episode starts at 00:00)."""
    load_shape: tuple[float, ...] = _LOAD_SHAPE
    """Hourly multiplier of the case33bw peak loads."""

    # --- load priorities δ_n (objective, first term) -----------------------------------
    critical_buses: tuple[int, ...] = (6, 13, 23, 24, 29, 30, 31)
    """Buses with critical loads (hospital, water, communications) [reasoned]."""
    important_buses: tuple[int, ...] = (2, 8, 11, 16, 19, 27)
    shed_penalty_critical_per_kwh: float = 50.0
    """δ_n for critical loads [reasoned: ~2× the important-load value]."""
    shed_penalty_important_per_kwh: float = 20.0
    shed_penalty_normal_per_kwh: float = 8.0
    """δ_n for ordinary loads [cited: value of lost load for Chinese commercial users of
    roughly 5–10 CNY/kWh, e.g. estimates by the State Grid Energy Research Institute]."""

    # --- distributed generators (PV), gas turbines, stationary storage -------------------
    dg_buses: tuple[int, ...] = (17, 21, 32)
    dg_capacity_kw: tuple[float, ...] = (300.0, 300.0, 300.0)
    pv_shape: tuple[float, ...] = _PV_SHAPE
    dg_curtail_penalty_per_kwh: float = 0.5
    """χ, DG curtailment penalty [reasoned: ≈ the PV feed-in tariff]."""
    gt_buses: tuple[int, ...] = (12, 24)
    gt_capacity_kw: tuple[float, ...] = (250.0, 250.0)
    gt_fuel_cost_per_kwh: tuple[float, ...] = (0.9, 0.9)
    """α_i [reasoned: natural gas at ~3 CNY/m³ and ~3.3 kWh_e/m³]."""
    sess_buses: tuple[int, ...] = (5, 28)
    sess_energy_kwh: tuple[float, ...] = (400.0, 400.0)
    sess_power_kw: tuple[float, ...] = (200.0, 200.0)
    sess_loss_per_kwh: float = 0.05
    """w_s, storage operating-loss cost [reasoned: degradation ~0.05 CNY/kWh throughput]."""

    # --- EV replaceable batteries (section "EV-RB model") -------------------------------
    rb_candidate_buses: tuple[int, ...] = (7, 13, 17, 24, 30)
    """The 5 candidate EV-RB nodes; the paper's Table 1 puts all EV-RBs at its node 31 (bus
    30), the last candidate [reasoned: others at large loads on each lateral]."""
    rb_available_evs: tuple[int, ...] = (5, 6, 5, 7, 4)
    """Ω_b^EV, idle EVs per candidate node (the paper's Scenario 1)."""
    rb_charging_piles: tuple[int, ...] = (6, 6, 6, 8, 6)
    """Ω_b^CP [reasoned: a pile per available EV plus spare]."""
    rb_pile_power_kw: float = 60.0
    """P^CP,max, bidirectional DC pile [reasoned: common 60 kW V2G piles]."""
    rb_ev_power_kw: float = 60.0
    """P^EV,max, V2G output of one EV [reasoned]."""
    rb_type_capacity_kwh: tuple[float, ...] = (75.0, 100.0)
    """E^BP,rate per EV-RB type [derived: Table 3 gives 850 kWh for 6 × #1 + 4 × #2 and
    750 kWh with one #2 fewer ⇒ 100 kWh and 75 kWh]."""
    rb_counts: tuple[tuple[int, ...], ...] = ((0, 0, 0, 0, 6), (0, 0, 0, 0, 4))
    """Ω^RB per type (rows) and candidate node (columns): the paper's Method 1 (Table 1)."""
    rb_soc_min: float = 0.1
    rb_soc_max: float = 0.95
    rb_initial_soc: float = 0.9
    """Pre-positioned packs are kept charged [reasoned]."""
    rb_efficiency: float = 0.95
    rb_loss_per_kwh: float = 0.05
    """w_b [reasoned, as w_s]."""

    # --- mobile energy storage (3 types) ------------------------------------------------
    mess_type_energy_kwh: tuple[float, ...] = (300.0, 500.0, 800.0)
    mess_type_power_kw: tuple[float, ...] = (150.0, 250.0, 400.0)
    """[reasoned: truck-mounted 0.5C containers; only 2·cost(#2)+cost(#3) is fixed by the
    paper's tables]."""
    mess_counts: tuple[int, ...] = (0, 2, 1)
    """Ω_a^MESS per type: the paper's Method 1 (Table 1)."""
    mess_sites: tuple[int, ...] = (2, 7, 14, 24, 30)
    """Buses where a MESS can connect [reasoned: one per lateral, at the EV-RB nodes]."""
    mess_depot_site: int = 0
    """Index into ``mess_sites`` where every MESS starts."""
    mess_hops_per_hour: float = 8.0
    """Travel time between sites = ceil(feeder hops / this) hours [reasoned: a 33-bus
    urban feeder spans ~10 km; trucks need 1–3 h including hook-up]."""
    mess_move_limit: int = 3
    """Ω_trans^max, departures per MESS per episode."""
    mess_initial_soc: float = 0.9
    mess_soc_min: float = 0.1
    mess_soc_max: float = 0.95
    mess_efficiency: float = 0.95
    mess_loss_per_kwh: float = 0.05

    # --- network-loss term and line reinforcement ----------------------------------------
    flow_cost_per_kwh: float = 0.002
    """β in the objective, per kW of |Pf_l| per hour: a loss proxy [reasoned: ~0.3 %
    average loss factor per line-hop × 0.7 CNY/kWh]."""
    reinforced_lines: tuple[int, ...] = (0, 26, 29)
    """Hardened lines never fail: the paper's Method 1 (lines 1-2, 27-28, 30-31)."""

    # --- disaster model and k-means reduction ------------------------------------------
    scenario_seed: int = 0
    """Seed of the raw storm sample and of k-means (the instance is fixed per seed)."""
    n_raw_scenarios: int = 400
    n_typical_scenarios: int = 4
    wind_min_ms: float = 30.0
    wind_max_ms: float = 55.0
    """Peak gust of an event ~ U(wind_min, wind_max) [reasoned: typhoon-class events];
    events that damage no line are not disasters and are redrawn."""
    fragility_median_ms: float = 80.0
    fragility_beta: float = 0.3
    """Lognormal fragility of one ~1 km span: P(fail | w) = Φ(ln(w/median)/β)
    [reasoned, shape after Panteli et al., IEEE Trans. Power Syst. 32(5), 2017; tuned
    so that an event damages 1–6 of the 32 lines]."""
    ohm_per_km: float = 0.45
    """Line length proxy = |z| / ohm_per_km (case33bw stores no lengths)."""
    load_uncertainty: float = 0.10
    """Std of the event's load multiplier (normal, clipped to ±3σ)."""
    dg_event_factor_range: tuple[float, float] = (0.3, 1.0)
    """Uniform range of the storm's PV availability factor."""

    def __post_init__(self) -> None:
        check_int("horizon_h", self.horizon_h, minimum=1)
        if self.horizon_h > 24:
            raise ValueError(f"horizon_h: must be <= 24 (one day of profiles), got {self.horizon_h}")
        if self.scenario_index is not None:
            check_int("scenario_index", self.scenario_index, minimum=0)
            if self.scenario_index >= self.n_typical_scenarios:
                raise ValueError(f"scenario_index: must be < n_typical_scenarios "
                                 f"({self.n_typical_scenarios}), got {self.scenario_index}")
        check_positive("v_min_pu", self.v_min_pu)
        check_less("v_min_pu", self.v_min_pu, "v_max_pu", self.v_max_pu)
        check_positive("line_capacity_factor", self.line_capacity_factor)
        check_nonnegative("line_capacity_min_kw", self.line_capacity_min_kw)
        check_nonnegative("substation_capacity_kw", self.substation_capacity_kw)
        check_array("grid_price_per_kwh", self.grid_price_per_kwh, nonnegative=True, length=24)
        check_array("load_shape", self.load_shape, nonnegative=True, length=24)
        check_array("pv_shape", self.pv_shape, nonnegative=True, length=24)
        for name in ("critical_buses", "important_buses", "dg_buses", "gt_buses", "sess_buses",
                     "rb_candidate_buses", "mess_sites"):
            _check_buses(name, getattr(self, name))
        if set(self.critical_buses) & set(self.important_buses):
            raise ValueError("important_buses: overlaps critical_buses")
        for name in ("shed_penalty_critical_per_kwh", "shed_penalty_important_per_kwh",
                     "shed_penalty_normal_per_kwh", "dg_curtail_penalty_per_kwh",
                     "sess_loss_per_kwh", "rb_loss_per_kwh", "mess_loss_per_kwh",
                     "flow_cost_per_kwh"):
            check_nonnegative(name, getattr(self, name))
        n_dg = len(self.dg_buses)
        check_array("dg_capacity_kw", self.dg_capacity_kw, nonnegative=True, length=n_dg)
        n_gt = len(self.gt_buses)
        check_array("gt_capacity_kw", self.gt_capacity_kw, nonnegative=True, length=n_gt)
        check_array("gt_fuel_cost_per_kwh", self.gt_fuel_cost_per_kwh, nonnegative=True, length=n_gt)
        n_s = len(self.sess_buses)
        check_array("sess_energy_kwh", self.sess_energy_kwh, nonnegative=True, length=n_s)
        check_array("sess_power_kw", self.sess_power_kw, nonnegative=True, length=n_s)
        n_rb = len(self.rb_candidate_buses)
        for name in ("rb_available_evs", "rb_charging_piles"):
            values = getattr(self, name)
            check_array(name, values, nonnegative=True, length=n_rb)
            for i, v in enumerate(values):
                check_int(f"{name}[{i}]", v, minimum=0)
        check_nonnegative("rb_pile_power_kw", self.rb_pile_power_kw)
        check_nonnegative("rb_ev_power_kw", self.rb_ev_power_kw)
        check_array("rb_type_capacity_kwh", self.rb_type_capacity_kwh, positive=True)
        if len(self.rb_counts) != len(self.rb_type_capacity_kwh):
            raise ValueError(f"rb_counts: expected one row per EV-RB type "
                             f"({len(self.rb_type_capacity_kwh)}), got {len(self.rb_counts)}")
        for k, row in enumerate(self.rb_counts):
            if len(row) != n_rb:
                raise ValueError(f"rb_counts[{k}]: expected {n_rb} values (one per candidate node)")
            for i, v in enumerate(row):
                check_int(f"rb_counts[{k}][{i}]", v, minimum=0)
        for prefix in ("rb", "mess"):
            lo, hi, init = (getattr(self, f"{prefix}_soc_min"), getattr(self, f"{prefix}_soc_max"),
                            getattr(self, f"{prefix}_initial_soc"))
            check_range(f"{prefix}_soc_min", lo, 0.0, 1.0)
            check_range(f"{prefix}_soc_max", hi, 0.0, 1.0)
            check_less(f"{prefix}_soc_min", lo, f"{prefix}_soc_max", hi, strict=False)
            check_range(f"{prefix}_initial_soc", init, lo, hi)
            check_range(f"{prefix}_efficiency", getattr(self, f"{prefix}_efficiency"), 1e-3, 1.0)
        n_types = len(self.mess_type_energy_kwh)
        check_array("mess_type_energy_kwh", self.mess_type_energy_kwh, positive=True)
        check_array("mess_type_power_kw", self.mess_type_power_kw, positive=True, length=n_types)
        check_array("mess_counts", self.mess_counts, nonnegative=True, length=n_types)
        for i, v in enumerate(self.mess_counts):
            check_int(f"mess_counts[{i}]", v, minimum=0)
        check_int("mess_depot_site", self.mess_depot_site, minimum=0)
        if self.mess_depot_site >= len(self.mess_sites):
            raise ValueError(f"mess_depot_site: must index mess_sites (< {len(self.mess_sites)})")
        check_positive("mess_hops_per_hour", self.mess_hops_per_hour)
        check_int("mess_move_limit", self.mess_move_limit, minimum=0)
        for i, line in enumerate(self.reinforced_lines):
            check_int(f"reinforced_lines[{i}]", line, minimum=0)
            if line >= N_LINE:
                raise ValueError(f"reinforced_lines[{i}]: line index must be < {N_LINE}, got {line}")
        check_int("scenario_seed", self.scenario_seed, minimum=0)
        check_int("n_typical_scenarios", self.n_typical_scenarios, minimum=1)
        check_int("n_raw_scenarios", self.n_raw_scenarios, minimum=self.n_typical_scenarios)
        check_positive("wind_min_ms", self.wind_min_ms)
        check_less("wind_min_ms", self.wind_min_ms, "wind_max_ms", self.wind_max_ms, strict=False)
        check_positive("fragility_median_ms", self.fragility_median_ms)
        check_positive("fragility_beta", self.fragility_beta)
        check_positive("ohm_per_km", self.ohm_per_km)
        check_nonnegative("load_uncertainty", self.load_uncertainty)
        lo, hi = self.dg_event_factor_range
        check_range("dg_event_factor_range", lo, 0.0, 1.0)
        check_range("dg_event_factor_range", hi, lo, 1.0)

    @property
    def n_mess(self) -> int:
        return int(sum(self.mess_counts))


def _check_buses(name: str, buses: tuple[int, ...]) -> None:
    for i, b in enumerate(buses):
        check_int(f"{name}[{i}]", b, minimum=0)
        if b >= N_BUS:
            raise ValueError(f"{name}[{i}]: bus index must be < {N_BUS}, got {b}")
