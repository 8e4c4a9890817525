"""Means with 95 % confidence intervals and normalised scores."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci95(values) -> tuple[float, float]:
    """Mean and half-width of the 95 % Student-t interval (0 for a single value)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) == 1:
        return float(x[0]), 0.0
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean()), float(half)


def normalised_score(returns, reference: float, oracle: float) -> np.ndarray:
    """(R - R_reference) / (R_oracle - R_reference); NaN when the two anchors coincide."""
    span = oracle - reference
    r = np.asarray(returns, dtype=float)
    if not np.isfinite(span) or abs(span) < 1e-12:
        return np.full_like(r, np.nan)
    return (r - reference) / span


def add_normalised_scores(df: pd.DataFrame, reference: dict[str, str | None],
                          oracle: dict[str, str | None]) -> pd.DataFrame:
    """Adds ``score`` per row: anchors are the per-seed returns of the env's reference
    heuristic and oracle (paired by seed, so common random numbers cancel)."""
    df = df.copy()
    df["score"] = np.nan
    for env_id, rows in df.groupby("env_id"):
        ref, orc = reference.get(env_id), oracle.get(env_id)
        if ref is None or orc is None:
            continue
        by_seed = rows.groupby(["policy", "seed"])["episode_return"].mean()
        if ref not in by_seed.index.get_level_values(0) or orc not in by_seed.index.get_level_values(0):
            continue
        r_ref, r_orc = by_seed.loc[ref], by_seed.loc[orc]
        for idx, row in rows.iterrows():
            if row.seed in r_ref.index and row.seed in r_orc.index:
                df.at[idx, "score"] = normalised_score(
                    [row.episode_return], r_ref.loc[row.seed], r_orc.loc[row.seed])[0]
    return df


def summarise(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per (env_id, policy): ``<col>_mean`` and ``<col>_ci95`` for each column."""
    records = []
    for (env_id, policy), rows in df.groupby(["env_id", "policy"], sort=False):
        rec = {"env_id": env_id, "policy": policy, "episodes": len(rows)}
        for c in columns:
            if c in rows:
                rec[f"{c}_mean"], rec[f"{c}_ci95"] = mean_ci95(rows[c])
        records.append(rec)
    return pd.DataFrame.from_records(records)
