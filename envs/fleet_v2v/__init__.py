"""FleetV2V: electric-van fleet with V2V energy sharing (Ye et al. 2025)."""

from swapgym.envs.fleet_v2v.config import FleetV2VConfig
from swapgym.envs.fleet_v2v.dynamics import FleetState
from swapgym.envs.fleet_v2v.env import FleetV2VEnv
from swapgym.envs.fleet_v2v.instance import FleetV2VInstance

Config = FleetV2VConfig
Env = FleetV2VEnv
Instance = FleetV2VInstance
State = FleetState

__all__ = ["Config", "Env", "FleetState", "FleetV2VConfig", "FleetV2VEnv", "FleetV2VInstance",
           "Instance", "State"]
