"""End-to-end replay figures of the per-symbol engine, with peers measured in the same run.

Run ``python benchmarks/replay_bench.py`` after ``pip install .``. Prints one figure per line as
``name: value unit``:

- ``replay_native_*``: the LEAN SPY, BAC and IBM trade and quote ticks of 2013-10-07..11 (about
  5.7 million events), each symbol through its own engine: 1-minute aggregation, the built-in
  strategies, the native fill simulator; intents routed by the Python loop exactly as in a
  backtest. Events per second over the engine runs only (file reading excluded, reported apart).
- ``ema_cross_*_bars_per_s``: the same ``ema_cross`` (EMA 10/30, 100 shares) on one million
  synthetic one-minute bars, native and as a Python strategy on native indicators, and the trades
  each produced.
- ``peer_*``: NautilusTrader's BacktestEngine and backtrader running the equivalent strategy on the
  same bars, when their interpreter is given by ``TRADECORE_PEERS_PYTHON`` (a separate virtual
  environment: see benchmarks/peers/README.md), with the speed ratios.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import report
from tradecore import engine, schema, strategies
from tradecore.data import lean, locate

HERE = Path(__file__).resolve().parent
DAYS = ["20131007", "20131008", "20131009", "20131010", "20131011"]
SYMBOLS = {"spy": False, "bac": True, "ibm": True}  # symbol -> has tick quotes


def builtin_strategies(prior_close: float) -> list[object]:
    """ema_cross and premarket_momentum. These large caps never gap 20 %, so the momentum
    strategy's gap and relative-volume gates are opened (gap >= -100 %, no rvol floor) to make
    it arm, enter and exit through its whole machine on quotes and bars, as a gapper would."""
    momentum = strategies.PremarketMomentumParams(
        prior_close=prior_close, min_gap_percent=-100.0, min_relative_volume=0.0, max_spread=0.05
    )
    return [strategies.EmaCross(), strategies.PremarketMomentum(momentum)]


def load_ticks(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    ticks = {}
    for symbol, has_quotes in SYMBOLS.items():
        trades = schema.concatenate([lean.read_trade_ticks(root, symbol, d) for d in DAYS], schema.TRADE)
        quotes = None
        if has_quotes:
            quotes = schema.concatenate([lean.read_quote_ticks(root, symbol, d) for d in DAYS], schema.QUOTE)
        ticks[symbol] = (trades, quotes)
    return ticks


def replay_native(root: Path) -> None:
    start = time.perf_counter()
    ticks = load_ticks(root)
    report("replay_native_load_seconds", time.perf_counter() - start, "s")
    events = trades_done = 0
    elapsed = 0.0
    for symbol, (trades, quotes) in ticks.items():
        daily = lean.read_daily_bars(root, symbol)
        before = daily[daily["ts_event"] < trades["ts_event"][0]]
        symbol_engine = engine.SymbolEngine(symbol, builtin_strategies(float(before["close"][-1])),
                                            bar_period="1min")
        start = time.perf_counter()
        run = symbol_engine.backtest(trades=trades, quotes=quotes)
        elapsed += time.perf_counter() - start
        events += run.events
        trades_done += len(run.fills)
    report("replay_native_events", events, "events")
    report("replay_native_events_per_s", events / elapsed, "events/s")
    report("replay_native_fills", trades_done, "fills")


def synthetic_bars(n: int, seed: int = 42) -> np.ndarray:
    """The peers' random walk of one-minute bars (benchmarks/peers/bars.py), as a BAR array."""
    sys.path.insert(0, str(HERE / "peers"))
    from bars import synthetic_minute_bars  # type: ignore[import-not-found]

    frame = synthetic_minute_bars(n, seed=seed)
    bars = schema.empty(schema.BAR, n)
    bars["ts_event"] = frame.index.as_unit("ns").asi8
    bars["ts_end"] = bars["ts_event"] + 60_000_000_000
    for field in ("open", "high", "low", "close", "volume"):
        bars[field] = frame[field].to_numpy()
    return bars


def ema_cross_bars(bars: np.ndarray) -> dict[str, float]:
    figures = {}
    for label, strategy in (("native", strategies.EmaCross()), ("python", _python_ema_cross())):
        symbol_engine = engine.SymbolEngine("bench", [strategy], bar_period=None)
        start = time.perf_counter()
        run = symbol_engine.backtest(bars=bars)
        seconds = time.perf_counter() - start
        figures[label] = len(bars) / seconds
        report(f"ema_cross_{label}_bars_per_s", figures[label], "bars/s")
        report(f"ema_cross_{label}_round_trips", int((run.fills["side"] == schema.Side.SELL).sum()), "trades")
    return figures


def _python_ema_cross() -> object:
    sys.path.insert(0, str(HERE.parent / "examples"))
    from python_strategy import EmaCrossPy  # type: ignore[import-not-found]

    return EmaCrossPy()


def peers(n: int, ours: dict[str, float]) -> None:
    python = os.environ.get("TRADECORE_PEERS_PYTHON")
    if not python:
        print("# peers skipped: set TRADECORE_PEERS_PYTHON to the peers' interpreter (benchmarks/peers/README.md)")
        return
    for peer, script in (("nautilus", "run_nautilus.py"), ("backtrader", "run_backtrader.py")):
        count = n if peer == "nautilus" else min(n, 200_000)  # backtrader is slow: a smaller run
        command = [python, str(HERE / "peers" / script), "--bars", "synthetic", "--n", str(count), "--brief"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            print(f"# peer {peer} failed: {result.stderr.strip()[-300:]}")
            continue
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        report(f"peer_{peer}_bars", count, "bars")
        report(f"peer_{peer}_bars_per_s", figures["bars_per_second"], "bars/s")
        report(f"peer_{peer}_round_trips", figures["round_trips"], "trades")
        report(f"ema_cross_native_vs_{peer}", ours["native"] / figures["bars_per_second"], "x")
        report(f"ema_cross_python_vs_{peer}", ours["python"] / figures["bars_per_second"], "x")


def main() -> None:
    root = locate.lean_root()
    if root is None:
        print("# LEAN data not found: set TRADECORE_DATA; tick replay skipped")
    else:
        replay_native(root)
    n = 1_000_000
    ours = ema_cross_bars(synthetic_bars(n))
    peers(n, ours)


if __name__ == "__main__":
    main()
