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
output). This process runs what ``tradecore live`` runs: :class:`AlpacaStream` (receive,
inflate, decode; whole frames while the consumer keeps up, else per-symbol queues) →
:func:`tradecore.session.run_pipeline` → StrategyManager (a frame's idle symbols through their
engines in one native call) → SymbolRunner → native engine
(``ema_cross`` 2/3 on 1 s bars, so intents and positions are frequent) → risk, router, paper venue,
with feed health watching every symbol; ``--journal`` adds the run's SQLite journal (intents,
transitions, orders, fills), as ``tradecore live`` keeps one.
A separate process rather than a task of the same event loop: generating the load must not pause
consuming it (the old benchmark's bursts), and the WebSocket and decode costs are real.

Every message's event time is its due time on a shifted (weekday premarket) clock. Once its
WebSocket send() has compressed a frame and written it to the socket, the feed writes the
wall-clock time into a shared-memory table (one slot per frame interval); this process maps each
event back to its frame and uses that time as the receive time. Latencies are therefore measured
from when the tick *left the feed*, not from when this process read it: the socket, the kernel
buffer while this process is busy, inflating, decoding and every queue count against us. The
load generator's own lateness (its sleeps overshoot on a shared machine) and its compression are
the vendor's side, reported apart as ``sender_lag`` and ``sender_send``.

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
  grows: the last tick of a step is processed more than ``BACKLOG_MS`` after it was due, or 1 %
  of its ticks waited longer than that (a queue that grew for a while and caught up by the end
  of the step did not keep up either).
- ``max_sustained_symbols_at_20_msgs_per_s``: then the universe is grown (up to 12,000 symbols,
  each trading ``SYMBOL_RATE`` times a second) until the backlog grows: how many symbols one
  process sustains live (the largest step when every step kept up).
- ``memory_per_symbol``: resident memory an active symbol adds once it has traded long enough
  for its per-symbol state to be full (engine, strategy, bars, venue, task, feed health, the
  book, the decoder's duplicate window): the slope between fresh processes with 100 and 500
  symbols, each fed ``MEMORY_TRADES`` trades per symbol through decode and dispatch (a fresh
  process: an allocator still holding freed memory would hide it).
- ``backtest_*``: the LEAN SPY, BAC and IBM trade and quote ticks through
  :func:`tradecore.session.backtest`, the code behind ``tradecore backtest``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import msgpack
import numpy as np
from benchlib import report, rss_mib
from tradecore import schema
from tradecore.config import Config
from tradecore.health import FeedMonitor
from tradecore.journal.journal import Journal
from tradecore.latency import LatencyStats, quiet_gc
from tradecore.pipeline import StrategyManager
from tradecore.session import RunState, backtest, run_pipeline
from tradecore.streams.alpaca import AlpacaStream
from tradecore.streams.base import (
    DispatchedStream,
    EventBatch,
    EventKind,
    GroupedBatch,
    MarketDataStream,
)

SYMBOLS = 500
SYMBOL_RATE = 20  # msgs/s per symbol in the symbol sweep (a busy premarket name; most trade less)
MAX_SYMBOLS = 20_000  # the feed's universe
FRAME_US = 1000  # the feed's frame interval
SENT_SLOTS = 1 << 20  # frame intervals the shared send-time table holds (a step uses seconds * 1e6 / FRAME_US)
BACKLOG_MS = 100
EVENT_BASE = 1_795_683_600_000_000_000 + 30 * 60 * 10**9  # 04:30 New York on a weekday
KEY = "bench"  # the feed accepts any keys


def names(count: int) -> list[str]:
    return [f"S{i:04d}" for i in range(count)]


def trade_message(symbol: str, trade_id: int, price: float, ts: int) -> dict[str, Any]:
    """One trade as the bench's feed sends it (msgpack, as Alpaca's)."""
    return {"T": "t", "S": symbol, "i": trade_id, "x": "V", "p": round(float(price), 2), "s": 100,
            "c": ["@"], "t": msgpack.Timestamp.from_unix_nano(ts), "z": "C"}


def watched_runners(state: RunState, health: FeedMonitor) -> Callable[[str], Any]:
    """The manager's runner factory as `tradecore live` builds it: feed health watches each symbol."""

    async def make_runner(symbol: str):  # type: ignore[no-untyped-def]
        runner = state.runner(symbol, state.make_engine(symbol))
        health.track(symbol)
        runner.hooks.append(health)
        return runner

    return make_runner


# -- the feed process --------------------------------------------------------------------------


async def feed_main(table_path: str) -> None:
    """Serve the stream; on stdin ``rate seconds event_base frame_ns symbols`` send one paced
    step over the first ``symbols`` names, reply on stdout ``start <t0_ns>`` and
    ``done <sender lag p50 ns> <p99 ns>``. Frame f (sent at
    ``t0 + f * frame_ns`` or later) holds the messages due before ``t0 + f * frame_ns``; the
    wall-clock time it is handed to the socket goes into ``table[f]`` first."""
    from tradecore.sim.feed import AlpacaFeedServer, _array_header

    table = np.memmap(table_path, dtype=np.int64, mode="r+")
    _precise_sleep()
    server = await AlpacaFeedServer(symbol_limit=None, connection_limit=5, max_queued=10**9).start()
    print(f"url {server.url}", flush=True)
    rng = np.random.default_rng(1)
    listed = names(MAX_SYMBOLS)
    prices = 10 + rng.random(MAX_SYMBOLS)
    trade_id = 0
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        fields = line.split()
        rate, seconds, event_base, frame_ns = float(fields[0]), float(fields[1]), int(fields[2]), int(fields[3])
        symbols = listed[:int(fields[4])]
        count = int(rate * seconds)
        period = 1e9 / rate
        steps = rng.normal(0, 0.002, count)
        messages = []
        for k in range(count):
            i = k % len(symbols)
            prices[i] *= 1 + steps[k]
            trade_id += 1
            messages.append(msgpack.packb(trade_message(symbols[i], trade_id, prices[i],
                                                         event_base + int(k * period))))
        connection = server.sessions[-1].connection  # the newest client
        t0 = time.time_ns() + 20_000_000
        print(f"start {t0}", flush=True)
        sent, frame, lags, sends = 0, 0, [], []
        while sent < count:
            now = time.time_ns()
            current = (now - t0) // frame_ns if now >= t0 else 0
            due = min(count, math.ceil(current * frame_ns / period))
            if due > sent:
                started = time.time_ns()
                # Compressing (permessage-deflate) is the vendor's cost, not the consumer's: the
                # frame counts as sent once send() has written it to the socket.
                await connection.send(_array_header(due - sent) + b"".join(messages[sent:due]))
                stamp = time.time_ns()
                table[frame + 1:current + 1] = stamp  # a late frame carries the skipped intervals too
                frame = current
                lags.append(started - (t0 + current * frame_ns))
                sends.append(stamp - started)
                sent = due
            else:  # sleep to the next frame (precise: see _precise_sleep), not in short polls
                wait = t0 + (current + 1) * frame_ns - now
                time.sleep(max(wait, 0) / 1e9)  # noqa: ASYNC251 - pacing; this process only sends
        print("done " + " ".join(f"{v:.0f}" for v in (*np.percentile(lags, (50, 99)), *np.percentile(sends, (50, 99)))),
              flush=True)
    await server.close()


def _precise_sleep() -> None:
    """Linux lets a sleep end up to 50 µs late ("timer slack") to batch wake-ups; the feed's
    frames should leave on time without polling (which would take a core from the consumer)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(29, 1000, 0, 0, 0)  # PR_SET_TIMERSLACK, 1 µs
    except (OSError, AttributeError):
        pass  # not Linux: sleeps are as the system makes them


# -- this process: the consumer ----------------------------------------------------------------


class Sent(MarketDataStream):
    """A stream whose events' receive times are when the feed sent their frames."""

    def __init__(self, inner: AlpacaStream, table: np.ndarray) -> None:
        self.inner = inner
        self.table = table  # the feed's send time of each frame interval (shared memory)
        self.event_base = self.frame_ns = 0  # the current step's first event time and frame interval
        self.received = 0

    async def subscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.subscribe(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.unsubscribe(symbols)

    @property
    def subscribed(self) -> frozenset[str]:
        return self.inner.subscribed

    def _sent(self, ts_event: int) -> int:
        """When the frame carrying the event left the feed (the feed stamps it just after its
        send(): wait the moment that can take, should this process have been faster)."""
        slot = (ts_event - self.event_base) // self.frame_ns + 1
        deadline = time.monotonic() + 0.1
        while not (sent := int(self.table[slot])):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the feed never stamped frame {slot}")
            time.sleep(0)
        return sent

    async def __aiter__(self) -> AsyncIterator[EventBatch]:
        async for part in self.parts():
            for batch in part.batches() if isinstance(part, GroupedBatch) else (part,):
                yield batch

    async def parts(self) -> AsyncIterator[EventBatch | GroupedBatch]:
        async for part in self.inner.parts():
            yield self._stamped(part)

    def push_parts(self, sink: Callable[[EventBatch | GroupedBatch], None] | None) -> bool:
        return self.inner.push_parts(None if sink is None else lambda part: sink(self._stamped(part)))

    def _stamped(self, part: EventBatch | GroupedBatch) -> EventBatch | GroupedBatch:
        self.received += len(part)
        sent = self._sent(int(part.events["ts_event"][0]))  # a frame's events share their frame
        if isinstance(part, GroupedBatch):
            return part.with_received(sent)
        return EventBatch(part.kind, part.symbol, part.events, np.full(len(part), sent, np.int64))

    async def close(self) -> None:
        await self.inner.close()


class Feed:
    """The feed process, driven over its stdin/stdout."""

    async def start(self) -> str:
        self.table_file = tempfile.NamedTemporaryFile(prefix="tradecore-live-bench-", dir=_shm())
        self.table_file.truncate(SENT_SLOTS * 8)
        self.table = np.memmap(self.table_file.name, dtype=np.int64, mode="r+")
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--feed", self.table_file.name, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        return (await self._line()).split()[1]

    async def _line(self) -> str:
        assert self.process.stdout is not None
        return (await self.process.stdout.readline()).decode()

    async def step(self, rate: float, seconds: float, event_base: int, frame_ns: int, symbols: int) -> int:
        """Start a paced step over the first ``symbols`` names; return its wall-clock t0 (ns)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{rate} {seconds} {event_base} {frame_ns} {symbols}\n".encode())
        await self.process.stdin.drain()
        return int((await self._line()).split()[1])

    async def done(self) -> list[float]:
        """The step's sender lag p50, p99 and its send() time (compress, write) p50, p99 (ns)."""
        return [float(v) for v in (await self._line()).split()[1:]]

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()
        self.table_file.close()


def _shm() -> str | None:
    """Shared memory when the machine has it (the table is written once per frame)."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


async def _step(stream: Sent, feed: Feed, rate: float, seconds: float, event_base: int,
                latency: LatencyStats, manager: StrategyManager | None = None,
                symbols: int = SYMBOLS) -> dict[str, float]:
    """One paced step, waited out until every tick is processed. Returns whether the process
    kept up, the lag of the last tick (ms after it was due), CPU per message and the sender's lag."""
    latency.histograms.clear()
    expected = int(rate * seconds)
    stream.received = 0
    cpu = time.process_time()
    stream.event_base, stream.frame_ns = event_base, FRAME_US * 1000
    feed.table[: int(seconds * 1e9) // stream.frame_ns + 16] = 0  # no stamp of an earlier step
    t0 = await feed.step(rate, seconds, event_base, stream.frame_ns, symbols)
    last_offset = int((expected - 1) * 1e9 / rate)
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
    # The stream-only baseline has no engine stage: its stamps are the whole path.
    stage = "receive_to_engine_done" if manager is not None else "stream_only"
    p99_ms = latency.percentiles(stage, (99,))[0] / 1e6
    kept_up = stream.received >= expected and lag_ms <= BACKLOG_MS and p99_ms <= BACKLOG_MS
    return {"kept_up": float(kept_up), "lag_ms": lag_ms,
            "cpu_us": cpu_us, "sender_p50_us": sender[0] / 1e3, "sender_p99_us": sender[1] / 1e3,
            "send_p50_us": sender[2] / 1e3, "send_p99_us": sender[3] / 1e3}


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


MEMORY_TRADES = 4_200  # per symbol: past the decoder's default duplicate window (4096 trades)


async def memory_run(symbols: int) -> float:
    """RSS (MiB) ``symbols`` live symbols add once each has had ``MEMORY_TRADES`` trades."""
    from tradecore.streams.alpaca import AlpacaDecoder

    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    listed = names(symbols)
    before = rss_mib()
    state = RunState.create(config, journal=None)
    health = FeedMonitor(config.health, bus=state.bus, journal=None, clock=time.time_ns, bar_period_ns=10**9)
    decoder = AlpacaDecoder(encoding="msgpack")

    make_runner = watched_runners(state, health)
    manager = state.manager = StrategyManager(DispatchedStream(), make_runner, state.bus)
    await manager.update_universe(listed)
    rng = np.random.default_rng(1)
    total = symbols * MEMORY_TRADES
    steps = rng.normal(0, 0.002, total)
    prices = 10 + rng.random(symbols)
    for start in range(0, total, 50):
        messages = []
        for k in range(start, min(start + 50, total)):
            i = k % symbols
            prices[i] *= 1 + steps[k]
            messages.append(trade_message(listed[i], k + 1, prices[i], EVENT_BASE + k * 20_000))
        for part in decoder.decode(msgpack.packb(messages), time.time_ns()).parts:
            if isinstance(part, GroupedBatch):
                health.observe_grouped(part)
                manager.dispatch_grouped(part)
        await asyncio.sleep(0)
    await manager.drain()
    grown = rss_mib() - before
    await manager.close()
    return grown


def memory_per_symbol_kib() -> float:
    """The slope of :func:`memory_run` between 100 and 500 symbols, each in a fresh process."""
    import subprocess

    grown = []
    for symbols in (100, SYMBOLS):
        out = subprocess.run([sys.executable, __file__, "--memory", str(symbols)], capture_output=True,
                             text=True, check=True).stdout
        grown.append(float(out.split()[-1]))
    return (grown[1] - grown[0]) * 1024 / (SYMBOLS - 100)


async def load(rate: float, seconds: float, sweep: list[float], journal_dir: str | None = None,
               symbol_sweep: tuple[int, ...] = ()) -> None:
    config = Config().with_overrides(strategy={"name": "ema_cross", "params": {"fast": 2, "slow": 3},
                                               "bar_period": "1s"})
    feed = Feed()
    url = await feed.start()
    symbols = names(SYMBOLS)
    latency = LatencyStats()
    event_base = EVENT_BASE

    # Baseline: the same feed and stream client, a consumer that only stamps.
    stream = Sent(AlpacaStream(url=url, key_id=KEY, secret_key=KEY, channels=("trades",)), feed.table)
    await stream.subscribe(symbols)

    def stamp(part: EventBatch | GroupedBatch) -> None:
        now = time.time_ns()
        received = part.ts_received if isinstance(part, GroupedBatch) else int(part.ts_received[0])  # type: ignore[index]
        assert received is not None
        latency.add("stream_only", now - received, len(part))

    async def stamp_only() -> None:  # as run_pipeline consumes: frames pushed while it waits
        stream.push_parts(stamp)
        async for part in stream.parts():
            stamp(part)

    consumer = asyncio.create_task(stamp_only())
    step = await _step(stream, feed, rate, seconds, event_base, latency)
    consumer.cancel()
    await asyncio.gather(consumer, return_exceptions=True)
    await stream.close()
    report("baseline_sender_lag_p50", step["sender_p50_us"], "us")
    report("baseline_sender_lag_p99", step["sender_p99_us"], "us")
    report("baseline_sender_send_p50", step["send_p50_us"], "us")
    report("baseline_sender_send_p99", step["send_p99_us"], "us")
    report("baseline_stream_only_kept_up", step["kept_up"], "bool")
    report("baseline_stream_only_cpu_per_msg", step["cpu_us"], "us")
    _percentiles("baseline", latency, "stream_only", "tick_to_stream_out")
    report("baseline_asyncio_queue_hop", await _queue_hop_ns() / 1e3, "us")

    # The pipeline `tradecore live` runs (with its journal when asked: SQLite on this disk).
    journal = Journal(os.path.join(journal_dir, "journal.sqlite")) if journal_dir else None
    state = RunState.create(config, journal=journal)
    state.execution.latency = latency
    stream = Sent(AlpacaStream(url=url, key_id=KEY, secret_key=KEY, channels=("trades",), latency=latency),
                  feed.table)

    # Feed health watches every symbol, as in `tradecore live` (no history endpoint: no gaps here).
    health = FeedMonitor(config.health, bus=state.bus, journal=None, clock=time.time_ns, bar_period_ns=10**9)

    make_runner = watched_runners(state, health)
    manager = state.manager = StrategyManager(stream, make_runner, state.bus, holds_position=state.holds_position)
    await manager.update_universe(symbols)
    report("load_symbols", SYMBOLS, "symbols")
    stop = asyncio.Event()
    consumer = asyncio.create_task(run_pipeline(state, stream, stop=stop, on_batch=health.observe,
                                                on_group=health.observe_grouped))
    monitor = asyncio.create_task(health.run(stop))

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

    # The universe grown (as a scanner's would) at SYMBOL_RATE msgs/s per symbol until the
    # backlog grows: how many symbols one process sustains.
    most = 0
    for count in symbol_sweep:
        await manager.update_universe(names(count))
        event_base += int((seconds + 60) * 1e9)
        step = await _step(stream, feed, count * SYMBOL_RATE, seconds, event_base, latency, manager, count)
        p50, p99, _ = latency.percentiles("receive_to_engine_done", (50, 99, 99.9))
        print(f"# {count} symbols at {SYMBOL_RATE} msgs/s each: kept up {bool(step['kept_up'])}, last tick "
              f"{step['lag_ms']:.1f} ms late, cpu {step['cpu_us']:.1f} us/msg, tick->engine done p50 "
              f"{p50 / 1e3:.0f} us p99 {p99 / 1e3:.0f} us", flush=True)
        if not step["kept_up"]:
            break
        most = count
    if symbol_sweep:
        report(f"max_sustained_symbols_at_{SYMBOL_RATE}_msgs_per_s", most, "symbols")
    report("load_quarantined", len(manager.quarantined), "symbols")
    stop.set()
    consumer.cancel()
    await asyncio.gather(consumer, monitor, return_exceptions=True)
    await manager.close()
    await stream.close()
    await feed.close()
    if journal is not None:
        journal.close()


async def pipeline_only(count: int = 100_000) -> None:
    """The pipeline's own cost per message: pre-built single-trade batches for 500 idle symbols
    dispatched one at a time (with one loop yield each, as a stream consumer does), then the
    next ticks as a live stream hands them over (frames of 50, one yield each); no stream."""
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
    for k in range(2 * count):  # the first half batch by batch, the second grouped in frames
        i = k % SYMBOLS
        prices[i] *= 1 + rng.normal(0, 0.002)
        trade = schema.empty(schema.TRADE, 1)
        trade["ts_event"], trade["price"], trade["size"] = EVENT_BASE + k * 20_000, round(prices[i], 2), 100
        batches.append(EventBatch(EventKind.TRADE, symbols[i], trade, np.array([time.time_ns()])))
    batches, later = batches[:count], batches[count:]
    elapsed = await _dispatch_timed(manager, manager.dispatch, batches)
    started = time.perf_counter_ns()
    for _ in range(count):
        await asyncio.sleep(0)
    yield_ns = (time.perf_counter_ns() - started) / count
    report("baseline_loop_yield", yield_ns / 1e3, "us")
    report("pipeline_only_per_msg", (elapsed / count - yield_ns) / 1e3, "us")

    # The same ticks as the live stream hands them over: frames of 50, grouped by symbol.
    frames = []
    for start in range(0, count, 50):
        chunk = later[start:start + 50]
        events = schema.concatenate([b.events for b in chunk], schema.TRADE)
        cuts = np.arange(len(chunk) + 1, dtype=np.int64)  # 50 consecutive ticks: 50 symbols
        frames.append(GroupedBatch(EventKind.TRADE, events, cuts, [b.symbol for b in chunk], time.time_ns()))
    elapsed = await _dispatch_timed(manager, manager.dispatch_grouped, frames)
    report("pipeline_only_grouped_per_msg", (elapsed - len(frames) * yield_ns) / count / 1e3, "us")
    await manager.close()


async def _dispatch_timed(manager: StrategyManager, dispatch: Callable[[Any], None], items: list[Any]) -> int:
    """Dispatch each item with one loop yield after it (as a stream consumer does), then wait
    for the symbols' queues; return the nanoseconds taken."""
    started = time.perf_counter_ns()
    for item in items:
        dispatch(item)
        await asyncio.sleep(0)
    await manager.drain()
    return time.perf_counter_ns() - started


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
    parser.add_argument("--feed", metavar="TABLE", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="short steps, small sweep (a smoke run)")
    parser.add_argument("--journal", action="store_true", help="journal the load run to SQLite, as live does")
    parser.add_argument("--memory", metavar="SYMBOLS", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.feed:
        asyncio.run(feed_main(args.feed))
        return
    if args.memory:
        print(f"grown_mib {asyncio.run(memory_run(args.memory))}")
        return
    asyncio.run(pipeline_only(20_000 if args.quick else 100_000))
    # The collector as `tradecore live` sets it (tradecore.latency.quiet_gc).
    with tempfile.TemporaryDirectory(prefix="tradecore-live-bench-") as folder, quiet_gc():
        journal_dir = folder if args.journal else None
        if args.quick:
            asyncio.run(load(rate=20_000, seconds=1.0, sweep=[10_000], journal_dir=journal_dir))
        else:
            asyncio.run(load(rate=50_000, seconds=5.0, sweep=[10_000, 20_000, 30_000, 40_000, 60_000, 80_000],
                             journal_dir=journal_dir, symbol_sweep=(1000, 2000, 4000, 6000, 8000, 10000, 12000)))
    if not args.quick:
        report("memory_per_symbol", memory_per_symbol_kib(), "KiB")
        asyncio.run(replay())


if __name__ == "__main__":
    main()
