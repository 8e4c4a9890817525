"""The emergency-push problem: EV battery-swap requests pushed during a blackout."""

from swapgym.envs.emergency_push.config import EmergencyPushConfig
from swapgym.envs.emergency_push.env import EmergencyPushEnv
from swapgym.envs.emergency_push.instance import EmergencyPushInstance, make_instance

__all__ = ["EmergencyPushConfig", "EmergencyPushEnv", "EmergencyPushInstance", "make_instance"]
