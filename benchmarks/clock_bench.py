"""Cost of the market clock: one tick to 500 active symbols (premarket_momentum engines).

A live run ticks every active symbol every second of market time, so a tick must be cheap.
Figures, per tick of all 500 symbols and per symbol:

- ``tick_quiet``: the common tick, inside a bar (nothing closes, nothing to route);
- ``tick_closing_bars``: a tick at a bar's end that closes every symbol's open bar (published on
  the bus, seen by the strategy);
- baseline, in the same run: one trade to each of the 500 symbols through the same manager
  (``dispatch``), the cost of the market data a tick competes with;
- ``backtest_*``: the LEAN SPY, BAC and IBM trade ticks through :func:`tradecore.session.backtest`
  with the clock at 1 s of event time, against the clock off (``TRADECORE_DATA`` must point at
  the data).

Run: ``python benchmarks/clock_bench.py``.
"""

from __future__ import annotations

import asyncio
import time

from benchlib import best_of, report
from tradecore import schema
from tradecore.config import Config
from tradecore.pipeline import StrategyManager, SymbolRunner
from tradecore.session import RunState
from tradecore.streams.base import EventBatch, EventKind

SYMBOLS = 500
ROUNDS = 200
SECOND = 1_000_000_000
MINUTE = 60 * SECOND
T0 = 1_795_777_200 * SECOND  # 2026-11-27 07:00 New York, premarket


def trade(symbol: str, ts: int) -> EventBatch:
    rows = schema.empty(schema.TRADE, 1)
    rows["ts_event"], rows["price"], rows["size"] = ts, 5.0, 100
    return EventBatch(EventKind.TRADE, symbol, rows)


async def main() -> None:
    state = RunState.create(Config(), journal=None)
    names = [f"S{i:03d}" for i in range(SYMBOLS)]

    async def make_runner(symbol: str) -> SymbolRunner:
        state.prior_closes[symbol] = 4.0
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(None, make_runner, state.bus)  # type: ignore[arg-type]
    for symbol in names:
        await manager.start_symbol(symbol, subscribe=False)

    quiet = closing = dispatching = 0.0
    for round_ in range(ROUNDS):
        minute = T0 + round_ * MINUTE
        batches = [trade(s, minute + SECOND) for s in names]
        started = time.perf_counter()
        for batch in batches:
            manager.dispatch(batch)
        dispatching += time.perf_counter() - started
        started = time.perf_counter()
        manager.tick(minute + 30 * SECOND)  # inside the bar
        quiet += time.perf_counter() - started
        started = time.perf_counter()
        manager.tick(minute + MINUTE)  # the bar's end: every open bar closes
        closing += time.perf_counter() - started
        await manager.drain()
    assert not manager.quarantined and manager.ticks == 2 * ROUNDS

    report("tick_quiet_500_symbols", quiet / ROUNDS * 1e6, "us")
    report("tick_quiet_per_symbol", quiet / ROUNDS / SYMBOLS * 1e9, "ns")
    report("tick_closing_bars_500_symbols", closing / ROUNDS * 1e6, "us")
    report("dispatch_one_trade_500_symbols", dispatching / ROUNDS * 1e6, "us")
    report("tick_quiet_vs_dispatch", quiet / dispatching, "x")
    report("tick_closing_bars_vs_dispatch", closing / dispatching, "x")
    report("tick_quiet_share_of_one_core_at_1_tick_per_s", quiet / ROUNDS * 100, "%")
    await manager.close()


def backtests() -> None:
    from tradecore.data import locate
    from tradecore.session import backtest
    from tradecore.streams.replay import LeanSource

    root = locate.lean_root()
    if root is None:
        print("# LEAN data not found: set TRADECORE_DATA; backtest figures skipped")
        return
    events = 0

    def run(interval: float) -> None:
        nonlocal events
        config = Config().with_overrides(strategy={"name": "ema_cross"}, clock={"interval_seconds": interval})
        _, events = asyncio.run(backtest(config, LeanSource(root), ["spy", "bac", "ibm"], datasets=("trade",)))

    off = best_of(lambda: run(0.0), repeat=2)
    on = best_of(lambda: run(1.0), repeat=2)
    report("backtest_events", events, "events")
    report("backtest_clock_off_events_per_s", events / off, "events/s")
    report("backtest_clock_1s_events_per_s", events / on, "events/s")
    report("backtest_clock_1s_vs_off", off / on, "x")


if __name__ == "__main__":
    asyncio.run(main())
    backtests()
