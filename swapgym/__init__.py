"""swapgym: Gymnasium environments for EV battery-swap and energy-exchange scheduling.

Importing the package registers every environment id (``swapgym/<Name>-v0``)::

    import gymnasium as gym
    import swapgym  # noqa: F401  (registers the ids)

    env = gym.make("swapgym/EmergencyPush-v0")
"""

from __future__ import annotations

from swapgym.envs.registration import ENV_IDS, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = ["ENV_IDS", "__version__"]
