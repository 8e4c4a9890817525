"""FleetV2V baselines: the paper's V2CS and STLCSS-V2V schemes, legal-max vs PSO speed
plans, and a rollout oracle.

Registered for ``swapgym/FleetV2V-v0``:

| name | replenishment | speed |
|---|---|---|
| ``v2cs`` (reference) | best reachable charging station (least detour) | legal maximum |
| ``v2cs_pso`` | as v2cs | PSO speed plan per van (shared PSO, paper's Table sizes) |
| ``v2v_stlcss`` | Algorithm 1: provider with the most similar trajectory, else v2cs | legal maximum |
| ``v2v_stlcss_pso`` | as v2v_stlcss | PSO speed plan |
| ``oracle`` | rollout over every replenishment option (see ``RolloutOracle``) | exhaustive per van |

``oracle`` is a feasible policy, so its cost is an *upper* bound on the optimum, not a
proven optimum. ``lp_lower_bound`` (``bound.py``) is a proven *lower* bound from a per-van
LP relaxation on HiGHS; together they bracket the optimum of an episode (paper instance:
[314.9, 354.3] ¥, see ``swapgym reproduce fleet-v2v``).

Every policy calls ``swapgym.envs.fleet_v2v.dynamics`` for costs, masks and rendezvous.
"""

from __future__ import annotations

from swapgym.baselines.fleet_v2v.bound import BoundResult, lp_lower_bound
from swapgym.baselines.fleet_v2v.policies import (
    FleetPolicy,
    RolloutOracle,
    STLCSSPolicy,
    V2CSPolicy,
)
from swapgym.baselines.fleet_v2v.speed import SpeedPlan, exhaustive_speed_plan, pso_speed_plan
from swapgym.baselines.fleet_v2v.stlcss import planned_trajectory, stlcss, stlcss_similarity
from swapgym.baselines.protocol import register

ENV_ID = "swapgym/FleetV2V-v0"

register(ENV_ID, "v2cs", lambda **kw: V2CSPolicy(speed="max", **kw), reference=True,
         description="charging station only (V2CS), legal maximum speed")
register(ENV_ID, "v2cs_pso", lambda **kw: V2CSPolicy(speed="pso", **kw),
         description="V2CS with the PSO speed plan")
register(ENV_ID, "v2v_stlcss", lambda **kw: STLCSSPolicy(speed="max", **kw),
         description="V2V with STLCSS provider matching (Algorithm 1), legal maximum speed")
register(ENV_ID, "v2v_stlcss_pso", lambda **kw: STLCSSPolicy(speed="pso", **kw),
         description="V2V with STLCSS matching and the PSO speed plan")
register(ENV_ID, "oracle", lambda **kw: RolloutOracle(**kw), oracle=True,
         description="rollout over all replenishment options with exhaustive speed plans "
                     "(uses every van's realised consumption; an upper bound on the optimum, "
                     "not a proven optimum — lp_lower_bound gives the lower bound)")

__all__ = [
    "BoundResult",
    "FleetPolicy",
    "RolloutOracle",
    "STLCSSPolicy",
    "SpeedPlan",
    "V2CSPolicy",
    "exhaustive_speed_plan",
    "lp_lower_bound",
    "planned_trajectory",
    "pso_speed_plan",
    "stlcss",
    "stlcss_similarity",
]
