"""Particle-swarm optimisation, shared by every problem that the papers solve with PSO
(expressway M1–M3, fleet speed planning, grid-resilience planning).

Standard global-best PSO with inertia weight (Shi & Eberhart 1998) on a box, evaluated a
whole swarm at a time: ``objective`` takes an (n_particles, dim) array and returns
(n_particles,) costs to *minimise*. All randomness comes from the generator it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from swapgym.envs.core.config import check_int, check_nonnegative, check_positive


@dataclass(frozen=True)
class PSOConfig:
    """PSO hyper-parameters.

    n_particles: swarm size. iterations: generations. inertia_start/inertia_end: the
    inertia weight decreases linearly between them. cognitive/social: c1, c2.
    max_velocity_frac: velocity clamp as a fraction of each dimension's range.
    """

    n_particles: int = 30
    iterations: int = 100
    inertia_start: float = 0.9
    inertia_end: float = 0.4
    cognitive: float = 2.0
    social: float = 2.0
    max_velocity_frac: float = 0.2

    def __post_init__(self) -> None:
        check_int("n_particles", self.n_particles, minimum=1)
        check_int("iterations", self.iterations, minimum=0)
        check_nonnegative("inertia_start", self.inertia_start)
        check_nonnegative("inertia_end", self.inertia_end)
        check_nonnegative("cognitive", self.cognitive)
        check_nonnegative("social", self.social)
        check_positive("max_velocity_frac", self.max_velocity_frac)


@dataclass
class PSOResult:
    best_position: np.ndarray
    best_cost: float
    history: list[float] = field(default_factory=list)  # best cost after each iteration
    evaluations: int = 0


def minimize(objective: Callable[[np.ndarray], np.ndarray], lower, upper,
             rng: np.random.Generator, config: PSOConfig = PSOConfig(),
             initial: np.ndarray | None = None) -> PSOResult:
    """Minimise ``objective`` over the box [lower, upper].

    ``initial`` (k, dim) seeds the first k particles (e.g. a heuristic's solution), so PSO
    is never worse than its seed.
    """
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if lower.shape != upper.shape or np.any(lower > upper):
        raise ValueError("lower/upper: must have the same shape and lower <= upper")
    dim = lower.size
    span = upper - lower
    vmax = config.max_velocity_frac * np.where(span > 0, span, 1.0)
    x = lower + rng.random((config.n_particles, dim)) * span
    if initial is not None:
        initial = np.atleast_2d(np.asarray(initial, dtype=float))[: config.n_particles]
        x[: len(initial)] = np.clip(initial, lower, upper)
    v = rng.uniform(-vmax, vmax, size=(config.n_particles, dim))
    cost = np.asarray(objective(x), dtype=float)
    evaluations = len(x)
    pbest, pbest_cost = x.copy(), cost.copy()
    g = int(np.argmin(pbest_cost))
    gbest, gbest_cost = pbest[g].copy(), float(pbest_cost[g])
    history = [gbest_cost]
    for it in range(config.iterations):
        w = config.inertia_start + (config.inertia_end - config.inertia_start) * (
            it / max(config.iterations - 1, 1))
        r1 = rng.random((config.n_particles, dim))
        r2 = rng.random((config.n_particles, dim))
        v = w * v + config.cognitive * r1 * (pbest - x) + config.social * r2 * (gbest - x)
        v = np.clip(v, -vmax, vmax)
        x = np.clip(x + v, lower, upper)
        cost = np.asarray(objective(x), dtype=float)
        evaluations += len(x)
        improved = cost < pbest_cost
        pbest[improved], pbest_cost[improved] = x[improved], cost[improved]
        g = int(np.argmin(pbest_cost))
        if pbest_cost[g] < gbest_cost:
            gbest, gbest_cost = pbest[g].copy(), float(pbest_cost[g])
        history.append(gbest_cost)
    return PSOResult(gbest, gbest_cost, history, evaluations)
