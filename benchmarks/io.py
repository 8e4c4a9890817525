"""Atomic file writes: write to a temporary file in the same folder, then rename.

A killed run never leaves a half-written result behind; a resumed run trusts every
file it finds.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd


def write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def update_section(path: str | Path, heading: str, body: str) -> None:
    """Replace the markdown section ``heading`` (e.g. "## Speed") of ``path`` with
    ``body``, keeping every other section; append it if missing. Atomic."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Measured results\n"
    lines = text.splitlines()
    level = heading.split(" ", 1)[0]
    start = next((i for i, line in enumerate(lines) if line.strip() == heading), None)
    new = [heading, "", *body.strip("\n").splitlines(), ""]
    if start is None:
        lines = [*lines, "", *new]
    else:
        end = next((j for j in range(start + 1, len(lines))
                    if lines[j].startswith("#") and len(lines[j].split(" ", 1)[0]) <= len(level)),
                   len(lines))
        lines = lines[:start] + new + lines[end:]
    write_text(path, "\n".join(lines).rstrip("\n") + "\n")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=1, default=_jsonable))


def write_csv(path: str | Path, df: pd.DataFrame) -> None:
    write_text(path, df.to_csv(index=False))


def save_figure(path: str | Path, fig: Any) -> None:
    """Save a matplotlib figure atomically (PNG)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
