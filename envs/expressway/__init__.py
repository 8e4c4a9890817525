"""Expressway multi-station battery swapping with B2B exchange and EV energy release."""

from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.dynamics import ExpresswayState
from swapgym.envs.expressway.env import ActionLayout, ExpresswayEnv
from swapgym.envs.expressway.instance import ExpresswayInstance, generate, make_instance

__all__ = ["ActionLayout", "ExpresswayConfig", "ExpresswayEnv", "ExpresswayInstance",
           "ExpresswayState", "generate", "make_instance"]
