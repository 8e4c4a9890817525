"""``swapgym/Expressway-v0``: hourly battery-swap operation of several stations on an
expressway, with battery-to-battery exchange and EV energy release."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from swapgym.envs.core.config import build_config
from swapgym.envs.expressway import dynamics
from swapgym.envs.expressway.config import ExpresswayConfig
from swapgym.envs.expressway.instance import ExpresswayInstance, generate

# Reported by planners through ``ExpresswayEnv.note_metric``; 0 when nothing is reported.
PLANNER_METRICS = {"planner_mip_gap": 0.0, "planner_time_limit_hit": 0.0,
                   "planner_solve_time_s": 0.0}


class ActionLayout:
    """Where each decision sits in the flat ``MultiDiscrete`` action.

    ``[moves (N_B·L·R) | dispatch (C·N_B) | release (M)]`` — see the env docstring.
    """

    def __init__(self, config: ExpresswayConfig) -> None:
        c = config
        self.rates = dynamics.rates(c)
        self.moves_shape = (c.n_stations, c.n_levels, len(self.rates))
        self.dispatch_shape = (len(c.ev_soc_choices), c.n_stations)
        self.n_release = len(c.release_soc_choices)
        self.n_moves = int(np.prod(self.moves_shape))
        self.n_dispatch = int(np.prod(self.dispatch_shape))
        self.nvec = np.concatenate([
            np.full(self.n_moves, c.batteries_per_station + 1),
            np.full(self.n_dispatch, c.max_arrivals_per_class + 1),
            np.full(self.n_release, c.max_release_per_class + 1)]).astype(np.int64)

    def encode(self, moves: np.ndarray, dispatch: np.ndarray, release: np.ndarray) -> np.ndarray:
        a = np.concatenate([np.asarray(moves, dtype=np.int64).ravel(),
                            np.asarray(dispatch, dtype=np.int64).ravel(),
                            np.asarray(release, dtype=np.int64).ravel()])
        return np.minimum(np.maximum(a, 0), self.nvec - 1)

    def decode(self, action: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = np.asarray(action, dtype=np.int64).ravel()
        m = a[: self.n_moves].reshape(self.moves_shape)
        d = a[self.n_moves : self.n_moves + self.n_dispatch].reshape(self.dispatch_shape)
        r = a[self.n_moves + self.n_dispatch :]
        return m, d, r


class ExpresswayEnv(gym.Env):
    """Battery-swap stations on an expressway (Zeng et al. 2023).

    ## Description
    EVs on an expressway request energy every hour. A control centre dispatches them to
    one of ``n_stations`` battery-swap stations (lower level, eqs. 4–8), each station
    charges its ``batteries_per_station`` batteries from the grid and between batteries
    (B2B, middle level, eqs. 9–17, 26), and high-SOC EVs passing the first station may be
    invited to release energy there and refill at the next station (upper level,
    eqs. 18–22). The transition rules are in ``dynamics.py`` (a count model on a SOC grid).

    ## Action Space
    ``MultiDiscrete``, flat, three blocks (``ActionLayout`` encodes/decodes):

    | block | shape | value | meaning |
    |---|---|---|---|
    | moves | (N_B, L, R) | 0..N_b | batteries at SOC level l of station n that move by ``RATES[r]`` steps this hour; RATES = (−1, 1, 2, 3): −1 = B2B donor (4 kW), 1 = charge at 4 kW, 2–3 = fast charging (8/12 kW, eq. 26) |
    | dispatch | (C, N_B) | 0..max_arrivals_per_class | arriving EVs of SOC class c sent to station n; honoured station by station up to the arrivals, the rest go to the nearest station |
    | release | (M,) | 0..max_release_per_class | high-SOC EVs of class m invited to release energy at the release station |

    Requests beyond what exists are clamped (more moves than batteries, donors beyond the
    charged energy, releases beyond the candidates or the batteries they can take).
    ``action_masks()`` (MaskablePPO format) masks counts above the batteries present,
    moves off the SOC range, unreachable stations (eq. 8) and counts above the arrivals.
    The paper's methods pick a station's total charging power and assign it to batteries
    with the Hungarian algorithm; that assignment *is* a ``moves`` block.

    ## Observation Space
    ``Box(0, 1, float32)``, flat:

    | slice | size | meaning (normalised) |
    |---|---|---|
    | stock | N_B·L | batteries per station and SOC level / N_b |
    | incoming | N_B·L | released EVs arriving this hour per station and level / N_b |
    | arrivals | C | EVs requesting energy this hour per SOC class / max_arrivals_per_class |
    | candidates | M | high-SOC EVs that could release this hour / max_release_per_class |
    | hour | 1 | t / T |
    | price | 1 | this hour's price / the day's max price (negative prices clip to 0) |
    | future price | 1 | mean price of the remaining hours / the day's max price |

    ## Rewards
    Minus the hour's cost in $: power purchasing cost (PPC), station battery degradation
    (BDC, eq. 11/26), EVs' driving degradation (eq. 5), ``unserved_penalty_usd`` per EV
    left without a ready battery, and at the last hour the kWh below ``terminal_soc``
    priced at ``terminal_price_per_kwh`` (eq. 13). ``info["reward_breakdown"]`` splits it.
    Payments to released EVs (λ·R_BSS, eq. 18) are transfers and are reported, not charged:
    at the last step ``info["release_saving_usd_per_hour"]`` holds eq. (19)'s R_BSS of each
    hour (the day replayed without that hour's releases minus the day as played) and
    ``info["release_payment_usd_per_hour"]`` λ times it; ``episode_metrics`` sums them
    (``release_counterfactual=False`` skips that replay and reports NaN).
    A planner may report its solve via ``note_metric`` (the oracle's MIP gap, time-limit
    hit and solve time: ``planner_*`` in the episode metrics, 0 otherwise).

    ## Starting State
    Battery SOC drawn per Table 2 (0.2 + round(6·rand)/10); arrivals Poisson on
    ``arrival_rate_per_h`` with SOC 0.3/0.4; release candidates Poisson with SOC 0.7/0.8.
    Grid price: the SMARD German day-ahead price of 2018-10-18 by default (shipped data,
    ``price_source``/``price_date``; ``price_source="tou"`` for the documented time-of-use
    day; see ``ExpresswayConfig``), the same every episode.

    ## Episode End
    ``terminated`` after ``horizon_h`` hours (24).

    ## Arguments
    ``gym.make("swapgym/Expressway-v0", **fields)`` with any ``ExpresswayConfig`` field.

    ## Reference
    L. Zeng, S.-Z. Chen, C. Zhong, T. Xiong, L. Tian, "Hierarchical transactive power
    exchange method on expressways for EV energy supplement", Front. Energy Res. 11 (2023).

    ## Version History
    * v0: initial version.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, config: ExpresswayConfig | dict | None = None, render_mode: str | None = None,
                 **overrides: Any) -> None:
        self.config = build_config(ExpresswayConfig, config, overrides)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode: must be one of {self.metadata['render_modes']}, got {render_mode!r}")
        self.render_mode = render_mode
        c = self.config
        self.layout = ActionLayout(c)
        self.action_space = gym.spaces.MultiDiscrete(self.layout.nvec)
        self._action_shape = self.action_space.shape
        self._nvec = self.layout.nvec
        n_obs = 2 * c.n_stations * c.n_levels + len(c.ev_soc_choices) + len(c.release_soc_choices) + 3
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(n_obs,), dtype=np.float32)
        self._set_prices(np.asarray(c.hourly_price_per_kwh, dtype=float))
        self.instance: ExpresswayInstance | None = None
        self.state: dynamics.ExpresswayState | None = None
        self.tables: dynamics.CostTables | None = None
        self._history: list[dynamics.HourResult] = []
        self._actions: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._starts: list[dynamics.ExpresswayState] = []  # state at the start of each hour
        self._planner_metrics = dict(PLANNER_METRICS)
        self._release_savings: np.ndarray | None = None

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if options and "instance" in options:
            self.instance = options["instance"]
        else:
            self.instance = generate(self.config, self.np_random)
        if self.instance.price_per_kwh is not self._prices:
            self._set_prices(self.instance.price_per_kwh)
        self.tables = dynamics.cost_tables(self.instance)
        self.state = dynamics.initial_state(self.instance)
        self._history = []
        self._actions = []
        self._starts = []
        self._release_savings = None
        self._planner_metrics = dict(PLANNER_METRICS)
        return self._obs(), {"hour": 0}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("step() before reset()")
        if self.state.t >= self.config.horizon_h:
            raise RuntimeError("step() after the episode ended; call reset()")
        a = np.asarray(action)
        # a cheap bounds test instead of MultiDiscrete.contains (which dominated ``step``)
        if a.shape != self._action_shape or not (
                np.issubdtype(a.dtype, np.integer) or np.array_equal(a, np.round(a))) or not (
                (a >= 0).all() and (a < self._nvec).all()):
            raise ValueError(
                f"action: expected a MultiDiscrete vector of shape {self.action_space.shape} with "
                f"0 <= a[i] < nvec[i] (layout: moves {self.layout.moves_shape}, dispatch "
                f"{self.layout.dispatch_shape}, release ({self.layout.n_release},)), got shape "
                f"{a.shape}")
        moves, dispatch, release = self.layout.decode(a)
        hour = self.state.t
        before = self.state
        self.state, res = dynamics.step(self.instance, self.tables, before, moves, dispatch, release)
        self._history.append(res)
        self._actions.append((moves.copy(), dispatch.copy(), release.copy()))
        self._starts.append(before)
        terminated = self.state.t >= self.config.horizon_h
        breakdown = {
            "ppc": -float(res.ppc.sum()),
            "bdc_station": -float(res.bdc.sum()),
            "bdc_driving": -res.bdc_driving,
            "unserved_penalty": -res.unserved_penalty,
            "terminal_penalty": -res.terminal_penalty,
        }
        reward = float(sum(breakdown.values()))
        price = float(self.instance.price_per_kwh[hour])
        info = {
            "hour": hour,
            "grid_power_kw": float(res.grid_kwh.sum() / self.config.dt_h),
            "grid_power_kw_per_station": res.grid_kwh / self.config.dt_h,
            "ppc_usd_per_station": res.ppc.copy(),
            "bdc_usd_per_station": res.bdc.copy(),
            "b2b_kwh_per_station": res.b2b_kwh.copy(),
            "served_per_station": res.served.copy(),
            "unserved_per_station": res.unserved.copy(),
            "dispatched_per_station": res.dispatched.copy(),
            "ppc_usd": float(res.ppc.sum()),
            "bdc_usd": float(res.bdc.sum()),
            "bdc_driving_usd": res.bdc_driving,
            "b2b_kwh": float(res.b2b_kwh.sum()),
            "served": int(res.served.sum()),
            "unserved": int(res.unserved.sum()),
            "released": res.released,
            "released_kwh": res.released_kwh,
            "price_per_kwh": price,
            "reward_breakdown": breakdown,
        }
        if terminated:
            info["terminal_shortfall_kwh"] = res.terminal_shortfall_kwh
            saving = self.release_savings()
            info["release_saving_usd_per_hour"] = saving
            info["release_payment_usd_per_hour"] = self.config.lambda_release * saving
            info["episode_metrics"] = self.episode_metrics()
        if self.render_mode == "rgb_array":
            pass  # rendered on demand
        return self._obs(), reward, terminated, False, info

    def action_masks(self) -> np.ndarray:
        """Flat MaskablePPO mask (length ``sum(nvec)``)."""
        c = self.config
        st = self.state
        t = min(st.t, c.horizon_h - 1)
        feasible = np.isfinite(self.tables.move_cost)                      # (L, R)
        lim_moves = np.where(feasible[None], st.counts[:, :, None], 0).ravel()
        reach = dynamics.reachable(self.instance)
        lim_disp = np.where(reach, self.instance.arrivals[t][:, None], 0).ravel()
        lim_rel = self.instance.release_candidates[t].copy()
        if t >= c.horizon_h - 1 or c.n_stations < 2:
            lim_rel[:] = 0
        parts = [
            (np.arange(c.batteries_per_station + 1)[None, :] <= lim_moves[:, None]).ravel(),
            (np.arange(c.max_arrivals_per_class + 1)[None, :] <= lim_disp[:, None]).ravel(),
            (np.arange(c.max_release_per_class + 1)[None, :] <= lim_rel[:, None]).ravel(),
        ]
        return np.concatenate(parts)

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        from swapgym.envs.expressway.render import render_rgb

        return render_rgb(self.instance, self.state, self._history)

    # ------------------------------------------------------------------ helpers
    def _set_prices(self, prices: np.ndarray) -> None:
        # observation scaling: prices relative to the day's highest (clipped to [0, 1])
        self._prices = prices
        self._price_max = max(float(np.max(prices)), 1e-12)
        self._future_price = np.array([prices[t:].mean() for t in range(len(prices))] + [0.0])

    def _obs(self) -> np.ndarray:
        c, st, inst = self.config, self.state, self.instance
        t = st.t
        nb = c.batteries_per_station
        if t < c.horizon_h:
            arr = inst.arrivals[t] / c.max_arrivals_per_class
            cand = inst.release_candidates[t] / max(c.max_release_per_class, 1)
            price = inst.price_per_kwh[t] / self._price_max
        else:
            arr = np.zeros(len(c.ev_soc_choices))
            cand = np.zeros(len(c.release_soc_choices))
            price = 0.0
        obs = np.concatenate([
            st.counts.ravel() / nb, np.minimum(st.incoming.ravel() / nb, 1.0), arr, cand,
            [t / c.horizon_h, price, self._future_price[t] / self._price_max]])
        return np.clip(obs, 0.0, 1.0).astype(np.float32)

    @property
    def history(self) -> tuple[dynamics.HourResult, ...]:
        """What each hour of the episode so far did (read-only view for planners/reports)."""
        return tuple(self._history)

    def note_metric(self, name: str, value: float) -> None:
        """Let a planner report on its solve in the episode metrics (``PLANNER_METRICS``):
        the oracle sets ``planner_mip_gap`` (relative, of its day plan),
        ``planner_time_limit_hit`` (1 if the MILP stopped at its time limit) and
        ``planner_solve_time_s``. They stay 0 for policies that solve no MILP."""
        if name not in self._planner_metrics:
            raise ValueError(f"name: not a planner metric of Expressway: {name!r} "
                             f"(one of {sorted(PLANNER_METRICS)})")
        self._planner_metrics[name] = float(value)

    def release_savings(self) -> np.ndarray:
        """(T,) eq. (19) R_BSS per hour of the day so far: the cost the releases of that
        hour saved, by replaying the episode's actions without them (``dynamics.
        release_savings``). Released EVs are paid λ·R_BSS (eq. 18), split per EV."""
        if self._release_savings is None or len(self._history) < self.config.horizon_h:
            self._release_savings = np.zeros(self.config.horizon_h)
            if not self.config.release_counterfactual:
                self._release_savings[:] = np.nan
            elif any(r.released for r in self._history):
                self._release_savings = dynamics.release_savings(
                    self.instance, self.tables, self._actions, list(zip(self._starts, self._history)))
        return self._release_savings

    def episode_metrics(self) -> dict[str, float]:
        """Day totals ($, kWh, EV counts) and per-station PPC/BDC (the paper's Table 3)."""
        h = self._history
        if not h:
            return {}
        ppc = np.sum([r.ppc for r in h], axis=0)
        bdc = np.sum([r.bdc for r in h], axis=0)
        out = {
            "total_cost_usd": float(sum(r.cost for r in h)),
            "ppc_usd": float(ppc.sum()),
            "bdc_usd": float(bdc.sum()),
            "bdc_driving_usd": float(sum(r.bdc_driving for r in h)),
            "unserved_penalty_usd": float(sum(r.unserved_penalty for r in h)),
            "terminal_penalty_usd": float(sum(r.terminal_penalty for r in h)),
            "grid_kwh": float(sum(r.grid_kwh.sum() for r in h)),
            "b2b_kwh": float(sum(r.b2b_kwh.sum() for r in h)),
            "served": float(sum(r.served.sum() for r in h)),
            "unserved": float(sum(r.unserved.sum() for r in h)),
            "released": float(sum(r.released for r in h)),
            "released_kwh": float(sum(r.released_kwh for r in h)),
        }
        saving = self.release_savings()
        out["release_saving_usd"] = float(saving.sum())
        out["release_payment_usd"] = float(self.config.lambda_release * saving.sum())
        out.update(self._planner_metrics)
        for n in range(self.config.n_stations):
            out[f"ppc_usd_bss{n + 1}"] = float(ppc[n])
            out[f"bdc_usd_bss{n + 1}"] = float(bdc[n])
        return out
