"""Forecasters: seasonal-naive and polynomial known answers, LSTM save/load and skill."""

from __future__ import annotations

import numpy as np
import pytest

from swapgym.baselines.forecasting import (
    PolynomialForecaster,
    SeasonalNaiveForecaster,
    forecast_errors,
)
from swapgym.envs.core.timeseries import synthetic_arrivals


def test_seasonal_naive__repeats_last_week():
    hist = np.arange(200.0)
    f = SeasonalNaiveForecaster(168)
    out = f.predict(hist, np.arange(24) % 24, np.zeros(24, int))
    np.testing.assert_array_equal(out, hist[200 - 168 : 200 - 168 + 24])


def test_polynomial__recovers_a_daily_quadratic():
    hours = np.arange(168) % 24
    hist = 2.0 + 0.1 * (hours - 12.0) ** 2
    out = PolynomialForecaster(degree=2).predict(hist, np.arange(24), np.zeros(24, int))
    np.testing.assert_allclose(out, 2.0 + 0.1 * (np.arange(24) - 12.0) ** 2, atol=1e-6)


def test_lstm__trains_and_save_load_round_trips(tmp_path):
    pytest.importorskip("torch")
    from swapgym.baselines.forecasting.lstm import LSTMConfig, LSTMForecaster, train

    s = synthetic_arrivals(np.random.default_rng(0), hours=24 * 20, daily_total=200.0, weekend_factor=1.0)
    cfg = LSTMConfig(history_hours=48, hidden=8, epochs=2, patience=2, stride=4, lr=1e-2, seed=0)
    model, info = train(s.values, s.hour_of_day, s.weekday, cfg, log=lambda *_: None)
    assert info["epochs_run"] == 2 and np.isfinite(info["best_validation_mse"])
    model.save(tmp_path / "m")
    again = LSTMForecaster.load(tmp_path / "m")
    assert again.config == cfg
    x = s.values[:200]
    np.testing.assert_allclose(model.predict(x, s.hour_of_day[200:224], s.weekday[200:224]),
                               again.predict(x, s.hour_of_day[200:224], s.weekday[200:224]))


def test_lstm__beats_seasonal_naive_on_a_seasonal_series():
    pytest.importorskip("torch")
    from swapgym.baselines.forecasting.lstm import LSTMConfig, train

    # daily seasonality + Poisson noise: yesterday's counts carry twice the noise of the profile
    s = synthetic_arrivals(np.random.default_rng(0), hours=24 * 60, daily_total=200.0, weekend_factor=1.0)
    cfg = LSTMConfig(history_hours=48, hidden=16, epochs=30, patience=5, stride=1, lr=5e-3, seed=0)
    model, _ = train(s.values, s.hour_of_day, s.weekday, cfg, log=lambda *_: None)
    n = len(s)
    lo = int(0.85 * n)
    lstm = forecast_errors(model, s.values, s.hour_of_day, s.weekday, lo, n, stride=1)
    naive = forecast_errors(SeasonalNaiveForecaster(24), s.values, s.hour_of_day, s.weekday, lo, n, stride=1)
    assert lstm["rmse"] < naive["rmse"], (lstm, naive)


def test_shipped_lstm__loads_and_forecasts():
    pytest.importorskip("torch")
    from swapgym.baselines.forecasting import make_forecaster

    f = make_forecaster("lstm")
    out = f.predict(np.ones(168), np.arange(24), np.zeros(24, int))
    assert out.shape == (24,) and np.all(np.isfinite(out)) and np.all(out >= 0)
