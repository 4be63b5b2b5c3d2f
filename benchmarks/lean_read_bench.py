"""Read every SPY tick trade file and print the read speed of tradecore.data.lean.

Usage: ``python benchmarks/lean_read_bench.py [--repeat N]`` with the package installed
and the data found as in :mod:`tradecore.data.locate` (or ``$TRADECORE_DATA``). Prints the
best of N runs, and as a baseline measured in the same run the speed of pandas' C CSV parser
alone on the same (already unzipped) text, so the ratio shows what the conversion costs.
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile

import pandas as pd
from benchlib import best_of
from tradecore.data import available_dates, lean_path, lean_root, read_trade_ticks

__all__ = ["main"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    parser.add_argument("--symbol", default="spy")
    args = parser.parse_args()
    root = lean_root()
    if root is None:
        print("LEAN data not found: set TRADECORE_DATA", file=sys.stderr)
        return 1
    dates = available_dates(root, args.symbol)
    rows = sum(len(read_trade_ticks(root, args.symbol, day)) for day in dates)
    ours = best_of(lambda: [read_trade_ticks(root, args.symbol, d) for d in dates], args.repeat)

    texts = []
    for day in dates:
        with zipfile.ZipFile(lean_path(root, "trade", args.symbol, day)) as archive:
            texts.append(archive.read(archive.namelist()[0]))
    dtypes = {0: "float64", 1: "int64", 2: "int64", 3: "str", 4: "str", 5: "int8"}
    parse_only = best_of(lambda: [pd.read_csv(io.BytesIO(t), header=None, dtype=dtypes) for t in texts], args.repeat)
    print(f"files: {len(dates)} {args.symbol.upper()} tick trade days, rows: {rows:,}")
    print(f"lean_read_trades: {rows / ours:,.0f} rows/s ({ours:.3f} s)")
    print(f"baseline pandas C parse of unzipped text: {rows / parse_only:,.0f} rows/s")
    print(f"ratio read_trade_ticks / parse-only time: {ours / parse_only:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
