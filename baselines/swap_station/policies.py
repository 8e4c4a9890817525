"""Policies for the swap station. All read only ``env.unwrapped.instance`` / ``state``;
the oracles also read the episode's realised arrivals (``instance.arrivals``)."""

from __future__ import annotations

import numpy as np

from swapgym.baselines.protocol import BasePolicy
from swapgym.envs.swap_station.dynamics import charge_all


class UnscheduledPolicy(BasePolicy):
    """The paper's unscheduled operation: every non-full pack charges at full power as soon
    as a bay is free (fullest first), regardless of price."""

    name = "unscheduled"

    def act(self, observation):
        env = self.env
        return env.action_from_counts(charge_all(env.station, self.state.levels))


class _MILPPolicy(BasePolicy):
    def _fallback(self) -> np.ndarray:
        # safe action when the solver has nothing usable: unscheduled charging
        self.fallbacks += 1
        self.env.note_metric("solver_fallbacks")
        return UnscheduledPolicy.act(self, None)


class RHOPolicy(_MILPPolicy):
    """Rolling-horizon optimisation: every hour solve the profit MILP over the next
    ``horizon`` hours (truncated at the episode end) with forecast arrivals and known
    day-ahead prices, apply the first hour, repeat.

    forecaster: "polynomial", "lstm", "seasonal_naive" or "perfect" (oracle), or any object
    with the ``Forecaster`` protocol. The total forecast is split across types by the
    station's type shares. time_limit_s / mip_rel_gap: per solve; a timed-out solve uses
    its incumbent, a failed one falls back to unscheduled charging (counted in
    ``solver_fallbacks``). integer_hours: hours planned in integers (the rest as an LP
    relaxation; only the first hour is applied).
    """

    def __init__(self, forecaster="lstm", horizon: int = 24, time_limit_s: float = 2.0,
                 mip_rel_gap: float = 1e-4, integer_hours: int = 1) -> None:
        super().__init__()
        if isinstance(forecaster, str):
            self.name = f"rho_{forecaster}"
            self.oracle = forecaster == "perfect"
            if forecaster != "perfect":
                from swapgym.baselines.forecasting import make_forecaster

                forecaster = make_forecaster(forecaster)
        else:
            self.name = f"rho_{getattr(forecaster, 'name', 'custom')}"
        self.forecaster = forecaster
        self.horizon, self.time_limit_s, self.mip_rel_gap = horizon, time_limit_s, mip_rel_gap
        self.integer_hours = integer_hours
        self._milp = None
        self._milp_key = None
        self.fallbacks = 0
        self.solve_seconds: list[float] = []

    def reset(self, env) -> None:
        super().reset(env)
        key = (id(self.env.station), self.horizon)
        if self._milp_key != key:
            from swapgym.baselines.swap_station.milp import StationMILP

            self._milp = StationMILP(self.env.station, self.horizon, self.time_limit_s, self.mip_rel_gap,
                                     integer_hours=self.integer_hours)
            self._milp_key = key

    def forecast(self, t: int, hours: int) -> np.ndarray:
        """(hours, K) arrivals expected from hour t on."""
        inst = self.instance
        if isinstance(self.forecaster, str):  # perfect
            return inst.arrivals[t : t + hours].astype(float)
        f = self.forecaster
        past = inst.observed_arrivals(t, max(f.history_hours, 24)).sum(-1)
        T = inst.episode_hours
        # calendar of the forecast hours (continuing past the episode end)
        hod = (inst.hour_of_day[0] + t + np.arange(hours)) % 24
        wd = (inst.weekday[0] + (inst.hour_of_day[0] + t + np.arange(hours)) // 24) % 7
        del T
        total = f.predict(past, hod, wd)
        return total[:, None] * inst.station.type_shares[None, :]

    def act(self, observation):
        inst, state = self.instance, self.state
        t, T, H = state.t, inst.episode_hours, self.horizon
        active = min(H, T - t)
        arrivals = np.zeros((H, inst.station.n_types))
        arrivals[:active] = self.forecast(t, active)
        prices = np.zeros(H)
        known = inst.price_per_kwh[t : t + active]
        prices[: len(known)] = known
        plan = self._milp.solve(state.levels, arrivals, prices, inst.stock_value_per_kwh, active)
        self.solve_seconds.append(plan.result.seconds)
        if not plan.result.usable:
            return self._fallback()
        return self.env.action_from_counts(plan.charge[0], plan.discharge[0])


class OracleMILPPolicy(_MILPPolicy):
    """Perfect information: one MILP over the whole episode with the realised arrivals and
    prices, solved at reset; the plan is replayed hour by hour. Its return is the bound
    the normalised score uses (exact up to ``mip_rel_gap``; ``dual_bound`` keeps the
    solver's proven upper bound)."""

    name = "oracle_milp"
    oracle = True

    def __init__(self, time_limit_s: float = 10.0, mip_rel_gap: float = 5e-3) -> None:
        super().__init__()
        self.time_limit_s, self.mip_rel_gap = time_limit_s, mip_rel_gap
        self.plan = None
        self.fallbacks = 0
        self._milps: dict = {}

    def reset(self, env) -> None:
        super().reset(env)
        from swapgym.baselines.swap_station.milp import StationMILP

        inst = self.env.instance
        self.plan = None
        if inst is None:  # built before the env's first reset; planned at the next reset
            return
        T = inst.episode_hours
        key = (id(self.env.station), T)
        if key not in self._milps:
            self._milps = {key: StationMILP(self.env.station, T, self.time_limit_s, self.mip_rel_gap)}
        self.plan = self._milps[key].solve(inst.initial_levels, inst.arrivals, inst.price_per_kwh[:T],
                                           inst.stock_value_per_kwh)

    def act(self, observation):
        if self.plan is None or not self.plan.result.usable:
            return self._fallback()
        t = self.state.t
        return self.env.action_from_counts(self.plan.charge[t], self.plan.discharge[t])
