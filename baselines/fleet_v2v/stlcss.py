"""Spatio-temporal longest common subsequence (Algorithm 1 of the paper, section 4.2.2)."""

from __future__ import annotations

import itertools

import numpy as np

from swapgym.envs.core.graph import haversine_km
from swapgym.envs.fleet_v2v import dynamics as dyn

# The paper's thresholds are lost with its text; ours: points within 3 km and 0.5 h match.
DELTA_D_KM = 3.0
DELTA_T_H = 0.5


def stlcss(traj_a: np.ndarray, traj_b: np.ndarray, delta_d_km: float = DELTA_D_KM,
           delta_t_h: float = DELTA_T_H) -> int:
    """Algorithm 1: length of the longest common subsequence of two trajectories, where
    points match when their Haversine distance ≤ ``delta_d_km`` and their timestamps
    differ by ≤ ``delta_t_h``. A trajectory is an (m, 3) array of (lon °, lat °, t h)."""
    a = np.asarray(traj_a, dtype=float).reshape(-1, 3)
    b = np.asarray(traj_b, dtype=float).reshape(-1, 3)
    m, n = len(a), len(b)
    if m == 0 or n == 0:
        return 0
    # the match matrix at once; the DP recurrence row by row
    d = haversine_km(a[:, None, 1], a[:, None, 0], b[None, :, 1], b[None, :, 0])
    match = (d <= delta_d_km) & (np.abs(a[:, None, 2] - b[None, :, 2]) <= delta_t_h)
    dp = np.zeros((m + 1, n + 1), dtype=np.int64)
    for i in range(1, m + 1):
        for j in range(1, n + 1):
            if match[i - 1, j - 1]:
                dp[i, j] = dp[i - 1, j - 1] + 1
            else:
                dp[i, j] = max(dp[i - 1, j], dp[i, j - 1])
    return int(dp[m, n])


def stlcss_similarity(traj_a, traj_b, delta_d_km: float = DELTA_D_KM,
                      delta_t_h: float = DELTA_T_H) -> float:
    """STLCSS length as a percentage of the shorter trajectory (the paper's table of
    provider/consumer similarities lists values like 50, 33.33, 14.29 = k / length)."""
    m, n = len(traj_a), len(traj_b)
    if min(m, n) == 0:
        return 0.0
    return 100.0 * stlcss(traj_a, traj_b, delta_d_km, delta_t_h) / min(m, n)


def planned_trajectory(config, instance, state, v: int, speed_kmh: float | None = None,
                       from_free_point: bool = False) -> np.ndarray:
    """The van's remaining planned trajectory as (lon, lat, t) points: every node of the
    road paths through its remaining route nodes (section 4.3.1 "trajectory extraction"),
    timed at ``speed_kmh`` (legal maximum if None) plus service times.

    ``from_free_point``: start where and when the van is next free (for a provider that
    is moving or busy); otherwise from its current point and the current time (a van at a
    mid-road point starts at the nearer end of its road)."""
    speed = float(instance.speed_levels_kmh[-1] if speed_kmh is None else speed_kmh)
    if from_free_point:
        dvec, t, _, k = dyn.free_point(config, instance, state, v)
    else:
        dvec, t, k = state.origin_dist_km[v], state.time_h, int(state.route_idx[v])
    start = int(np.argmin(dvec))
    t = t + float(dvec[start]) / speed
    route = instance.routes[v]
    stops = [start] + [route[i] for i in range(k, len(route))]
    if k >= len(route) and start != instance.depot:
        stops.append(instance.depot)
    pts = [(*instance.node_lonlat[start], t)]
    for a, b in itertools.pairwise(stops):
        path = instance.path(a, b)
        for u, w in itertools.pairwise(path):
            t += instance.dist_km[u, w] / speed
            pts.append((*instance.node_lonlat[w], t))
        if instance.node_kind[b] == 0:
            t += config.service_time_h
    return np.array(pts)
