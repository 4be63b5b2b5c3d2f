"""The generated market: :class:`SimulatedMarket`, the :class:`Market` the simulator serves.

The session runs from ``start`` (default: the next weekday's 04:00 New York) to 20:00 New York
of that date (17:00 on an early-close day, whose regular session ends at 13:00), in fixed steps
of simulated time (:attr:`ModelParams.step_s`), paced at ``speed`` x real time (0: as fast as
possible). Each step's events go to the listeners in the order the model produced them:
statuses, LULD bands, then per symbol quotes and trades, then corrections and cancels; just
after each minute mark come the minute bars of the minute that ended, then (after 09:30) the
day's running daily bars; at each half-minute mark an updated bar for every minute that a late-
reported print changed. Bars are built by the native :class:`~tradecore.bars.BarAggregator`.

Same seed, params and start: identical events, whatever the speed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from tradecore import schema
from tradecore.bars import BarAggregator, aggregate, resample
from tradecore.sim.generator import (
    MINUTE_NS,
    NS,
    Generator,
    ModelParams,
    UniverseParams,
    default_start,
)
from tradecore.sim.market import Asset, Market
from tradecore.streams.base import EventBatch, EventKind

__all__ = ["SimulatedMarket"]

logger = logging.getLogger("tradecore.sim.simulated")

_DAY_NS = 86_400 * NS


class _History:
    """Append-only event chunks of one kind, joined lazily."""

    __slots__ = ("chunks", "dtype")

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self.chunks: list[np.ndarray] = []

    def append(self, events: np.ndarray) -> None:
        self.chunks.append(events)
        if len(self.chunks) >= 64:  # small arrays cost ~100 bytes each: join them now and then
            self.chunks = [schema.concatenate(self.chunks, self.dtype)]

    def array(self) -> np.ndarray:
        if len(self.chunks) != 1:
            self.chunks = [schema.concatenate(self.chunks, self.dtype)]
        return self.chunks[0]


class SimulatedMarket(Market):
    """A seeded premarket (see :mod:`tradecore.sim.generator` for the model).

    Parameters
    ----------
    seed
        Random seed; same seed, same session.
    start
        Session start, int ns UTC; default :func:`~tradecore.sim.generator.default_start`.
    speed
        Simulated seconds per wall-clock second (60: a premarket hour in a minute); 0 runs as
        fast as possible.
    symbols
        Universe size (overrides ``params.universe.symbols``).
    gappers
        Number of gappers (overrides ``params.universe.gappers``).
    params
        The model parameters (:class:`~tradecore.sim.generator.ModelParams`).
    """

    def __init__(self, *, seed: int = 0, start: int | None = None, speed: float = 1.0,
                 symbols: int | None = None, gappers: int | None = None,
                 params: ModelParams | None = None) -> None:
        super().__init__()
        params = params or ModelParams()
        universe: UniverseParams = params.universe
        if symbols is not None:
            universe = replace(universe, symbols=int(symbols))
        if gappers is not None:
            universe = replace(universe, gappers=int(gappers))
        params = replace(params, universe=universe)
        if speed < 0 or not np.isfinite(speed):
            raise ValueError(f"speed must be 0 (as fast as possible) or positive, not {speed}")
        self.params = params
        self.seed = seed
        self.speed = float(speed)
        self.generator = Generator(params, seed, default_start() if start is None else int(start))
        gen = self.generator
        self.start = gen.start
        self.open_ns = gen.open_ns
        self.end_ns = gen.end_ns
        self._index = {s: k for k, s in enumerate(gen.symbols)}
        self._assets = {a.symbol: a for a in gen.assets}
        n = len(gen.symbols)
        self._last_trade: list[np.void | None] = [None] * n
        self._last_quote: list[np.void | None] = [None] * n
        self._trades = [_History(schema.TRADE) for _ in range(n)]
        self._minute_bars = [_History(schema.BAR) for _ in range(n)]
        self._minute_agg: list[BarAggregator | None] = [None] * n
        self._daily_agg: list[BarAggregator | None] = [None] * n
        self._notional = np.zeros(n)  # today's dollar volume per symbol, for the daily VWAP
        self._amended: dict[int, set[int]] = {}  # symbol -> minute starts changed by late prints
        self._bars_until = self.start  # minute bars are published for ts < this
        self.published = 0
        """Events published so far."""
        self.on_step: Callable[[], None] | None = None
        """Called after each step, once the session clock has moved and the step's events are
        published (the simulator's process shares its clock this way)."""

    # -- Market --------------------------------------------------------------------------

    def now(self) -> int:
        return self.generator.clock

    def assets(self) -> list[Asset]:
        return list(self.generator.assets)

    def asset(self, symbol: str) -> Asset | None:
        return self._assets.get(symbol.upper())

    def last_trade(self, symbol: str) -> np.void | None:
        k = self._index.get(symbol.upper())
        return None if k is None else self._last_trade[k]

    def last_quote(self, symbol: str) -> np.void | None:
        k = self._index.get(symbol.upper())
        return None if k is None else self._last_quote[k]

    def status(self, symbol: str) -> int:
        k = self._index.get(symbol.upper())
        return int(schema.TradingState.UNKNOWN) if k is None else int(self.generator.state[k])

    def bars(self, symbol: str, start: int, end: int, period_ns: int = MINUTE_NS) -> np.ndarray:
        k = self._index.get(symbol.upper())
        if k is None:
            return schema.empty(schema.BAR)
        if period_ns >= _DAY_NS:
            parts = [self.generator.prior_daily[self.generator.symbols[k]]]
            today = self.daily_bar(symbol)
            if today is not None:
                parts.append(np.array([today], dtype=schema.BAR))
            rows = schema.concatenate(parts, schema.BAR)
            if period_ns > _DAY_NS:
                rows = resample(rows, period_ns, calendar="utc", split_sessions=False)
        else:
            rows = self._minute_bars[k].array()
            if period_ns != MINUTE_NS:
                rows = resample(rows, period_ns)
        keep = (rows["ts_event"] >= start) & (rows["ts_event"] < end)
        return rows[keep]

    def trades(self, symbol: str, start: int, end: int) -> np.ndarray:
        k = self._index.get(symbol.upper())
        if k is None:
            return schema.empty(schema.TRADE)
        rows = self._trades[k].array()
        return rows[(rows["ts_event"] >= start) & (rows["ts_event"] < end)]

    async def run(self) -> None:
        """Advance the session paced by ``speed`` until its end (20:00 New York; 17:00 on an
        early-close day) or cancellation."""
        loop = asyncio.get_running_loop()
        gen = self.generator
        origin_wall, origin_sim = loop.time(), gen.clock
        steps = 0
        while not gen.finished:
            if self.speed > 0:
                due = origin_wall + (gen.clock + gen.step_ns - origin_sim) / NS / self.speed
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif steps % 16 == 0:
                    await asyncio.sleep(0)  # behind: catch up, but let the feed write
            elif steps % 4 == 0:
                await asyncio.sleep(0)
            self.step()
            steps += 1

    # -- beyond the interface ------------------------------------------------------------

    @property
    def symbols(self) -> list[str]:
        """Every symbol, in instrument-id order."""
        return list(self.generator.symbols)

    @property
    def gappers(self) -> list[str]:
        """The symbols the model gaps this session."""
        return [s for s, g in zip(self.generator.symbols, self.generator.is_gapper) if g]

    def daily_bar(self, symbol: str) -> np.void | None:
        """Today's running daily bar of ``symbol`` (all prints so far), or None."""
        k = self._index.get(symbol.upper())
        return None if k is None else self._daily_row(k)

    def _daily_row(self, k: int) -> np.void | None:
        agg = self._daily_agg[k]
        rows = None if agg is None else np.array(agg.open_bar)
        if rows is None or not len(rows):
            return None
        # The open bar's VWAP is only final at its close: fill it from the running notional.
        if rows["volume"][0] > 0:
            rows["vwap"][0] = round(self._notional[k] / rows["volume"][0], 4)
        bar: np.void = rows[0]
        return bar

    def minute_bar(self, symbol: str) -> np.void | None:
        """The latest completed minute bar of ``symbol``, or None."""
        k = self._index.get(symbol.upper())
        if k is None:
            return None
        rows = self._minute_bars[k].array()
        return rows[-1] if len(rows) else None

    def prior_daily_bars(self, symbol: str) -> np.ndarray:
        """The daily bars of the sessions before this one (BAR rows)."""
        k = self._index.get(symbol.upper())
        return schema.empty(schema.BAR) if k is None else self.generator.prior_daily[symbol.upper()]

    def advance(self, until: int) -> None:
        """Generate (without pacing) up to simulated time ``until`` (ns UTC)."""
        while self.generator.clock < min(until, self.end_ns):
            self.step()

    def step(self) -> None:
        """Generate and publish one step."""
        gen = self.generator
        t0 = gen.clock
        for batch in gen.step():
            self._record(batch)
            self._publish(batch)
        t1 = gen.clock
        minute = (t1 // MINUTE_NS) * MINUTE_NS
        if t0 < minute <= t1:
            self._close_minute(minute)
        half = minute + MINUTE_NS // 2
        if t0 < half <= t1 and self._amended:
            self._publish_updates(half)
        if self.on_step is not None:
            self.on_step()

    # -- internals -----------------------------------------------------------------------

    def _record(self, batch: EventBatch) -> None:
        k = self._index[batch.symbol]
        events = batch.events
        kind = batch.kind
        if kind is EventKind.QUOTE:
            self._last_quote[k] = events[-1]
        elif kind is EventKind.TRADE:
            latest = int(np.argmax(events["ts_event"]))
            current = self._last_trade[k]
            if current is None or events["ts_event"][latest] >= current["ts_event"]:
                self._last_trade[k] = events[latest]
            self._trades[k].append(events)
            late = events["ts_event"] < self._bars_until
            if late.any():
                minutes = self._amended.setdefault(k, set())
                minutes.update(int(m) for m in (events["ts_event"][late] // MINUTE_NS) * MINUTE_NS)
            on_time = events[~late] if late.any() else events
            agg = self._minute_agg[k]
            if agg is None:
                agg = self._minute_agg[k] = BarAggregator("1min", instrument_id=k)
                self._daily_agg[k] = BarAggregator("1d", split_sessions=False, instrument_id=k)
            closed = agg.update_batch(on_time)
            if len(closed):
                self._minute_bars[k].append(closed)
            daily = self._daily_agg[k]
            assert daily is not None
            daily.update_batch(events)
            self._notional[k] += float(np.dot(events["price"], events["size"]))

    def _close_minute(self, minute: int) -> None:
        self._bars_until = minute
        symbols = self.generator.symbols
        after_open = minute > self.open_ns
        for k, agg in enumerate(self._minute_agg):
            if agg is None:
                continue
            closed = agg.on_clock(minute)
            if len(closed):
                self._minute_bars[k].append(closed)
                self._publish(EventBatch(EventKind.BAR, symbols[k], closed))
        if after_open:
            for k, daily in enumerate(self._daily_agg):
                row = None if daily is None else self._daily_row(k)
                if row is not None:
                    self._publish(EventBatch(EventKind.DAILY_BAR, symbols[k],
                                             np.array([row], dtype=schema.BAR)))

    def _publish_updates(self, now: int) -> None:
        amended, self._amended = self._amended, {}
        symbols = self.generator.symbols
        for k, minutes in sorted(amended.items()):
            history = self._minute_bars[k]
            bars = history.array()
            trades = self._trades[k].array()
            updated = []
            for minute in sorted(minutes):
                in_minute = trades[(trades["ts_event"] >= minute)
                                   & (trades["ts_event"] < minute + MINUTE_NS)]
                rebuilt = aggregate(in_minute, "1min", instrument_id=k)
                if not len(rebuilt):
                    continue
                rebuilt["flags"] |= int(schema.BarFlag.AMENDED)
                where = np.flatnonzero(bars["ts_event"] == minute)
                if len(where):
                    bars[where[0]] = rebuilt[0]
                else:
                    position = int(np.searchsorted(bars["ts_event"], minute))
                    bars = schema.concatenate([bars[:position], rebuilt[:1], bars[position:]],
                                              schema.BAR)
                    history.chunks = [bars]
                updated.append(rebuilt[:1])
            if updated:
                self._publish(EventBatch(EventKind.UPDATED_BAR, symbols[k],
                                         schema.concatenate(updated, schema.BAR)))

    def _publish(self, batch: EventBatch) -> None:
        self.published += len(batch.events)
        super()._publish(batch)

