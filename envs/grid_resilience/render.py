"""rgb_array view of GridResilience: the feeder with damaged lines, islands, resources
and shed load (matplotlib imported lazily through ``swapgym.envs.core.render``)."""

from __future__ import annotations

import numpy as np

from swapgym.envs.core.render import SOC_CMAP, figure_to_rgb, new_figure


def render_rgb(inst, state, outcome) -> np.ndarray:
    import matplotlib as mpl

    fig = new_figure(960, 540)
    ax = fig.add_subplot(1, 1, 1)
    fd = inst.feeder
    topo = inst.topologies[state.scenario] if state is not None else inst.topologies[0]
    xy = fd.xy
    colors = mpl.colormaps["tab10"]
    for line in range(fd.n_line):
        a, b = fd.line_from[line], fd.line_to[line]
        ok = topo.in_service[line]
        ax.plot(*xy[[a, b]].T, color="0.3" if ok else "red", lw=2 if ok else 1.5,
                ls="-" if ok else "--", zorder=1)
    shed_frac = np.zeros(fd.n_bus)
    if outcome is not None:
        shed_frac = np.divide(outcome.shed_kw, outcome.load_kw, out=np.zeros(fd.n_bus),
                              where=outcome.load_kw > 0)
    ax.scatter(*xy.T, s=40 + 120 * shed_frac, c=[colors(i % 10) for i in topo.island],
               edgecolors=np.where(shed_frac[:, None] > 0.01, [[0.8, 0, 0, 1]], [[0, 0, 0, 1]]),
               linewidths=np.where(shed_frac > 0.01, 2.5, 0.5), zorder=2)
    ax.scatter(*xy[0], marker="s", s=160, c="k", zorder=3, label="substation")
    ax.scatter(*xy[inst.gt_bus].T, marker="^", s=90, c="orange", zorder=3, label="gas turbine")
    ax.scatter(*xy[inst.dg_bus].T, marker="*", s=120, c="gold", zorder=3, label="PV")
    sto = inst.storage
    soc = np.divide(state.energy_kwh, sto.energy_max_kwh, out=np.zeros(sto.n),
                    where=sto.energy_max_kwh > 0) if state is not None else np.zeros(sto.n)
    fixed = (sto.kind != 2) & (sto.energy_max_kwh > 0)
    ax.scatter(*(xy[sto.bus[fixed]] + [0.15, -0.15]).T, marker="D", s=70, c=soc[fixed],
               cmap=SOC_CMAP, vmin=0, vmax=1, zorder=3, label="EV-RB / SESS (SoC)")
    if state is not None and inst.n_mess:
        parked = state.mess_site >= 0
        for j, m in enumerate(inst.mess_index):
            if parked[j]:
                p = xy[inst.mess_site_bus[state.mess_site[j]]] + [0.0, 0.25 + 0.2 * j]
                ax.scatter(*p, marker="P", s=90, c=[soc[m]], cmap=SOC_CMAP, vmin=0, vmax=1, zorder=4)
    ax.scatter([], [], marker="P", c="tab:green", label="MESS (SoC)")
    hour = state.t if state is not None else 0
    served = "" if outcome is None else (
        f", served {outcome.load_kw.sum() - outcome.shed_kw.sum():.0f} / {outcome.load_kw.sum():.0f} kW")
    ax.set_title(f"IEEE 33-bus, scenario {state.scenario if state else 0}, hour {hour}{served}; "
                 f"{topo.n_islands} islands (colours), dashed = damaged")
    ax.legend(loc="lower left", fontsize=7)
    ax.set_axis_off()
    return figure_to_rgb(fig)
