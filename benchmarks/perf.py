"""Speed benchmark: env steps per second including resets, with random *valid* actions,
next to a trivial env made the same way (``gym.make``, same wrappers, same sampler) —
the floor of what any Python env can do here. Ratios compare within one run, so the
figures mean something on any machine."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

import swapgym  # noqa: F401
from swapgym.envs.core.spaces import get_action_masks, sample_valid_action
from swapgym.envs.registration import ENTRIES

TRIVIAL_ID = "swapgym-internal/Trivial-v0"
# Steps before the clock starts: steady-state speed. Compiled (numba) code is loaded from
# its on-disk cache at the first call of a process (~0.3-0.5 s; compiled the first time
# ever, ~3-10 s); that once-per-process cost is not the env's speed.
WARMUP_STEPS = 64

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
    """``seconds`` is the whole loop (sampling the random valid action included);
    ``env_seconds`` only the time inside the env: ``reset()``, ``step()`` and
    ``action_masks()`` (masks are the env's work, drawing from them the benchmark's)."""

    env: str
    variant: str
    steps: int
    seconds: float
    env_seconds: float = float("nan")

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds

    @property
    def env_steps_per_s(self) -> float:
        return self.steps / self.env_seconds


def measure_split(env_id: str, seconds: float = 2.0, seed: int = 0, **config: Any) -> tuple[int, float, float]:
    """(steps, loop seconds, env seconds) in ~``seconds`` of stepping random valid actions,
    resets included; env seconds count only ``reset``/``step``/``action_masks`` calls."""
    if env_id == TRIVIAL_ID and TRIVIAL_ID not in gym.registry:
        gym.register(TRIVIAL_ID, entry_point=TrivialEnv, max_episode_steps=24)
    env = gym.make(env_id, **config)
    space, clock = env.action_space, time.perf_counter
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    for _ in range(WARMUP_STEPS):  # first calls: numba loads (or compiles) its code
        _, _, term, trunc, _ = env.step(sample_valid_action(space, get_action_masks(env), rng))
        if term or trunc:
            env.reset()
    steps, in_env, start = 0, 0.0, clock()
    deadline = start + seconds
    while True:
        for _ in range(64):
            t0 = clock()
            mask = get_action_masks(env)
            t1 = clock()
            action = sample_valid_action(space, mask, rng)
            t2 = clock()
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                env.reset()
            in_env += (t1 - t0) + (clock() - t2)
            steps += 1
        now = clock()
        if now >= deadline:
            break
    env.close()
    return steps, now - start, in_env


def measure(env_id: str, seconds: float = 2.0, seed: int = 0, **config: Any) -> tuple[int, float]:
    """Steps in ~``seconds`` of stepping random valid actions, resets included (the whole loop)."""
    steps, elapsed, _ = measure_split(env_id, seconds, seed, **config)
    return steps, elapsed


VECTOR_NUM_ENVS = 1024  # sub-envs of the native batched envs (issue 8's target is at N = 1024)
VECTOR_VARIANT = "native vector env, N = {n} (env-steps/s)"


def batched_valid_action_sampler(env: Any, seed: int = 0):
    """``action(k)`` -> (num_envs, ...) random *valid* actions for a vector env with a
    (Multi)Discrete single action space: per dimension uniform among the values the batched
    ``action_masks()`` allows (all values without masks). The random keys cycle through a
    small pre-drawn pool (index ``k``), so a benchmark measures the env, not the generator."""
    space, num_envs = env.single_action_space, env.num_envs
    if not isinstance(space, gym.spaces.MultiDiscrete | gym.spaces.Discrete):
        raise TypeError(f"batched_valid_action_sampler: only (Multi)Discrete action spaces, got {space!r}")
    nvec = np.atleast_1d(space.nvec if isinstance(space, gym.spaces.MultiDiscrete) else space.n).ravel()
    masks = getattr(env.unwrapped, "action_masks", None)
    D, width = len(nvec), int(nvec.max())
    # random keys whose low `bits` bits hold the value: the largest allowed key per dimension is a
    # uniformly random allowed value (a maximum over whole planes; an argmax over a tiny axis
    # costs more than the env step)
    bits = max(1, int(width - 1).bit_length())
    rng = np.random.default_rng(seed)
    # value-major (width, N, D): the maximum over values is then a reduction over the outer axis
    pool = ((rng.integers(1, 2 ** (31 - bits), (4, width, num_envs, D)) << bits)
            | np.arange(width)[:, None, None]).astype(np.int32)
    flat_index = None
    if len(set(nvec.tolist())) > 1:  # pad each dimension of the flat mask to `width`
        offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]])
        flat_index = np.where(np.arange(width) < nvec[:, None], offsets[:, None] + np.arange(width), -1)
    keys = np.empty((width, num_envs, D), dtype=np.int32)  # reused buffers: no allocation per step
    best = np.empty((num_envs, D), dtype=np.int32)

    def action(k: int, mask: np.ndarray | None = None) -> np.ndarray:
        """Actions from pool entry ``k``; ``mask``: the batched mask if already read."""
        m = None
        if masks is not None:
            m = np.asarray(masks() if mask is None else mask, dtype=bool)
            m = m.reshape(num_envs, D, width) if flat_index is None \
                else np.where(flat_index >= 0, m[:, np.maximum(flat_index, 0)], False)
        elif flat_index is not None:
            m = flat_index >= 0
        if m is None:
            keys[...] = pool[k % len(pool)]
        else:
            np.multiply(pool[k % len(pool)], m.transpose(2, 0, 1), out=keys)
        np.maximum.reduce(keys, axis=0, out=best)
        return (best & ((1 << bits) - 1)).astype(np.int64).reshape(num_envs, *space.shape)

    return action


def measure_vector_split(env_id: str, num_envs: int = VECTOR_NUM_ENVS, seconds: float = 2.0,
                         seed: int = 0) -> tuple[int, float, float]:
    """(env-steps, loop seconds, env seconds) in ~``seconds`` of the id's native batched env
    (``gym.make_vec(..., vectorization_mode="vector_entry_point")``), autoresets included, with
    random *valid* actions from :func:`batched_valid_action_sampler`. Env-steps are sub-env
    steps (vector steps x ``num_envs``); env seconds count ``step()`` and ``action_masks()``."""
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
    action = batched_valid_action_sampler(env, seed)
    masks = getattr(env.unwrapped, "action_masks", None)
    clock = time.perf_counter
    env.reset(seed=seed)
    for k in range(WARMUP_STEPS // 16):  # first calls: numba loads (or compiles) its code
        env.step(action(k, None if masks is None else masks()))
    steps, k, in_env, start = 0, WARMUP_STEPS // 16, 0.0, clock()
    deadline = start + seconds
    while True:
        for _ in range(16):
            t0 = clock()
            mask = None if masks is None else masks()
            t1 = clock()
            a = action(k, mask)
            t2 = clock()
            env.step(a)
            in_env += (t1 - t0) + (clock() - t2)
            k += 1
        steps += 16 * num_envs
        now = clock()
        if now >= deadline:
            break
    env.close()
    return steps, now - start, in_env


def measure_vector(env_id: str, num_envs: int = VECTOR_NUM_ENVS, seconds: float = 2.0,
                   seed: int = 0) -> tuple[int, float]:
    """(env-steps, loop seconds) of :func:`measure_vector_split`."""
    steps, elapsed, _ = measure_vector_split(env_id, num_envs, seconds, seed)
    return steps, elapsed


def vector_steps_per_s(env_id: str, num_envs: int = VECTOR_NUM_ENVS, seconds: float = 2.0) -> float:
    """Env-steps per second of the id's native batched env (see :func:`measure_vector`)."""
    steps, elapsed = measure_vector(env_id, num_envs, seconds)
    return steps / elapsed


def run(seconds: float = 2.0, envs: list[str] | None = None, repeat: int = 1) -> list[PerfRow]:
    """One row per env and variant (the trivial floor first). ``repeat`` > 1 measures
    every row that many times, round after round (a burst of load on the VM then hits
    one round, not one env), and keeps each row's median run by env steps/s."""
    if repeat < 1:
        raise ValueError(f"repeat: must be at least 1, got {repeat}")
    jobs: list[tuple[str, str, Any]] = [("trivial env (floor)", "", lambda: measure_split(TRIVIAL_ID, seconds))]
    for e in ENTRIES:
        if envs and e.env_id not in envs and e.name not in envs:
            continue
        jobs.append((e.env_id, "defaults", lambda i=e.env_id: measure_split(i, seconds)))
        for label, cfg in VARIANTS.get(e.env_id, []):
            jobs.append((e.env_id, label, lambda i=e.env_id, k=cfg: measure_split(i, seconds, **k)))
        if e.vector_entry_point is not None:
            jobs.append((e.env_id, VECTOR_VARIANT.format(n=VECTOR_NUM_ENVS),
                         lambda i=e.env_id: measure_vector_split(i, VECTOR_NUM_ENVS, seconds)))
    runs: list[list[PerfRow]] = [[] for _ in jobs]
    for _ in range(repeat):
        for (env, variant, measure), out in zip(jobs, runs):
            out.append(PerfRow(env, variant, *measure()))
    return [sorted(rs, key=lambda r: r.env_steps_per_s)[len(rs) // 2] for rs in runs]


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


def to_markdown(rows: list[PerfRow], solvers: list[tuple[str, str, float]] | None = None,
                repeat: int = 1) -> str:
    floor, floor_env = rows[0].steps_per_s, rows[0].env_steps_per_s
    load = ", load average {:.1f} / {:.1f} / {:.1f} (1/5/15 min)".format(*os.getloadavg()) \
        if hasattr(os, "getloadavg") else ""
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores{load}, "
             f"Python {platform.python_version()}; single process, random valid actions, resets "
             "included. *env steps/s* counts only the time inside the env (`reset`, `step`, "
             "`action_masks`); *loop steps/s* also the drawing of the random valid action from the "
             "mask. Compare ratios to the floor: absolute figures move with the machine's load."
             + (f" Each row: the median of {repeat} runs, measured round after round." if repeat > 1 else ""),
             "",
             "| env | variant | env steps/s | env ratio to floor | loop steps/s | loop ratio to floor |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.env} | {r.variant} | {r.env_steps_per_s:,.0f} | "
                     f"{r.env_steps_per_s / floor_env:.3f} | {r.steps_per_s:,.0f} | "
                     f"{r.steps_per_s / floor:.3f} |")
    if any(r.variant.startswith(VECTOR_VARIANT.split(",")[0]) for r in rows):
        lines += ["", "Native vector env rows: one process, one core, N sub-envs stepped as arrays "
                  "(gym.make_vec(..., vectorization_mode=\"vector_entry_point\")); steps/s counts "
                  "sub-env steps, random valid actions from the batched action masks, autoresets included."]
    if solvers:
        lines += ["", "| env | solver run | seconds |", "|---|---|---|"]
        lines += [f"| {e} | {w} | {s:.3f} |" for e, w, s in solvers]
    return "\n".join(lines)
