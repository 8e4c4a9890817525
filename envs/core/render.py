"""Rendering helpers: an off-screen matplotlib figure turned into an RGB array.

matplotlib is imported lazily so that building an env never pays for it.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def new_figure(width_px: int = 960, height_px: int = 540, dpi: int = 96) -> Any:
    """An Agg-backed Figure (no pyplot state, safe in worker processes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_rgb(fig: Any) -> np.ndarray:
    """Draw ``fig`` and return its pixels as ``uint8`` of shape (H, W, 3)."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return np.ascontiguousarray(rgba[..., :3])


SOC_CMAP = "RdYlGn"  # red = empty, green = full; used by every problem's renderer
