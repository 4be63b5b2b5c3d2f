"""Tests of tradecore.streams.aggregation: bars from a replayed or live trade stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import numpy as np
import pytest
from tradecore import bars, schema
from tradecore.errors import ConfigError, DataError
from tradecore.streams.aggregation import AggregationStream
from tradecore.streams.base import EventBatch, EventKind, MarketDataStream
from tradecore.streams.replay import LeanSource, ReplayStream, merge_time

MINUTE = 60 * 10**9
HOUR_NS = 3_600 * 10**9


def ny(clock: str, date: str = "2013-10-07") -> int:
    """UTC ns of a New York (EDT) wall-clock time."""
    return int(np.datetime64(f"{date}T{clock}", "ns").astype(np.int64)) + 4 * HOUR_NS


def trades(symbol_id: int, *rows: tuple[int, float]) -> np.ndarray:
    out = schema.empty(schema.TRADE, len(rows))
    for i, (ts, price) in enumerate(rows):
        out[i]["ts_event"], out[i]["price"], out[i]["size"] = ts, price, 100
    out["instrument_id"] = symbol_id
    return out


class ListStream(MarketDataStream):
    """Hands out given batches (a stand-in for any wrapped stream)."""

    def __init__(self, batches: Iterable[EventBatch]) -> None:
        self.batches = list(batches)
        self._subscribed: set[str] = set()

    async def subscribe(self, symbols: Iterable[str]) -> None:
        self._subscribed |= {s.upper() for s in symbols}

    async def unsubscribe(self, symbols: Iterable[str]) -> None:
        self._subscribed -= {s.upper() for s in symbols}

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        for batch in self.batches:
            if batch.symbol in self._subscribed:
                yield batch

    def __aiter__(self) -> AsyncIterator[EventBatch]:
        return self._iterate()

    async def close(self) -> None:
        self.batches = []


class LiveListStream(ListStream):
    """A ListStream whose next iteration goes on where the last one stopped, as a live stream's."""

    async def _iterate(self) -> AsyncIterator[EventBatch]:
        while self.batches:
            batch = self.batches.pop(0)
            if batch.symbol in self._subscribed:
                yield batch


async def drain(stream: MarketDataStream, symbols: list[str]) -> list[EventBatch]:
    async with stream:
        await stream.subscribe(symbols)
        return [batch async for batch in stream]


@pytest.mark.asyncio
async def test_replayed_bars_match_the_batch_aggregator(lean_root: Path, lean) -> None:
    inner = ReplayStream(
        LeanSource(lean_root), datasets=["trade"], start="2013-10-07", end="2013-10-08"
    )
    out = await drain(AggregationStream(inner, ["1min", "5min"]), ["spy"])
    produced = schema.concatenate([b.events for b in out if b.kind is EventKind.BAR], schema.BAR)
    day = lean("tick", "spy", "2013-10-07")
    for period, count in (("1min", 828), ("5min", 191)):
        mine = produced[produced["ts_end"] - produced["ts_event"] == bars.parse_period(period)]
        reference = bars.aggregate(day, period)
        assert len(mine) == len(reference) == count
        for field in ("ts_event", "open", "high", "low", "close", "volume", "trade_count"):
            assert np.array_equal(mine[field], reference[field]), field
        assert np.all(mine["flags"][:-1] == 0)
        assert mine["flags"][-1] == schema.BarFlag.PARTIAL  # flushed at the end of the replay
    passed = schema.concatenate([b.events for b in out if b.kind is EventKind.TRADE], schema.TRADE)
    assert len(passed) == len(day)


@pytest.mark.asyncio
async def test_bars_come_right_before_the_event_that_closed_them(lean_root: Path) -> None:
    inner = ReplayStream(
        LeanSource(lean_root),
        datasets=["trade", "quote"],
        start="2013-10-07T13:25",
        end="2013-10-07T13:50",
    )
    stream = AggregationStream(inner, ["1min"])
    out = await drain(stream, ["spy", "bac", "ibm"])
    bar_batches = [b for b in out if b.kind is EventKind.BAR]
    assert {b.symbol for b in bar_batches} == {"SPY", "BAC", "IBM"}
    last_time = -1
    for i, batch in enumerate(out):
        if batch.kind is EventKind.BAR:
            end = int(batch.events["ts_end"][0])
            assert last_time < end, "an event at or after a bar's end came before the bar"
            following = next((b for b in out[i + 1 :] if b.kind is not EventKind.BAR), None)
            if following is not None:
                assert merge_time(following.kind, following.events)[0] >= end
        else:
            last_time = int(merge_time(batch.kind, batch.events)[-1])
    assert stream.stats["bars"] == sum(map(len, bar_batches))


@pytest.mark.asyncio
async def test_the_event_clock_closes_a_silent_symbols_bar() -> None:
    quiet = trades(0, (ny("09:30:10"), 10.0))
    busy = trades(1, (ny("09:30:20"), 20.0), (ny("09:31:30"), 21.0), (ny("09:33:00"), 22.0))
    inner = ListStream(
        [
            EventBatch(EventKind.TRADE, "AAA", quiet),
            EventBatch(EventKind.TRADE, "BBB", busy[:1]),
            EventBatch(EventKind.TRADE, "BBB", busy[1:]),  # one batch spanning two bar ends
        ]
    )
    out = await drain(AggregationStream(inner, ["1min"]), ["aaa", "bbb"])
    shape = [(b.kind.value, b.symbol, len(b)) for b in out]
    assert shape == [
        ("trade", "AAA", 1),
        ("trade", "BBB", 1),
        ("bar", "AAA", 1),  # 09:30 bars end at 09:31, before BBB's 09:31:30 trade
        ("bar", "BBB", 1),
        ("trade", "BBB", 1),
        ("bar", "BBB", 1),  # 09:31 bar ends at 09:32, before the 09:33 trade
        ("trade", "BBB", 1),
        ("bar", "BBB", 1),  # flushed at the end, partial
    ]
    assert out[2].events["ts_end"][0] == ny("09:31") and out[2].events["close"][0] == 10.0


@pytest.mark.asyncio
async def test_the_wall_clock_closes_bars_live_without_more_trades() -> None:
    queue: asyncio.Queue[EventBatch | None] = asyncio.Queue()

    class Live(ListStream):
        async def _iterate(self) -> AsyncIterator[EventBatch]:
            while (batch := await queue.get()) is not None:
                yield batch

    stream = AggregationStream(Live([]), ["1s"], clock="wall", tick_interval=0.02, calendar="utc")
    await stream.subscribe(["aaa"])
    queue.put_nowait(EventBatch(EventKind.TRADE, "AAA", trades(0, (time.time_ns(), 10.0))))
    received: list[EventBatch] = []
    started = time.monotonic()
    async with stream:
        async for batch in stream:
            received.append(batch)
            if batch.kind is EventKind.BAR:
                break
    elapsed = time.monotonic() - started
    assert [b.kind for b in received] == [EventKind.TRADE, EventKind.BAR]
    assert elapsed < 2.5  # closed by a tick within a second or so of the bar's end
    bar = received[1].events[0]
    assert bar["close"] == 10.0 and bar["flags"] == 0


@pytest.mark.asyncio
async def test_a_bad_trade_is_raised_after_the_batchs_valid_trades_and_bars_are_delivered() -> None:
    """bad="raise" (the default): the batch's other trades and the bars they close come first,
    every period alike, then the error naming the symbol; iterating again goes on."""
    batch = trades(0, (ny("09:30:10"), 10.0), (ny("09:31:10"), 11.0), (ny("09:31:20"), -5.0),
                   (ny("09:32:10"), 12.0))
    inner = LiveListStream([EventBatch(EventKind.TRADE, "AAA", batch, np.arange(4, dtype=np.int64)),
                        EventBatch(EventKind.TRADE, "AAA", trades(0, (ny("09:33:10"), 13.0)))])
    stream = AggregationStream(inner, ["1min", "2min"])
    await stream.subscribe(["AAA"])
    got: list[EventBatch] = []
    with pytest.raises(DataError, match=r"AAA: invalid trade \(price -5.0, size 100.0\).*1 such trade\(s\) of 4"):
        async for out in stream:
            got.append(out)
    trades_out = [b for b in got if b.kind is EventKind.TRADE]
    assert [p for b in trades_out for p in b.events["price"].tolist()] == [10.0, 11.0, 12.0]
    assert [r for b in trades_out for r in b.ts_received.tolist()] == [0, 1, 3]  # type: ignore[union-attr]
    closed = [(int(b.events["ts_end"][0]), float(b.events["close"][0])) for b in got if b.kind is EventKind.BAR]
    assert closed == [(ny("09:31"), 10.0), (ny("09:32"), 11.0), (ny("09:32"), 11.0)]  # 1min, 1min, 2min
    rest = [b async for b in stream]  # the stream goes on
    assert [b.kind for b in rest][0] is EventKind.BAR and rest[-1].kind is EventKind.BAR
    assert 13.0 in [p for b in rest if b.kind is EventKind.TRADE for p in b.events["price"].tolist()]


def test_bad_options_are_config_errors() -> None:
    inner = ListStream([])
    with pytest.raises(ConfigError):
        AggregationStream(inner, [])
    with pytest.raises(ConfigError):
        AggregationStream(inner, ["1 fortnight"])
    with pytest.raises(ConfigError):
        AggregationStream(inner, ["1min"], clock="sundial")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        AggregationStream(inner, ["1min"], late="ignore")


@pytest.mark.asyncio
async def test_unsubscribing_drops_the_open_bars() -> None:
    inner = ListStream([EventBatch(EventKind.TRADE, "AAA", trades(0, (ny("09:30:10"), 10.0)))])
    stream = AggregationStream(inner, ["1min"])
    await stream.subscribe(["aaa"])
    out = [batch async for batch in stream]
    assert [b.kind for b in out] == [EventKind.TRADE, EventKind.BAR]
    stream2 = AggregationStream(ListStream(inner.batches), ["1min"])
    await stream2.subscribe(["aaa"])
    seen = []
    async for batch in stream2:
        seen.append(batch)
        await stream2.unsubscribe(["aaa"])
    assert [b.kind for b in seen] == [EventKind.TRADE]


@pytest.mark.asyncio
async def test_flat_bars_fill_silent_periods_on_the_event_clock() -> None:
    inner = ListStream(
        [
            EventBatch(EventKind.TRADE, "AAA", trades(0, (ny("09:30:10"), 10.0))),
            EventBatch(EventKind.TRADE, "BBB", trades(1, (ny("09:33:30"), 20.0))),
        ]
    )
    out = await drain(AggregationStream(inner, ["1min"], empty="flat"), ["aaa", "bbb"])
    before = out[: [b.symbol for b in out].index("BBB")]
    aaa = schema.concatenate([b.events for b in out[:3] if b.kind is EventKind.BAR], schema.BAR)
    assert [b.kind for b in before] == [EventKind.TRADE, EventKind.BAR]
    assert list(aaa["ts_event"]) == [ny("09:30"), ny("09:31"), ny("09:32")]
    assert list(aaa["flags"]) == [0, schema.BarFlag.FLAT, schema.BarFlag.FLAT]
    assert out[2].symbol == "BBB" and out[2].kind is EventKind.TRADE
