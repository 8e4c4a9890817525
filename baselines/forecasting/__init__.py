"""Arrival forecasters for the rolling-horizon planners.

Every forecaster maps the observed hourly arrival counts (total over types, oldest
first) and the calendar of the hours to predict to a forecast::

    f = make_forecaster("lstm")               # or "seasonal_naive", "polynomial"
    f.predict(history, hour_of_day, weekday)  # -> (H,) expected arrivals

They use only the past, except the ``perfect`` forecaster (an oracle) which the RHO
policy serves from the episode's realised arrivals. torch is imported only by the LSTM.
"""

from __future__ import annotations

from swapgym.baselines.forecasting.base import (
    Forecaster,
    PolynomialForecaster,
    SeasonalNaiveForecaster,
    forecast_errors,
    make_forecaster,
)

__all__ = ["Forecaster", "PolynomialForecaster", "SeasonalNaiveForecaster", "forecast_errors",
           "make_forecaster"]
