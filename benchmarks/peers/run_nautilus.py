"""``ema_cross`` on NautilusTrader 1.221 (BacktestEngine, bars as data or trade-tick replay).

    /work/venv-peers/bin/python benchmarks/peers/run_nautilus.py --bars lean|synthetic --n N
    /work/venv-peers/bin/python benchmarks/peers/run_nautilus.py --ticks     # LEAN SPY tick replay

Prints JSON: bars, ``run_seconds`` (``engine.run()`` only), ``convert_seconds`` (DataFrame ->
Nautilus objects), ``load_seconds``, ``total_seconds`` (whole script after imports), bars/s
(= bars / run_seconds), round trips, signal and fill timestamps, peak RSS.

Semantics (see README.md):

* EMA: ``nautilus_trader.indicators.ExponentialMovingAverage`` (Cython), seeded with the first
  close, initialised after ``period`` closes.
* Bars are EXTERNAL data. With ``bar_execution=True`` the simulated exchange turns each bar into
  four pseudo-trades O, H, L, C (each offering volume/4) BEFORE the strategy sees the bar, so a
  market order sent from ``on_bar`` fills at the signal bar's CLOSE, at the bar's close time.
* Volumes: the bars handed to Nautilus carry ``volume * 4`` so each pseudo-trade offers the bar's
  whole volume; every bar has volume >= 100 (LEAN SPY minimum, synthetic minimum), so the
  100-share orders never fill partially. Prices, closes and signals are untouched. The runner
  checks that every fill is for the full 100 shares.
* Cash account (long only, so no short is ever attempted), NETTING OMS, default risk engine,
  ``run_analysis=False``, log level ERROR.
* Tick replay: trade ticks (LEAN SPY 2013-10-07..11, suspicious rows dropped) go through
  ``TradeTickDataWrangler``; the strategy subscribes to ``1-MINUTE-LAST-INTERNAL`` bars, built by
  Nautilus' time-bar aggregator with ``time_bars_build_with_no_updates=False`` (no bars for empty
  minutes/nights; the default True would emit one for every empty minute and change the EMAs).
  ``trade_execution=True`` so the book follows the trades. Orders are 100 shares there too
  (``--qty``); measured: no partial fills on the SPY week (the runner counts them anyway).
"""

from __future__ import annotations

import time

_T0 = time.perf_counter()

import sys  # noqa: E402
from decimal import Decimal  # noqa: E402

import common  # noqa: E402  (puts this folder on sys.path)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bars import MINUTE_NS, SPY_WEEK, get_bars, load_lean_ticks  # noqa: E402
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig  # noqa: E402
from nautilus_trader.config import DataEngineConfig, LoggingConfig, StrategyConfig  # noqa: E402
from nautilus_trader.indicators import ExponentialMovingAverage  # noqa: E402
from nautilus_trader.model.currencies import USD  # noqa: E402
from nautilus_trader.model.data import Bar, BarType  # noqa: E402
from nautilus_trader.model.enums import AccountType, OmsType, OrderSide  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId, Venue  # noqa: E402
from nautilus_trader.model.objects import Money, Quantity  # noqa: E402
from nautilus_trader.persistence.wranglers import BarDataWrangler, TradeTickDataWrangler  # noqa: E402
from nautilus_trader.test_kit.providers import TestInstrumentProvider  # noqa: E402
from nautilus_trader.trading.strategy import Strategy  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _T0
VENUE = "XNAS"


class EmaCrossConfig(StrategyConfig, frozen=True):
    instrument_id: InstrumentId
    bar_type: BarType
    trade_size: Decimal = Decimal(common.ORDER_QTY)
    fast: int = 10
    slow: int = 30
    record_bars: bool = False


class EmaCross(Strategy):
    """Long-only EMA(10/30) cross; signals on the bar close, market orders."""

    def __init__(self, config: EmaCrossConfig) -> None:
        super().__init__(config)
        self.fast = ExponentialMovingAverage(config.fast)
        self.slow = ExponentialMovingAverage(config.slow)
        self.prev_fast = None  # set once both EMAs are initialised
        self.prev_slow = None
        self.qty: Quantity | None = None
        self.entries: list[int] = []  # signal bar ts_event (Nautilus: bar CLOSE, ns)
        self.exits: list[int] = []
        self.fills: list[tuple[int, str, float, float]] = []  # (ts, side, qty, price)
        self.closes: list[tuple[int, float]] = []

    def on_start(self) -> None:
        instrument = self.cache.instrument(self.config.instrument_id)
        self.qty = instrument.make_qty(self.config.trade_size)
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        fast, slow = self.fast, self.slow
        close = bar.close.as_double()
        fast.update_raw(close)
        slow.update_raw(close)
        if self.config.record_bars:
            self.closes.append((bar.ts_event, close))
        if not (fast.initialized and slow.initialized):
            return
        f, s = fast.value, slow.value
        pf, ps = self.prev_fast, self.prev_slow
        self.prev_fast, self.prev_slow = f, s
        if pf is None:
            return
        iid = self.config.instrument_id
        if pf <= ps and f > s and self.portfolio.is_flat(iid):
            self.entries.append(bar.ts_event)
            self.submit_order(self.order_factory.market(iid, OrderSide.BUY, self.qty))
        elif pf >= ps and f < s and self.portfolio.is_net_long(iid):
            self.exits.append(bar.ts_event)
            self.submit_order(self.order_factory.market(iid, OrderSide.SELL, self.qty))

    def on_order_filled(self, event) -> None:
        self.fills.append((event.ts_event, event.order_side.name, float(event.last_qty),
                           float(event.last_px)))


def _engine(ticks: bool) -> BacktestEngine:
    config = BacktestEngineConfig(
        logging=LoggingConfig(log_level="ERROR"),
        data_engine=DataEngineConfig(time_bars_build_with_no_updates=False),
        run_analysis=False,
    )
    engine = BacktestEngine(config=config)
    engine.add_venue(
        venue=Venue(VENUE),
        oms_type=OmsType.NETTING,
        account_type=AccountType.CASH,
        base_currency=USD,
        starting_balances=[Money(100_000_000, USD)],
        bar_execution=not ticks,
        trade_execution=ticks,
    )
    return engine


def _iso(ns_list, shift_ns: int = 0) -> list[str]:
    return [pd.Timestamp(ns - shift_ns, tz="UTC").isoformat() for ns in ns_list]


def run_bars(frame: pd.DataFrame, symbol: str = "SPY") -> dict:
    """Run on a bar frame from :mod:`bars`; return the result dict (no printing)."""
    instrument = TestInstrumentProvider.equity(symbol, VENUE)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    t0 = time.perf_counter()
    data = frame[["open", "high", "low", "close", "volume"]].copy()
    data["volume"] *= 4.0  # each O/H/L/C pseudo-trade offers the bar's whole volume
    data.index = data.index + pd.Timedelta(minutes=1)  # Nautilus stamps bars at their close
    bars = BarDataWrangler(bar_type, instrument).process(data)
    engine = _engine(ticks=False)
    engine.add_instrument(instrument)
    engine.add_data(bars)
    strategy = EmaCross(EmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type))
    engine.add_strategy(strategy)
    convert = time.perf_counter() - t0
    t1 = time.perf_counter()
    engine.run()
    run = time.perf_counter() - t1
    result = _result(strategy, len(frame), run, convert, "bars")
    engine.dispose()
    return result


def run_ticks(ticks: pd.DataFrame, symbol: str = "SPY", qty: int = common.ORDER_QTY) -> dict:
    """Replay trade ticks; Nautilus aggregates 1-minute bars internally for the strategy."""
    instrument = TestInstrumentProvider.equity(symbol, VENUE)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-INTERNAL")
    t0 = time.perf_counter()
    data = pd.DataFrame(
        {"price": ticks["price"].to_numpy(), "quantity": ticks["size"].to_numpy(),
         "trade_id": np.arange(len(ticks)).astype(str)},
        index=ticks.index,
    )
    objs = TradeTickDataWrangler(instrument).process(data)
    engine = _engine(ticks=True)
    engine.add_instrument(instrument)
    engine.add_data(objs)
    strategy = EmaCross(EmaCrossConfig(instrument_id=instrument.id, bar_type=bar_type,
                                       trade_size=Decimal(qty), record_bars=True))
    engine.add_strategy(strategy)
    convert = time.perf_counter() - t0
    t1 = time.perf_counter()
    engine.run()
    run = time.perf_counter() - t1
    result = _result(strategy, len(strategy.closes), run, convert, "ticks")
    result["ticks"] = len(ticks)
    result["ticks_per_second"] = round(len(ticks) / run, 1)
    result["order_qty"] = qty
    result["bar_closes"] = strategy.closes  # (ts_event ns = bar close, close)
    engine.dispose()
    return result


def _result(strategy: EmaCross, n_bars: int, run: float, convert: float, mode: str) -> dict:
    fills = strategy.fills
    sells = [f for f in fills if f[1] == "SELL"]
    buys = [f for f in fills if f[1] == "BUY"]
    qty = float(strategy.qty) if strategy.qty is not None else None
    return {
        "peer": "nautilus_trader",
        "version": __import__("nautilus_trader").__version__,
        "mode": mode,
        "bars": n_bars,
        "import_seconds": round(IMPORT_SECONDS, 4),
        "convert_seconds": round(convert, 4),
        "run_seconds": round(run, 4),
        "bars_per_second": round(n_bars / run, 1),
        "round_trips": len(strategy.exits),
        "n_entries": len(strategy.entries),
        "n_fills": len(fills),
        "partial_fills": sum(1 for f in fills if f[2] != qty),
        "filled_round_trips": len(sells),
        "fill_timing": "signal bar close (bar_execution)" if mode == "bars" else "next trade tick",
        # Signal bars reported by their OPEN time (bars.py convention): Nautilus ts is the close.
        "entries": _iso(strategy.entries, MINUTE_NS),
        "exits": _iso(strategy.exits, MINUTE_NS),
        "entry_fills": [(pd.Timestamp(f[0], tz="UTC").isoformat(), f[3]) for f in buys],
        "exit_fills": [(pd.Timestamp(f[0], tz="UTC").isoformat(), f[3]) for f in sells],
    }


def main(argv: list[str] | None = None) -> int:
    p = common.parser(__doc__.splitlines()[0])
    p.add_argument("--ticks", action="store_true",
                   help="replay LEAN SPY trade ticks 2013-10-07..11 instead of bars")
    p.add_argument("--qty", type=int, default=common.ORDER_QTY, help="order size in tick mode")
    args = p.parse_args(argv)
    started = time.perf_counter()
    t0 = time.perf_counter()
    if args.ticks:
        ticks = load_lean_ticks(SPY_WEEK)
        load = time.perf_counter() - t0
        result = run_ticks(ticks, qty=args.qty)
        result.pop("bar_closes")
    else:
        frame = get_bars(args.bars, args.n, args.seed)
        load = time.perf_counter() - t0
        result = run_bars(frame)
    result["bars_source"] = "lean_spy_ticks" if args.ticks else args.bars
    result["load_seconds"] = round(load, 4)
    common.finish(result, started, args.brief)
    return 0


if __name__ == "__main__":
    sys.exit(main())
