"""LSTM arrival forecaster (torch, CPU): the next H hours of arrivals from the past week.

Input at each of the last ``history_hours`` hours: the count divided by the window's
mean (so the model is scale-free: it forecasts a station 2x busier without retraining)
and calendar features (sin/cos of hour of day and weekday, weekend flag). An LSTM
encodes the window; a linear head emits the H normalised future counts (direct
multi-output), which are multiplied back by the window mean.

Train / evaluate from the command line (chronological train/validation/test split,
early stopping on validation loss, one seed; weights and config saved together)::

    python -m swapgym.baselines.forecasting.lstm train --out runs/lstm --epochs 40
    python -m swapgym.baselines.forecasting.lstm evaluate --path runs/lstm/lstm_arrivals

The shipped model (``swapgym/envs/data/lstm_arrivals.{npz,json}``) was made with
``python -m swapgym.baselines.forecasting.lstm train --out envs/data`` on the shipped
ACN-Data arrivals (defaults below).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from swapgym.baselines.forecasting.base import (
    PolynomialForecaster,
    SeasonalNaiveForecaster,
    forecast_errors,
)

SHIPPED_STEM = "lstm_arrivals"


@dataclass(frozen=True)
class LSTMConfig:
    """history_hours: input window. horizon: hours forecast. hidden: LSTM width. layers:
    LSTM depth. epochs: maximum epochs. patience: early-stopping epochs without validation
    improvement. lr: Adam learning rate. batch_size. seed. train_fraction / val_fraction:
    chronological split of the series. stride: hours between training windows."""

    history_hours: int = 168
    horizon: int = 24
    hidden: int = 32
    layers: int = 1
    epochs: int = 40
    patience: int = 6
    lr: float = 3e-3
    batch_size: int = 64
    seed: int = 0
    train_fraction: float = 0.7
    val_fraction: float = 0.15
    stride: int = 1


def calendar_features(hour_of_day: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    h = 2 * np.pi * np.asarray(hour_of_day) / 24.0
    d = 2 * np.pi * np.asarray(weekday) / 7.0
    return np.stack([np.sin(h), np.cos(h), np.sin(d), np.cos(d), (np.asarray(weekday) >= 5) * 1.0], axis=-1)


def _inputs(history: np.ndarray, hour_of_day: np.ndarray, weekday: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(..., n, 6) features and (...,) scales for windows ``history`` (..., n)."""
    scale = history.mean(-1) + 1e-2
    x = np.concatenate([(history / scale[..., None])[..., None], calendar_features(hour_of_day, weekday)], -1)
    return x.astype(np.float32), scale


def _net(cfg: LSTMConfig):
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(6, cfg.hidden, num_layers=cfg.layers, batch_first=True)
            self.head = nn.Linear(cfg.hidden, cfg.horizon)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    return Net()


class LSTMForecaster:
    name = "lstm"

    def __init__(self, config: LSTMConfig, state_dict: dict | None = None) -> None:
        import torch

        self.config = config
        self.history_hours = config.history_hours
        # forecasts are single small forward passes next to a MILP solver: more intra-op
        # threads only make them wait for each other (measured 0.4 s vs 1 ms per forecast)
        torch.set_num_threads(1)
        torch.manual_seed(config.seed)
        self.net = _net(config)
        if state_dict is not None:
            self.net.load_state_dict({k: torch.as_tensor(v) for k, v in state_dict.items()})
        self.net.eval()

    def predict(self, history, hour_of_day, weekday):
        import torch

        cfg = self.config
        n = cfg.history_hours
        history = np.asarray(history, dtype=float)[-n:]
        H = len(hour_of_day)
        # calendar of the input window: the hours before the first forecast hour
        back = np.arange(-n, 0)
        hod = (hour_of_day[0] + back) % 24
        wd = (weekday[0] + np.floor_divide(hour_of_day[0] + back, 24)) % 7
        x, scale = _inputs(history, hod, wd)
        with torch.no_grad():
            y = self.net(torch.from_numpy(x[None])).numpy()[0]
        out = np.maximum(y * scale, 0.0)
        if cfg.horizon >= H:
            return out[:H]
        # beyond the trained horizon repeat the forecast day
        return np.resize(out, H)

    # --- persistence ------------------------------------------------------------------

    def save(self, stem: str | Path) -> None:
        """Write ``<stem>.npz`` (weights) and ``<stem>.json`` (config) side by side."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        np.savez(stem.with_suffix(".npz"), **{k: v.detach().numpy() for k, v in self.net.state_dict().items()})
        stem.with_suffix(".json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")

    @classmethod
    def load(cls, stem: str | Path | None = None) -> LSTMForecaster:
        """Load a saved model; ``None`` loads the shipped one."""
        if stem is None:
            ref = resources.files("swapgym.envs.data")
            cfg = json.loads(ref.joinpath(SHIPPED_STEM + ".json").read_text())
            with resources.as_file(ref.joinpath(SHIPPED_STEM + ".npz")) as p, np.load(p) as z:
                weights = {k: z[k] for k in z.files}
        else:
            stem = Path(stem)
            cfg = json.loads(stem.with_suffix(".json").read_text())
            with np.load(stem.with_suffix(".npz")) as z:
                weights = {k: z[k] for k in z.files}
        return cls(LSTMConfig(**cfg), weights)


def _windows(series, hod, wd, lo, hi, cfg: LSTMConfig):
    n, H = cfg.history_hours, cfg.horizon
    starts = np.arange(max(lo, n), hi - H + 1, cfg.stride)
    if len(starts) == 0:
        raise ValueError(f"series: too short for {n} h history + {H} h horizon in [{lo}, {hi})")
    idx_in = starts[:, None] + np.arange(-n, 0)[None, :]
    idx_out = starts[:, None] + np.arange(H)[None, :]
    x, scale = _inputs(series[idx_in], hod[idx_in], wd[idx_in])
    y = (series[idx_out] / scale[:, None]).astype(np.float32)
    return x, y


def train(series: np.ndarray, hour_of_day: np.ndarray, weekday: np.ndarray, config: LSTMConfig = LSTMConfig(),
          log=print) -> tuple[LSTMForecaster, dict]:
    """Fit on the chronological train part, early-stop on the validation part."""
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    T = len(series)
    a = int(config.train_fraction * T)
    b = int((config.train_fraction + config.val_fraction) * T)
    xtr, ytr = _windows(series, hour_of_day, weekday, 0, a, config)
    xva, yva = _windows(series, hour_of_day, weekday, a - config.history_hours, b, config)
    model = LSTMForecaster(config)
    net = model.net
    opt = torch.optim.Adam(net.parameters(), lr=config.lr)
    xtr_t, ytr_t = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xva_t, yva_t = torch.from_numpy(xva), torch.from_numpy(yva)
    best, best_state, bad, history = float("inf"), None, 0, []
    start = time.perf_counter()
    for epoch in range(config.epochs):
        net.train()
        order = rng.permutation(len(xtr))
        for i in range(0, len(order), config.batch_size):
            j = torch.from_numpy(order[i : i + config.batch_size])
            opt.zero_grad()
            loss = torch.mean((net(xtr_t[j]) - ytr_t[j]) ** 2)
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            val = float(torch.mean((net(xva_t) - yva_t) ** 2))
        history.append(val)
        log(f"epoch {epoch + 1}: validation MSE {val:.4f} ({time.perf_counter() - start:.0f} s)")
        if val < best - 1e-5:
            best, bad = val, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            bad += 1
            if bad >= config.patience:
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    net.eval()
    return model, {"best_validation_mse": best, "epochs_run": len(history), "seconds": time.perf_counter() - start}


def evaluate(model: LSTMForecaster, series, hour_of_day, weekday, config: LSTMConfig | None = None) -> dict:
    """RMSE / MAE on the held-out test part for the LSTM, polynomial and seasonal-naive."""
    cfg = config or model.config
    T = len(series)
    b = int((cfg.train_fraction + cfg.val_fraction) * T)
    out = {}
    for f in (model, PolynomialForecaster(), SeasonalNaiveForecaster(168), SeasonalNaiveForecaster(24)):
        name = f.name if not isinstance(f, SeasonalNaiveForecaster) else f"seasonal_naive_{f.period_hours}h"
        out[name] = forecast_errors(f, series, hour_of_day, weekday, b, T, cfg.horizon, 1)
    return out


def _shipped_series():
    from swapgym.envs.core.timeseries import shipped_arrivals

    s = shipped_arrivals()
    return s.values.astype(float), s.hour_of_day, s.weekday


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train or evaluate the LSTM arrival forecaster.")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--out", type=Path, required=True, help="directory for lstm_arrivals.{npz,json}")
    for field, default in asdict(LSTMConfig()).items():
        tr.add_argument(f"--{field.replace('_', '-')}", type=type(default), default=default)
    tr.add_argument("--threads", type=int, default=2)
    ev = sub.add_parser("evaluate")
    ev.add_argument("--path", type=Path, default=None, help="saved stem (default: the shipped model)")
    args = parser.parse_args(argv)
    import torch

    series, hod, wd = _shipped_series()
    if args.command == "train":
        torch.set_num_threads(args.threads)
        cfg = LSTMConfig(**{f: getattr(args, f) for f in asdict(LSTMConfig())})
        model, info = train(series, hod, wd, cfg)
        model.save(args.out / SHIPPED_STEM)
        print(json.dumps({"train": info, "test": evaluate(model, series, hod, wd)}, indent=2))
    else:
        model = LSTMForecaster.load(args.path)
        print(json.dumps(evaluate(model, series, hod, wd), indent=2))


if __name__ == "__main__":
    main()
