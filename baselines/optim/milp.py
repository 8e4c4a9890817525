"""Small helpers around HiGHS (``highspy``) shared by the MILP baselines.

Models are written with highspy's own modelling layer (``addVariable`` / ``addVariables``
/ ``addConstr`` / ``qsum``); these helpers only set the options every planner wants
(silent, single thread, time limit, gap) and turn a solve into a plain result that never
raises: a timed-out solve with an incumbent is usable, an infeasible or empty one is not,
and the caller falls back to a safe action.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


def new_model(time_limit_s: float = 10.0, mip_rel_gap: float = 1e-6, threads: int = 1):
    """A silent ``highspy.Highs`` with a per-solve time limit."""
    import highspy

    h = highspy.Highs()
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    h.setOptionValue("threads", int(threads))
    return h


@dataclass
class SolveResult:
    """status: HiGHS model status text. usable: a primal solution exists (optimal, or a
    time-limited incumbent). optimal: proven optimal within the gap. objective: the model's
    objective (in its own sense). values: every column's value. seconds: wall time."""

    status: str
    usable: bool
    optimal: bool
    objective: float
    values: np.ndarray
    seconds: float


def run(h, sense: str = "max") -> SolveResult:
    """Solve the model as built (objective from the columns' costs) and never raise."""
    import highspy

    start = time.perf_counter()
    try:
        h.changeObjectiveSense(highspy.ObjSense.kMaximize if sense == "max" else highspy.ObjSense.kMinimize)
        h.run()
        status = h.getModelStatus()
        info = h.getInfo()
        has_primal = info.primal_solution_status == 2  # kSolutionStatusFeasible
        optimal = status == highspy.HighsModelStatus.kOptimal
        usable = has_primal and status in (highspy.HighsModelStatus.kOptimal,
                                           highspy.HighsModelStatus.kTimeLimit,
                                           highspy.HighsModelStatus.kInterrupt,
                                           highspy.HighsModelStatus.kSolutionLimit)
        values = np.asarray(h.getSolution().col_value) if usable else np.empty(0)
        objective = float(info.objective_function_value) if usable else float("nan")
        text = h.modelStatusToString(status)
    except Exception as err:  # a solver error is a fallback, never a crash
        return SolveResult(f"error: {err}", False, False, float("nan"), np.empty(0), time.perf_counter() - start)
    return SolveResult(text, usable, optimal, objective, values, time.perf_counter() - start)
