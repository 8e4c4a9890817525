"""rgb_array rendering: nodes, road graph, routes, vans coloured by SOC, rendezvous points."""

from __future__ import annotations

import itertools

import numpy as np

from swapgym.envs.core.render import SOC_CMAP, figure_to_rgb, new_figure
from swapgym.envs.fleet_v2v import dynamics as dyn


def render_rgb(config, instance, state) -> np.ndarray:
    fig = new_figure(800, 600)
    ax = fig.add_subplot(1, 1, 1)
    xy = instance.node_xy_km
    for i, j in instance.road_edges:
        ax.plot(xy[[i, j], 0], xy[[i, j], 1], color="0.85", lw=0.8, zorder=0)
    colours = [f"C{v % 10}" for v in range(instance.n_vans)]
    for v, r in enumerate(instance.routes):
        pts = [instance.path(a, b) for a, b in itertools.pairwise(r)]
        nodes = [pts[0][0]] + [n for p in pts for n in p[1:]]
        ax.plot(xy[nodes, 0], xy[nodes, 1], color=colours[v], lw=1.2, alpha=0.5, zorder=1)
    task = instance.node_kind == 0
    ax.scatter(xy[task, 0], xy[task, 1], marker="o", s=30, c="0.3", label="task", zorder=2)
    st_xy = xy[instance.station_nodes]
    ax.scatter(st_xy[:, 0], st_xy[:, 1], marker="s", s=70, c="tab:blue", label="station", zorder=2)
    ax.scatter(*xy[instance.depot], marker="*", s=200, c="k", label="depot", zorder=2)
    if state is not None:
        for _t, node, _c, _p, _kwh in state.rendezvous_log:
            ax.scatter(*xy[node], marker="D", s=120, facecolors="none", edgecolors="m", lw=2,
                       zorder=3)
        pos = dyn.current_xy(instance, state)
        soc = dyn.current_energy(state) / instance.battery_kwh
        sc = ax.scatter(pos[:, 0], pos[:, 1], c=soc, cmap=SOC_CMAP, vmin=0.0, vmax=1.0, s=90,
                        edgecolors="k", zorder=4)
        for v in range(instance.n_vans):
            ax.annotate(str(v + 1), pos[v], fontsize=7, ha="center", va="center", zorder=5)
        fig.colorbar(sc, ax=ax, label="SOC")
        ax.set_title(f"FleetV2V  t = {state.time_h:.2f} h   cost = {state.total_cost:.1f} ¥   "
                     f"V2V = {state.totals['v2v_delivered_kwh']:.1f} kWh")
    ax.set_xlabel("east of depot (km)")
    ax.set_ylabel("north of depot (km)")
    ax.set_aspect("equal")
    ax.legend(loc="lower left", fontsize=7)
    return figure_to_rgb(fig)
