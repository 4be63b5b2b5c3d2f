"""Batch bar aggregation from Python: trades per second, against NumPy and pandas baselines.

Prints one line per figure as ``name: value unit``. Run ``python benchmarks/bars_bench.py``;
``benchmarks/core_bench.py`` includes these figures.
"""

from __future__ import annotations

import numpy as np
from benchlib import best_of
from tradecore import bars, schema

MINUTE = 60_000_000_000


def synthetic_tape(n: int = 4_000_000, seed: int = 42) -> np.ndarray:
    """A premarket-to-evening tape on 2013-10-07: ~70 trades/s random walk."""
    rng = np.random.default_rng(seed)
    trades = schema.empty(schema.TRADE, n)
    start = 1_381_132_800_000_000_000  # 2013-10-07 08:00 UTC = 04:00 New York
    trades["ts_event"] = start + np.sort(rng.integers(0, 16 * 3600 * 10**9, n))
    trades["price"] = 100 + np.cumsum(rng.normal(0, 0.01, n))
    trades["size"] = rng.integers(1, 1000, n)
    return trades


def numpy_minute_bars(trades: np.ndarray) -> tuple[np.ndarray, ...]:
    """Plain NumPy OHLCV by minute (no sessions, no validation): the fastest honest baseline."""
    ts, price, size = trades["ts_event"], trades["price"], trades["size"]
    minute = ts // MINUTE
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    ends = np.r_[starts[1:], len(ts)] - 1
    high = np.maximum.reduceat(price, starts)
    low = np.minimum.reduceat(price, starts)
    volume = np.add.reduceat(size, starts)
    vwap = np.add.reduceat(price * size, starts) / volume
    return price[starts], high, low, price[ends], volume, vwap


def bar_figures(trades: np.ndarray | None = None) -> list[tuple[str, float, str]]:
    """Measure the batch aggregator and its baselines on the same tape in the same run."""
    trades = synthetic_tape() if trades is None else trades
    n = len(trades)
    ours = best_of(lambda: bars.aggregate(trades, "1min"))
    figures = [
        ("aggregate_1min_trades_per_s", n / ours, "trades/s"),
        ("aggregate_1min_ns_per_trade", ours / n * 1e9, "ns"),
    ]
    for kind, size in (("tick", 500), ("volume", 100_000)):
        t = best_of(lambda: bars.aggregate(trades, kind=kind, size=size))
        figures.append((f"aggregate_{kind}_ns_per_trade", t / n * 1e9, "ns"))
    numpy_time = best_of(lambda: numpy_minute_bars(trades))
    figures.append(("aggregate_1min_speedup_vs_numpy_reduceat", numpy_time / ours, "x"))
    try:
        import pandas as pd
    except ImportError:
        return figures
    frame = pd.DataFrame({"price": trades["price"], "size": trades["size"]},
                         index=pd.to_datetime(trades["ts_event"], utc=True))

    def pandas_bars() -> object:
        grouped = frame.resample("1min")
        return grouped["price"].ohlc().join(grouped["size"].sum())

    pandas_time = best_of(pandas_bars, repeat=3)
    figures.append(("aggregate_1min_speedup_vs_pandas_resample", pandas_time / ours, "x"))
    return figures


def main() -> None:
    for name, value, unit in bar_figures():
        print(f"{name}: {value:.4g} {unit}")


if __name__ == "__main__":
    main()
