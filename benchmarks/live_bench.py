"""Live-path figures of the pipeline: tick-to-intent latency under load, the rate one process
sustains, memory per symbol, and `tradecore backtest` throughput on the LEAN tick files.

Run ``python benchmarks/live_bench.py`` (``TRADECORE_DATA`` for the LEAN part; ``--quick`` for a
short run). One line per figure as ``name: value unit``; lines starting with ``#`` narrate.

How the load is made, and why
-----------------------------
A separate process (``--feed``) serves the Alpaca v2 stock stream with the simulator's feed
server (:class:`tradecore.sim.feed.AlpacaFeedServer`) on loopback. It pre-encodes msgpack trade
messages for 500 symbols, message k due at ``t0 + k / rate``, and sends them in frames every
``FRAME_US`` (a frame holds the messages due in its interval, as a vendor's server buffers its
output; 0 sends each message as soon as it is due). This process runs what ``tradecore live``
runs: :class:`AlpacaStream` (receive, inflate, decode, per-symbol queues) →
:func:`tradecore.session.run_pipeline` → StrategyManager → SymbolRunner → native engine
(``ema_cross`` 2/3 on 1 s bars, so intents and positions are frequent) → risk, router, paper venue.
A separate process rather than a task of the same event loop: generating the load must not pause
consuming it (the old benchmark's bursts), and the WebSocket and decode costs are real.

Every message's event time is its due time on a shifted (weekday premarket) clock; this process
turns it back into the wall-clock time its frame was due and uses that as the receive time.
Latencies are therefore measured from when the tick was *scheduled to leave the feed*, not from
when it arrived: a late sender, the socket, decoding and every queue count against us.

Figures
-------
- ``baseline_*``: the same feed into the same stream client with a consumer that only stamps
  (the transport + decode floor, at the target rate), the sender's lateness, and one bare asyncio
  queue hop (what the pipeline paid per event before it dispatched into idle symbols directly).
- ``pipeline_only_per_msg``: the pipeline alone (dispatch → book → engine → done) per message,
  pre-built batches, no stream; ``baseline_loop_yield`` is the loop turn taken out of it.
- ``*_cpu_per_msg``: this process's CPU time per message over a step (compare the pipeline's
  with the stream-only baseline's; meaningful when the process is saturated).
- ``load_*``: 500 symbols at 50k msgs/s: p50/p99/p99.9 from the tick's scheduled time to the
  engine having processed it, to the intent it caused, and per stage.
- ``max_sustained_msgs_per_s``: the offered rate is stepped up (5 s per step) until the backlog
  grows (the last tick of a step is processed more than ``BACKLOG_MS`` after it was due).
- ``memory_per_symbol``: resident memory added per active symbol (engine, strategy, venue, task).
- ``backtest_*``: the LEAN SPY, BAC and IBM trade and quote ticks through
  :func:`tradecore.session.backtest`, the code behind ``tradecore backtest``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import AsyncIterator, Iterable

import msgpack
import numpy as np
from tradecore import schema
from tradecore.config import Config
from tradecore.latency import LatencyStats
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState, backtest, run_pipeline
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import DispatchedStream, EventBatch, EventKind, MarketDataStream

from benchlib import report, rss_mib

SYMBOLS = 500
SEND_TICK_US = 50
FRAME_US = 1000  # the feed's frame interval (0: each message as soon as it is due)
BACKLOG_MS = 100
EVENT_BASE = 1_795_683_600_000_000_000 + 30 * 60 * 10**9  # 04:30 New York on a weekday
KEY = "bench"  # the feed accepts any keys


def names(count: int) -> list[str]:
    return [f"S{i:04d}" for i in range(count)]


# -- the feed process --------------------------------------------------------------------------


async def feed_main() -> None:
    """Serve the stream; on stdin ``rate seconds event_base`` send one paced step, reply on
    stdout ``start <t0_ns>`` and ``done <sender lag p50 ns> <p99 ns>``."""
    from tradecore.sim.feed import AlpacaFeedServer, _array_header

    server = await AlpacaFeedServer(symbol_limit=None, connection_limit=5, max_queued=10**9).start()
    print(f"url {server.url}", flush=True)
    rng = np.random.default_rng(1)
    symbols = names(SYMBOLS)
    prices = 10 + rng.random(SYMBOLS)
    trade_id = 0
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        fields = line.split()
        rate, seconds, event_base, frame_ns = float(fields[0]), float(fields[1]), int(fields[2]), int(fields[3])
        count = int(rate * seconds)
        period = 1e9 / rate
        steps = rng.normal(0, 0.002, count)
        messages = []
        for k in range(count):
            i = k % SYMBOLS
            prices[i] *= 1 + steps[k]
            trade_id += 1
            messages.append(msgpack.packb({
                "T": "t", "S": symbols[i], "i": trade_id, "x": "V", "p": round(float(prices[i]), 2),
                "s": 100, "c": ["@"], "t": msgpack.Timestamp.from_unix_nano(event_base + int(k * period)),
                "z": "C"}))
        connection = server.sessions[-1].connection  # the newest client
        t0 = time.time_ns() + 20_000_000
        print(f"start {t0}", flush=True)
        sent, lags = 0, []
        while sent < count:
            now = time.time_ns()
            if frame_ns:  # frame f, sent at t0 + f * frame, holds the messages due before it
                scheduled = t0 + (now - t0) // frame_ns * frame_ns
                due = min(count, math.ceil((scheduled - t0) / period)) if now >= t0 else 0
            else:  # each message as soon as it is due
                due = min(count, int((now - t0) / period) + 1) if now >= t0 else 0
                scheduled = t0 + int((due - 1) * period)
            if due > sent:
                await connection.send(_array_header(due - sent) + b"".join(messages[sent:due]))
                lags.append(time.time_ns() - scheduled)
                sent = due
            else:
                wait = scheduled + frame_ns - now if frame_ns else t0 + int(sent * period) - now
                time.sleep(min(max(wait, 0), SEND_TICK_US * 1000) / 1e9)  # noqa: ASYNC251 - precise pacing; this process only sends
        p50, p99 = np.percentile(lags, (50, 99))
        print(f"done {p50:.0f} {p99:.0f}", flush=True)
    await server.close()


# -- this process: the consumer ----------------------------------------------------------------


class Scheduled(MarketDataStream):
    """A stream whose batches' receive times are their events' scheduled send times."""

    def __init__(self, inner: AlpacaStream) -> None:
        self.inner = inner
        # The current step: its first event time, its wall-clock start, its frame interval.
        self.event_base = self.t0 = self.frame_ns = 0
        self.received = 0
        self.last_received_wall = 0

    async def subscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.subscribe(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.unsubscribe(symbols)

    @property
    def subscribed(self) -> frozenset[str]:
        return self.inner.subscribed

    async def __aiter__(self) -> AsyncIterator[EventBatch]:  # type: ignore[override]
        async for batch in self.inner:
            self.received += len(batch)
            times = batch.events["ts_event"]
            if len(times) == 1:  # most batches: plain ints, so the stamping costs the load little
                stamps = np.array([self._scheduled(int(times[0]))], dtype=np.int64)
            else:
                offset = times - self.event_base
                if self.frame_ns:
                    offset = (offset // self.frame_ns + 1) * self.frame_ns
                stamps = offset + self.t0
            yield EventBatch(batch.kind, batch.symbol, batch.events, stamps)

    def _scheduled(self, ts_event: int) -> int:
        """When the frame carrying the event was due to leave the feed (the end of its interval)."""
        offset = ts_event - self.event_base
        if self.frame_ns:
            offset = (offset // self.frame_ns + 1) * self.frame_ns
        return offset + self.t0

    async def close(self) -> None:
        await self.inner.close()


class Feed:
    """The feed process, driven over its stdin/stdout."""

    async def start(self) -> str:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--feed", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        return (await self._line()).split()[1]

    async def _line(self) -> str:
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode()

    async def step(self, rate: float, seconds: float, event_base: int, frame_ns: int) -> int:
        """Start a paced step; return its wall-clock t0 (ns)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{rate} {seconds} {event_base} {frame_ns}\n".encode())
        await self.process.stdin.drain()
        return int((await self._line()).split()[1])

    async def done(self) -> tuple[float, float]:
        _, p50, p99 = (await self._line()).split()
        return float(p50), float(p99)

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


async def _step(stream: Scheduled, feed: Feed, rate: float, seconds: float, event_base: int,
                latency: LatencyStats, manager: StrategyManager | None = None) -> dict[str, float]:
    """One paced step, waited out until every tick is processed. Returns whether the process
    kept up, the lag of the last tick (ms after it was due), CPU per message and the sender's lag."""
    latency.histograms.clear()
    expected = int(rate * seconds)
    stream.received = 0
    cpu = time.process_time()
    stream.event_base, stream.frame_ns = event_base, FRAME_US * 1000
    stream.t0 = await feed.step(rate, seconds, event_base, stream.frame_ns)
    t0 = stream.t0
    last_offset = int((expected - 1) * 1e9 / rate)
    if stream.frame_ns:
        last_offset = (last_offset // stream.frame_ns + 1) * stream.frame_ns
    last_due = t0 + last_offset
    deadline = last_due + 60 * 10**9
    while stream.received < expected and time.time_ns() < deadline:
        await asyncio.sleep(0.002)
    if manager is not None:
        await manager.drain()  # what symbols had queued
    lag_ms = (time.time_ns() - last_due) / 1e6
    cpu_us = (time.process_time() - cpu) / max(stream.received, 1) * 1e6
    sender = await feed.done()
    return {"kept_up": float(stream.received >= expected and lag_ms <= BACKLOG_MS), "lag_ms": lag_ms,
            "cpu_us": cpu_us, "sender_p50_us": sender[0] / 1e3, "sender_p99_us": sender[1] / 1e3}


def _percentiles(prefix: str, latency: LatencyStats, stage: str, label: str) -> None:
    for q, value in zip(("p50", "p99", "p999"), latency.percentiles(stage, (50, 99, 99.9))):
        report(f"{prefix}_{label}_{q}", value / 1e3, "us")


def _step_figures(prefix: str, rate: float, step: dict[str, float], latency: LatencyStats,
                  state: RunState, intents_before: int) -> None:
    report(f"{prefix}_offered_msgs_per_s", rate, "msgs/s")
    report(f"{prefix}_kept_up", step["kept_up"], "bool")
    report(f"{prefix}_last_tick_lag", step["lag_ms"], "ms")
    report(f"{prefix}_cpu_per_msg", step["cpu_us"], "us")
    _percentiles(prefix, latency, "receive_to_engine_done", "tick_to_engine_done")
    _percentiles(prefix, latency, "receive_to_intent", "tick_to_intent")
    _percentiles(prefix, latency, "receive_to_decoded", "frame_receive_to_decoded")
    _percentiles(prefix, latency, "receive_to_engine_start", "tick_to_engine_start")
    _percentiles(prefix, latency, "intent_to_ack", "intent_to_ack")
    report(f"{prefix}_intents", state.execution.intents - intents_before, "intents")


async def load(rate: float, seconds: float, sweep: list[float]) -> None:
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    feed = Feed()
    url = await feed.start()
    symbols = names(SYMBOLS)
    latency = LatencyStats()
    event_base = EVENT_BASE

    # Baseline: the same feed and stream client, a consumer that only stamps.
    stream = Scheduled(AlpacaStream(url=url, key_id=KEY, secret_key=KEY, channels=("trades",)))
    await stream.subscribe(symbols)

    async def stamp_only() -> None:
        async for batch in stream:
            now = time.time_ns()
            for received in batch.ts_received.tolist():  # type: ignore[union-attr]
                latency.add("stream_only", now - received)

    consumer = asyncio.create_task(stamp_only())
    step = await _step(stream, feed, rate, seconds, event_base, latency)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await stream.close()
    report("baseline_sender_lag_p50", step["sender_p50_us"], "us")
    report("baseline_sender_lag_p99", step["sender_p99_us"], "us")
    report("baseline_stream_only_kept_up", step["kept_up"], "bool")
    report("baseline_stream_only_cpu_per_msg", step["cpu_us"], "us")
    _percentiles("baseline", latency, "stream_only", "tick_to_stream_out")
    report("baseline_asyncio_queue_hop", await _queue_hop_ns() / 1e3, "us")

    # The pipeline `tradecore live` runs.
    state = RunState.create(config, journal=None)
    state.execution.latency = latency
    stream = Scheduled(AlpacaStream(url=url, key_id=KEY, secret_key=KEY, channels=("trades",), latency=latency))

    async def make_runner(symbol: str):  # type: ignore[no-untyped-def]
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(stream, make_runner, state.bus, holds_position=state.holds_position)
    before = rss_mib()
    await manager.update_universe(symbols)
    report("memory_per_symbol", (rss_mib() - before) * 1024 / SYMBOLS, "KiB")
    report("load_symbols", SYMBOLS, "symbols")
    stop = asyncio.Event()
    consumer = asyncio.create_task(run_pipeline(state, stream, stop=stop))

    # Rates stepped up (the target rate among them) until the backlog grows.
    best = 0.0
    for offered in sorted({*sweep, rate}):
        event_base += int((seconds + 60) * 1e9)
        intents = state.execution.intents
        step = await _step(stream, feed, offered, seconds, event_base, latency, manager)
        p50, p99, p999 = latency.percentiles("receive_to_engine_done", (50, 99, 99.9))
        print(f"# {offered:.0f} msgs/s: kept up {bool(step['kept_up'])}, last tick {step['lag_ms']:.1f} ms late, "
              f"cpu {step['cpu_us']:.1f} us/msg, tick->engine done p50 {p50 / 1e3:.0f} us "
              f"p99 {p99 / 1e3:.0f} us p99.9 {p999 / 1e3:.0f} us", flush=True)
        if offered == rate:
            _step_figures("load", rate, step, latency, state, intents)
        if step["kept_up"]:
            best = offered
        elif offered >= rate:
            break
    report("max_sustained_msgs_per_s", best, "msgs/s")
    report("load_quarantined", len(manager.quarantined), "symbols")
    stop.set()
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await manager.close()
    await stream.close()
    await feed.close()


async def pipeline_only(count: int = 100_000) -> None:
    """The pipeline's own cost per message: pre-built single-trade batches for 500 idle symbols
    dispatched one at a time (with one loop yield each, as a stream consumer does), no stream."""
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    state = RunState.create(config, journal=None)
    state.execution.latency = LatencyStats()

    async def make_runner(symbol: str):  # type: ignore[no-untyped-def]
        return state.runner(symbol, state.make_engine(symbol))

    manager = state.manager = StrategyManager(DispatchedStream(), make_runner, state.bus)
    symbols = names(SYMBOLS)
    await manager.update_universe(symbols)
    rng = np.random.default_rng(1)
    prices = 10 + rng.random(SYMBOLS)
    batches = []
    for k in range(count):
        i = k % SYMBOLS
        prices[i] *= 1 + rng.normal(0, 0.002)
        trade = schema.empty(schema.TRADE, 1)
        trade["ts_event"], trade["price"], trade["size"] = EVENT_BASE + k * 20_000, round(prices[i], 2), 100
        batches.append(EventBatch(EventKind.TRADE, symbols[i], trade, np.array([time.time_ns()])))
    started = time.perf_counter_ns()
    for batch in batches:
        manager.dispatch(batch)
        await asyncio.sleep(0)
    await manager.drain()
    elapsed = time.perf_counter_ns() - started
    started = time.perf_counter_ns()
    for _ in range(count):
        await asyncio.sleep(0)
    yield_ns = (time.perf_counter_ns() - started) / count
    report("baseline_loop_yield", yield_ns / 1e3, "us")
    report("pipeline_only_per_msg", (elapsed / count - yield_ns) / 1e3, "us")
    await manager.close()


async def _queue_hop_ns(n: int = 100_000) -> float:
    """One event through an asyncio.Queue to a waiting task and back to the producer."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    done = asyncio.Event()

    async def serve() -> None:
        for _ in range(n):
            await queue.get()
        done.set()

    task = asyncio.create_task(serve())
    await asyncio.sleep(0)
    started = time.perf_counter_ns()
    for i in range(n):
        queue.put_nowait(i)
        await asyncio.sleep(0)
    await done.wait()
    hop = (time.perf_counter_ns() - started) / n
    started = time.perf_counter_ns()
    for _ in range(n):
        await asyncio.sleep(0)
    await task
    return hop - (time.perf_counter_ns() - started) / n  # without the producer's own yield


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="short steps, small sweep (a smoke run)")
    args = parser.parse_args(argv)
    if args.feed:
        asyncio.run(feed_main())
        return
    asyncio.run(pipeline_only(20_000 if args.quick else 100_000))
    if args.quick:
        asyncio.run(load(rate=20_000, seconds=1.0, sweep=[10_000]))
    else:
        asyncio.run(load(rate=50_000, seconds=5.0, sweep=[10_000, 20_000, 30_000, 40_000, 60_000, 80_000]))
        asyncio.run(replay())


if __name__ == "__main__":
    main()
