"""rgb_array rendering: the expressway with its stations, each station's battery stock by
SOC level, and the hourly grid power so far."""

from __future__ import annotations

import numpy as np

from swapgym.envs.core.render import SOC_CMAP, figure_to_rgb, new_figure


def render_rgb(instance, state, history) -> np.ndarray:
    c = instance.config
    fig = new_figure(960, 540)
    road = fig.add_axes((0.05, 0.78, 0.9, 0.17))
    road.plot([min(c.station_km) - 20, max(c.station_km) + 20], [0, 0], color="0.3", lw=6)
    for n, km in enumerate(c.station_km):
        road.plot([km], [0], marker="s", ms=18, color="tab:blue")
        road.text(km, 0.5, f"BSS{n + 1}", ha="center")
    road.set_ylim(-1, 1.2)
    road.set_yticks([])
    road.set_xlabel("km")
    road.set_title(f"hour {state.t}/{c.horizon_h}  served {state.served_total}  "
                   f"unserved {state.unserved_total}  released {state.released_total}")
    stock = fig.add_axes((0.05, 0.1, 0.42, 0.55))
    import matplotlib

    cmap = matplotlib.colormaps[SOC_CMAP]
    bottom = np.zeros(c.n_stations)
    for lv in range(c.n_levels):
        stock.bar(np.arange(c.n_stations), state.counts[:, lv], bottom=bottom,
                  color=cmap(lv / max(c.n_levels - 1, 1)))
        bottom += state.counts[:, lv]
    stock.set_xticks(np.arange(c.n_stations), [f"BSS{n + 1}" for n in range(c.n_stations)])
    stock.set_ylabel("batteries (colour: SOC)")
    power = fig.add_axes((0.55, 0.1, 0.4, 0.55))
    if history:
        g = np.array([r.grid_kwh / c.dt_h for r in history])
        for n in range(c.n_stations):
            power.step(np.arange(len(g)), g[:, n], where="post", label=f"BSS{n + 1}")
        power.legend(loc="upper left")
    power.set_xlim(0, c.horizon_h)
    power.set_xlabel("hour")
    power.set_ylabel("grid power (kW)")
    return figure_to_rgb(fig)
