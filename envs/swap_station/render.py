"""rgb_array view of the swap station: stock by type and SoC level, the price window,
recent arrivals and the day's profit."""

from __future__ import annotations

import numpy as np

from swapgym.envs.core.render import SOC_CMAP, figure_to_rgb, new_figure


def render_rgb(env) -> np.ndarray:
    import matplotlib

    st, state, inst = env.station, env.state, env.instance
    K, L = st.n_types, st.n_levels
    fig = new_figure(960, 540)
    (ax_stock, ax_price), (ax_arr, ax_profit) = fig.subplots(2, 2)
    cmap = matplotlib.colormaps[SOC_CMAP]
    bottom = np.zeros(K)
    names = [f"type {k} ({st.capacity_kwh[k]:g} kWh)" for k in range(K)]
    for level in range(L + 1):
        counts = state.levels[:, level]
        ax_stock.bar(names, counts, bottom=bottom, color=cmap(level / L), edgecolor="black", linewidth=0.3,
                     label=f"{100 * level / L:.0f} %")
        bottom += counts
    ax_stock.set_title(f"battery stock by state of charge (hour {state.t}/{inst.episode_hours})")
    ax_stock.set_ylabel("packs")
    ax_stock.legend(fontsize=7, ncol=L + 1, loc="upper center")
    ax_stock.set_ylim(0, float(st.n_batteries.max()) * 1.3)

    prices = inst.price_per_kwh[: inst.episode_hours] * 1000.0
    ax_price.step(np.arange(len(prices)), prices, where="post", color="tab:blue")
    ax_price.axvline(state.t, color="black", linestyle="--", linewidth=0.8)
    ax_price.set_title("day-ahead price (EUR/MWh)")
    ax_price.set_xlabel("hour of episode")

    seen = inst.observed_arrivals(state.t, min(state.t, inst.episode_hours)) if state.t else np.zeros((0, K))
    for k in range(K):
        ax_arr.plot(np.arange(len(seen)), seen[:, k] if len(seen) else [], marker=".", label=names[k])
    ax_arr.set_title("arrivals per hour (this episode)")
    ax_arr.set_xlim(0, inst.episode_hours)
    ax_arr.legend(fontsize=7)

    trace = np.cumsum(env._profit_trace) if env._profit_trace else np.zeros(1)
    ax_profit.plot(np.arange(1, len(trace) + 1), trace, color="tab:green")
    ax_profit.set_xlim(0, inst.episode_hours)
    m = env.episode_metrics()
    ax_profit.set_title(f"cumulative profit EUR {m['profit_eur']:.2f}  "
                        f"(served {m['swaps_served']:.0f}, lost {m['swaps_lost']:.0f})")
    fig.tight_layout()
    return figure_to_rgb(fig)
