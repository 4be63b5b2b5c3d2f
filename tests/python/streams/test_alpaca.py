"""The Alpaca stock-stream client against a real WebSocket server on loopback (no mocks).

Synchronisation is by awaited conditions with timeouts, never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np
import pytest
from tradecore import schema
from tradecore.errors import DataError
from tradecore.streams.alpaca import (
    CONDITION_OTHER,
    TRADE_CONDITION_BITS,
    AlpacaAuthError,
    AlpacaConnectionLimitError,
    AlpacaDataError,
    AlpacaDecoder,
    AlpacaPermissionError,
    AlpacaStream,
    AlpacaSymbolLimitError,
    Backoff,
    Gap,
    format_timestamp,
    parse_timestamp,
)
from tradecore.streams.base import EVENT_DTYPES, EventBatch, EventKind, GroupedBatch
from tradecore.streams.testing import (
    AlpacaTestServer,
    bar,
    cancel_error,
    correction,
    luld,
    quote,
    status,
    trade,
)

T0 = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z: all nine digits matter
ENCODINGS = pytest.mark.parametrize("encoding", ["json", "msgpack"])

MakeStream = Callable[..., AlpacaStream]


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for ``predicate`` by yielding to the loop; fail after ``timeout`` seconds."""

    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.001)

    await asyncio.wait_for(poll(), timeout)


async def take(stream: AlpacaStream, events: int, timeout: float = 5.0) -> list[EventBatch]:
    """Read batches until ``events`` events arrived."""
    batches: list[EventBatch] = []

    async def read() -> None:
        while sum(len(b) for b in batches) < events:
            batches.append(await stream.__anext__())

    await asyncio.wait_for(read(), timeout)
    return batches


def rows(batches: list[EventBatch], kind: EventKind, symbol: str | None = None) -> np.ndarray:
    chosen = [b.events for b in batches if b.kind is kind and symbol in (None, b.symbol)]
    return schema.concatenate(chosen, EVENT_DTYPES[kind]) if chosen else schema.empty(
        EVENT_DTYPES[kind])


# -- handshake and auth --------------------------------------------------------------------


@ENCODINGS
@pytest.mark.parametrize("auth", ["message", "headers"])
@pytest.mark.asyncio
async def test_handshake_authenticates_in_the_requested_encoding(
    server: AlpacaTestServer, make_stream: MakeStream, encoding: str, auth: str
) -> None:
    stream = make_stream(encoding=encoding, auth=auth)
    await stream.connect()
    session = await server.wait_for_session(1)
    assert session.authenticated and session.encoding == encoding
    assert session.path == "/v2/test"
    assert session.headers["Content-Type"] == f"application/{encoding}"
    if auth == "message":
        assert session.received[0] == {"action": "auth", "key": "test-key",
                                       "secret": "test-secret"}
    else:
        assert session.received == [] and session.headers["APCA-API-KEY-ID"] == "test-key"


@pytest.mark.parametrize("auth", ["message", "headers"])
@pytest.mark.asyncio
async def test_auth_failure_is_fatal_plain_and_never_logs_the_secret(
    server: AlpacaTestServer, make_stream: MakeStream, caplog: pytest.LogCaptureFixture,
    auth: str
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "s3cr3t-Never-Log-Me-0123456789"
    stream = make_stream(secret_key=secret, auth=auth)
    with pytest.raises(AlpacaAuthError) as raised:
        await stream.connect()
    assert raised.value.code == 402
    assert "auth failed" in str(raised.value) and "APCA_API_SECRET_KEY" in str(raised.value)
    assert secret not in str(raised.value) and secret[:6] not in str(raised.value)
    assert len(server.history) == 1  # fatal: no retry
    with pytest.raises(AlpacaAuthError):
        await stream.__anext__()  # the iterator reports the same fatal error
    client = [r for r in caplog.records if not r.name.startswith("tradecore.streams.testing")]
    logged = "\n".join(r.getMessage() for r in client)
    assert secret[:6] not in logged and secret.encode()[-8:].hex(" ") not in logged
    assert any(r.name.startswith("tradecore.streams.alpaca") for r in caplog.records)


@pytest.mark.asyncio
async def test_credentials_come_from_the_environment(
    server: AlpacaTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APCA_API_KEY_ID", server.key_id)
    monkeypatch.setenv("APCA_API_SECRET_KEY", server.secret_key)
    async with AlpacaStream(url=server.url) as stream:
        assert (await server.wait_for_session(1)).authenticated
        assert "test-secret" not in repr(stream)
    monkeypatch.delenv("APCA_API_SECRET_KEY")
    with pytest.raises(ValueError, match="APCA_API_SECRET_KEY"):
        AlpacaStream(url=server.url)


@pytest.mark.asyncio
async def test_connection_limit_is_fatal(server: AlpacaTestServer, make_stream: MakeStream
                                         ) -> None:
    await make_stream().connect()
    second = make_stream()
    with pytest.raises(AlpacaConnectionLimitError, match="406.*another connection"):
        await second.connect()
    assert len(server.history) == 2


@pytest.mark.asyncio
async def test_refused_upgrade_429_is_retried(server: AlpacaTestServer, make_stream: MakeStream
                                              ) -> None:
    server.refuse_upgrades(429, count=2)
    stream = make_stream()
    await stream.connect()
    assert server.refused_upgrades == 2 and len(server.history) == 1


# -- subscriptions ---------------------------------------------------------------------------


@ENCODINGS
@pytest.mark.asyncio
async def test_subscribe_changes_are_confirmed_by_the_reply(
    server: AlpacaTestServer, make_stream: MakeStream, encoding: str
) -> None:
    stream = make_stream(encoding=encoding)
    await stream.subscribe(["aapl", "MSFT"])
    session = await server.wait_for_session(1)
    assert session.subscriptions["trades"] == {"AAPL", "MSFT"}
    assert session.subscriptions["quotes"] == {"AAPL", "MSFT"}
    assert session.received[-1] == {"action": "subscribe", "trades": ["AAPL", "MSFT"],
                                    "quotes": ["AAPL", "MSFT"]}
    await stream.subscribe(["AAPL"], channels=["bars", "statuses"])
    assert session.received[-1] == {"action": "subscribe", "bars": ["AAPL"],
                                    "statuses": ["AAPL"]}
    await stream.subscribe(["AAPL"])  # idempotent: nothing sent
    assert len(session.received) == 3

    await server.publish([trade("MSFT", T0, 10.0, 1, trade_id=1)])
    first = await take(stream, 1)
    assert first[0].symbol == "MSFT"

    await stream.unsubscribe(["MSFT"])
    assert session.subscriptions["trades"] == {"AAPL"} and "MSFT" not in stream.subscribed
    assert stream.subscribed == {"AAPL"}
    # The server no longer sends MSFT; a stray one (scripted to everyone) is not delivered.
    await server.send_raw(json.dumps([trade("MSFT", T0 + 5, 10.0, 1, trade_id=2)
                                      | {"t": format_timestamp(T0 + 5)}])
                          if encoding == "json" else msgpack.packb(
                              [trade("MSFT", T0 + 5, 10.0, 1, trade_id=2)]))
    await server.publish([trade("AAPL", T0 + 6, 20.0, 1, trade_id=3)])
    (batch,) = await take(stream, 1)
    assert batch.symbol == "AAPL"
    assert stream.stats["dropped_unsubscribed"] == 1


@pytest.mark.asyncio
async def test_symbol_limit_raises_and_keeps_the_subscriptions(make_stream: MakeStream) -> None:
    async with AlpacaTestServer(symbol_limit=2) as limited:
        stream = make_stream(url=limited.url)
        await stream.subscribe(["AAPL", "MSFT"])
        with pytest.raises(AlpacaSymbolLimitError, match="405"):
            await stream.subscribe(["NVDA"])
        assert stream.subscribed == {"AAPL", "MSFT"}
        await limited.publish([trade("AAPL", T0, 1.0, 1)])
        (batch,) = await take(stream, 1)  # the session went on
        assert batch.symbol == "AAPL"
        await stream.close()


# -- decoding every message type --------------------------------------------------------------


@ENCODINGS
@pytest.mark.asyncio
async def test_every_message_type_decodes_to_its_dtype_with_exact_ns(
    server: AlpacaTestServer, make_stream: MakeStream, encoding: str
) -> None:
    stream = make_stream(encoding=encoding, channels=["trades", "quotes", "bars", "updatedBars",
                                                      "dailyBars", "statuses", "lulds"])
    await stream.subscribe(["AAPL"])
    minute = T0 - T0 % 60_000_000_000
    day = 1_699_938_000_000_000_000  # 2023-11-14 00:00 New York
    sent = [
        trade("AAPL", T0, 189.5, 100, trade_id=42, exchange="D", conditions=["@", "F", "I"]),
        quote("AAPL", T0 + 1, 189.4, 189.6, bid_size=3, ask_size=4, bid_exchange="Q",
              ask_exchange="V", conditions=["R"]),
        bar("AAPL", minute, 189.0, 190.0, 188.5, 189.5, 1200, trade_count=17, vwap=189.3),
        bar("AAPL", minute, 189.0, 190.5, 188.5, 189.5, 1300, trade_count=18, kind="u"),
        bar("AAPL", day, 180.0, 190.5, 179.0, 189.5, 10**7, trade_count=9000, kind="d"),
        status("AAPL", T0 + 2, "H", "T12", status_message="Trading Halt"),
        luld("AAPL", T0 + 3, 199.0, 179.0, indicator="B"),
        correction("AAPL", T0 + 4, original_id=42, original_price=189.5, original_size=100,
                   corrected_id=43, corrected_price=189.55, corrected_size=100,
                   exchange="D", corrected_conditions=["@", "E"]),
        cancel_error("AAPL", T0 + 5, trade_id=43, price=189.55, size=100, action="C",
                     exchange="D"),
    ]
    assert await server.publish(sent) == len(sent)
    batches = await take(stream, len(sent))
    by_kind = {b.kind: b for b in batches}
    assert set(by_kind) == set(EventKind)
    for kind, batch in by_kind.items():
        assert batch.events.dtype == EVENT_DTYPES[kind] and batch.symbol == "AAPL"
        assert batch.ts_received is not None and len(batch.ts_received) == len(batch)
    iid = stream.instruments.id_of("AAPL")

    (t,) = by_kind[EventKind.TRADE].events
    assert t["ts_event"] == T0 and t["price"] == 189.5 and t["size"] == 100
    assert t["trade_id"] == 42 and t["exchange"] == ord("D") and t["instrument_id"] == iid
    assert t["conditions"] == (TRADE_CONDITION_BITS["@"] | TRADE_CONDITION_BITS["F"]
                               | TRADE_CONDITION_BITS["I"])
    (q,) = by_kind[EventKind.QUOTE].events
    assert q["ts_event"] == T0 + 1 and (q["bid_price"], q["ask_price"]) == (189.4, 189.6)
    assert (q["bid_size"], q["ask_size"]) == (3, 4)
    assert (q["bid_exchange"], q["ask_exchange"]) == (ord("Q"), ord("V"))
    (b,) = by_kind[EventKind.BAR].events
    assert b["ts_event"] == minute and b["ts_end"] == minute + 60_000_000_000
    assert (b["open"], b["high"], b["low"], b["close"]) == (189.0, 190.0, 188.5, 189.5)
    assert b["volume"] == 1200 and b["trade_count"] == 17 and b["vwap"] == 189.3
    assert b["session"] == schema.Session.AFTER_HOURS  # 17:13 New York
    (u,) = by_kind[EventKind.UPDATED_BAR].events
    assert u["high"] == 190.5 and u["flags"] & schema.BarFlag.AMENDED
    (d,) = by_kind[EventKind.DAILY_BAR].events
    assert d["ts_event"] == day and d["volume"] == 10**7
    (s,) = by_kind[EventKind.STATUS].events
    assert s["ts_event"] == T0 + 2 and s["state"] == schema.TradingState.HALTED
    assert (s["status_code"], s["reason_code"]) == (b"H", b"T12")
    (lu,) = by_kind[EventKind.LULD].events
    assert (lu["limit_up"], lu["limit_down"], lu["indicator"]) == (199.0, 179.0, ord("B"))
    (c,) = by_kind[EventKind.CORRECTION].events
    assert (c["original_trade_id"], c["corrected_trade_id"]) == (42, 43)
    assert c["corrected_price"] == 189.55 and c["corrected_conditions"] & CONDITION_OTHER
    (x,) = by_kind[EventKind.CANCEL_ERROR].events
    assert (x["trade_id"], x["action"], x["ts_event"]) == (43, ord("C"), T0 + 5)


@pytest.mark.parametrize("digits", [0, 3, 8, 9])
@pytest.mark.asyncio
async def test_json_timestamps_with_any_number_of_digits_are_exact(
    make_stream: MakeStream, digits: int
) -> None:
    async with AlpacaTestServer(timestamp_digits=digits) as varying:
        stream = make_stream(url=varying.url, encoding="json")
        await stream.subscribe(["AAPL"])
        await varying.publish([trade("AAPL", T0, 1.0, 1)])
        (batch,) = await take(stream, 1)
        step = 10 ** (9 - digits)
        assert batch.events["ts_event"][0] == T0 - T0 % step
        await stream.close()


# -- reconnects and gaps ------------------------------------------------------------------------


@ENCODINGS
@pytest.mark.asyncio
@pytest.mark.parametrize("whole_frames", [False, True])
async def test_dropped_connection_reconnects_resubscribes_and_reports_the_gap(
    server: AlpacaTestServer, make_stream: MakeStream, encoding: str, whole_frames: bool
) -> None:
    """``whole_frames``: read through parts(), whose frames note what they saw by instrument id."""
    gaps: list[Gap] = []
    stream = make_stream(encoding=encoding, on_gap=gaps.append)
    parts = stream.parts()
    waiting: list[asyncio.Future[Any]] = []  # parts() waits before each publish: it keeps up

    async def read(events: int) -> list[EventBatch]:
        if not whole_frames:
            return await take(stream, events)
        got: list[EventBatch | GroupedBatch] = []
        while sum(len(p) for p in got) < events:
            got.append(await asyncio.wait_for(waiting.pop() if waiting else parts.__anext__(), 5.0))
        assert any(isinstance(p, GroupedBatch) for p in got)
        if whole_frames:
            waiting.append(asyncio.ensure_future(parts.__anext__()))
        return as_batches(got)

    await stream.subscribe(["AAPL", "MSFT"])
    await stream.subscribe(["AAPL"], channels=["bars"])
    if whole_frames:
        waiting.append(asyncio.ensure_future(parts.__anext__()))
    first = await server.wait_for_session(1)
    before = [trade("AAPL", T0 + k, 10.0 + k, 1, trade_id=k) for k in range(3)]
    await server.publish(before + [quote("MSFT", T0 + 10, 5.0, 5.1)])
    got = await read(4)

    await server.drop(session=first)
    second = await server.wait_for_session(2)
    await server.wait_for(lambda: second.subscriptions["trades"] == {"AAPL", "MSFT"})
    await stream.wait_live(5.0)
    assert second.received[-1] == {"action": "subscribe", "trades": ["AAPL", "MSFT"],
                                   "quotes": ["AAPL", "MSFT"], "bars": ["AAPL"]}
    assert len(gaps) == 1 and stream.gaps == gaps
    gap = gaps[0]
    assert gap.symbols == {"AAPL", "MSFT"}
    assert gap.last_seen_ts == {"AAPL": T0 + 2, "MSFT": T0 + 10}
    assert gap.disconnected_at <= gap.reconnected_at
    assert gap.first_missed_ts_estimate("AAPL") == T0 + 3
    assert stream.stats["reconnects"] == 1 and stream.stats["gaps"] == 1

    # The new session overlaps the old one by a trade: it is not delivered twice.
    after = [before[-1], trade("AAPL", T0 + 100, 20.0, 1, trade_id=100)]
    await server.publish(after)
    got += await read(1)
    for future in waiting:
        future.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    trades = rows(got, EventKind.TRADE, "AAPL")
    assert list(trades["trade_id"]) == [0, 1, 2, 100]
    assert stream.stats["duplicate_trade"] == 1


@pytest.mark.parametrize("code", [407, 500])
@pytest.mark.asyncio
async def test_retryable_server_errors_reconnect(
    server: AlpacaTestServer, make_stream: MakeStream, code: int
) -> None:
    stream = make_stream()
    await stream.subscribe(["AAPL"])
    await server.send_error(code, close=True)
    second = await server.wait_for_session(2)
    await server.wait_for(lambda: "AAPL" in second.subscriptions["trades"])
    await server.publish([trade("AAPL", T0, 1.0, 1)])
    (batch,) = await take(stream, 1)
    assert batch.symbol == "AAPL" and len(stream.gaps) == 1


@pytest.mark.asyncio
async def test_close_ends_iteration_and_is_idempotent(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream()
    await stream.subscribe(["AAPL"])

    async def consume() -> list[EventBatch]:
        return [batch async for batch in stream]

    consumer = asyncio.create_task(consume())
    await server.publish([trade("AAPL", T0, 1.0, 1)])
    await until(lambda: stream.stats.get("batches_delivered", 0) == 1)
    await stream.close()
    await stream.close()
    assert len(await asyncio.wait_for(consumer, 5.0)) == 1
    await server.wait_for(lambda: not server.sessions)


# -- bad input ---------------------------------------------------------------------------------


@ENCODINGS
@pytest.mark.asyncio
async def test_malformed_input_is_counted_logged_once_and_the_stream_goes_on(
    server: AlpacaTestServer, make_stream: MakeStream, encoding: str,
    caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradecore.streams.alpaca")
    stream = make_stream(encoding=encoding)
    await stream.subscribe(["AAPL"])
    session = await server.wait_for_session(1)
    await server.send_raw("this is not json{", session=session)
    await server.send_raw(b"\xc1\xc1 not msgpack", session=session)
    await server.send_raw('{"T": "t"}', session=session)  # not an array
    good = trade("AAPL", T0, 10.0, 5, trade_id=1)
    await server.publish([
        {"T": "t", "S": "AAPL", "p": 1.0, "t": T0},  # no size
        {"T": "zz", "S": "AAPL"},  # unknown type
        good | {"t": "2023-13-45T99:00:00Z"},  # bad timestamp
        good | {"p": -1.0, "i": 7},  # bad price
        quote("AAPL", T0, 10.2, 10.1),  # crossed
        quote("AAPL", T0, 0.0, 0.0),  # zero
        good,
        good,  # duplicate
        trade("AAPL", T0 - 1, 9.0, 1, trade_id=2),  # out of order: kept
        quote("AAPL", T0 + 1, 0.0, 10.1),  # one-sided: kept
    ], session=session)
    await server.send_raw("[{\"T\": \"t\", \"S\": \"AAPL\"", session=session)  # truncated
    await server.publish([trade("AAPL", T0 + 5, 11.0, 1, trade_id=3)], session=session)
    batches = await take(stream, 4)
    assert list(rows(batches, EventKind.TRADE)["trade_id"]) == [1, 2, 3]
    assert list(rows(batches, EventKind.QUOTE)["bid_price"]) == [0.0]
    stats = stream.stats
    assert stats["malformed_frame"] == 4
    for category in ("missing_field", "unknown_type", "bad_timestamp", "bad_field",
                     "crossed_quote", "zero_quote", "duplicate_trade", "out_of_order_trade"):
        assert stats[category] == 1, category
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum(m.startswith("malformed_frame at frame") for m in warnings) == 1
    assert any(m.startswith("crossed_quote at frame") and "(AAPL)" in m for m in warnings)


@pytest.mark.asyncio
async def test_raise_policy_delivers_valid_events_first_then_raises_and_continues(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(bad_input="raise")
    await stream.subscribe(["AAPL"])
    await server.publish([trade("AAPL", T0, 1.0, 1, trade_id=1),
                          quote("AAPL", T0, 2.0, 1.0)])
    (batch,) = await take(stream, 1)
    assert batch.events["trade_id"][0] == 1
    with pytest.raises(AlpacaDataError, match="crossed_quote") as raised:
        await asyncio.wait_for(stream.__anext__(), 5.0)
    assert isinstance(raised.value, DataError) and raised.value.problem.symbol == "AAPL"
    await server.publish([trade("AAPL", T0 + 1, 1.0, 1, trade_id=2)])
    (batch,) = await take(stream, 1)
    assert batch.events["trade_id"][0] == 2


# -- slow consumer ------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_slow_consumer_gets_conflated_quotes_and_every_trade(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(queue_capacity=5, max_backlog=1_000)
    await stream.subscribe(["AAPL", "MSFT"])
    frames = []
    for k in range(10):  # 10 frames of 5 quotes and 2 trades for AAPL, 1 trade for MSFT
        frame: list[dict[str, Any]] = []
        for j in range(5):
            frame.append(quote("AAPL", T0 + 100 * k + j, 10.0 + k + j / 10, 11.0 + k))
        frame.append(trade("AAPL", T0 + 100 * k + 50, 10.5, 1, trade_id=2 * k))
        frame.append(trade("AAPL", T0 + 100 * k + 51, 10.5, 1, trade_id=2 * k + 1))
        frame.append(trade("MSFT", T0 + 100 * k + 52, 20.0, 1, trade_id=k))
        frames.append(frame)
    for frame in frames:
        await server.publish(frame)
    await until(lambda: stream.stats.get("messages", 0) >= 80)  # all received, none consumed

    batches = []
    while stream._ready:  # noqa: SLF001 - drain exactly what is queued
        batches.append(await stream.__anext__())
    aapl_trades = rows(batches, EventKind.TRADE, "AAPL")
    assert list(aapl_trades["trade_id"]) == list(range(20))  # every trade, in order
    assert list(rows(batches, EventKind.TRADE, "MSFT")["trade_id"]) == list(range(10))
    quotes = rows(batches, EventKind.QUOTE, "AAPL")
    assert 0 < len(quotes) < 50
    assert len(quotes) + stream.stats["quotes_conflated"] == 50
    assert quotes["ts_event"][-1] == T0 + 904  # the newest quote is never conflated away
    assert np.all(np.diff(quotes["ts_event"]) > 0)


@pytest.mark.asyncio
async def test_backlog_limit_applies_backpressure_and_loses_no_trade(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream(queue_capacity=2, max_backlog=4)
    await stream.subscribe(["AAPL"])
    for frame in range(3):
        await server.publish([trade("AAPL", T0 + 10 * frame + k, 1.0, 1, trade_id=5 * frame + k)
                              for k in range(5)])
    await until(lambda: stream.stats.get("backpressure_waits", 0) >= 1)
    batches = await take(stream, 15)
    assert list(rows(batches, EventKind.TRADE)["trade_id"]) == list(range(15))


@pytest.mark.asyncio
async def test_parts_hand_over_whole_frames_then_per_symbol_queues_when_behind(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    """parts(): frames go to a consumer that keeps up whole (one GroupedBatch per kind); once
    ``queue_capacity`` events wait, frames go to the per-symbol queues (quotes conflated), and
    every trade still arrives once, in order, per symbol."""
    stream = make_stream(queue_capacity=12, max_backlog=1_000)
    await stream.subscribe(["AAPL", "MSFT"])
    parts = stream.parts()
    first = asyncio.ensure_future(parts.__anext__())  # the consumer is waiting: it keeps up
    frames = []
    for k in range(12):  # 2 quotes and a trade for AAPL, a trade for MSFT: 4 events a frame
        frames.append([quote("AAPL", T0 + 100 * k, 10.0 + k, 11.0 + k),
                       quote("AAPL", T0 + 100 * k + 1, 10.1 + k, 11.0 + k),
                       trade("AAPL", T0 + 100 * k + 2, 10.5, 1, trade_id=k),
                       trade("MSFT", T0 + 100 * k + 3, 20.0, 1, trade_id=k)])
    await server.publish(frames[0])
    received = [await asyncio.wait_for(first, 5.0)]
    for frame in frames[1:]:  # the consumer is busy now: these wait
        await server.publish(frame)
    await until(lambda: stream.stats.get("messages", 0) >= 48)
    assert stream._frame_events >= 12 and stream._ready  # noqa: SLF001 - both disciplines in use

    async def rest() -> None:
        while stream._frames or stream._ready:  # noqa: SLF001 - drain exactly what is queued
            received.append(await parts.__anext__())

    await asyncio.wait_for(rest(), 5.0)
    await parts.aclose()
    grouped = [p for p in received if isinstance(p, GroupedBatch)]
    assert any(len(g.symbols) == 2 for g in grouped)  # whole frames went through grouped
    batches = as_batches(received)
    for symbol in ("AAPL", "MSFT"):
        assert list(rows(batches, EventKind.TRADE, symbol)["trade_id"]) == list(range(12))
    quotes = rows(batches, EventKind.QUOTE, "AAPL")
    assert stream.stats["quotes_conflated"] > 0
    assert len(quotes) + stream.stats["quotes_conflated"] == 24
    assert np.all(np.diff(quotes["ts_event"]) > 0) and quotes["ts_event"][-1] == T0 + 1101
    assert not stream._grouped  # noqa: SLF001 - closing the iterator ends grouped delivery


@pytest.mark.asyncio
async def test_behind_a_parts_consumer_gets_each_frames_queued_trades_joined_again(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    """Once behind, frames wait in the per-symbol queues; parts() then takes the next batch of
    every ready symbol at once and joins those of one frame and kind into a GroupedBatch (run
    natively), so catching up costs no more per event than keeping up."""
    symbols = ["AAPL", "MSFT", "NVDA"]
    stream = make_stream(queue_capacity=3, max_backlog=1_000)
    await stream.subscribe(symbols)
    parts = stream.parts()
    first = asyncio.ensure_future(parts.__anext__())
    frames = [[trade(s, T0 + 10 * k + j, 10.0, 1, trade_id=k) for j, s in enumerate(symbols)] for k in range(10)]
    await server.publish(frames[0])
    received = [await asyncio.wait_for(first, 5.0)]
    for frame in frames[1:]:
        await server.publish(frame)
    await until(lambda: stream.stats.get("messages", 0) >= 30)
    assert stream._ready  # noqa: SLF001 - the later frames wait per symbol

    async def rest() -> None:
        while stream._frames or stream._ready:  # noqa: SLF001
            received.append(await parts.__anext__())

    await asyncio.wait_for(rest(), 5.0)
    await parts.aclose()
    assert all(isinstance(p, GroupedBatch) and sorted(p.symbols) == symbols for p in received)
    # The schema's own (padded) layout, which the native calls take: np.concatenate packs it.
    assert all(p.events.dtype == schema.TRADE for p in received)
    assert [int(p.events["trade_id"][0]) for p in received] == list(range(10))  # one frame each, in order
    assert len({p.ts_received for p in received}) == 10  # each with its own frame's receive time
    batches = [b for p in received for b in p.batches()]
    for symbol in symbols:
        assert list(rows(batches, EventKind.TRADE, symbol)["trade_id"]) == list(range(10))


def as_batches(parts: list[EventBatch | GroupedBatch]) -> list[EventBatch]:
    """What parts() delivered, one batch per symbol and kind."""
    return [b for p in parts for b in (p.batches() if isinstance(p, GroupedBatch) else [p])]


async def frames_waiting_behind_a_busy_consumer(server: AlpacaTestServer, stream: AlpacaStream
                                                ) -> tuple[Any, list[EventBatch | GroupedBatch]]:
    """AAPL and MSFT trades 0-3 in four frames: the first to a waiting parts() consumer, the
    other three while it is busy (queued whole, the symbols known: the clean-frame path groups
    them). Returns the parts() iterator and what it delivered."""
    await stream.subscribe(["AAPL", "MSFT"])
    parts = stream.parts()
    first = asyncio.ensure_future(parts.__anext__())
    await server.publish([trade("AAPL", T0, 1.0, 1, trade_id=0), trade("MSFT", T0 + 1, 2.0, 1, trade_id=0)])
    received = [await asyncio.wait_for(first, 5.0)]
    for k in range(1, 4):
        await server.publish([trade("AAPL", T0 + 10 * k, 1.0, 1, trade_id=k),
                              trade("MSFT", T0 + 10 * k + 1, 2.0, 1, trade_id=k)])
    await until(lambda: stream.stats.get("messages", 0) >= 8)
    assert any(isinstance(p, GroupedBatch) for p in stream._frames)  # noqa: SLF001
    return parts, received


@pytest.mark.asyncio
async def test_unsubscribe_drops_a_symbols_events_from_waiting_frames(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream()
    parts, received = await frames_waiting_behind_a_busy_consumer(server, stream)
    assert isinstance(received[0], GroupedBatch) and received[0].symbols == ["AAPL", "MSFT"]  # whole
    await stream.unsubscribe(["MSFT"])
    while stream._frames:  # noqa: SLF001
        received.append(await asyncio.wait_for(parts.__anext__(), 5.0))
    await parts.aclose()
    later = as_batches(received[1:])
    assert {b.symbol for b in later} == {"AAPL"}
    assert list(rows(later, EventKind.TRADE)["trade_id"]) == [1, 2, 3]
    assert stream.stats["dropped_unsubscribed"] == 3  # MSFT's trades 1-3


@pytest.mark.asyncio
async def test_plain_iteration_after_parts_gets_the_waiting_frames_in_order(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream()
    parts, received = await frames_waiting_behind_a_busy_consumer(server, stream)
    await parts.aclose()  # the parts() consumer stops with whole frames waiting
    batches = as_batches(received)
    batches += await take(stream, 8 - sum(len(b) for b in batches))
    for symbol in ("AAPL", "MSFT"):
        assert list(rows(batches, EventKind.TRADE, symbol)["trade_id"]) == [0, 1, 2, 3]


@pytest.mark.asyncio
async def test_pushed_frames_reach_the_sink_while_the_consumer_waits_and_queue_while_it_is_busy(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    """push_parts(): a frame goes straight to the sink only while the parts() consumer waits
    with nothing queued; frames that come while it is busy wait for it, and every trade
    arrives once, in order, through one or the other."""
    pushed: list[EventBatch | GroupedBatch] = []
    stream = make_stream()
    await stream.subscribe(["AAPL", "MSFT"])
    parts = stream.parts()

    async def frame(k: int) -> None:
        await server.publish([trade("AAPL", T0 + 10 * k, 1.0, 1, trade_id=k),
                              trade("MSFT", T0 + 10 * k + 1, 2.0, 1, trade_id=k)])

    waiting = asyncio.ensure_future(parts.__anext__())
    await frame(0)
    received = [await asyncio.wait_for(waiting, 5.0)]  # no sink yet: through parts()
    assert stream.push_parts(pushed.append)
    for k in (1, 2):  # the consumer is busy: these wait for it
        await frame(k)
    await until(lambda: stream.stats.get("messages", 0) >= 6)
    assert not pushed and len(stream._frames) == 2  # noqa: SLF001
    received += [await asyncio.wait_for(parts.__anext__(), 5.0) for _ in range(2)]
    waiting = asyncio.ensure_future(parts.__anext__())  # it waits with nothing queued: pushed
    await frame(3)
    await until(lambda: len(pushed) == 1)
    assert isinstance(pushed[0], GroupedBatch) and pushed[0].symbols == ["AAPL", "MSFT"]
    assert not waiting.done()
    await stream.close()
    await asyncio.gather(waiting, return_exceptions=True)
    delivered = as_batches([*received, *pushed])  # in arrival order
    for symbol in ("AAPL", "MSFT"):
        assert list(rows(delivered, EventKind.TRADE, symbol)["trade_id"]) == [0, 1, 2, 3]
    assert stream.stats["events_delivered"] == 8


@pytest.mark.asyncio
async def test_a_sinks_error_is_raised_in_the_consumer_and_later_frames_still_come(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    pushed: list[EventBatch | GroupedBatch] = []

    def sink(part: EventBatch | GroupedBatch) -> None:
        pushed.append(part)
        if len(pushed) == 2:
            raise ValueError("the consumer's bug")

    stream = make_stream()
    stream.push_parts(sink)
    await stream.subscribe(["AAPL"])
    parts = stream.parts()
    waiting = asyncio.ensure_future(parts.__anext__())
    for k in range(2):
        await server.publish([trade("AAPL", T0 + k, 1.0, 1, trade_id=k)])
        await until(lambda: len(pushed) == k + 1)
    with pytest.raises(ValueError, match="the consumer's bug"):
        await asyncio.wait_for(waiting, 5.0)
    stream.push_parts(None)
    await server.publish([trade("AAPL", T0 + 2, 1.0, 1, trade_id=2)])  # the stream goes on
    (batch,) = await take(stream, 1)
    assert list(batch.events["trade_id"]) == [2]


@pytest.mark.asyncio
async def test_fatal_error_mid_stream_ends_it_after_the_queued_events(
    server: AlpacaTestServer, make_stream: MakeStream
) -> None:
    stream = make_stream()
    await stream.subscribe(["AAPL"])
    await server.publish([trade("AAPL", T0, 1.0, 1)])
    await server.send_error(409, close=True)
    (batch,) = await take(stream, 1)
    assert batch.events["ts_event"][0] == T0
    with pytest.raises(AlpacaPermissionError, match="409"):
        await asyncio.wait_for(stream.__anext__(), 5.0)
    assert len(server.history) == 1  # not retried


# -- sans-I/O decoder ------------------------------------------------------------------------------


def test_parse_timestamp_is_exact_and_strict() -> None:
    assert parse_timestamp("2021-02-22T15:51:45.335689322Z") == 1_614_009_105_335_689_322
    assert parse_timestamp("2021-02-22T15:51:44.208Z") == 1_614_009_104_208_000_000
    assert parse_timestamp("2021-02-22T19:15:00Z") == 1_614_021_300_000_000_000
    assert parse_timestamp("2021-02-22T20:15:00+01:00") == 1_614_021_300_000_000_000
    assert parse_timestamp(format_timestamp(T0)) == T0
    for bad in ("2021-02-30T00:00:00Z", "2021-02-22T15:51:44.1234567890Z", "2021-02-22 15:51Z",
                "2021-02-22T15:51:44.2_0Z", "2021-02-22T15:51:44Z ", ""):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_decoder_counts_duplicates_and_keeps_late_trades_across_frames() -> None:
    decoder = AlpacaDecoder(encoding="msgpack")
    first = msgpack.packb([trade("AAPL", T0, 1.0, 1, trade_id=1)])
    again = msgpack.packb([trade("AAPL", T0, 1.0, 1, trade_id=1),
                           trade("AAPL", T0 - 5, 1.0, 1, trade_id=2)])
    assert len(decoder.decode(first).batches[0]) == 1
    result = decoder.decode(again)
    assert [p.category for p in result.problems] == ["duplicate_trade", "out_of_order_trade"]
    assert list(result.batches[0].events["trade_id"]) == [2]
    assert result.batches[0].ts_received is None
    assert decoder.stats["duplicate_trade"] == 1 and decoder.stats["events"] == 2


def test_backoff_grows_caps_and_jitters() -> None:
    policy = Backoff(initial=1.0, maximum=8.0, factor=2.0, jitter=0.5)
    for attempt, base in enumerate([1, 2, 4, 8, 8, 8]):
        for _ in range(20):
            assert base * 0.5 <= policy.delay(attempt) <= base
    with pytest.raises(ValueError):
        Backoff(initial=5.0, maximum=1.0)


# -- fast path (clean frames) against the exact per-message path ---------------------------------

SYMBOLS = ["AAPL", "MSFT", "NVDA", "SPY", "QQQ", "BAC", "KO", "XOM"]


def exact_only(decoder: AlpacaDecoder) -> AlpacaDecoder:
    """Turn off the fast path of ``decoder``: it becomes the reference."""
    decoder._decode_clean = lambda frame, ts_received: None  # type: ignore[method-assign]
    return decoder


def fast_frames_taken(decoder: AlpacaDecoder) -> list[bool]:
    """Record, per decoded frame, whether the fast path produced it."""
    taken: list[bool] = []
    clean = decoder._decode_clean

    def recording(frame: bytes | str, ts_received: int | None) -> Any:
        result = clean(frame, ts_received)
        taken.append(result is not None)
        return result

    decoder._decode_clean = recording  # type: ignore[method-assign]
    return taken


def wire(messages: list[Any], encoding: str, digits: int | None = None) -> bytes | str:
    """Encode like the feed: int ``t`` becomes RFC 3339 (JSON) or a msgpack Timestamp.

    JSON stamps carry ``digits`` fractional digits, or by default as many as needed (trailing
    zeros trimmed, as the vendor writes them).
    """
    def text(ts: int) -> str:
        if digits is not None:
            return format_timestamp(ts, digits)
        whole = format_timestamp(ts, 9)
        fraction = whole[20:29].rstrip("0")
        return whole[:19] + ("." + fraction if fraction else "") + "Z"

    def stamp(message: Any) -> Any:
        if type(message) is not dict or type(message.get("t")) is not int:
            return message
        ts = message["t"]
        return message | {"t": text(ts) if encoding == "json"
                          else msgpack.Timestamp.from_unix_nano(ts)}

    if encoding == "json":
        return json.dumps([stamp(m) for m in messages])
    return msgpack.packb([stamp(m) for m in messages])


def assert_same_frame(fast: Any, exact: Any) -> None:
    assert [(b.kind, b.symbol, len(b)) for b in fast.batches] == [
        (b.kind, b.symbol, len(b)) for b in exact.batches]
    for ours, theirs in zip(fast.batches, exact.batches):
        assert ours.events.dtype == theirs.events.dtype
        for name in ours.events.dtype.names:  # bit for bit: -0.0 and NaN payloads count
            assert ours.events[name].tobytes() == theirs.events[name].tobytes(), name
        if theirs.ts_received is None:
            assert ours.ts_received is None
        else:
            assert ours.ts_received.tolist() == theirs.ts_received.tolist()
            assert not ours.ts_received.flags.writeable
    assert fast.controls == exact.controls
    assert fast.problems == exact.problems


def assert_same_state(fast: AlpacaDecoder, exact: AlpacaDecoder) -> None:
    assert fast.stats == exact.stats
    assert fast._last_bar == exact._last_bar
    # Recent trade keys, newest trade time and last quote per symbol (never used: no state).
    fresh = ([], None, None)
    for symbol in fast._ids.keys() | exact._ids.keys():
        assert (fast._checks.state(symbol) or fresh) == (exact._checks.state(symbol) or fresh), symbol


class FeedScript:
    """Benchmark-like frames (quotes, trades, some bars) with optional damage, seeded."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ts = T0
        self.trade_id = 1
        self.sent: list[dict[str, Any]] = []

    def clean(self) -> dict[str, Any]:
        rng = self.rng
        self.ts += rng.randint(1, 3_000_000)
        self.ts += -self.ts % 10 ** rng.choice([0, 0, 0, 1, 3, 6, 9])  # fewer digits on the wire
        symbol = rng.choice(SYMBOLS)
        price = round(50 + rng.random() * 100, 2)
        draw = rng.random()
        if draw < 0.6:
            message = quote(symbol, self.ts, price, round(price + 0.01 * rng.randint(0, 5), 2),
                            bid_size=rng.randint(1, 9), ask_size=rng.randint(1, 9),
                            bid_exchange=rng.choice("VQZ"), ask_exchange=rng.choice("VQZ"),
                            conditions=rng.choice([["R"], [], ["R", "O"], ["?"]]))
        elif draw < 0.95:
            message = trade(symbol, self.ts, price, rng.randint(1, 500), trade_id=self.trade_id,
                            exchange=rng.choice("VDQ"),
                            conditions=rng.choice([["@"], ["@", "I"], ["@", "F", "T"], []]))
            self.trade_id += 1
        else:
            minute = self.ts - self.ts % 60_000_000_000
            message = bar(symbol, minute, price, price + 1, price - 1, price, rng.randint(0, 10**6),
                          trade_count=rng.randint(0, 99), kind=rng.choice("bud"))
        self.sent.append(message)
        return message

    def next_day(self, message: dict[str, Any]) -> dict[str, Any]:
        self.ts += 86_400 * 10**9
        return message | {"t": self.ts}

    def damaged(self, encoding: str) -> dict[str, Any] | Any:
        """A message the fast path must not take: bad, duplicate, late, odd or another type."""
        rng = self.rng
        base = self.clean()
        previous = rng.choice(self.sent)
        choices: list[Any] = [
            previous,  # duplicate trade / quote / bar (or an out-of-order repeat)
            base | {"S": base["S"].lower()},  # another spelling of a known symbol
            base | {"S": "NEWCO"},
            base | {"S": ""},
            base | {"S": None},
            base | {"T": "zz"},
            {"T": "success", "msg": "authenticated"},
            {"T": "subscription", "trades": ["AAPL"], "quotes": []},
            {"T": "error", "code": 407, "msg": "slow client"},
            status(base["S"], base["t"], "H", "T12"),
            status(base["S"], base["t"], "T", "LONGCODE"),
            luld(base["S"], base["t"], 199.0, 179.0),
            correction(base["S"], base["t"], original_id=1, original_price=1.0, original_size=1,
                       corrected_id=2, corrected_price=1.5, corrected_size=1),
            cancel_error(base["S"], base["t"], trade_id=3, price=1.0, size=1),
            5,
            [base],
            base | {"t": base["t"] - 10**9},  # late
            base | {"t": "2023-11-14T22:13:20.5+01:00"},
            base | {"t": "2023-11-14t22:13:20.5z"},
            base | {"t": "2023-02-30T22:13:20.5Z"},
            base | {"t": "2023-11-14T22:13:60.5Z"},
            base | {"t": "2023-11-14T24:13:20.5Z"},
            base | {"t": "2023-11-14T22:13:20.1234567890Z"},
            base | {"t": "2023-11-14T22:13:20.Z"},
            base | {"t": "2023-11-14T22:13:20.５Z"},
            base | {"t": "2300-01-01T00:00:00.5Z"},  # past int64 ns
            base | {"t": 2**63},
            self.next_day(base),  # a frame across midnight UTC
            base | {"t": 1_700_000_000_000_000_000},  # int ns is accepted too
            base | {"t": True},
            base | {"t": None},
            {k: v for k, v in base.items() if k != "t"},
            {k: v for k, v in base.items() if k not in ("c", "x", "bx", "i", "n", "vw")},
            base | {"extra": [1, {"x": 2}]},
        ]
        kind = base["T"]
        if kind == "t":
            choices += [base | {"p": 0}, base | {"p": -1.5}, base | {"p": float("nan")},
                        base | {"p": float("inf")}, base | {"p": "1.5"}, base | {"p": True},
                        base | {"p": 2**60}, base | {"s": 0}, base | {"s": 1e300},
                        base | {"i": -1}, base | {"i": 2**64 - 1}, base | {"i": 1.0},
                        base | {"x": "VV"}, base | {"x": ""}, base | {"x": None},
                        base | {"x": "é"}, base | {"c": ["Q9", "@"]}, base | {"c": None},
                        base | {"c": "@F"}, {k: v for k, v in base.items() if k != "p"}]
        elif kind == "q":
            choices += [base | {"bp": base["ap"] + 1}, base | {"bp": 0.0, "ap": 0.0},
                        base | {"ap": 0}, base | {"bp": 0}, base | {"bp": -0.0},
                        base | {"bs": -1}, base | {"as": float("nan")}, base | {"bs": 2**53 + 1},
                        base | {"bs": 3.0}, base | {"bx": ""}, base | {"ax": "AB"},
                        base | {"c": ["R", 5]}, {k: v for k, v in base.items() if k != "as"}]
        else:
            choices += [base | {"h": base["l"] - 1}, base | {"n": -1}, base | {"n": 1.5},
                        base | {"v": -1}, base | {"vw": float("nan")}, base | {"o": 2**60}]
        return rng.choice(choices)


@ENCODINGS
def test_fast_path_and_exact_path_agree_on_clean_and_damaged_frames(encoding: str) -> None:
    fast, exact = AlpacaDecoder(encoding=encoding), exact_only(AlpacaDecoder(encoding=encoding))
    taken = fast_frames_taken(fast)
    script = FeedScript(seed=11)
    for number in range(600):
        messages = [script.clean() for _ in range(script.rng.randint(1, 80))]
        if number % 2:  # every other frame carries one thing the fast path must decline
            messages.insert(script.rng.randrange(len(messages) + 1), script.damaged(encoding))
        frame = wire(messages, encoding)
        received = T0 + number if number % 3 else None
        assert_same_frame(fast.decode(frame, received), exact.decode(frame, received))
    assert_same_state(fast, exact)
    # Both paths were exercised: clean frames went fast, and damaged ones fell back.
    assert sum(taken) >= 300 and len(taken) - sum(taken) >= 200
    assert fast.stats["events"] > 15_000 and len(fast.stats) > 10


@ENCODINGS
def test_fast_path_and_exact_path_agree_on_bad_frames(encoding: str) -> None:
    fast, exact = AlpacaDecoder(encoding=encoding), exact_only(AlpacaDecoder(encoding=encoding))
    good = wire([trade("AAPL", T0, 1.0, 1)], encoding)
    for frame in [good, "not json{", b"\xc1\xc1 not msgpack", '{"T": "t"}', "[]", b"",
                  bytearray(good.encode() if isinstance(good, str) else good),
                  wire([trade("AAPL", T0 + 1, 1.0, 1, trade_id=2)], encoding) + (
                      " " if encoding == "json" else b"\x00"),
                  '[{"T": "t", "S": "AAPL", "p": NaN, "s": 1, "t": 1}]',
                  b'\xef\xbb\xbf[{"T": "t", "S": "AAPL", "p": 1, "s": 1, "t": 5}]']:
        assert_same_frame(fast.decode(frame), exact.decode(frame))
    assert_same_state(fast, exact)


@ENCODINGS
def test_fast_path_takes_clean_frames_with_exact_timestamps(encoding: str) -> None:
    decoder = AlpacaDecoder(encoding=encoding)
    taken = fast_frames_taken(decoder)
    decoder.decode(wire([trade(s, T0, 1.0, 1) for s in SYMBOLS], encoding))  # new symbols
    stamps = [T0 + k * 1_000_003 for k in range(1, 40)]
    minute = T0 - T0 % 60_000_000_000
    messages = [quote(SYMBOLS[k % 3], ts, 10.0 + k, 10.5 + k) if k % 2 else
                trade(SYMBOLS[k % 5], ts, 10.0, 1, trade_id=k) for k, ts in enumerate(stamps)]
    messages.insert(7, bar("AAPL", minute, 10.0, 11.0, 9.0, 10.5, 100))
    for digits in ([9, 8, 3, 0] if encoding == "json" else [9]):
        result = decoder.decode(wire(messages, encoding, digits), T0)
        scale = 10 ** (9 - digits)
        got = sorted(ts for b in result.batches if b.kind is not EventKind.BAR
                     for ts in b.events["ts_event"].tolist())
        assert got == [ts - ts % scale for ts in stamps]
        (bars,) = [b for b in result.batches if b.kind is EventKind.BAR]
        assert bars.events["ts_event"].tolist() == [minute] and not result.problems
        messages = [m | {"t": m["t"] + 10**9} if m["T"] != "b" else m | {"v": m["v"] + 1}
                    for m in messages]
        stamps = [ts + 10**9 for ts in stamps]
    assert taken[0] is False and all(taken[1:])


@ENCODINGS
def test_one_bad_message_falls_back_and_loses_none_of_the_valid_ones(encoding: str) -> None:
    decoder = AlpacaDecoder(encoding=encoding)
    taken = fast_frames_taken(decoder)
    script = FeedScript(seed=3)
    decoder.decode(wire([trade(s, T0, 1.0, 1) for s in SYMBOLS], encoding))
    messages = [script.clean() for _ in range(60)]
    clean = decoder.decode(wire(messages, encoding))
    assert sum(len(b) for b in clean.batches) == 60 and not clean.problems
    messages = [script.clean() for _ in range(60)]
    crossed = quote("MSFT", script.ts, 20.0, 19.0)
    result = decoder.decode(wire(messages[:17] + [crossed] + messages[17:], encoding))
    assert taken == [False, True, False]
    assert [(p.category, p.frame, p.index, p.symbol) for p in result.problems] == [
        ("crossed_quote", 3, 17, "MSFT")]
    assert sum(len(b) for b in result.batches) == 60
    trades = rows(result.batches, EventKind.TRADE)
    assert sorted(trades["trade_id"].tolist()) == sorted(
        m["i"] for m in messages if m["T"] == "t")


@ENCODINGS
def test_state_written_by_the_fast_path_catches_repeats_in_later_frames(encoding: str) -> None:
    fast, exact = AlpacaDecoder(encoding=encoding), exact_only(AlpacaDecoder(encoding=encoding))
    taken = fast_frames_taken(fast)
    minute = T0 - T0 % 60_000_000_000
    late = trade("AAPL", T0 + 2, 10.0, 5, trade_id=3)
    # (a clean frame the fast path takes, then one the state it wrote must flag)
    pairs = {
        "duplicate_quote": ([quote("AAPL", T0 + 1, 9.9, 10.1)], [quote("AAPL", T0 + 1, 9.9, 10.1)]),
        "duplicate_trade": ([trade("AAPL", T0 + 2, 10.0, 5, trade_id=1)],
                            [trade("AAPL", T0 + 2, 10.0, 5, trade_id=1)]),
        "out_of_order_trade": ([trade("AAPL", T0 + 3, 10.0, 5, trade_id=2)], [late]),
        "duplicate_bar": ([bar("AAPL", minute, 10.0, 11.0, 9.0, 10.5, 100)],
                          [bar("AAPL", minute, 10.0, 11.0, 9.0, 10.5, 100)]),
    }
    frames = [[trade("AAPL", T0, 10.0, 5, trade_id=100)]]  # registers AAPL (exact path)
    for original, repeat in pairs.values():
        frames += [original, repeat]
    for messages in frames:
        frame = wire(messages, encoding)
        assert_same_frame(fast.decode(frame, T0), exact.decode(frame, T0))
    assert_same_state(fast, exact)
    assert taken == [False] + [True, False] * len(pairs)
    for category in pairs:
        assert fast.stats[category] == 1, category


@ENCODINGS
def test_fast_path_and_exact_path_agree_on_corrupted_bytes(encoding: str) -> None:
    fast, exact = AlpacaDecoder(encoding=encoding), exact_only(AlpacaDecoder(encoding=encoding))
    taken = fast_frames_taken(fast)
    script = FeedScript(seed=5)
    rng = random.Random(17)
    symbols = wire([trade(s, T0, 1.0, 1) for s in SYMBOLS], encoding)
    assert_same_frame(fast.decode(symbols), exact.decode(symbols))
    for _ in range(400):
        frame = wire([script.clean() for _ in range(rng.randint(1, 12))], encoding)
        data = bytearray(frame.encode() if isinstance(frame, str) else frame)
        for _ in range(rng.randint(1, 3)):  # flip, drop or insert a byte
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[at] = rng.choice([rng.randrange(256), *b'"\\,:[]{}.-0e9Z'])
            elif action < 0.7:
                del data[at]
            else:
                data.insert(at, rng.randrange(256))
        damaged: bytes | str = bytes(data)
        if encoding == "json":
            try:
                damaged = bytes(data).decode()  # text frames are str
            except UnicodeDecodeError:
                pass
        assert_same_frame(fast.decode(damaged), exact.decode(damaged))
    assert_same_state(fast, exact)
    assert sum(taken) >= 20  # some corruptions leave a clean frame (a digit for a digit)


@ENCODINGS
def test_a_time_past_int64_ns_is_a_bad_timestamp_not_a_crash(encoding: str) -> None:
    decoder = AlpacaDecoder(encoding=encoding)
    good = trade("AAPL", T0, 1.0, 1)
    result = decoder.decode(wire([good | {"t": "2300-01-01T00:00:00Z"}, good | {"t": 2**63},
                                  good], encoding))
    assert [(p.category, p.index) for p in result.problems] == [("bad_timestamp", 0),
                                                                ("bad_timestamp", 1)]
    assert rows(result.batches, EventKind.TRADE)["ts_event"].tolist() == [T0]


@ENCODINGS
def test_numbers_out_of_range_or_of_the_wrong_type_are_bad_fields_and_the_frame_keeps_the_rest(
        encoding: str) -> None:
    """A bad number is refused with its message, on either path; it must not fail the frame's
    batch, which would lose the valid messages (already remembered as seen: for good)."""
    decoder = AlpacaDecoder(encoding=encoding)
    decoder.decode(wire([trade("AAPL", T0, 1.0, 1, trade_id=1)], encoding))  # the fast path knows AAPL
    minute = T0 - T0 % 60_000_000_000
    bad = [trade("AAPL", T0 + 1, 1.0, 1, trade_id=3) | {"p": True, "s": True},
           trade("AAPL", T0 + 1, 1.0, 1, trade_id=True),
           quote("AAPL", T0 + 1, 1.0, 1.01) | {"ap": False},
           bar("AAPL", minute, 10.0, 11.0, 9.0, 10.5, 100) | {"n": True},
           luld("AAPL", T0, True, 0.9)]
    if encoding == "json":  # integers past float's range (msgpack carries none wider than 64 bits)
        huge = 10**400
        bad += [trade("AAPL", T0 + 1, 1.0, 1, trade_id=2) | {"p": huge},
                quote("AAPL", T0 + 1, 1.0, 1.01) | {"bs": huge},
                bar("AAPL", minute, 10.0, 11.0, 9.0, 10.5, 100) | {"v": huge, "h": huge},
                cancel_error("AAPL", T0, trade_id=1, price=1.0, size=1) | {"s": huge}]
    frame = wire([*bad, trade("AAPL", T0 + 2, 1.0, 1, trade_id=9)], encoding)
    result = decoder.decode(frame)
    assert [(p.category, p.index) for p in result.problems] == [("bad_field", i) for i in range(len(bad))]
    assert rows(result.batches, EventKind.TRADE)["trade_id"].tolist() == [9]
    again = decoder.decode(wire([trade("AAPL", T0 + 3, 1.0, 1, trade_id=3)], encoding))  # never taken
    assert not again.problems and rows(again.batches, EventKind.TRADE)["trade_id"].tolist() == [3]


@ENCODINGS
def test_a_time_not_after_1970_is_a_bad_timestamp(encoding: str) -> None:
    decoder = AlpacaDecoder(encoding=encoding)
    good = trade("AAPL", T0, 1.0, 1)
    early = good | {"t": -5, "i": 2}  # the wire sends it as a msgpack Timestamp or RFC 3339
    result = decoder.decode(wire([early, good | {"t": 0, "i": 3}, good], encoding))
    assert [(p.category, p.index) for p in result.problems] == [("bad_timestamp", 0), ("bad_timestamp", 1)]
    assert rows(result.batches, EventKind.TRADE)["ts_event"].tolist() == [T0]


@ENCODINGS
def test_a_frame_nested_too_deep_is_a_malformed_frame_not_a_crash(encoding: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000 if encoding == "json" else b"\x91" * 5_000 + b"\xc0"
    nested = b"\x91" + b"\x91" * 1_020 + b"\xc0"  # one message nested deeper than repr() goes
    decoder = AlpacaDecoder(encoding=encoding)
    for frame in (deep, nested if encoding == "msgpack" else "[" + "[" * 900 + "]" * 900 + "]"):
        result = decoder.decode(frame)
        assert [p.category for p in result.problems] == ["malformed_frame"]
        assert len(result.problems[0].detail) < 400


@ENCODINGS
def test_a_code_that_is_not_one_ascii_letter_is_a_bad_field_not_a_crash(encoding: str) -> None:
    """Exchange codes and LULD indicators are stored as one byte: anything else is refused by
    name, and the frame's good messages are kept."""
    decoder = AlpacaDecoder(encoding=encoding)
    bad = [trade("AAPL", T0, 1.0, 1, exchange="中"),
           quote("AAPL", T0, 1.0, 1.01, ask_exchange="VV"),
           luld("AAPL", T0, 1.1, 0.9, indicator="é"),
           correction("AAPL", T0, original_id=1, original_price=1.0, original_size=1, corrected_id=2,
                      corrected_price=1.0, corrected_size=1, exchange="ex"),
           cancel_error("AAPL", T0, trade_id=1, price=1.0, size=1, exchange="\u0100")]
    result = decoder.decode(wire([*bad, trade("AAPL", T0, 1.0, 1, trade_id=2)], encoding))
    assert [(p.category, p.index) for p in result.problems] == [("bad_field", i) for i in range(5)]
    assert "is not one ASCII letter" in result.problems[0].detail
    assert rows(result.batches, EventKind.TRADE)["trade_id"].tolist() == [2]
