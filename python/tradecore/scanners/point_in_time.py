"""Scanning in backtests exactly as it would have run live: no look-ahead.

:class:`PointInTimeInputs` is fed the replayed events (:meth:`PointInTimeInputs.feed`) and
answers :meth:`candidates` from what it has been fed only: last trade price (prints flagged
suspicious are left out of the price, not of the volume), cumulative volume since the start of
the symbol's current New York trading day (04:00; before 09:30 this is the premarket volume),
halts from status events, and the prior close from daily bars, a daily bar counting only once
it has ended (its ``ts_end``) before the scan time and only if dated before the scan's New York
date. Warm-up daily bars come from :meth:`ReplayStream.history`, which returns only bars that
ended before a given time.

:func:`replay_scans` drives a replay and a scanner together: it splits the replay's batches at
each scan time, so the scan at *t* has seen every event before *t* and none at or after it.

:class:`RecordedScanner` replays the universe changes recorded in a journal instead (the
universe in force at the clock's time), for replaying a live session's universe exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradecore import schema
from tradecore.scanners.base import Scanner, ScanRow, UniverseChange
from tradecore.scanners.inputs import Candidate, MarketInputs, day_start
from tradecore.streams.base import EventBatch, EventKind
from tradecore.streams.replay import merge_time

if TYPE_CHECKING:
    from tradecore.journal import Journal
    from tradecore.streams.replay import ReplayStream

__all__ = ["PointInTimeInputs", "RecordedScanner", "replay_scans"]

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
    daily: list[tuple[int, int, float]] | None = None  # (ts_event, ts_end, close)


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
                         bars["close"].tolist(), strict=True))
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

    def prior_close(self, symbol: str, now: int | None = None) -> float | None:
        """Close of the latest daily bar ended by ``now`` and dated before ``now``'s date."""
        now = self.now if now is None else now
        state = self._state.get(symbol.upper())
        if state is None or not state.daily:
            return None
        today = _ny_date_ns(now)
        for ts_event, ts_end, close in reversed(state.daily):
            if ts_end <= now and _ny_date_ns(ts_event + 12 * 3600 * 10**9) < today:
                return close
        return None

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
    await stream.subscribe(symbols)
    changes: list[UniverseChange] = []
    pending = list(times)

    async def scan_until(limit: int | None) -> None:
        while pending and (limit is None or pending[0] <= limit):
            inputs.now = pending.pop(0)
            changes.append(await scanner.update())

    async for batch in stream:
        rest: EventBatch | None = batch
        while rest is not None and len(rest.events):
            first = int(merge_time(rest.kind, rest.events[:1])[0])
            await scan_until(first)
            head, rest = _split(rest, pending[0]) if pending else (rest, None)
            inputs.feed(head)
            if on_batch is not None:
                on_batch(head)
    await scan_until(None)
    return changes


class RecordedScanner(Scanner):
    """The universe recorded in a journal, in force at ``clock()``."""

    name = "recorded"

    def __init__(self, journal: Journal, **options: Any) -> None:
        super().__init__(**options)
        self.source = journal

    async def scan(self) -> list[ScanRow]:
        universe = self.source.universe_at(self.clock()) or []
        return [ScanRow(symbol, {}, True) for symbol in universe]
