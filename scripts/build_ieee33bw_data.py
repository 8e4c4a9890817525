"""Derive the small IEEE 33-bus (Baran & Wu) tables that swapgym ships as package data.

Run once (needs the optional ``grid`` extra, pandapower)::

    .venv/bin/python scripts/build_ieee33bw_data.py

It reads ``pandapower.networks.case33bw()`` and writes two CSV files under
``envs/data/``: ``ieee33bw_buses.csv`` (bus index, load P/Q, plot coordinates) and
``ieee33bw_lines.csv`` (from/to bus, series R/X in ohm, normally-open tie flag). The
environment reads only these files, so pandapower is not needed at run time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "envs" / "data"


def main() -> None:
    import pandapower.networks as pn

    net = pn.case33bw()
    buses = []
    load_p = net.load.groupby("bus").p_mw.sum()
    load_q = net.load.groupby("bus").q_mvar.sum()
    for b in net.bus.index:
        x, y = json.loads(net.bus.geo.loc[b])["coordinates"]
        buses.append({"bus": int(b), "vn_kv": float(net.bus.vn_kv.loc[b]),
                      "p_kw": round(float(load_p.get(b, 0.0)) * 1000, 6),
                      "q_kvar": round(float(load_q.get(b, 0.0)) * 1000, 6),
                      "x": round(float(x), 6), "y": round(float(y), 6)})
    lines = []
    for i, row in net.line.iterrows():
        lines.append({"line": int(i), "from_bus": int(row.from_bus), "to_bus": int(row.to_bus),
                      "r_ohm": round(float(row.r_ohm_per_km * row.length_km), 6),
                      "x_ohm": round(float(row.x_ohm_per_km * row.length_km), 6),
                      "tie": int(not bool(row.in_service))})
    OUT.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(buses).to_csv(OUT / "ieee33bw_buses.csv", index=False)
    pd.DataFrame(lines).to_csv(OUT / "ieee33bw_lines.csv", index=False)
    print(f"wrote {len(buses)} buses and {len(lines)} lines to {OUT}")


if __name__ == "__main__":
    main()
