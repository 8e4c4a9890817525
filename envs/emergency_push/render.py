"""rgb_array frame: street grid with the push circle, vehicles coloured by charge, this
round's routes of admitted vehicles, and the station-energy curve with E_low/E_high."""

from __future__ import annotations

import numpy as np

from swapgym.envs.core.render import SOC_CMAP, figure_to_rgb, new_figure
from swapgym.envs.emergency_push import dynamics


def render_rgb(instance, state, last_round) -> np.ndarray:
    cfg = instance.config
    fig = new_figure(960, 480)
    ax_map, ax_e = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    xy = instance.node_xy_km
    ax_map.scatter(xy[:, 0], xy[:, 1], s=1, c="#dddddd")
    circle = np.linspace(0, 2 * np.pi, 200)
    sx, sy = xy[instance.station_node]
    ax_map.plot(sx + cfg.push_radius_km * np.cos(circle), sy + cfg.push_radius_km * np.sin(circle),
                color="#888888", lw=0.8, ls="--")
    vxy = xy[instance.vehicle_node]
    pts = ax_map.scatter(vxy[:, 0], vxy[:, 1], s=6, c=state.charge_kwh, cmap=SOC_CMAP,
                         vmin=0, vmax=cfg.battery_kwh)
    if last_round is not None:
        for v, route in zip(last_round.admitted.tolist(), last_round.admitted_route.tolist()):
            path = dynamics.path_nodes(instance, last_round.tree, v, route)
            ax_map.plot(xy[path, 0], xy[path, 1], lw=1.2, color="#1f77b4", alpha=0.8)
    ax_map.scatter([sx], [sy], marker="*", s=180, c="black", zorder=5)
    ax_map.set_aspect("equal")
    ax_map.set_title(f"hour {state.hour}: vehicles by charge, admitted routes", fontsize=9)
    ax_map.set_xticks([])
    ax_map.set_yticks([])
    fig.colorbar(pts, ax=ax_map, fraction=0.04, label="charge (kWh)")

    hist = np.asarray(state.energy_history)
    ax_e.plot(np.arange(len(hist)), hist, marker="o", ms=3, color="#2ca02c")
    ax_e.axhline(cfg.e_low_kwh, color="#d62728", ls="--", lw=1, label="E_low")
    ax_e.axhline(cfg.e_high_kwh, color="#1f77b4", ls="--", lw=1, label="E_high")
    ax_e.set_xlim(0, cfg.blackout_hours)
    ax_e.set_ylim(0, cfg.station_capacity_kwh * 1.05)
    ax_e.set_xlabel("hour of blackout")
    ax_e.set_ylabel("station energy (kWh)")
    ax_e.legend(loc="upper left", fontsize=8)
    if last_round is not None:
        ax_e.set_title(f"pushed {len(last_round.pushed)}, accepted {len(last_round.consented)}, "
                       f"swapped {len(last_round.swapped)}, unmet {last_round.unmet_kwh:.1f} kWh",
                       fontsize=9)
    fig.tight_layout()
    return figure_to_rgb(fig)
