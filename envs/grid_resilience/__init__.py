"""GridResilience: distribution-network resilience on the IEEE 33-bus feeder with EV
replaceable batteries and mobile storage (``swapgym/GridResilience-v0``)."""

from swapgym.envs.grid_resilience.config import GridResilienceConfig
from swapgym.envs.grid_resilience.dynamics import GridResilienceState
from swapgym.envs.grid_resilience.env import GridResilienceEnv
from swapgym.envs.grid_resilience.instance import GridResilienceInstance, make_instance

__all__ = ["GridResilienceConfig", "GridResilienceEnv", "GridResilienceInstance",
           "GridResilienceState", "make_instance"]
