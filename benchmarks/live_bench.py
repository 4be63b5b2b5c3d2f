"""Live-path figures of the pipeline: latency under load, symbols per process, memory per
symbol, and `tradecore backtest` throughput on the LEAN tick files.

Run ``python benchmarks/live_bench.py`` (``TRADECORE_DATA`` for the LEAN part). One line per
figure as ``name: value unit``.

- ``load_*``: synthetic trades for N active symbols offered at a fixed rate to the same
  StrategyManager / SymbolRunner / engine / risk / paper-venue pipeline ``tradecore live`` runs,
  as single-event batches stamped with their creation time (the WebSocket decode in front of it
  is measured by benchmarks/stream_bench.py). Latency is creation → engine done, and creation →
  intent for the events that made one; the queue depth shows whether the process keeps up.
- ``memory_per_symbol``: resident memory added per active symbol (engine, strategy, venue, task).
- ``backtest_*``: the LEAN SPY, BAC and IBM trade and quote ticks (5 days) through
  :func:`tradecore.session.backtest`, the code behind ``tradecore backtest``.
"""

from __future__ import annotations

import asyncio
import resource
import time

import numpy as np

from tradecore import schema
from tradecore.config import Config
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState, backtest
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.4g} {unit}", flush=True)


class _Offered(MarketDataStream):
    """The manager only subscribes; events are offered by the benchmark loop."""

    def __init__(self) -> None:
        self._symbols: set[str] = set()

    async def subscribe(self, symbols):  # type: ignore[no-untyped-def]
        self._symbols |= set(symbols)

    async def unsubscribe(self, symbols):  # type: ignore[no-untyped-def]
        self._symbols -= set(symbols)

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._symbols)

    def __aiter__(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def load(symbols: int, rate: float, seconds: float) -> None:
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    state = RunState.create(config, journal=None)
    latency = LatencyStats()
    state.execution.latency = latency
    names = [f"S{i:04d}" for i in range(symbols)]

    async def make_runner(symbol: str):  # type: ignore[no-untyped-def]
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(_Offered(), make_runner, state.bus)
    before = _rss_mib()
    await manager.update_universe(names)
    report("load_symbols", symbols, "symbols")
    report("memory_per_symbol", (_rss_mib() - before) * 1024 / symbols, "KiB")
    rng = np.random.default_rng(1)
    prices = 10 + rng.random(symbols)
    start_wall = time.perf_counter()
    sim_ts = 1_795_683_600_000_000_000  # 04:00 New York on a weekday
    sent, max_depth = 0, 0
    interval = 1.0 / rate
    while time.perf_counter() - start_wall < seconds:
        due = int((time.perf_counter() - start_wall) * rate)
        while sent < due:
            i = sent % symbols
            prices[i] *= 1 + rng.normal(0, 0.002)
            trade = schema.empty(schema.TRADE, 1)
            sim_ts += int(interval * 1e9)
            trade["ts_event"], trade["price"], trade["size"] = sim_ts, round(prices[i], 2), 100
            manager.dispatch(EventBatch(EventKind.TRADE, names[i], trade, np.array([time.time_ns()])))
            sent += 1
        if sent % 1000 < 50:
            max_depth = max(max_depth, max(e.queue.qsize() for e in manager.symbols.values()))
        await asyncio.sleep(0)
    await manager.drain()
    elapsed = time.perf_counter() - start_wall
    report("load_offered_msgs_per_s", rate, "msgs/s")
    report("load_processed_msgs_per_s", sent / elapsed, "msgs/s")
    report("load_max_queue_depth", max_depth, "events")
    p50, p99 = latency.percentiles("receive_to_engine_done")
    report("load_tick_to_engine_p50", p50 / 1e3, "us")
    report("load_tick_to_engine_p99", p99 / 1e3, "us")
    p50, p99 = latency.percentiles("receive_to_intent")
    report("load_tick_to_intent_p50", p50 / 1e3, "us")
    report("load_tick_to_intent_p99", p99 / 1e3, "us")
    report("load_intents", state.execution.intents, "intents")
    await manager.close()


async def replay() -> None:
    from tradecore.data import locate
    from tradecore.streams.replay import LeanSource

    root = locate.lean_root()
    if root is None:
        print("# LEAN data not found: set TRADECORE_DATA; backtest figure skipped")
        return
    config = Config().with_overrides(strategy={"name": "ema_cross"})
    started = time.perf_counter()
    _, events = await backtest(config, LeanSource(root), ["spy", "bac", "ibm"])
    elapsed = time.perf_counter() - started
    report("backtest_lean_events", events, "events")
    report("backtest_lean_events_per_s", events / elapsed, "events/s")


def main() -> None:
    asyncio.run(load(symbols=500, rate=50_000, seconds=10))
    asyncio.run(replay())


if __name__ == "__main__":
    main()
