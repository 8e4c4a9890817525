"""Forecaster protocol and the two classical forecasters (seasonal-naive, polynomial)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Forecaster(Protocol):
    name: str
    history_hours: int  # hours of past counts it needs

    def predict(self, history: np.ndarray, hour_of_day: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        """history: (n,) past hourly counts, oldest first (n >= history_hours); hour_of_day,
        weekday: (H,) calendar of the hours to forecast. Returns (H,) non-negative floats."""
        ...


class SeasonalNaiveForecaster:
    """Repeat the count of the same hour one season ago (default one week: 168 h)."""

    name = "seasonal_naive"

    def __init__(self, period_hours: int = 168) -> None:
        self.period_hours = self.history_hours = int(period_hours)

    def predict(self, history, hour_of_day, weekday):
        history = np.asarray(history, dtype=float)
        H, P = len(hour_of_day), self.period_hours
        idx = len(history) - P + (np.arange(H) % P)
        return np.maximum(history[idx], 0.0)


class PolynomialForecaster:
    """The paper's comparison: a polynomial in the hour of day, least-squares fitted to the
    last ``fit_hours`` of counts (default one week, degree 6), ignoring the weekday.

    The abstract does not give the polynomial's form; a time-of-day polynomial fitted to
    recent history is the common choice for arrival-rate curves and is what we compare.
    """

    name = "polynomial"

    def __init__(self, degree: int = 6, fit_hours: int = 168) -> None:
        self.degree = int(degree)
        self.history_hours = self.fit_hours = int(fit_hours)

    def predict(self, history, hour_of_day, weekday):
        history = np.asarray(history, dtype=float)[-self.fit_hours :]
        n = len(history)
        # hour of day of the fitted points: the last one is the hour before hour_of_day[0]
        hours = (hour_of_day[0] - n + np.arange(n)) % 24
        x = hours / 23.0
        coef = np.polynomial.polynomial.polyfit(x, history, self.degree)
        pred = np.polynomial.polynomial.polyval(np.asarray(hour_of_day) / 23.0, coef)
        return np.maximum(pred, 0.0)


def make_forecaster(name: str, **kwargs) -> Forecaster:
    """``seasonal_naive``, ``polynomial`` or ``lstm`` (loads the shipped weights unless
    ``path`` is given)."""
    if name == "seasonal_naive":
        return SeasonalNaiveForecaster(**kwargs)
    if name == "polynomial":
        return PolynomialForecaster(**kwargs)
    if name == "lstm":
        from swapgym.baselines.forecasting.lstm import LSTMForecaster

        return LSTMForecaster.load(kwargs.get("path"))
    raise ValueError(f"name: unknown forecaster {name!r}; choose seasonal_naive, polynomial or lstm")


def forecast_errors(forecaster: Forecaster, series: np.ndarray, hour_of_day: np.ndarray, weekday: np.ndarray,
                    start: int, stop: int, horizon: int = 24, stride: int = 24) -> dict[str, float]:
    """RMSE and MAE of ``horizon``-hour forecasts issued every ``stride`` hours for the
    hours in [start, stop) of ``series``."""
    errs = []
    first = max(start, forecaster.history_hours)
    for t in range(first, stop - horizon + 1, stride):
        pred = forecaster.predict(series[:t], hour_of_day[t : t + horizon], weekday[t : t + horizon])
        errs.append(pred - series[t : t + horizon])
    e = np.concatenate(errs) if errs else np.zeros(0)
    return {"rmse": float(np.sqrt(np.mean(e**2))) if len(e) else float("nan"),
            "mae": float(np.mean(np.abs(e))) if len(e) else float("nan"), "n_forecasts": len(errs)}
