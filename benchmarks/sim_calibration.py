"""Compare the simulator's gappers with real 30 %+ gappers' premarket (polygon2 5-minute bars).

Real: ``shared/data/polygon2/output/gappers_premarket_5min.csv`` (839 gap-up days, 2015-2018,
gap = regular open vs prior close >= 30 %; premarket 5-minute bars 04:00-09:25 New York).
Model: one session of ``--gappers`` gappers (seeded), premarket prints 04:00-09:30.

Prints ``name: value unit`` lines: gap-size quantiles, premarket open (first print) and close
gaps, premarket range, fade from the high, premarket volume and trade counts, and the share of
premarket volume per 5-minute bucket (mean over days), real next to model.

Usage: ``python benchmarks/sim_calibration.py [--data PATH] [--gappers 300] [--seed 1]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
from tradecore.sim.generator import ModelParams, UniverseParams, new_york_ns
from tradecore.sim.simulated import SimulatedMarket

QUANTILES = (10, 25, 50, 75, 90)
BUCKETS = 66  # 04:00 .. 09:25
NS = 1_000_000_000


def _csv(path: str | None) -> Path:
    candidates = [Path(path)] if path else []
    env = os.environ.get("TRADECORE_DATA")
    if env:
        candidates.append(Path(env))
    here = Path(__file__).resolve()
    candidates += [p / "shared" / "data" for p in here.parents] + [p / "data" for p in here.parents]
    for root in candidates:
        found = root / "polygon2" / "output" / "gappers_premarket_5min.csv"
        if found.is_file():
            return found
    raise SystemExit("polygon2 data not found: pass --data (the folder holding polygon2/)")


def real_figures(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray]:
    df = pd.read_csv(path)
    traded = df[df.pm_vol > 0]
    shares = []
    for text in traded.pm_prices:
        volume = np.zeros(BUCKETS)
        for bar in json.loads(text):
            start = pd.Timestamp(bar["start"])
            k = (start.hour * 60 + start.minute - 240) // 5
            if 0 <= k < BUCKETS:
                volume[k] += bar["volume"]
        if volume.sum() > 0:
            shares.append(volume / volume.sum())
    figures = {
        "gap_pct": df.gap_pct.to_numpy(),
        "pm_open_gap_pct": (traded.pm_open / traded.prev_close - 1).to_numpy() * 100,
        "pm_close_gap_pct": (traded.pm_close / traded.prev_close - 1).to_numpy() * 100,
        "pm_range_pct_of_low": (traded.pm_high / traded.pm_low - 1).to_numpy() * 100,
        "pm_fade_from_high_pct": (traded.pm_high / traded.pm_close - 1).to_numpy() * 100,
        "pm_volume": traded.pm_vol.to_numpy(),
        "pm_trades": traded.pm_trades.to_numpy(),
        "pm_dollar_volume": (traded.pm_vol * traded.pm_close).to_numpy(),
    }
    return figures, np.mean(shares, axis=0)


def model_figures(gappers: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    day = dt.date(2026, 11, 27)
    params = ModelParams(universe=UniverseParams(symbols=gappers, gappers=gappers, history_days=2),
                         step_s=1.0)
    market = SimulatedMarket(seed=seed, start=new_york_ns(day, "04:00"), speed=0, params=params)
    open_ns = new_york_ns(day, "09:30")
    market.advance(open_ns)
    rows: dict[str, list[float]] = {k: [] for k in (
        "gap_pct", "pm_open_gap_pct", "pm_close_gap_pct", "pm_range_pct_of_low",
        "pm_fade_from_high_pct", "pm_volume", "pm_trades", "pm_dollar_volume")}
    shares = []
    four = new_york_ns(day, "04:00")
    for symbol in market.gappers:
        trades = market.trades(symbol, four, open_ns)
        asset = market.asset(symbol)
        assert asset is not None
        if not len(trades):
            continue
        trades = trades[np.argsort(trades["ts_event"], kind="stable")]
        prior = asset.prior_close
        price = trades["price"]
        rows["gap_pct"].append((float(market.generator.gap[market.symbols.index(symbol)])) * 100)
        rows["pm_open_gap_pct"].append((price[0] / prior - 1) * 100)
        rows["pm_close_gap_pct"].append((price[-1] / prior - 1) * 100)
        rows["pm_range_pct_of_low"].append((price.max() / price.min() - 1) * 100)
        rows["pm_fade_from_high_pct"].append((price.max() / price[-1] - 1) * 100)
        rows["pm_volume"].append(float(trades["size"].sum()))
        rows["pm_trades"].append(float(len(trades)))
        rows["pm_dollar_volume"].append(float(np.dot(price, trades["size"])))
        k = ((trades["ts_event"] - four) // (5 * 60 * NS)).astype(int)
        volume = np.bincount(k, weights=trades["size"], minlength=BUCKETS)[:BUCKETS]
        shares.append(volume / volume.sum())
    return {k: np.array(v) for k, v in rows.items()}, np.mean(shares, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder holding polygon2/ (default: shared/data)")
    parser.add_argument("--gappers", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    real, real_profile = real_figures(_csv(args.data))
    model, model_profile = model_figures(args.gappers, args.seed)
    units = {"pm_volume": "shares", "pm_trades": "trades", "pm_dollar_volume": "dollars"}
    print(f"real_days: {len(real['gap_pct'])} days")
    print(f"model_gappers: {len(model['gap_pct'])} symbols")
    for name in real:
        unit = units.get(name, "%")
        for q in QUANTILES:
            r = np.percentile(real[name], q)
            m = np.percentile(model[name], q)
            print(f"real_{name}_p{q}: {r:.1f} {unit}")
            print(f"model_{name}_p{q}: {m:.1f} {unit}")
    early = slice(0, 36)  # 04:00-06:55
    print(f"real_pm_volume_share_0400_0655: {100 * real_profile[early].sum():.2f} %")
    print(f"model_pm_volume_share_0400_0655: {100 * model_profile[early].sum():.2f} %")
    for k in range(36, BUCKETS):
        minutes = 240 + 5 * k
        label = f"{minutes // 60:02d}{minutes % 60:02d}"
        print(f"real_pm_volume_share_{label}: {100 * real_profile[k]:.2f} %")
        print(f"model_pm_volume_share_{label}: {100 * model_profile[k]:.2f} %")
    for lo, hi, label in ((36, 48, "0700_0755"), (48, 60, "0800_0855"), (60, 66, "0900_0925")):
        print(f"real_pm_volume_share_{label}: {100 * real_profile[lo:hi].sum():.1f} %")
        print(f"model_pm_volume_share_{label}: {100 * model_profile[lo:hi].sum():.1f} %")
    distance = 0.5 * np.abs(real_profile - model_profile).sum()
    print(f"pm_volume_profile_total_variation_distance: {100 * distance:.1f} %")


if __name__ == "__main__":
    main()
