"""Hourly time series for the environments: electricity prices and arrival counts.

Three sources, one result type (:class:`HourlySeries`):

* the real data shipped in ``swapgym/envs/data`` (read with importlib.resources,
  nothing downloads): :func:`shipped_prices` (SMARD German day-ahead 2018) and
  :func:`shipped_arrivals` (ACN-Data Caltech + JPL EV session starts, 2019);
* user CSV files: :func:`load_price_csv` / :func:`load_arrivals_csv`, validated strictly
  (a missing column, a non-numeric or NaN value, unsorted or duplicate timestamps or a
  gap in the hourly index raise ``ValueError`` naming the file, the column and the
  first bad row);
* synthetic generators with daily and weekly profiles plus noise:
  :func:`synthetic_prices` / :func:`synthetic_arrivals`.

Timestamps are ISO-8601 with a fixed UTC offset; the hour of day and weekday are those
of the written offset (the shipped files use standard time all year, so the index has
no daylight-saving gaps).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

DATA_PACKAGE = "swapgym.envs.data"
SHIPPED_PRICES = "smard_de_day_ahead_2018.csv"
SHIPPED_ARRIVALS = "acn_arrivals_2019.csv"


@dataclass(frozen=True)
class HourlySeries:
    """A gap-free hourly series.

    values: (T,) or (T, C) float64. hour_of_day: (T,) int in 0..23. weekday: (T,) int,
    Monday = 0. start: ISO-8601 timestamp of the first hour. columns: column names.
    """

    values: np.ndarray
    hour_of_day: np.ndarray
    weekday: np.ndarray
    start: str
    columns: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.values)


def _calendar(start: pd.Timestamp, n: int) -> tuple[np.ndarray, np.ndarray]:
    hours = np.arange(n) + start.hour
    weekday = (start.dayofweek + hours // 24) % 7
    return (hours % 24).astype(np.int64), weekday.astype(np.int64)


def _read_csv(path: str | Path, columns: list[str] | None, prefix: str | None, *, name: str) -> HourlySeries:
    """Read and validate an hourly CSV. ``columns``: required columns; else every
    column starting with ``prefix``."""
    path = Path(path)
    where = f"{name}={str(path)!r}"
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise ValueError(f"{where}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise ValueError(f"{where}: not a readable CSV ({err})") from None
    if "timestamp" not in df.columns:
        raise ValueError(f"{where}: missing column 'timestamp' (columns: {list(df.columns)})")
    if columns is None:
        columns = sorted((c for c in df.columns if prefix and c.startswith(prefix)),
                         key=lambda c: int(c[len(prefix):]) if c[len(prefix):].isdigit() else c)
    missing = [c for c in columns if c not in df.columns]
    if missing or not columns:
        raise ValueError(f"{where}: missing column {missing[0] if missing else prefix!r} "
                         f"(columns: {list(df.columns)})")
    if len(df) < 2:
        raise ValueError(f"{where}: column 'timestamp' needs at least 2 rows, got {len(df)}")
    # row numbers below are 1-based data rows (the header is row 0), as a spreadsheet shows
    stamps = pd.to_datetime(df["timestamp"], errors="coerce", utc=True, format="ISO8601")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        r = int(bad[0])
        raise ValueError(f"{where}: column 'timestamp' row {r + 1}: not an ISO-8601 time: {df['timestamp'][r]!r}")
    step = stamps.diff().dt.total_seconds().to_numpy()[1:] / 3600.0
    for r, h in enumerate(step, start=1):
        if h == 1.0:
            continue
        what = "duplicate" if h == 0 else "unsorted" if h < 0 else f"gap of {h:g} h in the hourly index"
        raise ValueError(f"{where}: column 'timestamp' row {r + 1}: {what} "
                         f"({df['timestamp'][r - 1]!r} -> {df['timestamp'][r]!r})")
    values = np.empty((len(df), len(columns)))
    for j, c in enumerate(columns):
        num = pd.to_numeric(df[c].str.strip(), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(num))
        if len(bad):
            r = int(bad[0])
            raise ValueError(f"{where}: column {c!r} row {r + 1}: not a finite number: {df[c][r]!r}")
        values[:, j] = num
    first = pd.Timestamp(df["timestamp"][0])
    hour_of_day, weekday = _calendar(first, len(df))
    return HourlySeries(values if len(columns) > 1 else values[:, 0], hour_of_day, weekday,
                        first.isoformat(), tuple(columns), str(path))


def load_price_csv(path: str | Path, *, name: str = "price_csv") -> HourlySeries:
    """Hourly prices: columns ``timestamp`` and ``price_per_mwh`` (EUR/MWh, may be negative)."""
    return _read_csv(path, ["price_per_mwh"], None, name=name)


def load_arrivals_csv(path: str | Path, *, name: str = "arrivals_csv") -> HourlySeries:
    """Hourly arrival counts: ``timestamp`` and either ``arrivals`` (total) or one column per
    type ``arrivals_0``, ``arrivals_1``, ... Counts must be non-negative."""
    path = Path(path)
    try:
        header = pd.read_csv(path, nrows=0).columns
    except FileNotFoundError:
        raise ValueError(f"{name}={str(path)!r}: file not found") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as err:
        raise ValueError(f"{name}={str(path)!r}: not a readable CSV ({err})") from None
    per_type = [c for c in header if c.startswith("arrivals_")]
    if "arrivals" in header or not per_type:
        series = _read_csv(path, ["arrivals"], None, name=name)
    else:
        series = _read_csv(path, None, "arrivals_", name=name)
    neg = np.argwhere(series.values < 0)
    if len(neg):
        r = int(neg[0][0])
        col = series.columns[int(neg[0][1]) if series.values.ndim == 2 else 0]
        raise ValueError(f"{name}={str(path)!r}: column {col!r} row {r + 1}: negative count")
    return series


def _shipped(filename: str, loader) -> HourlySeries:
    ref = resources.files(DATA_PACKAGE).joinpath(filename)
    with resources.as_file(ref) as path:
        series = loader(path, name=filename)
    return series


_CACHE: dict[str, HourlySeries] = {}


def shipped_prices() -> HourlySeries:
    """SMARD day-ahead price for Germany, 2018, hourly, EUR/MWh (CC BY 4.0; see data/README.md)."""
    if SHIPPED_PRICES not in _CACHE:
        _CACHE[SHIPPED_PRICES] = _shipped(SHIPPED_PRICES, load_price_csv)
    return _CACHE[SHIPPED_PRICES]


def shipped_arrivals() -> HourlySeries:
    """ACN-Data (Caltech + JPL) EV session starts per hour, 2019-05-01..2019-12-31 (CC BY 4.0)."""
    if SHIPPED_ARRIVALS not in _CACHE:
        _CACHE[SHIPPED_ARRIVALS] = _shipped(SHIPPED_ARRIVALS, load_arrivals_csv)
    return _CACHE[SHIPPED_ARRIVALS]


# --- synthetic generators -----------------------------------------------------------

SYNTHETIC_START = "2019-01-07T00:00+00:00"  # a Monday


def synthetic_prices(rng: np.random.Generator, hours: int = 24 * 365, mean_per_mwh: float = 45.0,
                     daily_amplitude: float = 0.3, weekend_factor: float = 0.85,
                     noise_per_mwh: float = 6.0, ar_coef: float = 0.8) -> HourlySeries:
    """Day-ahead-like prices (EUR/MWh): morning and evening peaks, a night trough, cheaper
    weekends, and AR(1) noise. Shape chosen to resemble European day-ahead markets."""
    hour_of_day, weekday = _calendar(pd.Timestamp(SYNTHETIC_START), hours)
    h = hour_of_day.astype(float)
    shape = (np.exp(-0.5 * ((h - 8) / 2.0) ** 2) + 1.2 * np.exp(-0.5 * ((h - 19) / 2.0) ** 2)
             - 0.8 * np.exp(-0.5 * ((h - 3) / 2.5) ** 2))
    profile = mean_per_mwh * (1.0 + daily_amplitude * shape)
    profile = np.where(weekday >= 5, profile * weekend_factor, profile)
    noise = np.empty(hours)
    e = rng.normal(0.0, noise_per_mwh, hours)
    acc = 0.0
    for i in range(hours):
        acc = ar_coef * acc + e[i]
        noise[i] = acc
    return HourlySeries(np.round(profile + noise, 2), hour_of_day, weekday, SYNTHETIC_START,
                        ("price_per_mwh",), "synthetic")


def arrival_profile(hour_of_day: np.ndarray, weekday: np.ndarray, daily_total: float = 75.0,
                    weekend_factor: float = 0.15) -> np.ndarray:
    """Expected arrivals per hour: a commuter morning peak plus a smaller midday plateau,
    resembling the workplace sessions in ACN-Data."""
    h = hour_of_day.astype(float)
    shape = (np.exp(-0.5 * ((h - 6.5) / 1.2) ** 2) + 0.3 * np.exp(-0.5 * ((h - 12.0) / 3.0) ** 2) + 0.01)
    day = np.exp(-0.5 * ((np.arange(24) - 6.5) / 1.2) ** 2) + 0.3 * np.exp(-0.5 * ((np.arange(24) - 12.0) / 3.0) ** 2) + 0.01
    lam = daily_total * shape / day.sum()
    return np.where(weekday >= 5, lam * weekend_factor, lam)


def synthetic_arrivals(rng: np.random.Generator, hours: int = 24 * 245, daily_total: float = 75.0,
                       weekend_factor: float = 0.15) -> HourlySeries:
    """Poisson counts around :func:`arrival_profile` (daily and weekly seasonality)."""
    hour_of_day, weekday = _calendar(pd.Timestamp(SYNTHETIC_START), hours)
    lam = arrival_profile(hour_of_day, weekday, daily_total, weekend_factor)
    return HourlySeries(rng.poisson(lam).astype(float), hour_of_day, weekday, SYNTHETIC_START,
                        ("arrivals",), "synthetic")
