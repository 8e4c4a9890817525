"""The baseline benchmark: every env × every baseline × seeds, resumable.

Each (env, policy, seed) cell is one episode written atomically to
``<out>/cells/<env>__<policy>__<seed>.json``; a rerun skips finished cells, so a killed
``swapgym bench`` resumes where it stopped. Cells run in a local process pool
(default) or on Ray (``executor="ray"``); a cell's result depends only on its seed, so
both executors give the same numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from swapgym.benchmarks import io


@dataclass(frozen=True)
class Cell:
    env_id: str
    policy: str
    seed: int

    @property
    def key(self) -> str:
        env = self.env_id.split("/")[-1]
        return f"{env}__{self.policy}__{self.seed}"


def plan(envs: Iterable[str], policies: Sequence[str] | None, seeds: Iterable[int]) -> list[Cell]:
    """All cells; ``policies=None`` means every baseline registered for the env."""
    from swapgym import baselines
    from swapgym.envs.registration import entry

    seeds = list(seeds)
    cells = []
    for env in envs:
        env_id = entry(env).env_id
        names = baselines.available(env_id) if policies is None else list(policies)
        for name in names:
            baselines.spec(name, env_id)  # raises a clear error for an unknown name
            cells.extend(Cell(env_id, name, s) for s in seeds)
    return cells


def run_cell(cell: Cell) -> dict[str, Any]:
    """One episode of one baseline on one seed; returns the row plus its trajectory."""
    from swapgym.benchmarks.runner import evaluate

    df = evaluate(cell.policy, cell.env_id, [cell.seed], record_trajectory=True)
    row = df.iloc[0].to_dict()
    trajectory = df.attrs["trajectories"][(cell.seed, 0)]
    return {"row": row, "trajectory": trajectory}


def _cell_path(out: Path, cell: Cell) -> Path:
    return out / "cells" / f"{cell.key}.json"


def run(cells: Sequence[Cell], out: str | Path, *, executor: str = "process", n_jobs: int | None = None,
        ray_address: str | None = None, progress: bool = True) -> pd.DataFrame:
    """Run the cells not yet in ``out/cells`` and return every cell's row."""
    out = Path(out)
    todo = [c for c in cells if not _cell_path(out, c).exists()]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc="bench", unit="episode",
               disable=not progress)

    def done(cell: Cell, result: dict[str, Any]) -> None:
        io.write_json(_cell_path(out, cell), result)
        bar.set_postfix_str(cell.key, refresh=False)
        bar.update(1)

    if todo:
        _EXECUTORS[executor](todo, done, n_jobs, ray_address)
    bar.close()
    return load(cells, out)


def load(cells: Sequence[Cell], out: Path) -> pd.DataFrame:
    rows, trajectories = [], {}
    for cell in cells:
        data = json.loads(_cell_path(out, cell).read_text())
        rows.append(data["row"])
        trajectories[(cell.env_id, cell.policy, cell.seed)] = data["trajectory"]
    df = pd.DataFrame.from_records(rows)
    df.attrs["trajectories"] = trajectories
    return df


def _run_local(todo: list[Cell], done: Callable, n_jobs: int | None, _address: str | None) -> None:
    n_jobs = n_jobs or os.cpu_count() or 1
    if n_jobs == 1:
        for cell in todo:
            done(cell, run_cell(cell))
        return
    with ProcessPoolExecutor(max_workers=n_jobs) as pool:
        futures = {pool.submit(run_cell, c): c for c in todo}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())


def _run_ray(todo: list[Cell], done: Callable, n_jobs: int | None, address: str | None) -> None:
    try:
        import ray
    except ImportError as err:  # pragma: no cover - depends on the optional extra
        raise RuntimeError("executor 'ray' needs the ray extra: pip install 'swapgym[ray]'") from err
    started = False
    if not ray.is_initialized():
        ray.init(address=address, num_cpus=None if address else n_jobs, include_dashboard=False,
                 log_to_driver=False)
        started = True
    try:
        remote = ray.remote(run_cell)
        refs = {remote.remote(c): c for c in todo}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                done(refs[ref], ray.get(ref))
    finally:
        if started:
            ray.shutdown()


_EXECUTORS = {"process": _run_local, "ray": _run_ray}
