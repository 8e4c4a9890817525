"""Battery-swap station with heterogeneous motorcycle packs (``swapgym/SwapStation-v0``)."""

from swapgym.envs.swap_station.config import SwapStationConfig
from swapgym.envs.swap_station.dynamics import SwapStationState, Transition, transition
from swapgym.envs.swap_station.env import SwapStationEnv
from swapgym.envs.swap_station.instance import StationParams, SwapStationInstance

__all__ = ["StationParams", "SwapStationConfig", "SwapStationEnv", "SwapStationInstance",
           "SwapStationState", "Transition", "transition"]
