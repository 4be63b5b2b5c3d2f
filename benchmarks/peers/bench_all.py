"""Run every peer configuration 3 times (separate processes, one at a time) and report medians.

    /work/venv-peers/bin/python benchmarks/peers/bench_all.py [--repeat 3] [--out results.json]

Each run is a fresh ``run_X.py`` process, so imports, caches and peak RSS do not carry over.
Trade lists are compared with the pandas reference (seeding matched to the peer). Writes the raw
runs and a summary to ``--out`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

import common  # noqa: F401  (sys.path)
import pandas as pd
from bars import SPY_WEEK, get_bars, load_lean_ticks
from reference import ema_cross_trades

PY = sys.executable
HERE = os.path.dirname(os.path.abspath(__file__))

CONFIGS = [
    ("nautilus", ["--bars", "lean"], "lean"),
    ("backtrader", ["--bars", "lean"], "lean"),
    ("nautilus", ["--bars", "synthetic", "--n", "200000"], "synthetic 200k"),
    ("backtrader", ["--bars", "synthetic", "--n", "200000"], "synthetic 200k"),
    ("nautilus", ["--bars", "synthetic", "--n", "1000000"], "synthetic 1M"),
    ("backtrader", ["--bars", "synthetic", "--n", "1000000"], "synthetic 1M"),
    ("nautilus", ["--ticks"], "LEAN SPY ticks"),
]
SEEDING = {"nautilus": "first", "backtrader": "sma"}


def reference_for(label: str, seeding: str) -> dict:
    if label == "LEAN SPY ticks":
        # Nautilus' internal time bars: intervals (t - 1 min, t], labelled at the close t; the
        # last (partial) bar is not emitted. Report by open time like bars.py.
        ticks = load_lean_ticks(SPY_WEEK)
        close = ticks["price"].resample("1min", closed="right", label="right").last().dropna()
        close = close.iloc[:-1]
        frame = pd.DataFrame({"close": close.to_numpy()},
                             index=close.index - pd.Timedelta(minutes=1))
    else:
        kind = "lean" if label == "lean" else "synthetic"
        frame = get_bars(kind, 1_000_000 if label.endswith("1M") else 200_000)
    return ema_cross_trades(frame, seeding=seeding)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=os.path.join(HERE, "results.json"))
    p.add_argument("--only", default=None, help="run only configs whose label contains this")
    args = p.parse_args()
    summary = []
    raw = []
    refs: dict[tuple[str, str], dict] = {}
    for peer, cli, label in CONFIGS:
        if args.only and args.only not in label:
            continue
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([PY, os.path.join(HERE, f"run_{peer}.py"), *cli],
                                 capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out))
            print(f"{peer:10s} {label:15s} run {runs[-1]['run_seconds']:.3f}s", file=sys.stderr)
        seeding = SEEDING[peer]
        key = (label, seeding)
        if key not in refs:
            refs[key] = reference_for(label, seeding)
        ref = refs[key]
        last = runs[-1]
        row = {
            "peer": peer,
            "data": label,
            "bars": last["bars"],
            "run_seconds_median": statistics.median(r["run_seconds"] for r in runs),
            "bars_per_second_median": statistics.median(r["bars_per_second"] for r in runs),
            "total_seconds_median": statistics.median(r["total_seconds"] for r in runs),
            "convert_seconds_median": statistics.median(r["convert_seconds"] for r in runs),
            "peak_rss_mib_median": statistics.median(r["peak_rss_mib"] for r in runs),
            "round_trips": last["round_trips"],
            "filled_round_trips": last["filled_round_trips"],
            "partial_fills": last["partial_fills"],
            "reference_seeding": seeding,
            "reference_round_trips": ref["round_trips"],
            "signals_identical": last["entries"] == ref["entries"] and last["exits"] == ref["exits"],
            "runs_consistent": all(r["entries"] == last["entries"] for r in runs),
        }
        if "ticks_per_second" in last:
            row["ticks"] = last["ticks"]
            row["ticks_per_second_median"] = statistics.median(r["ticks_per_second"] for r in runs)
        summary.append(row)
        for r in runs:
            for k in ("entries", "exits", "entry_fills", "exit_fills"):
                r.pop(k, None)
        raw.append({"peer": peer, "data": label, "runs": runs})
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(),
               "platform": platform.platform()}
    with open(args.out, "w") as fh:
        json.dump({"machine": machine, "summary": summary, "raw": raw}, fh, indent=1)
    print("| peer | data | bars | run s | bars/s | ticks/s | total s | peak RSS MiB "
          "| round trips | reference | identical signals |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in summary:
        tps = f"{r['ticks_per_second_median']:,.0f}" if "ticks_per_second_median" in r else ""
        print(f"| {r['peer']} | {r['data']} | {r['bars']:,} | {r['run_seconds_median']:.3f} "
              f"| {r['bars_per_second_median']:,.0f} | {tps} | {r['total_seconds_median']:.2f} "
              f"| {r['peak_rss_mib_median']:.0f} | {r['round_trips']} "
              f"| {r['reference_round_trips']} ({r['reference_seeding']}) "
              f"| {'yes' if r['signals_identical'] else 'NO'} |")
    return 0 if all(r["signals_identical"] for r in summary) else 1


if __name__ == "__main__":
    sys.exit(main())
