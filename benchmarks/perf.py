"""Speed benchmark: env steps per second including resets, with random *valid* actions,
next to a trivial env made the same way (``gym.make``, same wrappers, same sampler) —
the floor of what any Python env can do here. Ratios compare within one run, so the
figures mean something on any machine."""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import swapgym  # noqa: F401
from swapgym.envs.core.spaces import random_valid_action
from swapgym.envs.registration import ENTRIES

TRIVIAL_ID = "swapgym-internal/Trivial-v0"

# Extra configurations measured besides each env's defaults.
VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "swapgym/EmergencyPush-v0": [("fixed traffic", {"dynamic_traffic": False})],
}


class TrivialEnv(gym.Env):
    """Discrete(2) actions with a mask, a 4-float observation, 24-step episodes."""

    metadata = {"render_modes": []}

    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(2)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self._obs = np.zeros(4, np.float32)
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._obs.copy(), {}

    def step(self, action):
        self._t += 1
        return self._obs.copy(), 0.0, self._t >= 24, False, {"reward_breakdown": {"r": 0.0}}

    def action_masks(self):
        return np.ones(2, dtype=bool)


@dataclass
class PerfRow:
    env: str
    variant: str
    steps: int
    seconds: float

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds


def measure(env_id: str, seconds: float = 2.0, seed: int = 0, **config: Any) -> tuple[int, float]:
    """Steps in ~``seconds`` of stepping random valid actions, resets included."""
    if env_id == TRIVIAL_ID and TRIVIAL_ID not in gym.registry:
        gym.register(TRIVIAL_ID, entry_point=TrivialEnv, max_episode_steps=24)
    env = gym.make(env_id, **config)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps, start = 0, time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(64):
            _, _, term, trunc, _ = env.step(random_valid_action(env, rng))
            steps += 1
            if term or trunc:
                env.reset()
        now = time.perf_counter()
        if now >= deadline:
            break
    env.close()
    return steps, now - start


def run(seconds: float = 2.0, envs: list[str] | None = None) -> list[PerfRow]:
    rows = [PerfRow("trivial env (floor)", "", *measure(TRIVIAL_ID, seconds))]
    for e in ENTRIES:
        if envs and e.env_id not in envs and e.name not in envs:
            continue
        rows.append(PerfRow(e.env_id, "defaults", *measure(e.env_id, seconds)))
        for label, cfg in VARIANTS.get(e.env_id, []):
            rows.append(PerfRow(e.env_id, label, *measure(e.env_id, seconds, **cfg)))
    return rows


def solver_timings(envs: list[str] | None = None) -> list[tuple[str, str, float]]:
    """(env, what, seconds) from each problem's ``benchmarks.reproduce.<problem>.solver_timings``."""
    import importlib

    out = []
    for e in ENTRIES:
        if envs and e.env_id not in envs and e.name not in envs:
            continue
        try:
            mod = importlib.import_module(f"swapgym.benchmarks.reproduce.{e.problem.replace('-', '_')}")
        except ModuleNotFoundError:
            continue
        fn = getattr(mod, "solver_timings", None)
        if fn is not None:
            out += [(e.env_id, what, s) for what, s in fn().items()]
    return out


def to_markdown(rows: list[PerfRow], solvers: list[tuple[str, str, float]] | None = None) -> str:
    floor = rows[0].steps_per_s
    lines = [f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
             "single process, random valid actions, resets included.", "",
             "| env | variant | steps/s | ratio to floor |", "|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.env} | {r.variant} | {r.steps_per_s:,.0f} | {r.steps_per_s / floor:.3f} |")
    if solvers:
        lines += ["", "| env | solver run | seconds |", "|---|---|---|"]
        lines += [f"| {e} | {w} | {s:.3f} |" for e, w, s in solvers]
    return "\n".join(lines)
