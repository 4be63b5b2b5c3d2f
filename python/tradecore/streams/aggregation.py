"""Add bars built from a stream's trades to the stream itself.

:class:`AggregationStream` wraps any :class:`MarketDataStream`, passes every batch through
unchanged and adds ``EventKind.BAR`` batches of the configured periods, built by one native
:class:`~tradecore.bars.BarAggregator` per (symbol, period) from the symbol's trades.

The clock that closes silent bars (a period whose end passes without a trade of the symbol):

``clock="event"`` (replay)
    Event time: before a batch is passed on, every aggregator's clock advances to the batch's
    last merge time (:func:`~tradecore.streams.replay.merge_time`). The wall clock is never read.
    At the end of the wrapped stream the open bars are flushed, flagged ``BarFlag.PARTIAL``.
``clock="wall"`` (live)
    Every ``tick_interval`` seconds the aggregators' clock advances to the wall time minus
    ``grace`` (room for late prints). Trades still close their own symbol's bars at once.

How bars interleave with events: a bar is delivered immediately before the first event whose
merge time is at or after the bar's ``ts_end``, which is the event that closed it (a trade of
its own symbol, or any event advancing the event clock past its end); so every event before it
is earlier than its end. A large batch is split at those points. Bars closed at the same point
are ordered by ``ts_end``, then symbol, then period (shortest first). Wall-clock ticks deliver
their bars between batches.

Bad trades (a price not positive and finite, a size negative or not finite): with the
aggregators' default ``bad="raise"``, a batch's bad trades are left out, its valid trades and the
bars they close are delivered, then a ``DataError`` names the symbol and the first bad trade;
iterating again goes on with the next batch. With ``bad="skip"`` the batch passes unchanged and
the aggregators skip and count them (``aggregator_bad_skipped``).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import timedelta
from typing import Any, Literal

import numpy as np

from tradecore import schema
from tradecore.bars import BarAggregator, parse_period
from tradecore.errors import ConfigError, DataError
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream
from tradecore.streams.replay import merge_time
from tradecore.tasks import start_task

__all__ = ["AggregationStream"]

_log = logging.getLogger("tradecore.streams.aggregation")


class AggregationStream(MarketDataStream):
    """Pass a stream through and add bars of ``periods`` built from its trades.

    Parameters
    ----------
    inner
        Any stream with trades.
    periods
        Bar periods (``"1s"`` ... ``"1d"``, timedelta, or int ns).
    clock
        ``"event"`` (replay) or ``"wall"`` (live); see the module docstring.
    tick_interval
        Seconds between wall-clock ticks (``clock="wall"``).
    grace
        Seconds the wall clock is held back when closing bars (``clock="wall"``).
    **options
        Passed to every :class:`~tradecore.bars.BarAggregator` (``sessions``, ``late``,
        ``empty``, ``calendar``, ...).
    """

    def __init__(
        self,
        inner: MarketDataStream,
        periods: Sequence[str | int | timedelta] = ("1min",),
        *,
        clock: Literal["event", "wall"] = "event",
        tick_interval: float = 1.0,
        grace: float = 0.0,
        **options: Any,
    ) -> None:
        if clock not in ("event", "wall"):
            raise ConfigError(f"clock must be 'event' or 'wall', not {clock!r}")
        if not periods:
            raise ConfigError("give at least one bar period")
        if tick_interval <= 0 or grace < 0:
            raise ConfigError("tick_interval must be positive and grace not negative")
        self.inner = inner
        self.periods = [parse_period(p) for p in periods]
        self.clock = clock
        self.tick_interval = tick_interval
        self.grace_ns = round(grace * 1e9)
        self._options = options
        BarAggregator(self.periods[0], **options)  # reject bad options now, not at the first trade
        # (symbol, period index) -> aggregator; insertion order is irrelevant, output is sorted.
        self._aggregators: dict[tuple[str, int], BarAggregator] = {}
        # Open bars by end time, so advancing the clock touches only the aggregators whose bar
        # it closes: a heap of (end, symbol, period) with stale entries skipped, and the end
        # each aggregator's current entry holds. With empty="flat" every aggregator must see
        # every clock step (it emits bars without an open one), so the heap is not used.
        self._closing: list[tuple[int, str, int]] = []
        self._tracked: dict[tuple[str, int], int] = {}
        self._every_tick = options.get("empty") == "flat"
        self._bars = 0
        self._raise_bad = options.get("bad", "raise") == "raise"  # the aggregators' default policy
        self._pending_error: DataError | None = None

    async def subscribe(self, symbols: Iterable[str]) -> None:
        await self.inner.subscribe(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        """Unsubscribe; the symbols' open bars are dropped and no more of their bars come."""
        names = {s.upper() for s in symbols}
        await self.inner.unsubscribe(names)
        for key in [k for k in self._aggregators if k[0] in names]:
            del self._aggregators[key]
            self._tracked.pop(key, None)

    @property
    def subscribed(self) -> frozenset[str]:
        return self.inner.subscribed

    @property
    def stats(self) -> dict[str, int]:
        """The wrapped stream's counters, ``bars`` delivered, and the aggregators' counters
        summed with an ``aggregator_`` prefix."""
        totals: dict[str, int] = {}
        for aggregator in self._aggregators.values():
            for name, value in aggregator.stats.items():
                totals[f"aggregator_{name}"] = totals.get(f"aggregator_{name}", 0) + int(value)
        return {**self.inner.stats, "bars": self._bars, **totals}

    async def close(self) -> None:
        await self.inner.close()

    # -- bars -------------------------------------------------------------------------------

    def _aggregator(self, symbol: str, period: int, instrument_id: int) -> BarAggregator:
        key = (symbol, period)
        found = self._aggregators.get(key)
        if found is None:
            found = self._aggregators[key] = BarAggregator(
                self.periods[period], instrument_id=instrument_id, **self._options
            )
        return found

    def _bar_batches(
        self, closed: list[tuple[str, int, np.ndarray]], times: np.ndarray | None = None
    ) -> list[tuple[int, EventBatch]]:
        """Order closed bars by ts_end, symbol, period; return (cut, batch) pairs.

        ``cut`` is the index of the first event in ``times`` at or after the bar's end (0
        without ``times``); consecutive bars of one (symbol, period) at the same cut share a
        batch.
        """
        rows = sorted(
            (
                (int(bar["ts_end"]), symbol, period, bars[i : i + 1])
                for symbol, period, bars in closed
                for i, bar in enumerate(bars)
            ),
            key=lambda row: row[:3],
        )
        ends = np.array([row[0] for row in rows], dtype=np.int64)
        cuts = (
            np.searchsorted(times, ends, side="left")
            if times is not None
            else np.zeros(len(rows), int)
        )
        out: list[tuple[int, str, int, list[np.ndarray]]] = []
        for cut, (_, symbol, period, bar) in zip(cuts.tolist(), rows):
            if out and out[-1][:3] == (cut, symbol, period):
                out[-1][3].append(bar)
            else:
                out.append((cut, symbol, period, [bar]))
        self._bars += len(rows)
        return [
            (cut, EventBatch(EventKind.BAR, symbol, schema.concatenate(bars, schema.BAR)))
            for cut, symbol, _, bars in out
        ]

    def _process(self, batch: EventBatch, advance_clock: bool) -> list[EventBatch]:
        """Return ``batch`` with the bars it closed woven in (see the module docstring)."""
        closed: list[tuple[str, int, np.ndarray]] = []
        if batch.kind is EventKind.TRADE and len(batch) and self._raise_bad:
            batch = self._without_bad_trades(batch)
        if batch.kind is EventKind.TRADE and len(batch):
            instrument = int(batch.events["instrument_id"][0])
            trades = np.ascontiguousarray(batch.events)
            for period in range(len(self.periods)):
                aggregator = self._aggregator(batch.symbol, period, instrument)
                bars = aggregator.update_batch(trades)
                if len(bars):
                    closed.append((batch.symbol, period, bars))
                self._track((batch.symbol, period), aggregator)
        times = merge_time(batch.kind, batch.events)
        if advance_clock and len(times):
            closed.extend(self._advance(int(times[-1])))
        if not closed:
            return [batch]
        out: list[EventBatch] = []
        start = 0
        for cut, bar_batch in self._bar_batches(closed, times):
            if cut > start:
                out.append(batch.slice(start, cut))
                start = cut
            out.append(bar_batch)
        if start < len(batch):
            out.append(batch.slice(start, len(batch)))
        return out

    def _without_bad_trades(self, batch: EventBatch) -> EventBatch:
        """``batch`` without the trades the aggregators would refuse (``bad="raise"``), the
        error about them kept for :meth:`_raise_pending`: the batch's valid trades and their
        bars are delivered first. Refused inside the aggregators instead, the error would come
        with the batch half applied (some periods' aggregators fed, others not) and the whole
        batch lost."""
        price, size = batch.events["price"], batch.events["size"]
        valid = (price > 0.0) & (price < np.inf) & (size >= 0.0) & (size < np.inf)  # as the aggregator admits
        if valid.all():
            return batch
        first = int(np.flatnonzero(~valid)[0])
        if self._pending_error is None:
            self._pending_error = DataError(
                f"{batch.symbol}: invalid trade (price {price[first]}, size {size[first]}) at ts_event="
                f"{int(batch.events['ts_event'][first])}; {int((~valid).sum())} such trade(s) of "
                f"{len(batch)} in the batch left out, the others delivered")
        received = batch.ts_received[valid] if batch.ts_received is not None else None
        return EventBatch(batch.kind, batch.symbol, batch.events[valid], received)

    def _raise_pending(self) -> None:
        error, self._pending_error = self._pending_error, None
        if error is not None:
            raise error

    def _track(self, key: tuple[str, int], aggregator: BarAggregator) -> None:
        """Note the end of the aggregator's open bar, if it has one and it changed."""
        if not aggregator.has_open_bar:
            self._tracked.pop(key, None)
            return
        end = int(aggregator.open_bar["ts_end"][0])
        if self._tracked.get(key) != end:
            self._tracked[key] = end
            heapq.heappush(self._closing, (end, *key))

    def _advance(self, now: int) -> list[tuple[str, int, np.ndarray]]:
        """Advance the clock of the aggregators whose open bar ends at or before ``now``."""
        closed = []
        if self._every_tick:
            for (symbol, period), aggregator in self._aggregators.items():
                if len(bars := aggregator.on_clock(now)):
                    closed.append((symbol, period, bars))
            return closed
        while self._closing and self._closing[0][0] <= now:
            end, symbol, period = heapq.heappop(self._closing)
            key = (symbol, period)
            due = self._aggregators.get(key)
            if due is None or self._tracked.get(key) != end:
                continue  # unsubscribed, or the bar already closed on a trade
            if len(bars := due.on_clock(now)):
                closed.append((symbol, period, bars))
            self._track(key, due)
        return closed

    def _tick(self, now: int) -> list[EventBatch]:
        return [batch for _, batch in self._bar_batches(self._advance(now))]

    def _flush(self) -> list[EventBatch]:
        closed = [
            (s, p, bars)
            for (s, p), agg in self._aggregators.items()
            if len(bars := agg.flush(partial=True))
        ]
        return [batch for _, batch in self._bar_batches(closed)]

    # -- iteration --------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate_event() if self.clock == "event" else self._iterate_wall()

    async def _iterate_event(self) -> AsyncIterator[EventBatch]:
        async for batch in self.inner:
            for out in self._process(batch, advance_clock=True):
                yield out
            self._raise_pending()
        for out in self._flush():
            yield out

    async def _iterate_wall(self) -> AsyncIterator[EventBatch]:
        source = self.inner.__aiter__()
        loop = asyncio.get_running_loop()

        async def next_batch() -> EventBatch | None:
            try:
                return await source.__anext__()
            except StopAsyncIteration:
                return None

        pending: asyncio.Task[EventBatch | None] | None = None
        next_tick = loop.time() + self.tick_interval
        try:
            while True:
                if pending is None:
                    pending = start_task(next_batch(), "tradecore.aggregation.next_batch", log=_log)
                # Waiting on the task (not the generator) keeps the receive cancel-safe: a tick
                # never abandons a half-received batch.
                done, _ = await asyncio.wait({pending}, timeout=max(0.0, next_tick - loop.time()))
                if pending in done:
                    batch = pending.result()
                    pending = None
                    if batch is None:
                        return
                    for out in self._process(batch, advance_clock=False):
                        yield out
                    self._raise_pending()
                if loop.time() >= next_tick:
                    next_tick = loop.time() + self.tick_interval
                    for out in self._tick(time.time_ns() - self.grace_ns):
                        yield out
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.shield(asyncio.gather(pending, return_exceptions=True))
