"""Scanning in backtests exactly as it would have run live: no look-ahead.

:class:`PointInTimeInputs` is fed the replayed events (:meth:`PointInTimeInputs.feed`) and
answers :meth:`candidates` from what it has been fed only: last trade price (prints flagged
suspicious are left out of the price, not of the volume), cumulative volume since the start of
the symbol's current New York trading day (04:00; before 09:30 this is the premarket volume),
halts from status events, and the prior close from daily bars, a daily bar counting only once
it has ended (its ``ts_end``) before the scan time and only if dated before the scan's New York
date. Warm-up daily bars come from :meth:`ReplayStream.history`, which returns only bars that
ended before a given time.

:class:`ScanningReplay` drives a replay and a scanner together: it splits the replay's batches
at each scan time, so the scan at *t* has seen every event before *t* and none at or after it,
and hands each scan's universe change on (``tradecore backtest --scanner``: to the strategy
manager) before any event at or after *t* goes out. :func:`replay_scans` runs one to the end.

:class:`ReplayReferences` is the reference data a replay has: the average daily volume from its
daily bars (point in time, as the prior close). Market-data files carry no asset types, floats
or share counts: every symbol counts as ``common`` with an unknown float (a ``max_float`` filter
fails them all).

:class:`RecordedScanner` replays the universe changes recorded in a journal instead (the
universe in force at the clock's time), for replaying a live session's universe exactly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradecore import schema
from tradecore.errors import ConfigError
from tradecore.scanners.base import Scanner, ScanRow, UniverseChange
from tradecore.scanners.enrichment import Reference, ReferenceProvider
from tradecore.scanners.inputs import Candidate, MarketInputs, day_start
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream
from tradecore.streams.replay import merge_time

if TYPE_CHECKING:
    from tradecore.journal import Journal
    from tradecore.streams.replay import ReplayStream

__all__ = ["PointInTimeInputs", "RecordedScanner", "ReplayReferences", "ScanningReplay",
           "replay_scans"]

_NEW_YORK = "America/New_York"


def _ny_date_ns(ts: int) -> int:
    return int(pd.Timestamp(ts, unit="ns", tz="UTC").tz_convert(_NEW_YORK).normalize().value)


@dataclass
class _Symbol:
    price: float = 0.0
    last_ts: int = 0
    day_start: int = 0
    volume: float = 0.0
    halted: bool = False
    daily: list[tuple[int, int, float, float]] | None = None  # (ts_event, ts_end, close, volume)


class PointInTimeInputs(MarketInputs):
    """Scan candidates from replayed events (see the module docstring).

    ``now`` is the scan time (ns UTC): set by :func:`replay_scans`, or by the caller.
    """

    def __init__(self, symbols: Iterable[str] | None = None) -> None:
        self.symbols = None if symbols is None else [s.upper() for s in symbols]
        self.now = 0
        self._state: dict[str, _Symbol] = {}

    def _of(self, symbol: str) -> _Symbol:
        state = self._state.get(symbol)
        if state is None:
            state = self._state[symbol] = _Symbol(daily=[])
        return state

    def seed_daily(self, symbol: str, bars: np.ndarray) -> None:
        """Add daily BAR rows (warm-up history); only bars ended by the scan time count."""
        daily = self._of(symbol.upper()).daily
        assert daily is not None
        daily.extend(zip(bars["ts_event"].tolist(), bars["ts_end"].tolist(),
                         bars["close"].tolist(), bars["volume"].tolist(), strict=True))
        daily.sort()

    def feed(self, batch: EventBatch) -> None:
        """Take one replayed batch (events must not be later than the next scan time)."""
        symbol = batch.symbol.upper()
        events = batch.events
        if not len(events):
            return
        state = self._of(symbol)
        if batch.kind is EventKind.TRADE:
            ts = events["ts_event"]
            starts = np.fromiter((day_start(int(t)) for t in (ts[0], ts[-1])), np.int64)
            if starts[0] != starts[1]:  # the batch crosses 04:00: split at the day boundary
                cut = int(np.searchsorted(ts, starts[1]))
                self.feed(EventBatch(batch.kind, symbol, events[:cut]))
                self.feed(EventBatch(batch.kind, symbol, events[cut:]))
                return
            if state.day_start != starts[0]:
                state.day_start, state.volume = int(starts[0]), 0.0
            state.volume += float(events["size"].sum())
            clean = events[(events["flags"] & schema.TradeFlag.SUSPICIOUS) == 0]
            if len(clean):
                state.price = float(clean["price"][-1])
                state.last_ts = int(clean["ts_event"][-1])
        elif batch.kind is EventKind.DAILY_BAR:
            self.seed_daily(symbol, events)
        elif batch.kind is EventKind.STATUS:
            state.halted = int(events["state"][-1]) in (schema.TradingState.HALTED,
                                                        schema.TradingState.PAUSED)

    def _past_days(self, symbol: str, now: int) -> list[tuple[int, int, float, float]]:
        """The daily bars ended by ``now`` and dated before ``now``'s New York date."""
        state = self._state.get(symbol.upper())
        if state is None or not state.daily:
            return []
        today = _ny_date_ns(now)
        return [bar for bar in state.daily
                if bar[1] <= now and _ny_date_ns(bar[0] + 12 * 3600 * 10**9) < today]

    def prior_close(self, symbol: str, now: int | None = None) -> float | None:
        """Close of the latest daily bar ended by ``now`` and dated before ``now``'s date."""
        past = self._past_days(symbol, self.now if now is None else now)
        return past[-1][2] if past else None

    def average_volume(self, symbol: str, days: int = 10, now: int | None = None) -> float | None:
        """Mean volume of the last ``days`` daily bars counted as :meth:`prior_close` counts them."""
        past = self._past_days(symbol, self.now if now is None else now)[-days:]
        return sum(bar[3] for bar in past) / len(past) if past else None

    async def candidates(self) -> list[Candidate]:
        found = []
        names = self.symbols if self.symbols is not None else sorted(self._state)
        today_start = day_start(self.now)
        for symbol in names:
            state = self._state.get(symbol)
            if state is None or state.last_ts == 0:
                continue
            volume = state.volume if state.day_start == today_start else 0.0
            found.append(Candidate(symbol, state.price, self.prior_close(symbol), volume,
                                   state.halted, state.last_ts))
        return found


def _split(batch: EventBatch, before: int) -> tuple[EventBatch, EventBatch | None]:
    key = merge_time(batch.kind, batch.events)
    cut = int(np.searchsorted(key, before, side="left"))
    if cut >= len(batch.events):
        return batch, None
    return (EventBatch(batch.kind, batch.symbol, batch.events[:cut]),
            EventBatch(batch.kind, batch.symbol, batch.events[cut:]))


class ScanningReplay(MarketDataStream):
    """A replay that scans as it goes (see the module docstring).

    Scans run at the given ``times`` (ns UTC), or every ``every_ns`` of replay time: before an
    event at or past the next interval boundary, one scan at the latest boundary at or before
    it (one scan stands for a silent stretch's boundaries, as clock ticks do). Each scan's
    change is kept in :attr:`changes` and awaited in ``on_scan``.

    As the strategy manager's stream: subscribing adds candidates to the replay; unsubscribing
    does nothing, since the scanner reads every candidate all along (the manager stops routing a
    stopped symbol's events itself).
    """

    def __init__(self, stream: ReplayStream, inputs: PointInTimeInputs, scanner: Scanner, *,
                 times: Iterable[int] = (), every_ns: int = 0) -> None:
        self.stream = stream
        self.inputs = inputs
        self.scanner = scanner
        self._pending = sorted(int(t) for t in times)
        if self._pending and every_ns:
            raise ConfigError("a scanning replay scans at given times or at an interval, not both")
        self.every_ns = every_ns
        # Set by the caller once its strategy manager (which reads this stream) exists.
        self.on_scan: Callable[[UniverseChange], Awaitable[object]] | None = None
        self.changes: list[UniverseChange] = []
        self._last: int | None = None

    async def subscribe(self, symbols: Iterable[str]) -> None:
        await self.stream.subscribe(symbols)

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        """Nothing: the scanner still reads them."""

    @property
    def subscribed(self) -> frozenset[str]:
        return self.stream.subscribed

    async def close(self) -> None:
        await self.stream.close()

    def _next(self) -> int | None:
        if self.every_ns:
            return None if self._last is None else self._last + self.every_ns
        return self._pending[0] if self._pending else None

    async def _scan(self, at: int) -> None:
        self.inputs.now = self._last = at
        change = await self.scanner.update()
        self.changes.append(change)
        if self.on_scan is not None:
            await self.on_scan(change)

    async def _scan_until(self, ts: int | None) -> None:
        """Run the scans due before an event at ``ts`` (None: the rest of the given times)."""
        while self._pending and (ts is None or self._pending[0] <= ts):
            await self._scan(self._pending.pop(0))
        if self.every_ns and ts is not None:
            boundary = ts - ts % self.every_ns
            if self._last is None or boundary > self._last:
                await self._scan(boundary)

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        async for batch in self.stream:
            rest: EventBatch | None = batch
            while rest is not None and len(rest.events):
                await self._scan_until(int(merge_time(rest.kind, rest.events[:1])[0]))
                limit = self._next()
                head, rest = _split(rest, limit) if limit is not None else (rest, None)
                self.inputs.feed(head)
                yield head
        await self._scan_until(None)


async def replay_scans(stream: ReplayStream, inputs: PointInTimeInputs, scanner: Scanner,
                       scan_times: Sequence[int], *, warm_up_days: int = 5,
                       on_batch: Any = None) -> list[UniverseChange]:
    """Replay ``stream`` into ``inputs`` and run ``scanner.update()`` at each scan time.

    Subscribes the inputs' symbols, seeds their daily bars from ``stream.history`` (bars that
    ended before the first scan time or the stream's start) and splits batches at scan times.
    ``on_batch(batch)`` also receives every batch (e.g. the strategies' engines). Returns the
    universe change of every scan, in order.
    """
    times = sorted(int(t) for t in scan_times)
    symbols = inputs.symbols or sorted(stream.subscribed)
    if "daily" in stream.source.datasets() and warm_up_days:
        before = stream.start if stream.start is not None else times[0]
        for symbol in symbols:
            inputs.seed_daily(symbol, stream.history(symbol, "daily", before=before,
                                                     count=warm_up_days))
    scanning = ScanningReplay(stream, inputs, scanner, times=times)
    await scanning.subscribe(symbols)
    async for batch in scanning:
        if on_batch is not None:
            on_batch(batch)
    return scanning.changes


class ReplayReferences(ReferenceProvider):
    """Reference data from a replay's daily bars (see the module docstring): the average daily
    volume over ``average_days``, as of the inputs' scan time."""

    def __init__(self, inputs: PointInTimeInputs, *, average_days: int = 10) -> None:
        self.inputs = inputs
        self.average_days = average_days

    async def fetch(self, symbols: list[str]) -> dict[str, Reference]:
        return {s: Reference(s, average_volume=self.inputs.average_volume(s, self.average_days))
                for s in symbols}


class RecordedScanner(Scanner):
    """The universe recorded in a journal, in force at ``clock()``."""

    name = "recorded"

    def __init__(self, journal: Journal, **options: Any) -> None:
        super().__init__(**options)
        self.source = journal

    async def scan(self) -> list[ScanRow]:
        universe = self.source.universe_at(self.clock()) or []
        return [ScanRow(symbol, {}, True) for symbol in universe]
