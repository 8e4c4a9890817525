"""Benchmark report: summary table (mean ± 95 % CI, normalised score), plots, HTML page."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from swapgym.benchmarks import io
from swapgym.benchmarks.stats import add_normalised_scores, summarise

IDENTITY = ("policy", "env_id", "seed", "episode", "wall_time_s")


def anchors(df: pd.DataFrame) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Reference heuristic and oracle per env. With several oracles (e.g. rolling-horizon
    with perfect forecasts and the full-horizon MILP), the one with the best mean
    return in ``df`` anchors the score at 1."""
    from swapgym import baselines

    ref, orc = {}, {}
    for env_id, rows in df.groupby("env_id"):
        ref[env_id] = baselines.reference(env_id)
        means = rows.groupby("policy")["episode_return"].mean()
        present = [o for o in baselines.oracles(env_id) if o in means.index]
        orc[env_id] = max(present, key=lambda o: means[o]) if present else None
    return ref, orc


def fmt(mean: float, half: float) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "–"
    digits = 3 if abs(mean) < 10 else 1
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per env × policy: return and score (mean ± CI) and each metric's mean."""
    ref, orc = anchors(df)
    df = add_normalised_scores(df, ref, orc)
    metrics = [c for c in df.columns if c not in IDENTITY and pd.api.types.is_numeric_dtype(df[c])]
    summ = summarise(df, metrics)
    from swapgym import baselines

    summ["role"] = [
        "oracle (anchor)" if orc.get(e) == p else "oracle" if p in baselines.oracles(e)
        else "reference" if ref.get(e) == p else ""
        for e, p in zip(summ["env_id"], summ["policy"])]
    return summ


def to_markdown(summ: pd.DataFrame, metric_columns: int = 4) -> str:
    from swapgym.envs.registration import entry

    lines = []
    for env_id, rows in summ.groupby("env_id", sort=False):
        metric_names = [m for m in entry(env_id).summary_metrics if f"{m}_mean" in rows]
        if not metric_names:
            metric_names = [c[:-5] for c in rows.columns if c.endswith("_mean")
                            and c[:-5] not in ("episode_return", "score", "episode_length")
                            and rows[c].notna().any()][:metric_columns]
        head = ["policy", "role", "return", "score", *metric_names]
        lines += [f"### {env_id}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        rows = rows.sort_values("episode_return_mean", ascending=False)
        for _, r in rows.iterrows():
            cells = [r["policy"], r["role"], fmt(r["episode_return_mean"], r["episode_return_ci95"]),
                     fmt(r.get("score_mean", np.nan), r.get("score_ci95", np.nan))]
            cells += [fmt(r[f"{m}_mean"], r[f"{m}_ci95"]) for m in metric_names]
            lines.append("| " + " | ".join(str(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def plots(df: pd.DataFrame, summ: pd.DataFrame, out: Path) -> list[Path]:
    """Per env: bar chart of returns (± CI) and the key-quantity trajectory per policy."""
    from swapgym.envs.core.render import new_figure
    from swapgym.envs.registration import entry

    paths = []
    trajectories = df.attrs.get("trajectories", {})
    for env_id, rows in summ.groupby("env_id", sort=False):
        name = env_id.split("/")[-1]
        rows = rows.sort_values("episode_return_mean")
        fig = new_figure(800, 60 + 32 * len(rows))
        ax = fig.add_subplot()
        colors = ["#d62728" if r.startswith("oracle") else "#1f77b4" if r == "reference"
                  else "#7f7f7f" for r in rows["role"]]
        ax.barh(rows["policy"], rows["episode_return_mean"], xerr=rows["episode_return_ci95"],
                color=colors)
        ax.set_xlabel("episode return (mean ± 95 % CI over seeds)")
        ax.set_title(f"{env_id} (red: oracle, blue: reference heuristic)", fontsize=9)
        p = out / f"{name}_returns.png"
        io.save_figure(p, fig)
        paths.append(p)

        e = entry(env_id)
        fig = new_figure(800, 400)
        ax = fig.add_subplot()
        for policy in rows["policy"][::-1]:
            series = [trajectories[k] for k in trajectories if k[0] == env_id and k[1] == policy]
            if not series or not series[0]:
                continue
            length = min(len(s) for s in series)
            mean = np.mean([s[:length] for s in series], axis=0)
            ax.plot(np.arange(1, length + 1), mean, label=policy, lw=1.4)
        ax.set_xlabel("step")
        ax.set_ylabel(e.key_quantity_label)
        ax.set_title(f"{env_id}: {e.key_quantity_label}, mean over seeds", fontsize=9)
        ax.legend(fontsize=7, ncol=2)
        p = out / f"{name}_{e.key_quantity}.png"
        io.save_figure(p, fig)
        paths.append(p)
    return paths


def write_report(df: pd.DataFrame, out: str | Path, title: str = "swapgym baseline benchmark") -> str:
    """results.csv, summary.md, PNG plots and report.html; returns the markdown."""
    out = Path(out)
    io.write_csv(out / "results.csv", df)
    summ = summary_table(df)
    io.write_csv(out / "summary.csv", summ)
    seeds = sorted(df["seed"].unique())
    md = (f"# {title}\n\nSeeds: {', '.join(map(str, seeds))}. Mean ± 95 % CI (Student t) over "
          "seeds. Score: (R − R_reference) / (R_oracle − R_reference), paired by seed.\n\n"
          + to_markdown(summ))
    io.write_text(out / "summary.md", md)
    images = plots(df, summ, out)
    body = "".join(f'<h3>{html.escape(p.stem)}</h3><img src="{p.name}" style="max-width:100%">'
                   for p in images)
    table = summ.to_html(index=False, float_format=lambda x: f"{x:.3f}")
    io.write_text(out / "report.html",
                  f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>"
                  f"<body style='font-family:sans-serif'><h1>{html.escape(title)}</h1>"
                  f"<pre>{html.escape(md)}</pre>{table}{body}</body>")
    return md
