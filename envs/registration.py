"""One table of every environment: id, entry points, horizon and its key quantity.

Adding a problem is one row here. ``register_envs`` is called by ``import swapgym``.
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

NAMESPACE = "swapgym"


@dataclass(frozen=True)
class EnvEntry:
    """Registry row for one problem.

    ``key_quantity`` is the ``info`` key (a float per step) that the benchmark plots as
    the paper's key trajectory; ``problem`` is the slug used by ``swapgym reproduce``;
    ``summary_metrics`` are the episode metrics the benchmark table shows (all metrics
    are in ``results.csv``).
    """

    name: str
    entry_point: str
    max_episode_steps: int
    problem: str
    key_quantity: str
    key_quantity_label: str
    vector_entry_point: str | None = None
    summary_metrics: tuple[str, ...] = ()  # the paper's metrics shown in benchmark tables

    @property
    def env_id(self) -> str:
        return f"{NAMESPACE}/{self.name}-v0"


ENTRIES: tuple[EnvEntry, ...] = (
    EnvEntry(
        name="EmergencyPush",
        entry_point="swapgym.envs.emergency_push.env:EmergencyPushEnv",
        max_episode_steps=24,
        problem="emergency-push",
        key_quantity="station_energy_kwh",
        key_quantity_label="station energy (kWh)",
        summary_metrics=("unmet_kwh", "hours_below_e_low", "first_hour_e_high", "final_energy_kwh", "km_driven", "vehicles_arrived"),
    ),
    EnvEntry(
        name="SwapStation",
        entry_point="swapgym.envs.swap_station.env:SwapStationEnv",
        max_episode_steps=24,
        problem="swap-station",
        key_quantity="profit_eur",
        key_quantity_label="profit per hour (EUR)",
        vector_entry_point="swapgym.envs.swap_station.vector:SwapStationVectorEnv",
        summary_metrics=("profit_eur", "swaps_served", "swaps_lost", "batteries_provided", "energy_bought_kwh", "peak_grid_power_kw"),
    ),
    EnvEntry(
        name="Expressway",
        entry_point="swapgym.envs.expressway.env:ExpresswayEnv",
        vector_entry_point="swapgym.envs.expressway.vector:ExpresswayVectorEnv",
        max_episode_steps=24,
        problem="expressway",
        key_quantity="grid_power_kw",
        key_quantity_label="total grid power (kW)",
        summary_metrics=("total_cost_usd", "ppc_usd", "bdc_usd", "b2b_kwh", "released", "unserved"),
    ),
    EnvEntry(
        name="FleetV2V",
        entry_point="swapgym.envs.fleet_v2v.env:FleetV2VEnv",
        max_episode_steps=400,
        problem="fleet-v2v",
        key_quantity="fleet_mean_soc",
        key_quantity_label="fleet mean SOC",
        summary_metrics=("total_cost", "cost_charging", "cost_time_window", "cost_aging", "v2v_delivered_kwh", "station_grid_kwh"),
    ),
    EnvEntry(
        name="GridResilience",
        entry_point="swapgym.envs.grid_resilience.env:GridResilienceEnv",
        max_episode_steps=24,
        problem="grid-resilience",
        key_quantity="load_served_kw",
        key_quantity_label="load served (kW)",
        summary_metrics=("total_cost", "energy_not_served_kwh", "critical_energy_not_served_kwh", "voltage_violation_bus_hours", "cost_load_shedding"),
    ),
)

ENV_IDS: tuple[str, ...] = tuple(e.env_id for e in ENTRIES)


def entry(env_id_or_name: str) -> EnvEntry:
    """The registry row for ``swapgym/Name-v0``, ``Name-v0``, ``Name`` or the problem slug."""
    key = env_id_or_name.removeprefix(f"{NAMESPACE}/").removesuffix("-v0")
    for e in ENTRIES:
        if key in (e.name, e.problem):
            return e
    known = ", ".join(ENV_IDS)
    raise ValueError(f"unknown environment {env_id_or_name!r}; registered: {known}")


def register_envs() -> None:
    """Register every id once (idempotent, so re-imports and subprocesses are safe)."""
    for e in ENTRIES:
        if e.env_id in gym.registry:
            continue
        kwargs = {}
        if e.vector_entry_point is not None:
            kwargs["vector_entry_point"] = e.vector_entry_point
        gym.register(
            id=e.env_id,
            entry_point=e.entry_point,
            max_episode_steps=e.max_episode_steps,
            **kwargs,
        )
