"""Baselines of ``swapgym/SwapStation-v0``: the paper's unscheduled operation (reference),
rolling-horizon MILPs with polynomial / LSTM / seasonal-naive / perfect arrival
forecasts, and the perfect-information MILP over the whole episode (oracle).

Fauziah et al. (2025) compare RHO-LSTM, RHO-polynomial and unscheduled operation.
"""

from __future__ import annotations

from swapgym.baselines.protocol import register
from swapgym.baselines.swap_station.policies import (
    OracleMILPPolicy,
    RHOPolicy,
    UnscheduledPolicy,
)

ENV_ID = "swapgym/SwapStation-v0"

register(ENV_ID, "unscheduled", UnscheduledPolicy, reference=True,
         description="charge every returned pack at full power at once (paper's unscheduled operation)")
register(ENV_ID, "rho_polynomial", lambda **kw: RHOPolicy(forecaster="polynomial", **kw),
         description="rolling-horizon MILP, 24 h, polynomial time-of-day arrival forecast")
register(ENV_ID, "rho_lstm", lambda **kw: RHOPolicy(forecaster="lstm", **kw),
         description="rolling-horizon MILP, 24 h, LSTM arrival forecast (paper's method)")
register(ENV_ID, "rho_naive", lambda **kw: RHOPolicy(forecaster="seasonal_naive", **kw),
         description="rolling-horizon MILP, 24 h, seasonal-naive (last week) forecast")
register(ENV_ID, "rho_perfect", lambda **kw: RHOPolicy(forecaster="perfect", **kw), oracle=True,
         description="rolling-horizon MILP, 24 h, perfect arrival forecast (oracle)")
register(ENV_ID, "oracle_milp", OracleMILPPolicy, oracle=True,
         description="one MILP over the whole episode with the realised arrivals (bound)")

__all__ = ["OracleMILPPolicy", "RHOPolicy", "UnscheduledPolicy"]
