"""``ema_cross`` on backtrader 1.9.78.123 (Cerebro, PandasData feed).

    /work/venv-peers/bin/python benchmarks/peers/run_backtrader.py --bars lean|synthetic --n N

Prints JSON: bars, ``run_seconds`` (``cerebro.run()`` only; it includes backtrader's preloading of
the pandas feed into its line buffers, which cannot be separated), ``convert_seconds`` (building
the feed object), ``load_seconds``, ``total_seconds``, bars/s (= bars / run_seconds), round trips,
signal and fill timestamps, peak RSS.

Semantics (see README.md):

* EMA: ``bt.ind.EMA`` (ExponentialSmoothing), seeded with the SMA of the first ``period`` closes
  (``math.fsum / period``), first value at index ``period - 1``.
* A market order created in ``next()`` of bar i fills at the OPEN of bar i + 1 (backtrader's
  default broker, no cheat-on-close); by the time ``next()`` runs on bar i + 1 the position is
  already updated. A signal on the very last bar never fills (counted in ``round_trips``, not in
  ``filled_round_trips``).
* The default broker ignores bar volume, so 100-share orders always fill whole.
* ``Cerebro(stdstats=False)`` (no observers), defaults otherwise (preload=True, runonce=True).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import sys  # noqa: E402

import backtrader as bt  # noqa: E402
import common  # noqa: E402  (puts this folder on sys.path)
import pandas as pd  # noqa: E402
from bars import get_bars  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _T0


class EmaCross(bt.Strategy):
    """Long-only EMA(10/30) cross; signals on the bar close, market orders."""

    params = (("fast", 10), ("slow", 30), ("qty", common.ORDER_QTY))

    def __init__(self) -> None:
        self.fast = bt.ind.EMA(self.data.close, period=self.p.fast)
        self.slow = bt.ind.EMA(self.data.close, period=self.p.slow)
        self.prev_fast = None
        self.prev_slow = None
        self.entries: list[int] = []  # signal bar index
        self.exits: list[int] = []
        self.fills: list[tuple[float, str, float, float]] = []  # (bt date num, side, qty, price)

    def next(self) -> None:  # first called on index slow - 1, when both EMAs exist
        f = self.fast[0]
        s = self.slow[0]
        pf, ps = self.prev_fast, self.prev_slow
        self.prev_fast, self.prev_slow = f, s
        if pf is None:
            return
        if pf <= ps and f > s and not self.position:
            self.entries.append(len(self) - 1)
            self.buy(size=self.p.qty)
        elif pf >= ps and f < s and self.position.size > 0:
            self.exits.append(len(self) - 1)
            self.sell(size=self.p.qty)

    def notify_order(self, order) -> None:
        if order.status == order.Completed:
            self.fills.append((order.executed.dt, "BUY" if order.isbuy() else "SELL",
                               abs(order.executed.size), order.executed.price))
        elif order.status in (order.Canceled, order.Margin, order.Rejected):
            self.fills.append((float("nan"), "FAILED:" + order.getstatusname(), 0.0, 0.0))


def run_bars(frame: pd.DataFrame) -> dict:
    """Run on a bar frame from :mod:`bars`; return the result dict (no printing)."""
    t0 = time.perf_counter()
    data = frame[["open", "high", "low", "close", "volume"]].copy()
    data.index = data.index.tz_convert("UTC").tz_localize(None)  # naive UTC for backtrader
    feed = bt.feeds.PandasData(dataname=data, openinterest=None)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(feed)
    cerebro.addstrategy(EmaCross)
    cerebro.broker.setcash(100_000_000.0)
    convert = time.perf_counter() - t0
    t1 = time.perf_counter()
    (strategy,) = cerebro.run()
    run = time.perf_counter() - t1
    n = len(frame)
    stamps = frame.index
    fills = strategy.fills
    buys = [f for f in fills if f[1] == "BUY"]
    sells = [f for f in fills if f[1] == "SELL"]

    def fill_iso(f):
        return (pd.Timestamp(bt.num2date(f[0])).tz_localize("UTC").round("s").isoformat(), f[3])

    return {
        "peer": "backtrader",
        "version": bt.__version__,
        "mode": "bars",
        "bars": n,
        "import_seconds": round(IMPORT_SECONDS, 4),
        "convert_seconds": round(convert, 4),
        "run_seconds": round(run, 4),
        "bars_per_second": round(n / run, 1),
        "round_trips": len(strategy.exits),
        "n_entries": len(strategy.entries),
        "n_fills": len(buys) + len(sells),
        "failed_orders": sum(1 for f in fills if f[1].startswith("FAILED")),
        "partial_fills": sum(1 for f in fills if f[1] in ("BUY", "SELL") and f[2] != strategy.p.qty),
        "filled_round_trips": len(sells),
        "fill_timing": "next bar open",
        "entries": [stamps[i].isoformat() for i in strategy.entries],
        "exits": [stamps[i].isoformat() for i in strategy.exits],
        "entry_fills": [fill_iso(f) for f in buys],
        "exit_fills": [fill_iso(f) for f in sells],
    }


def main(argv: list[str] | None = None) -> int:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    started = time.perf_counter()
    frame = get_bars(args.bars, args.n, args.seed)
    load = time.perf_counter() - started
    result = run_bars(frame)
    result["bars_source"] = args.bars
    result["load_seconds"] = round(load, 4)
    common.finish(result, started, args.brief)
    return 0


if __name__ == "__main__":
    sys.exit(main())
